#!/usr/bin/env bash
# A complete private stack on free loopback ports — MariaDB and Redis (scripts/stack.sh),
# db_proxy_server, route_server, login_server, one or more msg_servers — one tt-bench run against
# it through login_server, with --watch-pid for the msg_servers, db_proxy_server, route_server,
# login_server, mariadbd and redis, then everything is stopped and removed (the same way the
# integration tests in test/integration/ do it). Never touches the ports of `make run`.
#
#   bench/run-local.sh [options] [--] TT_BENCH_ARGS...
#     --build DIR         build tree with the daemons and bench/tt-bench (default: build)
#     --users N           accounts TT001..TTN to create (default: enough for --first/--count,
#                         or --conversations / --sweep conversations= of tt-bench real), with
#                         scripts/seed-users.sh
#     --msg-rate-limit N  msg_server MsgRateLimit (default 1000000: not the bottleneck; with
#                         tt-bench real: "shipped", msg_server's own default, not lifted)
#     --db-threads N      db_proxy_server ThreadNum (default 8)
#     --msg-batch N       db_proxy_server MsgBatchMax (default: the server's, 256)
#     --db-conf K=V       one more db_proxy_server setting (repeatable)
#     --msg-conf K=V      one more msg_server setting (repeatable), e.g. MaxMsgInFlight=0
#     --db-links N        msg_server ConcurrentDBConnCnt: links to db_proxy_server, each one
#                         a lane of messages stored in order (default 4, as conf/ gives: two
#                         DBServer entries of 2)
#     --msg-servers N     start N msg_servers (default 1), all on the one route_server and
#                         login_server; with N > 1 tt-bench gets them as a list (--msg-server
#                         A,B,..: client i on msg_server i mod N) unless the arguments have
#                         --discover (then it asks login_server)
#     --no-prelogin       measure first logins (password upgrade included); by default every
#                         account logs in once, unmeasured, before the run
#     --again N           run tt-bench N more times on the same stack (e.g. a login storm:
#                         with --no-prelogin the first run is cold, the next ones warm)
#     --keep              keep the temp dir (configs, logs) and print where it is
#     --push              also a push_server (no APNs/FCM credentials) linked from every
#                         msg_server, as make run has it: each stored message then costs its
#                         push decision (a token lookup at db_proxy_server; bench clients
#                         register no tokens, so nothing goes further)
#     --db-status         snapshot MariaDB SHOW GLOBAL STATUS before and after every tt-bench
#                         run (run with --json) and print a short summary with the deltas per
#                         acked message: statements, rows, round trips, fsyncs, bytes, and the
#                         CPU per watched process; `real --contact both` is then two runs on
#                         the same stack, `--contact first` then `--contact warm`, each with
#                         its own figures (not with --sweep)
#
# Examples:
#   bench/run-local.sh -- --count 200 --senders 100 --rate 10 --duration 60
#   bench/run-local.sh -- idle --count 5000 --duration 30
#   bench/run-local.sh --users 5000 --no-prelogin --again 1 -- idle --count 5000 --duration 1
#       (login storm: 5000 first logins after an import, then the same 5000 again)
#   bench/run-local.sh --msg-servers 2 -- group --members 2000 --senders 4 --rate 10 \
#       --duration 30   (one 2,000-member group, its members spread over two msg_servers)
#   bench/run-local.sh -- real --conversations 1000 --contact both
#       (a company's traffic: 1000 conversations x 15 msg/s, first contact then warm)
#   bench/run-local.sh --db-status -- real --conversations 1000 --duration 20 --contact both
#       (the same, with what MariaDB did per acked message in each run)
# Exit status: tt-bench's (0 ok, 1 failed logins / nothing acknowledged, 2 bad usage), or 3
# when the stack did not come up.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
USERS=
RATE_LIMIT=
DB_THREADS=8
MSG_BATCH=
DB_CONF=()
MSG_CONF=()
DB_LINKS=4
PRELOGIN=1
KEEP=
AGAIN=0
NMSG=1
DB_STATUS=
PUSH=
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --msg-rate-limit) RATE_LIMIT=$2; shift 2 ;;
        --db-threads) DB_THREADS=$2; shift 2 ;;
        --msg-batch) MSG_BATCH=$2; shift 2 ;;
        --db-conf) DB_CONF+=("$2"); shift 2 ;;
        --msg-conf) MSG_CONF+=("$2"); shift 2 ;;
        --db-links) DB_LINKS=$2; shift 2 ;;
        --msg-servers) NMSG=$2; shift 2 ;;
        --no-prelogin) PRELOGIN=; shift ;;
        --again) AGAIN=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --push) PUSH=1; shift ;;
        --db-status) DB_STATUS=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
