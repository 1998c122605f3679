ALTER TABLE users DROP COLUMN guardian_allows_comments;
DROP TABLE comment_settings;
DROP TABLE comment_reports;
DROP TABLE song_comments;
