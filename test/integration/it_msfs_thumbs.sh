#!/usr/bin/env bash
# msfs beyond the original: an oversize upload refused before its body is read (by
# Content-Length, and a chunked body cut as it passes MaxFileSize), HEAD and single byte
# ranges (206, Content-Range, 416), "<stored name>_<W>x<H>.<fmt>" thumbnails made with libvips,
# cached on disk next to the original and served from there the second time, their bounds, a
# non-image or an image with too many pixels refused (415), thumbnails made while downloads
# go on, at most ThumbCacheMax sizes of an image cached, the retention sweep deleting an old file and its thumbnail, and `ttadm msfs usage`.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD
P=$(tt_free_port)
URL=http://127.0.0.1:$P
DATA=$TT_TMP/msfs_data
TOOL=(python3 "$(dirname "$0")/msfs_tool.py")

cat > "$TT_TMP/msfs.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P
BaseDir=$DATA
GetThreadCount=2
PostThreadCount=2
MaxFileSize=1048576
HttpMaxBody=8388608
ThumbThreadCount=1
ThumbMaxPixels=1000000
RetentionDays=30
RetentionSweepSecs=1
CONF
tt_start msfs "$B/msfs/msfs" "$TT_TMP/msfs.conf"
tt_wait_port "$P" || tt_fail "msfs does not listen on $P"

field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
upload() { curl -s -F "file0=@$1;filename=$2;type=application/octet-stream" "$URL/" | field path; }

"${TOOL[@]}" png 640 480 "$TT_TMP/photo.png"
path=$(upload "$TT_TMP/photo.png" photo.png)
tt_check "a 640x480 PNG is stored" test -n "$path"
size=$(stat -c %s "$TT_TMP/photo.png")

# ---- HEAD ----
curl -s -I -o "$TT_TMP/head.h" "$URL/$path"
tt_check "HEAD is 200" grep -q '^HTTP/1.1 200' "$TT_TMP/head.h"
tt_check "HEAD gives the file's Content-Length" grep -qi "^Content-Length: $size" "$TT_TMP/head.h"
tt_check "HEAD gives image/png" grep -qi '^Content-Type: image/png' "$TT_TMP/head.h"
tt_check "downloads say Accept-Ranges: bytes" grep -qi '^Accept-Ranges: bytes' "$TT_TMP/head.h"
raw=$( (exec 3<>"/dev/tcp/127.0.0.1/$P"
        printf 'HEAD /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$path" >&3
        timeout 3 cat <&3) 2>/dev/null | wc -c)
hdr=$(wc -c < "$TT_TMP/head.h")
tt_check "HEAD sends no body ($raw bytes = the $hdr of the headers)" test "$raw" = "$hdr"
code=$(curl -s -I -o /dev/null -w '%{http_code}' "$URL/g0/000/000/1_99.png")
tt_check "HEAD of a missing file is 404" test "$code" = 404

# ---- ranges ----
curl -s -D "$TT_TMP/r.h" -o "$TT_TMP/r1" -r 0-99 "$URL/$path"
tt_check "bytes=0-99 is 206" grep -q '^HTTP/1.1 206' "$TT_TMP/r.h"
tt_check "... with Content-Range: bytes 0-99/$size" \
    grep -qi "^Content-Range: bytes 0-99/$size" "$TT_TMP/r.h"
tt_check "... and the first 100 bytes" cmp -s "$TT_TMP/r1" <(head -c 100 "$TT_TMP/photo.png")
curl -s -o "$TT_TMP/r2" -r 100- "$URL/$path"
tt_check "bytes=100- is the rest" cmp -s "$TT_TMP/r2" <(tail -c +101 "$TT_TMP/photo.png")
curl -s -o "$TT_TMP/r3" -r -50 "$URL/$path"
tt_check "bytes=-50 is the last 50" cmp -s "$TT_TMP/r3" <(tail -c 50 "$TT_TMP/photo.png")
cat "$TT_TMP/r1" "$TT_TMP/r2" > "$TT_TMP/r12"
tt_check "two ranges put together are the file" cmp -s "$TT_TMP/r12" "$TT_TMP/photo.png"
curl -s -D "$TT_TMP/r.h" -o /dev/null -H "Range: bytes=$size-" "$URL/$path"
tt_check "a range past the end is 416" grep -q '^HTTP/1.1 416' "$TT_TMP/r.h"
tt_check "... with Content-Range: bytes */$size" grep -qi "^Content-Range: bytes \*/$size" "$TT_TMP/r.h"
curl -s -D "$TT_TMP/r.h" -o "$TT_TMP/r4" -H 'Range: bytes=0-1,5-6' "$URL/$path"
tt_check "several ranges: the whole file, 200" \
    sh -c "grep -q '^HTTP/1.1 200' '$TT_TMP/r.h' && cmp -s '$TT_TMP/r4' '$TT_TMP/photo.png'"
