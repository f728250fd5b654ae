"""faster-whisper over the audio that eval_asr --write-audio wrote (the exact 16 kHz samples our
side decodes), one prompt at a time, timing each transcription (wall clock, or process CPU time with
--cpu-time: fair on a shared machine when both sides run one thread).

Writes `name<TAB>reference<TAB>hypothesis` lines for `eval_asr --score` (the same normaliser
scores both sides) and prints the total transcription time and the real-time factor.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from faster_whisper import WhisperModel


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", required=True)
    p.add_argument("--audio-dir", required=True)
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--out", required=True)
    p.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU time (all threads) instead of the wall clock",
    )
    a = p.parse_args()
    clock = time.process_time if a.cpu_time else time.perf_counter

    model = WhisperModel(a.model_dir, device="cpu", compute_type=a.compute_type, cpu_threads=a.threads)
    english_only = model.model.is_multilingual is False
    rows = []
    with open(os.path.join(a.audio_dir, "list.tsv"), encoding="utf-8") as f:
        for line in f:
            name, file, ref = line.rstrip("\n").split("\t", 2)
            rows.append((name, file, ref))
    total_audio = total_time = 0.0
    times = []
    with open(a.out, "w", encoding="utf-8") as out:
        for name, file, ref in rows:
            audio = np.fromfile(os.path.join(a.audio_dir, file), dtype="<f4")
            start = clock()
            segments, _ = model.transcribe(
                audio,
                language=None if english_only else "en",
                task="transcribe",
                beam_size=a.beam_size,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
            took = clock() - start
            total_audio += len(audio) / 16000.0
            total_time += took
            times.append(took)
            out.write(f"{name}\t{ref}\t{text.replace(chr(9), ' ').replace(chr(10), ' ')}\n")
    times.sort()
    print(
        f"faster-whisper {os.path.basename(a.model_dir.rstrip('/'))} {a.compute_type} threads {a.threads} "
        f"beam {a.beam_size}: prompts {len(rows)}, audio {total_audio:.1f} s, "
        f"time {total_time:.1f} s, RTF {total_time / max(total_audio, 1e-9):.3f}, "
        f"median per prompt {statistics.median(times):.3f} s"
        + (" (process CPU time)" if a.cpu_time else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
