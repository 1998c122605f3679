-- The live show of a voting round: how far the reveal has gone on the presenter screen,
-- and the standings it reveals (the results as computed when the reveal began; the
-- show only reads them, so the published results never change by it).
CREATE TABLE shows (
    round_id    TEXT PRIMARY KEY REFERENCES voting_rounds (id) ON DELETE CASCADE,
    reveal_step INTEGER NOT NULL,
    standings   TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
