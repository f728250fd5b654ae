//! frontdesk-sip: a sans-IO SIP user agent core (RFC 3261, 3264, 3515, 3581, 6026, 7616).
//!
//! No sockets, no clock, no async runtime: a thin shell feeds datagrams and the time in and
//! sends what comes out. Layers, bottom up:
//! - [`message`]: SIP message parsing and serialisation (our own parser; why is in its doc),
//!   typed views of the headers the core reads, TCP stream framing.
//! - [`sdp`]: SDP parse/serialise and RFC 3264 offer/answer for PCMU, PCMA, Opus and
//!   telephone-event, with direction attributes for hold/unhold.
//! - [`auth`]: digest authentication (MD5, SHA-256 and their -sess forms, qop=auth).
//! - [`transaction`]: RFC 3261 section 17 client and server transactions, timers A-M on a
//!   passed-in clock.
//! - [`endpoint`]: the user agent: incoming and outgoing calls (dialogs), CANCEL, re-INVITE,
//!   REFER with NOTIFY, REGISTER with refresh, SIP INFO DTMF; the API the shell drives.
//!
//! # Driving it
//! `handle_*` in, `poll_*` out; after every input drain [`Endpoint::poll_transmit`] and
//! [`Endpoint::poll_event`] until `None`, then sleep until [`Endpoint::poll_timeout`]:
//!
//! ```
//! use frontdesk_sip::{Config, Endpoint, Event, LocalMedia};
//! use frontdesk_types::Instant;
//!
//! let mut ua = Endpoint::new(Config::new("192.0.2.1:5060".parse().unwrap()));
//! let invite = b"INVITE sip:ivr@192.0.2.1 SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1;rport\r\n\
//! From: <sip:caller@192.0.2.9>;tag=a1\r\n\
//! To: <sip:ivr@192.0.2.1>\r\n\
//! Call-ID: doc-1\r\n\
//! CSeq: 1 INVITE\r\n\
//! Contact: <sip:caller@192.0.2.9>\r\n\
//! Content-Type: application/sdp\r\n\
//! Content-Length: 87\r\n\
//! \r\n\
//! v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
//! let now = Instant::from_millis(0);
//! ua.handle_datagram(now, "192.0.2.9:5060".parse().unwrap(), invite).unwrap();
//! let trying = ua.poll_transmit().unwrap(); // 100 Trying, back to the source address
//! assert!(trying.payload.starts_with(b"SIP/2.0 100 Trying"));
//! let Some(Event::IncomingCall { call, .. }) = ua.poll_event() else { panic!() };
//!
//! let media = ua.answer(now, call, LocalMedia::new("192.0.2.1".parse().unwrap(), 40000)).unwrap();
//! assert_eq!(media.unwrap().remote, Some("192.0.2.9:7000".parse().unwrap())); // send RTP here
//! let ok = ua.poll_transmit().unwrap();
//! assert!(ok.payload.starts_with(b"SIP/2.0 200 OK"));
//! // No ACK yet: the 200 is retransmitted at T1 = 500 ms.
//! assert_eq!(ua.poll_timeout(), Some(Instant::from_millis(500)));
//! ```

mod error;
mod rng;

pub mod auth;
pub mod endpoint;
pub mod message;
pub mod sdp;
pub mod transaction;

pub use endpoint::{
    CallHandle, Config, DigestCredentials, EndReason, Endpoint, Event, InviteParams, RegisterParams,
    RegistrationHandle, RegistrationState,
};
pub use error::Error;
pub use sdp::{Codec, Direction, LocalMedia, Negotiated, SessionDescription};
pub use transaction::{Timers, Transmit, Transport};

#[cfg(test)]
mod tests {
    #[test]
    fn the_endpoint_can_move_to_a_task() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<super::Endpoint>();
        assert_send::<super::Event>();
    }
}
