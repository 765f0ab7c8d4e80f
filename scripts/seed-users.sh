#!/usr/bin/env bash
# Creates benchmark accounts in the `teamtalk` database of a stack started by scripts/stack.sh
# (`make run`'s, or a private one such as bench/run-local.sh's), quickly: one INSERT … SELECT
# over a recursive sequence, a second or two for thousands of accounts.
#
#   scripts/seed-users.sh [--dir DIR] [--from F] --to N
#       DIR as for stack.sh (default $TT_VAR_DIR or <repo>/var); F defaults to 101 (the demo
#       seed, scripts/seed.sh, has TT001..TT100)
#
#   accounts   TT<F> .. TT<N>, named like the seed: TT + the number with at least 3 digits
#              (TT101, TT999, TT1000, TT5000: tt-bench's default --user-pattern TT%03d), id n,
#              nick "User n", domain ttNNN, email ttNNN@example.com, sex 1/2 alternating,
#              departments 2..5 round-robin (the seed's), status 0
#   password   test123, or $TT_DEMO_PASSWORD, stored in the ORIGINAL TeamTalk format
#              (md5(md5hex(plain) . salt), salt = (n * 7919) mod 10000, as scripts/seed.sh):
#              the first login of each account upgrades it to the KDF format (slow: log every
#              account in once before measuring, as bench/run-local.sh does)
#
# Idempotent: accounts whose name exists are left as they are; an account whose id is taken by
# another user is not created and reported (exit 1). Connects as the application account over
# TCP (the port recorded in DIR/run/stack.env, or $TT_MYSQL_PORT).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=lib.sh
source "$ROOT/scripts/lib.sh"

dir="" from=101 to=""
die() { echo "seed-users: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || die "--dir needs a value"; dir=$2; shift 2 ;;
        --from) [ $# -ge 2 ] || die "--from needs a value"; from=$2; shift 2 ;;
        --to) [ $# -ge 2 ] || die "--to needs a value"; to=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
done
[[ $from =~ ^[0-9]+$ ]] && (( from >= 1 )) || die "--from wants a number >= 1"
[[ $to =~ ^[0-9]+$ ]] || die "--to N is required (a number)"
(( to >= from )) || die "--to must be at least --from"
(( to <= 10000000 )) || die "at most 10000000 accounts"
tt_use_stack "$dir"

client_md5=$(tt_md5 "${TT_DEMO_PASSWORD:-test123}")   # what a client sends at login
[[ $client_md5 =~ ^[0-9a-f]{32}$ ]] || { echo "seed-users: md5sum failed" >&2; exit 1; }
name="CONCAT('TT', LPAD(n, GREATEST(3, LENGTH(n)), '0'))"
lower="CONCAT('tt', LPAD(n, GREATEST(3, LENGTH(n)), '0'))"

# Only digits and fixed text reach the SQL (from, to and the md5 are checked above).
out=$(tt_mysql -N -e "
SET SESSION max_recursive_iterations = 100000000;
INSERT IGNORE INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar,
                           departId, status, created, updated, push_shield_status, sign_info)
SELECT n, 1 + n % 2, $name, $lower, CONCAT('User ', n),
       MD5(CONCAT('$client_md5', (n * 7919) % 10000)), (n * 7919) % 10000, '',
       CONCAT($lower, '@example.com'), '', 2 + (n - 1) % 4, 0, UNIX_TIMESTAMP(),
       UNIX_TIMESTAMP(), 0, ''
FROM (WITH RECURSIVE seq(n) AS (SELECT $from UNION ALL SELECT n + 1 FROM seq WHERE n < $to)
      SELECT n FROM seq) AS s
WHERE NOT EXISTS (SELECT 1 FROM IMUser u WHERE u.name = $name);
SELECT ROW_COUNT();
SELECT COUNT(*) FROM (WITH RECURSIVE seq(n) AS
                          (SELECT $from UNION ALL SELECT n + 1 FROM seq WHERE n < $to)
                      SELECT n FROM seq) AS s
WHERE NOT EXISTS (SELECT 1 FROM IMUser u WHERE u.name = $name);") \
    || { echo "seed-users: the insert failed (is the stack running? --dir?)" >&2; exit 1; }
read -r created missing <<<"$(echo $out)"
first=$(printf 'TT%03d' "$from") last=$(printf 'TT%03d' "$to")
echo "seed-users: $first..$last: $created created, $(( to - from + 1 - created - missing )) already there"
if [ "$missing" != 0 ]; then
    echo "seed-users: $missing accounts not created: their ids are taken by other users" >&2
    exit 1
fi
