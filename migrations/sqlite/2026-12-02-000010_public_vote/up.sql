-- The public vote as the story needs it, and revocations seen at once:
--  * how a round treats votes from accounts made minutes ago (`hold`, `count`, or
--    `venue`: counted when cast from the venue's network, held elsewhere). Rounds that
--    existed before keep holding them, as they did;
--  * clean, loudness-matched public renditions of entries' audio (no tags), the only
--    audio anonymous listeners are sent.
ALTER TABLE voting_rounds ADD COLUMN new_accounts TEXT NOT NULL DEFAULT 'venue';
UPDATE voting_rounds SET new_accounts = 'hold';

CREATE TABLE public_renditions (
    upload_id   TEXT PRIMARY KEY,
    object_key  TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    -- The gain applied, hundredths of a dB.
    gain_cdb    INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- Serve processes read the sessions revoked in the last seconds (a sign-out is seen by
-- the vote path of every process within a second).
CREATE INDEX sessions_revoked ON sessions (revoked_at);
