#!/usr/bin/env bash
# A 2,000-member group with everybody online over two msg_servers (issue 9 §2): accounts
# TT101..TT2000 added in the seed's format (scripts/seed-users.sh), one normal group
# of all 2,000 made by ttadm, then it_group_fanout: every member connection (and the senders'
# second devices) gets each message exactly once, never the connection that sent it.
# Correctness only, no timing. TT_FANOUT_MEMBERS / _SENDERS / _MSGS change the size.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
N=${TT_FANOUT_MEMBERS:-2000}
SENDERS=${TT_FANOUT_SENDERS:-3}
MSGS=${TT_FANOUT_MSGS:-4}
TT_MS_EXTRA=$'MsgRateLimit=2000'
TT_MS_MAX_CONN=$(( N + 1000 ))
# this program holds N + SENDERS connections, each msg_server about half of them
if [ "$(ulimit -n)" != unlimited ] && (( $(ulimit -n) < N + 1000 )); then
    ulimit -n $(( N + 1000 )) 2>/dev/null || tt_log "ulimit -n $(ulimit -n): the logins may fail"
fi
# 2,000 first logins each upgrade a legacy md5 row: the lowest KDF cost keeps that short.
TT_DB_EXTRA=$'PasswordKdfIterations=1000'
tt_suite_start
tt_check "accounts TT101..TT$N added" \
    "$TT_SRC/scripts/seed-users.sh" --dir "$TT_TMP/stack" --to "$N"
tt_check "ttadm group add Everyone (all $N)" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" \
    group add Everyone --members "$(seq -s, 1 "$N")" --creator TT001
tt_check "group 1 has $N members" \
    test "$(sql "SELECT COUNT(*) FROM IMGroupMember WHERE groupId = 1 AND status = 0")" = "$N"
"$TT_BUILD/test/it_group_fanout" "$P_MS1" "$P_MS2" 1 "$N" "$SENDERS" "$MSGS" \
    || tt_fail "it_group_fanout"
tt_check "each message stored once" \
    test "$(sql "SELECT COUNT(*), COUNT(DISTINCT msgId) FROM IMGroupMessage_1 WHERE groupId = 1")" = "$(( SENDERS * MSGS ))	$(( SENDERS * MSGS ))"
tt_suite_stop_all
tt_finish
