//! A sans-IO adaptive jitter buffer for one audio stream (one payload type and clock rate).
//!
//! # Contract
//!
//! The caller feeds every received packet with [`JitterBuffer::push`] (or raw datagrams with
//! [`JitterBuffer::push_datagram`]) and calls [`JitterBuffer::pop`] once per frame on its own
//! 20 ms playout schedule, passing `now` both times. Each pop answers exactly one frame slot:
//! [`Pop::Frame`] (decode it), [`Pop::Lost`] (conceal one frame: the decoder's PLC) or
//! [`Pop::Empty`] (not playing: nothing received yet, still filling, or stopped after a long
//! gap; play silence). The buffer never reads a clock and never allocates after warm-up: frames
//! are copied into a ring of reusable slots, and a popped frame borrows its slot until the next
//! call.
//!
//! # Timeline
//!
//! The first packet of a stream anchors a timeline: slot `n` holds the frame whose RTP timestamp
//! is `n` frames after the anchor (timestamps unwrapped to 64 bits, so the 32-bit wrap is
//! invisible; sequence numbers likewise). Playout starts `initial_depth_ms` after the first
//! arrival and then advances one slot per pop. A packet whose slot was already played is *late*
//! (or a *duplicate*, if that slot was played from an earlier copy); a packet for a slot already
//! buffered is a duplicate. Arrival order does not matter: slots reorder packets.
//!
//! # Adaptive depth
//!
//! The *level* at a pop is the span from the playout slot to the newest buffered slot. The
//! target depth follows the RFC 3550 jitter estimate and a fast-attack, slow-decay peak of the
//! transit-time changes (see the estimator module), clamped to 20..200 ms. Depth changes happen
//! only where they cannot be heard, or rarely:
//! - grow: when the frame due is missing and the level is at or below target, the buffer
//!   *stalls* (answers `Lost` without advancing), waiting one more frame for the late packet;
//! - shrink: when the frame due is missing and the level is above target, the playout point
//!   jumps over the hole (no concealment frame at all); when frames keep the level more than two
//!   frames above target for 500 ms, one frame is dropped (at most one per 500 ms).
//!
//! # Restarts
//!
//! A new SSRC flushes the buffer and starts a new timeline (counted in `ssrc_changes`; stray
//! packets of the previous SSRC are then ignored). A packet `resync_ms` ahead of the playout
//! point (a timestamp jump), or three in a row that far behind, restart the timeline
//! (`resyncs`). After `idle_reset_ms` with nothing buffered, playout stops and the next packet
//! starts a new timeline rather than waiting forever.

mod config;
mod estimator;

pub use config::{JitterConfig, JitterStats};

use crate::RtpError;
use crate::packet::RtpPacket;
use crate::seq::{SeqUnwrapper, TimestampUnwrapper};
use estimator::Estimator;
use frontdesk_types::Instant;
use std::time::Duration;

/// Frames above target the level may be without shrinking: the level at a pop counts the frame
/// being played and varies by one with the phase of pops against arrivals.
const SHRINK_MARGIN: i64 = 2;
/// Pops with the level above target + margin before one frame is dropped to shrink.
const SHRINK_AFTER_POPS: u32 = 25;
/// Consecutive far-behind packets that restart the timeline.
const FAR_BEHIND_RESTART: u8 = 3;

/// A frame handed to the decoder; borrows the buffer until the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The RTP payload.
    pub payload: &'a [u8],
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Its RTP sequence number.
    pub sequence: u16,
    /// Its marker bit (talkspurt start).
    pub marker: bool,
}

/// What one pop plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pop<'a> {
    /// Not playing (nothing yet, filling, or stopped after a gap): play silence.
    Empty,
    /// The frame due is missing: conceal one frame.
    Lost,
    /// The frame due.
    Frame(Frame<'a>),
}

/// What became of a pushed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Push {
    /// Buffered for playout.
    Buffered,
    /// Buffered as the first packet of a new timeline (first packet, new SSRC, resync, or after
    /// an idle gap).
    Started,
    /// Its slot was already played: dropped.
    Late,
    /// Already buffered or played: dropped.
    Duplicate,
    /// Another payload type: ignored.
    OtherPayloadType,
    /// From the SSRC before the last change: ignored.
    StaleSsrc,
    /// Not a valid RTP packet: dropped.
    Malformed(RtpError),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EntryState {
    #[default]
    Empty,
    Buffered,
    Played,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    slot: i64,
    state: EntryState,
    timestamp: u32,
    sequence: u16,
    marker: bool,
    payload: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Priming { start_at: Instant },
    Playing,
}

