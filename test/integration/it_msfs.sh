#!/usr/bin/env bash
# msfs end to end with curl, on a free port in a temp dir: uploads as Android, iOS (leading text
# part, size hint), db_proxy (voice), the PHP admin (curl), Windows and Mac send them, downloads of identical
# bytes, the Host header in the answer, traversal attempts, oversize and malformed uploads,
# other methods, concurrent uploads, FileCnt across a clean restart and a kill -9, and a
# SIGTERM during an upload that leaves no half file.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD
P=$(tt_free_port)
URL=http://127.0.0.1:$P
DATA=$TT_TMP/msfs_data

cat > "$TT_TMP/msfs.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P
BaseDir=$DATA
FileCnt=0
FilesPerDir=2
GetThreadCount=2
PostThreadCount=2
MaxFileSize=1048576
HttpMaxBody=2097152
CONF
out=$("$B/msfs/msfs" -c "$TT_TMP/msfs.conf" -l "$TT_SRC/conf/log4crc" -t 2>&1) \
    && tt_log "ok: -t accepts the test config" || tt_fail "-t: $out"
printf 'ListenPort=%s\nBaseDir=%s\nPublicUrl=ftp://x y\n' "$P" "$DATA" > "$TT_TMP/bad.conf"
rc=0; out=$("$B/msfs/msfs" -c "$TT_TMP/bad.conf" -l "$TT_SRC/conf/log4crc" -t 2>&1) || rc=$?
tt_check "-t rejects a bad PublicUrl" grep -q "bad.conf:3: key 'PublicUrl'" <<<"$out"

start_msfs() {
    tt_start msfs "$B/msfs/msfs" "$TT_TMP/msfs.conf"
    tt_wait_port "$P" || tt_fail "msfs does not listen on $P"
}
start_msfs

field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
code_of() { sed -n 's/.*"error_code":\([0-9]*\).*/\1/p'; }
files_stored() { find "$DATA" -path "$DATA/.tmp" -prune -o -type f -name '*_*.*' -print | wc -l; }

# an image: PNG signature and random bytes
{ printf '\x89PNG\r\n\x1a\n'; head -c 40000 /dev/urandom; } > "$TT_TMP/a.png"

# ---- Android: one part, name "file0", application/octet-stream ----
resp=$(curl -s -D "$TT_TMP/h1" -H 'Expect:' \
    -F "file0=@$TT_TMP/a.png;filename=IMG_0001.png;type=application/octet-stream" "$URL/")
tt_check "Android upload answers error_code 0" test "$(code_of <<<"$resp")" = 0
tt_check "the answer is text/html;charset=utf-8" \
    grep -qi '^Content-Type: text/html;charset=utf-8' "$TT_TMP/h1"
tt_check "the answer says 成功" grep -q '"error_msg": "成功"' <<<"$resp"
path1=$(field path <<<"$resp"); url1=$(field url <<<"$resp")
tt_check "path is g0/000/000/<usec>_0.png" grep -Eq '^g0/000/000/[0-9]{16}_0\.png$' <<<"$path1"
tt_check "url is http://<Host>/<path>" test "$url1" = "$URL/$path1"
curl -s -D "$TT_TMP/h2" -o "$TT_TMP/dl1" "$url1"
tt_check "download returns identical bytes" cmp -s "$TT_TMP/a.png" "$TT_TMP/dl1"
tt_check "download is image/png" grep -qi '^Content-Type: image/png' "$TT_TMP/h2"
tt_check "download has Content-Length" \
    grep -qi "^Content-Length: $(stat -c %s "$TT_TMP/a.png")" "$TT_TMP/h2"

# ---- iOS: a text part first, then the file with the size hint ----
resp=$(curl -s -F "type=im_image" \
    -F "image=@$TT_TMP/a.png;filename=image.png_640x480.png;type=image/jpeg" "$URL/")
path2=$(field path <<<"$resp")
tt_check "iOS upload keeps the size hint" grep -Eq '^g0/000/000/[0-9]{16}_1_640x480\.png$' <<<"$path2"
curl -s -o "$TT_TMP/dl2" "$URL/$path2"
tt_check "iOS file downloads identical" cmp -s "$TT_TMP/a.png" "$TT_TMP/dl2"

