#!/usr/bin/env bash
# A signed request to http_msg_server's /api/v1 (docs/HTTP_API.md, "Signing"), with curl and
# openssl only. Prints the answer's body; curl's exit status.
#   scripts/hs_call.sh BASE_URL PATH KEY_NAME SECRET JSON_BODY
#   scripts/hs_call.sh http://127.0.0.1:8400 /api/v1/user/online crm "$SECRET" '{"user_ids":[1,2]}'
set -euo pipefail
[ $# = 5 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
base=$1 path=$2 key=$3 secret=$4 body=$5
ts=$(date +%s)
nonce=$(openssl rand -hex 16)
body_hash=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
sig=$(printf 'POST\n%s\n%s\n%s\n%s' "$path" "$ts" "$nonce" "$body_hash" |
      openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
exec curl -sS -m 30 -X POST "$base$path" \
    -H 'Content-Type: application/json' -H "X-TT-Key: $key" -H "X-TT-Timestamp: $ts" \
    -H "X-TT-Nonce: $nonce" -H "X-TT-Signature: $sig" --data-binary "$body"
