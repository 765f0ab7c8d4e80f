-- Message ids live in MariaDB, not only in Redis: one counter row per conversation, updated in
-- the same transaction as the message insert, so a flushed Redis can neither lose nor re-issue
-- an id. sessionKey = (type << 32) | id, where type 1 = IMRelationShip.id (one-to-one) and
-- type 2 = IMGroup.id. A conversation without a row (from an imported database) starts from
-- MAX(msgId) of its messages.
CREATE TABLE IF NOT EXISTS tt_msg_counter (
    sessionKey BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    lastMsgId INT UNSIGNED NOT NULL
) ENGINE=InnoDB;

-- Resends: what a client sends again after a lost ack is recognised by a hash of
-- (receiver, client msg_id, type, content) per sender, kept for a bounded window (rows older
-- than the window are deleted by db_proxy_server), and answered with the stored msg_id.
CREATE TABLE IF NOT EXISTS tt_msg_dedupe (
    fromId INT UNSIGNED NOT NULL,
    clientKey BIGINT UNSIGNED NOT NULL,
    msgId INT UNSIGNED NOT NULL,
    created INT UNSIGNED NOT NULL,
    PRIMARY KEY (fromId, clientKey),
    KEY idx_created (created)
) ENGINE=InnoDB;
