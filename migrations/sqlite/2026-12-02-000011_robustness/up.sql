-- Robustness (issue 21):
--  * an inverted index of fingerprint sub-hashes: duplicate recordings are found by the
--    keys they share, not by comparing every earlier entry pair by pair; silence and
--    held tones are never indexed;
--  * job lanes: an analysis that its header says is expensive runs in the `heavy` lane
--    (a bounded number at a time), and jobs with the same concurrency key (one
--    musician's analyses) run one at a time;
--  * erased accounts stay as anonymous tombstones (`erased_at`), so that the scores of
--    a former judge and the entries of a former musician keep the results honest.
CREATE TABLE fingerprint_keys (
    key       INTEGER NOT NULL,
    entry_id  TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    PRIMARY KEY (key, entry_id)
);
CREATE INDEX fingerprint_keys_entry ON fingerprint_keys (entry_id);

ALTER TABLE jobs ADD COLUMN lane TEXT;
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
CREATE INDEX jobs_concurrency ON jobs (concurrency_key, status);

ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;
