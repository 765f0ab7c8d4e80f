#!/usr/bin/env bash
# The local infrastructure: a private MariaDB and Redis, started as plain background processes
# (never the system services) with all their files under one runtime directory.
#
#   scripts/stack.sh start-db [--dir DIR] [--mysql-port P] [--redis-port P]
#   scripts/stack.sh stop-db  [--dir DIR]
#   scripts/stack.sh status   [--dir DIR]
#
# DIR     --dir, else $TT_VAR_DIR, else <repo>/var
# ports   --mysql-port/--redis-port, else $TT_MYSQL_PORT/$TT_REDIS_PORT, else the ports DIR was
#         last started with (DIR/run/stack.env), else 3306 / 6379. Both listen on 127.0.0.1 only.
#         (status/stop-db prefer the recorded ports over the environment.)
#
# start-db initialises MariaDB on first use, starts both daemons, creates the database
# `teamtalk` (utf8mb4) and the account teamtalk@127.0.0.1 / teamtalk@localhost with password
# $TT_DB_PASSWORD (default teamtalk), loads sql/schema.sql, applies sql/migrations/NNN_*.sql not
# yet recorded in tt_schema_migrations, and seeds the demo company (scripts/seed.sh; skipped when
# TT_NO_SEED=1). Running it again while the stack is up is harmless. It refuses to start when a
# port is held by anything but this DIR's own daemons.
# stop-db stops exactly the daemons recorded in DIR/run/*.pid (after checking that each pid
# still is our daemon), SIGTERM first, SIGKILL after a timeout.
# status  prints what runs; exit status 0 when both daemons run, 3 otherwise.
#
# Layout: DIR/mysql/data (datadir), DIR/mysql/mysqld.sock, DIR/mysql/mysqld.pid, DIR/redis
# (AOF), DIR/log/{mariadb.err,redis.log,...}, DIR/run/{mariadb.pid,redis.pid,stack.env}.
# Other scripts get the connection settings with:  source scripts/lib.sh; tt_use_stack DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=lib.sh
source "$ROOT/scripts/lib.sh"

MYSQL_START_TIMEOUT=${TT_MYSQL_START_TIMEOUT:-90}
# InnoDB memory and redo log: small by default (tests start many private servers); a server
# taking real load wants more (bench/run-local.sh raises them).
INNODB_BUFFER_POOL=${TT_INNODB_BUFFER_POOL:-64M}
INNODB_LOG_FILE=${TT_INNODB_LOG_FILE:-32M}
REDIS_START_TIMEOUT=30
MYSQL_STOP_TIMEOUT=60
REDIS_STOP_TIMEOUT=30

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
usage() {
    sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------- arguments
cmd=${1:-}
[ $# -gt 0 ] && shift
opt_dir="" opt_mysql_port="" opt_redis_port=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || usage; opt_dir=$2; shift 2 ;;
        --dir=*) opt_dir=${1#*=}; shift ;;
        --mysql-port) [ $# -ge 2 ] || usage; opt_mysql_port=$2; shift 2 ;;
        --mysql-port=*) opt_mysql_port=${1#*=}; shift ;;
        --redis-port) [ $# -ge 2 ] || usage; opt_redis_port=$2; shift 2 ;;
        --redis-port=*) opt_redis_port=${1#*=}; shift ;;
        -h|--help) usage ;;
        *) printf 'stack: unknown option %s\n' "$1" >&2; usage ;;
    esac
done
case "$cmd" in start-db|stop-db|status) ;; -h|--help|"") usage ;; *) printf 'stack: unknown command %s\n' "$cmd" >&2; usage ;; esac

DIR=${opt_dir:-${TT_VAR_DIR:-$ROOT/var}}
[ -n "$DIR" ] || die "empty --dir"
case "$DIR" in *[[:space:]]*) die "DIR must not contain whitespace: '$DIR'" ;; esac
if [ "$cmd" = start-db ]; then mkdir -p "$DIR"; fi
if [ -d "$DIR" ]; then DIR=$(cd -P "$DIR" && pwd -P); fi
RUN=$DIR/run
LOG=$DIR/log
MYDIR=$DIR/mysql
DATA=$MYDIR/data
SOCK=$MYDIR/mysqld.sock
MY_PIDFILE=$MYDIR/mysqld.pid
RDIR=$DIR/redis
R_PIDFILE=$RDIR/redis-server.pid
DB_PASSWORD=${TT_DB_PASSWORD:-teamtalk}

