#!/usr/bin/env bash
# http_msg_server's original endpoints against the real stack (db_proxy_server, route_server,
# MariaDB): POST /query/CreateGroup and /query/ChangeMembers with the fields and error codes
# of PROTOCOL.md §5.3 (the PHP admin console's requests), compatibility mode (AppKey: the
# body's app_key must match), bad JSON / unknown paths closed without an answer, missing
# fields and wrong types -> 1, an oversize body -> 413, db_proxy_server gone -> 10.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
P_API=$(tt_free_port)
S1=secret-one-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
S2=secret-two-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
cat > "$TT_TMP/httpmsg.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_API
ConcurrentDBConnCnt=2
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
DaemonSecret=$TT_DAEMON_SECRET
AppKey=compat-key-1
HttpMaxBody=4096
ApiKey1=crm:$S1:group.write,msg.send
ApiKey2=ro:$S2:online.read
ApiFailLimit=12
CONF
tt_start http_msg_server "$TT_BUILD/http_msg_server/http_msg_server" "$TT_TMP/httpmsg.conf"
tt_check "http_msg_server up" tt_wait_port "$P_API"

URL=http://127.0.0.1:$P_API
# api PATH BODY: the answer, compacted ("" when the connection closed without one)
api() {
    curl -s -m 10 --data-binary "$2" "$URL$1" | python3 -c \
        'import json,sys
d=sys.stdin.read()
print(json.dumps(json.loads(d),separators=(",",":"),ensure_ascii=False) if d else "")'
}
code() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error_code"])' "$1"; }
K='"app_key":"compat-key-1","req_user_id":1'
members() { sql "SELECT COUNT(*) FROM IMGroupMember WHERE groupId = $1 AND status = 0"; }

# the links to db_proxy_server come up: a change on no group then answers 12, not 10
for _ in $(seq 100); do
    out=$(api /query/ChangeMembers "{$K,\"group_id\":999999,\"modify_type\":1,\"user_id_list\":[1]}")
    [ "$(code "$out")" = 12 ] && break
    sleep 0.1
done
tt_check "ChangeMembers on no such group: 12 更改群成员失败" \
    test "$out" = '{"error_code":12,"error_msg":"更改群成员失败"}'

# CreateGroup: the PHP console's request (type 1)
out=$(api /query/CreateGroup "{$K,\"group_name\":\"API 群\",\"group_type\":1,\"group_avatar\":\"\",\"user_id_list\":[1,2,3]}")
gid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("group_id",0))' "$out")
tt_check "CreateGroup: error_code 0 成功 and a group_id ($out)" \
    grep -q '^{"error_code":0,"error_msg":"成功","group_id":[1-9][0-9]*}$' <<<"$out"
tt_check "... the group is stored: name, type 1, creator 0, 3 members" \
    test "$(sql "SELECT name, type, creator FROM IMGroup WHERE id = $gid")" = "API 群	1	0" -a \
    "$(members "$gid")" = 3
hdr=$(curl -s -D - -o /dev/null --data-binary "{$K,\"group_id\":$gid,\"modify_type\":1,\"user_id_list\":[4,5]}" "$URL/query/ChangeMembers")
tt_check "ChangeMembers add: 200 text/html;charset=utf-8, no-cache" \
    grep -qi '^Content-Type: text/html;charset=utf-8' <<<"$hdr"
tt_check "... Cache-Control: no-cache" grep -qi '^Cache-Control: no-cache' <<<"$hdr"
tt_check "... 5 members now" test "$(members "$gid")" = 5
out=$(api /query/ChangeMembers "{$K,\"group_id\":$gid,\"modify_type\":2,\"user_id_list\":[2]}")
tt_check "ChangeMembers delete: 0 成功" test "$out" = '{"error_code":0,"error_msg":"成功"}'
tt_check "... 4 members now" test "$(members "$gid")" = 4
out=$(api /query/CreateGroup "{$K,\"group_name\":\"tmp\",\"group_type\":2,\"group_avatar\":\"a\",\"user_id_list\":[1]}")
tt_check "CreateGroup type 2 (TMP): 0 and a group_id ($out)" \
    grep -q '^{"error_code":0,"error_msg":"成功","group_id":[1-9][0-9]*}$' <<<"$out"
out=$(api /query/CreateGroup "{$K,\"group_name\":\"nobody\",\"group_type\":1,\"group_avatar\":\"\",\"user_id_list\":[999999]}")
tt_check "CreateGroup with only unknown users: 11" \
    test "$out" = '{"error_code":11,"error_msg":"创建群失败","group_id":0}'