# ---- db_proxy voice: hand-made body, Content-Type:image/jpg, 1.audio ----
head -c 3000 /dev/urandom > "$TT_TMP/voice.raw"
{ printf -- '--teamtalk-voice-b\r\nContent-Disposition: form-data; name="file"; filename="1.audio"\r\n'
  printf 'Content-Type:image/jpg\r\n\r\n'; cat "$TT_TMP/voice.raw"
  printf '\r\n--teamtalk-voice-b--\r\n'; } > "$TT_TMP/voice.body"
resp=$(curl -s -H 'Content-Type: multipart/form-data; boundary=teamtalk-voice-b' \
    --data-binary "@$TT_TMP/voice.body" "$URL/")
path3=$(field path <<<"$resp")
tt_check "voice upload is stored as .audio in 000/001" \
    grep -Eq '^g0/000/001/[0-9]{16}_2\.audio$' <<<"$path3"
curl -s -D "$TT_TMP/h3" -o "$TT_TMP/dl3" "$URL/$path3"
tt_check "voice downloads identical" cmp -s "$TT_TMP/voice.raw" "$TT_TMP/dl3"
tt_check "voice is audio/ogg (the clients' Ogg/Speex)" \
    grep -qi '^Content-Type: audio/ogg' "$TT_TMP/h3"

# ---- PHP admin (curl multipart, field "filename"), quoted boundary with a parameter after ----
resp=$(curl -s -F "filename=@$TT_TMP/a.png;filename=avatar.PNG" "$URL/upload/avatar")
tt_check "admin upload on another path works" test "$(code_of <<<"$resp")" = 0
tt_check "the extension is kept as written" grep -q '_3\.PNG"' <<<"$resp"
printf -- '--q b\r\nContent-Disposition: form-data; name="f"; filename="x.gif"\r\n\r\n%b' \
    'GIF89a\r\n--q b--\r\n' > "$TT_TMP/q.body"
resp=$(curl -s -H 'Content-Type: multipart/form-data; boundary="q b"; charset=utf-8' \
    --data-binary "@$TT_TMP/q.body" "$URL/")
tt_check "quoted boundary with a parameter after it" test "$(code_of <<<"$resp")" = 0
tt_check "files fan out two per directory" test -d "$DATA/000/001" -a -d "$DATA/000/002"

# ---- Windows: POST to msfsPrior + "upload/", part "image", "<name>.<ext>_<W>x<H>.<ext>",
# part type "image/.<ext>"; it builds the link from msfsPrior + path ----
resp=$(curl -s -F "image=@$TT_TMP/a.png;filename=shot.png_800x600.png;type=image/.png" "$URL/upload/")
wpath=$(field path <<<"$resp")
tt_check "Windows upload: error_code 0 and a path with its size hint" \
    grep -Eq '^g0/[0-9]{3}/[0-9]{3}/[0-9]{16}_[0-9]+_800x600\.png$' <<<"$wpath"
curl -s -o "$TT_TMP/dlw" "$URL/$wpath"
tt_check "msfsPrior + path downloads it identical" cmp -s "$TT_TMP/a.png" "$TT_TMP/dlw"
# ---- Mac: "type=im_image" first, then "image" named image.<ext>, image/jpeg; reads url ----
resp=$(curl -s -D "$TT_TMP/hm" -F "type=im_image" \
    -F "image=@$TT_TMP/a.png;filename=image.png;type=image/jpeg" "$URL/")
murl=$(field url <<<"$resp")
tt_check "Mac upload: text/html answer with a url" \
    sh -c "grep -qi '^Content-Type: text/html' '$TT_TMP/hm' && test -n '$murl'"
curl -s -o "$TT_TMP/dlm" "$murl"
tt_check "the Mac url downloads identical" cmp -s "$TT_TMP/a.png" "$TT_TMP/dlm"
tt_check "every answer is one line (Android reads the first line only)" \
    test "$(printf '%s' "$resp" | wc -l)" = 0

