#!/usr/bin/env bash
# Piper side by side: piper-tts 1.8.0 from PyPI (Python, onnxruntime in-process, libespeak-ng
# phonemes) and frontdesk's Piper (Rust, ort, the espeak-ng program), with the same joe voice from
# the models directory and the same ten-word sentences (eval/tts/sentences.txt), each on 1 and on 2
# intra-op threads, in one run. Prints time to first audio and RTF medians for both.
#
#   eval/tts/run.sh                 # RUNS=20 per sentence; FRONTDESK_MODELS (default: models)
#
# Creates its own virtualenv (VENV, default target/eval/tts-venv) with piper-tts==1.8.0 and the
# same ONNX Runtime version that frontdesk loads (onnxruntime==1.31.1). Needs python3 and espeak-ng.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-20}
MODELS=${FRONTDESK_MODELS:-models}
VENV=${VENV:-target/eval/tts-venv}
MODEL="$MODELS/piper-joe/en_US-joe-medium.onnx"
[ -f "$MODEL" ] || { echo "no $MODEL: run 'frontdesk models fetch onnxruntime piper-joe'" >&2; exit 1; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check piper-tts==1.8.0 onnxruntime==1.31.1
cargo build --release -q -p frontdesk-tts-piper --example tts_latency

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
    "$VENV/bin/python" eval/tts/piper_tts.py --model "$MODEL" --threads "$threads" --runs "$RUNS" \
        --sentences eval/tts/sentences.txt | tee -a "$rows"
    FRONTDESK_MODELS="$MODELS" target/release/examples/tts_latency --threads "$threads" --runs "$RUNS" \
        --sentences eval/tts/sentences.txt --json | tee -a "$rows"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$VENV/bin/python" eval/tts/piper_tts.py --summary < "$rows"
