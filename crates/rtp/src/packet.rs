//! RTP packets (RFC 3550 section 5.1): zero-copy parse and allocation-free serialize.
//!
//! [`RtpPacket::parse`] borrows the datagram: the CSRC list, the header extension and the payload
//! are slices of it, so parsing copies nothing and allocates nothing. Every length is checked
//! before it is used; a bad datagram is an [`RtpError`] naming the problem, never a panic.
//!
//! [`RtpPacket::write_to`] appends the wire form to a caller-owned `Vec<u8>` (reuse one buffer per
//! stream and sending allocates nothing). A packet to send is built with [`RtpPacket::new`] and the
//! `with_*` methods; its CSRC list may come from `&[u32]` ids or from wire bytes of a parsed packet,
//! so forwarding a packet re-serializes it byte for byte (except padding content, which RFC 3550
//! leaves undefined: it is written as zeros, followed by the count).

use crate::RtpError;
use crate::extension::HeaderExtension;

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;
/// The only RTP version (RFC 3550).
pub const RTP_VERSION: u8 = 2;
/// Largest CSRC count the 4-bit CC field holds.
pub const MAX_CSRCS: usize = 15;

/// The CSRC list, either as wire bytes (parsed) or as ids (built).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Csrcs<'a> {
    /// Big-endian u32s; the length is a multiple of 4 (checked by the parser).
    Wire(&'a [u8]),
    Ids(&'a [u32]),
}

/// One RTP packet borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit (first packet of a talkspurt, first packet of a telephone-event).
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp in clock-rate units.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    csrcs: Csrcs<'a>,
    /// The header extension, if the X bit is set.
    pub extension: Option<HeaderExtension<'a>>,
    /// The payload (padding removed).
    pub payload: &'a [u8],
    /// Padding bytes after the payload, including the count byte itself; 0 means no padding.
    pub padding: u8,
}

