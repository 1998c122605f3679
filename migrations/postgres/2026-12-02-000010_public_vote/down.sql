DROP INDEX sessions_revoked;
DROP TABLE public_renditions;
ALTER TABLE voting_rounds DROP COLUMN new_accounts;
