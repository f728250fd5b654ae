"""piper-tts (PyPI) timing, and the side-by-side summary, for eval/tts/run.sh.

Timing mode: loads the voice with PiperVoice.load, with onnxruntime.SessionOptions patched so the
session runs on --threads intra-op threads (piper-tts has no thread setting), then for each
sentence, after one warm-up, --runs times: time to the first chunk of voice.synthesize() (piper-tts
yields one chunk per sentence, so this is the whole sentence) and the real-time factor (time to
the last chunk / audio length). Prints one JSON object per sentence, like the frontdesk example
tts_latency --json.

Summary mode (--summary): reads those JSON lines from stdin and prints a table of the medians
over sentences for each engine and thread count.
"""
import argparse
import json
import statistics
import sys
import time


def timing(args):
    import onnxruntime

    base = onnxruntime.SessionOptions

    def pinned():
        o = base()
        o.intra_op_num_threads = args.threads
        o.inter_op_num_threads = 1
        return o

    onnxruntime.SessionOptions = pinned
    from piper import PiperVoice

    voice = PiperVoice.load(args.model)
    rate = voice.config.sample_rate
    sentences = [l.strip() for l in open(args.sentences, encoding="utf-8") if l.strip() and not l.startswith("#")]
    for text in sentences:
        list(voice.synthesize(text))  # warm-up
        first, rtf = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            chunks = voice.synthesize(text)
            c = next(chunks)
            first.append((time.perf_counter() - t) * 1000)
            n = len(c.audio_float_array)
            for c in chunks:
                n += len(c.audio_float_array)
            rtf.append((time.perf_counter() - t) / (n / rate))
        print(json.dumps({
            "engine": "piper-tts", "threads": args.threads, "sentence": text,
            "first_audio_ms": round(statistics.median(first), 1), "rtf": round(statistics.median(rtf), 4),
            "runs": args.runs,
        }), flush=True)


def summary():
    rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
    groups = {}
    for r in rows:
        groups.setdefault((r["engine"], r["threads"]), []).append(r)
    print("| engine | intra-op threads | first audio, median of per-sentence medians | worst sentence | RTF median |")
    print("|---|---|---|---|---|")
    for (engine, threads), rs in sorted(groups.items()):
        f = [r["first_audio_ms"] for r in rs]
        print(f"| {engine} | {threads} | {statistics.median(f):.0f} ms | {max(f):.0f} ms "
              f"| {statistics.median(r['rtf'] for r in rs):.3f} |")
    print(f"\n{len(rows)} sentence rows; runs per sentence: {sorted({r['runs'] for r in rows})}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--summary", action="store_true")
    p.add_argument("--model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--sentences")
    args = p.parse_args()
    summary() if args.summary else timing(args)


if __name__ == "__main__":
    main()