recorded() { # recorded KEY: value of KEY in DIR/run/stack.env, or nothing
    local key value
    [ -r "$RUN/stack.env" ] || return 0
    while IFS='=' read -r key value; do
        if [ "$key" = "$1" ]; then printf '%s' "$value"; return 0; fi
    done <"$RUN/stack.env"
}
if [ "$cmd" = start-db ]; then
    # what the caller asks for, else what this DIR used last time
    MYSQL_PORT=${opt_mysql_port:-${TT_MYSQL_PORT:-$(recorded TT_MYSQL_PORT)}}
    REDIS_PORT=${opt_redis_port:-${TT_REDIS_PORT:-$(recorded TT_REDIS_PORT)}}
else
    # status/stop-db describe what runs: the ports it was started with come first
    MYSQL_PORT=${opt_mysql_port:-$(recorded TT_MYSQL_PORT)}
    MYSQL_PORT=${MYSQL_PORT:-${TT_MYSQL_PORT:-}}
    REDIS_PORT=${opt_redis_port:-$(recorded TT_REDIS_PORT)}
    REDIS_PORT=${REDIS_PORT:-${TT_REDIS_PORT:-}}
fi
MYSQL_PORT=${MYSQL_PORT:-3306}
REDIS_PORT=${REDIS_PORT:-6379}
for p in "$MYSQL_PORT" "$REDIS_PORT"; do
    if ! [[ $p =~ ^[0-9]{1,5}$ ]] || (( 10#$p < 1 || 10#$p > 65535 )); then die "invalid port '$p'"; fi
done
MYSQL_PORT=$((10#$MYSQL_PORT)) REDIS_PORT=$((10#$REDIS_PORT))
[ "$MYSQL_PORT" != "$REDIS_PORT" ] || die "MariaDB and Redis cannot share port $MYSQL_PORT"

# lib.sh helpers (tt_mysql_root, tt_mysql, tt_redis) talk to this instance.
TT_VAR_DIR=$DIR TT_MYSQL_HOST=127.0.0.1 TT_REDIS_HOST=127.0.0.1 TT_MYSQL_SOCK=$SOCK
TT_MYSQL_PORT=$MYSQL_PORT TT_REDIS_PORT=$REDIS_PORT TT_DB_NAME=teamtalk TT_DB_USER=teamtalk
TT_DB_PASSWORD=$DB_PASSWORD TT_STACK_SELECTED=1

# ---------------------------------------------------------------- processes
# is_ours NAME PID: PID is alive and is this DIR's daemon NAME (checked via /proc: executable
# name and working directory, which both daemons set to their data directory).
is_ours() {
    local name=$1 pid=${2:-} comm cwd
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    tt_pid_alive "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    case "$name" in
        mariadb) [[ $comm == mariadbd || $comm == mysqld ]] && [ "$cwd" = "$DATA" ] ;;
        redis) [[ $comm == redis-server ]] && [ "$cwd" = "$RDIR" ] ;;
        *) return 1 ;;
    esac
}

# our_pid NAME: prints the pid of this DIR's running daemon NAME (from our pid file, or the
# daemon's own pid file), or nothing.
our_pid() {
    local f pid files
    case "$1" in
        mariadb) files=("$RUN/mariadb.pid" "$MY_PIDFILE" "$MYDIR/mariadbd.pid") ;;
        redis) files=("$RUN/redis.pid" "$R_PIDFILE") ;;
    esac
    for f in "${files[@]}"; do
        [ -s "$f" ] || continue
        pid=$(head -n1 "$f" 2>/dev/null | tr -dc 0-9)
        if is_ours "$1" "$pid"; then printf '%s' "$pid"; return 0; fi
    done
    return 0
}

# wait_ready SECONDS PID command...: until the command succeeds; fails early when PID dies.
wait_ready() {
    local deadline=$(( SECONDS + $1 )) pid=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        tt_pid_alive "$pid" || return 2
        (( SECONDS < deadline )) || return 1
        sleep 0.2
    done
}

# terminate NAME PID TIMEOUT: SIGTERM, wait, SIGKILL; returns when the process is gone.
terminate() {
    local name=$1 pid=$2 deadline=$(( SECONDS + $3 ))
    kill -TERM "$pid" 2>/dev/null || true
    while tt_pid_alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
    if tt_pid_alive "$pid"; then
        say "$name (pid $pid) did not stop within $3 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(( SECONDS + 10 ))
        while tt_pid_alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
        tt_pid_alive "$pid" && { say "$name (pid $pid) survived SIGKILL"; return 1; }
    fi
    return 0
}

