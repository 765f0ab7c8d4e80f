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
"$TT_BUILD/test/it_prelogin" "$P_MS1" "$TT_PID_msg_server1" || tt_fail "it_prelogin"
tt_check "msg_server logs the connection cut over the total cap" \
    grep -q "(user 71) closed: buffers of all connections over 6291456 bytes" "$TT_LOG_DIR"/ms1/*.log
tt_suite_stop_all
tt_finish
