#!/usr/bin/env bash
# Side-by-side ASR evaluation: our Whisper (candle, crates/asr-whisper) against faster-whisper
# (CTranslate2, from PyPI) on the SAME audio with the SAME model files and the SAME normaliser.
#
#   eval/asr/run.sh                      # everything (slow: tens of minutes on 2 cores)
#   LIMIT=100 MODELS=tiny.en THREADS=1 COMPUTE=int8 eval/asr/run.sh
#
# Settings (environment):
#   LIMIT       prompts per run (default: all 563 of asterisk-core-sounds-en)
#   MODELS      "tiny.en base"
#   CONDITIONS  "clean noisy"   (noisy: G.711 mu-law round trip + pink noise at 20 dB SNR, seeded)
#   THREADS     "1 2"           (RAYON_NUM_THREADS for ours; cpu_threads and OMP_NUM_THREADS for theirs)
#   COMPUTE     "int8 float32"  (faster-whisper compute types)
#   BEAM        5               (faster-whisper beam size; its default. 1 = greedy, as ours)
#   WORK        output directory (default: target/eval-asr in the workspace)
#   CPU_TIME    1: both sides are timed by process CPU time instead of the wall clock (for a
#               shared, noisy machine; with THREADS=1 it is what a dedicated core would take)
#
# Needs: the models (`frontdesk models fetch`), the Debian packages asterisk-core-sounds-en-wav
# and asterisk-core-sounds-en (transcripts), python3 with venv. faster-whisper is installed into
# a venv under WORK (pinned); its model directories are built under WORK from symlinks to the
# model files plus the vocabulary.json CTranslate2 wants. models/ is not modified.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/eval/asr"
WORK=${WORK:-$ROOT/target/eval-asr}
LIMIT=${LIMIT:-}
MODELS=${MODELS:-"tiny.en base"}
CONDITIONS=${CONDITIONS:-"clean noisy"}
THREADS=${THREADS:-"1 2"}
COMPUTE=${COMPUTE:-"int8 float32"}
BEAM=${BEAM:-5}
CPU_TIME=${CPU_TIME:-}
cpu_args=()
[ -n "$CPU_TIME" ] && cpu_args=(--cpu-time)
MODELS_DIR=${FRONTDESK_MODELS:-$ROOT/models}
TRANSCRIPTS=/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
mkdir -p "$WORK"
SUMMARY="$WORK/summary.md"

if [ ! -x "$WORK/venv/bin/python" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q 'faster-whisper==1.2.1'
fi
PY="$WORK/venv/bin/python"

(cd "$ROOT" && cargo build --release -q -p frontdesk-asr-whisper --example eval_asr)
EVAL="$ROOT/target/release/examples/eval_asr"
limit_args=()
[ -n "$LIMIT" ] && limit_args=(--limit "$LIMIT")

# faster-whisper model directories: symlinks plus vocabulary.json.
ct2_dir() {
    local id="whisper-$1" dir="$WORK/ct2/whisper-$1"
    if [ ! -f "$dir/vocabulary.json" ]; then
        mkdir -p "$dir"
        for f in model.bin config.json tokenizer.json; do ln -sf "$MODELS_DIR/$id/$f" "$dir/$f"; done
        "$PY" "$HERE/make_vocabulary.py" "$MODELS_DIR/$id/tokenizer.json" "$dir/vocabulary.json"
    fi
    echo "$dir"
}

echo "| condition | model | system | threads | WER | strict WER | decode time | RTF |" > "$SUMMARY"
echo "|---|---|---|---|---|---|---|---|" >> "$SUMMARY"
row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 |" | tee -a "$SUMMARY"; }

for cond in $CONDITIONS; do
    noisy=()
    [ "$cond" = noisy ] && noisy=(--noisy)
    audio="$WORK/audio-$cond"
    rm -rf "$audio"
    for model in $MODELS; do
        for t in $THREADS; do
            out="$WORK/ours-$cond-$model-t$t"
            write=()
            [ ! -f "$audio/list.tsv" ] && write=(--write-audio "$audio")
            zcat "$TRANSCRIPTS" | RAYON_NUM_THREADS=$t "$EVAL" --model "$model" "${noisy[@]}" "${limit_args[@]}" \
                "${cpu_args[@]}" "${write[@]}" --hyp "$out.tsv" > "$out.txt" 2> "$out.err"
            wer=$(sed -n 's/^WER \([0-9.]*\) %.*strict[^0-9]*\([0-9.]*\) %.*/\1 \2/p' "$out.txt")
            dec=$(sed -n 's/^RTF \([0-9.]*\) (decode \([0-9.]*\) s)/\1 \2/p' "$out.txt")
            set -- $wer $dec
            row "$cond" "$model" "ours (candle, f32, greedy)" "$t" "$1 %" "$2 %" "$4 s" "$3"
        done
        dir=$(ct2_dir "$model")
        for ct in $COMPUTE; do
            for t in $THREADS; do
                out="$WORK/fw-$cond-$model-$ct-t$t"
                OMP_NUM_THREADS=$t "$PY" "$HERE/fw_transcribe.py" --model-dir "$dir" --audio-dir "$audio" \
                    --compute-type "$ct" --threads "$t" --beam-size "$BEAM" "${cpu_args[@]}" --out "$out.tsv" > "$out.txt" 2> "$out.err"
                "$EVAL" --score "$out.tsv" >> "$out.txt"
                wer=$(sed -n 's/^WER \([0-9.]*\) %.*strict[^0-9]*\([0-9.]*\) %.*/\1 \2/p' "$out.txt")
                dec=$(sed -n 's/.*time \([0-9.]*\) s, RTF \([0-9.]*\),.*/\2 \1/p' "$out.txt")
                set -- $wer $dec
                row "$cond" "$model" "faster-whisper $ct, beam $BEAM" "$t" "$1 %" "$2 %" "$4 s" "$3"
            done
        done
    done
done
echo "summary: $SUMMARY"
