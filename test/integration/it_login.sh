#!/usr/bin/env bash
# Issue "log in and see your company", end to end: MariaDB, Redis, db_proxy_server,
# route_server, login_server and two msg_servers on free loopback ports, driven by it_login
# (a C client on the client library). Also kills db_proxy_server and starts it again.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD

P_MY=$(tt_free_port); P_RD=$(tt_free_port); P_DB=$(tt_free_port); P_ROUTE=$(tt_free_port)
P_LHTTP=$(tt_free_port); P_LMS=$(tt_free_port); P_MS1=$(tt_free_port); P_MS2=$(tt_free_port)

"$TT_SRC/scripts/stack.sh" start-db --dir "$TT_TMP/stack" --mysql-port "$P_MY" --redis-port "$P_RD" \
    >"$TT_TMP/stack.out" 2>&1 || { cat "$TT_TMP/stack.out"; tt_fail "stack did not start"; tt_finish; }
stack_down() { "$TT_SRC/scripts/stack.sh" stop-db --dir "$TT_TMP/stack" >/dev/null 2>&1 || true; }
trap 'stack_down; tt_cleanup' EXIT
sql() { mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk -pteamtalk teamtalk -N -e "$1"; }
# TT099 has left the company; everybody's profile is a little older than now.
sql "UPDATE IMUser SET status=3 WHERE name='TT099'; UPDATE IMUser SET updated=updated-100;
     UPDATE IMDepart SET updated=updated-100"

sed -e "s/^ListenPort=.*/ListenPort=$P_DB/" -e "s/^ThreadNum=.*/ThreadNum=4/" \
    -e "s/^teamtalk_\(master\|slave\)_port=.*/teamtalk_\1_port=$P_MY/" \
    -e "s/^\([a-z_]*\)_port=6379/\1_port=$P_RD/" \
    "$TT_SRC/conf/dbproxyserver.conf" > "$TT_TMP/db.conf"
printf 'ListenIP=127.0.0.1\nListenMsgPort=%s\n' "$P_ROUTE" > "$TT_TMP/route.conf"
printf 'HttpListenIP=127.0.0.1\nHttpPort=%s\nMsgServerListenIP=127.0.0.1\nMsgServerPort=%s\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\n' \
    "$P_LHTTP" "$P_LMS" > "$TT_TMP/login.conf"
for i in 1 2; do
    port_var=P_MS$i
    cat > "$TT_TMP/msg$i.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=${!port_var}
IpAddr1=127.0.0.1
MaxConnCnt=1000
aesKey=12345678901234567890123456789012
ConcurrentDBConnCnt=2
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
LoginServerIP1=127.0.0.1
LoginServerPort1=$P_LMS
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
LoginTimeout=3
ClientTimeoutPc=3
UpstreamReconnectMs=200
CONF
done

tt_start db_proxy_server "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
tt_start route_server "$B/route_server/route_server" "$TT_TMP/route.conf"
tt_start login_server "$B/login_server/login_server" "$TT_TMP/login.conf"
tt_check "db_proxy_server up" tt_wait_port "$P_DB"
tt_check "route_server up" tt_wait_port "$P_ROUTE"
tt_check "login_server up" tt_wait_port "$P_LHTTP"
# two msg_servers share one log file name: give each its own log directory
for i in 1 2; do
    mkdir -p "$TT_LOG_DIR/ms$i"
    port_var=P_MS$i
    TT_LOG_DIR=$TT_LOG_DIR/ms$i tt_start msg_server$i "$B/msg_server/msg_server" "$TT_TMP/msg$i.conf"
    tt_check "msg_server $i up" tt_wait_port "${!port_var}"
done
sleep 0.5 # links up, registered with login_server

IT=$B/test/it_login
"$IT" main "http://127.0.0.1:$P_LHTTP/msg_server" "$P_MS1" "$P_MS2" || tt_fail "it_login main"
tt_check "the legacy password of TT001 was upgraded" \
    test "$(sql "SELECT LEFT(password, 14) FROM IMUser WHERE name='TT001'")" = 'pbkdf2_sha256$'

kill -KILL "$TT_PID_db_proxy_server"   # killed, not stopped
wait "$TT_PID_db_proxy_server" 2>/dev/null || true
sleep 0.5
"$IT" dbdown "$P_MS1" || tt_fail "it_login dbdown"
tt_start db_proxy_server2 "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
tt_check "db_proxy_server up again" tt_wait_port "$P_DB"
"$IT" dbback "$P_MS1" || tt_fail "it_login dbback"

for name in msg_server1 msg_server2 login_server route_server db_proxy_server2; do
    pid_var=TT_PID_$name
    rc=0; tt_stop "${!pid_var}" || rc=$?
    tt_check "$name exits 0 on SIGTERM" test "$rc" = 0
done
# Expected ERROR lines: none. Warnings about the killed db_proxy are warnings.
tt_check_logs
for f in "$TT_LOG_DIR"/ms*/*.log; do
    if grep -q ' ERROR ' "$f"; then tt_fail "ERROR in $f"; grep ' ERROR ' "$f" | head -5; fi
done
tt_finish
