-- Public voting: voting rounds with their policy and the entries in play; the vote log
-- (append-only: a trigger refuses UPDATE and DELETE); reviews of votes (also
-- append-only: quarantine, invalidate, restore, each with rule, reason and actor); the
-- current status of every vote that is not simply counted; maintained tallies.
-- Uniqueness rules are constraints: a voter's n-th vote in a round, n-th vote for an
-- entry and n-th vote of a day each exist once; an Idempotency-Key and a
-- proof-of-work challenge are each used once.

CREATE TABLE voting_rounds (
    id                  TEXT PRIMARY KEY,
    competition_id      TEXT NOT NULL REFERENCES competitions (id),
    title               TEXT NOT NULL,
    opens_at            TIMESTAMP NOT NULL,
    closes_at           TIMESTAMP NOT NULL,
    votes_per_voter     INTEGER NOT NULL DEFAULT 20,
    votes_per_entry     INTEGER NOT NULL DEFAULT 20,
    votes_per_day       INTEGER,
    counts_visible      TEXT NOT NULL DEFAULT 'after_close',
    min_listen_secs     INTEGER NOT NULL DEFAULT 0,
    allowlist           TEXT NOT NULL DEFAULT '[]',
    burst_per_minute    INTEGER NOT NULL DEFAULT 60,
    new_account_minutes INTEGER NOT NULL DEFAULT 5,
    pattern_min_voters  INTEGER NOT NULL DEFAULT 5,
    audited_at          TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX voting_rounds_competition ON voting_rounds (competition_id, opens_at);

CREATE TABLE voting_round_entries (
    round_id  TEXT NOT NULL REFERENCES voting_rounds (id),
    entry_id  TEXT NOT NULL REFERENCES entries (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (round_id, entry_id)
);

CREATE TABLE vote_tallies (
    round_id     TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    counted      BIGINT NOT NULL DEFAULT 0,
    quarantined  BIGINT NOT NULL DEFAULT 0,
    invalidated  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (round_id, entry_id)
);

CREATE TABLE vote_flags (
    vote_id     BIGINT PRIMARY KEY,
    round_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    rule        TEXT,
    reviewed    BOOLEAN NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX vote_flags_round ON vote_flags (round_id, status);

CREATE TABLE votes (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id          TEXT NOT NULL REFERENCES voting_rounds (id),
    voter_id          TEXT NOT NULL,
    entry_id          TEXT NOT NULL,
    cast_at           TIMESTAMP NOT NULL,
    day               TEXT NOT NULL,
    slot              INTEGER NOT NULL,
    entry_slot        INTEGER NOT NULL,
    day_slot          INTEGER NOT NULL,
    idempotency_key   TEXT NOT NULL,
    pow_id            TEXT NOT NULL,
    pow_cost          INTEGER NOT NULL,
    network           TEXT NOT NULL,
    ua_hash           TEXT NOT NULL,
    account_age_secs  BIGINT NOT NULL,
    initial_status    TEXT NOT NULL,
    initial_rule      TEXT
);
CREATE UNIQUE INDEX votes_slot ON votes (round_id, voter_id, slot);
CREATE UNIQUE INDEX votes_entry_slot ON votes (round_id, voter_id, entry_id, entry_slot);
CREATE UNIQUE INDEX votes_day_slot ON votes (round_id, voter_id, day, day_slot);
CREATE UNIQUE INDEX votes_idempotency ON votes (voter_id, idempotency_key);
CREATE UNIQUE INDEX votes_pow ON votes (pow_id);

CREATE TABLE vote_reviews (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    vote_id   BIGINT NOT NULL,
    round_id  TEXT NOT NULL,
    action    TEXT NOT NULL,
    rule      TEXT,
    reason    TEXT NOT NULL,
    actor_id  TEXT,
    at        TIMESTAMP NOT NULL
);
CREATE INDEX vote_reviews_vote ON vote_reviews (vote_id, id);
CREATE INDEX vote_reviews_round ON vote_reviews (round_id, id);

CREATE TRIGGER votes_no_update BEFORE UPDATE ON votes
BEGIN SELECT RAISE(ABORT, 'votes is append-only'); END;
CREATE TRIGGER votes_no_delete BEFORE DELETE ON votes
BEGIN SELECT RAISE(ABORT, 'votes is append-only'); END;
CREATE TRIGGER vote_reviews_no_update BEFORE UPDATE ON vote_reviews
BEGIN SELECT RAISE(ABORT, 'vote_reviews is append-only'); END;
CREATE TRIGGER vote_reviews_no_delete BEFORE DELETE ON vote_reviews
BEGIN SELECT RAISE(ABORT, 'vote_reviews is append-only'); END;
