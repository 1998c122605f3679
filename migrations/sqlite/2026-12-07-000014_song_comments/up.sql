-- Listeners' time-synced comments on public songs ("bullet comments"): each pinned to a
-- moment of the song; reports by listeners, hiding by the musician or the organisers, a
-- per-song switch, and a guardian's permission for a minor's songs. Nothing is kept
-- about a listener but their account id (as a vote keeps it).
CREATE TABLE song_comments (
    id          TEXT PRIMARY KEY,
    entry_id    TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    author_id   TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    reports     INTEGER NOT NULL DEFAULT 0,
    hidden_at   TIMESTAMP,
    hidden_by   TEXT,
    reviewed_at TIMESTAMP
);
CREATE INDEX song_comments_entry ON song_comments (entry_id, at_ms);
CREATE INDEX song_comments_author ON song_comments (author_id);
CREATE TABLE comment_reports (
    comment_id  TEXT NOT NULL REFERENCES song_comments (id) ON DELETE CASCADE,
    reporter_id TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (comment_id, reporter_id)
);
CREATE TABLE comment_settings (
    entry_id   TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    enabled    BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
ALTER TABLE users ADD COLUMN guardian_allows_comments BOOLEAN NOT NULL DEFAULT FALSE;
