DROP TABLE vote_patterns;
ALTER TABLE voting_rounds DROP COLUMN audited_through;
