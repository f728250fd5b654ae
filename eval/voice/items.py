"""The turn-taking evaluation items: what each clip contains and what the agent should do.

`gen_corpus.py manifests` turns these definitions into the committed TSV manifests; edit here,
then regenerate. Everything random is drawn from `random.Random(SEED)`, so the manifests are the
same on every run.

Script language (segments separated by " | "):
  say:TEXT          speech from the item's TTS voice (piper or espeak-ng)
  prompt:NAME       a human recording from the Asterisk core sounds (e.g. prompt:digits/5)
  stretch:NAME:MS   that recording with the word gap nearest the middle of its speech made MS long
  noise:KIND        a synthetic noise made with sox (see gen_corpus.NOISES)
  pause:MS          silence (the line's noise bed continues under it)
"""

import random

SEED = 20261122

# (voice, tempo) pairs: the one Piper voice at three speeds, and espeak-ng voices at two.
VOICES = [
    ("piper", 1.0),
    ("piper", 0.9),
    ("piper", 1.15),
    ("espeak:en-us", 1.0),
    ("espeak:en-gb", 1.1),
    ("espeak:en-us+f3", 0.95),
    ("espeak:en-gb-scotland", 1.0),
    ("espeak:en-us+m4", 1.2),
]

BACKCHANNEL_WORDS = [
    "uh-huh", "mm-hmm", "okay", "yeah", "right", "sure", "I see", "got it", "yep", "alright",
    "oh okay", "mhm", "uh huh, yeah", "okay, okay", "right, right", "hmm", "yes", "oh",
]

# (kind, level dBFS peak)
NOISES = [
    ("cough", -6), ("cough2", -10), ("cough", -14), ("throat", -12), ("throat", -18),
    ("door", -3), ("door", -10), ("keyboard", -16), ("keyboard", -22), ("breath", -24),
    ("breath", -30), ("rustle", -20), ("bump", -8), ("tv", -28), ("tv", -34), ("sniff", -22),
]

INTERRUPTIONS = [
    "wait", "no", "stop", "hold on", "wait, wait", "no no no", "stop, please", "actually I",
    "actually, I need to change that", "sorry, can I", "sorry, what was that", "hang on",
    "excuse me", "that's wrong", "no, that's not right", "wait a second", "hold on a second",
    "one moment", "stop stop", "actually, can we", "sorry to interrupt", "nope", "no, Tuesday",
    "wait, what", "actually no", "sorry, sorry", "hang on a sec", "no, the other one",
    "stop, that's not it", "wait, I", "excuse me, sorry", "hold it",
]

HESITATIONS = [
    "say:I'd like to | pause:800 | say:um | pause:600 | say:move my appointment",
    "say:My name is | pause:700 | say:John | pause:450 | say:Smith",
    "say:Can I book | pause:900 | say:uh | pause:400 | say:a cleaning for next week",
    "say:It's about my | pause:750 | say:my daughter's appointment",
    "say:I was wondering if | pause:800 | say:you have anything on Friday",
    "say:Let me check | pause:1000 | say:okay, it's the fifteenth",
    "say:My date of birth is | pause:600 | say:March | pause:500 | say:third | pause:500 | say:nineteen eighty two",
    "say:Could you | pause:700 | say:um | pause:500 | say:tell me your opening hours",
    "say:I need to cancel | pause:800 | say:no wait | pause:500 | say:reschedule",
    "say:The appointment is for | pause:650 | say:my husband",
    "say:I think it was | pause:900 | say:Tuesday the | pause:600 | say:twelfth",
    "say:Is there anything | pause:700 | say:later in the afternoon",
    "say:I'm calling because | pause:850 | say:I got a letter about | pause:500 | say:my test results",
    "say:So the address is | pause:600 | say:twelve | pause:400 | say:Oak Street",
    "say:Yes, and | pause:700 | say:could you also send me a reminder",
    "say:My card number ends in | pause:600 | say:four | pause:350 | say:two | pause:350 | say:seven | pause:350 | say:one",
]

COMPLETE_SENTENCES = [
    "I'd like to move my appointment to Friday.",
    "Can you tell me your opening hours?",
    "My name is John Smith.",
    "I need to cancel my appointment.",
    "Yes, that works for me.",
    "No, Tuesday is better.",
    "Thank you, goodbye.",
    "Is the clinic open on Saturday?",
    "I want to speak to a person.",
    "The fourteenth of March at ten.",
    "That's all, thanks.",
    "Could you send me a text reminder?",
    "I'm calling about my test results.",
    "Do you take walk-ins?",
    "Please book me for next Monday morning.",
]

