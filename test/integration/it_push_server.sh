#!/usr/bin/env bash
# push_server against a local HTTP/2 stand-in for APNs and FCM (h2_stand.py, TLS with a
# self-signed certificate made here, CaFile=) and the real db_proxy_server and Redis:
# iOS normal and silent and Android requests well-formed (headers, the ES256 JWT verifies
# against the test key, JSON bodies), the FCM OAuth assertion verifies and its access token is
# reused, 429 retried after Retry-After, 5xx retried with backoff then dropped, APNs 410 and FCM
# UNREGISTERED remove the token from Redis (only while it is still the stored one), answers
# come at once while the stand-in stalls, a failed token fetch and a 401 are recovered from,
# certificate mode presents its client certificate, a full queue refuses and counts, a
# platform without credentials is refused, garbage closes the connection.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
source "$(dirname "$0")/push_lib.sh"
tt_suite_start
D=$TT_TMP/push
mkdir -p "$D"
P_H2=$(tt_free_port); P_PS=$(tt_free_port); P_PS2=$(tt_free_port); P_PS3=$(tt_free_port)
P_PS4=$(tt_free_port); P_DEAD=$(tt_free_port)
rds() { redis-cli -p "$P_RD" -n 4 "$@"; }

# certificates and keys (push_lib.sh)
TOKEN_URL=https://127.0.0.1:$P_H2/token
tt_push_creds "$D" "$TOKEN_URL"
# certificate mode: a client CA and a client certificate whose key has a passphrase
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout "$D/ca.key" -out "$D/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=tt-push-client \
    -passout pass:key-pass-1 -keyout "$D/client.key" -out "$D/client.csr" 2>/dev/null
openssl x509 -req -in "$D/client.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
    -days 2 -out "$D/client.crt" 2>/dev/null
T_NORMAL=$(printf 'a1%.0s' $(seq 32)); T_SILENT=$(printf 'b2%.0s' $(seq 32))
T_429=$(printf 'c3%.0s' $(seq 32)); T_500=$(printf 'd4%.0s' $(seq 32))
T_410=$(printf 'e5%.0s' $(seq 32)); T_STALL=$(printf 'f6%.0s' $(seq 32))
T_OLD=$(printf '07%.0s' $(seq 32))
cat > "$D/script.json" <<JSON
{"$T_429": [429, 200], "$T_500": [500], "$T_410": [410], "fcmgone": [404],
 "$T_STALL": ["stall:4"], "$T_OLD": [410], "/token": [200, 500, 200], "fcm401": [401, 200]}
JSON
tt_push_stand "$P_H2" "$D" "$D/ca.crt"

cat > "$D/push.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_PS
SandBox=1
DaemonSecret=$TT_DAEMON_SECRET
DBServerIP1=127.0.0.1
DBServerPort1=$P_DB
ApnsKeyFile=$D/apns.p8
ApnsKeyId=KEYID12345
ApnsTeamId=TEAMID6789
ApnsTopic=com.example.tt
ApnsUrl=https://127.0.0.1:$P_H2
FcmServiceAccount=$D/sa.json
FcmUrl=https://127.0.0.1:$P_H2
CaFile=$D/tls.crt
PushRetries=3
PushTimeout=10
CONF
tt_check "push_server -t accepts the configuration" \
    "$TT_BUILD/push_server/push_server" -t -c "$D/push.conf" -l "$TT_SRC/conf/log4crc"
sed "s|^ApnsKeyFile=.*|ApnsKeyFile=$D/fcm.key|" "$D/push.conf" > "$D/bad.conf"
tt_check "push_server -t refuses an ApnsKeyFile that is not a P-256 key" \
    sh -c '! "$1" -t -c "$2" -l "$3" 2>/dev/null' - "$TT_BUILD/push_server/push_server" \
    "$D/bad.conf" "$TT_SRC/conf/log4crc"
tt_start push_server "$TT_BUILD/push_server/push_server" "$D/push.conf"
tt_check "push_server up" tt_wait_port "$P_PS"
PUSH=$TT_BUILD/test/it_push

# tokens as db_proxy_server stores them (IMDeviceTokenReq): the unregistered ones go
rds SET push_token_1010 "ios:$T_410" >/dev/null; rds SET push_owner_$T_410 1010 >/dev/null
rds SET push_token_1011 "android:fcmgone" >/dev/null; rds SET push_owner_fcmgone 1011 >/dev/null
rds SET push_token_1012 "ios:newer" >/dev/null; rds SET push_owner_$T_OLD 1012 >/dev/null
rds SET push_token_1013 "ios:$T_NORMAL" >/dev/null

