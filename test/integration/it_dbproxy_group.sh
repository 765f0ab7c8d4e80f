#!/usr/bin/env bash
# Groups in db_proxy_server's database (issue 9 §1), against a private MariaDB and Redis
# (scripts/stack.sh) on free ports: ttadm group add / members / list writing IMGroup and
# IMGroupMember as an existing TeamTalk database has them, the version bumped on every change,
# and a group made with plain INSERTs (as an existing deployment has it) read back by ttadm.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD
ADM_BIN=$B/tools/ttadm
IT=$B/test/it_dbproxy_group

STACK=$TT_TMP/stack
stack_down() { "$TT_SRC/scripts/stack.sh" stop-db --dir "$STACK" >>"$TT_TMP/stack.out" 2>&1 || true; }
stack_up() {
    local try
    for try in 1 2 3; do
        P_MY=$(tt_free_port); P_RD=$(tt_free_port)
        "$TT_SRC/scripts/stack.sh" start-db --dir "$STACK" --mysql-port "$P_MY" \
            --redis-port "$P_RD" >>"$TT_TMP/stack.out" 2>&1 && return 0
        stack_down; sleep 1
    done
    return 1
}
trap 'stack_down; tt_cleanup' EXIT
stack_up || { cat "$TT_TMP/stack.out"; tt_fail "stack did not start"; tt_finish; }

sql() { MYSQL_PWD=teamtalk mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk teamtalk -N -e "$1"; }
sql_is() { test "$(sql "$1")" = "$2"; }
rds() { redis-cli -p "$P_RD" "$@"; }
P_DB=$(tt_free_port)
sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_DB/" \
    -e "s/^ThreadNum=.*/ThreadNum=4/" \
    -e "s/^teamtalk_\(master\|slave\)_port=.*/teamtalk_\1_port=$P_MY/" \
    -e "s/^\([a-z_]*\)_port=6379/\1_port=$P_RD/" \
    "$TT_SRC/conf/dbproxyserver.conf" > "$TT_TMP/db.conf"
echo "DaemonSecret=$TT_DAEMON_SECRET" >> "$TT_TMP/db.conf"

adm() {
    local rc=0
    "$ADM_BIN" -c "$TT_TMP/db.conf" "$@" >"$TT_TMP/adm.out" 2>"$TT_TMP/adm.last" || rc=$?
    cat "$TT_TMP/adm.last" >>"$TT_TMP/adm.err"
    return $rc
}
out_has() { grep -q -- "$1" "$TT_TMP/adm.out"; }
last_has() { grep -q -- "$1" "$TT_TMP/adm.last"; }

# ---- ttadm ----
tt_check "migration 008 applied (member columns)" \
    sql_is "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'teamtalk' AND
            TABLE_NAME = 'IMGroupMember' AND COLUMN_NAME IN ('joinMsgId','readMsgId','shield')" 3
tt_check "ttadm group add" adm group add Everyone --members TT001,TT002,3,TT002 --creator TT001
tt_check "it says what it added" out_has 'group Everyone added (id 1, 3 members)'
tt_check "the IMGroup row: normal, status 0, version 1, creator 1, userCnt 3" \
    sql_is "SELECT name, type, status, version, creator, userCnt, created > 0, updated > 0
            FROM IMGroup WHERE id = 1" "Everyone	1	0	1	1	3	1	1"
tt_check "the IMGroupMember rows: status 0, each user once" \
    sql_is "SELECT GROUP_CONCAT(userId ORDER BY userId), SUM(status), COUNT(*), MIN(created) > 0
            FROM IMGroupMember WHERE groupId = 1" "1,2,3	0	3	1"
tt_check "its message counter starts at 0" \
    sql_is "SELECT lastMsgId FROM tt_msg_counter WHERE sessionKey = (2 << 32) | 1" 0
