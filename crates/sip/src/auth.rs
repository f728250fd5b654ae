//! Digest authentication for SIP (RFC 3261 22.4 with RFC 7616 / RFC 2617 computation):
//! MD5, MD5-sess, SHA-256 and SHA-256-sess; `qop=auth` (with `nc`/`cnonce`) or no qop.
//!
//! [`Challenge::parse`] reads a `WWW-Authenticate` / `Proxy-Authenticate` value,
//! [`Challenge::respond`] builds the `Authorization` / `Proxy-Authorization` value.
//! [`Credentials::verify`] checks an answer (used by tests and any future registrar role).
//! When a 401/407 carries several challenges, [`best_challenge`] prefers SHA-256.

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::Error;

/// Digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (the default when absent).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256.
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
}

impl Algorithm {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "MD5-SESS" => Algorithm::Md5Sess,
            "SHA-256" => Algorithm::Sha256,
            "SHA-256-SESS" => Algorithm::Sha256Sess,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Indexing cannot panic: a nibble is 0..=15 and DIGITS has 16 entries.
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parses `Scheme k=v, k="quoted, value", ...` into the scheme and parameters.
fn parse_auth_params(s: &str) -> Option<(String, Vec<(String, String)>)> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((s, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, c) in q.char_indices() {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                } else {
                    out.push(c);
                }
            }
            (out, q.get(end? + 1..).unwrap_or_default())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after.get(..end).unwrap_or_default().trim().to_owned(), after.get(end..).unwrap_or_default())
        };
        params.push((k.trim().to_ascii_lowercase(), v));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some((scheme.to_owned(), params))
}