mysql_ping() { mariadb-admin --no-defaults --protocol=SOCKET --socket="$SOCK" -uroot ping; }
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

# ---------------------------------------------------------------- MariaDB
init_mariadb() {
    [ -d "$DATA/mysql" ] && return 0
    if [ -d "$DATA" ] && [ -n "$(ls -A "$DATA")" ]; then
        die "$DATA exists but holds no MariaDB system tables; move it away or remove it"
    fi
    local t0=$SECONDS tmp=$MYDIR/data.init
    say "initialising MariaDB data directory $DATA"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # The unix_socket plugin lets the system root in as MariaDB root; nothing listens yet.
    if ! mariadb-install-db --no-defaults --user=root --datadir="$tmp" \
            --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
            9>&- >"$LOG/mariadb-install.log" 2>&1; then
        tail -n 20 "$LOG/mariadb-install.log" >&2 || true
        die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
    fi
    rmdir "$DATA" 2>/dev/null || true
    mv "$tmp" "$DATA"
    say "initialised in $(( SECONDS - t0 )) s"
}

start_mariadb() {
    local pid was
    pid=$(our_pid mariadb)
    if [ -n "$pid" ]; then
        was=$(recorded TT_MYSQL_PORT)
        if [ -n "$was" ] && [ "$was" != "$MYSQL_PORT" ]; then
            die "MariaDB of $DIR already runs on port $was (pid $pid), not $MYSQL_PORT; stop it first (stop-db) or use --mysql-port $was"
        fi
        echo "$pid" >"$RUN/mariadb.pid"
        mysql_ping >/dev/null 2>&1 || die "MariaDB (pid $pid) is running but does not answer on $SOCK"
        say "MariaDB already running (pid $pid, 127.0.0.1:$MYSQL_PORT)"
        return 0
    fi
    if tt_port_listening "$MYSQL_PORT"; then
        die "port $MYSQL_PORT is already in use by another process (not the MariaDB of $DIR); stop it or choose another port with --mysql-port"
    fi
    init_mariadb
    rm -f "$RUN/mariadb.pid" "$MY_PIDFILE"
    # Its own temp dir, not the shared /tmp: nothing else on the machine may clean it under it.
    mkdir -p "$MYDIR/tmp"
    say "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
    # setsid: the daemon gets its own session, so signals aimed at the caller's process group
    # (Ctrl-C, a test runner's group kill) don't reach it; fd 9 (our lock) is not inherited.
    setsid mariadbd --no-defaults --user=root \
        --datadir="$DATA" --tmpdir="$MYDIR/tmp" --socket="$SOCK" --pid-file="$MY_PIDFILE" \
        --port="$MYSQL_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --log-error="$LOG/mariadb.err" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
        --performance-schema=OFF --innodb-buffer-pool-size="$INNODB_BUFFER_POOL" --innodb-log-file-size="$INNODB_LOG_FILE" \
        --innodb-flush-log-at-trx-commit=1 --max-connections=300 \
        --key-buffer-size=8M --table-open-cache=400 --max-allowed-packet=16M \
        9>&- </dev/null >>"$LOG/mariadb.out" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/mariadb.pid"
    local rc=0
    wait_ready "$MYSQL_START_TIMEOUT" "$pid" mysql_ping || rc=$?
    if [ "$rc" = 0 ]; then
        wait_ready 15 "$pid" tt_port_listening "$MYSQL_PORT" || rc=$?
    fi
    if [ "$rc" != 0 ]; then
        tt_pid_alive "$pid" && terminate mariadb "$pid" 10
        rm -f "$RUN/mariadb.pid"
        tail -n 20 "$LOG/mariadb.err" >&2 2>/dev/null || true
        if [ "$rc" = 2 ]; then die "MariaDB exited during start-up (see $LOG/mariadb.err)"; fi
        die "MariaDB did not answer within $MYSQL_START_TIMEOUT s (see $LOG/mariadb.err)"
    fi
    STARTED+=("mariadb $pid")
    write_env
    say "MariaDB running (pid $pid)"
}

