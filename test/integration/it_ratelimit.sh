#!/usr/bin/env bash
# msg_server's per-connection message rate limit: a sender far over it is read later, not
# dropped (the original dropped silently above 20/s). The whole suite, driven by it_ratelimit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
RATE=50
BURST=10
TT_MS_EXTRA="MsgRateLimit=$RATE
MsgRateBurst=$BURST"
tt_suite_start
"$TT_BUILD/test/it_ratelimit" "$P_MS1" "$RATE" "$BURST" || tt_fail "it_ratelimit"
tt_suite_stop_all
tt_finish
