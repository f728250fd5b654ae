//! SIP URIs (RFC 3261 section 19.1): `sip:user@host:port;params?headers`.
//!
//! Parsed leniently (user part kept escaped as received) and serialized back to the same text,
//! so a URI that came in goes out unchanged in Request-URIs, Route and Contact headers.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::Error;

/// A `sip:` or `sips:` URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    /// `true` for `sips:`.
    pub secure: bool,
    /// The user part, as received (escaped).
    pub user: Option<String>,
    /// Host name, IPv4 literal, or IPv6 literal *without* brackets.
    pub host: String,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`), in order.
    pub params: Vec<(String, Option<String>)>,
    /// The `?headers` part, without the `?`.
    pub headers: Option<String>,
}

impl SipUri {
    /// A `sip:` URI for `user@addr`.
    pub fn from_addr(user: Option<&str>, addr: SocketAddr) -> Self {
        SipUri {
            secure: false,
            user: user.map(str::to_owned),
            host: addr.ip().to_string(),
            port: Some(addr.port()),
            params: Vec::new(),
            headers: None,
        }
    }

    /// Parses a URI.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let (secure, rest) = if let Some(r) = strip_prefix_ci(s, "sips:") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(s, "sip:") {
            (false, r)
        } else {
            return Err(Error::Malformed("URI scheme is not sip or sips"));
        };
        let (rest, headers) = match rest.split_once('?') {
            Some((a, h)) => (a, Some(h.to_owned())),
            None => (rest, None),
        };
        // The user part may itself contain ';' (telephone-subscriber params), so split at the last '@'.
        let (user, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(rest.get(..i).unwrap_or_default()), rest.get(i + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        if user.is_some_and(str::is_empty) {
            return Err(Error::Malformed("empty user part in URI"));
        }
        let mut parts = hostpart.split(';');
        let hostport = parts.next().unwrap_or_default();
        let (host, port) = parse_hostport(hostport)?;
        let mut params = Vec::new();
        for p in parts {
            if p.is_empty() {
                continue;
            }
            params.push(match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (p.to_owned(), None),
            });
        }
        Ok(SipUri { secure, user: user.map(str::to_owned), host, port, params, headers })
    }

    /// The value of URI parameter `name` (case-insensitive); `Some(None)` for a flag like `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
    }

    /// The socket address if the host is an IP literal (default port 5060, 5061 for sips).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.host.parse().ok()?;
        Some(SocketAddr::new(ip, self.port.unwrap_or(if self.secure { 5061 } else { 5060 })))
    }

    /// The `transport=` parameter, lower-cased.
    pub fn transport(&self) -> Option<String> {
        self.param("transport").flatten().map(str::to_ascii_lowercase)
    }
}

/// Parses `host[:port]`, with IPv6 in brackets.
pub(crate) fn parse_hostport(s: &str) -> Result<(String, Option<u16>), Error> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(Error::Malformed("unterminated IPv6 reference"))?;
        let host = rest.get(..end).unwrap_or_default();
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error::Malformed("bad IPv6 reference"));
        }
        let after = rest.get(end + 1..).unwrap_or_default();
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| Error::Malformed("bad port"))?),
            None if after.is_empty() => None,
            None => return Err(Error::Malformed("junk after IPv6 reference")),
        };
        return Ok((host.to_owned(), port));
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p.parse().map_err(|_| Error::Malformed("bad port"))?)),
        None => (s, None),
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
        return Err(Error::Malformed("bad host"));
    }
    Ok((host.to_owned(), port))
}

/// Writes `host[:port]`, bracketing IPv6.
pub(crate) fn fmt_hostport(f: &mut fmt::Formatter<'_>, host: &str, port: Option<u16>) -> fmt::Result {
    if host.contains(':') {
        write!(f, "[{host}]")?;
    } else {
        f.write_str(host)?;
    }
    if let Some(p) = port {
        write!(f, ":{p}")?;
    }
    Ok(())
}

pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        fmt_hostport(f, &self.host, self.port)?;
        for (k, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_uris() {
        let u = SipUri::parse("sip:alice@192.0.2.1:5070;transport=tcp;lr").unwrap();
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.host, "192.0.2.1");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.transport().as_deref(), Some("tcp"));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.socket_addr(), Some("192.0.2.1:5070".parse().unwrap()));
        assert_eq!(u.to_string(), "sip:alice@192.0.2.1:5070;transport=tcp;lr");

        let v6 = SipUri::parse("sips:[2001:db8::1]").unwrap();
        assert_eq!(v6.socket_addr(), Some("[2001:db8::1]:5061".parse().unwrap()));
        assert_eq!(v6.to_string(), "sips:[2001:db8::1]");

        let tel = SipUri::parse("sip:+15551234;phone-context=x@example.com?subject=hi").unwrap();
        assert_eq!(tel.user.as_deref(), Some("+15551234;phone-context=x"));
        assert_eq!(tel.host, "example.com");
        assert_eq!(tel.socket_addr(), None);
        assert_eq!(tel.headers.as_deref(), Some("subject=hi"));
    }

    #[test]
    fn rejects_bad_uris() {
        for s in ["tel:+1555", "sip:", "sip:@host", "sip:a@host:99999", "sip:[::1", "sip:ho st"] {
            assert!(SipUri::parse(s).is_err(), "{s}");
        }
    }
}
