-- A competition's rule on AI use (allowed, allowed with disclosure, not allowed) and
-- each entry's disclosure: NULL not answered, '' no AI used, else the uses, comma-separated
-- (lyrics, melody, arrangement, vocals, mixing, full).
ALTER TABLE competitions ADD COLUMN ai_rule TEXT NOT NULL DEFAULT 'allowed';
ALTER TABLE entries ADD COLUMN ai_use TEXT;