HUMAN_COMPLETE = [
    "tt-weasels", "auth-thankyou", "vm-goodbye", "pls-hold-while-try", "demo-congrats",
    "queue-thankyou", "vm-nobodyavail", "please-try-again", "demo-echotest", "vm-sorry",
    "privacy-thankyou", "one-moment-please", "sorry-youre-having-problems", "tt-somethingwrong",
    "all-circuits-busy-now",
]

# Human prompts whose word gap nearest the middle of the speech is stretched into a pause.
HUMAN_SPLICES = [
    "tt-weasels", "demo-congrats", "pls-hold-while-try", "vm-nobodyavail",
    "queue-periodic-announce", "sorry-youre-having-problems",
]

MONTHS = list(range(12))


def _phone(rng):
    groups = ["".join(rng.choice("0123456789") for _ in range(n)) for n in (3, 3, 4)]
    segs = []
    for gi, g in enumerate(groups):
        for di, d in enumerate(g):
            zero_oh = d == "0" and rng.random() < 0.4
            segs.append("prompt:digits/oh" if zero_oh else f"prompt:digits/{d}")
            if di < len(g) - 1:
                segs.append(f"pause:{rng.randrange(60, 180, 10)}")
        if gi < len(groups) - 1:
            segs.append(f"pause:{rng.randrange(450, 950, 50)}")
    return " | ".join(segs), "-".join(groups)


def _date(rng):
    day = rng.randrange(1, 21)
    month = rng.choice(MONTHS)
    p1, p2 = rng.randrange(400, 900, 50), rng.randrange(300, 700, 50)
    if rng.random() < 0.5:
        script = f"prompt:digits/mon-{month} | pause:{p1} | prompt:digits/h-{day}"
    else:
        hour = rng.randrange(1, 12)
        script = (f"prompt:digits/tomorrow | pause:{p1} | prompt:digits/at | pause:{p2} | "
                  f"prompt:digits/{hour} | pause:120 | prompt:digits/p-m")
    return script


def build():
    """All items as dicts: id, set, expected, voice, tempo, level_db, bed_db, script, note."""
    rng = random.Random(SEED)
    items = []

    def add(set_, expected, script, voice="human", tempo=1.0, note=""):
        n = sum(1 for i in items if i["set"] == set_) + 1
        items.append({
            "id": f"{set_}-{n:03d}",
            "set": set_,
            "expected": expected,
            "voice": voice,
            "tempo": tempo,
            "level_db": rng.randrange(-14, -3),
            "bed_db": rng.randrange(-62, -44, 2),
            "script": script,
            "note": note,
        })

    for i, w in enumerate(BACKCHANNEL_WORDS):
        voice, tempo = VOICES[i % len(VOICES)]
        add("backchannel", "no_barge_in", f"say:{w}", voice, tempo, "backchannel word")
    for kind, level in NOISES:
        add("backchannel", "no_barge_in", f"noise:{kind}:{level}", "noise", 1.0, f"noise {kind}")
    add("backchannel", "no_barge_in", "prompt:digits/oh", note="human 'oh'")
    add("backchannel", "no_barge_in", "noise:cough:-8 | pause:300 | noise:cough2:-10", "noise", note="two coughs")

    for i, w in enumerate(INTERRUPTIONS):
        voice, tempo = VOICES[(i * 3) % len(VOICES)]
        add("interrupt", "barge_in", f"say:{w}", voice, tempo, "short interruption")
    add("interrupt", "barge_in", "prompt:vm-no", note="human 'no' (Asterisk vm-no)")

    for i in range(10):
        script, number = _phone(rng)
        add("pause", "one_turn", script, note=f"phone number {number} in groups (human digits)")
    for i in range(6):
        add("pause", "one_turn", _date(rng), note="date or time with pauses (human words)")
    for name in HUMAN_SPLICES:
        pause = rng.randrange(600, 1000, 50)
        add("pause", "one_turn", f"stretch:{name}:{pause}",
            note="human sentence, its middle word gap stretched to a pause")
    for i, script in enumerate(HESITATIONS):
        voice, tempo = VOICES[(i * 5 + 1) % len(VOICES)]
        add("pause", "one_turn", script, voice, tempo, "hesitation")

    for name in HUMAN_COMPLETE:
        add("complete", "end_turn", f"prompt:{name}", note="complete human sentence")
    for i, s in enumerate(COMPLETE_SENTENCES):
        voice, tempo = VOICES[(i * 7 + 2) % len(VOICES)]
        add("complete", "end_turn", f"say:{s}", voice, tempo, "complete sentence")
    return items