out=$("$PUSH" "$P_PS" push 'Alice: hi ✓' '{"k":"v"}' "1013:17:1:5:ios:$T_NORMAL" \
    "1003:17:2:7:$T_SILENT" "1004:18:1:3:android:fcm-tok-1" "1005:18:2:2:fcm-tok-2" \
    "1006:1:1:0:pc-token" "1007:17:1:1:$T_429" "1008:17:1:1:ios:$T_500" \
    "1010:17:1:1:ios:$T_410" "1011:18:1:1:android:fcmgone" "1012:17:1:1:$T_OLD" \
    "1009:17:1:1:ios:not-hex" "1014:18:1:1:android:bad token")
echo "$out"
tt_check "every token answered, 0 = queued" test "$(grep -c '^result .* 0$' <<<"$out")" = 9
tt_check "... a PC client's token, a non-hex APNs token and a bad FCM token: 1" \
    grep -q "^result pc-token 1$" <<<"$out"
tt_check "... non-hex refused" grep -q "^result ios:not-hex 1$" <<<"$out"
tt_check "... tokens echoed as given" grep -q "^result ios:$T_NORMAL 0$" <<<"$out"

# wait for the provider side: 500 gets 4 attempts (0.25 + 0.5 + 1 s of backoff)
for _ in $(seq 100); do
    [ "$(grep -c "/3/device/$T_500" "$D/h2.log")" -ge 4 ] && \
        [ "$(grep -c "/3/device/$T_429" "$D/h2.log")" -ge 2 ] && break
    sleep 0.1
done
sleep 0.5
tt_check "provider requests well-formed (push_check.py)" \
    $PY "$TT_SRC/test/integration/push_check.py" "$D/h2.log" "$D/apns.pub" "$D/fcm.pub" "$TOKEN_URL"
$PY "$TT_SRC/test/integration/push_check.py" "$D/h2.log" "$D/apns.pub" "$D/fcm.pub" \
    "$TOKEN_URL" | grep FAIL || true
gone() { [ "$(rds EXISTS push_token_1010 push_owner_$T_410 push_token_1011 push_owner_fcmgone)" = 0 ]; }
for _ in $(seq 50); do gone && break; sleep 0.1; done
tt_check "APNs 410: push_token_1010 and its reverse key removed" \
    test "$(rds EXISTS push_token_1010 push_owner_$T_410)" = 0
tt_check "FCM UNREGISTERED: push_token_1011 and its reverse key removed" \
    test "$(rds EXISTS push_token_1011 push_owner_fcmgone)" = 0
tt_check "a user who registered a newer token keeps it" test "$(rds GET push_token_1012)" = "ios:newer"
tt_check "the reverse key of a gone token is removed even so" \
    test "$(rds EXISTS push_owner_$T_OLD)" = 0
tt_check "a token that was delivered stays" test "$(rds GET push_token_1013)" = "ios:$T_NORMAL"

# the stand-in stalls: push_server still answers at once
out=$("$PUSH" "$P_PS" push 'x' '' "1020:17:1:1:$T_STALL")
ms=$(sed -n 's/^ms //p' <<<"$out")
tt_check "answered in ${ms}ms while APNs stalls" test "${ms:-9999}" -lt 500
sleep 0.3
out=$("$PUSH" "$P_PS" push 'y' '' "1021:17:1:1:$T_STALL")
ms=$(sed -n 's/^ms //p' <<<"$out")
tt_check "... and again (${ms}ms)" test "${ms:-9999}" -lt 500

# garbage: connection closed, daemon alive
tt_check "a PushToUserReq that is not protobuf closes the connection" \
    test "$("$PUSH" "$P_PS" garbage)" = closed
tt_check "push_server still up" tt_alive "$TT_PID_push_server"

# certificate mode (the original keys, paths relative to the config file), no ApnsTopic, the
# original's sound
T_CERT=$(printf '9a%.0s' $(seq 32))
cat > "$D/push3.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_PS3
DaemonSecret=$TT_DAEMON_SECRET
CertPath=client.crt
KeyPath=client.key
KeyPassword=key-pass-1
ApnsUrl=https://127.0.0.1:$P_H2
ApnsSound=bingbong.aiff
CaFile=$D/tls.crt
CONF
tt_start push_server3 "$TT_BUILD/push_server/push_server" "$D/push3.conf"
tt_check "push_server in certificate mode up" tt_wait_port "$P_PS3"
out=$("$PUSH" "$P_PS3" push 'cert mode' 'c' "1030:17:1:4:ios:$T_CERT")
tt_check "... token accepted" grep -q "^result .* 0$" <<<"$out"
for _ in $(seq 50); do grep -q "/3/device/$T_CERT" "$D/h2.log" && break; sleep 0.1; done
tt_check "... the request presents the client certificate, no JWT, no topic, the sound" \
    $PY -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l][0]
