-- A round's tallies are kept in shards: each group-commit writer adds its batches to a
-- shard of its own, so two writers (of one process or of several) committing at once do
-- not wait for each other's row locks on the same entry's tally. A tally is the sum of
-- its shards; reviews, audits and recounts write shard 0 (decision 0022).
ALTER TABLE vote_tallies ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vote_tallies DROP CONSTRAINT vote_tallies_pkey;
ALTER TABLE vote_tallies ADD PRIMARY KEY (round_id, entry_id, shard);
