//! Decoding sox-generated DTMF after G.711 round trips, at several lengths and levels, with noise
//! and speech mixed in. Needs `sox` (and `asterisk-core-sounds-en-wav` for the speech).

mod common;

use common::*;
use frontdesk_codec::g711::Law;
use frontdesk_dtmf::DtmfEvent;

const ALL: &str = "0123456789*#ABCD";

/// Raw, mu-law and A-law versions of `pcm`.
fn variants(pcm: &[i16]) -> [(&'static str, Vec<i16>); 3] {
    [("linear", pcm.to_vec()), ("mu-law", g711(Law::Ulaw, pcm)), ("A-law", g711(Law::Alaw, pcm))]
}

#[test]
fn all_keys_100ms_decode_after_g711() {
    let pcm = sox_sequence(ALL, 100, 100, -3.0);
    assert_eq!(pcm.len(), 16 * 1600, "sox made 200 ms per digit");
    for (name, v) in variants(&pcm) {
        let (keys, ended) = detect_with(Default::default(), &v);
        assert_eq!(keys, ALL, "{name}");
        for e in &ended {
            let ms = e.duration().map(|d| d.as_millis()).unwrap_or(0);
            assert!((87..=114).contains(&ms), "{name}: {e:?} lasted {ms} ms, tone is 100 ms");
        }
        // Starts are 200 ms apart, within a block.
        let starts: Vec<u64> = ended
            .iter()
            .map(|e| match e {
                DtmfEvent::Ended { start, .. } => start.as_micros(),
                DtmfEvent::Started { .. } => unreachable!(),
            })
            .collect();
        for (i, s) in starts.iter().enumerate() {
            let expected = i as u64 * 200_000;
            assert!(s.abs_diff(expected) <= 12_750, "{name}: digit {i} starts at {s} us");
        }
    }
}

#[test]
fn short_50ms_tones_and_repeated_keys() {
    let keys = "1122*#00DD9";
    let pcm = sox_sequence(keys, 50, 50, -3.0);
    for (name, v) in variants(&pcm) {
        assert_eq!(detect(&v), keys, "{name}");
    }
}

#[test]
fn tones_shorter_than_the_minimum_are_ignored() {
    let pcm = sox_sequence("123", 20, 100, -3.0);
    assert_eq!(detect(&pcm), "");
}

#[test]
fn quieter_tones_decode_down_to_minus_33_dbfs_per_tone() {
    // gain -n P puts the pair's peak at P dBFS: each tone is at P - 6 dBFS.
    for peak in [-13.0, -23.0, -27.0] {
        let pcm = sox_sequence(ALL, 100, 100, peak);
        for (name, v) in variants(&pcm) {
            assert_eq!(detect(&v), ALL, "{name} at {} dBFS per tone", peak - 6.0);
        }
    }
    // Below the -36 dBFS floor: nothing.
    let pcm = sox_sequence("159", 100, 100, -36.0);
    assert_eq!(detect(&g711(Law::Ulaw, &pcm)), "");
}

#[test]
fn twisted_tones_decode_within_limits() {
    // Build twisted pairs with sox: low tone attenuated by 6 dB (normal twist) or high tone by 6 dB.
    for (lo_gain, hi_gain) in [("-6", "0"), ("0", "-6")] {
        let mut pcm = Vec::new();
        for c in "2580".chars() {
            let (lo, hi) = frontdesk_types::Digit::from_char(c).unwrap().frequencies();
            let lo_part = sox(&[
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                "{out}",
                "synth",
                "0.1",
                "sine",
                &lo.to_string(),
                "gain",
                "-n",
                "-9",
                "gain",
                lo_gain,
                "pad",
                "0",
                "0.1",
            ]);
            let hi_part = sox(&[
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                "{out}",
                "synth",
                "0.1",
                "sine",
                &hi.to_string(),
                "gain",
                "-n",
                "-9",
                "gain",
                hi_gain,
                "pad",
                "0",
                "0.1",
            ]);
            pcm.extend(mix(&lo_part, &hi_part, 1.0));
        }
        assert_eq!(detect(&g711(Law::Alaw, &pcm)), "2580", "twist lo {lo_gain} dB hi {hi_gain} dB");
    }
}

/// Deterministic white noise (xorshift, seeded), uniform in +-`amp`.
fn noise(len: usize, amp: f32, mut seed: u64) -> Vec<i16> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let u = (seed >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0;
            (u * amp) as i16
        })
        .collect()
}

#[test]
fn digits_in_white_noise() {
    let pcm = sox_sequence(ALL, 100, 100, -3.0);
    let tone_power = active_power(&pcm);
    // Uniform noise of amplitude a has power a^2/3; 20 dB below the tones.
    let amp = (tone_power * 3.0 / 100.0).sqrt() * 32768.0;
    for seed in [1, 2, 3] {
        let noisy = mix(&pcm, &noise(pcm.len(), amp, seed), 1.0);
        for (name, v) in variants(&noisy) {
            assert_eq!(detect(&v), ALL, "{name}, seed {seed}, SNR 20 dB");
        }
    }
    // Noise alone, at the level of the tones: no digit.
    let loud = noise(8000 * 5, (tone_power * 3.0).sqrt() * 32768.0, 9);
    assert_eq!(detect(&loud), "");
}

#[test]
fn digits_over_speech() {
    let pcm = sox_sequence(ALL, 100, 100, -3.0);
    let talk = speech();
    let gain_for = |db: f32| (active_power(&pcm) / active_power(&talk) / 10f32.powf(db / 10.0)).sqrt();
    // Speech 15 dB below the tone pair (a talker in the background): every digit.
    let mixed = mix(&pcm, &talk, gain_for(15.0));
    for (name, v) in variants(&mixed) {
        assert_eq!(detect(&v), ALL, "{name}, speech 15 dB below");
    }
    // The speech alone, at the same gain and louder: no digit.
    for db in [15.0, 0.0] {
        let alone: Vec<i16> = mix(&vec![0; talk.len()], &talk, gain_for(db));
        assert_eq!(detect(&alone), "", "speech alone at {db} dB");
    }
}
