#!/usr/bin/env bash
# http_msg_server's /api/v1 endpoints beyond groups create/members, against the whole suite
# (two msg_servers): msg/send as a user and as the system account, to a user and to a group,
# delivered live to ttcli chats on both msg_servers and stored as the shipped clients' cipher
# makes the text; user/online (route_server's presence); user/unread; group/list,
# group/info and group/dissolve; each with its errors (bad JSON, missing field, wrong type,
# wrong signature, replayed nonce, stale timestamp, key without the permission, oversize
# body), and the call deadline: db_proxy_server stopped (SIGSTOP) -> 504, and error_code 10
# on /query.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
export TT_PASSWORD=test123
CLI=$TT_BUILD/client/ttcli
P_API=$(tt_free_port)
S1=secret-full-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
S2=secret-send-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
S3=secret-ro-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
cat > "$TT_TMP/httpmsg.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_API
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
RouteServerIP1=127.0.0.1
RouteServerPort1=$P_ROUTE
DaemonSecret=$TT_DAEMON_SECRET
aesKey=12345678901234567890123456789012
ApiSystemUserId=30
ApiMaxText=1000
HttpMaxBody=4096
ApiTimeoutMs=1500
ApiMaxPending=2
ApiKey1=full:$S1:msg.send,msg.send_as_user,group.read,group.write,online.read,unread.read
ApiKey2=sender:$S2:msg.send
ApiKey3=ro:$S3:online.read
ApiFailLimit=1000
CONF
tt_start http_msg_server "$TT_BUILD/http_msg_server/http_msg_server" "$TT_TMP/httpmsg.conf"
tt_check "http_msg_server up" tt_wait_port "$P_API"
HS=(python3 "$(dirname "$0")/hs_api.py" "$P_API")
full() { "${HS[@]}" "$1" full "$S1" "$2" "${@:3}"; }
# j OUT EXPR: EXPR (python, d = the JSON body of "STATUS BODY") printed
j() { python3 -c 'import json,sys; s=sys.argv[1]; d=json.loads(s.split(" ",1)[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
wait_for() {
    local deadline=$(( SECONDS + ${3:-20} ))
    while (( SECONDS < deadline )); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "--- $1 has no line matching $2:"; cat "$1"
    return 1
}
msgs_sql=$(for i in 0 1 2 3 4 5 6 7; do
    [ "$i" = 0 ] || printf ' UNION ALL '
    printf 'SELECT relateId, msgId, fromId, toId, content FROM IMMessage_%s' "$i"
done)

# the links come up: user/online answers
for _ in $(seq 100); do
    out=$(full /api/v1/user/online '{"user_ids":[22]}')
    [ "${out%% *}" = 200 ] && break
    sleep 0.1
done
tt_check "user/online answers ($out)" test "$out" = '200 {"online":0,"users":[{"user_id":22,"status":"offline"}]}'

# --- TT022 chats with TT021 on msg_server 2; TT021 is not logged in
mkfifo "$TT_TMP/b.in"
"$CLI" -m "127.0.0.1:$P_MS2" -u TT022 chat TT021 <"$TT_TMP/b.in" >"$TT_TMP/b.out" 2>"$TT_TMP/b.cli" &
PID_B=$!
exec 4>"$TT_TMP/b.in"
tt_check "chat B is on" wait_for "$TT_TMP/b.out" '^chat with TT021 \(user 21\) as TT022'
sleep 0.5
out=$(full /api/v1/user/online '{"user_ids":[22,23,22]}')
tt_check "user/online: 22 online, 23 offline ($out)" test "$out" = \
    '200 {"online":2,"users":[{"user_id":22,"status":"online"},{"user_id":23,"status":"offline"},{"user_id":22,"status":"online"}]}'

out=$(full /api/v1/msg/send '{"from_user_id":21,"to_user_id":22,"text":"hello from the API, 你好"}' --raw)
tt_check "msg/send as user 21 to 22: 200 with msg_id and create_time ($out)" \
    grep -Eq '^200 \{"msg_id":[1-9][0-9]*,"create_time":[1-9][0-9]*\}$' <<<"$out"
tt_check "... delivered live to TT022's chat on msg_server 2" \
    wait_for "$TT_TMP/b.out" ' #1 TT021: hello from the API, 你好$'
tt_check "... stored once, encrypted as the shipped clients do" test \
    "$(sql "SELECT COUNT(*) FROM ($msgs_sql) m WHERE fromId = 21 AND toId = 22")" = 1
tt_check "... ttcli reads it back from history" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT021 history TT022 | grep -q ' #1 TT021: hello from the API, 你好$'"

out=$("$TT_SRC/scripts/hs_call.sh" "http://127.0.0.1:$P_API" /api/v1/user/online full "$S1" '{"user_ids":[23]}')
tt_check "scripts/hs_call.sh (curl + openssl) signs as the server checks ($out)" \
    test "$out" = '{"online":0,"users":[{"user_id":23,"status":"offline"}]}'

# --- system messages (ApiSystemUserId=30) to an offline user, then the unread summary
out=$("${HS[@]}" /api/v1/msg/send sender "$S2" '{"to_user_id":23,"text":"system notice 1"}' --raw)
tt_check "msg/send as the system account (key with msg.send only): 200 ($out)" \
    grep -Eq '^200 \{"msg_id":[1-9]' <<<"$out"
out=$("${HS[@]}" /api/v1/msg/send sender "$S2" '{"to_user_id":23,"text":"system notice 2"}' --raw)
tt_check "... a second one" grep -Eq '^200 \{"msg_id":[1-9]' <<<"$out"
out=$(full /api/v1/user/unread '{"user_id":23}' --raw)
tt_check "user/unread of 23: total 2 from user 30, the latest text decrypted ($out)" test "$out" = \
    '200 {"user_id":23,"total":2,"sessions":[{"session_id":30,"session_type":"user","unread":2,"latest_msg_id":2,"latest_from_user_id":30,"latest_text":"system notice 2"}]}'
out=$(full /api/v1/user/unread '{"user_id":24}' --raw)
tt_check "user/unread of 24: nothing" test "$out" = '200 {"user_id":24,"total":0,"sessions":[]}'

# --- a group made through the API, TT022 (msg_server 2) and TT024 (msg_server 1) in its chat
out=$(full /api/v1/group/create '{"group_name":"API 群","group_type":1,"group_avatar":"","user_id_list":[22,24,25,30]}')
G=$(j "$out" 'd["group_id"]')
tt_check "group/create: group $G" test "$G" -gt 0
mkfifo "$TT_TMP/ga.in" "$TT_TMP/gb.in"
"$CLI" -m "127.0.0.1:$P_MS1" -u TT024 chat "group:$G" <"$TT_TMP/ga.in" >"$TT_TMP/ga.out" 2>"$TT_TMP/ga.cli" &
PID_GA=$!
"$CLI" -m "127.0.0.1:$P_MS2" -u TT025 chat "group:$G" <"$TT_TMP/gb.in" >"$TT_TMP/gb.out" 2>"$TT_TMP/gb.cli" &
PID_GB=$!
exec 5>"$TT_TMP/ga.in" 6>"$TT_TMP/gb.in"
tt_check "group chat A is on" wait_for "$TT_TMP/ga.out" "^chat with group:$G \\(group $G\\) as TT024; "
tt_check "group chat B is on" wait_for "$TT_TMP/gb.out" "^chat with group:$G \\(group $G\\) as TT025; "
sleep 0.5
out=$("${HS[@]}" /api/v1/msg/send sender "$S2" "{\"to_group_id\":$G,\"text\":\"to the whole group\"}" --raw)
tt_check "msg/send as the system account to group $G: 200 ($out)" grep -Eq '^200 \{"msg_id":1,' <<<"$out"
tt_check "... delivered to TT024 on msg_server 1" wait_for "$TT_TMP/ga.out" ' #1 TT030: to the whole group$'
tt_check "... and to TT025 on msg_server 2" wait_for "$TT_TMP/gb.out" ' #1 TT030: to the whole group$'
out=$(full /api/v1/msg/send "{\"from_user_id\":22,\"to_group_id\":$G,\"text\":\"member 22 via API\"}" --raw)
tt_check "msg/send as member 22 to the group: 200" grep -Eq '^200 \{"msg_id":2,' <<<"$out"
tt_check "... delivered to both chats" \
    wait_for "$TT_TMP/ga.out" ' #2 TT022: member 22 via API$' && wait_for "$TT_TMP/gb.out" ' #2 TT022: member 22 via API$'
tt_check "... the group has 2 stored messages" \
    test "$(sql "SELECT COUNT(*) FROM IMGroupMessage_$((G % 8)) WHERE groupId = $G")" = 2
out=$(full /api/v1/msg/send "{\"from_user_id\":23,\"to_group_id\":$G,\"text\":\"not a member\"}")
tt_check "msg/send from a non-member to the group: 422" grep -q '^422 ' <<<"$out"
exec 4>&- 5>&- 6>&-
for p in $PID_B $PID_GA $PID_GB; do wait "$p" || true; done
tt_check "the chats wrote no errors" test ! -s "$TT_TMP/b.cli" -a ! -s "$TT_TMP/ga.cli" -a ! -s "$TT_TMP/gb.cli"

# --- group/list and group/info
out=$(full /api/v1/group/list '{"user_id":22}')
tt_check "group/list of 22 has group $G ($out)" test "$(j "$out" '[g["group_id"] for g in d["groups"]]')" = "[$G]"
out=$(full /api/v1/group/list '{"user_id":23}')
tt_check "group/list of 23: none" test "$out" = '200 {"user_id":23,"groups":[]}'
out=$(full /api/v1/group/info "{\"user_id\":22,\"group_ids\":[$G,999999]}" --raw)
tt_check "group/info as member 22: name, creator 0, type 1, 4 members ($out)" test \
    "$(j "$out" '[(g["group_id"],g["name"],g["creator_id"],g["type"],sorted(g["members"])) for g in d["groups"]]')" = \
    "[($G, 'API 群', 0, 1, [22, 24, 25, 30])]"
out=$(full /api/v1/group/info "{\"user_id\":23,\"group_ids\":[$G]}")
tt_check "group/info as a non-member: no groups" test "$out" = '200 {"groups":[]}'

# --- group/dissolve (base/tt_group_admin.h): every member removed and told
out=$("${HS[@]}" /api/v1/group/dissolve ro "$S3" "{\"group_id\":$G}")
tt_check "group/dissolve with a key without group.write: 403" test "$out" = '403 {"error":"keylacksthepermission"}'
out=$(full /api/v1/group/dissolve '{"group_id":"1"}')
tt_check "group/dissolve with group_id a string: 400" test "$out" = '400 {"error":"group_idmustbeapositiveinteger"}'
out=$(full /api/v1/group/dissolve '{"group_id":999999}')
tt_check "group/dissolve of no such group: 404" test "$out" = '404 {"error":"nosuchgroup"}'
out=$(full /api/v1/group/dissolve "{\"group_id\":$G}")
tt_check "group/dissolve $G: 200, the 4 members removed ($out)" \
    test "$(j "$out" '(d["group_id"], sorted(d["removed"]))')" = "($G, [22, 24, 25, 30])"
tt_check "... no members left in the database" \
    test "$(sql "SELECT COUNT(*) FROM IMGroupMember WHERE groupId = $G AND status = 0")" = 0
out=$(full /api/v1/group/list '{"user_id":22}')
tt_check "... not in 22's groups any more" test "$out" = '200 {"user_id":22,"groups":[]}'
out=$("${HS[@]}" /api/v1/msg/send sender "$S2" "{\"to_group_id\":$G,\"text\":\"after\"}")
tt_check "... a message to it is not stored: 422" grep -q '^422 ' <<<"$out"
out=$(full /api/v1/group/dissolve "{\"group_id\":$G}")
tt_check "group/dissolve again: 200, nobody removed" test "$out" = "200 {\"group_id\":$G,\"removed\":[]}"

# --- errors
E='{"to_user_id":22,"text":"x"}'
for case in \
    '{bad|400' \
    '[1]|400' \
    '{"text":"x"}|400 {"error":"exactlyoneofto_user_idandto_group_idisrequired"}' \
    '{"to_user_id":22,"to_group_id":1,"text":"x"}|400 {"error":"exactlyoneofto_user_idandto_group_idisrequired"}' \
    '{"to_user_id":"22","text":"x"}|400 {"error":"to_user_idmustbeapositiveinteger"}' \
    '{"to_user_id":0,"text":"x"}|400 {"error":"to_user_idmustbeapositiveinteger"}' \
    '{"to_group_id":-3,"text":"x"}|400 {"error":"to_group_idmustbeapositiveinteger"}' \
    '{"to_user_id":22}|400 {"error":"text(astring)isrequired"}' \
    '{"to_user_id":22,"text":5}|400 {"error":"text(astring)isrequired"}' \
    '{"to_user_id":22,"text":""}|400 {"error":"textmustbe1..ApiMaxTextbytesofUTF-8withoutNUL"}' \
    '{"to_user_id":22,"text":"a\u0000b"}|400 {"error":"thebodyisnotaJSONobject(UTF-8)"}' \
    '{"from_user_id":"21","to_user_id":22,"text":"x"}|400 {"error":"from_user_idmustbeapositiveinteger"}' \
    '{"from_user_id":30,"to_user_id":30,"text":"x"}|400 {"error":"amessagetoitsownsender"}' \
    '{"from_user_id":21,"to_user_id":999999,"text":"x"}|422'; do
    out=$(full /api/v1/msg/send "${case%|*}")
    tt_check "msg/send ${case%|*}: ${case##*|}" grep -qF -- "${case##*|}" <<<"$out"
done
long=$(python3 -c 'print("{\"to_user_id\":22,\"text\":\"" + "é" * 501 + "\"}")')
out=$(full /api/v1/msg/send "$long")
tt_check "msg/send with 1002 bytes of text (ApiMaxText 1000): 400" grep -q '^400 ' <<<"$out"
out=$(full /api/v1/msg/send $'{"to_user_id":22,"text":"\xc3"}')
tt_check "msg/send with text not UTF-8: 400" grep -q '^400 {"error":"thebodyisnotaJSONobject(UTF-8)"}' <<<"$out"
big=$(python3 -c 'print("{\"to_user_id\":22,\"text\":\"" + "x" * 5000 + "\"}")')
out=$(full /api/v1/msg/send "$big")
tt_check "msg/send with a body over HttpMaxBody (4096): 413" grep -q '^413' <<<"$out"
out=$("${HS[@]}" /api/v1/msg/send sender "$S2" '{"from_user_id":21,"to_user_id":22,"text":"x"}')
tt_check "msg/send as a user with a key without msg.send_as_user: 403" \
    test "$out" = '403 {"error":"sendingasauserneedsthepermissionmsg.send_as_user"}'
for path in /api/v1/msg/send /api/v1/user/unread /api/v1/group/list /api/v1/group/info; do
    out=$("${HS[@]}" "$path" ro "$S3" "$E")
    tt_check "$path with a key without its permission: 403" test "$out" = '403 {"error":"keylacksthepermission"}'
done
out=$("${HS[@]}" /api/v1/user/online sender "$S2" '{"user_ids":[1]}')
tt_check "user/online with a key without online.read: 403" test "$out" = '403 {"error":"keylacksthepermission"}'
out=$(full /api/v1/msg/send "$E" --bad-sig)
tt_check "msg/send with a wrong signature: 401" test "$out" = '401 {"error":"badsignature"}'
out=$(full /api/v1/msg/send "$E" --nonce api2-nonce-1)
out=$(full /api/v1/msg/send "$E" --nonce api2-nonce-1)
tt_check "msg/send with a replayed nonce: 401" test "$out" = '401 {"error":"noncealreadyused"}'
out=$(full /api/v1/msg/send "$E" --ts-offset -1000)
tt_check "msg/send with a stale timestamp: 401" test "$out" = '401 {"error":"timestampoutsidethewindow"}'
for case in \
    'user/online|{}|400 {"error":"user_idsmustbeanarrayof1..2048positiveintegers"}' \
    'user/online|{"user_ids":[]}|400 {"error":"user_idsmustbeanarrayof1..2048positiveintegers"}' \
    'user/online|{"user_ids":["1"]}|400 {"error":"user_idsmustbeanarrayof1..2048positiveintegers"}' \
    'user/online|{bad|400' \
    'user/unread|{}|400 {"error":"user_idmustbeapositiveinteger"}' \
    'user/unread|{"user_id":"1"}|400 {"error":"user_idmustbeapositiveinteger"}' \
    'group/list|{"user_id":-1}|400 {"error":"user_idmustbeapositiveinteger"}' \
    'group/info|{"group_ids":[1]}|400 {"error":"user_id(amembert' \
    'group/info|{"user_id":1}|400 {"error":"group_idsmustbeanarrayof1..64positiveintegers"}' \
    'group/info|{"user_id":1,"group_ids":[0]}|400 {"error":"group_idsmustbeanarrayof1..64positiveintegers"}'; do
    IFS='|' read -r path body want <<<"$case"
    out=$(full "/api/v1/$path" "$body")
    tt_check "$path $body: $want" grep -qF -- "$want" <<<"$out"
done
many=$(python3 -c 'print("{\"user_id\":1,\"group_ids\":[" + ",".join(str(i) for i in range(1, 66)) + "]}")')
out=$(full /api/v1/group/info "$many")
tt_check "group/info with 65 groups: 400" grep -q '^400 ' <<<"$out"
tt_check "secrets never logged" sh -c "! grep -rqF -e '$S1' -e '$S2' -e '$S3' '$TT_LOG_DIR'"
tt_check "http_msg_server still up" tt_alive "$TT_PID_http_msg_server"

# --- db_proxy_server stopped (SIGSTOP): the call deadline (ApiTimeoutMs=1500) answers
kill -STOP "$TT_DB_PID"
t0=$(date +%s%N)
out=$(full /api/v1/user/unread '{"user_id":23}')
t1=$(date +%s%N)
tt_check "db_proxy_server not answering: 504 ($out)" \
    test "$out" = '504 {"error":"db_proxy_serverdidnotanswerintime"}'
tt_check "... after the deadline, 1.5 s (took $(( (t1 - t0) / 1000000 )) ms)" \
    test $(( (t1 - t0) / 1000000 )) -ge 1400 -a $(( (t1 - t0) / 1000000 )) -lt 5000
out=$(full /api/v1/msg/send '{"from_user_id":21,"to_user_id":22,"text":"while stopped"}')
tt_check "... msg/send: 504" test "$out" = '504 {"error":"db_proxy_serverdidnotanswerintime"}'
out=$(curl -s -m 10 --data-binary '{"app_key":"x","req_user_id":1,"group_name":"g","group_type":1,"group_avatar":"","user_id_list":[1]}' "http://127.0.0.1:$P_API/query/CreateGroup" | tr -d ' \n')
tt_check "... /query/CreateGroup: error_code 10 ($out)" test "$out" = '{"error_code":10,"error_msg":"服务器异常","group_id":0}'
# ApiMaxPending=2: two requests waiting, a third is refused at once
full /api/v1/user/unread '{"user_id":21}' >"$TT_TMP/p1.out" & P1=$!
full /api/v1/user/unread '{"user_id":22}' >"$TT_TMP/p2.out" & P2=$!
sleep 0.5
out=$(full /api/v1/user/unread '{"user_id":23}')
tt_check "... a third request with 2 waiting (ApiMaxPending=2): 503 at once" \
    test "$out" = '503 {"error":"nodb_proxy_serverlinkup,ortoomanyrequestspending"}'
wait "$P1" "$P2" || true
tt_check "... the two waiting ones: 504" \
    test "$(cat "$TT_TMP/p1.out" "$TT_TMP/p2.out" | grep -c '^504 ')" = 2
kill -CONT "$TT_DB_PID"
sleep 1
out=$(full /api/v1/user/unread '{"user_id":24}')
tt_check "db_proxy_server back: answers again (the late answers were dropped)" \
    test "$out" = '200 {"user_id":24,"total":0,"sessions":[]}'

rc=0; tt_stop "$TT_PID_http_msg_server" || rc=$?
tt_check "http_msg_server exits 0 on SIGTERM" test "$rc" = 0
tt_suite_stop_all 'not stored|no answer to a call|calls pending|link to|refused|lacks'
tt_finish