h=r["headers"]
assert r["client_cn"]=="tt-push-client", r
assert "authorization" not in h and "apns-topic" not in h, h
assert json.loads(r["body"])=={"aps":{"alert":{"body":"cert mode"},"badge":4,"sound":"bingbong.aiff"},"custom":"c"}, r' \
    "$D/h2.log" "/3/device/$T_CERT"
tt_check "push_server3 stops cleanly" tt_stop "$TT_PID_push_server3"

# FCM only: the token endpoint fails once (retried), a 401 fetches a new access token
cat > "$D/push4.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_PS4
DaemonSecret=$TT_DAEMON_SECRET
FcmServiceAccount=sa.json
FcmUrl=https://127.0.0.1:$P_H2
CaFile=tls.crt
CONF
tt_start push_server4 "$TT_BUILD/push_server/push_server" "$D/push4.conf"
tt_check "push_server with FCM only up" tt_wait_port "$P_PS4"
out=$("$PUSH" "$P_PS4" push 'four' '' "1040:18:1:1:android:fcm401" "1041:18:1:1:fcm-four" \
    "1042:17:1:1:ios:$T_CERT")
tt_check "... Android tokens queued, iOS refused (no APNs credentials)" \
    test "$(grep '^result' <<<"$out" | awk '{print $3}' | tr -d '\n')" = 001
for _ in $(seq 100); do
    [ "$(grep -c 'fcm401' "$D/h2.log")" -ge 2 ] && grep -q 'fcm-four.*"status": 200' "$D/h2.log" && break
    sleep 0.1
done
tt_check "... token endpoint: 500 retried, then a new token after the 401" $PY -c 'import json,sys
reqs=[json.loads(l) for l in open(sys.argv[1])]
tok=[r["status"] for r in reqs if r["path"]=="/token"]
assert tok==[200,500,200,200], tok
def sends(t): return [r for r in reqs if r["path"].startswith("/v1/") and json.loads(r["body"])["message"]["token"]==t]
a=sends("fcm401"); b=sends("fcm-four")
assert [r["status"] for r in a]==[401,200], a
assert a[0]["headers"]["authorization"]!=a[1]["headers"]["authorization"], a
assert [r["status"] for r in b]==[200], b' "$D/h2.log"
tt_check "push_server4 stops cleanly" tt_stop "$TT_PID_push_server4"

# a second push_server: APNs only (no FCM credentials), a provider that never answers, a
# queue of 5 entries
$PY -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(3600)' \
    "$P_DEAD" &
TT_PIDS+=("$!")
cat > "$D/push2.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P_PS2
DaemonSecret=$TT_DAEMON_SECRET
ApnsKeyFile=$D/apns.p8
ApnsKeyId=KEYID12345
ApnsTeamId=TEAMID6789
ApnsTopic=com.example.tt
ApnsUrl=https://127.0.0.1:$P_DEAD
CaFile=$D/tls.crt
PushQueueMax=5
PushRetries=0
PushTimeout=2
CONF
tt_start push_server2 "$TT_BUILD/push_server/push_server" "$D/push2.conf"
tt_check "second push_server up" tt_wait_port "$P_PS2"
out=$("$PUSH" "$P_PS2" push 'z' '' "1:18:1:1:android:fcm-x" "2:18:1:1:fcm-y")
tt_check "no FCM credentials: Android tokens answered 1" test "$(grep -c '^result .* 1$' <<<"$out")" = 2
specs=()
for i in $(seq 2000); do specs+=("$i:17:1:1:$(printf '%064x' "$i")"); done
out=$("$PUSH" "$P_PS2" push 'flood' '' "${specs[@]}")
refused=$(grep -c '^result .* 1$' <<<"$out")
tt_check "a full queue refuses ($refused of 2000 answered 1)" test "$refused" -gt 0
sleep 0.5
tt_check "push_server2 stops cleanly" tt_stop "$TT_PID_push_server2"
L2=$TT_LOG_DIR/push_server.log
tt_check "the drop is logged" grep -q "push queue full (5)" "$L2"
tt_check "the count of queue-full drops is logged at stop ($refused)" \
    grep -q ", $refused dropped queue full," "$L2"
tt_check "no FCM credentials logged once" test "$(grep -c 'no FCM credentials' "$L2")" = 1

tt_check "push_server stops cleanly" tt_stop "$TT_PID_push_server"
tt_check "the counters are logged at stop" grep -q "1 dropped after retries" "$L2"
tt_check_logs
tt_finish
