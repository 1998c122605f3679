-- A competition's team (co-organisers, moderators, judges) is invited by email; the
-- invitations are listed, sent again and revoked. Accounts can be blocked by an admin.
-- The audit log is read by subject and by actor.
CREATE TABLE invitations (
    id             TEXT PRIMARY KEY,
    competition_id TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL,
    language       TEXT NOT NULL,
    invited_by     TEXT NOT NULL,
    token_id       BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    accepted_at    TIMESTAMP,
    revoked_at     TIMESTAMP
);
CREATE INDEX invitations_competition ON invitations (competition_id, created_at);
ALTER TABLE users ADD COLUMN blocked_at TIMESTAMP;
ALTER TABLE users ADD COLUMN blocked_reason TEXT;
CREATE INDEX audit_log_subject ON audit_log (subject, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