/// Reads a big-endian u16 at `at`; the caller checked the bounds.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a big-endian u32 at `at`.
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> RtpPacket<'a> {
    /// A packet with no CSRCs, no extension and no padding.
    pub const fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: &'a [u8]) -> Self {
        RtpPacket {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Csrcs::Ids(&[]),
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// Sets the marker bit.
    #[must_use]
    pub const fn with_marker(mut self, marker: bool) -> Self {
        self.marker = marker;
        self
    }

    /// Sets the CSRC list (at most 15, checked when writing).
    #[must_use]
    pub const fn with_csrcs(mut self, csrcs: &'a [u32]) -> Self {
        self.csrcs = Csrcs::Ids(csrcs);
        self
    }

    /// Sets the header extension.
    #[must_use]
    pub const fn with_extension(mut self, extension: HeaderExtension<'a>) -> Self {
        self.extension = Some(extension);
        self
    }

    /// Pads the packet with `padding` bytes (including the count byte); 0 removes padding.
    #[must_use]
    pub const fn with_padding(mut self, padding: u8) -> Self {
        self.padding = padding;
        self
    }

    /// Parses a datagram. Borrows it; allocates nothing.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let truncated = |what, need, have| RtpError::Truncated { what, need, have };
        let Some(fixed) = buf.get(..FIXED_HEADER_LEN) else {
            return Err(truncated("fixed header", FIXED_HEADER_LEN, buf.len()));
        };
        let b0 = fixed[0];
        let b1 = fixed[1];
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let cc = usize::from(b0 & 0x0f);
        let marker = b1 & 0x80 != 0;
        let payload_type = b1 & 0x7f;
        let sequence = u16::from_be_bytes([fixed[2], fixed[3]]);
        let timestamp = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let ssrc = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);

        let mut at = FIXED_HEADER_LEN;
        let csrc_end = at + cc * 4;
        let csrc_bytes = buf.get(at..csrc_end).ok_or(truncated("CSRC list", csrc_end, buf.len()))?;
        at = csrc_end;

        let extension = if has_extension {
            let (profile, words) = match (be16(buf, at), be16(buf, at + 2)) {
                (Some(p), Some(w)) => (p, w),
                _ => return Err(truncated("header extension", at + 4, buf.len())),
            };
            let start = at + 4;
            let end = start + usize::from(words) * 4;
            let data = buf.get(start..end).ok_or(truncated("header extension", end, buf.len()))?;
            at = end;
            Some(HeaderExtension { profile, data })
        } else {
            None
        };

        let rest = buf.get(at..).unwrap_or_default();
        let (payload, padding) = if has_padding {
            let count = rest.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > rest.len() {
                return Err(RtpError::BadPadding { count, available: rest.len() });
            }
            (rest.get(..rest.len() - usize::from(count)).unwrap_or_default(), count)
        } else {
            (rest, 0)
        };

        Ok(RtpPacket {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Csrcs::Wire(csrc_bytes),
            extension,
            payload,
            padding,
        })
    }

    /// Number of CSRCs.
    pub fn csrc_count(&self) -> usize {
        match self.csrcs {
            Csrcs::Wire(b) => b.len() / 4,
            Csrcs::Ids(ids) => ids.len(),
        }
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let (wire, ids): (&'a [u8], &'a [u32]) = match self.csrcs {
            Csrcs::Wire(b) => (b, &[]),
            Csrcs::Ids(ids) => (&[], ids),
        };
        wire.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).chain(ids.iter().copied())
    }

    /// Bytes [`write_to`](Self::write_to) appends.
    pub fn wire_len(&self) -> usize {
        let ext = self.extension.map_or(0, |e| 4 + e.data.len());
        FIXED_HEADER_LEN + self.csrc_count() * 4 + ext + self.payload.len() + usize::from(self.padding)
    }

    /// Appends the wire form to `out` and returns the bytes written. Checks every field first, so
    /// on error `out` is unchanged.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<usize, RtpError> {
        if self.payload_type > 0x7f {
            return Err(RtpError::FieldOverflow {
                what: "payload type",
                value: usize::from(self.payload_type),
                max: 0x7f,
            });
        }
        let cc = self.csrc_count();
        if cc > MAX_CSRCS {
            return Err(RtpError::FieldOverflow { what: "CSRC count", value: cc, max: MAX_CSRCS });
        }
        if let Some(ext) = self.extension {
            if !ext.data.len().is_multiple_of(4) {
                return Err(RtpError::UnalignedExtension(ext.data.len()));
            }
            if ext.data.len() / 4 > usize::from(u16::MAX) {
                return Err(RtpError::FieldOverflow {
                    what: "header extension words",
                    value: ext.data.len() / 4,
                    max: usize::from(u16::MAX),
                });
            }
        }
        let len = self.wire_len();
        out.reserve(len);
        // cc <= 15 checked above, so the cast keeps every bit.
        let b0 = (RTP_VERSION << 6)
            | (u8::from(self.padding > 0) << 5)
            | (u8::from(self.extension.is_some()) << 4)
            | cc as u8;
        let [s0, s1] = self.sequence.to_be_bytes();
        let [t0, t1, t2, t3] = self.timestamp.to_be_bytes();
        let [c0, c1, c2, c3] = self.ssrc.to_be_bytes();
        let b1 = (u8::from(self.marker) << 7) | self.payload_type;
        out.extend_from_slice(&[b0, b1, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3]);
        match self.csrcs {
            Csrcs::Wire(b) => out.extend_from_slice(b),
            Csrcs::Ids(ids) => ids.iter().for_each(|id| out.extend_from_slice(&id.to_be_bytes())),
        }
        if let Some(ext) = self.extension {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            // Length checked above to fit in u16 words.
            out.extend_from_slice(&((ext.data.len() / 4) as u16).to_be_bytes());
            out.extend_from_slice(ext.data);
        }
        out.extend_from_slice(self.payload);
        if self.padding > 0 {
            out.extend(std::iter::repeat_n(0u8, usize::from(self.padding) - 1));
            out.push(self.padding);
        }
        Ok(len)
    }

    /// The wire form in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, RtpError> {
        let mut v = Vec::with_capacity(self.wire_len());
        self.write_to(&mut v)?;
        Ok(v)
    }
}

