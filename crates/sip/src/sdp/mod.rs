//! SDP (RFC 4566): parse into typed structs, serialise back. Offer/answer (RFC 3264) lives in
//! [`LocalMedia::offer`], [`LocalMedia::answer`] and [`LocalMedia::accept_answer`].
//!
//! Parse, don't validate: the body becomes a [`SessionDescription`] with the lines the core uses
//! typed (origin, connection, media lines, attributes) and every other line kept in order so it
//! serialises back. Errors carry the 1-based line number. Lines the grammar allows but we do not
//! use (`i=`, `b=`, `t=`, `k=` ...) are kept as `(type, value)` pairs.

mod negotiate;

use std::fmt;
use std::net::IpAddr;

pub use negotiate::{Codec, LocalMedia, Negotiated};

use crate::Error;

/// Media direction attribute (RFC 3264 section 5.1 / 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// Built from send/receive flags.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// The direction an answerer uses for an offer with `self` (RFC 3264 6.1): the mirror image.
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }
}

/// The `o=` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Username (`-` if none).
    pub username: String,
    /// Session id.
    pub session_id: u64,
    /// Session version (incremented by every new offer or answer of a session).
    pub version: u64,
    /// Address type and address, e.g. `IN IP4 192.0.2.1`.
    pub address: String,
}

/// One `m=` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video` ...
    pub kind: String,
    /// Port; 0 rejects or disables the stream.
    pub port: u16,
    /// Transport protocol (`RTP/AVP`).
    pub proto: String,
    /// Formats (payload type numbers for RTP).
    pub formats: Vec<String>,
    /// Media-level connection address (`c=`), the address only.
    pub connection: Option<String>,
    /// Other lines of the section (`i=`, `b=` ...), in order.
    pub other: Vec<(char, String)>,
    /// Attributes `a=name[:value]`, in order.
    pub attributes: Vec<(String, Option<String>)>,
}

/// A session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`.
    pub session_name: String,
    /// Session-level connection address (`c=IN IP4 <addr>`), the address only.
    pub connection: Option<String>,
    /// Other session-level lines (`t=`, `b=`, `i=` ...), in order.
    pub other: Vec<(char, String)>,
    /// Session-level attributes.
    pub attributes: Vec<(String, Option<String>)>,
    /// Media sections.
    pub media: Vec<Media>,
}

fn attr<'a>(attrs: &'a [(String, Option<String>)], name: &str) -> Option<Option<&'a str>> {
    attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
}

fn direction_of(attrs: &[(String, Option<String>)]) -> Option<Direction> {
    attrs.iter().find_map(|(n, v)| v.is_none().then(|| Direction::from_attr(n)).flatten())
}

impl Media {
    /// The value of attribute `name` (first occurrence).
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        attr(&self.attributes, name)
    }

    /// `a=rtpmap` for payload type `pt`: (encoding name, clock rate, channels).
    pub fn rtpmap(&self, pt: &str) -> Option<(String, u32, u32)> {
        self.attributes.iter().filter(|(n, _)| n == "rtpmap").find_map(|(_, v)| {
            let (p, rest) = v.as_deref()?.split_once(' ')?;
            if p != pt {
                return None;
            }
            let mut it = rest.trim().split('/');
            let enc = it.next()?.to_owned();
            let rate = it.next()?.parse().ok()?;
            let ch = it.next().map_or(Some(1), |c| c.parse().ok())?;
            Some((enc, rate, ch))
        })
    }

    /// `a=fmtp` parameters for payload type `pt`.
    pub fn fmtp(&self, pt: &str) -> Option<&str> {
        self.attributes.iter().filter(|(n, _)| n == "fmtp").find_map(|(_, v)| {
            let (p, rest) = v.as_deref()?.split_once(' ')?;
            (p == pt).then_some(rest.trim())
        })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime").flatten().and_then(|v| v.trim().parse().ok())
    }
}

impl SessionDescription {
    /// The direction of media section `m` (media attribute, else session attribute, else sendrecv).
    pub fn direction(&self, m: &Media) -> Direction {
        direction_of(&m.attributes).or_else(|| direction_of(&self.attributes)).unwrap_or(Direction::SendRecv)
    }

    /// The connection address for media section `m` (media level, else session level).
    pub fn connection_addr(&self, m: &Media) -> Option<IpAddr> {
        m.connection.as_deref().or(self.connection.as_deref()).and_then(|a| a.split('/').next()?.parse().ok())
    }

