#!/usr/bin/env bash
# Who gets a push (issue 12, msg_server side): the suite with both msg_servers pointed at a
# push_recorder.py (the push_server stand-in, DaemonSecret handshake included), a group of
# users 1..6 where user 5 shields the group, then it_push_ms: normal, silent and no pushes,
# alert text and custom data, badges of single + group unread, one request per group message
# over two msg_servers, and chat unaffected once the recorder is killed; then with route_server
# stopped and a new recorder, pushes as normal (nobody to ask who is where).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
P_PUSH=$(tt_free_port)
TT_MS_EXTRA="PushServerIP1=127.0.0.1
PushServerPort1=$P_PUSH
PushTimeout=3"
REC=$TT_TMP/pushes.jsonl
: > "$REC"
python3 "$(dirname "$0")/push_recorder.py" "$P_PUSH" "$REC" "$TT_DAEMON_SECRET" \
    2> "$TT_TMP/recorder.err" &
REC_PID=$!
TT_PIDS+=("$REC_PID")
tt_check "push recorder up" tt_wait_port "$P_PUSH"
tt_suite_start
tt_check "ttadm group add Push (users 1..6)" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" \
    group add Push --members 1,2,3,4,5,6 --creator TT001
GID=$(sql "SELECT id FROM IMGroup WHERE name = 'Push'")
tt_check "user 5 shields group $GID" \
    sql "UPDATE IMGroupMember SET shield = 1 WHERE groupId = $GID AND userId = 5"
for i in 1 2; do
    for _ in $(seq 50); do
        grep -q "push_server link .* up" "$TT_LOG_DIR"/ms$i/*.log 2>/dev/null && break
        sleep 0.1
    done
    tt_check "msg_server $i linked to the push recorder" \
        grep -q "push_server link .* up" "$TT_LOG_DIR"/ms$i/*.log
done
"$TT_BUILD/test/it_push_ms" "$P_MS1" "$P_MS2" "$REC" "$REC_PID" "$GID" || tt_fail "it_push_ms"
wait "$REC_PID" 2>/dev/null || true # killed by it_push_ms
tt_check "recorder saw no bad handshake" test ! -s "$TT_TMP/recorder.err"

# a new recorder on the same port (the links come back), then route_server stopped by
# it_push_ms (logins need it): pushes are normal
ups() { cat "$TT_LOG_DIR"/ms*/*.log | grep -c "push_server link .* up" || true; }
before=$(ups)
python3 "$(dirname "$0")/push_recorder.py" "$P_PUSH" "$REC" "$TT_DAEMON_SECRET" \
    2> "$TT_TMP/recorder2.err" &
REC_PID=$!
TT_PIDS+=("$REC_PID")
for _ in $(seq 300); do
    (( $(ups) >= before + 2 )) && break
    sleep 0.1
done
tt_check "both msg_servers linked to the new recorder" test "$(ups)" -ge $(( before + 2 ))
"$TT_BUILD/test/it_push_ms" "$P_MS1" "$P_MS2" "$REC" "$TT_PID_route_server" "$GID" \
    route-down || tt_fail "it_push_ms route-down"
rc=0; wait "$TT_PID_route_server" || rc=$?
tt_check "route_server exited 0 on SIGTERM" test "$rc" = 0
kill "$REC_PID" 2>/dev/null || true
wait "$REC_PID" 2>/dev/null || true
tt_suite_stop_all
# the counts at exit: msg_server 1 decided the 8 messages stored while a push_server was up (7
# requests sent, 2 silent tokens, user 4's connected phone skipped twice) and looked nothing up
# for the 11 stored while none was; msg_server 2 none (group messages are decided at the
# sender's msg_server only)
tt_check "msg_server 1 counted its pushes" grep -q \
    "push: 8 decisions, 7 requests with 8 tokens (2 silent), 2 not pushed for a connected mobile, dropped: 0 queue full, 0 late, 0 no db_proxy, 11 no push_server" \
    "$TT_LOG_DIR"/ms1/msg_server.log
tt_check "msg_server 2 decided nothing" grep -q "push: 0 decisions" "$TT_LOG_DIR"/ms2/msg_server.log
tt_finish
