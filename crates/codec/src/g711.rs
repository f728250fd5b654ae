//! G.711 mu-law (PCMU) and A-law (PCMA), bit-exact with the ITU-T G.711 reference.
//!
//! "The reference" is the ITU-T Software Tool Library (ITU-T G.191, module `g711`):
//! `ulaw_compress`/`alaw_compress` and their `*_expand` inverses, which take 16-bit two's
//! complement samples and use only their 14 (mu-law) or 13 (A-law) most significant bits.
//! Encoding here is the classic Sun Microsystems formulation (segment search on the biased
//! magnitude), with one correction so that it matches the reference on every input:
//!
//! - **Negative samples take the one's complement** before quantising (`!x >> 2`, i.e.
//!   `-(x >> 2) - 1`), exactly as G.191 does. Sun's `linear2ulaw` negates instead
//!   (`-(x >> 2)`), which puts every negative sample one 14-bit step further from zero: on 508 of
//!   the 65,536 inputs (all negative: four next to each decision threshold, e.g.
//!   -31612..=-31609, and -4..=-1, whose reference code is 0x7F, negative zero) Sun's mu-law code
//!   is one step off the reference. Sun's A-law already takes the one's complement, and matches
//!   the reference on all inputs.
//! - The result: mu-law and A-law encode match G.191 on all 65,536 inputs, and decode matches
//!   it (and sox) on all 256 codes; `tests/g711_sox.rs` checks this exhaustively.
//!
//! **sox is not the reference for encoding.** sox 14.4 converts 16-bit input to mu-law/A-law by
//! first *rounding* to 14/13 bits (its generic bit-depth reduction, even with `-D`, which only
//! turns dither off) and then applying Sun's algorithm; the reference *truncates*. So sox
//! disagrees with the reference (and with us) on 510 inputs for mu-law and 1,020 for A-law: the
//! two inputs next to each decision threshold that rounding pushes across it, and for mu-law also
//! Sun's negative-magnitude rule. It also clips +32766/+32767 (mu-law) and +32764..=+32767
//! (A-law) and warns about it. The sox test asserts that every one of these disagreements is
//! explained by exactly that model of sox, and that on inputs already on the 14/13-bit grid the
//! A-law codes agree outright.
//!
//! Decoding goes through 256-entry tables built at compile time; the decoders have no such
//! variants (Sun, G.191 and sox agree on all codes).

const BIAS: i32 = 0x84;
const CLIP: i32 = 8159;
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn segment(value: i32, table: &[i32; 8]) -> usize {
    let mut i = 0;
    while i < 8 {
        if value <= table[i] {
            return i;
        }
        i += 1;
    }
    8
}

/// Encodes one linear 16-bit sample to mu-law.
#[inline]
pub const fn ulaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 2;
    let mask: i32 = if pcm < 0 {
        // One's complement, as in ITU-T G.191 `ulaw_compress` (Sun negates here, which is one
        // step off the reference on 508 negative inputs: see the module doc).
        pcm = -pcm - 1;
        0x7F
    } else {
        0xFF
    };
    if pcm > CLIP {
        pcm = CLIP;
    }
    pcm += BIAS >> 2;
    let seg = segment(pcm, &SEG_UEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let uval = ((seg as i32) << 4) | ((pcm >> (seg + 1)) & 0xF);
    (uval ^ mask) as u8
}

const fn ulaw_decode_slow(code: u8) -> i16 {
    let u = !code as i32;
    let mut t = ((u & 0x0F) << 3) + BIAS;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { BIAS - t } else { t - BIAS }) as i16
}

/// Encodes one linear 16-bit sample to A-law.
#[inline]
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 3;
    let mask: i32 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let seg = segment(pcm, &SEG_AEND);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut aval = (seg as i32) << 4;
    aval |= if seg < 2 { (pcm >> 1) & 0x0F } else { (pcm >> seg) & 0x0F };
    (aval ^ mask) as u8
}

const fn alaw_decode_slow(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw { alaw_decode_slow(i as u8) } else { ulaw_decode_slow(i as u8) };
        i += 1;
    }
    t
}

static ULAW_TABLE: [i16; 256] = table(false);
static ALAW_TABLE: [i16; 256] = table(true);

/// Decodes one mu-law byte to linear 16-bit.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

/// Decodes one A-law byte to linear 16-bit.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

/// Which G.711 law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// mu-law, RTP payload type 0 (PCMU).
    Ulaw,
    /// A-law, RTP payload type 8 (PCMA).
    Alaw,
}

impl Law {
    /// Encodes `pcm` into `out` (cleared first): one byte per sample.
    pub fn encode_into(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Law::Ulaw => out.extend(pcm.iter().map(|&s| ulaw_encode(s))),
            Law::Alaw => out.extend(pcm.iter().map(|&s| alaw_encode(s))),
        }
    }

    /// Decodes `bytes` into `out` (cleared first): one sample per byte.
    pub fn decode_into(self, bytes: &[u8], out: &mut Vec<i16>) {
        out.clear();
        let table = match self {
            Law::Ulaw => &ULAW_TABLE,
            Law::Alaw => &ALAW_TABLE,
        };
        out.extend(bytes.iter().map(|&b| table[b as usize]));
    }

    /// The byte that encodes silence (0 linear).
    pub const fn silence(self) -> u8 {
        match self {
            Law::Ulaw => 0xFF,
            Law::Alaw => 0xD5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_is_identity_on_codes() {
        // Every code except mu-law's negative zero (0x7F decodes to 0 like 0xFF) survives a round trip.
        for code in 0..=255u8 {
            let u = ulaw_encode(ulaw_decode(code));
            assert!(u == code || (code == 0x7F && u == 0xFF), "ulaw {code:#04x} -> {u:#04x}");
            assert_eq!(alaw_encode(alaw_decode(code)), code, "alaw {code:#04x}");
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x2A), -32256);
    }
}
