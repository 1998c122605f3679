-- The periodic audit works incrementally: it remembers how far into a round's vote log
-- it has looked (every vote with an id up to audited_through, all of them committed),
-- and each voter's voting pattern (a hash of their client and their ordered choices,
-- for voters with three votes or more), so a new vote costs the audit a look at that
-- voter and at the minute around it, not a read of the whole log.
ALTER TABLE voting_rounds ADD COLUMN audited_through BIGINT NOT NULL DEFAULT 0;

CREATE TABLE vote_patterns (
    round_id  TEXT NOT NULL,
    voter_id  TEXT NOT NULL,
    pattern   TEXT NOT NULL,
    PRIMARY KEY (round_id, voter_id)
);
CREATE INDEX vote_patterns_pattern ON vote_patterns (round_id, pattern);
