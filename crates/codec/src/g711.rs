//! G.711 mu-law (PCMU) and A-law (PCMA), per ITU-T G.711.
//!
//! Encoding follows the classic Sun Microsystems reference implementation (the one sox and most
//! telephony stacks carry): segment search on the biased magnitude, 14-bit input for mu-law and
//! 13-bit for A-law. Decoding goes through 256-entry tables built at compile time.

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
        pcm = -pcm;
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
