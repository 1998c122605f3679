DROP TABLE vote_reviews;
DROP TABLE votes;
DROP FUNCTION append_only();
DROP TABLE vote_flags;
DROP TABLE vote_tallies;
DROP TABLE voting_round_entries;
DROP TABLE voting_rounds;
