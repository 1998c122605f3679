-- Competitions and submissions: the call (prompts, categories, policy, window, quota,
-- eligibility), entries, their uploaded audio, and idempotency keys for retried requests.

ALTER TABLE competitions ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE competitions ADD COLUMN rules TEXT NOT NULL DEFAULT '';
ALTER TABLE competitions ADD COLUMN cover_key TEXT;
ALTER TABLE competitions ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE competitions ADD COLUMN entries_per_musician INTEGER NOT NULL DEFAULT 1;
ALTER TABLE competitions ADD COLUMN min_age INTEGER;
ALTER TABLE competitions ADD COLUMN max_age INTEGER;
ALTER TABLE competitions ADD COLUMN audio_policy TEXT NOT NULL DEFAULT '{}';

CREATE TABLE prompts (
    id             TEXT PRIMARY KEY,
    competition_id TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    title          TEXT NOT NULL,
    story          TEXT NOT NULL DEFAULT '',
    image_key      TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX prompts_competition ON prompts (competition_id, position);

CREATE TABLE categories (
    id             TEXT PRIMARY KEY,
    competition_id TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX categories_competition ON categories (competition_id, position);

CREATE TABLE entries (
    id                   TEXT PRIMARY KEY,
    competition_id       TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    musician_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prompt_id            TEXT REFERENCES prompts (id) ON DELETE SET NULL,
    category_id          TEXT REFERENCES categories (id) ON DELETE SET NULL,
    title                TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    lyrics               TEXT NOT NULL DEFAULT '',
    credits              TEXT NOT NULL DEFAULT '{}',
    samples              TEXT NOT NULL DEFAULT '[]',
    samples_declared     BOOLEAN NOT NULL DEFAULT FALSE,
    originality_declared BOOLEAN NOT NULL DEFAULT FALSE,
    status               TEXT NOT NULL,
    review               TEXT NOT NULL DEFAULT 'pending',
    review_reason        TEXT,
    upload_id            TEXT,
    report               TEXT,
    verdict              TEXT,
    analysis_error       TEXT,
    fingerprint          TEXT,
    flags                TEXT NOT NULL DEFAULT '[]',
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    analysed_at          TIMESTAMP,
    withdrawn_at         TIMESTAMP
);
CREATE INDEX entries_competition ON entries (competition_id, status, created_at);
CREATE INDEX entries_musician ON entries (musician_id, competition_id);

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    entry_id      TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    object_key    TEXT NOT NULL,
    state         TEXT NOT NULL,
    size_bytes    BIGINT,
    sha256        TEXT,
    original_name TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL DEFAULT 'application/octet-stream',
    created_at    TIMESTAMP NOT NULL,
    stored_at     TIMESTAMP
);
CREATE UNIQUE INDEX uploads_object_key ON uploads (object_key);
CREATE INDEX uploads_sha256 ON uploads (sha256);
CREATE INDEX uploads_state ON uploads (state, created_at);

CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER,
    response    TEXT,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