/// Reads the SSRC of a datagram without parsing the rest (for demultiplexing).
pub fn peek_ssrc(buf: &[u8]) -> Option<u32> {
    be32(buf, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first packet of SIPp's dtmf_2833_1 capture: PT 101, marker, event 1, volume 10.
    const SIPP_EVENT: [u8; 16] =
        [0x80, 0xe5, 0x1f, 0x30, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x00, 0x00];

    #[test]
    fn parses_a_real_packet() {
        let p = RtpPacket::parse(&SIPP_EVENT).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 101);
        assert_eq!(p.sequence, 0x1f30);
        assert_eq!(p.timestamp, 0x33e0);
        assert_eq!(p.ssrc, 0x0e05_384e);
        assert_eq!(p.payload, &[0x01, 0x0a, 0x00, 0x00]);
        assert_eq!(p.csrc_count(), 0);
        assert_eq!(p.extension, None);
        assert_eq!(p.to_vec().unwrap(), SIPP_EVENT);
        assert_eq!(peek_ssrc(&SIPP_EVENT), Some(0x0e05_384e));
    }

    #[test]
    fn csrcs_extension_and_padding_round_trip() {
        let ext = HeaderExtension { profile: 0xBEDE, data: &[0x10, 0xAA, 0, 0] };
        let p = RtpPacket::new(0, 65535, u32::MAX, 7, b"abc")
            .with_marker(true)
            .with_csrcs(&[1, 2, 0xdead_beef])
            .with_extension(ext)
            .with_padding(5);
        let bytes = p.to_vec().unwrap();
        assert_eq!(bytes.len(), 12 + 12 + 8 + 3 + 5);
        assert_eq!(bytes[0], 0x80 | 0x20 | 0x10 | 3);
        assert_eq!(*bytes.last().unwrap(), 5);
        let q = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(q.csrcs().collect::<Vec<_>>(), vec![1, 2, 0xdead_beef]);
        assert_eq!(q.extension, Some(ext));
        assert_eq!(q.payload, b"abc");
        assert_eq!(q.padding, 5);
        assert!(q.marker);
        assert_eq!((q.sequence, q.timestamp, q.ssrc), (65535, u32::MAX, 7));
        // A parsed packet re-serializes byte for byte.
        assert_eq!(q.to_vec().unwrap(), bytes);
        // Padding content is undefined; it comes back as zeros with the same count.
        let mut junk = bytes.clone();
        let n = junk.len();
        junk[n - 2] = 0xff;
        let r = RtpPacket::parse(&junk).unwrap();
        assert_eq!(r.payload, b"abc");
        assert_eq!(r.to_vec().unwrap(), bytes);
    }

    #[test]
    fn bad_packets_are_named_errors() {
        assert_eq!(
            RtpPacket::parse(&[0x80, 0]),
            Err(RtpError::Truncated { what: "fixed header", need: 12, have: 2 })
        );
        let mut v1 = SIPP_EVENT;
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = SIPP_EVENT;
        cc[0] = 0x82; // two CSRCs but only 4 bytes follow the fixed header
        assert!(matches!(RtpPacket::parse(&cc), Err(RtpError::Truncated { what: "CSRC list", .. })));
        let mut x = SIPP_EVENT;
        x[0] = 0x90; // extension header (profile 0x010a) claims 5 words; none follow
        x[15] = 5;
        assert!(matches!(RtpPacket::parse(&x), Err(RtpError::Truncated { what: "header extension", .. })));
        let mut pad = SIPP_EVENT;
        pad[0] = 0xa0;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { count: 0, available: 4 }));
        pad[15] = 5;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { count: 5, available: 4 }));
        pad[15] = 4; // padding may eat the whole payload
        assert_eq!(RtpPacket::parse(&pad).unwrap().payload, b"");
    }

    #[test]
    fn unwritable_fields_are_rejected_without_writing() {
        let mut out = vec![9];
        let ids = [0u32; 16];
        let p = RtpPacket::new(0, 0, 0, 0, b"").with_csrcs(&ids);
        assert_eq!(
            p.write_to(&mut out),
            Err(RtpError::FieldOverflow { what: "CSRC count", value: 16, max: 15 })
        );
        let p = RtpPacket::new(128, 0, 0, 0, b"");
        assert!(matches!(p.write_to(&mut out), Err(RtpError::FieldOverflow { what: "payload type", .. })));
        let p = RtpPacket::new(0, 0, 0, 0, b"").with_extension(HeaderExtension { profile: 1, data: b"abc" });
        assert_eq!(p.write_to(&mut out), Err(RtpError::UnalignedExtension(3)));
        assert_eq!(out, vec![9]);
    }
}
