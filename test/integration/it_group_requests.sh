#!/usr/bin/env bash
# Group requests through msg_server (issue 9 §1): the whole suite with two msg_servers, a
# normal group made by ttadm, then it_group_requests as clients on both msg_servers, and
# ttcli's groups and group leave.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
tt_check "ttadm group add Staff" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" group add Staff \
    --members TT001,TT002,TT003 --creator TT001
"$TT_BUILD/test/it_group_requests" "$P_MS1" "$P_MS2" || tt_fail "it_group_requests"
tt_check "the shield is stored for TT001 only" \
    test "$(sql "SELECT userId FROM IMGroupMember WHERE groupId = 1 AND shield = 1")" = 1
# ttcli's group commands through msg_server
export TT_PASSWORD=test123
CLI=$TT_BUILD/client/ttcli
"$CLI" -m "127.0.0.1:$P_MS2" -u TT003 groups >"$TT_TMP/cli.out" 2>&1
tt_check "ttcli groups lists Staff" grep -q 'Staff' "$TT_TMP/cli.out"
tt_check "ttcli group leave 2 (a member leaves the temporary group)" \
    "$CLI" -m "127.0.0.1:$P_MS1" -u TT006 group leave 2
tt_check "TT006 left: its row is status 1" \
    test "$(sql "SELECT status FROM IMGroupMember WHERE groupId = 2 AND userId = 6")" = 1
tt_suite_stop_all
tt_finish
