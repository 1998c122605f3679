-- Remix rounds: stem packs with a versioned licence, what musicians accepted, the
-- source each remix names, per-entry remix permissions, and the stem-usage check.

-- A competition whose every entry must name its source.
CREATE TABLE remix_settings (
    competition_id    TEXT PRIMARY KEY REFERENCES competitions (id) ON DELETE CASCADE,
    sources_required  BOOLEAN NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

CREATE TABLE stem_packs (
    id               TEXT PRIMARY KEY,
    competition_id   TEXT NOT NULL REFERENCES competitions (id) ON DELETE CASCADE,
    prompt_id        TEXT REFERENCES prompts (id) ON DELETE SET NULL,
    -- The song the stems come from, when a remix round continues a published entry.
    source_entry_id  TEXT REFERENCES entries (id) ON DELETE SET NULL,
    title            TEXT NOT NULL,
    credit           TEXT NOT NULL,
    tempo_bpm        DOUBLE PRECISION,
    musical_key      TEXT,
    licence_name     TEXT NOT NULL,
    licence_text     TEXT NOT NULL,
    -- Goes up by one whenever the licence's name or text changes.
    licence_version  INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX stem_packs_competition ON stem_packs (competition_id);

-- The files of a pack: stems (analysed), MIDI, lyrics.
CREATE TABLE stem_files (
    id              TEXT PRIMARY KEY,
    pack_id         TEXT NOT NULL REFERENCES stem_packs (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    status          TEXT NOT NULL,
    report          TEXT,
    analysis_error  TEXT,
    downloads       BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    analysed_at     TIMESTAMP
);
CREATE INDEX stem_files_pack ON stem_files (pack_id);

-- Landmarks (audio::landmarks) of stems and of entries, apart from the rows read often.
CREATE TABLE audio_landmarks (
    owner_id    TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- A musician accepted a licence: a pack's (licence "v<version>") or an entry's remix
-- licence (its identifier, e.g. CC-BY-NC-4.0).
CREATE TABLE licence_acceptances (
    subject_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    licence      TEXT NOT NULL,
    accepted_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_id, user_id, licence)
);

-- What a remix is made from: a stem pack or a published entry.
CREATE TABLE entry_sources (
    entry_id         TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    pack_id          TEXT REFERENCES stem_packs (id) ON DELETE SET NULL,
    source_entry_id  TEXT REFERENCES entries (id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX entry_sources_source ON entry_sources (source_entry_id);
CREATE INDEX entry_sources_pack ON entry_sources (pack_id);

-- Whether others may remix an entry, and under which licence.
CREATE TABLE remix_permissions (
    entry_id    TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    allowed     BOOLEAN NOT NULL,
    licence     TEXT NOT NULL,
    downloads   BIGINT NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);

-- The stem-usage check of a remix against its source's stems.
CREATE TABLE stem_checks (
    entry_id    TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    result      TEXT NOT NULL,
    checked_at  TIMESTAMP NOT NULL
);
