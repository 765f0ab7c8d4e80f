#!/usr/bin/env bash
# A private MariaDB and Redis, started as plain processes with their data under a directory of
# ours (never the system services), for `make run` and for the integration tests.
#   scripts/stack.sh start-db [--dir DIR] [--mysql-port P] [--redis-port P]
#   scripts/stack.sh stop-db  [--dir DIR]
#   scripts/stack.sh status   [--dir DIR]
# Defaults: DIR=<repo>/var, MariaDB 127.0.0.1:3306, Redis 127.0.0.1:6379 (env TT_VAR_DIR,
# TT_MYSQL_PORT, TT_REDIS_PORT). The database `teamtalk` gets the schema, the migrations and
# the demo company (scripts/seed.sh); the daemons log in as teamtalk / $TT_DB_PASSWORD
# (default teamtalk). Ports are remembered in DIR/run/stack.env.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TT_VAR_DIR:-$ROOT/var}
MYSQL_PORT=${TT_MYSQL_PORT:-3306}
REDIS_PORT=${TT_REDIS_PORT:-6379}
DB_PASSWORD=${TT_DB_PASSWORD:-teamtalk}

cmd=${1:-}
shift || true
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR=$2; shift 2 ;;
        --mysql-port) MYSQL_PORT=$2; shift 2 ;;
        --redis-port) REDIS_PORT=$2; shift 2 ;;
        *) echo "stack: unknown option $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
RUN=$DIR/run
LOG=$DIR/log
MYDIR=$DIR/mysql
RDIR=$DIR/redis
SOCK=$MYDIR/mysqld.sock

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$RUN/$1.pid" ] && cat "$RUN/$1.pid" || true; }
listening() { ss -Htln "sport = :$1" | grep -q .; }

# Runs the mariadb client as root over our own socket.
mysql_root() { mariadb --no-defaults --protocol=SOCKET --socket="$SOCK" -uroot "$@"; }

wait_for() { # wait_for SECONDS command...
    local deadline=$(( SECONDS + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        (( SECONDS < deadline )) || return 1
        sleep 0.2
    done
}

start_mariadb() {
    local pid
    pid=$(pid_of mariadb)
    if alive "$pid"; then say "MariaDB already running (pid $pid, port $MYSQL_PORT)"; return; fi
    listening "$MYSQL_PORT" && die "port $MYSQL_PORT is taken by another process (not our MariaDB); stop it or use --mysql-port"
    if [ ! -d "$MYDIR/data/mysql" ]; then
        say "initialising MariaDB data in $MYDIR/data"
        mkdir -p "$MYDIR/data"
        mariadb-install-db --no-defaults --user=root --datadir="$MYDIR/data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOG/mariadb-install.log)"
    fi
    mariadbd --no-defaults --user=root --datadir="$MYDIR/data" --socket="$SOCK" \
        --pid-file="$MYDIR/mariadbd.pid" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
        --log-error="$LOG/mariadb.err" --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_bin --skip-name-resolve --performance-schema=OFF \
        --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
        --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
        >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/mariadb.pid"
    wait_for 60 mariadb-admin --no-defaults --socket="$SOCK" -uroot ping \
        || die "MariaDB did not start (see $LOG/mariadb.err)"
    wait_for 30 listening "$MYSQL_PORT" || die "MariaDB does not listen on $MYSQL_PORT"
    say "MariaDB running (pid $pid, 127.0.0.1:$MYSQL_PORT)"
}

start_redis() {
    local pid
    pid=$(pid_of redis)
    if alive "$pid"; then say "Redis already running (pid $pid, port $REDIS_PORT)"; return; fi
    listening "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process (not our Redis); stop it or use --redis-port"
    mkdir -p "$RDIR"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RDIR" --daemonize no \
        --logfile "$LOG/redis.log" --appendonly yes --appendfsync everysec --save "" \
        --protected-mode yes >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/redis.pid"
    wait_for 30 redis-cli -p "$REDIS_PORT" ping || die "Redis did not start (see $LOG/redis.log)"
    say "Redis running (pid $pid, 127.0.0.1:$REDIS_PORT)"
}

# Schema, migrations (each once, recorded in tt_schema_migrations) and the demo company.
load_database() {
    local pw=${DB_PASSWORD//\'/\'\'}
    mysql_root <<SQL
CREATE DATABASE IF NOT EXISTS teamtalk DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'teamtalk'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'teamtalk'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON teamtalk.* TO 'teamtalk'@'127.0.0.1';
GRANT ALL PRIVILEGES ON teamtalk.* TO 'teamtalk'@'localhost';
FLUSH PRIVILEGES;
SQL
    mysql_root teamtalk <"$ROOT/sql/schema.sql"
    mysql_root teamtalk -e "CREATE TABLE IF NOT EXISTS tt_schema_migrations (
        version INT PRIMARY KEY, applied INT UNSIGNED NOT NULL) ENGINE=InnoDB"
    local f v
    for f in "$ROOT"/sql/migrations/[0-9][0-9][0-9]_*.sql; do
        [ -e "$f" ] || continue
        v=$(basename "$f"); v=$((10#${v%%_*}))
        if [ -z "$(mysql_root -N teamtalk -e "SELECT 1 FROM tt_schema_migrations WHERE version=$v")" ]; then
            mysql_root teamtalk <"$f"
            mysql_root teamtalk -e "INSERT INTO tt_schema_migrations VALUES ($v, UNIX_TIMESTAMP())"
            say "applied migration $(basename "$f")"
        fi
    done
    TT_SOCK=$SOCK "$ROOT/scripts/seed.sh"
}

start_db() {
    mkdir -p "$RUN" "$LOG"
    start_mariadb
    start_redis
    load_database
    printf 'TT_MYSQL_PORT=%s\nTT_REDIS_PORT=%s\n' "$MYSQL_PORT" "$REDIS_PORT" >"$RUN/stack.env"
    say "MariaDB 127.0.0.1:$MYSQL_PORT database teamtalk user teamtalk; Redis 127.0.0.1:$REDIS_PORT"
}

stop_one() { # stop_one NAME
    local pid deadline
    pid=$(pid_of "$1")
    if alive "$pid"; then
        kill -TERM "$pid"
        deadline=$(( SECONDS + 30 ))
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
        if alive "$pid"; then kill -KILL "$pid"; say "killed $1 (pid $pid)"; else say "stopped $1 (pid $pid)"; fi
    fi
    rm -f "$RUN/$1.pid"
}

status() {
    local n pid
    for n in mariadb redis; do
        pid=$(pid_of $n)
        if alive "$pid"; then say "$n: running (pid $pid)"; else say "$n: stopped"; fi
    done
}

case "$cmd" in
    start-db) start_db ;;
    stop-db) stop_one redis; stop_one mariadb ;;
    status) status ;;
    *) die "usage: $0 start-db|stop-db|status [--dir DIR] [--mysql-port P] [--redis-port P]" ;;
esac
