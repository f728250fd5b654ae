//! The message parser: start line, header lines (with folding), body by Content-Length.

use super::headers::canonical_name;
use super::{Headers, Message, Method, Request, Response, SipUri, is_token_byte};
use crate::Error;

/// Largest message accepted (bytes). UDP datagrams are far smaller; this bounds TCP framing.
pub const MAX_MESSAGE_LEN: usize = 65_535;
/// Most header lines accepted in one message.
const MAX_HEADERS: usize = 256;

/// Finds the end of the header section: returns (header_len, body_start).
pub(crate) fn find_header_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'\n') {
            if bytes.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Leading CRLFs are keep-alives (RFC 5626) and are skipped.
pub(crate) fn skip_keepalive(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    bytes.get(n..).unwrap_or_default()
}

pub(crate) fn parse_message(bytes: &[u8]) -> Result<Message, Error> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(Error::TooLarge(MAX_MESSAGE_LEN));
    }
    let bytes = skip_keepalive(bytes);
    if bytes.is_empty() {
        return Err(Error::Malformed("empty message (keep-alive)"));
    }
    let (head_len, body_start) = find_header_end(bytes).ok_or(Error::Incomplete)?;
    let head = std::str::from_utf8(bytes.get(..head_len).unwrap_or_default())
        .map_err(|_| Error::Malformed("header section is not UTF-8"))?;
    let rest = bytes.get(body_start..).unwrap_or_default();

    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or_default();
    let mut headers = Headers::default();
    let mut content_length: Option<usize> = None;
    for line in lines {
        if line.contains('\r') {
            return Err(Error::Malformed("bare CR in header section"));
        }
        if line.starts_with([' ', '\t']) {
            let (_, v) =
                headers.0.last_mut().ok_or(Error::Malformed("continuation line before any header"))?;
            if !v.is_empty() && !line.trim().is_empty() {
                v.push(' ');
            }
            v.push_str(line.trim());
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(Error::Malformed("header line without ':'"))?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Error::Malformed("bad header name"));
        }
        if headers.0.len() >= MAX_HEADERS {
            return Err(Error::Malformed("too many headers"));
        }
        headers.0.push((canonical_name(name), value.trim().to_owned()));
    }
    // Content-Length is folded into the body; it never stays in `headers`.
    if let Some(v) = headers.get("Content-Length") {
        content_length = Some(v.trim().parse().map_err(|_| Error::BadHeader("Content-Length"))?);
        headers.remove("Content-Length");
    }
    let body = match content_length {
        Some(n) => rest.get(..n).ok_or(Error::Incomplete)?.to_vec(),
        None => rest.to_vec(),
    };

    if let Some(status) = start.strip_prefix("SIP/2.0 ") {
        let (code, reason) = status.split_once(' ').unwrap_or((status, ""));
        let code: u16 = code.parse().map_err(|_| Error::Malformed("bad status code"))?;
        if !(100..=699).contains(&code) {
            return Err(Error::Malformed("status code out of range"));
        }
        return Ok(Message::Response(Response { code, reason: reason.trim().to_owned(), headers, body }));
    }
    let mut parts = start.split(' ');
    let (Some(m), Some(u), Some(v), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Malformed("bad start line"));
    };
    if v != "SIP/2.0" {
        return Err(Error::Malformed("unsupported SIP version"));
    }
    let method = Method::parse(m)?;
    let uri = SipUri::parse(u)?;
    Ok(Message::Request(Request { method, uri, headers, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_INVITE: &str = "INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-1-0\r\n\
From: sipp <sip:sipp@127.0.0.1:5061>;tag=4242SIPpTag001\r\n\
To: <sip:service@127.0.0.1:5060>\r\n\
Call-ID: 1-4242@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@127.0.0.1:5061\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
Content-Type: application/sdp\r\n\
Content-Length:   129\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn parses_a_sipp_invite() {
        let Message::Request(r) = Message::parse(SIPP_INVITE.as_bytes()).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.user.as_deref(), Some("service"));
        assert_eq!(r.headers.top_via().unwrap().branch(), Some("z9hG4bK-4242-1-0"));
        assert_eq!(r.headers.from().unwrap().tag(), Some("4242SIPpTag001"));
        assert_eq!(r.headers.to().unwrap().tag(), None);
        assert_eq!(r.headers.call_id().unwrap(), "1-4242@127.0.0.1");
        assert_eq!(r.headers.cseq().unwrap().seq, 1);
        assert_eq!(r.headers.contact().unwrap().uri.port, Some(5061));
        assert_eq!(r.body.len(), 129);
        assert!(r.headers.get("Content-Length").is_none());
        // Re-serialised, it parses to the same message.
        assert_eq!(Message::parse(&r.to_bytes()).unwrap(), Message::Request(r));
    }

    #[test]
    fn compact_forms_folding_and_lf_only() {
        let m = "BYE sip:a@10.0.0.1 SIP/2.0\n\
v: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKx\n\
f: <sip:b@10.0.0.2>;tag=1\n\
t: <sip:a@10.0.0.1>\n ;tag=2\n\
i: abc\n\
CSeq: 2 BYE\n\
l: 0\n\n";
        let Message::Request(r) = Message::parse(m.as_bytes()).unwrap() else { panic!() };
        assert_eq!(r.headers.to().unwrap().tag(), Some("2"));
        assert_eq!(r.headers.call_id().unwrap(), "abc");
        assert_eq!(r.headers.top_via().unwrap().transport, "TCP");
        assert!(String::from_utf8(r.to_bytes()).unwrap().contains("\r\nCall-ID: abc\r\n"));
    }

    #[test]
    fn response_and_errors() {
        let Message::Response(r) =
            Message::parse(b"SIP/2.0 486 Busy Here\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap()
        else {
            panic!()
        };
        assert_eq!((r.code, r.reason.as_str()), (486, "Busy Here"));
        let cases: &[(&[u8], Error)] = &[
            (b"\r\n\r\n", Error::Malformed("empty message (keep-alive)")),
            (b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", Error::Incomplete),
            (b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort", Error::Incomplete),
            (b"INVITE sip:a@b SIP/3.0\r\n\r\n", Error::Malformed("unsupported SIP version")),
            (b"SIP/2.0 99 Low\r\n\r\n", Error::Malformed("status code out of range")),
            (b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", Error::Malformed("header line without ':'")),
            (b"INVITE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", Error::BadHeader("Content-Length")),
            (b"INV\xffITE sip:a@b SIP/2.0\r\n\r\n", Error::Malformed("header section is not UTF-8")),
            (
                b"BYE sip:a@b SIP/2.0\r\nX: a\rInjected: 1\r\n\r\n",
                Error::Malformed("bare CR in header section"),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(&Message::parse(bytes).unwrap_err(), want, "{:?}", String::from_utf8_lossy(bytes));
        }
        assert_eq!(
            Message::parse(&vec![b'a'; MAX_MESSAGE_LEN + 1]).unwrap_err(),
            Error::TooLarge(MAX_MESSAGE_LEN)
        );
    }
}
