//! Jitter-buffer scenarios on a hand-driven clock.

use super::*;

const PT: u8 = 0;
const SSRC: u32 = 0x1234_5678;

fn datagram(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let payload = seq.to_be_bytes();
    RtpPacket::new(PT, seq, ts, ssrc, &payload).to_vec().unwrap()
}

fn jb() -> JitterBuffer {
    JitterBuffer::new(JitterConfig::new(PT, 8000)).unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Empty,
    Lost,
    Seq(u16),
}

fn pop(jb: &mut JitterBuffer, now: Instant) -> Out {
    match jb.pop(now) {
        Pop::Empty => Out::Empty,
        Pop::Lost => Out::Lost,
        Pop::Frame(f) => {
            assert_eq!(f.payload, f.sequence.to_be_bytes());
            Out::Seq(f.sequence)
        }
    }
}

/// Delivers `arrivals` (time in µs, datagram) and pops every 20 ms at 10 ms phase, pushing
/// everything that arrived up to each pop first; returns what each pop played.
fn run(jb: &mut JitterBuffer, mut arrivals: Vec<(u64, Vec<u8>)>, pops: usize) -> Vec<Out> {
    arrivals.sort_by_key(|a| a.0);
    let mut it = arrivals.into_iter().peekable();
    let mut out = Vec::new();
    for k in 0..pops as u64 {
        let t = 10_000 + k * 20_000;
        while let Some((_, d)) = it.next_if(|a| a.0 <= t) {
            jb.push_datagram(Instant::from_micros(t), &d);
        }
        out.push(pop(jb, Instant::from_micros(t)));
    }
    out
}

/// A stream of `n` packets sent every 20 ms from `seq0`/`ts0`, each delayed by `delay(i)` µs.
fn stream(n: u16, seq0: u16, ts0: u32, mut delay: impl FnMut(u16) -> u64) -> Vec<(u64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let at = u64::from(i) * 20_000 + delay(i);
            (at, datagram(seq0.wrapping_add(i), ts0.wrapping_add(u32::from(i) * 160), SSRC))
        })
        .collect()
}

fn frames(out: &[Out]) -> Vec<u16> {
    out.iter().filter_map(|o| if let Out::Seq(s) = o { Some(*s) } else { None }).collect()
}

fn assert_accounting(jb: &JitterBuffer) {
    let s = jb.stats();
    assert_eq!(s.received, s.played + s.late + s.duplicates + s.discarded + s.buffered, "{s:?}");
}

#[test]
fn plays_in_order_after_the_initial_depth_across_both_wraps() {
    let mut b = jb();
    let out = run(&mut b, stream(200, 65500, u32::MAX - 160 * 50, |_| 1000), 210);
    assert_eq!(out[0], Out::Empty); // the first packet arrives at 1 ms; playout starts at 41 ms
    assert_eq!(out[1], Out::Empty);
    let played = frames(&out);
    let want: Vec<u16> = (0..200u16).map(|i| 65500u16.wrapping_add(i)).collect();
    assert_eq!(played, want);
    let s = b.stats();
    assert_eq!((s.played, s.lost, s.late, s.duplicates, s.reordered), (200, 0, 0, 0, 0));
    assert_eq!(s.concealed as usize, out.iter().filter(|o| **o == Out::Lost).count());
    assert!(s.jitter_ms < 0.01);
    assert_accounting(&b);
}

#[test]
fn reorders_and_drops_duplicates() {
    let mut b = jb();
    // Swap every pair of packets (the odd one arrives 5 ms before the even one) and send
    // every tenth packet twice.
    let mut arrivals = stream(100, 10, 0, |i| if i % 2 == 0 { 25_000 } else { 0 });
    arrivals.extend(stream(100, 10, 0, |_| 30_000).into_iter().step_by(10));
    let out = run(&mut b, arrivals, 120);
    assert_eq!(frames(&out), (10..110).collect::<Vec<u16>>());
    let s = b.stats();
    assert_eq!(s.duplicates, 10);
    assert_eq!(s.reordered, 50);
    assert_eq!(s.lost, 0);
    assert_accounting(&b);
}