rc=0; adm group add Bad --members TT001,nobody || rc=$?
tt_check "an unknown member is refused (exit 1)" test "$rc" = 1
tt_check "with a clear message" last_has "no user 'nobody'"
tt_check "and nothing is written" sql_is "SELECT COUNT(*) FROM IMGroup" 1
rc=0; adm group add Bad || rc=$?
tt_check "no --members: exit 1" test "$rc" = 1
rc=0; adm group add '' --members TT001 || rc=$?
tt_check "an empty name: exit 1" test "$rc" = 1
tt_check "ttadm group members --add" adm group members 1 --add TT004,TT001
tt_check "only the new one is a change; version 2" out_has 'group 1: 1 added, version 2, members 1,2,3,4'
tt_check "ttadm group members --remove" adm group members 1 --remove TT002
tt_check "version 3, TT002 gone" out_has 'group 1: 1 removed, version 3, members 1,3,4'
tt_check "the removed row is status 1 (left), not deleted" \
    sql_is "SELECT status FROM IMGroupMember WHERE groupId = 1 AND userId = 2" 1
tt_check "removing a non-member changes nothing (version stays 3)" \
    adm group members 1 --remove TT002
tt_check "... says so" out_has 'group 1: 0 removed, version 3'
tt_check "version in the row" sql_is "SELECT version, userCnt FROM IMGroup WHERE id = 1" "3	3"
tt_check "re-adding reactivates the old row" adm group members 1 --add TT002
tt_check "... no second row, version 4" \
    sql_is "SELECT COUNT(*), MIN(status), (SELECT version FROM IMGroup WHERE id = 1)
            FROM IMGroupMember WHERE groupId = 1 AND userId = 2" "1	0	4"
rc=0; adm group members 99 --add TT001 || rc=$?
tt_check "an unknown group: exit 1" test "$rc" = 1
tt_check "... with a clear message" last_has 'no group with id 99'

# A group as an existing deployment has it: rows the original wrote (status 0 members, a left
# member, a duplicate row of one member, no counter row, a message already stored).
sql "INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, lastChated,
        updated, created) VALUES (50, 'Old team', '', 5, 1, 3, 0, 7, 0, 1600000000, 1600000000);
     INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES
        (50, 5, 0, 1600000000, 1600000000), (50, 6, 0, 1600000000, 1600000000),
        (50, 7, 1, 1600000000, 1600000000), (50, 6, 1, 1600000001, 1600000001);
     INSERT INTO IMGroupMessage_2 (groupId, userId, msgId, content, type, status, updated,
        created) VALUES (50, 5, 12, 'old', 17, 0, 1600000000, 1600000000);
     INSERT INTO IMGroup (id, name, creator, type, status, version) VALUES
        (51, 'A temporary one', 5, 2, 0, 1)"
tt_check "ttadm group list" adm group list
tt_check "lists the database-made group with its version and members" \
    grep -q '^50 *7 *5 *2 *Old team *5,6$' "$TT_TMP/adm.out"
tt_check "and ours" grep -q '^1 *4 *1 *4 *Everyone *1,2,3,4$' "$TT_TMP/adm.out"
tt_check "but no temporary group" bash -c "! grep -q 'temporary' '$TT_TMP/adm.out'"
tt_check "members of the old group change" adm group members 50 --add TT007
tt_check "... version 8, the left member back" out_has 'group 50: 1 added, version 8, members 5,6,7'
tt_check "a rejoining member's join position is the last stored message (no counter row yet)" \
    sql_is "SELECT joinMsgId, readMsgId FROM IMGroupMember WHERE groupId = 50 AND userId = 7" "12	12"

# ---- db_proxy_server on the wire (it_dbproxy_group, as msg_server speaks to it) ----
it() { local name=$1; shift; "$IT" "$@" >"$TT_TMP/it_$name.out" 2>"$TT_TMP/it_$name.err"; }
it_check() { # it_check "what" NAME ARGS...
    local what=$1; shift
    if it "$@"; then
        tt_log "ok: $what"
    else
        tt_fail "$what"
        grep -v '^ok' "$TT_TMP/it_$1.out" | head -30
        head -5 "$TT_TMP/it_$1.err"
    fi
}
tt_start db_proxy_server "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
tt_check "db_proxy_server listens" tt_wait_port "$P_DB"
it_check "groups: list, info, versions, temporary groups, permissions, shield" \
    groups "$P_DB" groups
