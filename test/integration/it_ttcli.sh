#!/usr/bin/env bash
# ttcli against the whole suite (two msg_servers): two `ttcli chat` sessions driven through
# pipes talk across the msg_servers, a chat on a terminal (script(1) gives it a pty), `send`
# then `unread`, `history`, `sessions` and a chat that shows the backlog and marks it read,
# texts stored as the shipped clients' cipher makes them, and clear errors for a user that
# does not exist; then a group made by ttadm: two `ttcli chat group:1` sessions through pipes
# on different msg_servers, and an offline member's unread, history, sessions, groups, chat
# backlog and send; a non-member's send refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/suite.sh"
tt_suite_start
export TT_PASSWORD=test123
CLI=$TT_BUILD/client/ttcli
M1=(-m "127.0.0.1:$P_MS1"); M2=(-m "127.0.0.1:$P_MS2")
msgs_sql=$(for i in 0 1 2 3 4 5 6 7; do
    [ "$i" = 0 ] || printf ' UNION ALL '
    printf 'SELECT relateId, msgId, fromId, content FROM IMMessage_%s' "$i"
done)

# wait_for FILE REGEX [SECONDS]: FILE gets a line matching REGEX in time.
wait_for() {
    local deadline=$(( SECONDS + ${3:-20} ))
    while (( SECONDS < deadline )); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "--- $1 has no line matching $2:"; cat "$1"
    return 1
}

# --- two chats through pipes, TT021 on msg_server 1 and TT022 on msg_server 2
mkfifo "$TT_TMP/a.in" "$TT_TMP/b.in"
"$CLI" "${M1[@]}" -u TT021 chat TT022 <"$TT_TMP/a.in" >"$TT_TMP/a.out" 2>"$TT_TMP/a.cli" &
PID_A=$!
"$CLI" "${M2[@]}" -u TT022 chat TT021 <"$TT_TMP/b.in" >"$TT_TMP/b.out" 2>"$TT_TMP/b.cli" &
PID_B=$!
exec 3>"$TT_TMP/a.in" 4>"$TT_TMP/b.in"
tt_check "chat A is on" wait_for "$TT_TMP/a.out" '^chat with TT022 \(user 22\) as TT021'
tt_check "chat B is on" wait_for "$TT_TMP/b.out" '^chat with TT021 \(user 21\) as TT022'
tt_check "chat B sees TT021 online, on the other msg_server" \
    wait_for "$TT_TMP/b.out" '\*\*\* TT021 is online$'
echo "hello from 21" >&3
tt_check "A's line is sent and shown as A's" wait_for "$TT_TMP/a.out" ' #1 you: hello from 21$'
tt_check "B prints it as it arrives" wait_for "$TT_TMP/b.out" ' #1 TT021: hello from 21$'
printf 'hi 21, 22 here\n\n  \nsecond line, 你好\n' >&4
tt_check "A prints B's first line" wait_for "$TT_TMP/a.out" ' #2 TT022: hi 21, 22 here$'
tt_check "A prints B's second line (UTF-8)" wait_for "$TT_TMP/a.out" ' #3 TT022: second line, 你好$'
tt_check "empty lines are not sent" test "$(grep -c ' you: ' "$TT_TMP/b.out")" = 2
printf 'last words without a newline' >&3
exec 3>&-
rc=0; wait "$PID_A" || rc=$?
tt_check "Ctrl-D (the end of the pipe) ends chat A with 0" test "$rc" = 0
tt_check "a line without a newline is sent on Ctrl-D" wait_for "$TT_TMP/b.out" ' #4 TT021: last words without a newline$'
tt_check "chat B is told that TT021 left" wait_for "$TT_TMP/b.out" ' \*\*\* TT021 is offline$'
exec 4>&-
rc=0; wait "$PID_B" || rc=$?
tt_check "chat B ends with 0" test "$rc" = 0
tt_check "the chats wrote no errors" test ! -s "$TT_TMP/a.cli" -a ! -s "$TT_TMP/b.cli"
# what chat printed was marked read: nothing unread on either side
tt_check "TT021 has nothing unread" sh -c "'$CLI' -m 127.0.0.1:$P_MS2 -u TT021 unread | grep -qx 'unread: 0 in 0 sessions'"
tt_check "TT022 has nothing unread" sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT022 unread | grep -qx 'unread: 0 in 0 sessions'"
tt_check "the chat is in history, in order" test "$("$CLI" "${M1[@]}" -u TT022 history TT021 | sed 's/^[0-9-]* [0-9:]* //')" = \
"#1 TT021: hello from 21
#2 TT022: hi 21, 22 here
#3 TT022: second line, 你好
#4 TT021: last words without a newline"
tt_check "history N gives the last N" test "$("$CLI" "${M1[@]}" -u TT021 history 22 2 | cut -d' ' -f3-)" = \
"#3 TT022: second line, 你好
#4 TT021: last words without a newline"

