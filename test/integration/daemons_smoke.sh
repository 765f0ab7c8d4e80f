#!/usr/bin/env bash
# Every daemon: -t accepts the shipped config and rejects a bad one with file:line; each starts
# on free ports, listens where its config says, survives malformed frames, answers HTTP, and
# stops on SIGTERM with exit 0, leaving no ERROR in its log and no sanitizer report.
source "$(dirname "$0")/lib.sh"

B=$TT_BUILD
declare -A CONF
for pair in login_server:loginserver route_server:routeserver msg_server:msgserver \
            db_proxy_server:dbproxyserver http_msg_server:httpmsgserver \
            file_server:fileserver msfs:msfs push_server:pushserver; do
    name=${pair%%:*}; CONF[$name]=${pair##*:}.conf
    out=$("$B/$name/$name" -c "$TT_SRC/conf/${CONF[$name]}" -l "$TT_SRC/conf/log4crc" -t 2>&1) \
        && tt_log "ok: $name -t accepts conf/${CONF[$name]}" \
        || tt_fail "$name -t on the shipped config: $out"
done

printf 'ListenIP=127.0.0.1\nListenMsgPort=8200x\n' > "$TT_TMP/bad.conf"
rc=0; out=$("$B/route_server/route_server" -c "$TT_TMP/bad.conf" -l "$TT_SRC/conf/log4crc" -t 2>&1) || rc=$?
tt_check "-t rejects a bad port with exit 1" test "$rc" = 1
tt_check "-t names file, line and key" grep -q "bad.conf:2: key 'ListenMsgPort'" <<<"$out"
printf 'ListenPort=8000\nIpAddr1=127.0.0.1\nMaxConnCnt=10\naesKey=short\nDBServerIP1=127.0.0.1\nDBServerPort1=1\nLoginServerIP1=127.0.0.1\nLoginServerPort1=1\nRouteServerIP1=127.0.0.1\nRouteServerPort1=1\n' > "$TT_TMP/bad_msg.conf"
rc=0; out=$("$B/msg_server/msg_server" -c "$TT_TMP/bad_msg.conf" -l "$TT_SRC/conf/log4crc" -t 2>&1) || rc=$?
tt_check "msg_server -t rejects a short aesKey" grep -q "bad_msg.conf:4: key 'aesKey'" <<<"$out"
rc=0; "$B/route_server/route_server" -c "$TT_SRC/conf/routeserver.conf" -l "$TT_TMP/missing" -t >/dev/null 2>&1 || rc=$?
tt_check "-t fails when log4crc is missing" test "$rc" = 1

P_ROUTE=$(tt_free_port); P_LOGIN_HTTP=$(tt_free_port); P_LOGIN_MS=$(tt_free_port)
P_MSG=$(tt_free_port); P_DB=$(tt_free_port); P_HTTPMSG=$(tt_free_port)
P_FILE_C=$(tt_free_port); P_FILE_M=$(tt_free_port); P_MSFS=$(tt_free_port); P_PUSH=$(tt_free_port)

sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenMsgPort=.*/ListenMsgPort=$P_ROUTE/" \
    "$TT_SRC/conf/routeserver.conf" > "$TT_TMP/route.conf"
sed -e "s/^HttpListenIP=.*/HttpListenIP=127.0.0.1/" -e "s/^HttpPort=.*/HttpPort=$P_LOGIN_HTTP/" \
    -e "s/^MsgServerListenIP=.*/MsgServerListenIP=127.0.0.1/" -e "s/^MsgServerPort=.*/MsgServerPort=$P_LOGIN_MS/" \
    -e "/^Client/d" "$TT_SRC/conf/loginserver.conf" > "$TT_TMP/login.conf"
sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_MSG/" \
    -e "s/^DBServerPort\([0-9]\)=.*/DBServerPort\1=$P_DB/" \
    -e "s/^LoginServerPort1=.*/LoginServerPort1=$P_LOGIN_MS/" \
    -e "s/^RouteServerPort1=.*/RouteServerPort1=$P_ROUTE/" \
    -e "s/^PushServerPort1=.*/PushServerPort1=$P_PUSH/" \
    "$TT_SRC/conf/msgserver.conf" > "$TT_TMP/msg.conf"
sed -e "s/^ListenPort=.*/ListenPort=$P_DB/" "$TT_SRC/conf/dbproxyserver.conf" > "$TT_TMP/db.conf"
sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_HTTPMSG/" \
    "$TT_SRC/conf/httpmsgserver.conf" > "$TT_TMP/httpmsg.conf"
sed -e "s/^ClientListenIP=.*/ClientListenIP=127.0.0.1/" -e "s/^ClientListenPort=.*/ClientListenPort=$P_FILE_C/" \
    -e "s/^MsgServerListenPort=.*/MsgServerListenPort=$P_FILE_M/" \
    "$TT_SRC/conf/fileserver.conf" > "$TT_TMP/file.conf"
sed -e "s/^ListenIP=.*/ListenIP=127.0.0.1/" -e "s/^ListenPort=.*/ListenPort=$P_MSFS/" \
    -e "s#^BaseDir=.*#BaseDir=$TT_TMP/msfs_data#" "$TT_SRC/conf/msfs.conf" > "$TT_TMP/msfs.conf"
sed -e "s/^ListenPort=.*/ListenPort=$P_PUSH/" -e "s/^DBServerPort\([0-9]\)=.*/DBServerPort\1=$P_DB/" \
    "$TT_SRC/conf/pushserver.conf" > "$TT_TMP/push.conf"
for f in route login msg db httpmsg file msfs push; do
    echo "DaemonSecret=$TT_DAEMON_SECRET" >> "$TT_TMP/$f.conf"
done

tt_start route_server "$B/route_server/route_server" "$TT_TMP/route.conf"
tt_start login_server "$B/login_server/login_server" "$TT_TMP/login.conf"
tt_start msg_server "$B/msg_server/msg_server" "$TT_TMP/msg.conf"
tt_start db_proxy_server "$B/db_proxy_server/db_proxy_server" "$TT_TMP/db.conf"
tt_start http_msg_server "$B/http_msg_server/http_msg_server" "$TT_TMP/httpmsg.conf"
tt_start file_server "$B/file_server/file_server" "$TT_TMP/file.conf"
tt_start msfs "$B/msfs/msfs" "$TT_TMP/msfs.conf"
tt_start push_server "$B/push_server/push_server" "$TT_TMP/push.conf"

for p in $P_ROUTE $P_LOGIN_HTTP $P_LOGIN_MS $P_MSG $P_DB $P_HTTPMSG $P_FILE_C $P_FILE_M $P_MSFS $P_PUSH; do
    tt_check "port $p listening" tt_wait_port "$p"
done
tt_check "pid file written" test -s "$TT_TMP/route_server.pid"

# Malformed frames close only the sender: zero, short, oversized, cut off, random bytes.
for p in $P_ROUTE $P_MSG $P_DB $P_FILE_C $P_PUSH $P_LOGIN_MS; do
    tt_send_raw "$p" '\x00\x00\x00\x00'
    tt_send_raw "$p" '\x00\x00\x00\x0bhello world.....'
    tt_send_raw "$p" '\xff\xff\xff\xff'
    tt_send_raw "$p" '\x00\x00\x00\x40\x00\x01\x00\x00\x00\x07\x07\x01\x00\x00\x00\x00abc'
    tt_send_raw "$p" '\x17\x99GET / HTTP/1.1\r\n\r\n'
    # a heartbeat still gets echoed where the daemon echoes them
done
reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$P_MSG"; printf '\x00\x00\x00\x10\x00\x01\x00\x00\x00\x07\x07\x01\x00\x2a\x00\x00' >&3; timeout 2 head -c 16 <&3 | od -An -tx1 | tr -d ' \n') 2>/dev/null || true)
tt_check "msg_server echoes a heartbeat with its seq" test "$reply" = "000000100001000000070701002a0000"

# msg_server registers with login_server by itself; clients are then sent to it
for _ in $(seq 50); do
    body=$(curl -s --max-time 5 "http://127.0.0.1:$P_LOGIN_HTTP/msg_server")
    grep -q "\"port\":\"$P_MSG\"" <<<"$body" && break
    sleep 0.1
done
tt_check "login_server sends clients to the registered msg_server" grep -q "\"code\":0" <<<"$body"
tt_check "with the port as a string" grep -q "\"port\":\"$P_MSG\"" <<<"$body"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P_LOGIN_HTTP/other" || true)
tt_check "login_server closes on other paths" test "$code" = 000
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P_LOGIN_HTTP/msg_server?$big" || true)
tt_check "login_server refuses a request over 1024 bytes" test "$code" = 431
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P_MSFS/g0/000/000/none.jpg")
tt_check "msfs answers GET" test "$code" = 404

# every daemon is still alive after all that, then stops cleanly on SIGTERM
for name in route_server login_server msg_server db_proxy_server http_msg_server file_server msfs push_server; do
    pid_var=TT_PID_$name
    pid=${!pid_var}
    tt_check "$name survived malformed input" tt_alive "$pid"
done
# one connection left open on route_server: the stop must still finish
exec 5<>"/dev/tcp/127.0.0.1/$P_ROUTE"
for name in route_server login_server msg_server db_proxy_server http_msg_server file_server msfs push_server; do
    pid_var=TT_PID_$name
    rc=0; tt_stop "${!pid_var}" || rc=$?
    tt_check "$name exits 0 on SIGTERM" test "$rc" = 0
done
exec 5>&-
tt_check "pid file removed" test ! -e "$TT_TMP/route_server.pid"
tt_check "route_server logged the bad frames" grep -q 'bad frame: frame length 0 is below' "$TT_LOG_DIR/route_server.log"
tt_check "route_server logged the oversized frame" grep -q 'above the maximum' "$TT_LOG_DIR/route_server.log"
tt_check_logs
tt_finish
