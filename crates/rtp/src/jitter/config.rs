//! Jitter-buffer configuration and statistics.

use crate::RtpError;

/// Jitter-buffer settings. [`JitterConfig::new`] gives the defaults; change fields as needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitterConfig {
    /// The one payload type this buffer plays; other payload types are counted and ignored.
    pub payload_type: u8,
    /// RTP clock rate of that payload type (8000 for G.711, 48000 for Opus).
    pub clock_rate: u32,
    /// Frame (packet) duration: one pop plays one frame. Default 20 ms.
    pub frame_ms: u32,
    /// Smallest adaptive depth. Default 20 ms.
    pub min_depth_ms: u32,
    /// Largest adaptive depth. Default 200 ms.
    pub max_depth_ms: u32,
    /// Delay between the first packet's arrival and the first frame played. Default 40 ms.
    pub initial_depth_ms: u32,
    /// A packet this far ahead of the playout point restarts the timeline (a timestamp jump);
    /// three in a row this far behind do too. Default 2000 ms.
    pub resync_ms: u32,
    /// After this long with nothing buffered, playout stops ([`Pop::Empty`](super::Pop::Empty))
    /// and the next packet starts a new timeline. Default 1000 ms.
    pub idle_reset_ms: u32,
}

impl JitterConfig {
    /// Defaults for one payload type and clock rate.
    pub const fn new(payload_type: u8, clock_rate: u32) -> Self {
        JitterConfig {
            payload_type,
            clock_rate,
            frame_ms: 20,
            min_depth_ms: 20,
            max_depth_ms: 200,
            initial_depth_ms: 40,
            resync_ms: 2000,
            idle_reset_ms: 1000,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), RtpError> {
        let bad = |m| Err(RtpError::InvalidConfig(m));
        if self.clock_rate == 0 || self.clock_rate > 1_000_000 {
            return bad("clock rate must be 1..=1000000 Hz");
        }
        if self.frame_ms == 0 || self.frame_ms > 1000 {
            return bad("frame duration must be 1..=1000 ms");
        }
        if u64::from(self.clock_rate) * u64::from(self.frame_ms) < 1000 {
            return bad("a frame must hold at least one clock tick");
        }
        if self.min_depth_ms < self.frame_ms || self.min_depth_ms > self.max_depth_ms {
            return bad("need frame_ms <= min_depth_ms <= max_depth_ms");
        }
        if self.resync_ms < self.max_depth_ms.saturating_add(self.idle_reset_ms) || self.resync_ms > 60_000 {
            return bad("need max_depth_ms + idle_reset_ms <= resync_ms <= 60000");
        }
        Ok(())
    }
}

/// Per-stream counters. Every packet of the configured payload type and current SSRC is counted
/// once in `received`, and ends up in exactly one of `played`, `late`, `duplicates`, `discarded`
/// or the buffer, so `received == played + late + duplicates + discarded + buffered` always holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JitterStats {
    /// Packets accepted for this stream (right payload type and SSRC).
    pub received: u64,
    /// Frames returned by `pop` as [`Pop::Frame`](super::Pop::Frame).
    pub played: u64,
    /// Packets lost in the network: expected from the sequence numbers minus received
    /// (RFC 3550 cumulative loss, summed over SSRCs and timelines).
    pub lost: u64,
    /// `pop` calls answered [`Pop::Lost`](super::Pop::Lost): frames the decoder concealed.
    pub concealed: u64,
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Packets received twice (already buffered or already played).
    pub duplicates: u64,
    /// Packets that arrived after a packet with a higher sequence number.
    pub reordered: u64,
    /// Packets buffered then dropped: flushed by an SSRC change or resync, or skipped to shrink
    /// the depth.
    pub discarded: u64,
    /// Packets in the buffer now.
    pub buffered: u64,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Frames buffered at the last pop, in milliseconds.
    pub depth_ms: u32,
    /// Depth the buffer adapts towards, in milliseconds.
    pub target_depth_ms: u32,
    /// Times a new SSRC replaced the stream's.
    pub ssrc_changes: u64,
    /// Timeline restarts: timestamp jumps and restarts after an idle gap.
    pub resyncs: u64,
    /// Datagrams that were not valid RTP (only via `push_datagram`).
    pub bad_packets: u64,
    /// Packets of another payload type (telephone-events, comfort noise), ignored.
    pub other_payload_type: u64,
    /// Packets from the SSRC the stream had before its last SSRC change, ignored.
    pub stale_ssrc: u64,
}