#[test]
fn late_packets_are_dropped_and_loss_is_concealed() {
    let mut b = jb();
    // Packet 50 comes 500 ms late (after its slot was played or skipped); 70 never comes.
    let arrivals = stream(100, 0, 0, |i| if i == 50 { 500_000 } else { 0 })
        .into_iter()
        .filter(|(_, d)| RtpPacket::parse(d).unwrap().sequence != 70)
        .collect();
    let out = run(&mut b, arrivals, 110);
    let played = frames(&out);
    assert!(!played.contains(&50) && !played.contains(&70));
    assert!(played.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(played.len(), 98);
    let s = b.stats();
    assert_eq!(s.late, 1);
    assert_eq!(s.lost, 1); // 50 arrived (late), 70 never did
    assert!(s.concealed >= 2);
    assert_accounting(&b);
}

#[test]
fn ssrc_change_resets_cleanly_and_ignores_the_old_source() {
    let mut b = jb();
    let mut arrivals = stream(50, 100, 1000, |_| 0);
    // A new source takes over at 1 s with unrelated numbers; one straggler of the old arrives.
    arrivals.extend(
        (0..50u16).map(|i| {
            (1_000_000 + u64::from(i) * 20_000, datagram(9000 + i, 777_000 + u32::from(i) * 160, 42))
        }),
    );
    arrivals.push((1_100_000, datagram(150, 1000 + 50 * 160, SSRC)));
    let out = run(&mut b, arrivals, 110);
    let played = frames(&out);
    let old: Vec<u16> = played.iter().copied().filter(|&s| s < 9000).collect();
    let new: Vec<u16> = played.iter().copied().filter(|&s| s >= 9000).collect();
    assert_eq!(new, (9000..9050).collect::<Vec<u16>>());
    assert!(old.iter().all(|&s| (100..150).contains(&s)));
    assert_eq!(played, [old.clone(), new].concat());
    let s = b.stats();
    assert_eq!(s.ssrc_changes, 1);
    assert_eq!(s.stale_ssrc, 1);
    assert_eq!(b.ssrc(), Some(42));
    assert_eq!(s.played + s.discarded, 100);
    assert_accounting(&b);
}

#[test]
fn timestamp_jump_resyncs_instead_of_waiting() {
    let mut b = jb();
    let mut arrivals = stream(50, 0, 0, |_| 0);
    // Same SSRC, sequence continues, timestamp jumps 10 minutes ahead.
    arrivals.extend(
        (50..100u16).map(|i| (u64::from(i) * 20_000, datagram(i, 4_800_000 + u32::from(i) * 160, SSRC))),
    );
    let out = run(&mut b, arrivals, 110);
    let played = frames(&out);
    assert!(played.len() >= 97, "{out:?}");
    assert!(played.windows(2).all(|w| w[0] < w[1]));
    assert!(played.contains(&99));
    assert_eq!(b.stats().resyncs, 1);
    assert_accounting(&b);
}

#[test]
fn long_gap_stops_playout_then_restarts() {
    let mut b = jb();
    let mut arrivals = stream(25, 0, 0, |_| 0);
    // 3 s of nothing; the sender's timestamp advanced with its clock.
    arrivals.extend((0..25u16).map(|i| {
        let n = 175 + u32::from(i);
        (u64::from(n) * 20_000, datagram(25 + i, n * 160, SSRC))
    }));
    let out = run(&mut b, arrivals, 210);
    // Some pops between the bursts are Empty: playout stopped rather than concealing forever.
    let gap = &out[30..170];
    assert!(gap.iter().filter(|o| **o == Out::Empty).count() > 50, "{gap:?}");
    assert_eq!(frames(&out), (0..50).collect::<Vec<u16>>());
    assert!(b.stats().resyncs >= 1);
    assert_accounting(&b);
}

#[test]
fn other_payload_types_and_garbage_are_counted_not_played() {
    let mut b = jb();
    let dtmf = RtpPacket::new(101, 1, 0, 99, &[1, 0x0a, 0, 0]).to_vec().unwrap();
    assert_eq!(b.push_datagram(Instant::ZERO, &dtmf), Push::OtherPayloadType);
    assert!(matches!(b.push_datagram(Instant::ZERO, &[0x80, 0]), Push::Malformed(_)));
    assert_eq!(b.pop(Instant::from_millis(100)), Pop::Empty);
    let s = b.stats();
    assert_eq!((s.other_payload_type, s.bad_packets, s.received, s.ssrc_changes), (1, 1, 0, 0));
    assert_eq!(b.ssrc(), None);
}

#[test]
fn depth_grows_fast_on_a_spike_and_shrinks_slowly() {
    let mut b = jb();
    // Steady for 2 s, then a 120 ms delay spike on one packet, an 80 ms one a second later, then
    // steady for 9 s. (Without the first spike, the 80 ms one is dropped as late: see
    // `an_unexpected_spike_is_late`.)
    let arrivals = stream(600, 0, 0, |i| match i {
        100 => 120_000,
        150 => 80_000,
        _ => 0,
    });
    let mut it = {
        let mut a = arrivals;
        a.sort_by_key(|x| x.0);
        a.into_iter().peekable()
    };
    let mut targets = Vec::new();
    let mut played = Vec::new();
    for k in 0..620u64 {
        let t = 10_000 + k * 20_000;
        while let Some((_, d)) = it.next_if(|a| a.0 <= t) {
            b.push_datagram(Instant::from_micros(t), &d);
        }
        if let Out::Seq(s) = pop(&mut b, Instant::from_micros(t)) {
            played.push(s);
        }
        targets.push(b.stats().target_depth_ms);
    }
    assert_eq!(targets[90], 20, "steady stream: minimum depth");
    // Right after the spike packet arrives (2.12 s, pop 106) the target covers it.
    assert!(targets[107] >= 140, "{:?}", &targets[100..110]);
    // One second later it is still high (shrink slowly), ten seconds later back at the minimum.
    assert!(targets[200] >= 80, "{}", targets[200]);
    assert_eq!(targets[610], 20);
    assert!(targets.iter().all(|t| (20..=200).contains(t)));
    // Nothing was played out of order or twice.
    assert!(played.windows(2).all(|w| w[0] < w[1]));
    // The first spike packet came too late; by the second the buffer had learnt, stalled for it
    // (growing the depth during the gap it left) and played it.
    assert!(!played.contains(&100));
    assert!(played.contains(&150));
    assert_eq!(b.stats().late, 1);
    assert_accounting(&b);
}

#[test]
fn adapts_so_a_jittery_stream_plays_without_late_drops() {
    // Uniform 0-60 ms delay (deterministic pseudo-random). After adapting, late drops stop.
    let mut b = jb();
    let mut x = 12345u32;
    let arrivals = stream(1000, 0, 0, |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        u64::from(x % 60_000)
    });
    let out = run(&mut b, arrivals, 1010);
    let s = b.stats();
    assert!(s.late < 20, "{s:?}");
    assert!(s.jitter_ms > 10.0 && s.jitter_ms < 30.0, "{}", s.jitter_ms);
    assert!(s.target_depth_ms >= 60 && s.target_depth_ms <= 200, "{}", s.target_depth_ms);
    assert!(frames(&out).windows(2).all(|w| w[0] < w[1]));
    assert_accounting(&b);
}

