-- On PostgreSQL this step drops the per-row foreign-key check on the vote log (decision
-- 0021). SQLite has one writer and checks foreign keys cheaply; its schema is unchanged,
-- so both backends keep the same list of migrations.
SELECT 1;
