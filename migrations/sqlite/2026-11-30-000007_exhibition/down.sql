DROP TABLE poster_scans;
DROP TABLE posters;
