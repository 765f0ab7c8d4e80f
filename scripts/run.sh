#!/usr/bin/env bash
# make run / make stop: the whole suite on this machine, on the original TeamTalk ports.
#   scripts/run.sh start [BUILD_DIR]   start MariaDB, Redis (scripts/stack.sh) and every daemon
#   scripts/run.sh stop                stop exactly what start started (by pid)
#   scripts/run.sh status
# Runtime files live under var/ (TT_VAR_DIR): var/log/*.log, var/run/*.pid, var/run/<daemon>/.
# The daemons authenticate each other with a random secret made at the first start
# (var/daemon_secret, mode 600): each daemon runs with a copy of its conf/*.conf in var/conf/
# that adds DaemonSecretFile=var/daemon_secret, unless that conf sets a secret of its own.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${TT_VAR_DIR:-$ROOT/var}
RUN=$VAR/run
LOG=$VAR/log
BUILD=${2:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD

# name:config:ports (start order: backends first)
DAEMONS=(
    "db_proxy_server:dbproxyserver.conf:10600"
    "route_server:routeserver.conf:8200"
    "file_server:fileserver.conf:8600,8601"
    "msfs:msfs.conf:8700"
    "push_server:pushserver.conf:8500"
    "login_server:loginserver.conf:8080,8100,8008"
    "msg_server:msgserver.conf:8000"
    "http_msg_server:httpmsgserver.conf:8400"
)

say() { printf '%s\n' "$*"; }
die() { printf 'run: %s\n' "$*" >&2; exit 1; }
listening() { ss -Htln "sport = :$1" | grep -q .; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$RUN/$1.pid" ] && cat "$RUN/$1.pid" || true; }

# The secret shared by the daemons, made once.
make_secret() {
    local f=$VAR/daemon_secret
    [ -s "$f" ] && return 0
    ( umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$f.tmp" && mv "$f.tmp" "$f" )
    say "generated the daemons' shared secret in $f"
}

# The secret of the demo API key (http_msg_server's /api/v1), made once.
make_api_secret() {
    local f=$VAR/api_secret
    [ -s "$f" ] && return 0
    ( umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$f.tmp" && mv "$f.tmp" "$f" )
}

# The config a daemon runs with: conf/NAME plus the secret file (an operator's own wins), and
# for http_msg_server, when conf/httpmsgserver.conf sets no ApiKey1, the demo key "demo" with
# every permission (its secret in var/api_secret).
daemon_conf() {
    local src=$ROOT/conf/$1 dst=$VAR/conf/$1
    if grep -Eq '^[[:space:]]*DaemonSecret(File)?[[:space:]]*=[[:space:]]*[^[:space:]#]' "$src"; then
        cp "$src" "$dst"
    else
        { cat "$src"; printf '\n# added by scripts/run.sh\nDaemonSecretFile=%s\n' "$VAR/daemon_secret"; } >"$dst"
    fi
    if [ "$1" = httpmsgserver.conf ] && ! grep -Eq '^[[:space:]]*ApiKey1[[:space:]]*=' "$src"; then
        make_api_secret
        printf '# the demo API key (scripts/run.sh)\nApiKey1=demo:%s:*\n' "$(cat "$VAR/api_secret")" >>"$dst"
    fi
    printf '%s\n' "$dst"
}

wait_port() {
    local port=$1 pid=$2 deadline=$(( SECONDS + 20 ))
    while (( SECONDS < deadline )); do
        listening "$port" && return 0
        alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

start() {
    [ -x "$BUILD/msg_server/msg_server" ] || die "no build in $BUILD (run: make build)"
    mkdir -p "$RUN" "$LOG" "$VAR/conf"
    make_secret
    "$ROOT/scripts/stack.sh" start-db --dir "$VAR"
    export TT_LOG_DIR=$LOG
    local entry name conf ports port pid cfile
    for entry in "${DAEMONS[@]}"; do
        IFS=: read -r name conf ports <<<"$entry"
        pid=$(pid_of "$name")
        if alive "$pid"; then say "$name already running (pid $pid)"; continue; fi
        for port in ${ports//,/ }; do
            listening "$port" && die "port $port (for $name) is taken by another process; stop it first"
        done
        mkdir -p "$RUN/$name"
        cfile=$(daemon_conf "$conf")
        ( cd "$RUN/$name" && exec "$BUILD/$name/$name" -c "$cfile" \
              -l "$ROOT/conf/log4crc" >>"$LOG/$name.out" 2>&1 ) &
        pid=$!
        echo "$pid" >"$RUN/$name.pid"
        for port in ${ports//,/ }; do
            wait_port "$port" "$pid" || die "$name did not come up on port $port (see $LOG/$name.log and $LOG/$name.out)"
        done
        say "started $name (pid $pid, port ${ports//,/, })"
    done
    cat <<MSG

TeamTalk is running on this machine.
  login_server  http://127.0.0.1:8080/msg_server   (clients ask here which msg_server to use)
  msg_server    127.0.0.1:8000                     (TeamTalk PDU protocol)
  msfs          http://127.0.0.1:8700/             (images, voice)
  http API      http://127.0.0.1:8400/api/v1/ (docs/HTTP_API.md)   file_server 127.0.0.1:8600
  MariaDB       127.0.0.1:3306 database teamtalk   Redis 127.0.0.1:6379
Demo users TT001 ... TT100, password ${TT_DEMO_PASSWORD:-test123}.
Point a TeamTalk client's login server at http://<this host>:8080/msg_server
(set IpAddr1 in conf/msgserver.conf and the msfs URL in conf/loginserver.conf to an address
the client can reach). The daemons share the secret in $VAR/daemon_secret (they run with
$VAR/conf/, copies of conf/ plus DaemonSecretFile). Logs: $LOG   Stop everything: make stop
MSG
    if [ -s "$VAR/api_secret" ] && grep -q '^ApiKey1=demo:' "$VAR/conf/httpmsgserver.conf"; then
        cat <<MSG
The API key "demo" (every permission) has its secret in $VAR/api_secret; for example:
  scripts/hs_call.sh http://127.0.0.1:8400 /api/v1/user/online demo "\$(cat $VAR/api_secret)" '{"user_ids":[1,2]}'
MSG
    fi
}

stop() {
    local i entry name pid deadline
    for (( i=${#DAEMONS[@]}-1; i>=0; i-- )); do
        IFS=: read -r name _ _ <<<"${DAEMONS[$i]}"
        pid=$(pid_of "$name")
        if alive "$pid"; then
            kill -TERM "$pid"
            deadline=$(( SECONDS + 10 ))
            while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
            if alive "$pid"; then kill -KILL "$pid"; say "killed $name (pid $pid)"; else
                say "stopped $name (pid $pid)"; fi
        fi
        rm -f "$RUN/$name.pid"
    done
    if [ -x "$ROOT/scripts/stack.sh" ]; then "$ROOT/scripts/stack.sh" stop-db --dir "$VAR"; fi
}

status() {
    local entry name pid
    for entry in "${DAEMONS[@]}"; do
        IFS=: read -r name _ _ <<<"$entry"
        pid=$(pid_of "$name")
        if alive "$pid"; then say "$name: running (pid $pid)"; else say "$name: stopped"; fi
    done
    "$ROOT/scripts/stack.sh" status --dir "$VAR" || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start [BUILD_DIR] | stop | status" ;;
esac
