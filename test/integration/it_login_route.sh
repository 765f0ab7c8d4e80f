#!/usr/bin/env bash
# login_server and route_server on free loopback ports, driven by it_login_route (fake
# msg_servers over plain sockets, curl for /msg_server): msg_server registry and choice, the
# deprecated TCP port, presence across msg_servers, status queries, relays, abrupt drops.
# Then both stop cleanly on SIGTERM with no ERROR in their logs and no sanitizer report.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD

P_ROUTE=$(tt_free_port); P_HTTP=$(tt_free_port); P_LMS=$(tt_free_port); P_CLIENT=$(tt_free_port)
MSFS=http://127.0.0.1:8700/
DISCOVERY=http://127.0.0.1/api/discovery
printf 'ListenIP=127.0.0.1\nListenMsgPort=%s\nDaemonSecret=%s\n' "$P_ROUTE" "$TT_DAEMON_SECRET" \
    > "$TT_TMP/route.conf"
cat > "$TT_TMP/login.conf" <<CONF
ClientListenIP=127.0.0.1
ClientPort=$P_CLIENT
HttpListenIP=127.0.0.1
HttpPort=$P_HTTP
MsgServerListenIP=127.0.0.1
MsgServerPort=$P_LMS
msfs=$MSFS
discovery=$DISCOVERY
DaemonSecret=$TT_DAEMON_SECRET
CONF

tt_start route_server "$B/route_server/route_server" "$TT_TMP/route.conf"
tt_start login_server "$B/login_server/login_server" "$TT_TMP/login.conf"
for p in $P_ROUTE $P_HTTP $P_LMS $P_CLIENT; do
    tt_check "port $p listening" tt_wait_port "$p"
done

rc=0
"$B/test/it_login_route" login "$P_HTTP" "$P_LMS" "$P_CLIENT" "$MSFS" "$DISCOVERY" || rc=$?
tt_check "login_server: registry, choice and answers" test "$rc" = 0
rc=0
"$B/test/it_login_route" route "$P_ROUTE" || rc=$?
tt_check "route_server: presence, queries and relays" test "$rc" = 0

LOG=$TT_LOG_DIR
tt_check "login_server logged the registrations" grep -q "msg_server 'ms-b' registered" "$LOG/login_server.log"
tt_check "login_server logged the unregistrations" grep -q "msg_server 'ms-a' .* unregistered" "$LOG/login_server.log"
tt_check "login_server warned about the unparsable update" grep -q 'IMUserCntUpdate from .* does not parse' "$LOG/login_server.log"
tt_check "route_server logged the drop" grep -q 'msg_server .* gone' "$LOG/route_server.log"

for name in route_server login_server; do
    pid_var=TT_PID_$name
    tt_check "$name still running" tt_alive "${!pid_var}"
    rc=0; tt_stop "${!pid_var}" || rc=$?
    tt_check "$name exits 0 on SIGTERM" test "$rc" = 0
done
tt_check_logs
tt_finish
