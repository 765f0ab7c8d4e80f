#!/usr/bin/env bash
# http_msg_server's user and department endpoints (hs_users.c, hs_depts.c) against the real
# stack: each endpoint's happy path and its errors (bad JSON, missing field, wrong type,
# unknown field, unknown department, duplicate name, cycle, key without permission), the rows
# in MariaDB, a user created through the API logging in on a msg_server with its password, a
# disabled one refused, a password change taking effect.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
P_API=$(tt_free_port)
S1=secret-adm-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
S2=secret-grp-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
cat > "$TT_TMP/httpmsg.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_API
ConcurrentDBConnCnt=2
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
DaemonSecret=$TT_DAEMON_SECRET
HttpMaxBody=4096
ApiKey1=hr:$S1:user.write,dept.write
ApiKey2=grp:$S2:group.write
CONF
tt_start http_msg_server "$TT_BUILD/http_msg_server/http_msg_server" "$TT_TMP/httpmsg.conf"
tt_check "http_msg_server up" tt_wait_port "$P_API"
HS=(python3 "$(dirname "$0")/hs_api.py" "$P_API")
IT=$TT_BUILD/test/it_admin
sql_is() { test "$(sql "$1")" = "$2"; }
# v1 PATH BODY [KEY SECRET]: "STATUS BODY" (hs_api.py drops the spaces of the answer)
v1() { "${HS[@]}" "$1" "${3:-hr}" "${4:-$S1}" "$2"; }
# expect WHAT PATH BODY PATTERN: the answer matches the (grep -E) pattern
expect() {
    local out
    out=$(v1 "$2" "$3")
    if grep -Eq "$4" <<<"$out"; then tt_log "ok: $1"; else tt_fail "$1: got '$out'"; fi
}
idof() { sed -n 's/.*"\(user\|dept\)_id":\([0-9]*\).*/\2/p' <<<"$1"; }
t0=$(sql "SELECT UNIX_TIMESTAMP()")

# the links to db_proxy_server come up
for _ in $(seq 100); do
    out=$(v1 /api/v1/dept/rename '{"dept_id":999999,"name":"x"}')
    grep -q '^404 ' <<<"$out" && break
    sleep 0.1
done
tt_check "dept/rename of an unknown department: 404 ($out)" grep -q '^404 {"error":"no' <<<"$out"

# ---- departments ----
out=$(v1 /api/v1/dept/create '{"name":"研发 R&D","parent_id":1,"priority":7}')
rd=$(idof "$out")
tt_check "dept/create: 200 and a dept_id ($out)" grep -Eq '^200 {"dept_id":[1-9][0-9]*}$' <<<"$out"
out=$(v1 /api/v1/dept/create "{\"name\":\"Backend\",\"parent_id\":$rd}")
be=$(idof "$out")
tt_check "dept/create below it: 200 ($out)" grep -q '^200 ' <<<"$out"
tt_check "... the rows" sql_is "SELECT GROUP_CONCAT(departName, ':', parentId, ':', priority ORDER BY id)
    FROM IMDepart WHERE id IN (${rd:-0}, ${be:-0})" "研发 R&D:1:7,Backend:${rd:-x}:0"
expect "dept/create with an unknown parent: 404" /api/v1/dept/create \
    '{"name":"x","parent_id":999999}' '^404 {"error":"noparentdepartmentwithid999999"}$'
expect "dept/create without name: 400" /api/v1/dept/create '{"parent_id":1}' \
    '^400 {"error":"nameisrequired"}$'
expect "dept/create with a number as name: 400" /api/v1/dept/create '{"name":5}' \
    '^400 {"error":"namemustbeastring'
expect "dept/create with a negative parent: 400" /api/v1/dept/create '{"name":"x","parent_id":-1}' \
    '^400 {"error":"parent_idmustbeaninteger'
expect "dept/create with an empty name: 400" /api/v1/dept/create '{"name":""}' \
    '^400 {"error":"namemustnotbeempty"}$'
expect "dept/create with a 65-character name: 400" /api/v1/dept/create \
    "{\"name\":\"$(printf 'x%.0s' $(seq 65))\"}" '^400 {"error":"nameis65characterslong'
expect "dept/create with an unknown field: 400" /api/v1/dept/create '{"name":"x","colour":1}' \
    '^400 {"error":"unknownfieldcolour"}$'
expect "dept/create with bad JSON: 400" /api/v1/dept/create '{"name":' '^400 '
expect "dept/create with a JSON array: 400" /api/v1/dept/create '["name"]' '^400 '
expect "dept/rename: 200" /api/v1/dept/rename "{\"dept_id\":$rd,\"name\":\"Research\"}" \
    "^200 {\"dept_id\":$rd}$"
