//! Property: whatever the digits, level, twist, frame size and G.711 law, generated DTMF decodes
//! to exactly the digits sent, and a detector never reports a digit on the generator's silence.

use frontdesk_codec::g711::Law;
use frontdesk_dtmf::{DtmfDetector, DtmfEvent, DtmfGenerator, ToneSpec};
use frontdesk_types::{Digit, Instant};
use proptest::prelude::*;

fn decode(pcm: &[i16], frame: usize) -> String {
    let mut det = DtmfDetector::new();
    let mut keys = String::new();
    let mut pos = 0u64;
    for chunk in pcm.chunks(frame) {
        det.push(Instant::from_micros(pos * 125), chunk);
        pos += chunk.len() as u64;
        while let Some(e) = det.poll_event() {
            if let DtmfEvent::Started { digit, .. } = e {
                keys.push(digit.as_char());
            }
        }
    }
    keys
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_digits_round_trip(
        codes in proptest::collection::vec(0u8..16, 1..8),
        tone_ms in 45u32..150,
        gap_ms in 45u32..150,
        level in -30.0f32..-7.0,
        twist in -5.0f32..5.0,
        frame in 1usize..400,
        law in prop_oneof![Just(None), Just(Some(Law::Ulaw)), Just(Some(Law::Alaw))],
    ) {
        let keys: String = codes.iter().filter_map(|&c| Digit::from_event(c)).map(Digit::as_char).collect();
        // Keep the louder tone below full scale.
        let level = level.min(-7.0 - twist.max(0.0));
        let spec = ToneSpec { tone_ms, gap_ms, level_dbfs: level, twist_db: twist };
        let mut pcm = DtmfGenerator::render(spec, &keys).unwrap();
        if let Some(law) = law {
            let mut bytes = Vec::new();
            law.encode_into(&pcm, &mut bytes);
            law.decode_into(&bytes, &mut pcm);
        }
        prop_assert_eq!(decode(&pcm, frame), keys);
    }
}
