#!/usr/bin/env bash
# Small wrongs of issue 8 §6, on the whole suite (two msg_servers), driven by it_small_wrongs:
# push tokens in separate key spaces (and an original deployment's keys still read), a NUL in a
# signature or avatar refused, and a disabled user's live sessions closed within seconds, also
# when the user was disabled while db_proxy_server was down.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
W=$TT_BUILD/test/it_small_wrongs
rds() { redis-cli -p "$P_RD" -n 4 "$@"; }
msgs_from() { # messages stored from user $1
    sql "SELECT (SELECT COUNT(*) FROM IMMessage_0 WHERE fromId = $1) + (SELECT COUNT(*) FROM IMMessage_1 WHERE fromId = $1)
        + (SELECT COUNT(*) FROM IMMessage_2 WHERE fromId = $1) + (SELECT COUNT(*) FROM IMMessage_3 WHERE fromId = $1)
        + (SELECT COUNT(*) FROM IMMessage_4 WHERE fromId = $1) + (SELECT COUNT(*) FROM IMMessage_5 WHERE fromId = $1)
        + (SELECT COUNT(*) FROM IMMessage_6 WHERE fromId = $1) + (SELECT COUNT(*) FROM IMMessage_7 WHERE fromId = $1)"
}

# ---- device tokens ----
"$W" tokens "$P_MS1" || tt_fail "it_small_wrongs tokens"
# msg_server answers token requests at once and stores them behind: wait until both are there
for _ in $(seq 100); do
    [ "$(rds EXISTS push_token_34 push_token_35 push_owner_34 push_owner_feedface34)" = 4 ] && break
    sleep 0.1
done
tt_check "user 34's push registration is intact after user 35 registered the token \"34\"" \
    test "$(rds GET push_token_34) $(rds GET push_owner_feedface34)" = "ios:feedface34 34"
tt_check "user 35's registration is its own" \
    test "$(rds GET push_token_35) $(rds GET push_owner_34)" = "ios:34 35"
tt_check "the original key space is not written" test "$(rds EXISTS device_34 device_35)" = 0

# ---- NUL bytes ----
sql "UPDATE IMUser SET sign_info = 'old sign', avatar = 'http://old/a.jpg' WHERE name = 'TT040'"
"$W" nul "$P_MS1" || tt_fail "it_small_wrongs nul"
tt_check "no cut signature or avatar was stored" \
    test "$(sql "SELECT sign_info, avatar FROM IMUser WHERE name = 'TT040'")" = "plain sign	http://old/a.jpg"

# ---- a disabled user's sessions ----
tt_check "TT041 logged in on both msg_servers is disconnected by ttadm user disable" \
    "$W" disable "$P_MS1" "$P_MS2" "$TT_BUILD/tools/ttadm -c $TT_TMP/db.conf user disable TT041 >/dev/null"
tt_check "only the message sent before the disable is stored" test "$(msgs_from 41)" = 1
# Disabled while db_proxy_server is down: the msg_server reports its users when it is back.
"$W" hold "$P_MS2" TT043 "$TT_TMP/hold.ready" > "$TT_TMP/hold.out" 2>&1 &
hold_pid=$!
for _ in $(seq 100); do [ -e "$TT_TMP/hold.ready" ] && break; sleep 0.1; done
tt_check "TT043 logged in" test -e "$TT_TMP/hold.ready"
rc=0; tt_stop "$TT_DB_PID" || rc=$?
tt_check "db_proxy_server stops" test "$rc" = 0
tt_check "ttadm disables TT043 meanwhile" \
    "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" user disable TT043
tt_suite_db_start
rc=0; wait "$hold_pid" || rc=$?
cat "$TT_TMP/hold.out"
tt_check "TT043 was disconnected after db_proxy_server came back" test "$rc" = 0
tt_suite_stop_all
tt_finish
