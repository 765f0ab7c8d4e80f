#!/usr/bin/env bash
# One-to-one chat end to end: the whole suite with two msg_servers, driven by it_chat.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA=$'MsgRateLimit=2000'
tt_suite_start
"$TT_BUILD/test/it_chat" main "$P_MS1" "$P_MS2" || tt_fail "it_chat main"
# Lose every message-id counter (tt_msg_counter, and the conversations' rows back to what they
# were before migration 009) and all of Redis, and age the resend keys past the window:
# ids must go on from the stored messages, and an old resend is a new message.
sql "DELETE FROM tt_msg_counter; UPDATE tt_msg_dedupe SET created = created - 100000;
     UPDATE tt_pair_lock SET relateId = 0, lastMsgId = 0, sessTime = 0, sessWas = 0, sessLo = 0, sessHi = 0"
redis-cli -p "$P_RD" FLUSHALL >/dev/null
"$TT_BUILD/test/it_chat" after "$P_MS1" || tt_fail "it_chat after"
tt_check "the voice bytes are in tt_audio_blob, IMAudio has size and duration" \
    test "$(sql "SELECT COUNT(*), MIN(a.size), MIN(a.duration), MIN(a.path) FROM IMAudio a
                JOIN tt_audio_blob b ON b.audioId = a.id AND LENGTH(b.data) = a.size")" = "1	3000	7	"
tt_check "every message row is stored once" \
    test "$(sql "SELECT COUNT(*) - COUNT(DISTINCT relateId, msgId) FROM (
        SELECT relateId, msgId FROM IMMessage_0 UNION ALL SELECT relateId, msgId FROM IMMessage_1
        UNION ALL SELECT relateId, msgId FROM IMMessage_2 UNION ALL SELECT relateId, msgId FROM IMMessage_3
        UNION ALL SELECT relateId, msgId FROM IMMessage_4 UNION ALL SELECT relateId, msgId FROM IMMessage_5
        UNION ALL SELECT relateId, msgId FROM IMMessage_6 UNION ALL SELECT relateId, msgId FROM IMMessage_7) t")" = 0
tt_suite_stop_all
tt_finish