curl -s -I -o "$TT_TMP/r.h" -r 10-19 "$URL/$path"
tt_check "HEAD with a range: 206, Content-Length 10" \
    sh -c "grep -q '^HTTP/1.1 206' '$TT_TMP/r.h' && grep -qi '^Content-Length: 10' '$TT_TMP/r.h'"

# ---- thumbnails ----
cache=$DATA/${path#g0/}_100x100.jpg
tt_check "no thumbnail before it is asked" test ! -e "$cache"
curl -s -D "$TT_TMP/t.h" -o "$TT_TMP/t1.jpg" "$URL/${path}_100x100.jpg"
tt_check "<path>_100x100.jpg is 200" grep -q '^HTTP/1.1 200' "$TT_TMP/t.h"
tt_check "... a JPEG (image/jpeg)" grep -qi '^Content-Type: image/jpeg' "$TT_TMP/t.h"
tt_check "... of 100x75 (640x480 fitted, aspect kept)" \
    test "$("${TOOL[@]}" size "$TT_TMP/t1.jpg")" = "100 75"
tt_check "the thumbnail is cached next to the original" cmp -s "$cache" "$TT_TMP/t1.jpg"
stamp=$(stat -c '%i %Y.%y' "$cache")
sleep 1.1
curl -s -o "$TT_TMP/t2.jpg" "$URL/${path}_100x100.jpg"
tt_check "the second request gives the same bytes" cmp -s "$TT_TMP/t1.jpg" "$TT_TMP/t2.jpg"
tt_check "... from the cache (the cached file was not made again)" \
    test "$(stat -c '%i %Y.%y' "$cache")" = "$stamp"
tt_check "the log says it was made once" \
    test "$(grep -c "made ${path#g0/}_100x100.jpg" "$TT_LOG_DIR/msfs.log")" = 1
curl -s -o "$TT_TMP/t3.png" "$URL/${path}_50x200.png"
tt_check "_50x200.png is a 50-wide PNG" grep -Eq '^50 3[78]$' <<<"$("${TOOL[@]}" size "$TT_TMP/t3.png")"
curl -s -o "$TT_TMP/t4.png" "$URL/${path}_2000x2000.png"
tt_check "a box larger than the image does not enlarge it" \
    test "$("${TOOL[@]}" size "$TT_TMP/t4.png")" = "640 480"
curl -s -o "$TT_TMP/t5.webp" -D "$TT_TMP/t.h" "$URL/${path}_64x64.webp"
tt_check "_64x64.webp is image/webp" grep -qi '^Content-Type: image/webp' "$TT_TMP/t.h"
for u in "${path}_2049x100.jpg" "${path}_100x0.jpg" "${path}_100x100.gif" \
         "g0/000/000/1_99.png_100x100.jpg" "g0/000/000/../../${path##*/}_100x100.jpg" \
         "g0/000/../${path##*/}_100x100.jpg" "${path}_100x100.jpg_100x100.jpg"; do
    code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL/$u")
    tt_check "GET /$u is 404" test "$code" = 404
done
head -c 3000 /dev/urandom > "$TT_TMP/voice.raw"
vpath=$(upload "$TT_TMP/voice.raw" 1.audio)
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/${vpath}_100x100.jpg")
tt_check "a thumbnail of a voice file is 415" test "$code" = 415
fpath=$(upload "$TT_TMP/voice.raw" fake.png)
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/${fpath}_100x100.jpg")
tt_check "a thumbnail of random bytes named .png is 415" test "$code" = 415
"${TOOL[@]}" png 1200 900 "$TT_TMP/big.png"
bpath=$(upload "$TT_TMP/big.png" big.png)
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/${bpath}_100x100.jpg")
tt_check "an image over ThumbMaxPixels is not scaled (415)" test "$code" = 415
curl -s -o "$TT_TMP/big.dl" "$URL/$bpath"
tt_check "... and still downloads whole" cmp -s "$TT_TMP/big.png" "$TT_TMP/big.dl"
tt_check "msfs is alive after the refused thumbnails" tt_alive "$TT_PID_msfs"

# thumbnails of many sizes while downloads go on: all answered, all right
pids=()
for i in $(seq 1 8); do
    curl -s -o "$TT_TMP/ct$i.png" "$URL/${path}_$((20 + i))x$((20 + i)).png" & pids+=("$!")
    curl -s -o "$TT_TMP/cd$i" "$URL/$path" & pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
ok=1
for i in $(seq 1 8); do
    w=$("${TOOL[@]}" size "$TT_TMP/ct$i.png" | cut -d' ' -f1)
    [ "$w" = $((20 + i)) ] || ok=0
    cmp -s "$TT_TMP/cd$i" "$TT_TMP/photo.png" || ok=0
done
tt_check "8 thumbnails and 8 downloads at once all right" test "$ok" = 1
n=$(find "$DATA/$(dirname "${path#g0/}")" -name "${path##*/}_*" | wc -l)
tt_check "12 sizes asked, ThumbCacheMax (8) of them cached" test "$n" = 8

# ---- oversize refused before the body ----
out=$("${TOOL[@]}" early "$P" 20000000)
tt_log "Content-Length 20000000, no body sent: $out"
tt_check "over HttpMaxBody: error 1 at once, without the body" \
    grep -q 'after 0\.[0-9]* s: HTTP/1.1 200 .*{"error_code":1,"error_msg": "上传文件过大","url":""}' <<<"$out"
out=$("${TOOL[@]}" early "$P" $((1048576 + 65536 + 1)))
tt_check "over MaxFileSize + the form slack: error 1 at once, without the body" \
    grep -q 'after 0\.[0-9]* s: HTTP/1.1 200 .*"error_code":1' <<<"$out"
n_files=$(find "$DATA" -path "$DATA/.tmp" -prune -o -type f -print | wc -l)
out=$("${TOOL[@]}" chunked "$P" 6000000)
tt_log "chunked 6000000-byte file: $out"
sent=$(sed -n 's/^sent \([0-9]*\) of \([0-9]*\).*/\1/p' <<<"$out")
total=$(sed -n 's/^sent \([0-9]*\) of \([0-9]*\).*/\2/p' <<<"$out")
tt_check "a chunked body is cut once the file passes MaxFileSize ($sent of $total sent)" \
    test "$sent" -lt $((total / 2))
tt_check "... answered with error 1 or cut with a reset" \
    grep -Eq '(error_code":1|: $)' <<<"$out"
tt_check "... and nothing was stored" \
    test "$(find "$DATA" -path "$DATA/.tmp" -prune -o -type f -print | wc -l)" = "$n_files"
tt_check "... no temp file left" test -z "$(ls -A "$DATA/.tmp")"

# ---- ttadm msfs usage ----
TTADM=$B/tools/ttadm
out=$("$TTADM" -c "$TT_TMP/msfs.conf" msfs usage)
echo "$out"
tt_check "usage counts the 4 stored files" grep -q '^stored files: 4, ' <<<"$out"
tt_check "usage counts the thumbnails" grep -Eq '^thumbnails: (1[0-9]|[1-9]), ' <<<"$out"
tt_check "usage shows the retention" grep -q '^retention: 30 days' <<<"$out"
tt_check "usage has today's row" grep -Eq "^$(date -u +%Y-%m-%d) +4 " <<<"$out"
out=$("$TTADM" -c "$TT_TMP/msfs.conf" msfs usage --by dir)
tt_check "usage --by dir has 000/000" grep -Eq '^000/000 +4 ' <<<"$out"

# ---- retention: a file older than RetentionDays goes, with its thumbnail ----
touch -d '40 days ago' "$DATA/${vpath#g0/}" "$DATA/${path#g0/}"
old_thumb=$DATA/${path#g0/}_50x200.png
tt_check "the old image has cached thumbnails" test -e "$old_thumb" -a -e "$cache"
for _ in $(seq 50); do [ -e "$DATA/${path#g0/}" ] || break; sleep 0.1; done
tt_check "the sweep deleted the image older than 30 days" test ! -e "$DATA/${path#g0/}"
tt_check "... and the old voice file" test ! -e "$DATA/${vpath#g0/}"
for _ in $(seq 30); do [ -e "$cache" ] || break; sleep 0.1; done
tt_check "... and the image's thumbnails" test ! -e "$cache" -a ! -e "$old_thumb"
tt_check "newer files stay" test -e "$DATA/${bpath#g0/}" -a -e "$DATA/${fpath#g0/}"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$path")
tt_check "the deleted image is 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/${path}_100x100.jpg")
tt_check "... and so is its thumbnail" test "$code" = 404
tt_check "the sweep is logged" grep -q 'retention sweep: deleted 2 files older than 30 days' \
    "$TT_LOG_DIR/msfs.log"
out=$("$TTADM" -c "$TT_TMP/msfs.conf" msfs usage)
tt_check "usage now counts 2 stored files" grep -q '^stored files: 2, ' <<<"$out"

rc=0; tt_stop "$TT_PID_msfs" || rc=$?
tt_check "msfs exits 0 on SIGTERM" test "$rc" = 0
tt_check "the final line counts a thumbnail from the cache" \
    grep -Eq 'thumbnails: [0-9]+ made, [1-9][0-9]* from the cache' "$TT_LOG_DIR/msfs.log"
tt_check_logs
tt_finish
