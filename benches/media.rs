//! One call direction, per 20 ms frame, through the whole receive media path:
//! RTP parse -> jitter buffer push + pop -> G.711 decode -> resample 8 -> 16 kHz -> in-band DTMF
//! detection. The foundation's target is under 20 us per frame on one core (over 1,000 call
//! directions per core).
//!
//! `cargo bench --bench media` (criterion; medians in target/criterion/*/new/estimates.json).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_codec::{Law, Resampler};
use frontdesk_dtmf::DtmfDetector;
use frontdesk_rtp::{JitterBuffer, JitterConfig, Pop, RtpPacket};
use frontdesk_types::{Instant, SampleRate};

/// Speech-like audio: a gliding voiced source (fundamental 100-220 Hz with harmonics) whose
/// loudness rises and falls at syllable rate, plus a little seeded noise.
fn speech_like(samples: usize) -> Vec<i16> {
    let mut seed: u32 = 0x1234_5678;
    let mut phase = 0.0f32;
    (0..samples)
        .map(|n| {
            let t = n as f32 / 8000.0;
            let f0 = 160.0 + 60.0 * (t * 1.3).sin();
            phase += std::f32::consts::TAU * f0 / 8000.0;
            let voiced: f32 = (1..=12).map(|h| (phase * h as f32).sin() / h as f32).sum();
            let envelope = 0.5 + 0.5 * (t * std::f32::consts::TAU * 4.0).sin().max(0.0);
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 16) as f32 / 65536.0 - 0.5;
            ((voiced * envelope * 0.3 + noise * 0.02) * 32767.0) as i16
        })
        .collect()
}

fn one_direction(c: &mut Criterion) {
    let audio = speech_like(8000 * 10);
    let mut ulaw = Vec::new();
    let packets: Vec<Vec<u8>> = audio
        .chunks_exact(160)
        .enumerate()
        .map(|(i, pcm)| {
            Law::Ulaw.encode_into(pcm, &mut ulaw);
            let seq = i as u16;
            RtpPacket::new(0, seq, u32::from(seq) * 160, 0x0BAD_CAFE, &ulaw).to_vec().expect("valid packet")
        })
        .collect();

    let mut jb = JitterBuffer::new(JitterConfig::new(0, 8000)).expect("valid config");
    let mut resampler = Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).expect("supported rates");
    let mut dtmf = DtmfDetector::new();
    let (mut pcm, mut pcm16k) = (Vec::with_capacity(160), Vec::with_capacity(400));
    let mut k: u64 = 0;
    c.bench_function("media/one_direction_per_frame", |b| {
        b.iter(|| {
            let now = Instant::from_micros(k * 20_000);
            // Packets of a 10 s clip, replayed with timestamps moving on so the stream never ends.
            let i = (k as usize) % packets.len();
            let lap = (k / packets.len() as u64) as u32;
            let mut p = RtpPacket::parse(black_box(&packets[i])).expect("valid packet");
            p.sequence = p.sequence.wrapping_add((lap * packets.len() as u32) as u16);
            p.timestamp = p.timestamp.wrapping_add(lap * packets.len() as u32 * 160);
            jb.push(now, &p);
            match jb.pop(now) {
                Pop::Frame(f) => Law::Ulaw.decode_into(f.payload, &mut pcm),
                Pop::Lost | Pop::Empty => {
                    pcm.clear();
                    pcm.resize(160, 0);
                }
            }
            pcm16k.clear();
            resampler.push_i16(&pcm, &mut pcm16k).expect("resample");
            dtmf.push(now, &pcm);
            while let Some(ev) = dtmf.poll_event() {
                black_box(ev);
            }
            k += 1;
            black_box(pcm16k.len())
        })
    });
}

/// The same path stage by stage, to see where the time goes.
fn stages(c: &mut Criterion) {
    let audio = speech_like(8000 * 10);
    let frames: Vec<&[i16]> = audio.chunks_exact(160).collect();
    let mut ulaw = Vec::new();
    Law::Ulaw.encode_into(frames[7], &mut ulaw);
    let mut pcm = Vec::with_capacity(160);
    c.bench_function("media/stage/g711_decode", |b| {
        b.iter(|| Law::Ulaw.decode_into(black_box(&ulaw), &mut pcm))
    });
    let mut resampler = Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).expect("supported rates");
    let mut out = Vec::with_capacity(400);
    let mut k = 0usize;
    c.bench_function("media/stage/resample_8k_16k", |b| {
        b.iter(|| {
            out.clear();
            k += 1;
            resampler.push_i16(black_box(frames[k % frames.len()]), &mut out).expect("resample")
        })
    });
    let mut dtmf = DtmfDetector::new();
    let mut t = 0u64;
    c.bench_function("media/stage/dtmf_detect", |b| {
        b.iter(|| {
            t += 1;
            dtmf.push(Instant::from_micros(t * 20_000), black_box(frames[t as usize % frames.len()]));
            dtmf.poll_event()
        })
    });
}

criterion_group!(benches, one_direction, stages);
criterion_main!(benches);
