//! The crate's one error type.

/// Everything that can go wrong in `frontdesk-rtp`: a datagram that is not a valid RTP packet, a
/// payload that is not a valid telephone-event, or a packet that cannot be serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the part of the packet being read needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The part being read (`"fixed header"`, `"CSRC list"`, `"header extension"`...).
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The version field is not 2.
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// The padding count is zero or larger than the payload it pads.
    #[error("bad padding: count {count} with {available} bytes after the header")]
    BadPadding {
        /// The last byte of the packet.
        count: u8,
        /// Bytes after the header (payload and padding).
        available: usize,
    },
    /// A value does not fit its wire field (`"payload type"`, `"CSRC count"`, ...).
    #[error("{what} {value} does not fit its field (max {max})")]
    FieldOverflow {
        /// The field.
        what: &'static str,
        /// The value given.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
    /// Header-extension data whose length is not a multiple of 4 bytes (RFC 3550 section 5.3.1).
    #[error("header extension of {0} bytes is not a multiple of 4")]
    UnalignedExtension(usize),
    /// An RFC 8285 extension element id outside the range its form allows.
    #[error("header extension element id {id} invalid for the {form} form")]
    BadExtensionId {
        /// The id.
        id: u8,
        /// `"one-byte"` or `"two-byte"`.
        form: &'static str,
    },
    /// A jitter-buffer or DTMF configuration value that makes no sense (zero clock rate...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}