/// Loss accounting of one timeline (RFC 3550 section 6.4.1 "cumulative number of packets lost").
#[derive(Clone, Copy, Debug)]
struct Epoch {
    first_seq: i64,
    highest_seq: i64,
    unique: u64,
}

impl Epoch {
    fn lost(&self) -> u64 {
        let expected = self.highest_seq - self.first_seq + 1;
        u64::try_from(expected).unwrap_or(0).saturating_sub(self.unique)
    }
}

/// What a pop decided, before borrowing the frame.
enum Action {
    Empty,
    Lost,
    Play(usize),
}

/// The adaptive jitter buffer. See the module documentation for the contract.
#[derive(Clone, Debug)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    /// Samples (timestamp units) per frame.
    spf: i64,
    /// Slots ahead of the playout point a packet may be before it restarts the timeline.
    ahead_slots: i64,
    /// Ring of `2 * ahead_slots` entries; slot `s` lives at `s mod len`.
    ring: Vec<Entry>,
    phase: Phase,
    ssrc: Option<u32>,
    prev_ssrc: Option<u32>,
    seq: SeqUnwrapper,
    ts: TimestampUnwrapper,
    base_ts: i64,
    next_slot: i64,
    highest_slot: i64,
    underrun_since: Option<Instant>,
    far_behind_run: u8,
    over_target_pops: u32,
    /// Consecutive stalls waiting for one missing frame.
    stalls: i64,
    est: Estimator,
    epoch: Option<Epoch>,
    lost_before: u64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for one payload type; fails on a configuration that makes no sense.
    pub fn new(cfg: JitterConfig) -> Result<Self, RtpError> {
        cfg.validate()?;
        let spf = i64::from(cfg.clock_rate) * i64::from(cfg.frame_ms) / 1000;
        let ahead_slots = i64::from(cfg.resync_ms.div_ceil(cfg.frame_ms));
        // resync_ms <= 60000 and frame_ms >= 1 (validated), so this is at most 120000 entries.
        let ring = vec![Entry::default(); (2 * ahead_slots) as usize];
        Ok(JitterBuffer {
            cfg,
            spf,
            ahead_slots,
            ring,
            phase: Phase::Idle,
            ssrc: None,
            prev_ssrc: None,
            seq: SeqUnwrapper::new(),
            ts: TimestampUnwrapper::new(),
            base_ts: 0,
            next_slot: 0,
            highest_slot: 0,
            underrun_since: None,
            far_behind_run: 0,
            over_target_pops: 0,
            stalls: 0,
            est: Estimator::new(cfg.clock_rate),
            epoch: None,
            lost_before: 0,
            stats: JitterStats { target_depth_ms: cfg.initial_depth_ms, ..JitterStats::default() },
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &JitterConfig {
        &self.cfg
    }

    /// The SSRC being played, once a packet arrived.
    pub const fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// The counters (see [`JitterStats`]).
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            lost: self.lost_before + self.epoch.map_or(0, |e| e.lost()),
            jitter_ms: self.est.jitter_ms(),
            ..self.stats
        }
    }

    /// Parses and pushes a datagram; an invalid one is counted in `bad_packets`.
    pub fn push_datagram(&mut self, now: Instant, datagram: &[u8]) -> Push {
        match RtpPacket::parse(datagram) {
            Ok(p) => self.push(now, &p),
            Err(e) => {
                self.stats.bad_packets += 1;
                Push::Malformed(e)
            }
        }
    }

    /// Pushes a received packet.
    pub fn push(&mut self, now: Instant, pkt: &RtpPacket<'_>) -> Push {
        if pkt.payload_type != self.cfg.payload_type {
            self.stats.other_payload_type += 1;
            return Push::OtherPayloadType;
        }
        match self.ssrc {
            Some(s) if s == pkt.ssrc => {}
            None => self.ssrc = Some(pkt.ssrc),
            Some(s) => {
                if self.prev_ssrc == Some(pkt.ssrc) {
                    self.stats.stale_ssrc += 1;
                    return Push::StaleSsrc;
                }
                self.stats.ssrc_changes += 1;
                self.prev_ssrc = Some(s);
                self.ssrc = Some(pkt.ssrc);
                self.flush();
            }
        }
        self.stats.received += 1;
        if self.phase == Phase::Idle {
            return self.start_timeline(now, pkt);
        }

        let ext_seq = self.seq.peek(pkt.sequence);
        let ext_ts = self.ts.peek(pkt.timestamp);
        let slot = self.slot_of(ext_ts);
        let i = self.index(slot);
        // `index` reduces modulo the ring length, so indexing cannot go out of bounds.
        if self.ring[i].slot == slot && self.ring[i].state != EntryState::Empty {
            self.stats.duplicates += 1;
            return Push::Duplicate;
        }
        if slot - self.next_slot >= self.ahead_slots {
            return self.restart(now, pkt);
        }
        if slot < self.next_slot {
            let priming = matches!(self.phase, Phase::Priming { .. });
            if !(priming && self.highest_slot - slot < self.ahead_slots) {
                self.account(now, pkt, ext_seq, ext_ts);
                self.stats.late += 1;
                if self.next_slot - slot >= self.ahead_slots {
                    self.far_behind_run += 1;
                    if self.far_behind_run >= FAR_BEHIND_RESTART {
                        // This packet was counted late; it starts the new timeline instead.
                        self.stats.late -= 1;
                        return self.restart(now, pkt);
                    }
                } else {
                    self.far_behind_run = 0;
                }
                return Push::Late;
            }
            // Still filling: play from the earlier packet.
            self.next_slot = slot;
        }
        self.far_behind_run = 0;
        self.account(now, pkt, ext_seq, ext_ts);
        self.insert(slot, pkt);
        Push::Buffered
    }

    /// Plays one frame slot; call once per frame duration.
    pub fn pop(&mut self, now: Instant) -> Pop<'_> {
        match self.decide(now) {
            Action::Empty => Pop::Empty,
            Action::Lost => {
                self.stats.concealed += 1;
                Pop::Lost
            }
            Action::Play(i) => {
                // `decide` returns an index produced by `index`, in bounds.
                let e = &mut self.ring[i];
                e.state = EntryState::Played;
                self.stats.played += 1;
                self.stats.buffered -= 1;
                self.next_slot += 1;
                Pop::Frame(Frame {
                    payload: &e.payload,
                    timestamp: e.timestamp,
                    sequence: e.sequence,
                    marker: e.marker,
                })
            }
        }
    }

    fn decide(&mut self, now: Instant) -> Action {
        match self.phase {
            Phase::Idle => return Action::Empty,
            Phase::Priming { start_at } if now < start_at => return Action::Empty,
            Phase::Priming { .. } => self.phase = Phase::Playing,
            Phase::Playing => {}
        }
        let target = self.target_slots();
        self.stats.target_depth_ms =
            u32::try_from(target).unwrap_or(u32::MAX).saturating_mul(self.cfg.frame_ms);
        let level = (self.highest_slot + 1 - self.next_slot).max(0);
        self.stats.depth_ms = u32::try_from(level).unwrap_or(u32::MAX).saturating_mul(self.cfg.frame_ms);

        if self.stats.buffered == 0 {
            let since = *self.underrun_since.get_or_insert(now);
            if now - since >= Duration::from_millis(u64::from(self.cfg.idle_reset_ms)) {
                self.phase = Phase::Idle;
                self.stats.resyncs += 1;
                self.stats.depth_ms = 0;
                return Action::Empty;
            }
            // Stall: the stream may resume, and waiting grows the depth.
            return Action::Lost;
        }
        self.underrun_since = None;

        let i = self.index(self.next_slot);
        if !self.is_buffered(i, self.next_slot) {
            self.over_target_pops = 0;
            if level <= target && self.stalls < target {
                // Grow: wait one more frame for the missing packet (at most `target` frames, so
                // a packet that never comes cannot hold the frames after it forever).
                self.stalls += 1;
                return Action::Lost;
            }
            self.stalls = 0;
            // Shrink over the hole, never past a buffered frame nor (unless done waiting)
            // below target.
            let first = self.first_buffered_after(self.next_slot);
            let to = first.min((self.highest_slot + 1 - target).max(self.next_slot + 1));
            self.next_slot = to;
            let j = self.index(to);
            if self.is_buffered(j, to) {
                return Action::Play(j);
            }
            self.next_slot += 1;
            return Action::Lost;
        }

        self.stalls = 0;
        if level > target + SHRINK_MARGIN {
            self.over_target_pops += 1;
        } else {
            self.over_target_pops = 0;
        }
        if self.over_target_pops >= SHRINK_AFTER_POPS {
            self.over_target_pops = 0;
            // Drop this frame to shrink by one; level > target + 2 >= 3 keeps frames after it.
            self.ring[i].state = EntryState::Empty;
            self.stats.buffered -= 1;
            self.stats.discarded += 1;
            self.next_slot += 1;
            let j = self.index(self.next_slot);
            if self.is_buffered(j, self.next_slot) {
                return Action::Play(j);
            }
            self.next_slot += 1;
            return Action::Lost;
        }
        Action::Play(i)
    }

    fn target_slots(&self) -> i64 {
        let frame = f64::from(self.cfg.frame_ms);
        // Whole frames, with a quarter frame of slack so a decayed envelope of a few ms does
        // not hold a whole extra frame; plus the frame being played.
        let needed = (self.est.needed_ms() / frame - 0.25).ceil().max(0.0) as i64 + 1;
        let min = i64::from(self.cfg.min_depth_ms.div_ceil(self.cfg.frame_ms));
        let max = i64::from(self.cfg.max_depth_ms / self.cfg.frame_ms).max(min);
        needed.clamp(min, max)
    }

    fn slot_of(&self, ext_ts: i64) -> i64 {
        (ext_ts - self.base_ts + self.spf / 2).div_euclid(self.spf)
    }

    fn index(&self, slot: i64) -> usize {
        // The ring is non-empty (ahead_slots >= 1), and rem_euclid is in 0..len.
        slot.rem_euclid(self.ring.len() as i64) as usize
    }

    fn is_buffered(&self, i: usize, slot: i64) -> bool {
        self.ring.get(i).is_some_and(|e| e.slot == slot && e.state == EntryState::Buffered)
    }

    /// The first buffered slot after `slot` (exists: the caller checked `buffered > 0` and every
    /// buffered slot is within `ahead_slots` of the playout point).
    fn first_buffered_after(&self, slot: i64) -> i64 {
        (slot + 1..=self.highest_slot)
            .find(|&s| self.is_buffered(self.index(s), s))
            .unwrap_or(self.highest_slot)
    }

    /// Commits the unwrapped numbers and updates loss, reorder and jitter accounting.
    fn account(&mut self, now: Instant, pkt: &RtpPacket<'_>, ext_seq: i64, ext_ts: i64) {
        self.seq.unwrap(pkt.sequence);
        self.ts.unwrap(pkt.timestamp);
        if let Some(e) = &mut self.epoch {
            if ext_seq < e.highest_seq {
                self.stats.reordered += 1;
            }
            e.first_seq = e.first_seq.min(ext_seq);
            e.highest_seq = e.highest_seq.max(ext_seq);
            e.unique += 1;
        }
        self.est.on_packet(now, ext_ts);
    }

    fn insert(&mut self, slot: i64, pkt: &RtpPacket<'_>) {
        let i = self.index(slot);
        let e = &mut self.ring[i];
        e.slot = slot;
        e.state = EntryState::Buffered;
        e.timestamp = pkt.timestamp;
        e.sequence = pkt.sequence;
        e.marker = pkt.marker;
        e.payload.clear();
        e.payload.extend_from_slice(pkt.payload);
        self.stats.buffered += 1;
        self.highest_slot = self.highest_slot.max(slot);
    }

    fn restart(&mut self, now: Instant, pkt: &RtpPacket<'_>) -> Push {
        self.stats.resyncs += 1;
        self.start_timeline(now, pkt)
    }

    /// Drops everything buffered and closes the timeline's loss accounting.
    fn flush(&mut self) {
        for e in &mut self.ring {
            if e.state == EntryState::Buffered {
                self.stats.discarded += 1;
            }
            e.state = EntryState::Empty;
        }
        self.stats.buffered = 0;
        self.lost_before += self.epoch.take().map_or(0, |e| e.lost());
        self.phase = Phase::Idle;
    }

    /// Starts a new timeline with `pkt` (already counted in `received`).
    fn start_timeline(&mut self, now: Instant, pkt: &RtpPacket<'_>) -> Push {
        // Also clears played entries, so the new timeline's slots cannot match old ones.
        self.flush();
        self.seq = SeqUnwrapper::new();
        self.ts = TimestampUnwrapper::new();
        let ext_seq = self.seq.unwrap(pkt.sequence);
        let ext_ts = self.ts.unwrap(pkt.timestamp);
        self.base_ts = ext_ts;
        self.next_slot = 0;
        self.highest_slot = 0;
        self.far_behind_run = 0;
        self.over_target_pops = 0;
        self.stalls = 0;
        self.underrun_since = None;
        self.est.restart();
        self.est.on_packet(now, ext_ts);
        self.epoch = Some(Epoch { first_seq: ext_seq, highest_seq: ext_seq, unique: 1 });
        self.phase =
            Phase::Priming { start_at: now + Duration::from_millis(u64::from(self.cfg.initial_depth_ms)) };
        self.insert(0, pkt);
        Push::Started
    }
}

#[cfg(test)]
mod tests;
