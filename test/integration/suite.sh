# The whole suite on free loopback ports, for end-to-end tests (sourced after lib.sh):
# MariaDB and Redis (scripts/stack.sh), db_proxy_server, route_server, login_server and two
# msg_servers. After tt_suite_start: P_MY P_RD P_DB P_ROUTE P_LHTTP P_LMS P_MS1 P_MS2, and
# the functions sql (runs SQL as teamtalk), tt_suite_db_start / tt_suite_stop_all.
# Extra msg_server config lines can be given in $TT_MS_EXTRA (one per line), db_proxy_server
# ones in $TT_DB_EXTRA; $TT_MS_MAX_CONN is each msg_server's MaxConnCnt (default 1000).

P_MY=$(tt_free_port); P_RD=$(tt_free_port); P_DB=$(tt_free_port); P_ROUTE=$(tt_free_port)
P_LHTTP=$(tt_free_port); P_LMS=$(tt_free_port); P_MS1=$(tt_free_port); P_MS2=$(tt_free_port)
TT_SUITE_DB_N=0

sql() { mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk -pteamtalk teamtalk -N -e "$1"; }
stack_down() { "$TT_SRC/scripts/stack.sh" stop-db --dir "$TT_TMP/stack" >/dev/null 2>&1 || true; }

# Starts (another) db_proxy_server; its pid is in $TT_DB_PID.
tt_suite_db_start() {
    TT_SUITE_DB_N=$((TT_SUITE_DB_N + 1))
    tt_start "db_proxy_server$TT_SUITE_DB_N" "$TT_BUILD/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
    local v=TT_PID_db_proxy_server$TT_SUITE_DB_N
    TT_DB_PID=${!v}
    tt_check "db_proxy_server up" tt_wait_port "$P_DB"
}

tt_suite_start() {
    # A "free" port can still be taken by the time a server binds it (another test's
    # connection): a stack that does not come up is tried again on other ports.
    local try
    for try in 1 2 3; do
        "$TT_SRC/scripts/stack.sh" start-db --dir "$TT_TMP/stack" --mysql-port "$P_MY" \
            --redis-port "$P_RD" >>"$TT_TMP/stack.out" 2>&1 && break
        stack_down
        [ "$try" = 3 ] && { cat "$TT_TMP/stack.out"; tt_fail "stack did not start"; tt_finish; }
        P_MY=$(tt_free_port); P_RD=$(tt_free_port)
        sleep 1
    done
    trap 'stack_down; tt_cleanup' EXIT
    sed -e "s/^ListenPort=.*/ListenPort=$P_DB/" -e "s/^ThreadNum=.*/ThreadNum=4/" \
        -e "s/^teamtalk_\(master\|slave\)_port=.*/teamtalk_\1_port=$P_MY/" \
        -e "s/^\([a-z_]*\)_port=6379/\1_port=$P_RD/" \
        "$TT_SRC/conf/dbproxyserver.conf" > "$TT_TMP/db.conf"
    echo "DaemonSecret=$TT_DAEMON_SECRET" >> "$TT_TMP/db.conf"
    [ -z "${TT_DB_EXTRA:-}" ] || printf '%s\n' "$TT_DB_EXTRA" >> "$TT_TMP/db.conf"
    printf 'ListenIP=127.0.0.1\nListenMsgPort=%s\nDaemonSecret=%s\n' "$P_ROUTE" "$TT_DAEMON_SECRET" \
        > "$TT_TMP/route.conf"
    printf 'HttpListenIP=127.0.0.1\nHttpPort=%s\nMsgServerListenIP=127.0.0.1\nMsgServerPort=%s\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\nDaemonSecret=%s\n' \
        "$P_LHTTP" "$P_LMS" "$TT_DAEMON_SECRET" > "$TT_TMP/login.conf"
    local i port_var
    for i in 1 2; do
        port_var=P_MS$i
        cat > "$TT_TMP/msg$i.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=${!port_var}
IpAddr1=127.0.0.1
MaxConnCnt=${TT_MS_MAX_CONN:-1000}
aesKey=12345678901234567890123456789012
ConcurrentDBConnCnt=2
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
LoginServerIP1=127.0.0.1
LoginServerPort1=$P_LMS
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
UpstreamReconnectMs=200
DaemonSecret=$TT_DAEMON_SECRET
${TT_MS_EXTRA:-}
CONF
    done
    tt_suite_db_start
    tt_start route_server "$TT_BUILD/route_server/route_server" "$TT_TMP/route.conf"
    tt_start login_server "$TT_BUILD/login_server/login_server" "$TT_TMP/login.conf"
    tt_check "route_server up" tt_wait_port "$P_ROUTE"
    tt_check "login_server up" tt_wait_port "$P_LHTTP"
    # two msg_servers would share one log file name: each gets its own log directory
    for i in 1 2; do
        mkdir -p "$TT_LOG_DIR/ms$i"
        port_var=P_MS$i
        TT_LOG_DIR=$TT_LOG_DIR/ms$i tt_start "msg_server$i" "$TT_BUILD/msg_server/msg_server" \
            "$TT_TMP/msg$i.conf"
        tt_check "msg_server $i up" tt_wait_port "${!port_var}"
    done
    # both registered with login_server
    for _ in $(seq 50); do
        [ "$(curl -s "http://127.0.0.1:$P_LHTTP/msg_server" | grep -c '"code":0')" = 1 ] && break
        sleep 0.1
    done
}

# SIGTERM everything still running, expecting exit 0; then the log checks.
tt_suite_stop_all() {
    local name rc
    for name in msg_server1 msg_server2 login_server route_server; do
        local v=TT_PID_$name
        rc=0; tt_stop "${!v}" || rc=$?
        tt_check "$name exits 0 on SIGTERM" test "$rc" = 0
    done
    if tt_alive "$TT_DB_PID"; then
        rc=0; tt_stop "$TT_DB_PID" || rc=$?
        tt_check "db_proxy_server exits 0 on SIGTERM" test "$rc" = 0
    fi
    tt_check_logs "${1:-^$}"
    local f
    for f in "$TT_LOG_DIR"/ms*/*.log; do
        if grep ' ERROR ' "$f" | grep -Ev "${1:-^$}" | grep -q .; then
            tt_fail "ERROR in $f"; grep ' ERROR ' "$f" | head -5
        fi
    done
}
