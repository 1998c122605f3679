-- A competition's digital album: its settings and release terms, the tracks in order
-- with their credits and release files, and each musician's (and a minor's guardian's)
-- agreement to the terms. Nothing of a track without agreement is published.
CREATE TABLE albums (
    competition_id  TEXT PRIMARY KEY REFERENCES competitions (id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    artist          TEXT NOT NULL,
    year            INTEGER NOT NULL,
    description     TEXT NOT NULL,
    cover_key       TEXT,
    terms           TEXT NOT NULL,
    terms_version   INTEGER NOT NULL DEFAULT 1,
    target_lufs     DOUBLE NOT NULL,
    public_download BOOLEAN NOT NULL DEFAULT FALSE,
    published_at    TIMESTAMP,
    release_state   TEXT NOT NULL DEFAULT 'none',
    release_of      TEXT,
    release_key     TEXT,
    release_size    BIGINT,
    release_error   TEXT,
    downloads       BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE TABLE album_tracks (
    competition_id TEXT NOT NULL REFERENCES albums (competition_id) ON DELETE CASCADE,
    entry_id       TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    artist         TEXT NOT NULL,
    composers      TEXT NOT NULL,
    producer       TEXT NOT NULL,
    lyrics         TEXT NOT NULL,
    release        TEXT,
    PRIMARY KEY (competition_id, entry_id)
);
CREATE TABLE album_consents (
    competition_id      TEXT NOT NULL REFERENCES albums (competition_id) ON DELETE CASCADE,
    entry_id            TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    musician_terms      INTEGER,
    musician_agreed_at  TIMESTAMP,
    guardian_terms      INTEGER,
    guardian_agreed_at  TIMESTAMP,
    guardian_name       TEXT,
    guardian_email      TEXT,
    guardian_token_hash TEXT,
    PRIMARY KEY (competition_id, entry_id)
);
CREATE INDEX album_consents_token ON album_consents (guardian_token_hash);
