#!/usr/bin/env bash
# An image message end to end, as the shipped clients make it: the sender uploads a picture to
# msfs (Android's multipart), sends a text message carrying the clients' image marker around
# the msfs URL (&$#@~^@[{: URL :}]&$~@#@) through msg_server 1 to a user on msg_server 2, the
# receiver gets the text as it arrives (and in history), takes the URL out of the markers and
# downloads the picture byte-identical, then its 100x100 preview as iOS and Mac ask it. Also a
# voice file (db_proxy's upload: 1.audio, part type image/jpg) up and down, as audio/ogg.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
export TT_PASSWORD=test123
CLI=$TT_BUILD/client/ttcli
P=$(tt_free_port)
URL=http://127.0.0.1:$P
cat > "$TT_TMP/msfs.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P
BaseDir=$TT_TMP/msfs_data
CONF
tt_start msfs "$TT_BUILD/msfs/msfs" "$TT_TMP/msfs.conf"
tt_check "msfs up" tt_wait_port "$P"

wait_for() { # wait_for FILE REGEX [SECONDS]
    local deadline=$(( SECONDS + ${3:-20} ))
    while (( SECONDS < deadline )); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "--- $1 has no line matching $2:"; cat "$1"
    return 1
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# the receiver, TT062 on msg_server 2, in a chat with TT061 (prints what arrives)
mkfifo "$TT_TMP/b.in"
"$CLI" -m "127.0.0.1:$P_MS2" -u TT062 chat TT061 <"$TT_TMP/b.in" >"$TT_TMP/b.out" 2>"$TT_TMP/b.cli" &
PID_B=$!
exec 4>"$TT_TMP/b.in"
tt_check "the receiver's chat is on" wait_for "$TT_TMP/b.out" '^chat with TT061'

# the sender uploads a picture as Android does (one part file0, application/octet-stream)
python3 "$(dirname "$0")/msfs_tool.py" png 320 240 "$TT_TMP/pic.png"
resp=$(curl -s -H 'Expect:' \
    -F "file0=@$TT_TMP/pic.png;filename=IMG_20261207.png;type=application/octet-stream" "$URL/")
url=$(field url <<<"$resp")
tt_check "the upload answers a url ($url)" grep -Eq "^$URL/g0/[0-9]{3}/[0-9]{3}/[0-9]+_[0-9]+\.png$" <<<"$url"
tt_check "the answer is one line (Android reads only the first)" test "$(wc -l <<<"$resp")" = 1

PRE='&$#@~^@[{:'; SUF=':}]&$~@#@'
out=$("$CLI" -m "127.0.0.1:$P_MS1" -u TT061 send TT062 "$PRE$url$SUF")
tt_check "the image message is sent through msg_server 1 ($out)" grep -q '^sent: msg_id 1 to TT062' <<<"$out"
tt_check "the receiver on msg_server 2 gets the marked text" \
    wait_for "$TT_TMP/b.out" "#1 TT061: .*:\\}\\]&\\\$~@#@\$"
line=$(grep '#1 TT061: ' "$TT_TMP/b.out" | head -1)
got=${line#*"$PRE"}; got=${got%"$SUF"*}
tt_check "the URL between the markers is the uploaded one" test "$got" = "$url"
curl -s -D "$TT_TMP/dl.h" -o "$TT_TMP/pic.dl" "$got"
tt_check "the receiver downloads the picture byte-identical" cmp -s "$TT_TMP/pic.png" "$TT_TMP/pic.dl"
tt_check "... as image/png" grep -qi '^Content-Type: image/png' "$TT_TMP/dl.h"
curl -s -o "$TT_TMP/pic_100.jpg" "${got}_100x100.jpg"
tt_check "its _100x100.jpg preview is 100x75" \
    test "$(python3 "$(dirname "$0")/msfs_tool.py" size "$TT_TMP/pic_100.jpg")" = "100 75"
exec 4>&-
wait "$PID_B" || true
tt_check "the chat wrote no errors" test ! -s "$TT_TMP/b.cli"
hist=$("$CLI" -m "127.0.0.1:$P_MS1" -u TT062 history TT061 1)
tt_check "history has the same marked URL" grep -qF "$PRE$url$SUF" <<<"$hist"

# a voice file as db_proxy uploads it, then downloaded as a client plays it
{ printf 'OggS'; head -c 6000 /dev/urandom; } > "$TT_TMP/voice.ogg"
{ printf -- '------WebKitFormBoundary8riBH6S4ZsoT69so\r\n'
  printf 'Content-Disposition: form-data; name="file"; filename="1.audio"\r\n'
  printf 'Content-Type:image/jpg\r\n\r\n'; cat "$TT_TMP/voice.ogg"
  printf '\r\n------WebKitFormBoundary8riBH6S4ZsoT69so--\r\n'; } > "$TT_TMP/voice.body"
resp=$(curl -s -H 'Content-Type: multipart/form-data; boundary=----WebKitFormBoundary8riBH6S4ZsoT69so' \
    --data-binary "@$TT_TMP/voice.body" "$URL/")
vurl=$(field url <<<"$resp")
tt_check "the voice upload answers a .audio url" grep -q '\.audio$' <<<"$vurl"
curl -s -D "$TT_TMP/v.h" -o "$TT_TMP/voice.dl" "$vurl"
tt_check "the voice downloads byte-identical" cmp -s "$TT_TMP/voice.ogg" "$TT_TMP/voice.dl"
tt_check "... as audio/ogg" grep -qi '^Content-Type: audio/ogg' "$TT_TMP/v.h"

rc=0; tt_stop "$TT_PID_msfs" || rc=$?
tt_check "msfs exits 0 on SIGTERM" test "$rc" = 0
tt_suite_stop_all
tt_finish
