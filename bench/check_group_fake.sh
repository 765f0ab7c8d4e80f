#!/usr/bin/env bash
# ctest tt_bench_group_fake: tt-bench's group mode against fake-msg-server, end to end. A clean
# run must count every delivery exactly once (no loss, no duplicate, every message timed to
# its last member); with the fake server dropping every Dth and doubling every Uth group
# delivery, tt-bench must report exactly those losses and duplicates. Not a speed test.
#   bench/check_group_fake.sh BUILD_BENCH_DIR
set -euo pipefail
DIR=${1:?usage: check_group_fake.sh BUILD_BENCH_DIR}
TMP=$(mktemp -d /tmp/tt-bench-groupcheck.XXXXXX)
FAKE_PID=
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fails=0
check() { # check WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok: $1 ($3)"; else echo "FAIL: $1: expected $2, got $3"; fails=$((fails + 1)); fi
}
start_fake() {
    rm -f "$TMP/port"
    "$DIR/fake-msg-server" --port 0 --port-file "$TMP/port" "$@" >"$TMP/fake.out" 2>"$TMP/fake.err" &
    FAKE_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    PORT=$(sed 's/pdu_port=\([0-9]*\).*/\1/' "$TMP/port")
}
stop_fake() { kill "$FAKE_PID"; wait "$FAKE_PID" || true; FAKE_PID=; }

G=2 M=30 S=2
run_bench() { # the JSON of one run
    "$DIR/tt-bench" group --msg-server "127.0.0.1:$PORT" --groups $G --members $M --senders $S \
        --rate 20 --window 4 --duration 1 --warmup 0.5 --grace "$1" --quiet --json
}

start_fake
run_bench 5 >"$TMP/clean.json"
stop_fake
j() { jq -r "$1" "$2"; }
acked=$(j .group.acked_checked "$TMP/clean.json")
check "clean: groups created" $G "$(j .group.created "$TMP/clean.json")"
check "clean: something acked" 1 "$(( acked > 0 ))"
check "clean: every acked message reached every member" "$acked" "$(j .group.complete "$TMP/clean.json")"
check "clean: deliveries = acked x (M-1)" "$(( acked * (M - 1) ))" "$(j .counters.delivered_total "$TMP/clean.json")"
check "clean: no loss" 0 "$(j .group.lost "$TMP/clean.json")"
check "clean: no duplicate" 0 "$(j .group.duplicates "$TMP/clean.json")"
check "clean: no echo" 0 "$(j .group.echoes "$TMP/clean.json")"
check "clean: send->last for every measured message" "$(j .group.acked_measured "$TMP/clean.json")" \
    "$(j .latency_ms.send_to_last_delivery.count "$TMP/clean.json")"

D=37 U=41
start_fake --drop-every $D --dup-every $U
run_bench 1 >"$TMP/faults.json"
stop_fake
acked=$(j .group.acked_checked "$TMP/faults.json")
due=$(( acked * (M - 1) ))
check "faults: losses = every ${D}th of $due deliveries" "$(( due / D ))" "$(j .group.lost "$TMP/faults.json")"
check "faults: duplicates = every ${U}th not dropped" "$(( due / U - due / (D * U) ))" \
    "$(j .group.duplicates "$TMP/faults.json")"
check "faults: worst members listed" 1 "$(( $(j '.group.worst_members | length' "$TMP/faults.json") > 0 ))"
echo "tt_bench_group_fake: $fails failed"
[ "$fails" = 0 ]
