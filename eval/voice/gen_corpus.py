#!/usr/bin/env python3
"""Turn-taking evaluation corpora: manifests (committed) and audio (generated, git-ignored).

  python3 eval/voice/gen_corpus.py manifests   # items.py -> eval/voice/<set>.tsv
  python3 eval/voice/gen_corpus.py audio       # <set>.tsv -> eval/voice/audio/<set>/*.wav + labels.jsonl
  python3 eval/voice/gen_corpus.py bench-audio # benchmark turns (faq, kbq, sched) for crates/voicebench

Needs sox, espeak-ng (scripts/install-test-deps.sh), the Asterisk core sounds
(asterisk-core-sounds-en-wav) and, for the Piper voice, the `frontdesk` binary
(`cargo build --release --bin frontdesk`) with the models (`frontdesk models fetch`).
Standard library only. See README.md for the sets, the labels and the split rule.
"""

import argparse
import array
import csv
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOUNDS = "/usr/share/asterisk/sounds/en"
RATE = 16000
SETS = ["backchannel", "interrupt", "pause", "complete"]
COLUMNS = ["id", "split", "expected", "voice", "tempo", "level_db", "bed_db", "script", "note"]
LEAD_MS = 600  # line noise before the caller speaks
TAIL_MS = 2500  # line noise after: longer than any end-of-turn ceiling under test


def split_of(item_id):
    """The held-out split: SHA-256 of "frontdesk-turn-eval:<id>", first byte even = dev."""
    return "dev" if hashlib.sha256(f"frontdesk-turn-eval:{item_id}".encode()).digest()[0] % 2 == 0 else "test"


# ---------------------------------------------------------------- manifests

