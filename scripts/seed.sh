#!/usr/bin/env bash
# Seeds the demo company into the `teamtalk` database of a stack started by scripts/stack.sh
# (which runs this at every start-db):
#   scripts/seed.sh [--dir DIR]        DIR as for stack.sh (default $TT_VAR_DIR or <repo>/var)
#
#   departments  1 "TeamTalk 演示公司" (top level, parentId 0) and four sub-departments 2..5
#   users        TT001 ... TT100 (ids 1..100): name TT001, nick "User 001", domain tt001,
#                email tt001@example.com, empty phone, sex 1/2 alternating, status 0, spread
#                round-robin over departments 2..5, created = updated = now
#   password     test123, or $TT_DEMO_PASSWORD
#
# Passwords are stored in the ORIGINAL TeamTalk format (PROTOCOL.md §6.4):
#   IMUser.password = lowercase hex md5( md5hex(plain) . salt ),  IMUser.salt = decimal 0..9999
# (salt derived from the user id, so the data set is reproducible). The hashes are computed here
# with md5sum; only hex digits and fixed text reach the SQL, so TT_DEMO_PASSWORD cannot inject.
#
# Idempotent: does nothing when IMUser already has rows; everything is inserted in one
# transaction with explicit ids, so a half-done seed cannot happen and a concurrent one fails
# on the primary key instead of duplicating.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=lib.sh
source "$ROOT/scripts/lib.sh"

dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || { echo "seed: --dir needs a value" >&2; exit 2; }; dir=$2; shift 2 ;;
        --dir=*) dir=${1#*=}; shift ;;
        -h|--help) sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
        *) echo "seed: unknown option $1" >&2; exit 2 ;;
    esac
done
tt_use_stack "$dir"
# Compatibility with callers that name the socket directly.
if [ -n "${TT_SOCK:-}" ]; then TT_MYSQL_SOCK=$TT_SOCK; fi

q() { tt_mysql_root -N teamtalk "$@"; }

users=$(q -e 'SELECT COUNT(*) FROM IMUser') || { echo "seed: cannot query IMUser" >&2; exit 1; }
if [ "$users" != 0 ]; then
    echo "seed: IMUser already has $users users; nothing to do"
    exit 0
fi

password=${TT_DEMO_PASSWORD:-test123}
client_md5=$(tt_md5 "$password")            # what a TeamTalk client sends at login
[[ $client_md5 =~ ^[0-9a-f]{32}$ ]] || { echo "seed: md5sum failed" >&2; exit 1; }
now=$(date +%s)

DEPARTS=(
    # id|name|priority|parentId
    "1|TeamTalk 演示公司|0|0"
    "2|研发部 Engineering|1|1"
    "3|产品部 Product|2|1"
    "4|市场部 Marketing|3|1"
    "5|客服部 Support|4|1"
)

{
    echo "SET NAMES utf8mb4;"
    echo "START TRANSACTION;"
    echo "INSERT INTO IMDepart (id, departName, priority, parentId, status, created, updated) VALUES"
    sep=","
    for (( k = 0; k < ${#DEPARTS[@]}; k++ )); do
        IFS='|' read -r id dname prio parent <<<"${DEPARTS[$k]}"
        [ "$k" = $(( ${#DEPARTS[@]} - 1 )) ] && sep=""
        printf " (%d, '%s', %d, %d, 0, %d, %d)%s\n" "$id" "$dname" "$prio" "$parent" "$now" "$now" "$sep"
    done
    # Departments an administrator already created are kept as they are.
    echo "ON DUPLICATE KEY UPDATE id = id;"
    echo "INSERT INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar,"
    echo "    departId, status, created, updated, push_shield_status, sign_info) VALUES"
    for (( i = 1; i <= 100; i++ )); do
        name=$(printf 'TT%03d' "$i")
        salt=$(( (i * 7919) % 10000 ))
        stored=$(tt_md5 "$client_md5$salt")
        dept=$(( 2 + (i - 1) % 4 ))
        sex=$(( i % 2 == 1 ? 1 : 2 ))
        sep=","; [ "$i" = 100 ] && sep=";"
        printf " (%d, %d, '%s', '%s', 'User %03d', '%s', '%s', '', '%s@example.com', '', %d, 0, %d, %d, 0, '')%s\n" \
            "$i" "$sex" "$name" "${name,,}" "$i" "$stored" "$salt" "${name,,}" "$dept" "$now" "$now" "$sep"
    done
    echo "COMMIT;"
} | q

if [ -n "${TT_DEMO_PASSWORD:-}" ]; then pwinfo="from TT_DEMO_PASSWORD"; else pwinfo="test123"; fi
echo "seed: ${#DEPARTS[@]} departments, users TT001..TT100 (password $pwinfo)"
