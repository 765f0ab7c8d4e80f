# shellcheck shell=bash
# Shared shell helpers for the local stack (scripts/stack.sh). Source it, don't run it:
#
#   source scripts/lib.sh
#   tt_use_stack [DIR]          # DIR defaults to $TT_VAR_DIR or <repo>/var
#   tt_mysql -e 'SELECT COUNT(*) FROM IMUser'      # teamtalk@127.0.0.1 over TCP, database teamtalk
#   tt_mysql_root -e 'SHOW DATABASES'              # root over the instance's own unix socket
#   tt_redis ping                                  # redis-cli against the instance
#
# tt_use_stack reads the ports the stack was started with from DIR/run/stack.env and sets:
#   TT_VAR_DIR TT_MYSQL_HOST TT_MYSQL_PORT TT_MYSQL_SOCK TT_DB_NAME TT_DB_USER TT_DB_PASSWORD
#   TT_REDIS_HOST TT_REDIS_PORT
# Values already set (TT_MYSQL_PORT, TT_REDIS_PORT, TT_DB_PASSWORD) win over the defaults but not
# over what stack.env recorded. Nothing is exported (export them yourself for child processes;
# note that scripts/stack.sh start-db reads TT_VAR_DIR/TT_MYSQL_PORT/TT_REDIS_PORT as settings).
# Every client call passes --no-defaults so no /etc/mysql or ~/.my.cnf setting can interfere.
# This file sets no shell options and never exits: functions only return statuses.

TT_ROOT=${TT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}

# tt_use_stack [DIR]: select the stack instance whose runtime directory is DIR.
tt_use_stack() {
    local dir=${1:-${TT_VAR_DIR:-$TT_ROOT/var}} key value
    if [ -d "$dir" ]; then dir=$(cd -P "$dir" && pwd -P); fi
    TT_VAR_DIR=$dir
    TT_MYSQL_HOST=127.0.0.1
    TT_REDIS_HOST=127.0.0.1
    TT_MYSQL_PORT=${TT_MYSQL_PORT:-3306}
    TT_REDIS_PORT=${TT_REDIS_PORT:-6379}
    TT_MYSQL_SOCK=$dir/mysql/mysqld.sock
    TT_DB_NAME=teamtalk
    TT_DB_USER=teamtalk
    TT_DB_PASSWORD=${TT_DB_PASSWORD:-teamtalk}
    if [ -r "$dir/run/stack.env" ]; then
        while IFS='=' read -r key value; do
            case "$key" in
                TT_MYSQL_PORT) TT_MYSQL_PORT=$value ;;
                TT_REDIS_PORT) TT_REDIS_PORT=$value ;;
            esac
        done <"$dir/run/stack.env"
    fi
    TT_STACK_SELECTED=1
}

# tt_mysql [mariadb client args...]: the application account over TCP, like the daemons connect.
# The password travels in MYSQL_PWD (not on the command line, so it is not visible in ps).
tt_mysql() {
    [ -n "${TT_STACK_SELECTED:-}" ] || tt_use_stack ""
    MYSQL_PWD=$TT_DB_PASSWORD mariadb --no-defaults --protocol=TCP -h "$TT_MYSQL_HOST" \
        -P "$TT_MYSQL_PORT" -u "$TT_DB_USER" --default-character-set=utf8mb4 "$TT_DB_NAME" "$@"
}

# tt_mysql_root [mariadb client args...]: root (unix_socket authentication) over the instance's
# own socket; no database selected. Needs to run as root.
tt_mysql_root() {
    [ -n "${TT_STACK_SELECTED:-}" ] || tt_use_stack ""
    mariadb --no-defaults --protocol=SOCKET --socket="$TT_MYSQL_SOCK" -u root \
        --default-character-set=utf8mb4 "$@"
}

# tt_redis [redis-cli args...]
tt_redis() {
    [ -n "${TT_STACK_SELECTED:-}" ] || tt_use_stack ""
    redis-cli -h "$TT_REDIS_HOST" -p "$TT_REDIS_PORT" "$@"
}

# tt_port_listening PORT: true if anything listens on TCP PORT (any address).
tt_port_listening() {
    if command -v ss >/dev/null 2>&1; then
        ss -Htln "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# tt_pid_alive PID: true if PID names a live process.
tt_pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# tt_md5 STRING: lowercase hex MD5 of the bytes of STRING.
tt_md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# tt_sql_quote STRING: STRING as a MariaDB single-quoted literal (backslash and quote escaped).
tt_sql_quote() {
    local s=${1//\\/\\\\}
    s=${s//\'/\\\'}
    printf "'%s'" "$s"
}
