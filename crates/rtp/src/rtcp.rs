//! RTCP (RFC 3550 section 6), sans-IO: parse compound packets, serialise sender and receiver
//! reports.
//!
//! What a telephony media leg needs: every ~5 s a compound packet `SR` (or `RR` when we have sent
//! nothing) with one report block about the stream we receive, followed by `SDES` with our CNAME
//! (RFC 3550 6.1 makes CNAME mandatory in every compound packet); from the peer, its reports'
//! loss and jitter about the stream we send. Other packet types (`BYE`, `APP`, RTPFB/PSFB
//! feedback, XR) are walked over and reported as [`RtcpPacket::Other`].
//!
//! [`parse_compound`] never panics on network input: every length is checked, and a bad
//! packet ends the walk with an [`RtpError`] after the good ones before it were returned.
//! Time is not read here: the NTP timestamp of a sender report is passed in.

use crate::RtpError;

/// RTCP packet type: sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type: receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type: source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type: goodbye.
pub const PT_BYE: u8 = 203;

/// One reception report block (RFC 3550 6.4.1): what a receiver saw of one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire; clamped when written).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | seq).
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source (0: none).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Fraction lost as a number between 0 and 1.
    pub fn fraction_lost_f64(&self) -> f64 {
        f64::from(self.fraction_lost) / 256.0
    }
}

/// The sender-info part of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low).
    pub ntp: u64,
    /// RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
}

/// One packet of a compound RTCP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report.
    SenderReport {
        /// The sender.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Receiver report.
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Source description: (SSRC, CNAME) for each chunk that has one.
    SourceDescription(Vec<(u32, String)>),
    /// Goodbye from these sources.
    Bye(Vec<u32>),
    /// Any other packet type (APP, feedback, XR...), skipped.
    Other {
        /// Its packet type.
        packet_type: u8,
    },
}

/// `b[at..at + n]`, or a truncation error naming `what`.
fn take<'a>(b: &'a [u8], at: usize, n: usize, what: &'static str) -> Result<&'a [u8], RtpError> {
    b.get(at..at + n).ok_or(RtpError::Truncated { what, need: at + n, have: b.len() })
}

fn be32(b: &[u8], at: usize) -> Result<u32, RtpError> {
    let s = take(b, at, 4, "RTCP field")?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtpError> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = i * 24;
        let b = take(body, at, 24, "RTCP report block")?;
        let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        // 24-bit two's complement.
        let cumulative_lost = if lost & 0x80_0000 != 0 { lost as i32 - 0x100_0000 } else { lost as i32 };
        out.push(ReportBlock {
            ssrc: be32(b, 0)?,
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: be32(b, 8)?,
            jitter: be32(b, 12)?,
            last_sr: be32(b, 16)?,
            delay_since_last_sr: be32(b, 20)?,
        });
    }
    Ok(out)
}

fn parse_sdes(body: &[u8], count: usize) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    for _ in 0..count {
        let Ok(ssrc) = be32(body, at) else { break };
        at += 4;
        let mut cname = None;
        // Items until a zero type octet, then padding to the next 32-bit boundary.
        while let Some(&kind) = body.get(at) {
            if kind == 0 {
                break;
            }
            let Some(&len) = body.get(at + 1) else { return out };
            let Some(text) = body.get(at + 2..at + 2 + usize::from(len)) else { return out };
            if kind == 1 {
                cname = Some(String::from_utf8_lossy(text).into_owned());
            }
            at += 2 + usize::from(len);
        }
        at = (at + 4) & !3;
        if let Some(c) = cname {
            out.push((ssrc, c));
        }
    }
    out
}

/// Parses a compound RTCP datagram into its packets.
pub fn parse_compound(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtpError> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let head = take(rest, 0, 4, "RTCP header")?;
        if head[0] >> 6 != 2 {
            return Err(RtpError::BadVersion(head[0] >> 6));
        }
        let count = usize::from(head[0] & 0x1f);
        let packet_type = head[1];
        let len = (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1) * 4;
        let packet = take(rest, 0, len, "RTCP packet")?;
        // Padding (P bit) only on the last packet; its count is the last octet.
        let body_end = if head[0] & 0x20 != 0 {
            let pad = packet.last().copied().unwrap_or(0);
            len.checked_sub(usize::from(pad))
                .filter(|&e| e >= 4 && pad > 0)
                .ok_or(RtpError::BadPadding { count: pad, available: len - 4 })?
        } else {
            len
        };
        let body = &packet[4..body_end];
        out.push(match packet_type {
            PT_SR => {
                let ssrc = be32(body, 0)?;
                let info = SenderInfo {
                    ntp: (u64::from(be32(body, 4)?) << 32) | u64::from(be32(body, 8)?),
                    rtp_timestamp: be32(body, 12)?,
                    packet_count: be32(body, 16)?,
                    octet_count: be32(body, 20)?,
                };
                let reports = parse_blocks(body.get(24..).unwrap_or_default(), count)?;
                RtcpPacket::SenderReport { ssrc, info, reports }
            }
            PT_RR => {
                let ssrc = be32(body, 0)?;
                let reports = parse_blocks(body.get(4..).unwrap_or_default(), count)?;
                RtcpPacket::ReceiverReport { ssrc, reports }
            }
            PT_SDES => RtcpPacket::SourceDescription(parse_sdes(body, count)),
            PT_BYE => RtcpPacket::Bye((0..count).map_while(|i| be32(body, i * 4).ok()).collect()),
            other => RtcpPacket::Other { packet_type: other },
        });
        rest = &rest[len..];
    }
    Ok(out)
}

