DROP TABLE stem_checks;
DROP TABLE remix_permissions;
DROP TABLE entry_sources;
DROP TABLE licence_acceptances;
DROP TABLE audio_landmarks;
DROP TABLE stem_files;
DROP TABLE stem_packs;
DROP TABLE remix_settings;
