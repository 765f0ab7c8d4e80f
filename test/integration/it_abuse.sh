#!/usr/bin/env bash
# Abuse limits a person never notices, end to end: the whole suite (two msg_servers behind one
# route_server), driven by it_abuse.
#  1. P2P flood (4 MiB, then many small commands) from a client: other people's messages across
#     msg_servers are still delivered live and route_server keeps its links; then the same with
#     msg_server 1 restarted without its own P2P limits, so that route_server alone defends.
#  2. Voice and text size caps (checked in MariaDB too) and the voice rate.
#  3. 40 MiB of junk frames (and garbage connections) on each port (login_server's HTTP port
#     too) grow each daemon's log by less than 100 KiB.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
IT=$TT_BUILD/test/it_abuse
tt_suite_start

links_up() { # no route_server link went down, route_server lost no msg_server
    ! grep -h 'route_server link .* down' "$TT_LOG_DIR"/ms*/msg_server.log &&
        ! grep -h 'gone' "$TT_LOG_DIR/route_server.log"
}

"$IT" p2p "$P_MS1" "$P_MS2" 70 || tt_fail "it_abuse p2p"
tt_check "route_server kept its links to both msg_servers" links_up
tt_check "msg_server counted the dropped P2P commands" \
    grep -q 'P2P command.*dropped' "$TT_LOG_DIR/ms1/msg_server.log"

# msg_server 1 without P2P limits of its own (an old or misconfigured one): route_server's
# second line must keep the other msg_server's link up.
rc=0; tt_stop "$TT_PID_msg_server1" || rc=$?
tt_check "msg_server 1 exits 0 on SIGTERM" test "$rc" = 0
printf 'MaxP2pCommand=67108864\nP2pRateLimit=1000000\nP2pRateBurst=1000000\n' >> "$TT_TMP/msg1.conf"
sleep 0.5
before_gone=$(grep -c 'gone' "$TT_LOG_DIR/route_server.log" || true)
TT_LOG_DIR=$TT_LOG_DIR/ms1 tt_start msg_server1 "$TT_BUILD/msg_server/msg_server" "$TT_TMP/msg1.conf"
tt_check "msg_server 1 up again" tt_wait_port "$P_MS1"
for _ in $(seq 100); do
    [ "$(grep -c 'route_server link .* up' "$TT_LOG_DIR/ms1/msg_server.log")" -ge 2 ] && break
    sleep 0.1
done
"$IT" p2p "$P_MS1" "$P_MS2" 90 route-only || tt_fail "it_abuse p2p without msg_server limits"
tt_check "route_server kept its link to msg_server 2" \
    test "$(grep -c 'gone' "$TT_LOG_DIR/route_server.log" || true)" = "$before_gone"
tt_check "msg_server 2 kept its route_server link" \
    bash -c "! grep -q 'route_server link .* down' '$TT_LOG_DIR/ms2/msg_server.log'"
tt_check "route_server counted the dropped P2P commands" \
    grep -q 'P2P command.*\(dropped\|not queued\)' "$TT_LOG_DIR/route_server.log"

"$IT" voice "$P_MS1" || tt_fail "it_abuse voice"
tt_check "only the normal voice messages are in MariaDB (1 of 180000 bytes, 14 of 2000)" \
    test "$(sql "SELECT COUNT(*), SUM(LENGTH(data)) FROM tt_audio_blob")" = "15	208000"
tt_check "no message row holds the over-size text" \
    test "$(sql "SELECT COUNT(*) FROM (SELECT content FROM IMMessage_0 UNION ALL SELECT content FROM IMMessage_1
        UNION ALL SELECT content FROM IMMessage_2 UNION ALL SELECT content FROM IMMessage_3
        UNION ALL SELECT content FROM IMMessage_4 UNION ALL SELECT content FROM IMMessage_5
        UNION ALL SELECT content FROM IMMessage_6 UNION ALL SELECT content FROM IMMessage_7) t
        WHERE LENGTH(content) > 8192")" = 0

# junk: each daemon's log grows by less than 100 KiB
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
junk() { # junk NAME LOG PORT [USER]
    local name=$1 log=$2 port=$3 b a
    b=$(size "$log")
    "$IT" junk "$port" 40 ${4:-} || tt_fail "it_abuse junk $name"
    sleep 1
    a=$(size "$log")
    tt_check "40 MiB of junk grew the $name log by $(( (a - b) / 1024 )) KiB (< 100 KiB)" \
        test $(( a - b )) -lt 102400
}
junk msg_server "$TT_LOG_DIR/ms2/msg_server.log" "$P_MS2" TT099
junk route_server "$TT_LOG_DIR/route_server.log" "$P_ROUTE"
junk db_proxy_server "$TT_LOG_DIR/db_proxy_server.log" "$P_DB"
junk login_server "$TT_LOG_DIR/login_server.log" "$P_LMS"
junk "login_server (HTTP)" "$TT_LOG_DIR/login_server.log" "$P_LHTTP"
tt_suite_stop_all
tt_finish
