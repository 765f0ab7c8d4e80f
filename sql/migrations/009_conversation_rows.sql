-- One row per one-to-one conversation (db_proxy_server/td_msg_batch.c): the tt_pair_lock row
-- of a pair (migration 004), which every message transaction locks first, now also holds what
-- the transaction needs of its conversation, so a batch of messages over many conversations
-- reads and updates one row each with one bulk statement:
--   relateId   its IMRelationShip.id (0: not known yet: looked up, or the relation created)
--   lastMsgId  the last msgId given out (meaningful once relateId is set; for a conversation
--              older than this row it continues from tt_msg_counter, else from MAX(msgId) of
--              its messages, and that tt_msg_counter row is then deleted)
--   sessTime   both recent-session rows are active and updated at least to this time (0: not
--              known: the next message rewrites them; a removed session sets it to 0)
--   sessWas    sessTime before the latest message transaction raised it (so that transaction
--              sees whether the session rows need writing)
--   sessLo     IMRecentSession.id of (userId smallId, peerId bigId), 0: not known yet
--   sessHi     IMRecentSession.id of (userId bigId, peerId smallId), 0: not known yet
-- Rows made before this migration get zeros: they are filled by the next message.
ALTER TABLE tt_pair_lock
    ADD COLUMN IF NOT EXISTS relateId INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS lastMsgId INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sessTime INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sessWas INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sessLo INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sessHi INT UNSIGNED NOT NULL DEFAULT 0;
