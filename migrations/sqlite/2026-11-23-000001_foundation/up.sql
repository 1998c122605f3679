-- Foundation: people, roles, one-time tokens, competitions (listing), and the job queue.
-- Timestamps are UTC without a zone; the same tables exist in the PostgreSQL migration.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    locale        TEXT NOT NULL DEFAULT 'en',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE competitions (
    id                   TEXT PRIMARY KEY,
    slug                 TEXT NOT NULL,
    title                TEXT NOT NULL,
    summary              TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'draft',
    submissions_open_at  TIMESTAMP,
    submissions_close_at TIMESTAMP,
    created_by           TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    published_at         TIMESTAMP
);
CREATE UNIQUE INDEX competitions_slug_key ON competitions (slug);
CREATE INDEX competitions_listing ON competitions (status, published_at, id);

CREATE TABLE user_roles (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role           TEXT NOT NULL,
    competition_id TEXT REFERENCES competitions (id) ON DELETE CASCADE,
    created_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX user_roles_site_key ON user_roles (user_id, role) WHERE competition_id IS NULL;
CREATE UNIQUE INDEX user_roles_scoped_key ON user_roles (user_id, role, competition_id)
    WHERE competition_id IS NOT NULL;

CREATE TABLE account_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX account_tokens_hash_key ON account_tokens (token_hash);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TIMESTAMP NOT NULL,
    locked_by    TEXT,
    locked_until TIMESTAMP,
    last_error   TEXT,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP
);
CREATE INDEX jobs_claim ON jobs (status, run_at, id);
CREATE INDEX jobs_lease ON jobs (status, locked_until);
