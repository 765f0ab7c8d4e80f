#!/usr/bin/env bash
# file_server alone on free loopback ports, driven by it_file_server as msg_server (daemon port,
# with the daemon secret) and as the Windows client (client port): online and offline
# transfers byte-identical, the original's offline layout, refusals (wrong user with a valid
# task id, second uploader/downloader, bad task ids), then a file_server with short timeouts
# (stale tasks and old files deleted, silent peers cut), then a big offline file (IT_FS_BIG_MIB,
# default 1024 MiB) with file_server's peak RSS checked. Each stops cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh"
B=$TT_BUILD
IT=$B/test/it_file_server
BIG_MIB=${IT_FS_BIG_MIB:-1024}

fs_conf() { # fs_conf NAME CPORT MPORT EXTRA...
    local name=$1 cport=$2 mport=$3; shift 3
    {
        printf 'FileServerIp=127.0.0.1;10.1.2.3\nClientListenIP=127.0.0.1\nClientListenPort=%s\n' "$cport"
        printf 'MsgServerListenIP=127.0.0.1\nMsgServerListenPort=%s\nDaemonSecret=%s\n' "$mport" "$TT_DAEMON_SECRET"
        printf 'OfflineDir=%s\n' "$TT_TMP/$name-files"
        printf '%s\n' "$@"
    } > "$TT_TMP/$name.conf"
}
run_fs() { # run_fs NAME MODE EXTRA-KEYS... ; runs the mode against a fresh file_server
    local name=$1 mode=$2; shift 2
    local cport mport rc=0
    cport=$(tt_free_port); mport=$(tt_free_port)
    fs_conf "$name" "$cport" "$mport" "$@"
    tt_start "$name" "$B/file_server/file_server" "$TT_TMP/$name.conf"
    tt_check "$name listening" tt_wait_port "$cport"
    tt_wait_port "$mport" || true
    local pid_var=TT_PID_$name
    "$IT" "$mode" "$mport" "$cport" "$TT_TMP/$name-files" ${RUN_ARGS:-} ${RUN_PID:+${!pid_var}} ${RUN_MAX:-} || rc=$?
    tt_check "it_file_server $mode" test "$rc" = 0
    tt_check "$name still running" tt_alive "${!pid_var}"
    rc=0; tt_stop "${!pid_var}" || rc=$?
    tt_check "$name exits 0 on SIGTERM" test "$rc" = 0
}

run_fs fs_basic basic
LOG=$TT_LOG_DIR/file_server.log
tt_check "refused logins logged" grep -q 'refused: user not bound to this role' "$LOG"
tt_check "second uploader logged" grep -q 'refused: role already taken' "$LOG"
tt_check "downloaded file deleted (logged)" grep -q 'downloaded: file deleted' "$LOG"
tt_check "non-reading downloader cut by the output cap" grep -q 'downloader gone (output limit' "$LOG"

run_fs fs_expire expire TaskTimeout=2 OfflineFileTimeout=3 BlockTimeout=2 LoginTimeout=2
tt_check "expired task logged" grep -q 'expired (no progress' "$LOG"
tt_check "silent peer logged" grep -q 'did not send the block asked' "$LOG"
tt_check "expired file logged" grep -q 'offline file .* deleted' "$LOG"

run_fs fs_limits limits MaxTasks=20 MaxBytesInFlight=1048576 MaxBlockSize=65536
tt_check "refused task logged" grep -q 'no task (20 of MaxTasks=20 in use)' "$LOG"

# file_server stays well under 64 MiB whatever the file size (under ASan, with its quarantine
# of freed memory cut to 1 MiB, under 128 MiB: its shadow memory and allocator cost more)
MAX_KB=65536
if grep -q 'CMAKE_BUILD_TYPE:STRING=Sanitize' "$B/CMakeCache.txt" 2>/dev/null; then
    MAX_KB=131072
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1
fi
RUN_ARGS=$BIG_MIB RUN_PID=1 RUN_MAX=$MAX_KB run_fs fs_big big
tt_check "no file left behind" test -z "$(find "$TT_TMP/fs_big-files" -type f 2>/dev/null)"
tt_check_logs
tt_finish