fn header(out: &mut Vec<u8>, count: usize, packet_type: u8, words_after_header: usize) {
    out.push(0x80 | (count.min(31) as u8));
    out.push(packet_type);
    out.extend_from_slice(&(words_after_header as u16).to_be_bytes());
}

fn write_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    out.push(b.fraction_lost);
    let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0xff_ffff;
    out.extend_from_slice(&lost.to_be_bytes()[1..]);
    out.extend_from_slice(&b.highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.last_sr.to_be_bytes());
    out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
}

/// Appends a compound report: an SR when `info` is given (we have sent media), else an RR, with
/// at most 31 `reports`, then an SDES packet carrying `cname`.
pub fn write_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    info: Option<&SenderInfo>,
    reports: &[ReportBlock],
    cname: &str,
) {
    let reports = &reports[..reports.len().min(31)];
    match info {
        Some(i) => {
            header(out, reports.len(), PT_SR, 6 + 6 * reports.len());
            out.extend_from_slice(&ssrc.to_be_bytes());
            out.extend_from_slice(&i.ntp.to_be_bytes());
            out.extend_from_slice(&i.rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&i.packet_count.to_be_bytes());
            out.extend_from_slice(&i.octet_count.to_be_bytes());
        }
        None => {
            header(out, reports.len(), PT_RR, 1 + 6 * reports.len());
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
    }
    for b in reports {
        write_block(out, b);
    }
    let cname = &cname.as_bytes()[..cname.len().min(255)];
    // SSRC + CNAME item (type, length, text) + at least one zero octet, padded to 32 bits.
    let chunk = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
    header(out, 1, PT_SDES, chunk / 4);
    let start = out.len();
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(1);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    out.resize(start + chunk, 0);
}

/// The middle 32 bits of an NTP timestamp (the `last_sr` field of a report block).
pub const fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x1234_5678,
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 80,
            last_sr: 0xdead_beef,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trips_with_sdes() {
        let info =
            SenderInfo { ntp: 0x0102_0304_0506_0708, rtp_timestamp: 160, packet_count: 5, octet_count: 800 };
        let mut out = Vec::new();
        write_report(&mut out, 42, Some(&info), &[block()], "frontdesk@host");
        assert_eq!(out.len() % 4, 0);
        let p = parse_compound(&out).unwrap();
        assert_eq!(
            p,
            vec![
                RtcpPacket::SenderReport { ssrc: 42, info, reports: vec![block()] },
                RtcpPacket::SourceDescription(vec![(42, "frontdesk@host".into())]),
            ]
        );
        assert!((block().fraction_lost_f64() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn receiver_report_round_trips() {
        let mut out = Vec::new();
        write_report(&mut out, 7, None, &[], "abc");
        let p = parse_compound(&out).unwrap();
        assert_eq!(p[0], RtcpPacket::ReceiverReport { ssrc: 7, reports: vec![] });
        assert_eq!(p[1], RtcpPacket::SourceDescription(vec![(7, "abc".into())]));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        write_report(&mut out, 7, None, &[block()], "abc");
        for cut in 0..out.len() {
            let _ = parse_compound(&out[..cut]);
        }
        assert!(parse_compound(&[0x00, 200, 0, 0]).is_err());
        // Length field pointing past the end.
        assert!(parse_compound(&[0x81, 201, 0, 9, 0, 0, 0, 1]).is_err());
        // Report count larger than the body.
        assert!(parse_compound(&[0x85, 201, 0, 1, 0, 0, 0, 1]).is_err());
        // Padding count larger than the packet.
        assert!(parse_compound(&[0xa0, 201, 0, 1, 0, 0, 0, 200]).is_err());
        let mut bytes = [0u8; 64];
        for seed in 0u32..2000 {
            let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
            for b in &mut bytes {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            bytes[0] = 0x80 | (bytes[0] & 0x3f);
            let _ = parse_compound(&bytes);
        }
    }

    #[test]
    fn other_packet_types_are_skipped() {
        let mut out = vec![0x80, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        write_report(&mut out, 9, None, &[], "x");
        let p = parse_compound(&out).unwrap();
        assert_eq!(p[0], RtcpPacket::Other { packet_type: 206 });
        assert_eq!(p.len(), 3);
    }
}
