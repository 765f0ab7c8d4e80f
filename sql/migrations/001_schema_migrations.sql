-- The table that records which migrations ran.
CREATE TABLE IF NOT EXISTS tt_schema_migrations (
    version INT PRIMARY KEY,
    applied INT UNSIGNED NOT NULL
) ENGINE=InnoDB;
