-- The exhibition: a poster (a QR code beside a painting, in one language) for a
-- competition, a prompt or an entry, and how often each was scanned per day. A scan
-- records nothing about who scanned.
CREATE TABLE posters (
    id              TEXT PRIMARY KEY,
    competition_id  TEXT NOT NULL REFERENCES competitions (id),
    kind            TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    lang            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX posters_target ON posters (kind, target_id, lang);
CREATE INDEX posters_competition ON posters (competition_id);

CREATE TABLE poster_scans (
    poster_id  TEXT NOT NULL REFERENCES posters (id),
    day        TEXT NOT NULL,
    scans      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poster_id, day)
);