# --- send to someone offline (through login_server), then what they see
out=$("$CLI" -s "http://127.0.0.1:$P_LHTTP/msg_server" -u TT023 send TT024 hello)
tt_check "send prints the msg_id ($out)" test "$out" = "sent: msg_id 1 to TT024 (user 24)"
tt_check "send by user id" sh -c "'$CLI' -m 127.0.0.1:$P_MS2 -u TT023 send 24 'second one' | grep -qx 'sent: msg_id 2 to TT024 (user 24)'"
tt_check "the text is stored as the shipped clients encrypt it (PROTOCOL §6.2 vector)" \
    test "$(sql "SELECT msgId, fromId FROM ($msgs_sql) t WHERE content = 'nnZSBwfPCz60q69ddmfIJA=='")" = "1	23"
out=$("$CLI" "${M1[@]}" -u TT024 unread)
tt_check "unread shows the sender, the count and the latest text" \
    grep -q $'^TT023\t2\t#2 TT023: second one$' <<<"$out"
tt_check "unread shows the total" grep -qx 'unread: 2 in 1 sessions' <<<"$out"
out=$("$CLI" "${M2[@]}" -u TT024 sessions)
tt_check "sessions lists the conversation with its latest message" \
    grep -Eq $'^TT023\t[0-9-]+ [0-9:]+\t#2 second one$' <<<"$out"
tt_check "the sender's sessions list it too" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT023 sessions | grep -q '^TT024'"
out=$("$CLI" "${M2[@]}" -u TT024 chat TT023 </dev/null)
tt_check "chat shows what came while away" grep -qx -- '--- 2 unread' <<<"$out"
tt_check "chat shows the backlog oldest first" \
    test "$(grep ' TT023: ' <<<"$out" | cut -d' ' -f3-)" = $'#1 TT023: hello\n#2 TT023: second one'
tt_check "after that chat nothing is unread" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT024 unread | grep -qx 'unread: 0 in 0 sessions'"

# --- chat on a terminal: script(1) runs it on a pty, the typed line goes out
tt_check "chat on a terminal sends the typed line" sh -c \
    "{ sleep 2; printf 'typed on a tty\n'; sleep 2; printf '\004'; } | script -qfec \"'$CLI' -m 127.0.0.1:$P_MS1 -u TT025 chat TT026\" /dev/null >'$TT_TMP/tty.out' 2>&1"
tt_check "the terminal chat showed the sent line" grep -q ' #1 you: typed on a tty' "$TT_TMP/tty.out"
tt_check "TT026 got it" sh -c "'$CLI' -m 127.0.0.1:$P_MS2 -u TT026 history TT025 | grep -q ' #1 TT025: typed on a tty$'"

# --- a group chat: TT031 on msg_server 1 and TT032 on msg_server 2, TT033 away, TT034 no member
tt_check "ttadm group add Friends" "$TT_BUILD/tools/ttadm" -c "$TT_TMP/db.conf" group add Friends \
    --members TT031,TT032,TT033 --creator TT031
mkfifo "$TT_TMP/ga.in" "$TT_TMP/gb.in"
"$CLI" "${M1[@]}" -u TT031 chat group:1 <"$TT_TMP/ga.in" >"$TT_TMP/ga.out" 2>"$TT_TMP/ga.cli" &
PID_A=$!
"$CLI" "${M2[@]}" -u TT032 -t android chat group:1 <"$TT_TMP/gb.in" >"$TT_TMP/gb.out" 2>"$TT_TMP/gb.cli" &
PID_B=$!
exec 5>"$TT_TMP/ga.in" 6>"$TT_TMP/gb.in"
tt_check "group chat A is on" wait_for "$TT_TMP/ga.out" '^chat with group:1 \(group 1\) as TT031; '
tt_check "group chat B is on" wait_for "$TT_TMP/gb.out" '^chat with group:1 \(group 1\) as TT032; '
sleep 0.5 # both have asked for their unread counts: what follows arrives live
echo "hello" >&5
tt_check "A's line is sent and shown as A's" wait_for "$TT_TMP/ga.out" ' #1 you: hello$'
tt_check "B (the other msg_server) prints it as it arrives" wait_for "$TT_TMP/gb.out" ' #1 TT031: hello$'
printf 'hi all, 32 here\n\nsecond line, 你好\n' >&6
tt_check "A prints B's first line" wait_for "$TT_TMP/ga.out" ' #2 TT032: hi all, 32 here$'
tt_check "A prints B's second line (UTF-8)" wait_for "$TT_TMP/ga.out" ' #3 TT032: second line, 你好$'
tt_check "B shows its own lines once, as sent" \
    test "$(grep -c ' you: ' "$TT_TMP/gb.out") $(grep -c 'other device\|TT032:' "$TT_TMP/gb.out")" = "2 0"
