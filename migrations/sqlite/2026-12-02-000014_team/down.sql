DROP INDEX audit_log_actor;
DROP INDEX audit_log_subject;
ALTER TABLE users DROP COLUMN blocked_reason;
ALTER TABLE users DROP COLUMN blocked_at;
DROP TABLE invitations;
