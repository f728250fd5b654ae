//! G.711 against two independent oracles, on every input:
//!
//! 1. The ITU-T reference (G.191 STL `g711` module), transcribed below from its published
//!    algorithm: our encoders and decoders must match it bit for bit.
//! 2. sox 14.4 (`sox -D`, no dither), run as an external program on all 65,536 samples and all 256
//!    codes. Decoding must agree outright. Encoding disagrees on a known set of inputs, because sox
//!    rounds to 14/13 bits before Sun's algorithm where the reference truncates; the test
//!    requires every disagreement to be explained by exactly that model of sox, and counts them.
//!
//! Needs the Debian package `sox` (see scripts/install-test-deps.sh); fails, not skips, without it.

// Helpers outside #[test] fns count as non-test code to clippy; unwrap is fine in a test crate.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use frontdesk_codec::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

// ---- ITU-T G.191 reference, transcribed (16-bit input; only the top 14/13 bits count) ----

fn itu_ulaw_compress(x: i16) -> u8 {
    let x = i32::from(x);
    // One's complement for negative samples, then +33 (the mu-law/A-law threshold offset).
    let mut absno = if x < 0 { ((!x) >> 2) + 33 } else { (x >> 2) + 33 };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high = 8 - segno;
    let low = 0xF - ((absno >> segno) & 0xF);
    let mut code = (high << 4) | low;
    if x >= 0 {
        code |= 0x80;
    }
    code as u8
}