[[ $NMSG =~ ^[1-9][0-9]*$ ]] && (( NMSG <= 16 )) || {
    echo "run-local: --msg-servers takes 1 to 16" >&2; exit 2; }
BENCH=$BUILD/bench/tt-bench
for bin in "$BENCH" "$BUILD/msg_server/msg_server" "$BUILD/db_proxy_server/db_proxy_server" \
           "$BUILD/route_server/route_server" "$BUILD/login_server/login_server"; do
    [ -x "$bin" ] || { echo "run-local: $bin is missing (build first: make build)" >&2; exit 3; }
done

# Accounts needed by the tt-bench arguments (--first, --count, default 1 and 100; tt-bench
# real: 2 per conversation, --conversations default 200, or the largest --sweep conversations=;
# tt-bench group: --groups x --members, default 1 x 100).
first=1 count= pattern= real= conv=200 sweep= groups=1 members=100 group= discover=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    a=${args[$i]} next=${args[$((i + 1))]:-}
    case "$a" in
        --first) first=$next ;; --first=*) first=${a#*=} ;;
        --count) count=$next ;; --count=*) count=${a#*=} ;;
        real) real=1 ;;
        --mode) [ "$next" != real ] || real=1 ;; --mode=real) real=1 ;;
        --conversations) conv=$next ;; --conversations=*) conv=${a#*=} ;;
        --sweep) sweep=$next ;; --sweep=*) sweep=${a#*=} ;;
        --user-pattern|--user-pattern=*) pattern=1 ;;
        --groups) groups=$next ;; --groups=*) groups=${a#*=} ;;
        --members) members=$next ;; --members=*) members=${a#*=} ;;
        group|--mode=group) group=1 ;;
        --mode) [ "$next" != group ] || group=1 ;;
        --discover|--discover=*) discover=1 ;;
        --login-url|--login-url=*|--msg-server|--msg-server=*)
            echo "run-local: do not pass $a, the script points tt-bench at its own stack" >&2
            exit 2 ;;
    esac
