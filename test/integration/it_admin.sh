#!/usr/bin/env bash
# The administration commands of db_proxy_server (pb/TT.Admin.proto) against the real stack:
# it_admin speaks to db_proxy_server as http_msg_server does (departments and users with
# their errors, logins checked), the rows are checked in MariaDB, the users it made log in on
# a msg_server; then a client logged in on msg_server sends the same commands: no answer,
# nothing written.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
IT=$TT_BUILD/test/it_admin
sql_is() { test "$(sql "$1")" = "$2"; }
t0=$(sql "SELECT UNIX_TIMESTAMP()")

if "$IT" "$P_DB" db >"$TT_TMP/it_db.out" 2>"$TT_TMP/it_db.err"; then
    tt_log "ok: departments and users through db_proxy_server"
else
    tt_fail "departments and users through db_proxy_server"
    grep -v '^ok\|^   ' "$TT_TMP/it_db.out" | head -20
fi
read -r _ ops child top < <(grep '^DEPTS ' "$TT_TMP/it_db.out")
read -r _ carol < <(grep '^CAROL ' "$TT_TMP/it_db.out")
tt_check "the departments: renamed, moved, updated stamped" \
    sql_is "SELECT GROUP_CONCAT(departName, ':', parentId, ':', updated >= $t0 ORDER BY id SEPARATOR ',')
            FROM IMDepart WHERE id IN (${ops:-0}, ${child:-0}, ${top:-0})" \
    "Operations:1:1,Ops child:${top:-x}:1,Top:0:1"
tt_check "the 64-character name is stored whole" \
    sql_is "SELECT CHAR_LENGTH(departName) FROM IMDepart WHERE departName LIKE '部%'" 64
tt_check "no department named orphan, none empty" \
    sql_is "SELECT COUNT(*) FROM IMDepart WHERE departName IN ('orphan', '')" 0
tt_check "carol's row: fields, department 3, pbkdf2 password, status 0" \
    sql_is "SELECT nick, email, phone, sex, departId, sign_info, LEFT(password, 14), salt, status,
            updated >= $t0 FROM IMUser WHERE id = ${carol:-0}" \
    "Carol C.	carol@example.com	13800000009	2	3	hello; DROP TABLE IMUser; --	pbkdf2_sha256\$		0	1"
tt_check "one carol" sql_is "SELECT COUNT(*) FROM IMUser WHERE name = 'carol'" 1
tt_check "Dave: nick = name, domain lowercased, the first department" \
    sql_is "SELECT nick, domain, departId = (SELECT MIN(id) FROM IMDepart WHERE status = 0)
            FROM IMUser WHERE name = 'Dave'" "Dave	dave	1"
tt_check "the refused users were not stored" \
    sql_is "SELECT COUNT(*) FROM IMUser WHERE name IN ('dave', '', 'nobody')" 0
tt_check "IMUser is still there" sql_is "SELECT COUNT(*) > 100 FROM IMUser" 1
it_login() { "$IT" "$P_MS1" login "$@" >>"$TT_TMP/it_login.out" 2>&1; }
tt_check "carol logs in on msg_server with her new password" it_login carol 'new pw' 0
tt_check "not with the first one" it_login carol 'pw carol 1' 1
tt_check "Dave logs in on msg_server" it_login Dave 'pw dave' 0
sync() { "$TT_BUILD/test/it_dbproxy" "$P_DB" sync "$t0" "$@" >>"$TT_TMP/it_sync.out" 2>&1; }
tt_check "clients' incremental user list has carol and Dave" sync carol 0
tt_check "... Dave too" sync Dave 0

# ---- the same commands from a client, through msg_server ----
if "$IT" "$P_MS1" relay TT002 >"$TT_TMP/it_relay.out" 2>&1; then
    tt_log "ok: a client's admin commands get no answer"
else
    tt_fail "a client's admin commands get no answer"; grep -v '^ok' "$TT_TMP/it_relay.out"
fi
tt_check "... and wrote nothing: no sneaky user, no SneakyDept" \
    sql_is "SELECT (SELECT COUNT(*) FROM IMUser WHERE name = 'sneaky') +
            (SELECT COUNT(*) FROM IMDepart WHERE departName = 'SneakyDept')" 0
tt_check "... TT002's password is unchanged" it_login TT002 test123 0
tt_check "msg_server said it does not handle them" \
    grep -q 'command 0x07f4 from user' "$TT_LOG_DIR"/ms1/msg_server.log

tt_suite_stop_all
tt_finish
