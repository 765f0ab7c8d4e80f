#!/usr/bin/env bash
# db_proxy_server against a private MariaDB and Redis (scripts/stack.sh) on free ports, driven
# by it_dbproxy (PDUs, as msg_server sends them): logins (original md5 rows upgraded to
# pbkdf2, wrong, unknown, disabled, SQL in names, lockout), the company (full and incremental),
# profile changes, push settings, ordering; then ttadm (add, password, disable, enable,
# departments) seen through db_proxy; then MariaDB killed with SIGKILL (logins answered 2 at
# once) and restarted (served again); then MariaDB and Redis stopped (error answers, a
# db_proxy_server started while they are down) and started again (answers without restarting
# db_proxy); then SIGTERM (IMStopReceivePacket, exit 0).
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD
IT=$B/test/it_dbproxy
ADM_BIN=$B/tools/ttadm

P_DB=$(tt_free_port); P_DB2=$(tt_free_port)
STACK=$TT_TMP/stack
stack_up() { # a "free" port can still be the local port of some connection: try again
    local try
    for try in 1 2 3; do
        "$TT_SRC/scripts/stack.sh" start-db --dir "$STACK" --mysql-port "$P_MY" \
            --redis-port "$P_RD" >>"$TT_TMP/stack.out" 2>&1 && return 0
        stack_down
        [ -n "${1:-}" ] || { P_MY=$(tt_free_port); P_RD=$(tt_free_port); } # same ports?
        sleep 1
    done
    return 1
}
stack_down() {
    "$TT_SRC/scripts/stack.sh" stop-db --dir "$STACK" >>"$TT_TMP/stack.out" 2>&1 || true
}
trap 'stack_down; tt_cleanup' EXIT
P_MY=$(tt_free_port); P_RD=$(tt_free_port)
stack_up || { cat "$TT_TMP/stack.out"; tt_fail "stack did not start"; tt_finish; }

sql() {
    MYSQL_PWD=teamtalk mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk teamtalk -N -e "$1"
}
rds() { redis-cli -p "$P_RD" "$@"; }
# it NAME ARGS...: runs it_dbproxy against db_proxy, its report kept (sanitizers included)
it() { local name=$1; shift; "$IT" "$@" >"$TT_TMP/it_$name.out" 2>"$TT_TMP/it_$name.err"; }
it_check() { # it_check "what" NAME ARGS...
    local what=$1; shift
    if it "$@"; then
        tt_log "ok: $what"
    else
        tt_fail "$what"
        grep -v '^ok' "$TT_TMP/it_$1.out" | head -20
    fi
}
# adm ARGS...: ttadm; its output in adm.out and adm.last, every stderr kept in adm.err
adm() {
    local rc=0
    "$ADM_BIN" -c "$TT_TMP/db.conf" "$@" >"$TT_TMP/adm.out" 2>"$TT_TMP/adm.last" || rc=$?
    cat "$TT_TMP/adm.last" >>"$TT_TMP/adm.err"
    return $rc
}
admq() { "$ADM_BIN" -c "$TT_TMP/db.conf" "$@" 2>>"$TT_TMP/adm.err"; } # for pipes
passwd_stdin() { printf 'new pass\n' | admq user passwd alice --password-stdin >/dev/null; }
dept_listed() { admq dept list | grep -q 'R&D'; }
user_listed() { admq user list | grep -q '^101 *alice *Alice'; }
sql_is() { test "$(sql "$1")" = "$2"; } # sql_is QUERY EXPECTED

# Known values, so that answers can be checked exactly; TT099 has left, TT098 is on probation.
sql "UPDATE IMUser SET updated = 1700000000 + id; UPDATE IMDepart SET updated = 1700000000 + id;
     UPDATE IMUser SET status = 3 WHERE name = 'TT099';
     UPDATE IMUser SET status = 1 WHERE name = 'TT098';
     UPDATE IMUser SET sex = 2, phone = '13800000001', departId = 3 WHERE id = 1"
rds -n 1 HSET unread_3 5 2 9 3 >/dev/null
tt_check "TT001 starts in the original md5 format" \
    test "$(sql "SELECT LENGTH(password), salt <> '' FROM IMUser WHERE name = 'TT001'")" = "32	1"

sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_DB/" \
    -e "s/^ThreadNum=.*/ThreadNum=4/" \
    -e "s/^teamtalk_\(master\|slave\)_port=.*/teamtalk_\1_port=$P_MY/" \
    -e "s/^\([a-z_]*\)_port=6379/\1_port=$P_RD/" \
    "$TT_SRC/conf/dbproxyserver.conf" > "$TT_TMP/db.conf"
echo "DaemonSecret=$TT_DAEMON_SECRET" >> "$TT_TMP/db.conf"
# the second one: one worker and a small queue
sed -e "s/^ListenPort=.*/ListenPort=$P_DB2/" -e "s/^ThreadNum=.*/ThreadNum=1/" \
    "$TT_TMP/db.conf" > "$TT_TMP/db2.conf"
printf "MaxPendingRequests=16\nLoginQueueMax=16\n" >> "$TT_TMP/db2.conf"
# Do-not-disturb hours are the db_proxy_server's local time: the first one runs at local noon
# (TZ offset from now), the second one (started below) at 02:00, inside the quiet hours.
H=$((10#$(date -u +%H)))
tz_at() { printf 'DND-%d' $(( ($1 - H + 24) % 24 )); } # POSIX TZ: local = UTC + offset
TZ=$(tz_at 12) tt_start db_proxy_server "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
tt_check "db_proxy_server listens" tt_wait_port "$P_DB"

# ---- logins and the company ----
it_check "legacy login" legacy "$P_DB" legacy
tt_check "TT001's row is now pbkdf2_sha256 with 25000 iterations and no legacy salt" \
    sql_is "SELECT LEFT(password, 20), salt FROM IMUser WHERE name = 'TT001'" \
    'pbkdf2_sha256$25000$	'
# push tokens as an original deployment left them (token pool, DB 4): see phase_push
rds -n 4 MSET device_11 ios:legacy11 device_legacy11 11 device_12 ios:stale12 \
    device_13 ios:stale12 device_stale12 13 device_14 15 device_15 ios:14 \
    push_token_16 "" device_16 ios:old16 device_old16 16 >/dev/null
it_check "logins, lockout, company, profile, push, ordering" main "$P_DB" main
tt_check "the SQL-looking signature is stored as text" \
    sql_is "SELECT sign_info FROM IMUser WHERE id = 1" "it's \"quoted\"; DROP TABLE IMUser; -- 你好"
tt_check "IMUser is still there, 100 users" test "$(sql "SELECT COUNT(*) FROM IMUser")" = 100

# ---- messages stored in batches ----
# (between users 1001 ... 1006: a message to a user id that does not exist is not stored)
# (they are removed again for the ttadm checks, which expect the next user id to be 101)
msg_users_add() {
    sql "INSERT INTO IMUser (id, name, departId, created, updated) VALUES (1001, 'TT1001', 1, 1, 1),
         (1002, 'TT1002', 1, 1, 1), (1003, 'TT1003', 1, 1, 1), (1004, 'TT1004', 1, 1, 1),
         (1005, 'TT1005', 1, 1, 1), (1006, 'TT1006', 1, 1, 1), (1007, 'TT1007', 1, 1, 1),
         (1008, 'TT1008', 1, 1, 1), (1009, 'TT1009', 1, 1, 1), (1010, 'TT1010', 1, 1, 1),
         (1011, 'TT1011', 1, 1, 1), (1012, 'TT1012', 1, 1, 1), (1013, 'TT1013', 1, 1, 1),
         (1014, 'TT1014', 1, 1, 1), (1015, 'TT1015', 1, 1, 1), (1016, 'TT1016', 1, 1, 1)"
}
msg_users_drop() { sql "DELETE FROM IMUser WHERE id > 1000; ALTER TABLE IMUser AUTO_INCREMENT = 101"; }
msg_users_add
it_check "300 messages at once: stored in order, a repeat marked" batch "$P_DB" batch
msgs() { # msgs LO HI: "count min max distinct" of the conversation's messages
    local rel
    rel=$(sql "SELECT id FROM IMRelationShip WHERE smallId = $1 AND bigId = $2 AND status = 0")
    sql "SELECT COUNT(*), MIN(msgId), MAX(msgId), COUNT(DISTINCT msgId)
         FROM IMMessage_$((rel % 8)) WHERE relateId = $rel"
}
tt_check "1001 <-> 1002: 196 messages, ids 1..196" test "$(msgs 1001 1002)" = "196	1	196	196"
tt_check "1003 -> 1004: 97 messages, ids 1..97" test "$(msgs 1003 1004)" = "97	1	97	97"
tt_check "1005 -> 1006: 6 voice messages with their bytes" \
    sql_is "SELECT COUNT(*), MIN(LENGTH(b.data)) FROM IMAudio a JOIN tt_audio_blob b ON b.audioId = a.id
            WHERE a.fromId = 1005 AND a.toId = 1006" "6	300"
tt_check "both recent-session rows of each pair, active" \
    sql_is "SELECT COUNT(*) FROM IMRecentSession WHERE status = 0 AND
            ((userId, peerId) IN ((1001,1002),(1002,1001),(1003,1004),(1004,1003),(1005,1006),(1006,1005)))" 6
tt_check "unread: 1004 has 97 from 1003" test "$(rds -n 1 HGET unread_1004 1003)" = 97
# As if db_proxy had stopped between the commit and the answer of 1003's messages:
# (their answered marks: fields 1003_<key> of the hashes msg_done_<window>_<bucket>)
for h in $(rds -n 1 --scan --pattern 'msg_done_*'); do
    rds -n 1 HKEYS "$h" | grep '^1003_' | xargs -r redis-cli -p "$P_RD" -n 1 HDEL "$h" >/dev/null
done
# ... and the marks left (1001's) as if written 25 buckets earlier: still within the window;
# one of them instead as the key a db_proxy_server before the hashes set (msg_done_<field>)
for h in $(rds -n 1 --scan --pattern 'msg_done_*'); do
    w=${h#msg_done_}; b=${w#*_}; w=${w%%_*}
    rds -n 1 RENAME "$h" "msg_done_${w}_$((b - 25))" >/dev/null
    old=$(rds -n 1 HKEYS "msg_done_${w}_$((b - 25))" | grep '^1001_' | head -1)
    if [ -n "$old" ]; then
        rds -n 1 HDEL "msg_done_${w}_$((b - 25))" "$old" >/dev/null
        rds -n 1 SET "msg_done_$old" 1 EX 60 >/dev/null
    fi
done
it_check "resends answered with their first ids, marked only if answered" resend "$P_DB" batchresend
tt_check "and nothing was stored twice" test "$(msgs 1003 1004)" = "97	1	97	97"
it_check "all 300 sent again at once: answered with their first ids" again "$P_DB" batchagain
tt_check "and still stored once" test "$(msgs 1001 1002) $(msgs 1003 1004)" = "196	1	196	196 97	1	97	97"
# Conversations older than their tt_pair_lock row (migration 009) go on after their ids:
# 1007 <-> 1008 has messages 1..40 and a lock row from before the migration (zeros), no
# counter; 1009 <-> 1010 has messages 1..5 and a counter at 70 (ids given out, messages
# deleted), no lock row; 1011 <-> 1012 has an inactive relation with messages 1..3.
sql "INSERT INTO IMRelationShip (id, smallId, bigId, status, created, updated) VALUES
         (5000, 1007, 1008, 0, 1, 1), (5001, 1009, 1010, 0, 1, 1), (5002, 1011, 1012, 1, 1, 1);
     INSERT INTO tt_pair_lock (smallId, bigId) VALUES (1007, 1008);
     INSERT INTO tt_msg_counter (sessionKey, lastMsgId) VALUES ((1 << 32) | 5001, 70)"
for i in $(seq 40); do echo "(5000, 1007, 1008, $i, 'old', 1, 0, 1, 1)"; done | paste -sd, |
    sed 's/^/INSERT INTO IMMessage_0 (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES /' |
    { read -r q; sql "$q"; }
sql "INSERT INTO IMMessage_1 (relateId, fromId, toId, msgId, content, type, status, created, updated)
         VALUES (5001, 1009, 1010, 1, 'old', 1, 0, 1, 1), (5001, 1010, 1009, 5, 'old', 1, 0, 1, 1);
     INSERT INTO IMMessage_2 (relateId, fromId, toId, msgId, content, type, status, created, updated)
         VALUES (5002, 1011, 1012, 3, 'old', 1, 0, 1, 1)"
it_check "an old conversation with a pre-009 lock row: ids go on from 41" \
    spray1 "$P_DB" spray 10 41 1007 1008
it_check "an old conversation with a counter and no lock row: ids go on from 71" \
    spray2 "$P_DB" spray 10 71 1009 1010
it_check "an old conversation with an inactive relation: ids go on from 4" \
    spray3 "$P_DB" spray 6 4 1011 1012
tt_check "their rows hold the relations and the last ids" \
    sql_is "SELECT GROUP_CONCAT(relateId, ':', lastMsgId ORDER BY smallId) FROM tt_pair_lock
            WHERE smallId IN (1007, 1009, 1011)" "5000:50,5001:80,5002:9"
tt_check "the counter moved into the row is gone" \
    sql_is "SELECT COUNT(*) FROM tt_msg_counter WHERE sessionKey = (1 << 32) | 5001" 0
tt_check "no relation was added for them, the inactive one is active again" \
    sql_is "SELECT COUNT(*), SUM(status) FROM IMRelationShip WHERE smallId IN (1007, 1009, 1011)" "3	0"
tt_check "their recent-session rows, both ways, active" \
    sql_is "SELECT COUNT(*) FROM IMRecentSession WHERE status = 0 AND type = 1 AND
            (userId, peerId) IN ((1007,1008),(1008,1007),(1009,1010),(1010,1009),(1011,1012),(1012,1011))" 6
sleep 1.1 # a later second: the session rows are written again, their ids learned
it_check "and later messages go on from there" spray4 "$P_DB" spray 4 51 1007 1008
tt_check "the session rows' ids are kept in the rows (learned on the second message)" \
    sql_is "SELECT COUNT(*) FROM tt_pair_lock p JOIN IMRecentSession a ON a.id = p.sessLo
            AND a.userId = p.smallId AND a.peerId = p.bigId JOIN IMRecentSession b
            ON b.id = p.sessHi AND b.userId = p.bigId AND b.peerId = p.smallId
            WHERE p.smallId = 1007 AND p.bigId = 1008" 1
# Three connections at once over the same conversations (first contact): no gap, no repeat.
spray_at_once() {
    local i pids=() rc=0
    for i in 1 2 3; do
        "$IT" "$P_DB" spray 300 0 1013 1014 1015 1016 1013 1016 \
            >"$TT_TMP/it_spray_c$i.out" 2>&1 & pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    return $rc
}
# Resend keys older than the window, first in key order, and fresh ones: the purge during the
# next 900 messages (the 1000th stored since db_proxy started) deletes only the old ones.
tt_check "tt_msg_dedupe has no idx_created (migration 010)" \
    sql_is "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
            AND TABLE_NAME = 'tt_msg_dedupe' AND INDEX_NAME = 'idx_created'" 0
sql "INSERT INTO tt_msg_dedupe (fromId, clientKey, msgId, created)
     SELECT 1, seq, 1, UNIX_TIMESTAMP() - 100000 FROM seq_1_to_1500;
     INSERT INTO tt_msg_dedupe (fromId, clientKey, msgId, created)
     SELECT 1, 100000 + seq, 1, UNIX_TIMESTAMP() FROM seq_1_to_5"
tt_check "three connections at once, 900 messages over 3 new conversations: all stored" \
    spray_at_once
tt_check "the purge deleted the 1500 old resend keys and kept the 5 fresh ones" \
    sql_is "SELECT COUNT(*), SUM(clientKey > 100000) FROM tt_msg_dedupe WHERE fromId = 1" "5	5"
gapless() { # gapless LO HI COUNT: the pair's ids are exactly 1..COUNT
    local rel
    rel=$(sql "SELECT id FROM IMRelationShip WHERE smallId = $1 AND bigId = $2 AND status = 0")
    sql_is "SELECT COUNT(*), MIN(msgId), MAX(msgId), COUNT(DISTINCT msgId)
            FROM IMMessage_$((rel % 8)) WHERE relateId = $rel" "$3	1	$3	$3"
}
tt_check "1013 <-> 1014: ids 1..300" gapless 1013 1014 300
tt_check "1015 <-> 1016: ids 1..300" gapless 1015 1016 300
tt_check "1013 <-> 1016: ids 1..300" gapless 1013 1016 300
tt_check "one relation each" \
    sql_is "SELECT COUNT(*) FROM IMRelationShip WHERE smallId IN (1013, 1015)" 3
msg_users_drop
tt_check "the last of the pipelined sign changes is stored" \
    test "$(sql "SELECT sign_info FROM IMUser WHERE id = 7")" = "sign 39"
tt_check "Redis: push_token_1 = ios:def456" test "$(rds -n 4 GET push_token_1)" = "ios:def456"
tt_check "Redis: push_owner_def456 = 1" test "$(rds -n 4 GET push_owner_def456)" = 1
tt_check "Redis: the replaced token's reverse key is gone" \
    test "$(rds -n 4 EXISTS push_owner_abc123)" = 0
tt_check "Redis: user 2's token went with the device" test "$(rds -n 4 GET push_token_2)" = ""
tt_check "Redis: push_token_3 = android:tokA, push_owner_tokA = 3" \
    test "$(rds -n 4 GET push_token_3) $(rds -n 4 GET push_owner_tokA)" = "android:tokA 3"
tt_check "Redis: a PC token is stored bare" test "$(rds -n 4 GET push_token_4)" = "pc-token"
tt_check "Redis: a cleared token leaves no token and no reverse key" \
    test "$(rds -n 4 GET push_token_5) $(rds -n 4 EXISTS push_owner_gone)" = " 0"
tt_check "Redis: user 34's registration survives user 35's token \"34\"" \
    test "$(rds -n 4 GET push_token_34) $(rds -n 4 GET push_owner_34)" = "ios:feedface34 35"
tt_check "Redis: the original key space is only read" \
    test "$(rds -n 4 GET device_11) $(rds -n 4 EXISTS device_1 device_34 device_def456)" = "ios:legacy11 0"

# ---- ttadm ----
t0=$(sql "SELECT UNIX_TIMESTAMP()")
tt_check "ttadm user add" \
    adm user add alice --nick Alice --dept 2 --password 'secret 1' --email alice@example.com
tt_check "ttadm says what it added" \
    grep -q 'user alice added (id 101, department 2)' "$TT_TMP/adm.out"
tt_check "the new password is stored as pbkdf2" \
    sql_is "SELECT LEFT(password, 14), salt, nick, departId FROM IMUser WHERE name = 'alice'" \
    'pbkdf2_sha256$		Alice	2'
it_check "alice logs in through db_proxy" adm1 "$P_DB" login alice 'secret 1' 0
it_check "clients' incremental sync sees alice" adm2 "$P_DB" sync "$t0" alice 0
rc=0; adm user add alice --password x || rc=$?
tt_check "a second alice is refused (exit 1)" test "$rc" = 1
tt_check "with a clear message" grep -q "a user named 'alice' exists already" "$TT_TMP/adm.last"
rc=0; adm user add bob --dept 999 || rc=$?
tt_check "an unknown department is refused" test "$rc" = 1
rc=0; adm user add 'abcdefghijklmnopqrstuvwxyz0123456789' || rc=$?
tt_check "a name over 32 characters is refused" test "$rc" = 1
tt_check "ttadm user disable" adm user disable alice
it_check "a disabled user cannot log in" adm3 "$P_DB" login alice 'secret 1' 1
it_check "and clients see the departure" adm4 "$P_DB" sync "$t0" alice 3
tt_check "ttadm user enable" adm user enable alice
it_check "an enabled user logs in again" adm5 "$P_DB" login alice 'secret 1' 0
tt_check "ttadm user passwd --password-stdin" passwd_stdin
it_check "the old password no longer works" adm6 "$P_DB" login alice 'secret 1' 1
it_check "the new one does" adm7 "$P_DB" login alice 'new pass' 0
rc=0; adm user passwd nobody --password x || rc=$?
tt_check "passwd of an unknown user: exit 1" test "$rc" = 1
tt_check "ttadm dept add" adm dept add Research --parent 1 --priority 9
tt_check "department added as id 6" grep -q 'department Research added (id 6)' "$TT_TMP/adm.out"
tt_check "ttadm dept rename" adm dept rename 6 'R&D'
tt_check "ttadm dept list shows it" dept_listed
tt_check "the department row" \
    sql_is "SELECT departName, parentId, priority FROM IMDepart WHERE id = 6" "R&D	1	9"
tt_check "ttadm user list shows alice" user_listed
rc=0; adm user frobnicate || rc=$?
tt_check "an unknown command: exit 1" test "$rc" = 1
rc=0; "$ADM_BIN" -c "$TT_TMP/missing.conf" user list >/dev/null 2>>"$TT_TMP/adm.err" || rc=$?
tt_check "a missing config: exit 1" test "$rc" = 1

# ---- MariaDB killed (SIGKILL through its pid file, Redis stays up), then restarted ----
my_pid=$(tr -dc 0-9 <"$STACK/run/mariadb.pid")
tt_check "MariaDB has a pid file" test -n "$my_pid"
kill -KILL "$my_pid"
my_gone() { ! ss -Htln "sport = :$P_MY" | grep -q .; }
for _ in $(seq 100); do my_gone && break; sleep 0.05; done
tt_check "MariaDB is gone" my_gone
it_check "with MariaDB killed, logins answered 2 at once" killed "$P_DB" dbkilled
stack_up same-ports || { tt_fail "MariaDB did not start again"; cat "$TT_TMP/stack.out"; }
it_check "MariaDB restarted: db_proxy_server works again without a restart" \
    killed_back "$P_DB" dbback

msg_users_add
# ---- Redis goes away: whether a first copy was answered cannot be known, so the batch
# resends are only acked; then MariaDB goes too, and both come back ----
rds SHUTDOWN NOSAVE >/dev/null 2>&1 || true
rd_gone() { ! ss -Htln "sport = :$P_RD" | grep -q .; }
for _ in $(seq 100); do rd_gone && break; sleep 0.05; done
tt_check "Redis is gone" rd_gone
it_check "with Redis down, resends are answered with their first ids, all marked" noredis \
    "$P_DB" batchnoredis
stack_down
it_check "with MariaDB and Redis down, error answers" down "$P_DB" dbdown
mkdir -p "$TT_LOG_DIR/db2" # its own log file
TT_LOG_DIR=$TT_LOG_DIR/db2 TZ=$(tz_at 2) \
    tt_start db_proxy_server2 "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db2.conf"
tt_check "a db_proxy_server started while they are down listens anyway" tt_wait_port "$P_DB2"
it_check "and answers errors" down2 "$P_DB2" dbdown
tt_check "it warned that MariaDB is unreachable" \
    grep -q 'teamtalk_master: cannot connect' "$TT_LOG_DIR/db2/db_proxy_server.log"
stack_up same-ports || { tt_fail "stack did not start again"; cat "$TT_TMP/stack.out"; }
it_check "the running db_proxy_server works again" back "$P_DB" dbback
it_check "so does the one started while they were down" back2 "$P_DB2" dbback
it_check "do-not-disturb: tokens answered outside the quiet hours" dnd "$P_DB" dnd
it_check "do-not-disturb: iOS and Android tokens silenced in the quiet hours" dndquiet \
    "$P_DB2" dndquiet
it_check "a full request queue pauses its reader instead of answering errors" queuefull \
    "$P_DB2" queuefull
tt_check "and says so in its log" grep -q 'reading from 1 peer(s) paused' \
    "$TT_LOG_DIR/db2/db_proxy_server.log"
it_check "a full login queue answers busy at once" flood "$P_DB2" flood
tt_check "and says so in its log" grep -q 'login queue full' "$TT_LOG_DIR/db2/db_proxy_server.log"

# ---- stop ----
"$IT" "$P_DB" stopwait >"$TT_TMP/it_stop.out" 2>"$TT_TMP/it_stop.err" &
waiter=$!
for _ in $(seq 100); do grep -q ready "$TT_TMP/it_stop.out" 2>/dev/null && break; sleep 0.05; done
rc=0; tt_stop "$TT_PID_db_proxy_server" || rc=$?
tt_check "db_proxy_server exits 0 on SIGTERM" test "$rc" = 0
rc=0; wait "$waiter" || rc=$?
tt_check "its peer was told IMStopReceivePacket" test "$rc" = 0
rc=0; tt_stop "$TT_PID_db_proxy_server2" || rc=$?
tt_check "the second one exits 0 too" test "$rc" = 0

tt_check_logs
if grep ' ERROR ' "$TT_LOG_DIR/db2/db_proxy_server.log"; then tt_fail "ERROR in the second log"; fi
tt_finish
