#!/usr/bin/env bash
# Issue 8 §2, logins under abuse, end to end (the whole suite, driven by it_login_abuse from
# chosen loopback addresses): names with a NUL, control characters or spaces around them;
# a stranger cannot lock a user out of an address she logged in from; parallel guesses are
# counted as they arrive; two addresses never reset each other's count; a flood of logins
# gets busy answers and does not hold back a bystander's message; a re-login is answered from
# the credential cache, which a password change or a disable made by ttadm ends.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
# a small login queue, so that the flood below overflows it
tt_stop "$TT_DB_PID" || true
printf 'LoginQueueMax=128\nLoginThreads=2\n' >> "$TT_TMP/db.conf"
tt_suite_db_start
sleep 1 # the msg_servers reconnect (UpstreamReconnectMs=200)

IT=$TT_BUILD/test/it_login_abuse
LOG=$TT_LOG_DIR/db_proxy_server.log
run() { # run NAME ARGS...: one phase, its output in it_NAME.out
    local name=$1; shift
    if "$IT" "$P_MS1" "$@" >"$TT_TMP/it_$name.out" 2>&1; then tt_log "ok: $name"
    else tt_fail "$name"; grep -v '^ok' "$TT_TMP/it_$name.out" | head -20; fi
}
run names names
run stranger stranger
run parallel parallel
run collide collide
run flood flood 400
sed -n "s/^ok: the message/  the message/p" "$TT_TMP/it_flood.out" # the figures, for the record
tt_check "db_proxy_server said its login queue was full" grep -q 'login queue full' "$LOG"

# ---- the credential cache ----
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
accepted() { grep -c "login of TT070 (id [0-9]*) from 127.0.0.9 accepted ($1)" "$LOG" || true; }
run first login 127.0.0.9 TT070 "$(md5 test123)" ok
run again login 127.0.0.9 TT070 "$(md5 test123)" ok
run again2 login 127.0.0.9 TT070 "$(md5 test123)" ok
tt_check "the first login checked the password" test "$(accepted 'password checked')" = 1
tt_check "the next two came from the cache" test "$(accepted 'cached credential')" = 2
ADM=$TT_BUILD/tools/ttadm
tt_check "ttadm user passwd TT070" "$ADM" -c "$TT_TMP/db.conf" user passwd TT070 --password newpass1
run oldpw login 127.0.0.9 TT070 "$(md5 test123)" wrong
run newpw login 127.0.0.9 TT070 "$(md5 newpass1)" ok
tt_check "the new password was checked, not taken from the cache" \
    test "$(accepted 'password checked')" = 2
run newpw2 login 127.0.0.9 TT070 "$(md5 newpass1)" ok
tt_check "and is cached in turn" test "$(accepted 'cached credential')" = 3
tt_check "ttadm user disable TT070" "$ADM" -c "$TT_TMP/db.conf" user disable TT070
run disabled login 127.0.0.9 TT070 "$(md5 newpass1)" wrong
tt_check "a disabled user is not let in from the cache" test "$(accepted 'cached credential')" = 3

tt_suite_stop_all
tt_finish
