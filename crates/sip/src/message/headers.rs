//! Header storage and typed views of the headers the core relies on.
//!
//! Headers are stored in order as `(canonical name, raw value)`: compact forms (`v`, `f`, `i` ...)
//! are expanded to their full names on parse, and values are kept as text. Typed views
//! ([`Via`], [`NameAddr`], [`CSeq`]) are parsed on access, so a header the core never reads can
//! never make a message fail, and everything relayed is relayed byte for byte.

use std::fmt;

use super::Method;
use super::uri::{SipUri, fmt_hostport, parse_hostport};
use crate::Error;

/// Expands a compact header name (RFC 3261 7.3.3 and later RFCs) and canonicalises the case of
/// well-known names; other names are kept as received.
pub fn canonical_name(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Route",
        "Record-Route",
        "Content-Length",
        "Content-Type",
        "Content-Encoding",
        "Authorization",
        "WWW-Authenticate",
        "Proxy-Authorization",
        "Proxy-Authenticate",
        "Expires",
        "Allow",
        "Supported",
        "Require",
        "User-Agent",
        "Server",
        "Event",
        "Subscription-State",
        "Refer-To",
        "Referred-By",
        "Subject",
        "Allow-Events",
        "Session-Expires",
        "Accept",
        "Unsupported",
        "Reason",
    ];
    let full = match name.to_ascii_lowercase().as_str() {
        "v" => "Via",
        "f" => "From",
        "t" => "To",
        "i" => "Call-ID",
        "m" => "Contact",
        "l" => "Content-Length",
        "c" => "Content-Type",
        "e" => "Content-Encoding",
        "k" => "Supported",
        "s" => "Subject",
        "o" => "Event",
        "r" => "Refer-To",
        "b" => "Referred-By",
        "u" => "Allow-Events",
        "x" => "Session-Expires",
        _ => {
            return KNOWN
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name))
                .map_or_else(|| name.to_owned(), |k| (*k).to_owned());
        }
    };
    full.to_owned()
}

/// Ordered headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// Appends a header (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((canonical_name(name), value.into()));
    }

    /// The first value of `name` (case-insensitive, full name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All values of `name`, with comma-separated lists split into elements (for list headers
    /// like Via, Route, Record-Route, Contact, Allow).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).flat_map(|(_, v)| split_list(v)).collect()
    }

    /// Removes every `name` header.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces every `name` header with one value, at the position of the first (or at the end).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_name(name);
        let value = value.into();
        match self.0.iter().position(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some(i) => {
                self.remove(&name);
                self.0.insert(i.min(self.0.len()), (name, value));
            }
            None => self.0.push((name, value)),
        }
    }

    /// Copies every `name` header from `other`, in order.
    pub fn copy_from(&mut self, other: &Headers, name: &str) {
        for (n, v) in &other.0 {
            if n.eq_ignore_ascii_case(name) {
                self.0.push((n.clone(), v.clone()));
            }
        }
    }

    /// The top Via, parsed.
    pub fn top_via(&self) -> Result<Via, Error> {
        self.get_all("Via").first().ok_or(Error::BadHeader("Via")).and_then(|v| Via::parse(v))
    }

    /// From, parsed.
    pub fn from(&self) -> Result<NameAddr, Error> {
        self.get("From")
            .ok_or(Error::BadHeader("From"))
            .and_then(|v| NameAddr::parse(v).map_err(|_| Error::BadHeader("From")))
    }

    /// To, parsed.
    pub fn to(&self) -> Result<NameAddr, Error> {
        self.get("To")
            .ok_or(Error::BadHeader("To"))
            .and_then(|v| NameAddr::parse(v).map_err(|_| Error::BadHeader("To")))
    }

    /// Call-ID.
    pub fn call_id(&self) -> Result<&str, Error> {
        self.get("Call-ID").map(str::trim).filter(|s| !s.is_empty()).ok_or(Error::BadHeader("Call-ID"))
    }

    /// CSeq, parsed.
    pub fn cseq(&self) -> Result<CSeq, Error> {
        self.get("CSeq").ok_or(Error::BadHeader("CSeq")).and_then(CSeq::parse)
    }

    /// The first Contact, parsed.
    pub fn contact(&self) -> Option<NameAddr> {
        self.get_all("Contact").first().and_then(|c| NameAddr::parse(c).ok())
    }

    /// Every element of the `name` list header parsed as name-addr (Route, Record-Route);
    /// unparseable elements are an error.
    pub fn name_addrs(&self, name: &'static str) -> Result<Vec<NameAddr>, Error> {
        self.get_all(name)
            .into_iter()
            .map(|v| NameAddr::parse(v).map_err(|_| Error::BadHeader(name)))
            .collect()
    }
}

/// Splits a header value at commas that are outside quotes and angle brackets.
pub fn split_list(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quote, mut in_angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in v.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_quote && !in_angle => {
                out.push(v.get(start..i).unwrap_or_default().trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v.get(start..).unwrap_or_default().trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Parses `;k=v;flag` parameters (leading `;` optional), values unquoted as written.
pub(crate) fn parse_params(s: &str) -> Vec<(String, Option<String>)> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
            None => (p.to_owned(), None),
        })
        .collect()
}

fn fmt_params(f: &mut fmt::Formatter<'_>, params: &[(String, Option<String>)]) -> fmt::Result {
    for (k, v) in params {
        match v {
            Some(v) => write!(f, ";{k}={v}")?,
            None => write!(f, ";{k}")?,
        }
    }
    Ok(())
}

fn find_param<'a>(params: &'a [(String, Option<String>)], name: &str) -> Option<Option<&'a str>> {
    params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
}