fn itu_alaw_compress(x: i16) -> u8 {
    let x = i32::from(x);
    let mut ix = if x < 0 { (!x) >> 4 } else { x >> 4 };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

fn itu_ulaw_expand(code: u8) -> i16 {
    let code = i32::from(code);
    let sign = if code < 0x80 { -1 } else { 1 };
    let m = !code;
    let exponent = (m >> 4) & 0x7;
    let segment = exponent + 1;
    let mantissa = m & 0xF;
    let step = 4 << segment;
    (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
}

fn itu_alaw_expand(code: u8) -> i16 {
    let code = i32::from(code);
    let ix = (code ^ 0x55) & 0x7F;
    let iexp = ix >> 4;
    let mut mant = ix & 0xF;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x8;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    (if code > 127 { mant } else { -mant }) as i16
}

// ---- a model of what sox 14.4 does: round to 14/13 bits (clipping), then Sun's algorithm ----

fn sox_round(x: i16, bits_dropped: u32) -> (i32, bool) {
    let max = 32767 >> bits_dropped;
    let v = (i32::from(x) + (1 << (bits_dropped - 1))) >> bits_dropped;
    if v > max { (max, true) } else { (v, false) }
}

fn sun_ulaw14(mut pcm: i32) -> u8 {
    let mask = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    pcm = pcm.min(8159) + 33;
    let ends = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
    match ends.iter().position(|&e| pcm <= e) {
        None => (0x7F ^ mask) as u8,
        Some(seg) => ((((seg as i32) << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask) as u8,
    }
}

fn sun_alaw13(mut pcm: i32) -> u8 {
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    match ends.iter().position(|&e| pcm <= e) {
        None => (0x7F ^ mask) as u8,
        Some(seg) => {
            let mant = if seg < 2 { (pcm >> 1) & 0xF } else { (pcm >> seg) & 0xF };
            ((((seg as i32) << 4) | mant) ^ mask) as u8
        }
    }
}

// ---- running sox ----

fn sox(args: &[&str]) {
    let out = Command::new("sox").args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run sox ({e}): install the Debian package `sox` \
             (scripts/install-test-deps.sh does)"
        )
    });
    assert!(out.status.success(), "sox {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("frontdesk-codec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn all_samples() -> Vec<i16> {
    (i16::MIN..=i16::MAX).collect()
}

/// sox-encodes every 16-bit sample with encoding `enc` ("u-law" / "a-law").
fn sox_encode_all(dir: &Path, enc: &str) -> Vec<u8> {
    let input = dir.join("all.s16");
    let bytes: Vec<u8> = all_samples().iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let output = dir.join(format!("all.{enc}"));
    sox(&[
        "-D",
        "-t",
        "raw",
        "-r",
        "8000",
        "-e",
        "signed",
        "-b",
        "16",
        "-c",
        "1",
        "-L",
        p(&input),
        "-t",
        "raw",
        "-e",
        enc,
        "-b",
        "8",
        "-c",
        "1",
        p(&output),
    ]);
    let codes = std::fs::read(&output).unwrap();
    assert_eq!(codes.len(), 65536, "sox wrote {} codes", codes.len());
    codes
}

/// sox-decodes every code with encoding `enc` to 16-bit.
fn sox_decode_all(dir: &Path, enc: &str) -> Vec<i16> {
    let input = dir.join(format!("codes.{enc}"));
    std::fs::write(&input, (0..=255u8).collect::<Vec<_>>()).unwrap();
    let output = dir.join(format!("codes-{enc}.s16"));
    sox(&[
        "-D",
        "-t",
        "raw",
        "-r",
        "8000",
        "-e",
        enc,
        "-b",
        "8",
        "-c",
        "1",
        p(&input),
        "-t",
        "raw",
        "-e",
        "signed",
        "-b",
        "16",
        "-c",
        "1",
        "-L",
        p(&output),
    ]);
    let bytes = std::fs::read(&output).unwrap();
    assert_eq!(bytes.len(), 512);
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

// ---- tests ----

#[test]
fn encoders_match_itu_reference_on_all_inputs() {
    for x in all_samples() {
        assert_eq!(ulaw_encode(x), itu_ulaw_compress(x), "mu-law encode of {x}");
        assert_eq!(alaw_encode(x), itu_alaw_compress(x), "A-law encode of {x}");
    }
}

#[test]
fn decoders_match_itu_reference_on_all_codes() {
    for c in 0..=255u8 {
        assert_eq!(ulaw_decode(c), itu_ulaw_expand(c), "mu-law decode of {c:#04x}");
        assert_eq!(alaw_decode(c), itu_alaw_expand(c), "A-law decode of {c:#04x}");
    }
}

#[test]
fn sun_mu_law_differs_from_reference_only_on_negative_inputs() {
    // What this crate used to do (Sun's `linear2ulaw`) and why it changed: documents the fix.
    let diffs: Vec<i16> =
        all_samples().into_iter().filter(|&x| sun_ulaw14(i32::from(x) >> 2) != ulaw_encode(x)).collect();
    assert_eq!(diffs.len(), 508);
    assert!(diffs.iter().all(|&x| x < 0));
    assert!(diffs.contains(&-1) && diffs.contains(&-4) && diffs.contains(&-31612));
    assert_eq!(ulaw_encode(-1), 0x7F, "reference: -1 is negative zero");
    // A-law: Sun already takes the one's complement, and matches the reference everywhere.
    assert!(all_samples().into_iter().all(|x| sun_alaw13(i32::from(x) >> 3) == alaw_encode(x)));
}

#[test]
fn sox_decodes_every_code_like_us() {
    let dir = scratch_dir("dec");
    let ul = sox_decode_all(&dir, "u-law");
    let al = sox_decode_all(&dir, "a-law");
    for c in 0..=255u8 {
        assert_eq!(ul[usize::from(c)], ulaw_decode(c), "mu-law code {c:#04x}");
        assert_eq!(al[usize::from(c)], alaw_decode(c), "A-law code {c:#04x}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sox_mu_law_encoding_disagreements_are_all_explained() {
    let dir = scratch_dir("ulaw");
    let sox_codes = sox_encode_all(&dir, "u-law");
    let mut disagree = 0;
    let mut clipped = 0;
    for (x, &sox_code) in all_samples().into_iter().zip(&sox_codes) {
        let (rounded, clip) = sox_round(x, 2);
        clipped += usize::from(clip);
        // Our model of sox must reproduce sox exactly, on every input...
        assert_eq!(sox_code, sun_ulaw14(rounded), "sox model, input {x}");
        // ...and wherever sox and we differ, the model says why.
        if sox_code != ulaw_encode(x) {
            disagree += 1;
        }
    }
    assert_eq!(clipped, 2, "sox clips +32766 and +32767");
    assert_eq!(disagree, 510, "mu-law inputs where sox (rounding) and the reference (truncating) differ");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sox_a_law_encoding_disagreements_are_all_explained() {
    let dir = scratch_dir("alaw");
    let sox_codes = sox_encode_all(&dir, "a-law");
    let mut disagree = 0;
    for (x, &sox_code) in all_samples().into_iter().zip(&sox_codes) {
        let (rounded, _) = sox_round(x, 3);
        assert_eq!(sox_code, sun_alaw13(rounded), "sox model, input {x}");
        if sox_code != alaw_encode(x) {
            disagree += 1;
            // Only rounding can explain it: on the 13-bit grid (where rounding is moot) we agree.
            assert_ne!(i32::from(x) & 7, 0, "A-law disagreement on a grid point {x}");
        }
    }
    // On inputs already on the 13-bit grid, sox and the reference agree outright.
    for (x, &sox_code) in all_samples().into_iter().zip(&sox_codes) {
        if i32::from(x) & 7 == 0 {
            assert_eq!(sox_code, alaw_encode(x), "A-law grid input {x}");
        }
    }
    assert_eq!(disagree, 1020, "A-law inputs where sox (rounding) and the reference (truncating) differ");
    std::fs::remove_dir_all(dir).ok();
}
