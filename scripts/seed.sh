#!/usr/bin/env bash
# Seeds the demo company into an empty `teamtalk` database: five departments and the users
# TT001 ... TT100, password "test123" (or $TT_DEMO_PASSWORD). Passwords are written in the
# original TeamTalk format, md5(md5(plain) . salt); db_proxy_server upgrades each one to its
# salted KDF format at the user's first login. Does nothing when users already exist.
# Connects as root over the socket in $TT_SOCK (set by scripts/stack.sh).
set -euo pipefail
: "${TT_SOCK:?TT_SOCK must name the MariaDB socket}"
q() { mariadb --no-defaults --protocol=SOCKET --socket="$TT_SOCK" -uroot -N teamtalk "$@"; }

if [ "$(q -e 'SELECT COUNT(*) FROM IMUser')" != 0 ]; then
    echo "seed: users exist, nothing to do"
    exit 0
fi
password=${TT_DEMO_PASSWORD:-test123}
# The client sends md5hex(plain); the database keeps md5hex(that . salt). Only hex reaches SQL.
client_md5=$(printf '%s' "$password" | md5sum | cut -d' ' -f1)
now=$(date +%s)
{
    echo "INSERT INTO IMDepart (id, departName, priority, parentId, status, created, updated) VALUES"
    echo " (1,'Demo Company',0,0,0,$now,$now), (2,'Engineering',1,1,0,$now,$now),"
    echo " (3,'Sales',2,1,0,$now,$now), (4,'Support',3,1,0,$now,$now), (5,'Management',4,1,0,$now,$now);"
    echo "INSERT INTO IMUser (id, sex, name, domain, nick, password, salt, phone, email, avatar,"
    echo " departId, status, created, updated, push_shield_status, sign_info) VALUES"
    for i in $(seq 1 100); do
        name=$(printf 'TT%03d' "$i")
        salt=$(( (i * 7919) % 10000 ))
        stored=$(printf '%s%s' "$client_md5" "$salt" | md5sum | cut -d' ' -f1)
        dept=$(( 2 + (i - 1) % 4 ))
        [ "$i" -le 2 ] && dept=5
        sex=$(( 1 + i % 2 ))
        sep=","; [ "$i" = 100 ] && sep=";"
        printf " (%d,%d,'%s','%s','User %03d','%s','%s','','%s@example.com','',%d,0,%d,%d,0,'')%s\n" \
            "$i" "$sex" "$name" "${name,,}" "$i" "$stored" "$salt" "${name,,}" "$dept" "$now" "$now" "$sep"
    done
} | q
echo "seed: 5 departments, users TT001..TT100 (password from TT_DEMO_PASSWORD or test123)"
