-- One-to-one chat storage (db_proxy_server/td_msg.c).
--
-- tt_pair_lock: one row per pair of users (smallId < bigId) that exchanged a message through
-- this suite. The message transaction locks it first (INSERT ... ON DUPLICATE KEY UPDATE, an
-- exclusive row lock), so the relation, the recent-session rows, the message-id counter and
-- the message of one conversation are written by one transaction at a time: IMRelationShip and
-- IMRecentSession have no unique keys (an existing database may hold duplicates the original
-- created), and locking reads of missing rows would take gap locks that make unrelated first
-- messages deadlock. The row holds nothing else.
CREATE TABLE IF NOT EXISTS tt_pair_lock (
    smallId INT UNSIGNED NOT NULL,
    bigId INT UNSIGNED NOT NULL,
    PRIMARY KEY (smallId, bigId)
) ENGINE=InnoDB;

-- Voice messages: the audio bytes (msg_data after its 4-byte duration) of the IMAudio row
-- audioId. The IMAudio row is written as the original did (size, duration; path '' because the
-- bytes are here, not on msfs) and the message's content is the decimal IMAudio.id, so history
-- returns duration + bytes byte for byte. Moving the bytes to msfs later means filling
-- IMAudio.path and dropping the row here.
CREATE TABLE IF NOT EXISTS tt_audio_blob (
    audioId INT NOT NULL PRIMARY KEY,
    data MEDIUMBLOB NOT NULL
) ENGINE=InnoDB;
