ALTER TABLE entries DROP COLUMN ai_use;
ALTER TABLE competitions DROP COLUMN ai_rule;
