ALTER TABLE users DROP COLUMN erased_at;
DROP INDEX jobs_concurrency;
ALTER TABLE jobs DROP COLUMN concurrency_key;
ALTER TABLE jobs DROP COLUMN lane;
DROP TABLE fingerprint_keys;
