#!/bin/sh
# Calls any NCP Certificate Manager API with an optional JSON body, signing the request the way
# NCP's own shell samples do (curl + openssl). Works unchanged against NAVER Cloud and against
# certkeep: only the base URL differs.
#
#   NCP_ACCESS_KEY=... NCP_SECRET_KEY=... ./ncp-call.sh METHOD URI [JSON_BODY] [BASE_URL]
#   e.g. ./ncp-call.sh POST /api/v2/domain/domains '{"dmnAddr":"example.com"}' http://127.0.0.1:8080
set -eu

METHOD=$1
URI=$2
BODY=${3:-}
BASE_URL=${4:-https://certificatemanager.apigw.ntruss.com}
TIMESTAMP=$(($(date +%s) * 1000))

# Base64(HMAC-SHA256(secret key, "METHOD URI\nTIMESTAMP\nACCESS_KEY")), no trailing newline.
SIGNATURE=$(printf '%s %s\n%s\n%s' "$METHOD" "$URI" "$TIMESTAMP" "$NCP_ACCESS_KEY" \
    | openssl dgst -sha256 -hmac "$NCP_SECRET_KEY" -binary | openssl enc -base64)

if [ -n "$BODY" ]; then set -- --data-binary "$BODY"; else set --; fi
curl -sS -X "$METHOD" "$BASE_URL$URI" \
    -H "x-ncp-apigw-timestamp: $TIMESTAMP" \
    -H "x-ncp-iam-access-key: $NCP_ACCESS_KEY" \
    -H "x-ncp-apigw-signature-v2: $SIGNATURE" \
    -H 'Content-Type: application/json' \
    -H 'accept: application/json' \
    "$@"
