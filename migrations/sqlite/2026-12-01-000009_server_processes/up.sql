-- The serve and worker processes of a deployment, each renewing its row every few
-- seconds: operators see what runs (`cadenza admin processes`), and limits kept in each
-- process's memory (vote velocity) are shared out among the live serve processes.
CREATE TABLE server_processes (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    version     TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    seen_at     TIMESTAMP NOT NULL
);
CREATE INDEX server_processes_seen ON server_processes (kind, seen_at);
