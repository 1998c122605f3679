-- Judging: rounds with a rubric and an advancement rule, the entries in each round,
-- judges' assignments with listening coverage, scores, comments, declared conflicts and
-- affiliations, clean audio renditions for judges, and the competition's final results.

CREATE TABLE rounds (
    id                TEXT PRIMARY KEY,
    competition_id    TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'standard',
    status            TEXT NOT NULL DEFAULT 'draft',
    opens_at          TIMESTAMP,
    closes_at         TIMESTAMP,
    rubric            TEXT NOT NULL DEFAULT '[]',
    blind             BOOLEAN NOT NULL DEFAULT TRUE,
    judges_per_entry  INTEGER NOT NULL DEFAULT 3,
    advancement       TEXT NOT NULL DEFAULT '{"kind":"manual"}',
    ranking_basis     TEXT NOT NULL DEFAULT 'normalised',
    min_listen_permille INTEGER NOT NULL DEFAULT 0,
    others_scores     TEXT NOT NULL DEFAULT 'after_scoring',
    reminder_hours    INTEGER NOT NULL DEFAULT 24,
    reminded_at       TIMESTAMP,
    closed_at         TIMESTAMP,
    decided_at        TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX rounds_competition ON rounds (competition_id, position);
CREATE INDEX rounds_closing ON rounds (status, closes_at);

CREATE TABLE round_entries (
    round_id   TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    entry_id   TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    anchor     BOOLEAN NOT NULL DEFAULT FALSE,
    placement  INTEGER,
    result     TEXT,
    advanced   BOOLEAN,
    decided_by TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, entry_id)
);
CREATE UNIQUE INDEX round_entries_code ON round_entries (round_id, code);

CREATE TABLE assignments (
    id               TEXT PRIMARY KEY,
    round_id         TEXT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    entry_id         TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    judge_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    alias            TEXT NOT NULL,
    sort_key         TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'active',
    listened         TEXT NOT NULL DEFAULT '',
    listened_permille INTEGER NOT NULL DEFAULT 0,
    notified_at      TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX assignments_alias ON assignments (alias);
CREATE UNIQUE INDEX assignments_unique ON assignments (round_id, entry_id, judge_id);
CREATE INDEX assignments_judge ON assignments (judge_id, round_id);

CREATE TABLE scores (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments (id) ON DELETE CASCADE,
    criteria      TEXT NOT NULL,
    total_milli   INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE judge_comments (
    id            TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    visibility    TEXT NOT NULL,
    body          TEXT NOT NULL,
    at_ms         INTEGER,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX judge_comments_assignment ON judge_comments (assignment_id, created_at);

CREATE TABLE judge_conflicts (
    competition_id TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    judge_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_id       TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    reason         TEXT NOT NULL DEFAULT '',
    declared_by    TEXT,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (judge_id, entry_id)
);
CREATE INDEX judge_conflicts_competition ON judge_conflicts (competition_id);

CREATE TABLE affiliations (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value_key  TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind, value_key)
);
CREATE INDEX affiliations_value ON affiliations (kind, value_key);

CREATE TABLE renditions (
    upload_id  TEXT PRIMARY KEY,
    object_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE results (
    competition_id TEXT PRIMARY KEY REFERENCES competitions (id) ON DELETE CASCADE,
    settings       TEXT NOT NULL,
    standings      TEXT,
    computed_at    TIMESTAMP,
    publish_at     TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL
);
