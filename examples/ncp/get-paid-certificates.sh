#!/bin/sh
# Lists the Advanced (paid) DV/OV certificates of an NCP Certificate Manager account, signing
# the request the way NCP's own shell samples do (curl + openssl). Works unchanged against
# NAVER Cloud and against certkeep: only the base URL differs.
#
#   NCP_ACCESS_KEY=... NCP_SECRET_KEY=... ./get-paid-certificates.sh [BASE_URL] [QUERY]
#   e.g. ./get-paid-certificates.sh http://127.0.0.1:8080 'page=1&pageSize=20'
set -eu

BASE_URL=${1:-https://certificatemanager.apigw.ntruss.com}
QUERY=${2:-}
METHOD=GET
URI="/api/v2/certificate/getPaidCertificates${QUERY:+?$QUERY}"
TIMESTAMP=$(($(date +%s) * 1000))

# Base64(HMAC-SHA256(secret key, "METHOD URI\nTIMESTAMP\nACCESS_KEY")), no trailing newline.
SIGNATURE=$(printf '%s %s\n%s\n%s' "$METHOD" "$URI" "$TIMESTAMP" "$NCP_ACCESS_KEY" \
    | openssl dgst -sha256 -hmac "$NCP_SECRET_KEY" -binary | openssl enc -base64)

curl -sS -X "$METHOD" "$BASE_URL$URI" \
    -H "x-ncp-apigw-timestamp: $TIMESTAMP" \
    -H "x-ncp-iam-access-key: $NCP_ACCESS_KEY" \
    -H "x-ncp-apigw-signature-v2: $SIGNATURE" \
    -H 'Content-Type: application/json' \
    -H 'accept: application/json'