tt_check "the temporary group's rows: type 2, creator 10, version 5, 1 member" \
    sql_is "SELECT type, creator, version, userCnt FROM IMGroup WHERE name = 'tmp chat'" "2	10	5	1"
tt_check "shield stored in the member row" \
    sql_is "SELECT shield FROM IMGroupMember WHERE groupId = 1 AND userId = 3 AND status = 0" 1

it_check "group messages: ids, refusals, resends, unread, read ack, join time, history" \
    msgs "$P_DB" msgs
tt_check "each message stored once per group (not per member), ids unique" \
    sql_is "SELECT COUNT(*), COUNT(DISTINCT msgId), MAX(msgId) FROM IMGroupMessage_1
            WHERE groupId = 1" "6	6	6"
tt_check "nothing of the non-member's" \
    sql_is "SELECT COUNT(*) FROM IMGroupMessage_1 WHERE userId IN (9, 5)" 0
tt_check "the counter in MariaDB" \
    sql_is "SELECT lastMsgId FROM tt_msg_counter WHERE sessionKey = (2 << 32) | 1" 6
rds FLUSHALL >/dev/null
it_check "Redis flushed: group ids go on, none reused" flushed "$P_DB" flushed
tt_check "no id stored twice" \
    sql_is "SELECT COUNT(*) - COUNT(DISTINCT groupId, msgId) FROM IMGroupMessage_1" 0

# ---- a burst: group messages among one-to-one ones on one connection, stored in batches ----
gadd() { adm group add "$1" --members "$2" && sed -n 's/.*(id \([0-9]*\),.*/\1/p' "$TT_TMP/adm.out"; }
GA=$(gadd Burst-a TT021,TT022,TT023); GB=$(gadd Burst-b TT021,TT024); GC=$(gadd Burst-c TT022,TT023,TT026)
sql "INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, lastChated,
        updated, created) VALUES (60, 'Imported', '', 21, 1, 2, 0, 3, 0, 1600000000, 1600000000);
     INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES
        (60, 21, 0, 1600000000, 1600000000), (60, 22, 0, 1600000000, 1600000000);
     INSERT INTO IMGroupMessage_4 (groupId, userId, msgId, content, type, status, updated,
        created) VALUES (60, 22, 40, 'old', 17, 0, 1600000000, 1600000000)"
tt_check "three groups made for the burst" test -n "$GA" -a -n "$GB" -a -n "$GC"
COUNTERS="'Com_commit','Com_begin','Questions','Com_stmt_execute','Com_select','Com_insert','Com_update','Handler_commit','Innodb_deadlocks'"
status() { sql "SHOW GLOBAL STATUS WHERE Variable_name IN ($COUNTERS)" | sort; }
status >"$TT_TMP/status.before"
it_check "a burst of group and one-to-one messages: in order, gap-free, refusals alone" \
    burst "$P_DB" burst "$GA" "$GB" "$GC" 60 3
status >"$TT_TMP/status.after"
join "$TT_TMP/status.before" "$TT_TMP/status.after" | awk '{ printf "%s=%d ", $1, $3 - $2 }' \
    >"$TT_TMP/status.delta"
tt_log "MariaDB during the burst (200 requests, 160 of them group messages): $(cat "$TT_TMP/status.delta")"
delta() { sed -n "s/.*$1=\([0-9-]*\).*/\1/p" "$TT_TMP/status.delta"; }
tt_check "the burst took far fewer transactions than messages (batches: $(delta Com_commit) commits)" \
    test "$(delta Com_commit)" -lt 60
tt_check "each group's rows: ids 1..n without a gap, one row per message" \
    sql_is "SELECT COUNT(*) = MAX(msgId) AND COUNT(DISTINCT msgId) = COUNT(*)
            FROM IMGroupMessage_$((GA % 8)) WHERE groupId = $GA" 1
tt_check "g60's ids go on after its stored row 40, its counter made" \
    sql_is "SELECT MIN(msgId), COUNT(*) - 1 = MAX(msgId) - 40,
            (SELECT lastMsgId FROM tt_msg_counter WHERE sessionKey = (2 << 32) | 60) = MAX(msgId)
            FROM IMGroupMessage_4 WHERE groupId = 60" "40	1	1"