# ---- the url follows the Host header; a bad Host falls back to the listen address ----
resp=$(curl -s -H 'Host: img.example.com:8700' -F "f=@$TT_TMP/a.png;filename=h.png" "$URL/")
tt_check "url uses the Host header" grep -q '"url":"http://img.example.com:8700/g0/' <<<"$resp"
resp=$(curl -s -H 'Host: bad"host' -F "f=@$TT_TMP/a.png;filename=h.png" "$URL/")
tt_check "a bad Host falls back to the listen address" grep -q "\"url\":\"$URL/g0/" <<<"$resp"

# ---- traversal and anything outside the layout: 404 ----
for u in "/g0/../msfs.state" "/g0/000/000/../../msfs.state" "/../../../etc/passwd" \
         "/g0/000/000/%2e%2e%2fmsfs.state" "/g0/.tmp/000/x.png" "/msfs.state" "/g0/msfs.state" \
         "/g0/000/000/..%2f..%2fmsfs.state" "/g0/000/000/" "/g0/000//000/${path1##*/}" \
         "/g0/000/000/${path1##*/}/.." "/g0/000/000/none_0.png" "/"; do
    code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL$u")
    tt_check "GET $u is 404" test "$code" = 404
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/g0/000/000/1_99.png")
tt_check "a missing file is 404" test "$code" = 404
reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$P"
          printf 'GET /g0/000/000/../../msfs.state HTTP/1.1\r\nHost: x\r\n\r\n' >&3
          timeout 3 cat <&3) 2>/dev/null || true)
tt_check "raw '..' request is 404" grep -q '^HTTP/1.1 404' <<<"$reply"

# ---- oversize, malformed, other methods ----
n_before=$(files_stored)
head -c $((1048576 + 1)) /dev/urandom > "$TT_TMP/big.bin"
resp=$(curl -s -H 'Expect:' -w ' %{http_code}' -F "file=@$TT_TMP/big.bin;filename=big.jpg" "$URL/")
tt_check "a file over MaxFileSize gets error 1" \
    grep -q '^{"error_code":1,"error_msg": "上传文件过大","url":""} 200$' <<<"$resp"
head -c $((2 * 1048576 + 10)) /dev/urandom > "$TT_TMP/huge.bin"
# error 1 as soon as the headers are read; a client that does not wait for "100 Continue" is
# still sending: the rest is read and dropped while the answer goes out (no reset destroys it).
resp=$(curl -s -H 'Expect:' -w ' %{http_code}' \
    -F "file=@$TT_TMP/huge.bin;filename=h.jpg" "$URL/" || true)
tt_check "a body over HttpMaxBody gets error 1 (client not waiting for 100 Continue)" \
    grep -q '^{"error_code":1,"error_msg": "上传文件过大","url":""} 200$' <<<"$resp"
resp=$(curl -s -w ' %{http_code}' -F "file=@$TT_TMP/huge.bin;filename=h.jpg" "$URL/" || true)
tt_check "... and with Expect: 100-continue the client gets error 1 before sending" \
    grep -q '^{"error_code":1,"error_msg": "上传文件过大","url":""} 200$' <<<"$resp"
resp=$(curl -s -D "$TT_TMP/h4" -d 'a=b' "$URL/")
tt_check "a non-multipart POST gets error 4" test "$(code_of <<<"$resp")" = 4
tt_check "... as text/html JSON with empty path and url" grep -q '"path":"","url":""' <<<"$resp"
resp=$(curl -s -F "a=b" -F "c=d" "$URL/")
tt_check "a form without a file gets error 3" test "$(code_of <<<"$resp")" = 3
resp=$(curl -s -F "f=@$TT_TMP/a.png;filename=noext" "$URL/")
tt_check "a name without '.' gets error 10" test "$(code_of <<<"$resp")" = 10
resp=$(curl -s -F "f=@$TT_TMP/a.png;filename=a.0123456789abcdef" "$URL/")
tt_check "a 16-byte extension gets error 9" test "$(code_of <<<"$resp")" = 9
resp=$(curl -s -F "f=@$TT_TMP/a.png;filename=$(printf 'n%.0s' $(seq 260)).png" "$URL/")
tt_check "a 264-byte name gets error 11" test "$(code_of <<<"$resp")" = 11
printf -- '--zz\r\nContent-Disposition: form-data; name="f"; filename="t.png"\r\n\r\nabc' \
    > "$TT_TMP/t.body"
