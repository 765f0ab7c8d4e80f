#!/usr/bin/env bash
# msg_server's MaxMsgInFlight: with a bound of 2, senders pipelining far more are read later,
# in turn, and nothing is lost (it_inflight.c). The whole suite, driven by it_inflight; then
# msg_server's log must say that clients were read later.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA="MaxMsgInFlight=2
MsgRateLimit=100000
MsgRateBurst=100000"
tt_suite_start
"$TT_BUILD/test/it_inflight" "$P_MS1" || tt_fail "it_inflight"
grep -q "MaxMsgInFlight): clients are read later" "$TT_LOG_DIR"/ms*/msg_server.log \
    || tt_fail "msg_server's log does not say that clients were read later"
tt_suite_stop_all
tt_finish