fn get<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A digest challenge from a 401 or 407.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// realm
    pub realm: String,
    /// nonce
    pub nonce: String,
    /// opaque, echoed back
    pub opaque: Option<String>,
    /// algorithm
    pub algorithm: Algorithm,
    /// Whether `qop=auth` was offered (we never use auth-int).
    pub qop_auth: bool,
    /// `stale=true`: the nonce expired, retry with the new one even if we already tried.
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge header value; non-Digest schemes and unknown algorithms are errors.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let (scheme, p) = parse_auth_params(value).ok_or(Error::Auth("malformed challenge"))?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(Error::Auth("not a Digest challenge"));
        }
        let algorithm = match get(&p, "algorithm") {
            Some(a) => Algorithm::parse(a).ok_or(Error::Auth("unsupported algorithm"))?,
            None => Algorithm::Md5,
        };
        let qop = get(&p, "qop");
        if qop.is_some_and(|q| !q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth"))) {
            return Err(Error::Auth("only qop=auth is supported"));
        }
        Ok(Challenge {
            realm: get(&p, "realm").ok_or(Error::Auth("challenge without realm"))?.to_owned(),
            nonce: get(&p, "nonce").ok_or(Error::Auth("challenge without nonce"))?.to_owned(),
            opaque: get(&p, "opaque").map(str::to_owned),
            algorithm,
            qop_auth: qop.is_some(),
            stale: get(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` value answering this challenge for `method` on `uri`.
    /// `cnonce` should be fresh random text; `nc` counts uses of this nonce (from 1).
    pub fn respond(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let nc_s = format!("{nc:08x}");
        let response = compute(
            self.algorithm,
            user,
            &self.realm,
            password,
            &self.nonce,
            method,
            uri,
            self.qop_auth.then_some((&nc_s, cnonce)),
        );
        let mut v = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", algorithm={}",
            quote(user),
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.as_str()
        );
        if self.qop_auth {
            v.push_str(&format!(", cnonce=\"{}\", qop=auth, nc={nc_s}", quote(cnonce)));
        }
        if let Some(o) = &self.opaque {
            v.push_str(&format!(", opaque=\"{}\"", quote(o)));
        }
        v
    }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[allow(clippy::too_many_arguments)] // The digest formula has this many inputs.
fn compute(
    alg: Algorithm,
    user: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let mut ha1 = alg.hash(&format!("{user}:{realm}:{password}"));
    if alg.is_sess() {
        let cnonce = qop.map_or("", |(_, c)| c);
        ha1 = alg.hash(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => alg.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => alg.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Picks the challenge to answer among several header values: SHA-256 over MD5, parseable only.
pub fn best_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let mut all: Vec<Challenge> = values.into_iter().filter_map(|v| Challenge::parse(v).ok()).collect();
    all.sort_by_key(|c| match c.algorithm {
        Algorithm::Sha256 | Algorithm::Sha256Sess => 0,
        Algorithm::Md5 | Algorithm::Md5Sess => 1,
    });
    all.into_iter().next()
}

/// Parsed `Authorization` credentials (server side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    params: Vec<(String, String)>,
}

impl Credentials {
    /// Parses an `Authorization` / `Proxy-Authorization` value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let (scheme, params) = parse_auth_params(value).ok_or(Error::Auth("malformed credentials"))?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(Error::Auth("not Digest credentials"));
        }
        Ok(Credentials { params })
    }

    /// A parameter value (lower-case name).
    pub fn param(&self, name: &str) -> Option<&str> {
        get(&self.params, name)
    }

    /// Whether the response is right for `password` and `method`.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        let p = |k| self.param(k).unwrap_or_default();
        let Some(alg) = Algorithm::parse(self.param("algorithm").unwrap_or("MD5")) else { return false };
        let qop = self.param("qop").map(|_| (p("nc"), p("cnonce")));
        compute(alg, p("username"), p("realm"), password, p("nonce"), method, p("uri"), qop) == p("response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_and_rfc7616_vectors() {
        // RFC 2617 section 3.5.
        let r = compute(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            Some(("00000001", "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
        // RFC 7616 section 3.9.1, MD5 and SHA-256.
        let args = (
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        );
        let q = Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"));
        assert_eq!(
            compute(Algorithm::Md5, args.0, args.1, args.2, args.3, "GET", "/dir/index.html", q),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        assert_eq!(
            compute(Algorithm::Sha256, args.0, args.1, args.2, args.3, "GET", "/dir/index.html", q),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn challenge_response_verifies() {
        let c = Challenge::parse(
            "Digest realm=\"asterisk\", nonce=\"5f1a\",qop=\"auth,auth-int\", opaque=\"x,y\", algorithm=MD5",
        )
        .unwrap();
        assert!(c.qop_auth && !c.stale);
        assert_eq!(c.opaque.as_deref(), Some("x,y"));
        let v = c.respond("1001", "s3cret", "REGISTER", "sip:pbx.example.com", "abc", 1);
        assert!(v.contains("nc=00000001") && v.contains("qop=auth") && v.contains("opaque=\"x,y\""), "{v}");
        let cred = Credentials::parse(&v).unwrap();
        assert!(cred.verify("REGISTER", "s3cret"));
        assert!(!cred.verify("REGISTER", "wrong"));
        assert!(!cred.verify("INVITE", "s3cret"));
        // No qop: RFC 2069 compatibility form.
        let old = Challenge::parse("Digest realm=\"r\", nonce=\"n\"").unwrap();
        let v = old.respond("u", "p", "INVITE", "sip:x@y", "c", 1);
        assert!(!v.contains("qop"));
        assert!(Credentials::parse(&v).unwrap().verify("INVITE", "p"));
    }

    #[test]
    fn picks_sha256_and_rejects_what_it_cannot_answer() {
        let best = best_challenge([
            "Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"",
            "Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\"",
        ])
        .unwrap();
        assert_eq!((best.algorithm, best.nonce.as_str()), (Algorithm::Sha256, "n2"));
        assert!(Challenge::parse("Basic realm=\"r\"").is_err());
        assert!(Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"").is_err());
        assert!(Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256").is_err());
        assert!(Challenge::parse("Digest nonce=\"n\"").is_err());
        assert!(Challenge::parse("Digest realm=\"unterminated").is_err());
        let s =
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", stale=TRUE, algorithm=sha-256-sess").unwrap();
        assert!(s.stale);
        let v = s.respond("u", "p", "INVITE", "sip:x@y", "c", 2);
        assert!(Credentials::parse(&v).unwrap().verify("INVITE", "p"));
    }
}
