CREATE TABLE vote_tallies_folded AS
  SELECT round_id, entry_id, sum(counted)::bigint AS counted, sum(quarantined)::bigint AS quarantined,
    sum(invalidated)::bigint AS invalidated
  FROM vote_tallies GROUP BY round_id, entry_id;
DELETE FROM vote_tallies;
ALTER TABLE vote_tallies DROP CONSTRAINT vote_tallies_pkey;
ALTER TABLE vote_tallies DROP COLUMN shard;
ALTER TABLE vote_tallies ADD PRIMARY KEY (round_id, entry_id);
INSERT INTO vote_tallies (round_id, entry_id, counted, quarantined, invalidated)
  SELECT round_id, entry_id, counted, quarantined, invalidated FROM vote_tallies_folded;
DROP TABLE vote_tallies_folded;