# parameter errors: 1 参数错误
P1C='{"error_code":1,"error_msg":"参数错误","group_id":0}'
P1M='{"error_code":1,"error_msg":"参数错误"}'
G='"group_name":"g","group_avatar":""'
for body in \
    "{$K,\"group_type\":1,\"group_avatar\":\"\",\"user_id_list\":[1]}" \
    "{$K,$G,\"group_type\":\"1\",\"user_id_list\":[1]}" \
    "{$K,$G,\"group_type\":3,\"user_id_list\":[1]}" \
    "{$K,$G,\"group_type\":1,\"user_id_list\":\"1\"}" \
    "{$K,$G,\"group_type\":1,\"user_id_list\":[\"1\"]}" \
    "{$K,$G,\"group_type\":1,\"user_id_list\":[]}" \
    "{$K,$G,\"group_type\":1}" \
    "{\"app_key\":\"compat-key-1\",$G,\"group_type\":1,\"user_id_list\":[1]}" \
    "{\"req_user_id\":1,$G,\"group_type\":1,\"user_id_list\":[1]}" \
    "{\"app_key\":7,\"req_user_id\":1,$G,\"group_type\":1,\"user_id_list\":[1]}"; do
    out=$(api /query/CreateGroup "$body")
    tt_check "CreateGroup $body: 1" test "$out" = "$P1C"
done
for body in \
    "{$K,\"modify_type\":1,\"user_id_list\":[1]}" \
    "{$K,\"group_id\":-1,\"modify_type\":1,\"user_id_list\":[1]}" \
    "{$K,\"group_id\":$gid,\"modify_type\":3,\"user_id_list\":[1]}" \
    "{$K,\"group_id\":$gid,\"modify_type\":1.5,\"user_id_list\":[1]}" \
    "{$K,\"group_id\":$gid,\"modify_type\":1,\"user_id_list\":{}}"; do
    out=$(api /query/ChangeMembers "$body")
    tt_check "ChangeMembers $body: 1" test "$out" = "$P1M"
done
tt_check "... and nothing changed" test "$(members "$gid")" = 4

# compatibility mode: the configured key only
out=$(api /query/ChangeMembers "{\"app_key\":\"other\",\"req_user_id\":1,\"group_id\":$gid,\"modify_type\":1,\"user_id_list\":[6]}")
tt_check "a wrong app_key: 2 appKey不存在" test "$out" = '{"error_code":2,"error_msg":"appKey不存在"}'
tt_check "... nothing changed" test "$(members "$gid")" = 4
tt_check "... and the key is not logged" sh -c "! grep -rq 'compat-key-1' '$TT_LOG_DIR'"

# closed without an answer (as the original): bad JSON, not an object, unknown paths
for req in "/query/CreateGroup {bad" "/query/CreateGroup [1,2]" "/query/ChangeMembers " \
    "/query/Nope {$K}" "/other {$K}"; do
    rc=0; curl -s -m 10 --data-binary "${req#* }" "$URL${req%% *}" >/dev/null || rc=$?
    tt_check "${req%% *} '${req#* }': closed without an answer (curl 52)" test "$rc" = 52
done
big=$(python3 -c 'print("{\"app_key\":\"" + "x" * 5000 + "\"}")')
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --data-binary "$big" "$URL/query/CreateGroup")
tt_check "a body over HttpMaxBody (4096): 413" test "$st" = 413
tt_check "http_msg_server still up" tt_alive "$TT_PID_http_msg_server"