# ---------------------------------------------------------------- Redis
start_redis() {
    local pid was
    pid=$(our_pid redis)
    if [ -n "$pid" ]; then
        was=$(recorded TT_REDIS_PORT)
        if [ -n "$was" ] && [ "$was" != "$REDIS_PORT" ]; then
            die "Redis of $DIR already runs on port $was (pid $pid), not $REDIS_PORT; stop it first (stop-db) or use --redis-port $was"
        fi
        echo "$pid" >"$RUN/redis.pid"
        redis_ping || die "Redis (pid $pid) is running but does not answer PING on port $REDIS_PORT"
        say "Redis already running (pid $pid, 127.0.0.1:$REDIS_PORT)"
        return 0
    fi
    if tt_port_listening "$REDIS_PORT"; then
        die "port $REDIS_PORT is already in use by another process (not the Redis of $DIR); stop it or choose another port with --redis-port"
    fi
    mkdir -p "$RDIR"
    rm -f "$RUN/redis.pid" "$R_PIDFILE"
    say "starting Redis on 127.0.0.1:$REDIS_PORT"
    # Durability: append-only file fsynced every second (RDB snapshots off; the AOF is rewritten
    # automatically when it doubles).
    setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
        --dir "$RDIR" --pidfile "$R_PIDFILE" --logfile "$LOG/redis.log" --daemonize no \
        --appendonly yes --appendfsync everysec --save "" --databases 16 \
        9>&- </dev/null >>"$LOG/redis.out" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/redis.pid"
    local rc=0
    wait_ready "$REDIS_START_TIMEOUT" "$pid" redis_ping || rc=$?
    if [ "$rc" != 0 ]; then
        tt_pid_alive "$pid" && terminate redis "$pid" 10
        rm -f "$RUN/redis.pid"
        tail -n 20 "$LOG/redis.log" "$LOG/redis.out" >&2 2>/dev/null || true
        if [ "$rc" = 2 ]; then die "Redis exited during start-up (see $LOG/redis.log)"; fi
        die "Redis did not answer PING within $REDIS_START_TIMEOUT s (see $LOG/redis.log)"
    fi
    STARTED+=("redis $pid")
    write_env
    say "Redis running (pid $pid)"
}

# ---------------------------------------------------------------- database content
setup_database() {
    local pw
    pw=$(tt_sql_quote "$DB_PASSWORD")
    # ALTER USER makes a changed TT_DB_PASSWORD take effect on an existing data directory.
    tt_mysql_root <<SQL || die "creating the database and the teamtalk account failed"
CREATE DATABASE IF NOT EXISTS teamtalk DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'teamtalk'@'127.0.0.1' IDENTIFIED BY $pw;
CREATE USER IF NOT EXISTS 'teamtalk'@'localhost' IDENTIFIED BY $pw;
ALTER USER 'teamtalk'@'127.0.0.1' IDENTIFIED BY $pw;
ALTER USER 'teamtalk'@'localhost' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON teamtalk.* TO 'teamtalk'@'127.0.0.1';
GRANT ALL PRIVILEGES ON teamtalk.* TO 'teamtalk'@'localhost';
SQL
    tt_mysql_root teamtalk <"$ROOT/sql/schema.sql" || die "loading sql/schema.sql failed"
}

