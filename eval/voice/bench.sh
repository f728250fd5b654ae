#!/usr/bin/env bash
# Live voice-loop benchmark (issue #7, item 8): builds `frontdesk` and `voicebench`, generates
# any missing caller audio, starts `frontdesk serve` on its own data directory and a free port
# (flows/clinic.yaml, SIP off), creates an API key for it, and runs every scenario of
# crates/voicebench against its Twilio Media Streams WebSocket: voice-to-voice (FAQ, complete
# utterances, a booking dialogue), barge-in and false barge-ins over an answer, premature end of
# turn, and N concurrent calls with the server's memory. Prints a table; writes the JSON summary
# and the server's log to target/voicebench/.
#
# Usage: eval/voice/bench.sh [voicebench flags]
#   eval/voice/bench.sh                                   # everything, 16 calls for 300 s
#   eval/voice/bench.sh --calls 4 --duration 60           # a short provisional run
#   eval/voice/bench.sh --scenarios turns,barge --limit 10
# Environment: PROFILE=release (default) or dev (debug build, dependencies optimised);
# FRONTDESK_MODELS (default ./models); OUT_DIR (default target/voicebench); FRONTDESK_BIN and
# VOICEBENCH_BIN (prebuilt binaries: no cargo build); KEEP_DATA=1 (keep the data directory: its
# call_turns table has what the recogniser heard on every turn); SERVE_FLAGS (more `serve` flags,
# e.g. SERVE_FLAGS=--turn-model).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE="${PROFILE:-release}"
case "$PROFILE" in
  release) FLAG=--release; DIR=release ;;
  dev) FLAG=; DIR=debug ;;
  *) echo "PROFILE=release or dev" >&2; exit 2 ;;
esac
TARGET="${CARGO_TARGET_DIR:-target}"
# FRONTDESK_BIN / VOICEBENCH_BIN: use these binaries instead of building them.
BIN="${FRONTDESK_BIN:-$TARGET/$DIR/frontdesk}"
BENCH="${VOICEBENCH_BIN:-$TARGET/$DIR/voicebench}"
[ -n "${FRONTDESK_BIN:-}" ] || cargo build $FLAG --bin frontdesk
[ -n "${VOICEBENCH_BIN:-}" ] || cargo build $FLAG -p frontdesk-voicebench
export FRONTDESK_MODELS="${FRONTDESK_MODELS:-$PWD/models}"
"$BIN" models fetch onnxruntime silero-vad whisper-tiny.en piper-joe minilm smart-turn

# Caller audio: the turn-taking corpora and the benchmark turns (generated once, git-ignored).
missing=()
for set in backchannel interrupt pause complete; do
  [ -s "eval/voice/audio/$set/labels.jsonl" ] || missing+=("$set")
done
if [ ${#missing[@]} -gt 0 ]; then
  python3 eval/voice/gen_corpus.py audio --frontdesk "$BIN" --sets "$(IFS=,; echo "${missing[*]}")"
fi
python3 eval/voice/gen_corpus.py bench-audio --frontdesk "$BIN"

OUT_DIR="${OUT_DIR:-$TARGET/voicebench}"
mkdir -p "$OUT_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY=$("$BIN" apikey create --data "$DATA" --name voicebench 2>/dev/null)
LOG="$OUT_DIR/serve-$STAMP.log"
"$BIN" serve --http "127.0.0.1:$PORT" --sip off --data "$DATA" --flow flows/clinic.yaml \
  --drain-timeout 1 ${SERVE_FLAGS:-} 2> "$LOG" &
SERVER=$!
# KEEP_DATA=1 keeps the server's data directory (its SQLite file holds every call's caller
# turns with their transcripts and confidence, which the log redacts).
cleanup() {
  kill $SERVER 2>/dev/null || true
  wait $SERVER 2>/dev/null || true
  if [ "${KEEP_DATA:-0}" = 1 ]; then echo "data directory kept: $DATA" >&2; else rm -rf "$DATA"; fi
}
trap cleanup EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { tail -20 "$LOG" >&2; echo "serve exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "serve did not come up" >&2; exit 1; }
sleep 2  # let the process settle before its idle RSS is read
echo "== frontdesk serve ($PROFILE) pid $SERVER on port $PORT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
VOICEBENCH_TOKEN="$KEY" "$BENCH" --url "ws://127.0.0.1:$PORT/media/twilio" --server-pid "$SERVER" \
  --out "$OUT_DIR/voicebench-$STAMP.json" "$@"
echo "server log: $LOG ($(grep -c 'turn timing' "$LOG" || true) turn timings, $(grep -c 'WARN' "$LOG" || true) warnings)"
