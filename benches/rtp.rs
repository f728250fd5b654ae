//! RTP media-core costs per 20 ms frame: packet parse and serialize, jitter-buffer push + pop,
//! RFC 4733 receive.
//!
//! `cargo bench --bench rtp` (criterion; medians are in target/criterion/*/new/estimates.json).

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_rtp::{DtmfReceiver, DtmfSender, DtmfSenderConfig, JitterBuffer, JitterConfig, Pop, RtpPacket};
use frontdesk_types::{Digit, Instant};
use std::hint::black_box;
use std::time::Duration;

/// A G.711 packet: 12-byte header + 160 bytes (20 ms at 8 kHz).
fn g711_packet(seq: u16) -> Vec<u8> {
    let payload = [0x55u8; 160];
    RtpPacket::new(0, seq, u32::from(seq) * 160, 0x1234_5678, &payload).to_vec().expect("valid packet")
}

fn packet(c: &mut Criterion) {
    let bytes = g711_packet(1000);
    c.bench_function("rtp/parse_g711_172B", |b| {
        b.iter(|| {
            let p = RtpPacket::parse(black_box(&bytes)).expect("valid packet");
            black_box(p.payload.len())
        })
    });
    let payload = [0x55u8; 160];
    let mut out = Vec::with_capacity(256);
    c.bench_function("rtp/serialize_g711_172B", |b| {
        b.iter(|| {
            out.clear();
            let p = RtpPacket::new(0, black_box(1000), 160_000, 0x1234_5678, &payload).with_marker(false);
            p.write_to(&mut out).expect("valid packet");
            black_box(out.len())
        })
    });
}

fn jitter(c: &mut Criterion) {
    // One iteration = one 20 ms frame: a packet arrives (with 0-30 ms pseudo-random jitter
    // applied as reordering of pairs) and the playout pops once.
    let packets: Vec<Vec<u8>> = (0..1024u16).map(g711_packet).collect();
    let mut jb = JitterBuffer::new(JitterConfig::new(0, 8000)).expect("valid config");
    let mut k: u64 = 0;
    c.bench_function("jitter/push_pop_per_frame", |b| {
        b.iter(|| {
            let now = Instant::from_micros(k * 20_000);
            // Swap each pair of packets: every other frame arrives out of order.
            let i = (k as usize ^ 1) % packets.len();
            let seq_base = (k as usize / packets.len()) as u16;
            let mut p = RtpPacket::parse(&packets[i]).expect("valid packet");
            // Keep the sequence/timestamp advancing past the table's end.
            p.sequence = p.sequence.wrapping_add(seq_base.wrapping_mul(1024));
            p.timestamp = p.timestamp.wrapping_add(u32::from(seq_base) * 1024 * 160);
            jb.push(now, &p);
            let n = match jb.pop(now) {
                Pop::Frame(f) => f.payload.len(),
                Pop::Lost => 1,
                Pop::Empty => 0,
            };
            k += 1;
            black_box(n)
        })
    });
}

fn dtmf(c: &mut Criterion) {
    // A 100 ms digit: 5 updates + 3 end packets, the way SIPp sends it.
    let cfg = DtmfSenderConfig::new(101, 8000, 0xabcd);
    let digit = Digit::from_char('5').expect("a key");
    let mut tx = DtmfSender::new(cfg, digit, Duration::from_millis(100), 0, 0, Instant::ZERO).expect("valid");
    let mut event = Vec::new();
    let mut buf = Vec::new();
    while tx.next_packet(&mut buf) {
        event.push(buf.clone());
    }
    let mut rx = DtmfReceiver::new(101, 8000);
    let mut ts = 0u32;
    let mut t = 0u64;
    c.bench_function("rfc4733/receive_packet", |b| {
        let mut i = 0usize;
        b.iter(|| {
            // Each pass over the 8 packets is a new key press (new timestamp).
            if i == event.len() {
                i = 0;
                ts = ts.wrapping_add(8000);
            }
            let mut p = RtpPacket::parse(&event[i]).expect("valid packet");
            p.timestamp = ts;
            t += 20_000;
            rx.handle_packet(Instant::from_micros(t), &p);
            i += 1;
            let mut n = 0;
            while let Some(e) = rx.poll_event() {
                black_box(e);
                n += 1;
            }
            n
        })
    });
    c.bench_function("rfc4733/send_digit_100ms", |b| {
        b.iter(|| {
            let mut tx =
                DtmfSender::new(cfg, digit, Duration::from_millis(100), 0, 0, Instant::ZERO).expect("valid");
            let mut n = 0;
            while tx.next_packet(&mut buf) {
                n += buf.len();
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, packet, jitter, dtmf);
criterion_main!(benches);