done
if [ -z "$count" ] && [ -n "$real" ]; then
    [[ $sweep != conversations=* ]] || conv=${sweep##*[=,]}
    count=$(( 2 * conv ))
fi
if [ -z "$count" ] && [ -n "$group" ]; then count=$(( groups * members )); fi
count=${count:-100}
[ -n "$RATE_LIMIT" ] || if [ -n "$real" ]; then RATE_LIMIT=shipped; else RATE_LIMIT=1000000; fi
[ -n "$USERS" ] || USERS=$(( first + count - 1 ))
(( USERS >= 2 )) || USERS=2
[ -z "$pattern" ] || echo "run-local: note: accounts are created as TT%03d (TT001..TT$USERS)" >&2

say() { printf '[run-local %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 12000 ))  # below the ephemeral range (32768+)
        if ! ss -Htln "sport = :$p" | grep -q . && [[ " ${USED_PORTS:-} " != *" $p "* ]]; then
            USED_PORTS="${USED_PORTS:-} $p"; echo "$p"; return
        fi
    done
}
wait_port() { # wait_port PORT PID
    local deadline=$(( SECONDS + 30 ))
    while (( SECONDS < deadline )); do
        ss -Htln "sport = :$1" | grep -q . && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

TMP=$(mktemp -d /tmp/tt-bench-stack.XXXXXX)
export TT_LOG_DIR=$TMP/log
mkdir -p "$TT_LOG_DIR"
declare -A PID
ORDER=()
FAILED=
cleanup() {
    local name pid deadline
    for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do
        name=${ORDER[$i]} pid=${PID[$name]}
        kill -TERM "$pid" 2>/dev/null || continue
        deadline=$(( SECONDS + 10 ))
        while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        wait "$pid" 2>/dev/null || true
    done
    "$ROOT/scripts/stack.sh" stop-db --dir "$TMP/stack" >/dev/null 2>&1 || true
    if [ -n "$KEEP" ] || [ -n "$FAILED" ]; then say "configs and logs kept in $TMP"
    else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start NAME BINARY CONF PORT
    local name=$1 bin=$2 conf=$3 port=$4
    ( ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
      exec "$bin" -c "$conf" -l "$ROOT/conf/log4crc" -p "$TMP/$name.pid" \
          >"$TMP/$name.out" 2>"$TMP/$name.err" ) &
    PID[$name]=$!
    ORDER+=("$name")
    if ! wait_port "$port" "${PID[$name]}"; then
        FAILED=1
        say "$name did not come up on port $port (see $TT_LOG_DIR/$name.log, $TMP/$name.err)"
        exit 3
    fi
}

P_MY=$(free_port); P_RD=$(free_port); P_DB=$(free_port); P_ROUTE=$(free_port)
P_LHTTP=$(free_port); P_LMS=$(free_port); P_PUSH=$(free_port)
P_MSGS=()
for ((k = 1; k <= NMSG; k++)); do P_MSGS+=("$(free_port)"); done
P_MSG=${P_MSGS[0]}

say "MariaDB and Redis in $TMP/stack (ports $P_MY, $P_RD)"
# A server under load gets a real InnoDB buffer pool and redo log (the test default is tiny).
TT_INNODB_BUFFER_POOL=${TT_INNODB_BUFFER_POOL:-512M} TT_INNODB_LOG_FILE=${TT_INNODB_LOG_FILE:-256M} \
"$ROOT/scripts/stack.sh" start-db --dir "$TMP/stack" --mysql-port "$P_MY" --redis-port "$P_RD" \
    >"$TMP/stack.out" 2>&1 || { FAILED=1; cat "$TMP/stack.out" >&2; exit 3; }
sql() { mariadb --no-defaults -h127.0.0.1 -P"$P_MY" -uteamtalk -pteamtalk teamtalk -N -e "$1"; }

if (( USERS > 100 )); then
    # More accounts in the seed's format (name TTnnn, password md5(md5(plain) . salt)).
    say "creating accounts TT101..TT$USERS"
    "$ROOT/scripts/seed-users.sh" --dir "$TMP/stack" --from 101 --to "$USERS" >&2 \
        || { FAILED=1; say "could not create the accounts"; exit 3; }
fi

sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_DB/" \
    -e "s/^ThreadNum=.*/ThreadNum=$DB_THREADS/" \
    -e "s/^teamtalk_\(master\|slave\)_port=.*/teamtalk_\1_port=$P_MY/" \
    -e "s/^\([a-z_]*\)_port=6379/\1_port=$P_RD/" \
    "$ROOT/conf/dbproxyserver.conf" > "$TMP/db.conf"
if [ -n "$MSG_BATCH" ]; then printf 'MsgBatchMax=%s\n' "$MSG_BATCH" >> "$TMP/db.conf"; fi
for kv in "${DB_CONF[@]}"; do printf '%s\n' "$kv" >> "$TMP/db.conf"; done
printf 'ListenIP=127.0.0.1\nListenMsgPort=%s\n' "$P_ROUTE" > "$TMP/route.conf"
cat > "$TMP/login.conf" <<CONF
HttpListenIP=127.0.0.1
HttpPort=$P_LHTTP
MsgServerListenIP=127.0.0.1
MsgServerPort=$P_LMS
msfs=http://127.0.0.1:8700/
discovery=http://127.0.0.1/api/discovery
CONF
for ((k = 1; k <= NMSG; k++)); do
cat > "$TMP/msg$k.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=${P_MSGS[$((k - 1))]}
IpAddr1=127.0.0.1
IpAddr2=127.0.0.1
MaxConnCnt=1000000
aesKey=12345678901234567890123456789012
ConcurrentDBConnCnt=$DB_LINKS
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
LoginServerIP1=127.0.0.1
LoginServerPort1=$P_LMS
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
UpstreamReconnectMs=200
LoginTimeout=60
CONF
if [ -n "$PUSH" ]; then
    printf 'PushServerIP1=127.0.0.1\nPushServerPort1=%s\n' "$P_PUSH" >> "$TMP/msg$k.conf"
fi
for kv in "${MSG_CONF[@]}"; do printf '%s\n' "$kv" >> "$TMP/msg$k.conf"; done
if [ "$RATE_LIMIT" != shipped ]; then
    printf 'MsgRateLimit=%s\nMsgRateBurst=%s\n' "$RATE_LIMIT" $(( RATE_LIMIT * 2 )) >> "$TMP/msg$k.conf"
fi
done

# the daemons authenticate each other, as with make run
SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
printf 'ListenIP=127.0.0.1\nListenPort=%s\nDBServerIP1=127.0.0.1\nDBServerPort1=%s\n' \
    "$P_PUSH" "$P_DB" > "$TMP/push.conf"
for f in db route login push $(seq -f 'msg%g' 1 "$NMSG"); do
    printf 'DaemonSecret=%s\n' "$SECRET" >> "$TMP/$f.conf"
done

start db_proxy_server "$BUILD/db_proxy_server/db_proxy_server" "$TMP/db.conf" "$P_DB"
start route_server "$BUILD/route_server/route_server" "$TMP/route.conf" "$P_ROUTE"
start login_server "$BUILD/login_server/login_server" "$TMP/login.conf" "$P_LHTTP"
if [ -n "$PUSH" ]; then
    start push_server "$BUILD/push_server/push_server" "$TMP/push.conf" "$P_PUSH"
fi
# msg_server k is "msg_server" (k = 1) or "msg_serverK"; each logs in its own directory
MSG_NAMES=()
for ((k = 1; k <= NMSG; k++)); do
    name=msg_server; (( k == 1 )) || name=msg_server$k
    MSG_NAMES+=("$name")
    if (( NMSG > 1 )); then mkdir -p "$TT_LOG_DIR/ms$k"; fi
    TT_LOG_DIR=$TT_LOG_DIR$( (( NMSG > 1 )) && echo "/ms$k" ) \
        start "$name" "$BUILD/msg_server/msg_server" "$TMP/msg$k.conf" "${P_MSGS[$((k - 1))]}"
done

URL=http://127.0.0.1:$P_LHTTP/msg_server
deadline=$(( SECONDS + 30 ))
if (( NMSG == 1 )); then
    until curl -s --max-time 2 "$URL" | grep -q "\"port\" *: *\"$P_MSG\""; do
        if (( SECONDS >= deadline )); then
            FAILED=1; say "msg_server never registered with login_server"; exit 3
        fi
        sleep 0.1
    done
else # every msg_server registered with login_server and connected to route_server
    until grep -q "$NMSG registered" "$TT_LOG_DIR/login_server.log" 2>/dev/null &&
          grep -q "($NMSG connected)" "$TT_LOG_DIR/route_server.log" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            FAILED=1; say "the msg_servers never all registered (login_server, route_server)"
            exit 3
        fi
        sleep 0.1
    done
fi
MSG_LIST=$(printf '127.0.0.1:%s,' "${P_MSGS[@]}"); MSG_LIST=${MSG_LIST%,}
say "stack up: login_server $URL, msg_server${MSG_NAMES[1]:+s} $MSG_LIST"
TARGET=(--login-url "$URL")
if (( NMSG > 1 )) && [ -z "$discover" ]; then TARGET=(--msg-server "$MSG_LIST"); fi

WATCH=()
for name in "${MSG_NAMES[@]}" db_proxy_server route_server login_server \
    ${PUSH:+push_server}; do
    WATCH+=(--watch-pid "$name=${PID[$name]}")
done
for f in mariadb:mariadbd redis:redis; do
    pid=$(cat "$TMP/stack/run/${f%%:*}.pid" 2>/dev/null || true)
    [ -n "$pid" ] && WATCH+=(--watch-pid "${f##*:}=$pid")
done

if [ -n "$PRELOGIN" ]; then
    say "every account logs in once first (unmeasured: first logins upgrade the stored password)"
    "$BENCH" idle "${TARGET[@]}" --first "$first" --count "$count" --duration 0.1 --quiet \
        >"$TMP/prelogin.out" 2>&1 || say "pre-login had failures (see $TMP/prelogin.out); going on"
    sleep 1
fi

# --db-status: MariaDB's counters around a run, per acked message.
STATUS_VARS="Questions Com_select Com_insert Com_update Com_delete Com_commit Com_rollback
Com_set_option Com_stmt_execute Com_stmt_prepare Handler_read_key Handler_read_next
Handler_read_rnd_next Handler_write Handler_update Handler_delete Innodb_data_fsyncs
Innodb_log_writes Innodb_log_write_requests Bytes_received Bytes_sent"
db_status() { # db_status FILE: "name value" lines
    local in
    in=$(printf "'%s'," $STATUS_VARS)
    sql "SHOW GLOBAL STATUS WHERE Variable_name IN (${in%,})" > "$1"
}
db_report() { # db_report JSON BEFORE AFTER: the run's figures and MariaDB's deltas per message
    local acked
    acked=$(jq '.counters.acked_total // 0' "$1")
    jq -r '"\(.label // "run"): acked \(.messages.acked) in \(.messages.measured_seconds) s = " +
           "\(.messages.acked_per_second|floor) msg/s, p50/p99 send->ack " +
           "\(.latency_ms.send_to_ack.p50 // "-") / \(.latency_ms.send_to_ack.p99 // "-") ms, " +
           "unacked > 5 s \(.messages.unacked_after_5s), logins failed \(.logins.failed)",
           "  CPU over \(.cpu.seconds) s (% of a core, us per acked msg, net of idle):",
           (.cpu.processes[]? | "    \(.name): \(.cpu_percent // "-" | tostring | .[0:5]) %, " +
            "\(.us_per_acked_msg // "-" | tostring | .[0:6]) us, net \(.net_us_per_acked_msg // "-" | tostring | .[0:6]) us"),
           (if .cpu.watched_total then "    watched total: \(.cpu.watched_total.us_per_acked_msg | tostring | .[0:6]) us, net \(.cpu.watched_total.net_us_per_acked_msg // "-" | tostring | .[0:6]) us" else empty end)' "$1"
    echo "  MariaDB, per acked message ($acked acked in all; the delta spans the whole tt-bench run, logins included):"
    awk -v n="$acked" 'NR == FNR { a[$1] = $2; next }
        { d[$1] = $2 - a[$1]; o[++k] = $1 }
        END {
            if (n <= 0) { print "    nothing acked"; exit }
            for (i = 1; i <= k; i++) printf "    %-22s %12d  %9.3f\n", o[i], d[o[i]], d[o[i]] / n
            r = d["Handler_read_key"] + d["Handler_read_next"] + d["Handler_read_rnd_next"]
            r += d["Handler_write"] + d["Handler_update"] + d["Handler_delete"]
            printf "    %-22s %12d  %9.3f\n", "rows (Handler_* sum)", r, r / n
            printf "    %-22s %12s  %9.1f\n", "messages per commit", "", d["Com_commit"] ? n / d["Com_commit"] : 0
        }' "$2" "$3"
}
run_bench() { # run_bench ARGS...: one tt-bench run (with --db-status: --json, the summary)
    if [ -z "$DB_STATUS" ]; then
        "$BENCH" "${TARGET[@]}" "${WATCH[@]}" "$@"
        return
    fi
    RUNS=$(( ${RUNS:-0} + 1 ))
    local j=$TMP/run$RUNS.json r=0
    db_status "$TMP/run$RUNS.before"
    "$BENCH" "${TARGET[@]}" "${WATCH[@]}" "$@" --json > "$j" || r=$?
    db_status "$TMP/run$RUNS.after"
    db_report "$j" "$TMP/run$RUNS.before" "$TMP/run$RUNS.after" || true
    return "$r"
}

both=
if [ -n "$DB_STATUS" ]; then
    command -v jq >/dev/null || { echo "run-local: --db-status needs jq" >&2; exit 2; }
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[$i]}" in
            --sweep|--sweep=*|--json) echo "run-local: --db-status does not go with ${args[$i]}" >&2; exit 2 ;;
            --contact) [ "${args[$((i + 1))]:-}" != both ] || { both=1; args[$((i + 1))]=first; } ;;
            --contact=both) both=1; args[$i]=--contact=first ;;
        esac
    done
    set -- "${args[@]}"
fi

say "tt-bench $*"
rc=0
run_bench "$@" || rc=$?
if [ -n "$both" ]; then
    sleep 1
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[$i]}" in
            --contact) args[$((i + 1))]=warm ;;
            --contact=first) args[$i]=--contact=warm ;;
        esac
    done
    set -- "${args[@]}"
    say "tt-bench $* (--contact both: the warm run)"
    run_bench "$@" || rc=$?
fi
for ((i = 1; i <= AGAIN; i++)); do
    sleep 1
    say "tt-bench $* (again: $i of $AGAIN)"
    run_bench "$@" || rc=$?
done

if grep -rh ' ERROR ' "$TT_LOG_DIR" --include='*.log' 2>/dev/null | head -5 | grep -q .; then
    say "daemon logs have ERROR lines:"
    grep -rh ' ERROR ' "$TT_LOG_DIR" --include='*.log' | head -5 >&2
    FAILED=1
fi
exit "$rc"
