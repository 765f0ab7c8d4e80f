#!/usr/bin/env bash
# A repeated message is a new message (issue 8 §1), a message to a user id that does not exist
# is not stored, and text that is not UTF-8 is stored byte for byte (§6): the whole suite with
# two msg_servers, driven by it_resend; MariaDB, Redis and the logs checked here; then the
# resend keys are aged past ResendWindowSeconds and a resend is a new message again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA=$'MsgRateLimit=2000'
tt_suite_start
"$TT_BUILD/test/it_resend" main "$P_MS1" "$P_MS2" || tt_fail "it_resend main"
msgs() { # msgs "WHERE ...": the message rows of all shards that match
    local q="" n
    for n in 0 1 2 3 4 5 6 7; do
        q="$q${q:+ UNION ALL }SELECT fromId, toId, msgId, content FROM IMMessage_$n $1"
    done
    sql "SELECT COUNT(*) FROM ($q) t"
}
tt_check "three copies of each repeated text stored (TT020 -> TT021, TT022), two to TT029" \
    test "$(msgs "WHERE fromId = 20 AND toId IN (21, 22, 29)")" = 8
tt_check "the Windows resend stored once: two messages TT024 -> TT023" \
    test "$(msgs "WHERE fromId = 24 AND toId = 23")" = 2
tt_check "TT023 counts two unread from TT024" \
    test "$(redis-cli -p "$P_RD" -n 1 HGET unread_23 24)" = 2
tt_check "no message row for user 99999" test "$(msgs "WHERE toId = 99999")" = 0
tt_check "no relation row for user 99999" \
    test "$(sql "SELECT COUNT(*) FROM IMRelationShip WHERE smallId = 99999 OR bigId = 99999")" = 0
tt_check "no recent-session row for user 99999" \
    test "$(sql "SELECT COUNT(*) FROM IMRecentSession WHERE userId = 99999 OR peerId = 99999")" = 0
tt_check "no pair lock row for user 99999" \
    test "$(sql "SELECT COUNT(*) FROM tt_pair_lock WHERE smallId = 99999 OR bigId = 99999")" = 0
tt_check "no unread key for user 99999 in any Redis db" \
    test -z "$(for db in $(seq 0 15); do redis-cli -p "$P_RD" -n "$db" --scan --pattern 'unread_99999*'; done)"
# 10 lines a minute, then a count: at most 20 for 40 messages even across a minute's turn
no_user_lines=$(cat "$TT_LOG_DIR"/*.log | grep -c 'no such user' || true)
tt_check "messages to a user that does not exist logged at a bounded rate ($no_user_lines lines for 40)" \
    test "$no_user_lines" -ge 1 -a "$no_user_lines" -le 20
not_stored_lines=$(cat "$TT_LOG_DIR"/ms*/*.log | grep -c 'was not stored' || true)
tt_check "msg_server logs them at a bounded rate too ($not_stored_lines lines)" \
    test "$not_stored_lines" -ge 1 -a "$not_stored_lines" -le 20
hex=$(for n in 0 1 2 3 4 5 6 7; do sql "SELECT HEX(content) FROM IMMessage_$n WHERE fromId = 27"; done)
tt_check "the bytes that are not UTF-8 are in MariaDB as sent ($hex)" \
    test "$hex" = FFFE0001806F6B00C328EDA080F80AC0
# Age the resend keys past ResendWindowSeconds (120 s): Windows's PDU is a new message again.
sql "UPDATE tt_msg_dedupe SET created = created - 1000"
"$TT_BUILD/test/it_resend" after "$P_MS1" || tt_fail "it_resend after"
tt_suite_stop_all
tt_finish
