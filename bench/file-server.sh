#!/usr/bin/env bash
# MiB/s through file_server: one file_server on free loopback ports in a temp dir, then
# it_file_server bench (built with the tests): a MIB MiB offline upload (file_server pulls
# 32 KiB blocks, writes them to OfflineDir), its download (in order, 32 KiB blocks, the file
# deleted after), and the same size online (the receiver pulls 34,816-byte blocks, the sender
# answers, file_server relays), one client of each kind on one connection, blocks one at a
# time as the Windows client does. Prints MiB/s for each and file_server's VmHWM.
#   bench/file-server.sh [--build DIR] [MIB]      (default: build, 1024)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
if [ "${1:-}" = --build ]; then BUILD=$(cd "$2" && pwd); shift 2; fi
MIB=${1:-1024}
set -- "$BUILD" "$SRC"
source "$SRC/test/integration/lib.sh"
CP=$(tt_free_port); MP=$(tt_free_port)
printf 'FileServerIp=127.0.0.1\nClientListenIP=127.0.0.1\nClientListenPort=%s\nMsgServerListenIP=127.0.0.1\nMsgServerListenPort=%s\nDaemonSecret=%s\nOfflineDir=%s\n' \
    "$CP" "$MP" "$TT_DAEMON_SECRET" "$TT_TMP/files" > "$TT_TMP/fs.conf"
tt_start file_server "$BUILD/file_server/file_server" "$TT_TMP/fs.conf"
tt_wait_port "$CP" && tt_wait_port "$MP" || { echo "file_server did not start" >&2; exit 3; }
rc=0
"$BUILD/test/it_file_server" bench "$MP" "$CP" "$TT_TMP/files" "$MIB" "$TT_PID_file_server" \
    | grep -v '^ok:' || rc=$?
tt_stop "$TT_PID_file_server" || true
exit $rc
