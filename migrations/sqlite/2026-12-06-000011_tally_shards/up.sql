-- A round's tallies are kept in shards (one per group-commit writer; see the PostgreSQL
-- migration). SQLite has one writer, which uses shard 0; the table has the same shape
-- on both databases.
CREATE TABLE vote_tallies_sharded (
    round_id     TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    counted      BIGINT NOT NULL DEFAULT 0,
    quarantined  BIGINT NOT NULL DEFAULT 0,
    invalidated  BIGINT NOT NULL DEFAULT 0,
    shard        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (round_id, entry_id, shard)
);
INSERT INTO vote_tallies_sharded (round_id, entry_id, counted, quarantined, invalidated, shard)
  SELECT round_id, entry_id, counted, quarantined, invalidated, 0 FROM vote_tallies;
DROP TABLE vote_tallies;
ALTER TABLE vote_tallies_sharded RENAME TO vote_tallies;
