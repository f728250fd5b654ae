#!/usr/bin/env bash
# OpenAPI conformance: schemathesis (PyPI) against /openapi.json of the API served alone
# (crates/api/examples/api_server.rs) on a fresh SQLite data directory with a seeded published
# flow and call. Fails when schemathesis finds a 5xx, a response that does not match the schema,
# an undocumented status or content type, or accepted invalid input.
#
# Usage: eval/api/schemathesis.sh [MAX_EXAMPLES]   (default 50 per operation)
# The virtual environment is created under target/ (pinned schemathesis) on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
ST_VERSION=4.32.5
VENV=target/venv-schemathesis
MAX_EXAMPLES="${1:-50}"

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi

cargo build --quiet -p frontdesk-api --example api_server
BIN="${CARGO_TARGET_DIR:-target}/debug/examples/api_server"
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" "$DATA" "127.0.0.1:$PORT" seed > "$DATA/key" 2> "$DATA/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  [ -s "$DATA/key" ] && python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/readyz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
KEY=$(head -1 "$DATA/key")

# One worker: CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per
# thread (CPython gh-106905), and hypothesis parses lambda sources with `ast.parse`, so two
# workers can abort the run with "SystemError: AST constructor recursion depth mismatch".

"$VENV/bin/st" --config-file eval/api/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks all \
  --max-examples "$MAX_EXAMPLES" \
  --seed 1 \
  --workers 1 \
  --generation-allow-x00 false
