-- Groups (db_proxy_server/td_group.c). IMGroupMember (status 0 member, 1 left) stays the truth
-- about membership, as an existing TeamTalk database has it; these columns add what the
-- original kept only in Redis, per member row:
--   joinMsgId  the group's last msgId when the member (re)joined: history, get-by-id and
--              unread see only messages with msgId > joinMsgId (0 for rows written before
--              this migration: they see the whole history);
--   readMsgId  the last msgId the member has read (read ack, own message); unread =
--              lastMsgId - GREATEST(readMsgId, joinMsgId), so a message costs no row per member;
--   shield     the member's push shield for this group (0/1), reported in group info.
-- The group's message ids come from tt_msg_counter (migration 003, sessionKey (2 << 32) | id).
ALTER TABLE IMGroupMember
    ADD COLUMN IF NOT EXISTS joinMsgId INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS readMsgId INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS shield TINYINT UNSIGNED NOT NULL DEFAULT 0;
-- Group message content as bytes, as migration 005 did for one-to-one messages (the original
-- wrote these tables; this suite now does too). Each ALTER copies its table.
ALTER TABLE IMGroupMessage_0 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_1 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_2 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_3 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_4 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_5 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_6 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
ALTER TABLE IMGroupMessage_7 MODIFY COLUMN content VARBINARY(16384) NOT NULL DEFAULT '';