    /// Parses an SDP body.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(body).map_err(|_| Error::Sdp { line: 0, reason: "not UTF-8" })?;
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut other = Vec::new();
        let mut attributes = Vec::new();
        let mut media: Vec<Media> = Vec::new();
        let mut seen_version = false;
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let l = raw.strip_suffix('\r').unwrap_or(raw);
            if l.trim().is_empty() {
                continue;
            }
            let err = |reason| Error::Sdp { line, reason };
            let mut chars = l.chars();
            let (Some(t), Some('=')) = (chars.next(), chars.next()) else {
                return Err(err("line is not <type>=<value>"));
            };
            let v = chars.as_str();
            if !seen_version {
                if t != 'v' || v.trim() != "0" {
                    return Err(err("first line must be v=0"));
                }
                seen_version = true;
                continue;
            }
            match t {
                'o' => {
                    let f: Vec<&str> = v.split_ascii_whitespace().collect();
                    let [user, id, ver, net, atype, addr] = f.as_slice() else {
                        return Err(err("o= needs 6 fields"));
                    };
                    origin = Some(Origin {
                        username: (*user).to_owned(),
                        session_id: id.parse().map_err(|_| err("bad session id"))?,
                        version: ver.parse().map_err(|_| err("bad session version"))?,
                        address: format!("{net} {atype} {addr}"),
                    });
                }
                's' => session_name = Some(v.to_owned()),
                'c' => {
                    let f: Vec<&str> = v.split_ascii_whitespace().collect();
                    let [_net, _atype, addr] = f.as_slice() else {
                        return Err(err("c= needs 3 fields"));
                    };
                    match media.last_mut() {
                        Some(m) => m.connection = Some((*addr).to_owned()),
                        None => connection = Some((*addr).to_owned()),
                    }
                }
                'm' => {
                    let mut f = v.split_ascii_whitespace();
                    let (Some(kind), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) else {
                        return Err(err("m= needs media, port and proto"));
                    };
                    // `port/count` is allowed; we use the first port.
                    let port = port
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .parse()
                        .map_err(|_| err("bad media port"))?;
                    media.push(Media {
                        kind: kind.to_owned(),
                        port,
                        proto: proto.to_owned(),
                        formats: f.map(str::to_owned).collect(),
                        connection: None,
                        other: Vec::new(),
                        attributes: Vec::new(),
                    });
                }
                'a' => {
                    let a = match v.split_once(':') {
                        Some((n, val)) => (n.to_owned(), Some(val.to_owned())),
                        None => (v.to_owned(), None),
                    };
                    match media.last_mut() {
                        Some(m) => m.attributes.push(a),
                        None => attributes.push(a),
                    }
                }
                'v' => return Err(err("repeated v=")),
                t if t.is_ascii_lowercase() => match media.last_mut() {
                    Some(m) => m.other.push((t, v.to_owned())),
                    None => other.push((t, v.to_owned())),
                },
                _ => return Err(err("unknown line type")),
            }
        }
        if !seen_version {
            return Err(Error::Sdp { line: 1, reason: "empty SDP" });
        }
        Ok(SessionDescription {
            origin: origin.ok_or(Error::Sdp { line: 0, reason: "missing o=" })?,
            session_name: session_name.unwrap_or_else(|| "-".to_owned()),
            connection,
            other,
            attributes,
            media,
        })
    }

    /// Serialises with CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

fn fmt_attrs(f: &mut fmt::Formatter<'_>, attrs: &[(String, Option<String>)]) -> fmt::Result {
    for (n, v) in attrs {
        match v {
            Some(v) => write!(f, "a={n}:{v}\r\n")?,
            None => write!(f, "a={n}\r\n")?,
        }
    }
    Ok(())
}

fn addr_type(addr: &str) -> &'static str {
    if addr.contains(':') { "IP6" } else { "IP4" }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.version, o.address, self.session_name
        )?;
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        for (t, v) in &self.other {
            write!(f, "{t}={v}\r\n")?;
        }
        if !self.other.iter().any(|(t, _)| *t == 't') {
            f.write_str("t=0 0\r\n")?;
        }
        fmt_attrs(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {} {}", m.kind, m.port, m.proto)?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            f.write_str("\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
            }
            for (t, v) in &m.other {
                write!(f, "{t}={v}\r\n")?;
            }
            fmt_attrs(f, &m.attributes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