#[test]
fn rejects_nonsense_config() {
    let mut c = JitterConfig::new(0, 0);
    assert!(JitterBuffer::new(c).is_err());
    c.clock_rate = 8000;
    c.min_depth_ms = 300;
    assert!(matches!(JitterBuffer::new(c), Err(RtpError::InvalidConfig(_))));
}

#[test]
fn silence_suppression_gap_adds_no_latency() {
    let mut b = jb();
    // 50 packets, 600 ms of silence (DTX: no packets, timestamps keep running, sequence does
    // not skip), then 50 more.
    let mut arrivals = stream(50, 0, 0, |_| 0);
    arrivals.extend((0..50u16).map(|i| {
        let n = 80 + u32::from(i);
        (u64::from(n) * 20_000, datagram(50 + i, n * 160, SSRC))
    }));
    let mut it = arrivals.into_iter().peekable();
    let mut first_pop_of = std::collections::HashMap::new();
    for k in 0..140u64 {
        let t = 10_000 + k * 20_000;
        while let Some((_, d)) = it.next_if(|a| a.0 <= t) {
            b.push_datagram(Instant::from_micros(t), &d);
        }
        if let Out::Seq(s) = pop(&mut b, Instant::from_micros(t)) {
            first_pop_of.insert(s, k);
        }
    }
    assert_eq!(first_pop_of.len(), 100);
    // Packet n is sent at n * 20 ms. The playout point jumped over the silence instead of
    // stretching it: the delay from send to play after the gap is no longer than before (it is
    // shorter: the talkspurt start re-anchors at the target depth, below the initial 40 ms).
    let delay = |seq: u16, n: u64| first_pop_of[&seq] as i64 - n as i64;
    assert_eq!(delay(49, 49), 2);
    assert_eq!(delay(50, 80), delay(99, 129));
    assert!((0..=2).contains(&delay(99, 129)), "{}", delay(99, 129));
    assert_eq!(b.stats().resyncs, 0);
    assert_eq!(b.stats().lost, 0);
    assert_accounting(&b);
}

#[test]
fn an_unexpected_spike_is_late() {
    let mut b = jb();
    let out = run(&mut b, stream(300, 0, 0, |i| if i == 150 { 80_000 } else { 0 }), 310);
    assert!(!frames(&out).contains(&150));
    assert_eq!(b.stats().late, 1);
    // ...and teaches the buffer: the target now covers a spike like it.
    assert!(b.stats().target_depth_ms >= 60, "{}", b.stats().target_depth_ms);
}
