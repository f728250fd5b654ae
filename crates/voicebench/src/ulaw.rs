//! G.711 mu-law, written here rather than taken from `frontdesk-codec`, so that the benchmark's
//! caller is independent of the server it measures (the classic segment/bias formulation).

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// One 16-bit sample to mu-law.
pub fn encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    let mag = s.abs().min(CLIP) + BIAS;
    let exp: i32 = (0..8).rev().find(|e| mag & (0x80 << e) != 0).unwrap_or(0);
    let mant = (mag >> (exp + 3)) & 0x0F;
    !((sign | (exp << 4) | mant) as u8)
}

/// One mu-law byte to a 16-bit sample.
pub fn decode(code: u8) -> i16 {
    let c = !code;
    let exp = i32::from((c >> 4) & 0x07);
    let mant = i32::from(c & 0x0F);
    let mag = (((mant << 3) + BIAS) << exp) - BIAS;
    (if c & 0x80 != 0 { -mag } else { mag }) as i16
}

/// Encodes a frame.
pub fn encode_all(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().map(|&s| encode(s)).collect()
}

/// Decodes into `out` (cleared first).
pub fn decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.clear();
    out.extend(bytes.iter().map(|&b| decode(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(encode(0), 0xFF);
        assert_eq!(decode(0xFF), 0);
        assert_eq!(decode(0x7F), 0);
        assert_eq!(decode(0x00), -32124);
        assert_eq!(decode(0x80), 32124);
        assert_eq!(encode(32767), 0x80);
        assert_eq!(encode(-32768), 0x00);
    }

    #[test]
    fn round_trip_is_within_a_step() {
        for s in (-32000i32..32000).step_by(7) {
            let d = i32::from(decode(encode(s as i16)));
            let step = (s.abs() >> 4).max(8);
            assert!((d - s).abs() <= step, "{s} -> {d}");
        }
        for c in 0..=255u8 {
            if c != 0x7F {
                assert_eq!(encode(decode(c)), c, "{c:#x}");
            }
        }
    }
}

#[cfg(test)]
mod reference {
    use super::*;

    /// Codes from Python's `audioop.lin2ulaw` (the CCITT reference implementation).
    #[test]
    fn matches_audioop() {
        for (s, c) in
            [(0, 0xFF), (100, 0xF2), (-100, 0x72), (1000, 0xCE), (-1000, 0x4E), (8000, 0xA0), (-8000, 0x20)]
        {
            assert_eq!(encode(s), c, "{s}");
        }
    }
}
