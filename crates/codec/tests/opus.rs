//! Opus through libopus: round trips at 8, 16 and 48 kHz, concealment of lost packets, in-band
//! FEC recovery, and errors that name the problem.

// Helpers outside #[test] fns count as non-test code to clippy; unwrap is fine in a test crate.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;

use frontdesk_codec::{CodecError, OpusConfig, OpusDecoder, OpusEncoder};
use frontdesk_types::SampleRate;

/// A voiced-speech-like signal: a 140..180 Hz gliding fundamental with decaying harmonics up to
/// 3.4 kHz, amplitude-modulated at 3 Hz (syllables). Deterministic.
fn speechlike(rate: SampleRate, secs: f64) -> Vec<i16> {
    intonated(rate, secs, 20.0, 0.7)
}

/// Like [`speechlike`], with the fundamental swinging by `swing` Hz at `speed` Hz.
fn intonated(rate: SampleRate, secs: f64, swing: f64, speed: f64) -> Vec<i16> {
    let fs = f64::from(rate.hz());
    let mut phase = 0.0;
    (0..(secs * fs) as usize)
        .map(|i| {
            let t = i as f64 / fs;
            let f0 = 160.0 + swing * (2.0 * PI * speed * t).sin();
            phase += 2.0 * PI * f0 / fs;
            let mut v = 0.0;
            let mut h = 1.0;
            while h * f0 < 3400.0 {
                v += (h * phase).sin() / h;
                h += 1.0;
            }
            let env = 0.55 + 0.45 * (2.0 * PI * 3.0 * t).sin();
            (6000.0 * env * v) as i16
        })
        .collect()
}

fn energy(x: &[i16]) -> f64 {
    x.iter().map(|&v| f64::from(v).powi(2)).sum()
}

/// Normalised cross-correlation of `a` and `b` (same length).
fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    dot / (energy(a) * energy(b)).sqrt()
}

fn encode_all(enc: &mut OpusEncoder, pcm: &[i16]) -> Vec<Vec<u8>> {
    pcm.chunks_exact(enc.frame_len()).map(|f| enc.encode(f).unwrap().to_vec()).collect()
}

#[test]
fn round_trip_at_8_16_and_48_khz() {
    for rate in [SampleRate::Hz8000, SampleRate::Hz16000, SampleRate::Hz48000] {
        let mut enc = OpusEncoder::new(rate).unwrap();
        let mut dec = OpusDecoder::new(rate).unwrap();
        let input = speechlike(rate, 1.0);
        let packets = encode_all(&mut enc, &input);
        assert_eq!(packets.len(), 50);
        let mut output = Vec::new();
        for p in &packets {
            assert!(!p.is_empty() && p.len() <= 1275, "{rate}: packet of {} bytes", p.len());
            let pcm = dec.decode(Some(p)).unwrap();
            assert_eq!(pcm.len(), rate.frame_len(), "{rate}: one 20 ms frame per packet");
            output.extend_from_slice(pcm);
        }
        // The decoded signal is the input delayed by the codec's lookahead.
        let delay = enc.lookahead().unwrap();
        assert_eq!(delay, rate.samples_in_ms(13) / 2, "{rate}: 6.5 ms lookahead in VOIP mode");
        let skip = rate.samples_in_ms(100); // let the codec settle
        let a = &input[skip..input.len() - delay];
        let b = &output[skip + delay..];
        let corr = correlation(a, b);
        // Opus at 10..45 kb/s is perceptual, not waveform-exact: about 0.89 measured.
        assert!(corr > 0.8, "{rate}: correlation with the delayed input {corr:.3}");
        let level_db = 10.0 * (energy(b) / energy(a)).log10();
        assert!(level_db.abs() < 1.5, "{rate}: level {level_db:+.2} dB");
        assert_eq!(dec.stats().decoded, 50);
    }
}

#[test]
fn any_stream_decodes_at_any_supported_rate() {
    let mut enc = OpusEncoder::new(SampleRate::Hz8000).unwrap();
    let mut dec = OpusDecoder::new(SampleRate::Hz48000).unwrap();
    let packets = encode_all(&mut enc, &speechlike(SampleRate::Hz8000, 0.2));
    for p in &packets {
        assert_eq!(dec.decode(Some(p)).unwrap().len(), 960);
    }
}

#[test]
fn a_lost_packet_becomes_20ms_of_concealment_that_continues_the_signal() {
    let rate = SampleRate::Hz16000;
    let mut enc = OpusEncoder::new(rate).unwrap();
    let mut dec = OpusDecoder::new(rate).unwrap();
    // Before any packet: 20 ms of silence, not an error.
    let first = dec.decode(None).unwrap();
    assert_eq!(first.len(), 320);
    assert!(first.iter().all(|&s| s == 0));

    let packets = encode_all(&mut enc, &speechlike(rate, 0.5));
    let mut last_good = Vec::new();
    for p in &packets[..10] {
        last_good = dec.decode(Some(p)).unwrap().to_vec();
    }
    let concealed = dec.decode(None).unwrap().to_vec();
    assert_eq!(concealed.len(), 320);
    // PLC extends the last pitch period: clearly not silence, of the same order as the signal.
    let ratio_db = 10.0 * (energy(&concealed) / energy(&last_good)).log10();
    assert!(ratio_db > -10.0, "concealment {ratio_db:.1} dB below the last frame");
    assert_eq!(dec.stats().concealed, 2);
    // And decoding goes on normally afterwards.
    assert_eq!(dec.decode(Some(&packets[11])).unwrap().len(), 320);
}