# apply_migrations: every sql/migrations/NNN_*.sql whose number is not in tt_schema_migrations,
# in numeric order; each is recorded after it ran successfully.
apply_migrations() {
    local f name num v applied list=()
    tt_mysql_root teamtalk -e "CREATE TABLE IF NOT EXISTS tt_schema_migrations (
        version INT PRIMARY KEY, applied INT UNSIGNED NOT NULL) ENGINE=InnoDB"
    applied=$(tt_mysql_root -N teamtalk -e "SELECT version FROM tt_schema_migrations")
    for f in "$ROOT"/sql/migrations/*.sql; do
        [ -e "$f" ] || continue
        name=${f##*/}
        num=${name%%_*}
        [[ $num =~ ^[0-9]+$ && $name == *_*.sql ]] || die "migration file name must be NNN_description.sql: $name"
        list+=("$((10#$num)) $f")
    done
    [ ${#list[@]} -gt 0 ] || return 0
    local dups
    dups=$(printf '%s\n' "${list[@]}" | cut -d' ' -f1 | sort -n | uniq -d)
    [ -z "$dups" ] || die "two migration files share the number(s): $dups"
    while read -r v f; do
        if grep -qx "$v" <<<"$applied"; then continue; fi
        tt_mysql_root teamtalk <"$f" || die "migration ${f##*/} failed; nothing recorded for it"
        tt_mysql_root teamtalk -e "INSERT INTO tt_schema_migrations (version, applied) VALUES ($v, UNIX_TIMESTAMP())"
        say "applied migration ${f##*/}"
    done < <(printf '%s\n' "${list[@]}" | sort -n -k1,1)
}

write_env() {
    local tmp=$RUN/stack.env.tmp
    printf 'TT_VAR_DIR=%s\nTT_MYSQL_PORT=%s\nTT_REDIS_PORT=%s\nTT_MYSQL_SOCK=%s\n' \
        "$DIR" "$MYSQL_PORT" "$REDIS_PORT" "$SOCK" >"$tmp"
    mv -f "$tmp" "$RUN/stack.env"
}

lock() {
    exec 9>"$RUN/stack.lock"
    flock -w 300 9 || die "another stack.sh is working on $DIR (lock $RUN/stack.lock)"
}

# ---------------------------------------------------------------- commands
# Daemons started by this start-db; stopped again if start-db fails later on, so a failed start
# leaves nothing running that was not running before.
STARTED=()
rollback() {
    local rc=$? entry name pid
    [ "$rc" != 0 ] || return 0
    for entry in "${STARTED[@]}"; do
        read -r name pid <<<"$entry"
        if is_ours "$name" "$pid"; then
            say "start-db failed: stopping the $name it started (pid $pid)"
            terminate "$name" "$pid" 30 || true
            rm -f "$RUN/$name.pid"
        fi
    done
    exit "$rc"
}

start_db() {
    local t0=$SECONDS
    if ! command -v mariadbd >/dev/null || ! command -v redis-server >/dev/null; then
        die "mariadbd / redis-server not found; run scripts/install-deps.sh"
    fi
    # A unix socket path is limited to 107 bytes.
    (( ${#SOCK} <= 100 )) || die "socket path $SOCK is too long; use a shorter --dir"
    mkdir -p "$RUN" "$LOG" "$MYDIR"
    lock
    trap rollback EXIT
    start_mariadb
    start_redis
    write_env
    setup_database
    apply_migrations
    if [ "${TT_NO_SEED:-0}" != 1 ]; then
        "$ROOT/scripts/seed.sh" --dir "$DIR" 9>&- || die "seeding failed"
    fi
    trap - EXIT
    say "ready in $(( SECONDS - t0 )) s"
    cat <<EOF
  MariaDB  127.0.0.1:$MYSQL_PORT  database teamtalk  user teamtalk  password \$TT_DB_PASSWORD (default teamtalk)
           root: mariadb --no-defaults --socket=$SOCK -uroot
  Redis    127.0.0.1:$REDIS_PORT
  files    $DIR  (logs in $LOG, pids in $RUN)
  clients  source $ROOT/scripts/lib.sh; tt_use_stack $DIR; tt_mysql -e 'SELECT COUNT(*) FROM IMUser'
  stop     $ROOT/scripts/stack.sh stop-db --dir $DIR
EOF
}

stop_one() { # stop_one NAME TIMEOUT
    local name=$1 pid stale
    pid=$(our_pid "$name")
    if [ -n "$pid" ]; then
        terminate "$name" "$pid" "$2" || die "could not stop $name (pid $pid)"
        say "stopped $name (pid $pid)"
    else
        stale=$(cat "$RUN/$name.pid" 2>/dev/null || true)
        if tt_pid_alive "$stale"; then
            say "pid $stale in $RUN/$name.pid is not the $name of $DIR; left alone"
        else
            say "$name was not running"
        fi
    fi
    rm -f "$RUN/$name.pid"
}

stop_db() {
    if [ ! -d "$RUN" ]; then say "nothing runs from $DIR"; return 0; fi
    lock
    stop_one redis "$REDIS_STOP_TIMEOUT"
    stop_one mariadb "$MYSQL_STOP_TIMEOUT"
}

status() {
    local pid up=0
    say "directory $DIR"
    pid=$(our_pid mariadb)
    if [ -n "$pid" ]; then
        if mysql_ping >/dev/null 2>&1; then
            say "mariadb: running (pid $pid, 127.0.0.1:$MYSQL_PORT, answers ping)"; up=$((up + 1))
        else
            say "mariadb: running (pid $pid, 127.0.0.1:$MYSQL_PORT) but does not answer ping"
        fi
    else
        say "mariadb: stopped"
    fi
    pid=$(our_pid redis)
    if [ -n "$pid" ]; then
        if redis_ping; then
            say "redis: running (pid $pid, 127.0.0.1:$REDIS_PORT, answers PING)"; up=$((up + 1))
        else
            say "redis: running (pid $pid, 127.0.0.1:$REDIS_PORT) but does not answer PING"
        fi
    else
        say "redis: stopped"
    fi
    [ "$up" = 2 ] || return 3
}

case "$cmd" in
    start-db) start_db ;;
    stop-db) stop_db ;;
    status) status ;;
esac
