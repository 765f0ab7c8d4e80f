#!/usr/bin/env bash
# Mobile push end to end (issue 12): clients on the wire, two msg_servers, route_server,
# db_proxy_server and the real push_server with a test .p8 key and FCM service account, APNs,
# FCM and the OAuth token endpoint played by h2_stand.py over TLS. it_push_e2e (phases setup,
# main, down, resume) sends and waits for the stand-in; push_e2e_check.py then checks every
# request it got. Offline iOS and Android devices pushed once per message, a PC-online user
# silently, a member shielding the group never; a group message over both msg_servers once per
# device; tokens answered 410 / UNREGISTERED gone from Redis and never pushed again;
# push_server SIGKILLed: chat acked and delivered as usual; restarted: pushes again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
source "$(dirname "$0")/push_lib.sh"
P_H2=$(tt_free_port); P_PUSH=$(tt_free_port)
TT_MS_EXTRA="PushServerIP1=127.0.0.1
PushServerPort1=$P_PUSH
PushTimeout=3"
tt_suite_start
D=$TT_TMP/push
mkdir -p "$D"
tt_push_creds "$D" "https://127.0.0.1:$P_H2/token"
T7=$(for i in $(seq 0 63); do printf '%x' $(( (7 * 5 + i) % 16 )); done)
echo "{\"$T7\": [410], \"fcm-gone-eight\": [404]}" > "$D/script.json"
tt_push_stand "$P_H2" "$D"
cat > "$D/push.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_PUSH
SandBox=1
DaemonSecret=$TT_DAEMON_SECRET
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
ApnsKeyFile=apns.p8
ApnsKeyId=KEYID12345
ApnsTeamId=TEAMID6789
ApnsTopic=com.example.tt
ApnsUrl=https://127.0.0.1:$P_H2
FcmServiceAccount=sa.json
FcmUrl=https://127.0.0.1:$P_H2
CaFile=tls.crt
CONF
# both msg_servers' push links up (counted over their logs, so a restart can wait for more)
ups() { cat "$TT_LOG_DIR"/ms*/*.log | grep -c "push_server link .* up" || true; }
wait_ups() {
    local deadline=$(( SECONDS + 20 ))
    while (( $(ups) < $1 && SECONDS < deadline )); do sleep 0.1; done
    (( $(ups) >= $1 ))
}
mkdir -p "$TT_LOG_DIR/ps1" "$TT_LOG_DIR/ps2"
TT_LOG_DIR=$TT_LOG_DIR/ps1 tt_start push_server "$TT_BUILD/push_server/push_server" "$D/push.conf"
tt_check "push_server up" tt_wait_port "$P_PUSH"
tt_check "both msg_servers linked to push_server" wait_ups 2

tt_check "ttadm group add Push (users 1..6)" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" \
    group add Push --members 1,2,3,4,5,6 --creator TT001 >/dev/null
GID=$(sql "SELECT id FROM IMGroup WHERE name = 'Push'")
tt_check "user 5 shields group $GID" \
    sql "UPDATE IMGroupMember SET shield = 1 WHERE groupId = $GID AND userId = 5"

E2E=("$TT_BUILD/test/it_push_e2e" "$P_MS1" "$P_MS2" "$D/h2.log" "$P_RD" "$GID")
"${E2E[@]}" setup || tt_fail "it_push_e2e setup"
"${E2E[@]}" main || tt_fail "it_push_e2e main"

before=$(ups)
kill -KILL "$TT_PID_push_server"
wait "$TT_PID_push_server" 2>/dev/null || true
"${E2E[@]}" down || tt_fail "it_push_e2e down (push_server killed)"

TT_LOG_DIR=$TT_LOG_DIR/ps2 tt_start push_server2 "$TT_BUILD/push_server/push_server" "$D/push.conf"
tt_check "push_server restarted" tt_wait_port "$P_PUSH"
tt_check "both msg_servers linked to it again" wait_ups $(( before + 2 ))
"${E2E[@]}" resume || tt_fail "it_push_e2e resume"

tt_check "every request at the stand-in well-formed and as expected (push_e2e_check.py)" \
    $PY "$TT_SRC/test/integration/push_e2e_check.py" "$D/h2.log" "$D/apns.pub" "$GID"
tt_check "push_server stops cleanly" tt_stop "$TT_PID_push_server2"
tt_check "push_server logged no ERROR" sh -c '! grep -h " ERROR " "$@"' - "$TT_LOG_DIR"/ps*/*.log
tt_suite_stop_all
# the counts at exit: msg_server 1 (the sender's) decided the 11 messages stored while a
# push_server was up: 9 requests with 11 tokens (2 silent); the 11 stored while push_server was
# dead were not pushed and not looked up (nor queued for later);
# msg_server 2 none (a group message is decided at the sender's msg_server only)
tt_check "msg_server 1 counted its pushes" grep -q \
    "push: 11 decisions, 9 requests with 11 tokens (2 silent), .* 11 no push_server; 9 answers" \
    "$TT_LOG_DIR"/ms1/msg_server.log
tt_check "msg_server 2 decided nothing" grep -q "push: 0 decisions" "$TT_LOG_DIR"/ms2/msg_server.log
tt_finish