expect "dept/rename with dept_id as a string: 400" /api/v1/dept/rename \
    "{\"dept_id\":\"$rd\",\"name\":\"x\"}" '^400 {"error":"dept_idmustbeaninteger'
expect "dept/rename without name: 400" /api/v1/dept/rename "{\"dept_id\":$rd}" \
    '^400 {"error":"nameisrequired"}$'
expect "dept/move below its own child: 409" /api/v1/dept/move \
    "{\"dept_id\":$rd,\"parent_id\":$be}" '^409 {"error":"department[0-9]+wouldbebelowitself"}$'
expect "dept/move to an unknown parent: 404" /api/v1/dept/move \
    "{\"dept_id\":$rd,\"parent_id\":999999}" '^404 '
expect "dept/move without parent_id: 400" /api/v1/dept/move "{\"dept_id\":$rd}" \
    '^400 {"error":"parent_idisrequired"}$'
expect "dept/move to the top: 200" /api/v1/dept/move "{\"dept_id\":$be,\"parent_id\":0}" \
    "^200 {\"dept_id\":$be}$"
expect "dept/move below 2: 200" /api/v1/dept/move "{\"dept_id\":$rd,\"parent_id\":2}" '^200 '
tt_check "... the rows: renamed, moved, updated stamped" \
    sql_is "SELECT GROUP_CONCAT(departName, ':', parentId, ':', updated >= $t0 ORDER BY id)
            FROM IMDepart WHERE id IN (${rd:-0}, ${be:-0})" "Research:2:1,Backend:0:1"
out=$(v1 /api/v1/dept/create '{"name":"x"}' grp "$S2")
tt_check "a key without dept.write: 403" grep -q '^403 {"error":"keylacksthepermission"}' <<<"$out"

# ---- users ----
out=$(v1 /api/v1/user/create "{\"user_name\":\"erin\",\"password\":\"erin pw 1\",\"nick\":\"艾琳\",\"email\":\"erin@example.com\",\"phone\":\"13900000001\",\"sex\":2,\"depart_id\":$rd,\"sign_info\":\"hi\"}")
erin=$(idof "$out")
tt_check "user/create: 200 and a user_id ($out)" grep -Eq '^200 {"user_id":[1-9][0-9]*}$' <<<"$out"
tt_check "... the row" sql_is "SELECT name, nick, email, phone, sex, departId, sign_info, status,
    LEFT(password, 14) FROM IMUser WHERE id = ${erin:-0}" \
    "erin	艾琳	erin@example.com	13900000001	2	${rd:-x}	hi	0	pbkdf2_sha256\$"
it_login() { "$IT" "$P_MS1" login "$@" >>"$TT_TMP/it_login.out" 2>&1; }
tt_check "erin logs in on msg_server with her password" it_login erin 'erin pw 1' 0
tt_check "not with another" it_login erin 'erin pw 2' 1
expect "user/create of a second erin: 409" /api/v1/user/create \
    '{"user_name":"erin","password":"x"}' '^409 {"error":"auserofthatnameexistsalready"}$'
expect "user/create in an unknown department: 404" /api/v1/user/create \
    '{"user_name":"frank","password":"x","depart_id":999999}' \
    '^404 {"error":"noactivedepartmentwithid999999"}$'
expect "user/create without password: 400" /api/v1/user/create '{"user_name":"frank"}' \
    '^400 {"error":"passwordisrequired"}$'
expect "user/create without user_name: 400" /api/v1/user/create '{"password":"x"}' \
    '^400 {"error":"user_nameisrequired"}$'
expect "user/create with sex as a string: 400" /api/v1/user/create \
    '{"user_name":"frank","password":"x","sex":"f"}' '^400 {"error":"sexmustbeaninteger'
expect "user/create with sex 3: 400" /api/v1/user/create \
    '{"user_name":"frank","password":"x","sex":3}' '^400 {"error":"sexmustbe0'
expect "user/create with a 33-character name: 400" /api/v1/user/create \
    '{"user_name":"abcdefghijklmnopqrstuvwxyz0123456","password":"x"}' '^400 {"error":"user_nameis33'
expect "user/create with a control character: 400" /api/v1/user/create \
    '{"user_name":"fr\u0001nk","password":"x"}' '^400 {"error":"user_namemustbeUTF-8'
expect "user/create with an unknown field: 400" /api/v1/user/create \
    '{"user_name":"frank","password":"x","admin":true}' '^400 {"error":"unknownfieldadmin"}$'
