#!/usr/bin/env bash
# HTTP API benchmark with wrk (Debian package `wrk`, installed here when missing): requests per
# second and latency percentiles for GET /v1/calls/{id} (a call with a 12-turn timeline) and
# POST /v1/validate (flows/clinic.yaml), against the API served alone by the release build of
# crates/api/examples/api_server.rs on a fresh SQLite data directory. Every request carries an
# API key (verified against the store: one indexed SELECT per request).
#
# Usage: eval/api/bench.sh [SECONDS] [CONNECTIONS] [THREADS]   (default 10 s, 16, 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-10}"; CONNS="${2:-16}"; THREADS="${3:-2}"
if ! command -v wrk >/dev/null; then
  apt-get install -y wrk >/dev/null || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
fi
cargo build --quiet --release -p frontdesk-api --example api_server
BIN="${CARGO_TARGET_DIR:-target}/release/examples/api_server"
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" "$DATA" "127.0.0.1:$PORT" seed > "$DATA/key" 2> "$DATA/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  [ -s "$DATA/key" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.1
done
KEY=$(head -1 "$DATA/key")
URL="http://127.0.0.1:$PORT"
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "$URL/v1/calls/bench-call"
echo "== GET /v1/calls/bench-call"
wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" "$URL/v1/calls/bench-call"
echo "== POST /v1/validate (flows/clinic.yaml, $(wc -c < flows/clinic.yaml) bytes)"
FLOW=flows/clinic.yaml wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $KEY" \
  -s eval/api/validate.lua "$URL/v1/validate"