#[test]
fn in_band_fec_recovers_a_lost_frame_better_than_concealment() {
    // Default config (FEC on, 10 % expected loss) at every rate; at 8 kHz that includes the
    // 20 kb/s default that keeps SILK above its FEC threshold.
    for rate in [SampleRate::Hz8000, SampleRate::Hz16000, SampleRate::Hz48000] {
        let n = rate.frame_len();
        let mut enc = OpusEncoder::new(rate).unwrap();
        // Lively intonation: PLC, which repeats the last pitch period, cannot guess where it goes.
        let packets = encode_all(&mut enc, &intonated(rate, 1.0, 60.0, 4.0));

        // The reference: every packet decoded.
        let mut reference = Vec::new();
        let mut dec = OpusDecoder::new(rate).unwrap();
        for p in &packets {
            reference.push(dec.decode(Some(p)).unwrap().to_vec());
        }

        let mut fec_better = 0;
        let (mut total_plc, mut total_fec) = (0.0, 0.0);
        // Frames in the loud part of the syllable envelope: SILK sends no FEC for near-silent
        // frames (there PLC is all there is, and all that is needed).
        let lost_frames = [10, 20, 25, 35, 40];
        for &lost in &lost_frames {
            let mut plc = OpusDecoder::new(rate).unwrap();
            let mut fec = OpusDecoder::new(rate).unwrap();
            for p in &packets[..lost] {
                plc.decode(Some(p)).unwrap();
                fec.decode(Some(p)).unwrap();
            }
            let by_plc = plc.decode(None).unwrap().to_vec();
            let by_fec = fec.decode_lost(Some(&packets[lost + 1])).unwrap().to_vec();
            assert_eq!(by_fec.len(), n);
            assert_eq!(fec.stats().fec_recovered, 1);
            // Then the next packet decodes as usual.
            assert_eq!(fec.decode(Some(&packets[lost + 1])).unwrap().len(), n);

            let err = |x: &[i16]| {
                x.iter()
                    .zip(&reference[lost])
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum::<f64>()
            };
            let (e_plc, e_fec) = (err(&by_plc), err(&by_fec));
            if e_fec < e_plc {
                fec_better += 1;
            }
            total_plc += e_plc;
            total_fec += e_fec;
        }
        let gain_db = 10.0 * (total_plc / total_fec).log10();
        println!(
            "{rate}: FEC error {gain_db:.1} dB below PLC; better on {fec_better} of {} frames",
            lost_frames.len()
        );
        assert!(
            fec_better >= 4,
            "{rate}: FEC beat PLC on only {fec_better} of {} lost frames",
            lost_frames.len()
        );
        // Measured: 12 dB at 8 kHz, 10 dB at 16 kHz, 16 dB at 48 kHz.
        assert!(gain_db > 6.0, "{rate}: FEC error only {gain_db:.1} dB below PLC error");
    }
}

#[test]
fn without_fec_at_8khz_lost_frames_fall_back_to_plc() {
    // What the 20 kb/s default at 8 kHz is for: libopus's own bitrate there (about 10 kb/s) is
    // below SILK's FEC threshold, so packets carry no FEC and "recovery" is plain PLC.
    let rate = SampleRate::Hz8000;
    let auto = OpusConfig { bitrate_bps: Some(10_000), ..OpusConfig::default() };
    let mut enc = OpusEncoder::with_config(rate, &auto).unwrap();
    let packets = encode_all(&mut enc, &intonated(rate, 0.5, 60.0, 4.0));
    let mut plc = OpusDecoder::new(rate).unwrap();
    let mut fec = OpusDecoder::new(rate).unwrap();
    for p in &packets[..10] {
        plc.decode(Some(p)).unwrap();
        fec.decode(Some(p)).unwrap();
    }
    assert_eq!(plc.decode(None).unwrap(), fec.decode_lost(Some(&packets[11])).unwrap());
}

#[test]
fn corrupt_packet_is_a_named_error_and_the_decoder_carries_on() {
    let rate = SampleRate::Hz8000;
    let mut enc = OpusEncoder::new(rate).unwrap();
    let mut dec = OpusDecoder::new(rate).unwrap();
    let packets = encode_all(&mut enc, &speechlike(rate, 0.1));
    dec.decode(Some(&packets[0])).unwrap();
    // TOC byte with frame-count code 3 but no frame-count byte: invalid per RFC 6716 3.2.5.
    let err = dec.decode(Some(&[0x03])).unwrap_err();
    assert!(matches!(err, CodecError::CorruptPacket { len: 1, .. }), "{err:?}");
    assert!(err.to_string().starts_with("corrupt Opus packet (1 bytes)"), "{err}");
    assert_eq!(dec.stats().corrupt, 1);
    assert_eq!(dec.decode(Some(&packets[1])).unwrap().len(), 160);
    // A truncated real packet is rejected too, or decodes to a legal frame: never a panic.
    let cut = &packets[2][..packets[2].len() / 2];
    if let Ok(pcm) = dec.decode(Some(cut)) {
        assert_eq!(pcm.len() % 20, 0);
    }
}

#[test]
fn config_is_applied() {
    let rate = SampleRate::Hz16000;
    let input = speechlike(rate, 1.0);
    let size = |bps| {
        let cfg = OpusConfig { bitrate_bps: Some(bps), inband_fec: false, ..OpusConfig::default() };
        let mut enc = OpusEncoder::with_config(rate, &cfg).unwrap();
        encode_all(&mut enc, &input).iter().map(Vec::len).sum::<usize>()
    };
    let (low, high) = (size(12_000), size(32_000));
    // 1 s of audio: about bitrate / 8 bytes.
    assert!((1000..2200).contains(&low), "12 kb/s gave {low} bytes");
    assert!((3000..5000).contains(&high), "32 kb/s gave {high} bytes");
}