resp=$(curl -s -H 'Content-Type: multipart/form-data; boundary=zz' \
    --data-binary "@$TT_TMP/t.body" "$URL/")
tt_check "a truncated body gets error 8" test "$(code_of <<<"$resp")" = 8
tt_check "nothing was stored by the refused uploads" test "$(files_stored)" = "$n_before"
for m in PUT DELETE PATCH OPTIONS; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X "$m" "$URL/g0/000/000/${path1##*/}")
    tt_check "$m is 403" test "$code" = 403
done

# ---- concurrent uploads: all stored, all distinct, all intact ----
uploaders=()
for i in $(seq 1 24); do
    { printf 'file %s\n' "$i"; head -c 2000 /dev/urandom; } > "$TT_TMP/c$i.jpg"
    curl -s -F "file0=@$TT_TMP/c$i.jpg" "$URL/" > "$TT_TMP/c$i.resp" &
    uploaders+=("$!")
done
for pid in "${uploaders[@]}"; do wait "$pid" || true; done
ok=1; : > "$TT_TMP/paths"
for i in $(seq 1 24); do
    p=$(field path < "$TT_TMP/c$i.resp")
    [ -n "$p" ] || { ok=0; continue; }
    echo "$p" >> "$TT_TMP/paths"
    curl -s -o "$TT_TMP/c$i.dl" "$URL/$p"
    cmp -s "$TT_TMP/c$i.jpg" "$TT_TMP/c$i.dl" || ok=0
done
tt_check "24 concurrent uploads all succeed and download intact" test "$ok" = 1
tt_check "24 concurrent uploads got 24 distinct paths" test "$(sort -u "$TT_TMP/paths" | wc -l)" = 24

# ---- FileCnt across a clean restart: nothing is overwritten ----
cnt=$(sed -n 's/^FileCnt=//p' "$DATA/msfs.state")
tt_check "FileCnt is persisted as uploads happen" test "$cnt" = "$(files_stored)"
rc=0; tt_stop "$TT_PID_msfs" || rc=$?
tt_check "msfs exits 0 on SIGTERM" test "$rc" = 0
start_msfs
resp=$(curl -s -F "f=@$TT_TMP/voice.raw;filename=after.jpg" "$URL/")
path5=$(field path <<<"$resp")
tt_check "after a restart the numbering goes on at $cnt" grep -q "_${cnt}\.jpg$" <<<"$path5"
curl -s -o "$TT_TMP/dl1b" "$URL/$path1"
tt_check "the first file is intact after the restart" cmp -s "$TT_TMP/a.png" "$TT_TMP/dl1b"
tt_check "the config file was not rewritten" grep -q '^FileCnt=0$' "$TT_TMP/msfs.conf"

# ---- and across a kill -9 ----
cnt=$(sed -n 's/^FileCnt=//p' "$DATA/msfs.state")
kill -KILL "$TT_PID_msfs"; wait "$TT_PID_msfs" 2>/dev/null || true
start_msfs
resp=$(curl -s -F "f=@$TT_TMP/voice.raw;filename=crash.jpg" "$URL/")
tt_check "after kill -9 the numbering goes on at $cnt" grep -q "_${cnt}\.jpg\"" <<<"$resp"
curl -s -o "$TT_TMP/dl5" "$URL/$path5"
tt_check "the file stored before the crash is intact" cmp -s "$TT_TMP/voice.raw" "$TT_TMP/dl5"

# ---- SIGTERM during a slow upload: no half file, exit 0 ----
n_before=$(files_stored)
head -c 600000 /dev/urandom > "$TT_TMP/slow.jpg"
curl -s -H 'Expect:' --limit-rate 50K -F "f=@$TT_TMP/slow.jpg" "$URL/" > "$TT_TMP/slow.resp" 2>&1 &
slow=$!
sleep 1
rc=0; tt_stop "$TT_PID_msfs" 15 || rc=$?
tt_check "msfs exits 0 on SIGTERM during an upload" test "$rc" = 0
kill "$slow" 2>/dev/null || true; wait "$slow" 2>/dev/null || true
tt_check "no half file was stored" test "$(files_stored)" = "$n_before"
tt_check "no temp file was left" test -z "$(ls -A "$DATA/.tmp")"

tt_check_logs
tt_finish
