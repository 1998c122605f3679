CREATE TABLE vote_tallies_folded (
    round_id     TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    counted      BIGINT NOT NULL DEFAULT 0,
    quarantined  BIGINT NOT NULL DEFAULT 0,
    invalidated  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (round_id, entry_id)
);
INSERT INTO vote_tallies_folded (round_id, entry_id, counted, quarantined, invalidated)
  SELECT round_id, entry_id, sum(counted), sum(quarantined), sum(invalidated)
  FROM vote_tallies GROUP BY round_id, entry_id;
DROP TABLE vote_tallies;
ALTER TABLE vote_tallies_folded RENAME TO vote_tallies;
