# Shared helpers for the integration tests (sourced). Every test runs in its own temp dir,
# on free loopback ports, and cleans up with a trap. A test fails on any unexpected ERROR line
# in a daemon log and on any sanitizer report.
set -euo pipefail

TT_BUILD=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
TT_SRC=${2:?usage: $0 BUILD_DIR SOURCE_DIR}
TT_TMP=$(mktemp -d /tmp/tt-it.XXXXXX)
export TT_LOG_DIR=$TT_TMP/log
mkdir -p "$TT_LOG_DIR"
TT_PIDS=()
TT_FAILED=0
# The daemons of a test authenticate each other with this secret (DaemonSecret=); test
# programs that speak to daemon-only ports read it from the environment.
export TT_DAEMON_SECRET=${TT_DAEMON_SECRET:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}

tt_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
tt_fail() { tt_log "FAIL: $*"; TT_FAILED=1; }
tt_check() { # tt_check "description" command...
    local what=$1; shift
    if "$@"; then tt_log "ok: $what"; else tt_fail "$what"; fi
}

# A free TCP port on 127.0.0.1: random, not listening, and reserved for this test. Tests run
# in parallel and a port's daemon starts a while after the port is picked, so a port is
# only handed out once it is reserved as $TT_PORT_DIR/PORT (mkdir is atomic) holding this
# test's pid; a reservation whose test is gone is taken over, and tt_cleanup drops ours.
TT_PORT_DIR=${TMPDIR:-/tmp}/tt-ports
tt_free_port() {
    local p owner
    mkdir -p "$TT_PORT_DIR"
    while :; do
        p=$(( 20000 + RANDOM % 12000 ))  # below the ephemeral range (32768+)
        ss -Htln "sport = :$p" | grep -q . && continue
        if ! mkdir "$TT_PORT_DIR/$p" 2>/dev/null; then
            owner=$(cat "$TT_PORT_DIR/$p/pid" 2>/dev/null || true)
            if [ -z "$owner" ]; then  # being reserved now, or left half-made long ago
                [ -n "$(find "$TT_PORT_DIR/$p" -maxdepth 0 -mmin +1 2>/dev/null)" ] || continue
            elif kill -0 "$owner" 2>/dev/null; then continue; fi
            rm -rf "$TT_PORT_DIR/$p"
            mkdir "$TT_PORT_DIR/$p" 2>/dev/null || continue
        fi
        echo $$ > "$TT_PORT_DIR/$p/pid"
        echo "$p"; return
    done
}
tt_release_ports() {
    local d
    for d in "$TT_PORT_DIR"/*/; do
        [ "$(cat "$d/pid" 2>/dev/null)" = $$ ] && rm -rf "$d"
    done
    return 0
}

tt_wait_port() { # tt_wait_port PORT [SECONDS]
    local port=$1 deadline=$(( SECONDS + ${2:-20} ))
    while (( SECONDS < deadline )); do
        if ss -Htln "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.05
    done
    return 1
}

# tt_start NAME BINARY CONF: starts a daemon in the background, stderr kept for sanitizers.
tt_start() {
    local name=$1 bin=$2 conf=$3
    "$bin" -c "$conf" -l "$TT_SRC/conf/log4crc" -p "$TT_TMP/$name.pid" \
        >"$TT_TMP/$name.out" 2>"$TT_TMP/$name.err" &
    TT_PIDS+=("$!")
    eval "TT_PID_${name}=$!"
}

tt_alive() { kill -0 "$1" 2>/dev/null; }

# tt_stop PID [SECONDS]: SIGTERM and wait; returns the exit status (124 on timeout).
tt_stop() {
    local pid=$1 deadline=$(( SECONDS + ${2:-10} ))
    kill -TERM "$pid" 2>/dev/null || return 0
    while tt_alive "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
    if tt_alive "$pid"; then kill -KILL "$pid"; wait "$pid" 2>/dev/null; return 124; fi
    local rc=0
    wait "$pid" || rc=$?
    return $rc
}

# Sends raw bytes (printf format) to 127.0.0.1:PORT and keeps the socket open briefly.
tt_send_raw() {
    local port=$1 fmt=$2
    ( exec 3<>"/dev/tcp/127.0.0.1/$port" && printf "$fmt" >&3 && sleep 0.2 ) 2>/dev/null || true
}

# Fails on ERROR lines (other than those matching $1, an extended regex) and sanitizer reports.
tt_check_logs() {
    local allowed=${1:-'^$'} f
    for f in "$TT_LOG_DIR"/*.log; do
        [ -e "$f" ] || continue
        if grep ' ERROR ' "$f" | grep -Ev "$allowed" | grep -q .; then
            tt_fail "unexpected ERROR in $(basename "$f"):"; grep ' ERROR ' "$f" | head -5
        fi
    done
    for f in "$TT_TMP"/*.err; do
        [ -e "$f" ] || continue
        if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|AddressSanitizer' "$f"; then
            tt_fail "sanitizer report in $(basename "$f"):"; head -30 "$f"
        fi
    done
}

tt_cleanup() {
    local pid
    for pid in "${TT_PIDS[@]}"; do
        if tt_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    tt_release_ports
    if [ "$TT_FAILED" = 0 ] && [ -z "${TT_KEEP:-}" ]; then rm -rf "$TT_TMP"; else
        tt_log "logs kept in $TT_TMP"; fi
}
trap tt_cleanup EXIT

tt_finish() {
    if [ "$TT_FAILED" = 0 ]; then tt_log "PASS"; exit 0; fi
    tt_log "FAILED"; exit 1
}
