//! Property tests: G.711 round trips stay within half a quantisation step, the resampler's output
//! length tracks input length times the ratio whatever the chunking (and the samples do not
//! depend on it), and the Opus decoder turns random bytes into an error or a legal frame, never
//! a panic.

// Helpers outside #[test] fns count as non-test code to clippy; unwrap is fine in a test crate.
#![allow(clippy::unwrap_used)]

use frontdesk_codec::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
use frontdesk_codec::{CodecError, OpusDecoder, Resampler};
use frontdesk_types::SampleRate;
use proptest::prelude::*;

fn any_rate() -> impl Strategy<Value = SampleRate> {
    prop::sample::select(SampleRate::ALL.to_vec())
}

/// Half a quantisation step at `x`, in 16-bit units: the most a round trip may move `x`.
/// mu-law segment s spans 16-bit magnitudes of about [2^(s+7), 2^(s+8)) - 132 in steps of
/// 2^(s+3), so half a step is at most (|x| + 132) / 32. (Full-scale inputs beyond the largest
/// code, 32124, clip by less than that.)
fn ulaw_bound(x: i16) -> i32 {
    (i32::from(x).abs() + 132) / 32
}

/// A-law: steps of 32 in segments 0 and 1, then 2^(s+4) for magnitudes from 2^(s+8): half a
/// step is at most max(16, |x| / 32).
fn alaw_bound(x: i16) -> i32 {
    (i32::from(x).abs() / 32).max(16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn g711_round_trip_within_half_a_quantisation_step(x in any::<i16>()) {
        let u = i32::from(ulaw_decode(ulaw_encode(x)));
        prop_assert!((u - i32::from(x)).abs() <= ulaw_bound(x), "mu-law {} -> {}", x, u);
        let a = i32::from(alaw_decode(alaw_encode(x)));
        prop_assert!((a - i32::from(x)).abs() <= alaw_bound(x), "A-law {} -> {}", x, a);
        // Decoded values are fixed points of the round trip (mu-law's negative zero aside).
        prop_assert_eq!(ulaw_decode(ulaw_encode(u as i16)), u as i16);
        prop_assert_eq!(alaw_decode(alaw_encode(a as i16)), a as i16);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn resampler_output_tracks_input_times_ratio_over_any_chunking(
        from in any_rate(),
        to in any_rate(),
        chunks in prop::collection::vec(0usize..1500, 1..40),
        seed in any::<u32>(),
    ) {
        let total: usize = chunks.iter().sum();
        // Deterministic noise-like input from the seed (the values do not matter to lengths).
        let mut state = seed | 1;
        let input: Vec<f32> = (0..total)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.5
            })
            .collect();
        let mut r = Resampler::new(from, to).unwrap();
        let ratio = r.ratio();
        let mut out = Vec::new();
        let mut fed = 0usize;
        for &n in &chunks {
            r.push_f32(&input[fed..fed + n], &mut out).unwrap();
            fed += n;
            // After every chunk: the output covers the input up to the filter's look-ahead of
            // two input samples, and never runs ahead of it.
            let ideal = fed as f64 * ratio;
            let got = out.len() as f64;
            prop_assert!(got <= ideal + 1.0, "{}->{}: {} out for {} in", from, to, got, fed);
            prop_assert!(got >= ideal - 2.0 * ratio - 2.0, "{}->{}: {} out for {} in", from, to, got, fed);
        }
        prop_assert_eq!(r.output_len(), out.len() as u64);
        // Same samples as one push of everything, whatever the chunking.
        let mut whole = Vec::new();
        Resampler::new(from, to).unwrap().push_f32(&input, &mut whole).unwrap();
        prop_assert!(whole.len().abs_diff(out.len()) <= 1, "{} vs {}", whole.len(), out.len());
        let diff = whole.iter().zip(&out).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        prop_assert!(diff < 1e-5, "{}->{}: chunked output differs by {}", from, to, diff);
    }

    #[test]
    fn opus_decoder_survives_random_bytes(
        packets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 1..20),
        rate in prop::sample::select(vec![SampleRate::Hz8000, SampleRate::Hz16000, SampleRate::Hz48000]),
    ) {
        let mut dec = OpusDecoder::new(rate).unwrap();
        let quantum = rate.samples_in_ms(5) / 2; // 2.5 ms, the shortest Opus frame
        for (i, p) in packets.iter().enumerate() {
            let result = if i % 3 == 2 { dec.decode_lost(Some(p)) } else { dec.decode(Some(p)) };
            match result {
                Ok(pcm) => {
                    prop_assert!(pcm.len() % quantum == 0 && pcm.len() <= rate.samples_in_ms(120), "{} samples", pcm.len());
                }
                Err(CodecError::CorruptPacket { len, .. }) => prop_assert_eq!(len, p.len()),
                Err(CodecError::EmptyPacket) => prop_assert!(p.is_empty()),
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }
        // Concealment still works after any of that.
        prop_assert_eq!(dec.decode(None).unwrap().len(), rate.frame_len());
    }
}
