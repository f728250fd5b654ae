//! RFC 4733 telephone-events (DTMF over RTP): the 4-byte payload, a receiver that turns packets
//! into one digit per key press, and a generator of the packets for sending one.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! One key press is one *event*, identified by its SSRC and RTP timestamp (the start of the
//! press); the sender repeats it with a growing duration and marks the last report with the E bit,
//! sent three times. See [`DtmfReceiver`] and [`DtmfSender`].

mod receiver;
mod sender;

pub use receiver::{CompletedEvent, DtmfEvent, DtmfReceiver, DtmfStats, EndReason};
pub use sender::{DtmfSender, DtmfSenderConfig};

use crate::RtpError;
use frontdesk_types::Digit;

/// One telephone-event report (RFC 4733 section 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code: 0-9, 10 `*`, 11 `#`, 12-15 A-D, 16 flash, others per the IANA registry.
    pub event: u8,
    /// The E bit: this report ends the event.
    pub end: bool,
    /// Power level in -dBm0, 0-63 (6 bits; higher bits are dropped when writing).
    pub volume: u8,
    /// Duration so far, in RTP clock units (samples), from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Bytes of one report.
    pub const LEN: usize = 4;

    /// Parses the first report of a payload (a payload carries one report unless RFC 2198
    /// redundancy is negotiated, which this crate does not do; extra bytes are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, RtpError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(RtpError::Truncated {
                what: "telephone-event",
                need: Self::LEN,
                have: payload.len(),
            });
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The wire form.
    pub fn to_bytes(&self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | (self.volume & 0x3f), d0, d1]
    }

    /// The DTMF key, for event codes 0-15.
    pub fn digit(&self) -> Option<Digit> {
        Digit::from_event(self.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_names_short_input() {
        let e = TelephoneEvent::parse(&[11, 0x8a, 0x03, 0x20, 0xff]).unwrap();
        assert_eq!(e, TelephoneEvent { event: 11, end: true, volume: 10, duration: 800 });
        assert_eq!(e.digit().map(|d| d.as_char()), Some('#'));
        assert_eq!(e.to_bytes(), [11, 0x8a, 0x03, 0x20]);
        // The reserved bit is ignored on receive.
        assert_eq!(TelephoneEvent::parse(&[1, 0x4a, 0, 0]).unwrap().volume, 10);
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(RtpError::Truncated { what: "telephone-event", need: 4, have: 3 })
        );
        assert_eq!(TelephoneEvent { event: 16, end: false, volume: 0, duration: 0 }.digit(), None);
    }
}