tt_check "the counters match the rows" \
    sql_is "SELECT COUNT(*) FROM tt_msg_counter c WHERE c.sessionKey IN ((2 << 32) | $GA,
            (2 << 32) | $GB, (2 << 32) | $GC) AND c.lastMsgId = (SELECT MAX(msgId) FROM (
            SELECT groupId, msgId FROM IMGroupMessage_0 UNION ALL SELECT groupId, msgId FROM
            IMGroupMessage_1 UNION ALL SELECT groupId, msgId FROM IMGroupMessage_2 UNION ALL
            SELECT groupId, msgId FROM IMGroupMessage_3 UNION ALL SELECT groupId, msgId FROM
            IMGroupMessage_4 UNION ALL SELECT groupId, msgId FROM IMGroupMessage_5 UNION ALL
            SELECT groupId, msgId FROM IMGroupMessage_6 UNION ALL SELECT groupId, msgId FROM
            IMGroupMessage_7) m WHERE m.groupId = c.sessionKey & 0xffffffff)" 3
tt_check "nothing of the non-member's" \
    sql_is "SELECT COUNT(*) FROM IMGroupMessage_$((GA % 8)) WHERE groupId = $GA AND userId = 25" 0
tt_check "the resend stored once" \
    sql_is "SELECT COUNT(*) FROM IMGroupMessage_$((GA % 8)) WHERE groupId = $GA AND content = 'burst 50'" 1
tt_check "the senders' read positions are their last messages" \
    sql_is "SELECT COUNT(*) FROM IMGroupMember m WHERE m.groupId = $GA AND m.status = 0 AND
            m.readMsgId = (SELECT MAX(msgId) FROM IMGroupMessage_$((GA % 8)) g
                           WHERE g.groupId = $GA AND g.userId = m.userId)" 3
tt_check "lastChated set on every burst group" \
    sql_is "SELECT COUNT(*) FROM IMGroup WHERE id IN ($GA, $GB, $GC, 60) AND lastChated > 1600000000" 4
tt_check "the voice messages have their audio rows" \
    sql_is "SELECT COUNT(*), SUM(content REGEXP '^[0-9]+$') FROM IMGroupMessage_$((GC % 8))
            WHERE groupId = $GC AND type = 18" "5	5"

status >"$TT_TMP/status.before"
it_check "two connections to one group at once: all stored, ids gap-free" \
    parallel "$P_DB" parallel "$GC"
status >"$TT_TMP/status.after"
join "$TT_TMP/status.before" "$TT_TMP/status.after" | awk '{ printf "%s=%d ", $1, $3 - $2 }' \
    >"$TT_TMP/status.delta"
tt_log "MariaDB during the parallel phase (200 group messages): $(cat "$TT_TMP/status.delta")"
tt_log "$(grep '^parallel:' "$TT_TMP/it_parallel.out" || true)"
tt_check "no deadlock between two batches of one group ($(delta Innodb_deadlocks))" \
    test "$(delta Innodb_deadlocks)" = 0

# A batch MariaDB refuses (a trigger fails one row): stored again one message at a time.
MYSQL_PWD=teamtalk mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk teamtalk <<EOF
DELIMITER //
CREATE TRIGGER tt_test_poison BEFORE INSERT ON IMGroupMessage_$((GA % 8)) FOR EACH ROW
BEGIN
    IF NEW.content = 'poison' THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison row';
    END IF;
END//
DELIMITER ;
EOF
it_check "a failing group batch: stored one by one, only the bad message refused" \
    fallback "$P_DB" fallback "$GA"
sql "DROP TRIGGER tt_test_poison"
tt_check "... after the batch with it failed" grep -q 'group message batch store (storing one by one)' \
    "$TT_LOG_DIR"/*.log
tt_check "nothing of the refused one" \
    sql_is "SELECT COUNT(*) FROM IMGroupMessage_$((GA % 8)) WHERE content = 'poison'" 0

rc=0; tt_stop "$TT_PID_db_proxy_server" || rc=$?
tt_check "db_proxy_server exits 0 on SIGTERM" test "$rc" = 0
tt_check_logs 'poison row'
tt_finish
