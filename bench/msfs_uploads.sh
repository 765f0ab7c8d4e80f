#!/usr/bin/env bash
# msfs uploads/s: a private msfs (its own temp BaseDir, a free port) and ONE curl process that
# runs N multipart uploads (Android's form: one part file0, application/octet-stream) with C in
# flight at a time (curl -Z --parallel-max C, one config entry per upload). The figure counts
# only uploads answered error_code 0 and found on disk afterwards. Nothing else is started.
#   bench/msfs_uploads.sh [--build DIR] [--uploads N] [--parallel C] [--size BYTES]
#                         [--post-threads T]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build N=2000 C=16 SIZE=50000 THREADS=2
while [ $# -gt 0 ]; do
    case $1 in
        --build) BUILD=$2; shift 2 ;;
        --uploads) N=$2; shift 2 ;;
        --parallel) C=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --post-threads) THREADS=$2; shift 2 ;;
        *) echo "usage: $0 [--build DIR] [--uploads N] [--parallel C] [--size BYTES] [--post-threads T]" >&2
           exit 2 ;;
    esac
done
TMP=$(mktemp -d /tmp/tt-msfs-bench.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
port() { local p; while :; do p=$(( 20000 + RANDOM % 12000 )); ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }
P=$(port)
cat > "$TMP/msfs.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$P
BaseDir=$TMP/data
PostThreadCount=$THREADS
PostQueueSize=1024
HttpMaxConnsPerAddr=1024
CONF
mkdir -p "$TMP/log"
TT_LOG_DIR=$TMP/log "$BUILD/msfs/msfs" -c "$TMP/msfs.conf" -l "$ROOT/conf/log4crc" \
    >"$TMP/msfs.out" 2>&1 &
PID=$!
for _ in $(seq 100); do ss -Htln "sport = :$P" | grep -q . && break; sleep 0.05; done
head -c "$SIZE" /dev/urandom > "$TMP/pic.jpg"
for i in $(seq "$N"); do
    [ "$i" = 1 ] || echo next
    printf 'silent\nurl = "http://127.0.0.1:%s/"\nform = "file0=@%s;type=application/octet-stream"\nheader = "Expect:"\nwrite-out = "\\n"\n' \
        "$P" "$TMP/pic.jpg"
done > "$TMP/curl.cfg"
t0=$(date +%s.%N)
curl -s -Z --parallel-max "$C" -K "$TMP/curl.cfg" > "$TMP/answers" 2>"$TMP/curl.err" || true
t1=$(date +%s.%N)
ok=$(grep -o '"error_code":0' "$TMP/answers" | wc -l)
others=$(grep -o '"error_code":[1-9][0-9]*' "$TMP/answers" | sort | uniq -c | tr '\n' ' ' || true)
[ -z "$others" ] || echo "other answers: $others"
if grep -q 'refused\|ERROR' "$TMP/log/msfs.log"; then grep 'refused\|ERROR' "$TMP/log/msfs.log" | head -3; fi
stored=$(find "$TMP/data" -path "$TMP/data/.tmp" -prune -o -type f -name '*_*.jpg' -print | wc -l)
secs=$(echo "$t1 - $t0" | bc -l)
printf 'msfs uploads: %d of %d answered error_code 0, %d files on disk, %d bytes each, %d in flight, PostThreadCount %d\n' \
    "$ok" "$N" "$stored" "$SIZE" "$C" "$THREADS"
printf 'elapsed %.2f s: %.0f uploads/s (%.1f MiB/s of file data)\n' "$secs" \
    "$(echo "$stored / $secs" | bc -l)" "$(echo "$stored * $SIZE / $secs / 1048576" | bc -l)"
