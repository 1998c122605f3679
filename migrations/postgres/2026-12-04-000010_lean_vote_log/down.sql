ALTER TABLE votes ADD CONSTRAINT votes_round_id_fkey FOREIGN KEY (round_id) REFERENCES voting_rounds (id);
