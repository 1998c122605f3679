-- The vote log is the hot table of a live show: every row costs its indexes and checks.
-- The foreign key from a vote to its round is checked per row by a trigger (a lookup of
-- the round for each vote); the application only appends votes to a round it has just
-- read, rounds are never deleted, and the log is append-only, so the check buys nothing
-- and is dropped (decision 0021).
ALTER TABLE votes DROP CONSTRAINT IF EXISTS votes_round_id_fkey;
