ALTER TABLE judge_comments DROP COLUMN held_at;
ALTER TABLE judge_comments DROP COLUMN held_reason;
ALTER TABLE rounds DROP COLUMN feedback_release;
ALTER TABLE assignments DROP COLUMN first_streamed_at;
ALTER TABLE assignments DROP COLUMN streamed;
ALTER TABLE users DROP COLUMN guardian_withdrawn_at;
ALTER TABLE competitions DROP COLUMN consent_age;
