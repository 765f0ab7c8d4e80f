#!/usr/bin/env bash
# File transfer through msg_server (issue 11): the whole suite with two msg_servers pointed at
# a file_server port where nothing listens yet — requests refused, the offline-file list kept
# by db_proxy_server with the session's users (it_file requests) — then, when this build has a
# working file_server, the same msg_servers with it: online across msg_servers, online becoming
# offline, upload, list, download, delete (it_file transfer), and ttcli send-file / files /
# get-file between two users.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
P_FS_MS=$(tt_free_port); P_FS_CL=$(tt_free_port)
TT_MS_EXTRA="FileServerIP1=127.0.0.1
FileServerPort1=$P_FS_MS"
tt_suite_start
# TT007 has 99 pending files already: the 100th gets in, the 101st not
sql "INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated)
     SELECT 8, 7, 'old.bin', 1, CONCAT('task-old-', seq), 0, 0, 0 FROM seq_1_to_99"
"$TT_BUILD/test/it_file" requests "$P_MS1" "$P_MS2" || tt_fail "it_file requests"
tt_check "the forged-uploader file was stored as TT001's, then deleted" \
    test "$(sql "SELECT COUNT(*) FROM IMTransmitFile WHERE taskId = 'task-forged-from'")" = 0
tt_check "the registration after the bad ones is TT001's" \
    test "$(sql "SELECT fromId FROM IMTransmitFile WHERE taskId = 'task-after-bad'")" = 1

mkdir -p "$TT_TMP/fs"
cat > "$TT_TMP/fs/fileserver.conf" <<CONF
ClientListenIP=127.0.0.1
ClientListenPort=$P_FS_CL
MsgServerListenIP=127.0.0.1
MsgServerListenPort=$P_FS_MS
FileServerIp=127.0.0.1
TaskTimeout=3600
OfflineDir=$TT_TMP/fs/offline_file
DaemonSecret=$TT_DAEMON_SECRET
CONF
cd "$TT_TMP/fs" # offline_file/ goes under the working directory
tt_start file_server "$TT_BUILD/file_server/file_server" "$TT_TMP/fs/fileserver.conf"
cd - >/dev/null
tt_check "file_server up" tt_wait_port "$P_FS_CL"
# both msg_servers link up and get the address list
for i in 1 2; do
    for _ in $(seq 100); do
        grep -q 'gives 1 client address' "$TT_LOG_DIR"/ms$i/*.log && break
        sleep 0.1
    done
    tt_check "msg_server $i has file_server's address list" \
        grep -q 'gives 1 client address' "$TT_LOG_DIR"/ms$i/*.log
done
"$TT_BUILD/test/it_file" transfer "$P_MS1" "$P_MS2" || tt_fail "it_file transfer"
"$TT_BUILD/test/it_file" local "$P_MS1" 0 || tt_fail "it_file local"

# ttcli: TT001 sends TT003 (not online) a file; TT003 lists and gets it
export TT_PASSWORD=test123
CLI=$TT_BUILD/client/ttcli
head -c 300000 /dev/urandom > "$TT_TMP/report.pdf"
tt_check "ttcli send-file" "$CLI" -m "127.0.0.1:$P_MS1" -u TT001 send-file TT003 \
    "$TT_TMP/report.pdf"
"$CLI" -m "127.0.0.1:$P_MS2" -u TT003 files > "$TT_TMP/files.out" 2>&1
cat "$TT_TMP/files.out"
tt_check "ttcli files lists report.pdf from TT001" grep -q 'TT001.*report.pdf' "$TT_TMP/files.out"
task=$(awk '/report.pdf/ {print $1; exit}' "$TT_TMP/files.out")
tt_check "ttcli get-file" "$CLI" -m "127.0.0.1:$P_MS2" -u TT003 get-file "$task" \
    "$TT_TMP/got.pdf"
tt_check "the file arrived byte for byte" cmp "$TT_TMP/report.pdf" "$TT_TMP/got.pdf"
"$CLI" -m "127.0.0.1:$P_MS2" -u TT003 files > "$TT_TMP/files2.out" 2>&1
tt_check "and is no longer listed" sh -c "! grep -q report.pdf '$TT_TMP/files2.out'"
tt_check "get-file of a task that is not yours fails" sh -c \
    "! '$CLI' -m 127.0.0.1:$P_MS2 -u TT003 get-file '$task' '$TT_TMP/again.pdf'"

# ttcli send-file --online to a PC client that takes it (it_file receive, TT002)
head -c 100000 /dev/urandom > "$TT_TMP/live.bin"
"$TT_BUILD/test/it_file" receive "$P_MS2" "$TT_TMP/live.out" > "$TT_TMP/recv.out" 2>&1 &
recv_pid=$!
for _ in $(seq 100); do grep -q 'receiver ready' "$TT_TMP/recv.out" && break; sleep 0.1; done
"$CLI" -m "127.0.0.1:$P_MS1" -u TT001 send-file --online TT002 "$TT_TMP/live.bin" \
    > "$TT_TMP/send-online.out" 2>&1
tt_check "ttcli send-file --online to TT002's PC" test $? = 0
cat "$TT_TMP/send-online.out"
tt_check "it went online" grep -q ', online, through' "$TT_TMP/send-online.out"
wait "$recv_pid"; rc=$?
cat "$TT_TMP/recv.out"
tt_check "the receiver took it" test "$rc" = 0
tt_check "byte for byte" cmp "$TT_TMP/live.bin" "$TT_TMP/live.out"

v=TT_PID_file_server
rc=0; tt_stop "${!v}" || rc=$?
tt_check "file_server exits 0 on SIGTERM" test "$rc" = 0
# without it, requests get the error answer again; when it is back, they work again
"$TT_BUILD/test/it_file" local "$P_MS1" 1 || tt_fail "it_file local without file_server"
cd "$TT_TMP/fs"
tt_start file_server2 "$TT_BUILD/file_server/file_server" "$TT_TMP/fs/fileserver.conf"
cd - >/dev/null
tt_check "file_server up again" tt_wait_port "$P_FS_CL"
for _ in $(seq 100); do
    [ "$(cat "$TT_LOG_DIR"/ms1/*.log | grep -c 'gives 1 client address')" -ge 2 ] && break
    sleep 0.1
done
"$TT_BUILD/test/it_file" local "$P_MS1" 0 || tt_fail "it_file local after the restart"
v=TT_PID_file_server2
rc=0; tt_stop "${!v}" || rc=$?
tt_check "file_server exits 0 on SIGTERM" test "$rc" = 0
tt_suite_stop_all
tt_finish
