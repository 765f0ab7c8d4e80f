#!/usr/bin/env bash
# msg_server's memory stays bounded before and after login: small buffers before login (only
# the login request and heartbeats are taken) and a total cap on all connections' buffers
# (MaxConnBuffersMB), over which the biggest non-reading connection is cut. The whole suite,
# driven by it_prelogin.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
# A sanitizer build keeps freed memory in quarantine (256 MiB by default), which would show
# as RSS: keep it small so that RSS measures what is held.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
TT_MS_EXTRA="MaxConnBuffersMB=6
MsgRateLimit=1000
MsgRateBurst=1000"
tt_suite_start
# The keys are checked like the others (-t), in every daemon.
bad_conf() { # bad_conf BINARY CONF KEY=VALUE: -t must refuse it
    grep -v "^${3%%=*}=" "$2" > "$TT_TMP/bad.conf"; echo "$3" >> "$TT_TMP/bad.conf"
    ! "$1" -t -c "$TT_TMP/bad.conf" -l "$TT_SRC/conf/log4crc" >/dev/null 2>&1
}
tt_check "msg_server -t refuses MaxConnBuffersMB=0" \
    bad_conf "$TT_BUILD/msg_server/msg_server" "$TT_TMP/msg1.conf" MaxConnBuffersMB=0
tt_check "msg_server -t refuses PreLoginBuffer=100" \
    bad_conf "$TT_BUILD/msg_server/msg_server" "$TT_TMP/msg1.conf" PreLoginBuffer=100
tt_check "route_server -t refuses MaxConnBuffersMB=lots" \
    bad_conf "$TT_BUILD/route_server/route_server" "$TT_TMP/route.conf" MaxConnBuffersMB=lots
tt_check "route_server -t takes MaxConnBuffersMB=64" \
    "$TT_BUILD/route_server/route_server" -t -c <(cat "$TT_TMP/route.conf"; echo MaxConnBuffersMB=64) \
    -l "$TT_SRC/conf/log4crc"
"$TT_BUILD/test/it_prelogin" "$P_MS1" "$TT_PID_msg_server1" || tt_fail "it_prelogin"
tt_check "msg_server logs the connection cut over the total cap" \
    grep -q "(user 71) closed: buffers of all connections over 6291456 bytes" "$TT_LOG_DIR"/ms1/*.log
tt_suite_stop_all
tt_finish