tt_check "A does not get its own line back" test "$(grep -c 'TT031:\|other device' "$TT_TMP/ga.out")" = 0
exec 5>&- 6>&-
rc=0; wait "$PID_A" || rc=$?
tt_check "Ctrl-D ends group chat A with 0" test "$rc" = 0
rc=0; wait "$PID_B" || rc=$?
tt_check "group chat B ends with 0" test "$rc" = 0
tt_check "the group chats wrote no errors" test ! -s "$TT_TMP/ga.cli" -a ! -s "$TT_TMP/gb.cli"
tt_check "the group text is stored once, as the shipped clients encrypt it" \
    test "$(sql "SELECT msgId, userId, type FROM IMGroupMessage_1 WHERE groupId = 1 AND content = 'nnZSBwfPCz60q69ddmfIJA=='")" = "1	31	17"
tt_check "the chats marked what they printed read: TT031" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS2 -u TT031 unread | grep -qx 'unread: 0 in 0 sessions'"
tt_check "... and TT032" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT032 unread | grep -qx 'unread: 0 in 0 sessions'"
out=$("$CLI" "${M1[@]}" -u TT033 unread) || true
tt_check "the offline member's unread shows the group, the count and the latest text" \
    grep -q $'^group:1\t3\t#3 TT032: second line, 你好$' <<<"$out"
tt_check "... and the total" grep -qx 'unread: 3 in 1 sessions' <<<"$out"
tt_check "its history of the group, in order" \
    test "$("$CLI" "${M2[@]}" -u TT033 history group:1 | cut -d' ' -f3-)" = \
"#1 TT031: hello
#2 TT032: hi all, 32 here
#3 TT032: second line, 你好"
tt_check "history group:1 N gives the last N" \
    test "$("$CLI" "${M2[@]}" -u TT033 history group:1 1 | cut -d' ' -f3-)" = "#3 TT032: second line, 你好"
out=$("$CLI" "${M1[@]}" -u TT033 sessions) || true
tt_check "its sessions list the group with its latest message" \
    grep -Eq $'^group:1\t[0-9-]+ [0-9:]+\t#3 second line, 你好$' <<<"$out"
out=$("$CLI" "${M1[@]}" -u TT033 groups) || true
tt_check "its groups list Friends" grep -Eq $'^1\tnormal\tFriends\tversion 1\t-\t' <<<"$out"
out=$("$CLI" "${M2[@]}" -u TT033 chat group:1 </dev/null) || true
tt_check "a group chat shows what came while away" grep -qx -- '--- 3 unread' <<<"$out"
tt_check "... oldest first" \
    test "$(grep ' TT03[12]: ' <<<"$out" | cut -d' ' -f3-)" = $'#1 TT031: hello\n#2 TT032: hi all, 32 here\n#3 TT032: second line, 你好'
tt_check "after it nothing is unread" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS1 -u TT033 unread | grep -qx 'unread: 0 in 0 sessions'"
out=$("$CLI" "${M1[@]}" -u TT033 send group:1 'from the shell') || true
tt_check "send to a group prints the msg_id ($out)" test "$out" = "sent: msg_id 4 to group:1 (group 1)"
tt_check "the others have it" \
    sh -c "'$CLI' -m 127.0.0.1:$P_MS2 -u TT032 history group:1 1 | grep -q ' #4 TT033: from the shell$'"
rc=0; "$CLI" "${M1[@]}" -w 3 -u TT034 send group:1 intruding >/dev/null 2>"$TT_TMP/e4" || rc=$?
tt_check "a non-member's send fails (no ack)" test "$rc" = 1
tt_check "... with a clear error" grep -q '^ttcli: send to group:1: no ack from the server within 3000 ms' "$TT_TMP/e4"
tt_check "nothing stored for it" test "$(sql "SELECT COUNT(*) FROM IMGroupMessage_1 WHERE userId = 34")" = 0

# --- users that do not exist
rc=0; "$CLI" "${M1[@]}" -u TT023 send TT999 hi >/dev/null 2>"$TT_TMP/e1" || rc=$?
tt_check "an unknown login name fails" test "$rc" = 1
tt_check "... saying so" grep -qx 'ttcli: no user TT999 (see ttcli users)' "$TT_TMP/e1"
rc=0; "$CLI" "${M1[@]}" -w 3 -u TT023 send 99999 hi >/dev/null 2>"$TT_TMP/e2" || rc=$?
tt_check "a message to an unknown user id fails (no ack)" test "$rc" = 1
tt_check "... with a clear error" grep -q '^ttcli: send to 99999: no ack from the server within 3000 ms: the message was refused (unknown receiver' "$TT_TMP/e2"
tt_check "nothing stored for the unknown user" test "$(sql "SELECT COUNT(*) FROM ($msgs_sql) t WHERE fromId = 23")" = 2
rc=0; "$CLI" "${M1[@]}" -u TT023 chat TT998 </dev/null >/dev/null 2>"$TT_TMP/e3" || rc=$?
tt_check "chat with an unknown login name fails at once" test "$rc" = 1
tt_check "... saying so" grep -qx 'ttcli: no user TT998 (see ttcli users)' "$TT_TMP/e3"

tt_suite_stop_all
tt_finish
