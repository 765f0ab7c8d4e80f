# Shared by the push tests (sourced after lib.sh): test credentials and the HTTP/2 stand-in.
# tt_push_creds DIR TOKEN_URL makes in DIR: tls.crt/tls.key (the stand-in's self-signed
# certificate for 127.0.0.1, also the CaFile), apns.p8/apns.pub (the APNs P-256 token key),
# fcm.key/fcm.pub and sa.json (an FCM service account whose token_uri is TOKEN_URL).
# tt_push_stand PORT DIR [CLIENT_CA] starts h2_stand.py on PORT with DIR/script.json, logging to
# DIR/h2.log, and waits for it.
PY=/usr/bin/python3

tt_push_creds() {
    local d=$1 token_url=$2
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$d/tls.key" -out "$d/tls.crt" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/apns.p8" 2>/dev/null
    openssl pkey -in "$d/apns.p8" -pubout -out "$d/apns.pub" 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/fcm.key" 2>/dev/null
    openssl pkey -in "$d/fcm.key" -pubout -out "$d/fcm.pub" 2>/dev/null
    $PY - "$d/fcm.key" "$token_url" > "$d/sa.json" <<'PYEOF'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "tt-test",
                  "private_key": open(sys.argv[1]).read(),
                  "client_email": "push@example.iam.gserviceaccount.com",
                  "token_uri": sys.argv[2]}))
PYEOF
}

tt_push_stand() {
    local port=$1 d=$2
    $PY "$TT_SRC/test/integration/h2_stand.py" "$port" "$d/tls.crt" "$d/tls.key" "$d/h2.log" \
        "$d/script.json" ${3:+"$3"} >"$TT_TMP/h2_stand.out" 2>&1 &
    TT_PIDS+=("$!")
    tt_check "HTTP/2 stand-in up" tt_wait_port "$port"
    touch "$d/h2.log"
}
