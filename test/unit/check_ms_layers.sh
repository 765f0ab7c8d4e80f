#!/usr/bin/env bash
# msg_server's layers (docs/ARCHITECTURE.md, "msg_server: layers"): no file includes a header
# of, or uses a function or table defined by, a file above it or beside it on its layer.
# Usage: check_ms_layers.sh MSG_SERVER_DIR [TABLE]. TABLE (default: the one below) has one
# module a line, "LAYER FILE...", lowest layer first; every .c and .h of the directory must be
# in it. Within a module the files may use each other.
set -u
dir=${1:?usage: check_ms_layers.sh MSG_SERVER_DIR [TABLE]}
table=${2:-}
default_table='
0 ms_core.h
1 ms_attach.h attach.c
1 ms_session.h session.c
1 ms_gcache.h gcache.c
2 ms_limits.h limits.c
2 ms_answers.h answers.c
3 ms_upstream.h upstream.c
4 ms_dispatch.h dispatch.c
5 ms_login.h login.c
5 ms_buddy.h buddy.c
5 ms_chat.h chat.c
5 ms_group.h group.c
5 ms_file.h file.c
5 ms_push.h push.c
6 main.c
7 msg_server.h
'
declare -A layer module
n=0
while read -r l files; do
    [[ -z "$l" || "$l" == \#* ]] && continue
    n=$((n + 1))
    for f in $files; do
        layer[$f]=$l
        module[$f]=$n
    done
done < <(if [[ -n "$table" ]]; then cat "$table"; else printf '%s' "$default_table"; fi)

fail=0
bad() {
    echo "check_ms_layers: $*" >&2
    fail=1
}
# A file's text without comments (and, for code, without string literals).
nocomments() { perl -0pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g' "$1"; }
code() { nocomments "$1" | perl -pe 's{"(?:[^"\\]|\\.)*"}{""}g'; }

cd "$dir" || exit 2
shopt -s nullglob
files=(*.c *.h)
for f in "${files[@]}"; do
    [[ -n "${layer[$f]:-}" ]] || bad "$f is in no layer (add it to the table)"
done

# allowed FILE OTHER: FILE may depend on OTHER
allowed() { [[ "${module[$1]}" == "${module[$2]}" || "${layer[$2]}" -lt "${layer[$1]}" ]]; }

# Includes of the directory's own headers.
for f in "${files[@]}"; do
    [[ -n "${layer[$f]:-}" ]] || continue
    while read -r h; do
        [[ -e "$h" ]] || continue # a header from elsewhere (base/, protobuf)
        [[ -n "${layer[$h]:-}" ]] || continue
        allowed "$f" "$h" ||
            bad "$f (layer ${layer[$f]}) includes $h (layer ${layer[$h]})"
    done < <(nocomments "$f" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
done

# Who defines each ms_* function or table: a definition starts at the beginning of a line.
declare -A def
for f in *.c; do
    while read -r s; do
        def[$s]=$f
    done < <(code "$f" | perl -ne 'print "$1\n" if /^[A-Za-z_][^;=(]*?\b(ms_[a-z0-9_]+)\s*(\(|=)/')
done
# Each use of one from another file.
for f in *.c; do
    [[ -n "${layer[$f]:-}" ]] || continue
    declare -A seen=()
    while read -r s; do
        g=${def[$s]:-}
        [[ -z "$g" || "$g" == "$f" || -n "${seen[$s]:-}" ]] && continue
        seen[$s]=1
        [[ -n "${layer[$g]:-}" ]] || continue
        allowed "$f" "$g" ||
            bad "$f (layer ${layer[$f]}) uses $s of $g (layer ${layer[$g]})"
    done < <(code "$f" | grep -o '\bms_[a-z0-9_]*\b')
    unset seen
done
if [[ $fail -ne 0 ]]; then
    echo "check_ms_layers: FAILED (the layers: docs/ARCHITECTURE.md, \"msg_server: layers\")" >&2
    exit 1
fi
echo "check_ms_layers: ${#files[@]} files, no upward or sideways include or use"
