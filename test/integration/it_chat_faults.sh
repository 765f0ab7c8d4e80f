#!/usr/bin/env bash
# One-to-one chat while daemons die: the whole suite with two msg_servers, driven by
# it_chat_faults. (A) db_proxy_server SIGKILLed in the middle of a burst of windowed senders
# that resend whatever is not acked, and started again ~1 s later on the same port (eight
# times: only a kill between a commit and its answer reaching msg_server loses an answer): every
# message is stored once with the id it was acked with (checked here in MariaDB), ids 1..N,
# delivered once and in order, complete in history. (B) route_server SIGKILLed: chat across
# msg_servers is stored and acked and caught up through unread counts and history; started
# again on the same port: live delivery and presence across msg_servers come back by
# themselves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
TT_MS_EXTRA=$'MsgRateLimit=5000'
tt_suite_start
IT=$TT_BUILD/test/it_chat_faults
STEPS=$TT_TMP/steps
mkdir -p "$STEPS"

port_gone() { ! ss -Htln "sport = :$1" | grep -q .; }
# kill_hard PID PORT: SIGKILL, reaped, its port closed
kill_hard() {
    kill -KILL "$1"
    wait "$1" 2>/dev/null || true
    for _ in $(seq 100); do port_gone "$2" && return 0; sleep 0.02; done
    tt_fail "port $2 still open after SIGKILL"
}

# The steps the program asks for (see it_chat_faults.c).
step_kill_db() { kill_hard "$TT_DB_PID" "$P_DB"; }
step_restart_db() { tt_suite_db_start; } # same config, same port
step_kill_route() { kill_hard "$TT_PID_route_server" "$P_ROUTE"; }
step_restart_route() {
    tt_start route_server "$TT_BUILD/route_server/route_server" "$TT_TMP/route.conf"
    tt_check "route_server up again" tt_wait_port "$P_ROUTE"
}

# run_steps ARGS...: runs it_chat_faults ARGS... STEPS with its report on ours; on a line
# "STEP na-me.N" step_na_me runs, then the file STEPS/na-me.N tells the program it is done.
run_steps() {
    local fifo=$TT_TMP/it.fifo line name rc=0 pid
    rm -f "$fifo"
    mkfifo "$fifo"
    "$IT" "$@" "$STEPS" >"$fifo" 2>>"$TT_TMP/it_chat_faults.err" &
    pid=$!
    exec 3<"$fifo"
    while IFS= read -r line <&3; do
        printf '%s\n' "$line"
        if [[ $line == "STEP "* ]]; then
            name=${line#STEP }
            tt_log "step $name"
            name=${name%%.*} # kill-db.2: the third kill-db
            "step_${name//-/_}"
            : >"$STEPS/${line#STEP }"
        fi
    done
    exec 3<&-
    wait "$pid" || rc=$?
    return $rc
}

# ---- (A) db_proxy_server killed during the burst ----
run_steps burst "$P_MS1" "$P_MS2" || tt_fail "it_chat_faults burst"
messages() { # every stored message of the burst's senders (TT021..TT026), in all eight tables
    local i q=""
    for i in 0 1 2 3 4 5 6 7; do
        q+="${q:+ UNION ALL }SELECT fromId, toId, msgId, content FROM IMMessage_$i"
    done
    sql "SELECT * FROM ($q) t WHERE fromId BETWEEN 21 AND 26 ORDER BY fromId, msgId, content"
}
messages >"$TT_TMP/stored.tsv"
same_rows() { # same_rows EXPECTED ACTUAL: identical, or the first differences shown
    diff "$1" "$2" >"$TT_TMP/rows.diff" || { head -20 "$TT_TMP/rows.diff"; return 1; }
}
tt_check "MariaDB holds every acked message once, with the msg_id it was acked with" \
    same_rows "$STEPS/expected.tsv" "$TT_TMP/stored.tsv"
tt_check "and 1800 of them" test "$(wc -l <"$TT_TMP/stored.tsv")" = 1800

# ---- (B) route_server killed, then started again ----
run_steps route "$P_MS1" "$P_MS2" || tt_fail "it_chat_faults route"

tt_suite_stop_all
tt_finish