# /api/v1: signed requests (hs_api.py signs as docs/HTTP_API.md says)
# The failure limit counts per clock minute: start the signed cases early in one, so that the
# failures below all land in the same minute (else the 429 check races the minute's turn).
sec=$((10#$(date +%S))); [ "$sec" -lt 35 ] || sleep $((61 - sec))
HS=(python3 "$(dirname "$0")/hs_api.py" "$P_API")
out=$("${HS[@]}" /api/v1/group/create crm "$S1" '{"group_name":"签名群","group_type":1,"group_avatar":"","user_id_list":[7,8]}')
tt_check "v1 group/create signed: 200, 0 and a group_id ($out)" \
    grep -q '^200 {"error_code":0,"error_msg":"成功","group_id":[1-9][0-9]*}$' <<<"$out"
g2=$(sed 's/.*"group_id":\([0-9]*\).*/\1/' <<<"$out")
tt_check "... stored with 2 members" test "$(members "$g2")" = 2
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":1,\"user_id_list\":[9]}" --nonce fixed-nonce-1)
tt_check "v1 group/members signed: 200 0" test "$out" = '200 {"error_code":0,"error_msg":"成功"}'
tt_check "... 3 members" test "$(members "$g2")" = 3
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}" --nonce fixed-nonce-1)
tt_check "a replayed nonce: 401" test "$out" = '401 {"error":"noncealreadyused"}'
tt_check "... nothing changed" test "$(members "$g2")" = 3
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}" --bad-sig)
tt_check "a wrong signature: 401" test "$out" = '401 {"error":"badsignature"}'
out=$("${HS[@]}" /api/v1/group/members crm "$S2" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}")
tt_check "signed with another key's secret: 401" test "$out" = '401 {"error":"badsignature"}'
out=$("${HS[@]}" /api/v1/group/members nobody "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}")
tt_check "an unknown key: 401, told as a bad signature" test "$out" = '401 {"error":"badsignature"}'
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}" --no-sig)
tt_check "no signature: 401" grep -q '^401 {"error":"missing' <<<"$out"
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}" --ts-offset -400)
tt_check "a stale timestamp (400 s ago, window 300): 401" test "$out" = '401 {"error":"timestampoutsidethewindow"}'
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}" --ts-offset 400)
tt_check "a timestamp 400 s ahead: 401" test "$out" = '401 {"error":"timestampoutsidethewindow"}'
tt_check "... nothing changed by any of them" test "$(members "$g2")" = 3
out=$("${HS[@]}" /api/v1/group/members ro "$S2" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}")
tt_check "a key without group.write: 403" test "$out" = '403 {"error":"keylacksthepermission"}'
out=$("${HS[@]}" /api/v1/group/members crm "$S1" '{"group_id":1,"modify_type":"x","user_id_list":[9]}')
tt_check "v1 wrong type: 200 error_code 1" test "$out" = '200 {"error_code":1,"error_msg":"参数错误"}'
out=$("${HS[@]}" /api/v1/group/members crm "$S1" '{bad')
tt_check "v1 bad JSON: 400" grep -q '^400 ' <<<"$out"
out=$("${HS[@]}" /api/v1/group/members crm "$S1" $'{"group_name":"\xff"}')
tt_check "v1 body not UTF-8: 400" grep -q '^400 ' <<<"$out"
out=$("${HS[@]}" /api/v1/nope crm "$S1" '{}')
tt_check "v1 unknown endpoint: 404" grep -q '^404 ' <<<"$out"
out=$("${HS[@]}" /api/v1/group/members crm "$S1" '{}' --method GET)
tt_check "v1 GET: 405" grep -q '^405 ' <<<"$out"
tt_check "secrets never logged" sh -c "! grep -rqF -e '$S1' -e '$S2' '$TT_LOG_DIR'"
# 7 failures so far from 127.0.0.1; ApiFailLimit=12 a minute: 5 more, then 429 even when good
for _ in 1 2 3 4 5; do "${HS[@]}" /api/v1/group/members crm "$S1" '{}' --bad-sig >/dev/null; done
out=$("${HS[@]}" /api/v1/group/members crm "$S1" "{\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}")
tt_check "over ApiFailLimit failed signatures a minute: 429 for that address" grep -q '^429 ' <<<"$out"
out=$(api /query/ChangeMembers "{$K,\"group_id\":$g2,\"modify_type\":2,\"user_id_list\":[9]}")
tt_check "... the compatibility endpoints are not limited" test "$out" = '{"error_code":0,"error_msg":"成功"}'

# db_proxy_server gone: 10 服务器异常
rc=0; tt_stop "$TT_DB_PID" || rc=$?
tt_check "db_proxy_server exits 0" test "$rc" = 0
for _ in $(seq 50); do
    out=$(api /query/ChangeMembers "{$K,\"group_id\":$gid,\"modify_type\":1,\"user_id_list\":[6]}")
    [ "$(code "$out")" = 10 ] && break
    sleep 0.1
done
tt_check "no db_proxy_server link: 10 服务器异常" \
    test "$out" = '{"error_code":10,"error_msg":"服务器异常"}'
out=$(api /query/CreateGroup "{$K,$G,\"group_type\":1,\"user_id_list\":[1]}")
tt_check "... CreateGroup too, with group_id 0" \
    test "$out" = '{"error_code":10,"error_msg":"服务器异常","group_id":0}'

rc=0; tt_stop "$TT_PID_http_msg_server" || rc=$?
tt_check "http_msg_server exits 0 on SIGTERM" test "$rc" = 0
tt_suite_stop_all 'db_proxy_server|link to'
tt_finish
