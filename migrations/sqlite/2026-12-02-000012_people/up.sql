-- The people who use it (issue 20):
--  * each competition sets its own age of digital consent (NULL: the server's default);
--  * a guardian can withdraw consent (when it happened is kept for the teen's page);
--  * judges' listening is proved by the audio the server streamed to them: which parts
--    (one character per coverage bucket) and since when;
--  * judges' feedback for musicians is released per round once decided, or with the
--    final results; an organiser can hold a comment back with a reason.
ALTER TABLE competitions ADD COLUMN consent_age INTEGER;
ALTER TABLE users ADD COLUMN guardian_withdrawn_at TIMESTAMP;
ALTER TABLE assignments ADD COLUMN streamed TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN first_streamed_at TIMESTAMP;
ALTER TABLE rounds ADD COLUMN feedback_release TEXT NOT NULL DEFAULT 'round';
ALTER TABLE judge_comments ADD COLUMN held_reason TEXT;
ALTER TABLE judge_comments ADD COLUMN held_at TIMESTAMP;
