DROP TABLE jobs;
DROP TABLE account_tokens;
DROP TABLE user_roles;
DROP TABLE competitions;
DROP TABLE users;