expect "user/create with bad JSON: 400" /api/v1/user/create '{"user_name":"frank",' '^400 '
out=$("${HS[@]}" /api/v1/user/create hr "$S1" $'{"user_name":"fr\xffnk","password":"x"}')
tt_check "user/create with a body not UTF-8: 400" grep -q '^400 ' <<<"$out"
out=$(v1 /api/v1/user/create '{"user_name":"frank","password":"x"}' grp "$S2")
tt_check "user/create with a key without user.write: 403" \
    grep -q '^403 {"error":"keylacksthepermission"}' <<<"$out"
tt_check "... no frank was stored" sql_is "SELECT COUNT(*) FROM IMUser WHERE name LIKE 'fr%nk'" 0

expect "user/update: 200" /api/v1/user/update \
    "{\"user_name\":\"erin\",\"nick\":\"Erin E.\",\"depart_id\":$be,\"avatar\":\"http://a/e.png\"}" \
    "^200 {\"user_id\":$erin}$"
tt_check "... the row" sql_is "SELECT nick, departId, avatar, email FROM IMUser WHERE id = ${erin:-0}" \
    "Erin E.	${be:-x}	http://a/e.png	erin@example.com"
expect "user/update of nobody: 404" /api/v1/user/update '{"user_name":"nobody","nick":"x"}' \
    '^404 {"error":"nouserofthatname"}$'
expect "user/update to an unknown department: 404" /api/v1/user/update \
    '{"user_name":"erin","depart_id":999999}' '^404 '
expect "user/update with a password field: 400 (user/password does that)" /api/v1/user/update \
    '{"user_name":"erin","password":"x"}' '^400 {"error":"unknownfieldpassword"}$'
expect "user/update with a 12-digit phone: 400" /api/v1/user/update \
    '{"user_name":"erin","phone":"123456789012"}' '^400 {"error":"phoneis12'

expect "user/disable: 200" /api/v1/user/disable '{"user_name":"erin"}' "^200 {\"user_id\":$erin}$"
tt_check "... status 3" sql_is "SELECT status FROM IMUser WHERE id = ${erin:-0}" 3
tt_check "a disabled user cannot log in" it_login erin 'erin pw 1' 1
sync() { "$TT_BUILD/test/it_dbproxy" "$P_DB" sync "$t0" "$@" >>"$TT_TMP/it_sync.out" 2>&1; }
tt_check "clients' incremental user list shows erin as left (3)" sync erin 3
expect "user/disable of nobody: 404" /api/v1/user/disable '{"user_name":"nobody"}' '^404 '
expect "user/disable without user_name: 400" /api/v1/user/disable '{}' '^400 '
expect "user/enable: 200" /api/v1/user/enable '{"user_name":"erin"}' "^200 {\"user_id\":$erin}$"
tt_check "an enabled user logs in again" it_login erin 'erin pw 1' 0
tt_check "... and the incremental list shows her active again" sync erin 0
expect "user/enable with user_name as a number: 400" /api/v1/user/enable '{"user_name":7}' '^400 '
expect "user/password: 200" /api/v1/user/password '{"user_name":"erin","password":"neu 2"}' \
    "^200 {\"user_id\":$erin}$"
tt_check "the old password no longer works" it_login erin 'erin pw 1' 1
tt_check "the new one does" it_login erin 'neu 2' 0
expect "user/password without password: 400" /api/v1/user/password '{"user_name":"erin"}' \
    '^400 {"error":"passwordisrequired"}$'
expect "user/password of nobody: 404" /api/v1/user/password '{"user_name":"nobody","password":"x"}' '^404 '
out=$(v1 /api/v1/user/disable '{"user_name":"erin"}' grp "$S2")
tt_check "user/disable with a key without user.write: 403" grep -q '^403 ' <<<"$out"
tt_check "... erin is still active" sql_is "SELECT status FROM IMUser WHERE id = ${erin:-0}" 0
tt_check "passwords and secrets never logged" \
    sh -c "! grep -rqF -e 'erin pw 1' -e 'neu 2' -e '$S1' -e '$S2' '$TT_LOG_DIR'"

# db_proxy_server gone: 503 at once (no link) or 504 (the call timed out)
rc=0; tt_stop "$TT_DB_PID" || rc=$?
tt_check "db_proxy_server exits 0" test "$rc" = 0
for _ in $(seq 50); do
    out=$(v1 /api/v1/user/enable '{"user_name":"erin"}')
    grep -q '^503 ' <<<"$out" && break
    sleep 0.1
done
tt_check "db_proxy_server gone: 503 ($out)" grep -q '^503 ' <<<"$out"
tt_check "http_msg_server still up" tt_alive "$TT_PID_http_msg_server"
rc=0; tt_stop "$TT_PID_http_msg_server" || rc=$?
tt_check "http_msg_server exits 0 on SIGTERM" test "$rc" = 0
tt_suite_stop_all 'db_proxy_server|link to'
tt_finish
