#!/usr/bin/env bash
# Group messages through two msg_servers (issue 9 §1): the whole suite, group 1 made by ttadm
# and group 50 made with plain INSERTs as an existing TeamTalk database has it; it_group_msgs
# main (deliveries on both msg_servers and to second devices, offline members, read ack,
# join-time history, removed members and non-members refused, the database-made group), what
# MariaDB then holds, FLUSHALL on Redis, it_group_msgs flushed (no id reused).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA=$'MsgRateLimit=2000'
tt_suite_start
tt_check "ttadm group add Team" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" group add Team \
    --members TT001,TT002,TT003,TT004,TT007 --creator TT001
# Group 50 as the original server left it: members with status 0, one who left (status 1),
# no message counter row, one message already stored in its shard (50 % 8 = 2).
sql "INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, lastChated,
        updated, created) VALUES (50, 'Old team', '', 10, 1, 3, 0, 7, 1600000000, 1600000000,
        1600000000);
     INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES
        (50, 10, 0, 1600000000, 1600000000), (50, 11, 0, 1600000000, 1600000000),
        (50, 12, 1, 1600000000, 1600000000);
     INSERT INTO IMGroupMessage_2 (groupId, userId, msgId, content, type, status, updated,
        created) VALUES (50, 10, 12, 'old text', 17, 0, 1600000000, 1600000000)"

"$TT_BUILD/test/it_group_msgs" main "$P_MS1" "$P_MS2" || tt_fail "it_group_msgs main"

group_rows() { # group_rows GID: "rows distinct-ids max-id" of its shard
    sql "SELECT COUNT(*), COUNT(DISTINCT msgId), MAX(msgId) FROM IMGroupMessage_$(( $1 % 8 ))
         WHERE groupId = $1"
}
tt_check "group 1: each message stored once (not per member), ids 1..28" \
    test "$(group_rows 1)" = "28	28	28"
tt_check "group 50: the old row and 13, 14" test "$(group_rows 50)" = "3	3	14"
tt_check "the refused posts are not stored" \
    test "$(sql "SELECT COUNT(*) FROM IMGroupMessage_1 WHERE userId IN (5, 7)") $(sql "SELECT COUNT(*) FROM IMGroupMessage_2 WHERE userId = 12")" = "0 0"
refused_rows() {
    for s in 0 1 2 3 4 5 6 7; do sql "SELECT COUNT(*) FROM IMGroupMessage_$s WHERE content LIKE 'refused:%'"; done | sort -u
}
tt_check "their contents appear nowhere" test "$(refused_rows)" = 0

# Redis is only a cache: lose all of it, then ids go on from MariaDB.
redis-cli -p "$P_RD" FLUSHALL >/dev/null
last1=$(sql "SELECT MAX(msgId) FROM IMGroupMessage_1 WHERE groupId = 1")
last50=$(sql "SELECT MAX(msgId) FROM IMGroupMessage_2 WHERE groupId = 50")
"$TT_BUILD/test/it_group_msgs" flushed "$P_MS1" "$P_MS2" "$last1" "$last50" \
    || tt_fail "it_group_msgs flushed"
tt_check "after the flush: no (group, msg_id) stored twice" \
    test "$(for s in 0 1 2 3 4 5 6 7; do sql "SELECT COUNT(*) - COUNT(DISTINCT groupId, msgId) FROM IMGroupMessage_$s"; done | sort -u)" = 0
tt_check "nor the refused one after it" test "$(refused_rows)" = 0
tt_check "group 1 has 30 messages, group 50 four" \
    test "$(group_rows 1) $(group_rows 50)" = "30	30	30 4	4	15"
tt_suite_stop_all
tt_finish
