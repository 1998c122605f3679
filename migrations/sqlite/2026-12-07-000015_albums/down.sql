DROP TABLE album_consents;
DROP TABLE album_tracks;
DROP TABLE albums;