def write_manifests():
    sys.path.insert(0, HERE)
    import items  # noqa: E402

    rows = items.build()
    for set_ in SETS:
        path = os.path.join(HERE, f"{set_}.tsv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(COLUMNS)
            for it in rows:
                if it["set"] == set_:
                    it = dict(it, split=split_of(it["id"]))
                    w.writerow([it[c] for c in COLUMNS])
        n = sum(1 for it in rows if it["set"] == set_)
        dev = sum(1 for it in rows if it["set"] == set_ and split_of(it["id"]) == "dev")
        print(f"{path}: {n} items ({dev} dev, {n - dev} test)")


def read_manifest(set_):
    with open(os.path.join(HERE, f"{set_}.tsv"), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


# ---------------------------------------------------------------- audio helpers

def sox(*args):
    subprocess.run(["sox", "-R", "-V1", *map(str, args)], check=True)


def read_wav(path):
    with wave.open(path) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == RATE, path
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
    return [x / 32768.0 for x in a]


def write_wav(path, samples, rate=RATE):
    a = array.array("h", (max(-32768, min(32767, int(round(x * 32767)))) for x in samples))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(a.tobytes())


def to16k(src, dst, tempo=1.0, trim=True):
    """Mono 16 kHz 16-bit, optional tempo change, leading/trailing silence trimmed."""
    effects = ["remix", "1", "rate", "-v", RATE]
    if tempo != 1.0:
        effects += ["tempo", "-s", tempo]
    if trim:
        effects += ["silence", "1", "0.01", "-45d", "reverse", "silence", "1", "0.01", "-45d", "reverse"]
    sox(src, "-b", "16", "-e", "signed-integer", dst, *effects)


def peak_normalise(x, level_db):
    peak = max((abs(v) for v in x), default=0.0)
    if peak <= 0:
        return x
    g = 10 ** (level_db / 20) / peak
    return [v * g for v in x]


def frames_rms(x, n=160):
    return [math.sqrt(sum(v * v for v in x[i:i + n]) / max(1, len(x[i:i + n]))) for i in range(0, len(x), n)]


# ---------------------------------------------------------------- sources

class Sources:
    def __init__(self, tmp, frontdesk, models):
        self.tmp = tmp
        self.frontdesk = frontdesk
        self.models = models
        self.n = 0

    def _tmp(self, ext="wav"):
        self.n += 1
        return os.path.join(self.tmp, f"s{self.n}.{ext}")

    def say(self, text, voice, tempo):
        raw = self._tmp()
        if voice == "piper":
            if not self.frontdesk:
                sys.exit("the Piper voice needs the frontdesk binary: cargo build --release --bin frontdesk")
            subprocess.run([self.frontdesk, "tts", "--models", self.models, "--rate", "22050", "-o", raw, text],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif voice.startswith("espeak:"):
            subprocess.run(["espeak-ng", "-v", voice.split(":", 1)[1], "-s", "165", "-w", raw, text], check=True)
        else:
            raise ValueError(f"unknown voice {voice!r}")
        out = self._tmp()
        to16k(raw, out, tempo)
        return read_wav(out)

    def prompt(self, name):
        path = os.path.join(SOUNDS, f"{name}.wav")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run scripts/install-test-deps.sh (asterisk-core-sounds-en-wav)")
        out = self._tmp()
        to16k(path, out)
        return read_wav(out)

    def stretch(self, name, pause_ms):
        """The prompt split at the word gap nearest the middle; returns (before, after)."""
        x = self.prompt(name)
        rms = frames_rms(x)
        thr = 10 ** (-38 / 20)
        quiet = [r < thr for r in rms]
        gaps, start = [], None
        for i, q in enumerate(quiet + [False]):
            if q and start is None:
                start = i
            elif not q and start is not None:
                if i - start >= 4 and start > 0 and i < len(quiet):  # >= 40 ms, inside the speech
                    gaps.append((start, i))
                start = None
        if not gaps:
            sys.exit(f"{name}: no word gap found to stretch")
        mid = len(rms) / 2
        a, b = min(gaps, key=lambda g: abs((g[0] + g[1]) / 2 - mid))
        return x[:a * 160], x[b * 160:]

    def noise(self, kind, rng):
        out = self._tmp()
        seed = rng.randrange(1 << 30)
        NOISES[kind](out, random.Random(seed), self)
        return read_wav(out)


def _n(out, *synth_and_effects):
    sox("-n", "-r", RATE, "-b", "16", "-c", "1", out, *synth_and_effects)


def _cough(out, rng, src, n=1):
    parts = []
    for i in range(n):
        p = src._tmp()
        d = rng.uniform(0.22, 0.35)
        _n(p, "synth", d, "brownnoise", "synth", d, "pinknoise", "mix", "sinc", "250-3500",
           "fade", "p", "0.01", d, d * 0.8, "gain", "-n", "-1")
        parts.append(p)
        if i < n - 1:
            g = src._tmp()
            _n(g, "trim", "0", rng.uniform(0.08, 0.2))
            parts.append(g)
    sox(*parts, out)


NOISES = {
    "cough": lambda o, r, s: _cough(o, r, s, 1),
    "cough2": lambda o, r, s: _cough(o, r, s, 2),
    "throat": lambda o, r, s: _n(o, "synth", r.uniform(0.5, 0.8), "brownnoise", "tremolo", r.uniform(20, 40), "90",
                                 "lowpass", "900", "fade", "h", "0.05", "-0", "0.2", "gain", "-n", "-1"),
    "door": lambda o, r, s: _n(o, "synth", "0.6", "brownnoise", "lowpass", "250", "fade", "p", "0.003", "0.6",
                               "0.57", "reverb", "40", "gain", "-n", "-1"),
    "keyboard": lambda o, r, s: _keyboard(o, r, s),
    "breath": lambda o, r, s: _n(o, "synth", r.uniform(0.7, 1.1), "pinknoise", "sinc", "400-2500", "fade", "h",
                                 "0.3", "-0", "0.4", "gain", "-n", "-1"),
    "sniff": lambda o, r, s: _n(o, "synth", "0.3", "whitenoise", "sinc", "1500-5000", "fade", "p", "0.05", "-0",
                                "0.15", "gain", "-n", "-1"),
    "rustle": lambda o, r, s: _n(o, "synth", r.uniform(0.6, 1.0), "whitenoise", "highpass", "2500", "tremolo", "13",
                                 "95", "gain", "-n", "-1"),
    "bump": lambda o, r, s: _n(o, "synth", "0.12", "brownnoise", "lowpass", "180", "fade", "p", "0.002", "0.12",
                               "0.1", "gain", "-n", "-1"),
    "tv": lambda o, r, s: _tv(o, r, s),
}


def _keyboard(out, rng, src):
    parts = []
    for _ in range(rng.randrange(6, 12)):
        c = src._tmp()
        _n(c, "synth", "0.012", "whitenoise", "highpass", "1800", "fade", "p", "0", "0.012", "0.01",
           "gain", "-n", str(-rng.uniform(0, 6)))
        g = src._tmp()
        _n(g, "trim", "0", rng.uniform(0.06, 0.22))
        parts += [c, g]
    sox(*parts, out)


def _tv(out, rng, src):
    """Distant speech: a sentence, muffled and reverberant."""
    x = src.say(rng.choice(["And now the weather for the weekend, with sunshine in the south.",
                            "Our top story tonight: the council has approved the new bridge."]),
                "espeak:en-gb", 1.0)
    dry = src._tmp()
    write_wav(dry, peak_normalise(x, -3))
    sox(dry, out, "lowpass", "1800", "reverb", "70", "gain", "-n", "-1")


# ---------------------------------------------------------------- rendering

def render(item, src, out_dir):
    """Renders one item; returns its labels."""
    rng = random.Random(f"{item['id']}/render")
    voice, tempo = item["voice"], float(item["tempo"])
    level = float(item["level_db"])
    x = [0.0] * (LEAD_MS * RATE // 1000)
    speech, pauses = [], []

    def put(seg, kind):
        if seg:
            start = len(x)
            x.extend(seg)
            speech.append([start, len(x), kind])

    for part in item["script"].split(" | "):
        op, _, arg = part.partition(":")
        if op == "say":
            put(peak_normalise(src.say(arg, voice, tempo), level), "speech")
        elif op == "prompt":
            put(peak_normalise(src.prompt(arg), level), "speech")
        elif op == "stretch":
            name, ms = arg.rsplit(":", 1)
            before, after = src.stretch(name, int(ms))
            g = 10 ** (level / 20) / max(abs(v) for v in before + after)
            put([v * g for v in before], "speech")
            pauses.append([len(x), len(x) + int(ms) * RATE // 1000])
            x.extend([0.0] * (int(ms) * RATE // 1000))
            put([v * g for v in after], "speech")
        elif op == "noise":
            kind, lvl = arg.split(":")
            put(peak_normalise(src.noise(kind, rng), float(lvl)), "noise")
        elif op == "pause":
            n = int(arg) * RATE // 1000
            pauses.append([len(x), len(x) + n])
            x.extend([0.0] * n)
        else:
            raise ValueError(f"{item['id']}: unknown segment {part!r}")
    x.extend([0.0] * (TAIL_MS * RATE // 1000))

    # The line: a pink-noise bed under everything, telephone band, 8 kHz mu-law and back.
    dry, bed, mixed, ulaw = (src._tmp() for _ in range(4))
    write_wav(dry, x)
    _n(bed, "synth", len(x) / RATE, "pinknoise", "gain", "-n", item["bed_db"])
    sox("-m", dry, bed, mixed)
    sox(mixed, "-r", "8000", "-e", "mu-law", "-b", "8", ulaw, "sinc", "300-3400", "rate", "-v", "8000")
    wav = os.path.join(out_dir, f"{item['id']}.wav")
    sox(ulaw, "-e", "signed-integer", "-b", "16", wav)

    ms = lambda n: round(n * 1000 / RATE)  # noqa: E731
    speech_spans = [[ms(a), ms(b)] for a, b, k in speech if k == "speech"]
    return {
        "id": item["id"],
        "file": os.path.relpath(wav, HERE),
        "split": item["split"],
        "expected": item["expected"],
        "duration_ms": ms(len(x)),
        "speech": speech_spans,
        "noise": [[ms(a), ms(b)] for a, b, k in speech if k == "noise"],
        "pauses": [[ms(a), ms(b)] for a, b in pauses if speech and a > speech[0][0] and b < speech[-1][1]],
        "sound_start_ms": ms(speech[0][0]) if speech else None,
        "sound_end_ms": ms(speech[-1][1]) if speech else None,
        "script": item["script"],
    }


def find_frontdesk():
    for p in ("target/release/frontdesk", "target/debug/frontdesk"):
        full = os.path.join(REPO, p)
        if os.path.exists(full):
            return full
    return shutil.which("frontdesk")


def write_audio(sets, frontdesk, models):
    for tool in ("sox", "espeak-ng"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-test-deps.sh")
    with tempfile.TemporaryDirectory(prefix="turn-eval-") as tmp:
        src = Sources(tmp, frontdesk, models)
        for set_ in sets:
            out_dir = os.path.join(HERE, "audio", set_)
            os.makedirs(out_dir, exist_ok=True)
            labels = [render(it, src, out_dir) for it in read_manifest(set_)]
            with open(os.path.join(out_dir, "labels.jsonl"), "w") as f:
                for lab in labels:
                    f.write(json.dumps(lab) + "\n")
            print(f"{out_dir}: {len(labels)} clips")


# ---------------------------------------------------------------- benchmark turns (voicebench)

BENCH_SETS = ["faq", "kbq", "sched"]
SCHED_TURNS = [
    ("book", "I'd like to book an appointment."),
    ("when", "Next Tuesday morning."),
    ("yes", "Yes."),
    ("name", "John Smith."),
    ("provider", "Doctor Chen, please."),
]


def bench_items():
    """Caller turns for the live voice-loop benchmark (crates/voicebench), built on the fly (no
    manifest): `faq` = the first test-split question of every answerable entry of
    eval/faq/questions.tsv, voices cycled; `kbq` = every knowledge-base entry's own question
    (flows/clinic-kb.yaml, Piper voice), which the keyword rules answer; `sched` = a booking
    dialogue (SCHED_TURNS) in three voices."""
    sys.path.insert(0, HERE)
    import items  # noqa: E402

    out = {s: [] for s in BENCH_SETS}

    def item(set_, id_, text, voice, tempo, level=-8, bed=-56):
        out[set_].append({"id": id_, "split": split_of(id_), "expected": "reply", "voice": voice,
                          "tempo": str(tempo), "level_db": str(level), "bed_db": str(bed),
                          "script": "say:" + text, "note": set_})

    seen = set()
    with open(os.path.join(REPO, "eval", "faq", "questions.tsv"), newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    for split, expected, question in (r[:3] for r in rows[1:] if len(r) >= 3):
        if split == "test" and expected != "idk" and expected not in seen:
            seen.add(expected)
            voice, tempo = items.VOICES[len(seen) % len(items.VOICES)]
            item("faq", f"faq-{expected}", question, voice, tempo, level=-6 - len(seen) % 7)
    kb = open(os.path.join(REPO, "flows", "clinic-kb.yaml")).read().splitlines()
    for i, line in enumerate(kb):
        if line.startswith("  - id: ") and i + 1 < len(kb) and kb[i + 1].startswith("    question: "):
            item("kbq", f"kbq-{line.split(': ', 1)[1].strip()}", kb[i + 1].split(": ", 1)[1].strip(), "piper", 1.0)
    for v, (voice, tempo) in enumerate([("piper", 1.0), ("espeak:en-us", 1.0), ("piper", 1.15)]):
        for step, text in SCHED_TURNS:
            item("sched", f"sched{v + 1}-{step}", text, voice, tempo)
    return out


def write_bench_audio(sets, frontdesk, models):
    """Renders the benchmark turns like the corpora (same line, labels.jsonl), skipping sets
    whose labels already exist."""
    for tool in ("sox", "espeak-ng"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-test-deps.sh")
    todo = bench_items()
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        src = Sources(tmp, frontdesk, models)
        for set_ in sets:
            out_dir = os.path.join(HERE, "audio", set_)
            if os.path.exists(os.path.join(out_dir, "labels.jsonl")):
                print(f"{out_dir}: present")
                continue
            os.makedirs(out_dir, exist_ok=True)
            labels = [render(it, src, out_dir) for it in todo[set_]]
            with open(os.path.join(out_dir, "labels.jsonl.tmp"), "w") as f:
                for lab in labels:
                    f.write(json.dumps(lab) + "\n")
            os.replace(os.path.join(out_dir, "labels.jsonl.tmp"), os.path.join(out_dir, "labels.jsonl"))
            print(f"{out_dir}: {len(labels)} clips")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["manifests", "audio", "bench-audio"])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--frontdesk", default=None, help="frontdesk binary (default: target/release, then debug)")
    ap.add_argument("--models", default=os.environ.get("FRONTDESK_MODELS", os.path.join(REPO, "models")))
    a = ap.parse_args()
    if a.what == "manifests":
        write_manifests()
    elif a.what == "bench-audio":
        sets = BENCH_SETS if a.sets == ",".join(SETS) else a.sets.split(",")
        write_bench_audio(sets, a.frontdesk or find_frontdesk(), a.models)
    else:
        write_audio(a.sets.split(","), a.frontdesk or find_frontdesk(), a.models)


if __name__ == "__main__":
    main()
