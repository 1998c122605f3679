-- Organiser-entered text in more than one language (src/i18n/content.rs): a record's
-- own language in its columns, the others as JSON {"zh-CN": {"title": "…"}}.
ALTER TABLE competitions ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE competitions ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE prompts ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE categories ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE voting_rounds ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE stem_packs ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