/// One Via element: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Transport token, upper-case (`UDP`, `TCP`, ...).
    pub transport: String,
    /// sent-by host.
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters in order (branch, received, rport ...).
    pub params: Vec<(String, Option<String>)>,
}

impl Via {
    /// Parses one Via element.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = Error::BadHeader("Via");
        let s = s.trim();
        let (proto, rest) = s.split_once(|c: char| c.is_ascii_whitespace()).ok_or(bad.clone())?;
        let mut it = proto.split('/').map(str::trim);
        let (Some(name), Some(_ver), Some(transport), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad);
        };
        if !name.eq_ignore_ascii_case("SIP") || transport.is_empty() {
            return Err(bad);
        }
        let rest = rest.trim();
        let (sent_by, params) = match rest.split_once(';') {
            Some((a, b)) => (a, parse_params(b)),
            None => (rest, Vec::new()),
        };
        let (host, port) = parse_hostport(sent_by).map_err(|_| bad)?;
        Ok(Via { transport: transport.to_ascii_uppercase(), host, port, params })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").flatten()
    }

    /// A parameter (`Some(None)` for a flag such as a bare `rport`).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets (or adds) a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self.params.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(p) => p.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} ", self.transport)?;
        fmt_hostport(f, &self.host, self.port)?;
        fmt_params(f, &self.params)
    }
}

/// `"Display" <uri>;params` or `uri;params` (From, To, Contact, Route, Record-Route, Refer-To).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, without quotes.
    pub display: Option<String>,
    /// The URI.
    pub uri: SipUri,
    /// Header parameters (`tag`, `expires` ...).
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// A name-addr for `uri` without display name or parameters.
    pub fn new(uri: SipUri) -> Self {
        NameAddr { display: None, uri, params: Vec::new() }
    }

    /// Parses one element.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let (display, rest) = if let Some(r) = s.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in r.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or(Error::Malformed("unterminated display name"))?;
            (
                Some(r.get(..end).unwrap_or_default().to_owned()),
                r.get(end + 1..).unwrap_or_default().trim_start(),
            )
        } else if let Some(i) = s.find('<') {
            let d = s.get(..i).unwrap_or_default().trim();
            ((!d.is_empty()).then(|| d.to_owned()), s.get(i..).unwrap_or_default())
        } else {
            (None, s)
        };
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').ok_or(Error::Malformed("unterminated <uri>"))?;
            let uri = SipUri::parse(r.get(..end).unwrap_or_default())?;
            let params = parse_params(r.get(end + 1..).unwrap_or_default());
            Ok(NameAddr { display, uri, params })
        } else if display.is_some() {
            Err(Error::Malformed("display name without <uri>"))
        } else {
            // addr-spec form: parameters after the first ';' belong to the header (RFC 3261 20.10).
            let (u, p) = rest.split_once(';').unwrap_or((rest, ""));
            Ok(NameAddr { display: None, uri: SipUri::parse(u)?, params: parse_params(p) })
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").flatten()
    }

    /// A header parameter.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets the tag (replacing any).
    pub fn with_tag(mut self, tag: &str) -> Self {
        self.params.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
        self.params.push(("tag".to_owned(), Some(tag.to_owned())));
        self
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        fmt_params(f, &self.params)
    }
}

/// `CSeq: 314159 INVITE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses the header value.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mut it = s.split_ascii_whitespace();
        let (Some(n), Some(m), None) = (it.next(), it.next(), it.next()) else {
            return Err(Error::BadHeader("CSeq"));
        };
        let seq = n.parse().map_err(|_| Error::BadHeader("CSeq"))?;
        let method = Method::parse(m).map_err(|_| Error::BadHeader("CSeq"))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_rport_and_received() {
        let mut v = Via::parse("SIP/2.0/udp 10.0.0.1:5060 ;branch=z9hG4bK-1;rport").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.branch(), Some("z9hG4bK-1"));
        assert_eq!(v.param("rport"), Some(None));
        v.set_param("rport", Some("5062".into()));
        v.set_param("received", Some("192.0.2.9".into()));
        assert_eq!(v.to_string(), "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1;rport=5062;received=192.0.2.9");
        assert!(Via::parse("SIP/2.0 host").is_err());
        assert!(Via::parse("HTTP/1.1/TCP host").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse("\"Bob, \\\"B\\\"\" <sip:bob@example.com;transport=tcp>;tag=abc").unwrap();
        assert_eq!(n.display.as_deref(), Some("Bob, \\\"B\\\""));
        assert_eq!(n.tag(), Some("abc"));
        assert_eq!(n.uri.transport().as_deref(), Some("tcp"));
        let a = NameAddr::parse("sip:alice@atlanta.com;tag=88").unwrap();
        assert_eq!(a.tag(), Some("88"));
        assert!(a.uri.params.is_empty());
        let b = NameAddr::parse("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8").unwrap();
        assert_eq!(b.display.as_deref(), Some("Anonymous"));
        assert!(NameAddr::parse("\"x <sip:a@b>").is_err());
    }

    #[test]
    fn list_splitting_respects_quotes_and_brackets() {
        let l = split_list("<sip:a@b;lr>, \"x,y\" <sip:c@d>,sip:e@f");
        assert_eq!(l, vec!["<sip:a@b;lr>", "\"x,y\" <sip:c@d>", "sip:e@f"]);
        let mut h = Headers::default();
        h.push("v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2");
        h.push("Via", "SIP/2.0/TCP c;branch=z9hG4bK3");
        assert_eq!(h.get_all("via").len(), 3);
        assert_eq!(h.top_via().unwrap().host, "a");
    }

    #[test]
    fn cseq() {
        assert_eq!(CSeq::parse(" 42  INVITE ").unwrap(), CSeq { seq: 42, method: Method::Invite });
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
    }
}
