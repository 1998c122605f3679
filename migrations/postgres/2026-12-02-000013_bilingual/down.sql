ALTER TABLE stem_packs DROP COLUMN translations;
ALTER TABLE voting_rounds DROP COLUMN translations;
ALTER TABLE categories DROP COLUMN translations;
ALTER TABLE prompts DROP COLUMN translations;
ALTER TABLE competitions DROP COLUMN translations;
ALTER TABLE competitions DROP COLUMN language;
