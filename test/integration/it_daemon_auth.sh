#!/usr/bin/env bash
# Only daemons talk to daemons. The whole suite with a DaemonSecret, driven by it_daemon_auth:
# strangers and a wrong secret are refused (closed, counted) on login_server's msg_server port,
# route_server and db_proxy_server, the right secret works, a 200k-entry IMOnlineUserInfo does
# not stall route_server. Then daemons without a secret: every daemon-only port listens on
# 127.0.0.1 only whatever ListenIP says, with a warning, and links still work without the
# handshake.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
IT=$TT_BUILD/test/it_daemon_auth
tt_suite_start

"$IT" login "$P_LMS" "$P_LHTTP" "$P_MS1" "$P_MS2" || tt_fail "it_daemon_auth login"
"$IT" route "$P_ROUTE" "$P_MS1" || tt_fail "it_daemon_auth route"
"$IT" db "$P_DB" || tt_fail "it_daemon_auth db"
LOG=$TT_LOG_DIR
tt_check "login_server registered the right secret's msg_server" \
    grep -q "msg_server 'good-fake' registered" "$LOG/login_server.log"
tt_check "and never the others" bash -c "! grep -q \"msg_server 'evil\" '$LOG/login_server.log'"
tt_check "login_server logged the refused peers" \
    grep -q 'daemon authentication failed for .*before authenticating' "$LOG/login_server.log"
tt_check "and the wrong secret" grep -q 'daemon authentication failed for .*wrong proof' \
    "$LOG/login_server.log"
tt_check "route_server logged the 200k-entry frame's refused entries" \
    grep -q 'IMOnlineUserInfo from .* entries refused' "$LOG/route_server.log"
tt_suite_stop_all
# every refused peer was counted: login 2, route 6 (3 strangers, 3 wrong), db 2
tt_check "login_server counted 2 failures" \
    grep -q 'daemon authentication: 2 failure(s) since start' "$LOG/login_server.log"
tt_check "route_server counted 6 failures" \
    grep -q 'daemon authentication: 6 failure(s) since start' "$LOG/route_server.log"
tt_check "db_proxy_server counted 2 failures" \
    grep -q 'daemon authentication: 2 failure(s) since start' "$LOG/db_proxy_server.log"
tt_check "the msg_servers had no failure" \
    bash -c "! grep -q 'daemon authentication' '$LOG'/ms*/*.log"

# ---- no secret: loopback only ----
mkdir -p "$LOG/open"
export TT_LOG_DIR=$LOG/open
O_DB=$(tt_free_port); O_ROUTE=$(tt_free_port); O_LHTTP=$(tt_free_port); O_LMS=$(tt_free_port)
O_FC=$(tt_free_port); O_FM=$(tt_free_port); O_PUSH=$(tt_free_port); O_MS=$(tt_free_port)
sed -e "s/^ListenIP=.*/ListenIP=0.0.0.0/" -e "s/^ListenPort=.*/ListenPort=$O_DB/" \
    -e "/^DaemonSecret=/d" "$TT_TMP/db.conf" > "$TT_TMP/open-db.conf"
printf 'ListenIP=0.0.0.0\nListenMsgPort=%s\n' "$O_ROUTE" > "$TT_TMP/open-route.conf"
printf 'HttpListenIP=127.0.0.1\nHttpPort=%s\nMsgServerListenIP=0.0.0.0;127.0.0.1\nMsgServerPort=%s\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\n' \
    "$O_LHTTP" "$O_LMS" > "$TT_TMP/open-login.conf"
sed -e "s/^ClientListenIP=.*/ClientListenIP=127.0.0.1/" -e "s/^ClientListenPort=.*/ClientListenPort=$O_FC/" \
    -e "s/^MsgServerListenIP=.*/MsgServerListenIP=0.0.0.0/" -e "s/^MsgServerListenPort=.*/MsgServerListenPort=$O_FM/" \
    "$TT_SRC/conf/fileserver.conf" > "$TT_TMP/open-file.conf"
sed -e "s/^ListenIP=.*/ListenIP=0.0.0.0/" -e "s/^ListenPort=.*/ListenPort=$O_PUSH/" \
    -e "s/^DBServerPort1=.*/DBServerPort1=$O_DB/" \
    "$TT_SRC/conf/pushserver.conf" > "$TT_TMP/open-push.conf"
sed -e "s/^ListenPort=.*/ListenPort=$O_MS/" -e "s/^DBServerPort1=.*/DBServerPort1=$O_DB/" \
    -e "s/^LoginServerPort1=.*/LoginServerPort1=$O_LMS/" -e "s/^RouteServerPort1=.*/RouteServerPort1=$O_ROUTE/" \
    -e "/^DaemonSecret=/d" "$TT_TMP/msg1.conf" > "$TT_TMP/open-msg.conf"
tt_start open_db "$TT_BUILD/db_proxy_server/db_proxy_server" "$TT_TMP/open-db.conf"
tt_start open_route "$TT_BUILD/route_server/route_server" "$TT_TMP/open-route.conf"
tt_start open_login "$TT_BUILD/login_server/login_server" "$TT_TMP/open-login.conf"
tt_start open_file "$TT_BUILD/file_server/file_server" "$TT_TMP/open-file.conf"
tt_start open_push "$TT_BUILD/push_server/push_server" "$TT_TMP/open-push.conf"
for p in $O_DB $O_ROUTE $O_LMS $O_FM $O_PUSH; do
    tt_check "port $p listening" tt_wait_port "$p"
    tt_check "port $p on 127.0.0.1 only" \
        test "$(ss -Htln "sport = :$p" | awk '{print $4}' | sort -u)" = "127.0.0.1:$p"
done
tt_check "file_server's client port is not affected" tt_wait_port "$O_FC"
TT_LOG_DIR=$LOG/open tt_start open_msg "$TT_BUILD/msg_server/msg_server" "$TT_TMP/open-msg.conf"
tt_check "msg_server up" tt_wait_port "$O_MS"
registered=0
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$O_LHTTP/msg_server" | grep -q "\"port\":\"$O_MS\"" && { registered=1; break; }
    sleep 0.1
done
tt_check "without a secret on either side a msg_server registers (no handshake)" test "$registered" = 1
for n in db_proxy_server route_server login_server file_server push_server; do
    tt_check "$n warns that no secret is set" grep -q 'no DaemonSecret set' "$LOG/open/$n.log"
done
tt_check "msg_server warns that its links are not authenticated" \
    grep -q 'no DaemonSecret set' "$LOG/open/msg_server.log"
for n in open_msg open_login open_route open_file open_push open_db; do
    v=TT_PID_$n
    rc=0; tt_stop "${!v}" || rc=$?
    tt_check "$n exits 0 on SIGTERM" test "$rc" = 0
done
TT_LOG_DIR=$LOG/open tt_check_logs
tt_finish
