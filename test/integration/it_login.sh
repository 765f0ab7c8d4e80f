#!/usr/bin/env bash
# Issue "log in and see your company", end to end: MariaDB, Redis, db_proxy_server,
# route_server, login_server and two msg_servers on free loopback ports, driven by it_login
# (a C client on the client library). Also kills db_proxy_server and starts it again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA=$'LoginTimeout=3\nClientTimeoutPc=3'
tt_suite_start
# TT099 has left the company; everybody's profile is a little older than now.
sql "UPDATE IMUser SET status=3 WHERE name='TT099'; UPDATE IMUser SET updated=updated-100;
     UPDATE IMDepart SET updated=updated-100"

IT=$TT_BUILD/test/it_login
"$IT" main "http://127.0.0.1:$P_LHTTP/msg_server" "$P_MS1" "$P_MS2" || tt_fail "it_login main"
tt_check "the legacy password of TT001 was upgraded" \
    test "$(sql "SELECT LEFT(password, 14) FROM IMUser WHERE name='TT001'")" = 'pbkdf2_sha256$'

kill -KILL "$TT_DB_PID"   # killed, not stopped
wait "$TT_DB_PID" 2>/dev/null || true
sleep 0.5
"$IT" dbdown "$P_MS1" || tt_fail "it_login dbdown"
tt_suite_db_start
"$IT" dbback "$P_MS1" || tt_fail "it_login dbback"
tt_suite_stop_all
tt_finish
