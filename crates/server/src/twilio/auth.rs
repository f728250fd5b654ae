//! Who may open the Twilio media WebSocket (`/media/twilio`): checked at the HTTP upgrade,
//! before any call starts. Pure functions; `crate::http` calls them and asks the API's store
//! whether a key is live.
//!
//! A connection is accepted with either
//! - an API key (`frontdesk apikey create`) as `?token=<key>` in the URL or as
//!   `Authorization: Bearer <key>`: for streamdouble, tests and media bridges of your own; or
//! - a valid `X-Twilio-Signature`, when the gateway knows the account's auth token
//!   (`--twilio-auth-token` / `FRONTDESK_TWILIO_AUTH_TOKEN`): what Twilio itself sends, since a
//!   `<Stream url>` may not carry a query string. Twilio's scheme: base64 of HMAC-SHA1, keyed
//!   with the auth token, over the full URL it requested (`wss://host/media/twilio`, with the
//!   query string if any) followed by the POST parameters sorted by name (none for a WebSocket).
//!   The URL is rebuilt from the `Host` header; `wss` and `ws`, and the host with and without
//!   its default port, are all tried (as Twilio's helper libraries do for the port), so a
//!   TLS-terminating proxy in front of the gateway must pass `Host` through unchanged.
//!
//! Everything else gets 401 with a body saying how to authenticate. A server without the API
//! (no store, so no keys) and without a Twilio auth token refuses every connection.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// HMAC-SHA1 (RFC 2104) of `data` under `key`.
fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut ipad, mut opad) = ([0x36u8; BLOCK], [0x5cu8; BLOCK]);
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha1::new().chain_update(ipad).chain_update(data).finalize();
    let outer = Sha1::new().chain_update(opad).chain_update(inner).finalize();
    let mut out = [0u8; 20];
    out.copy_from_slice(&outer);
    out
}

/// Twilio's request signature: base64(HMAC-SHA1(auth token, url + sorted name/value pairs)).
pub fn signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort_unstable();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    STANDARD.encode(hmac_sha1(auth_token.as_bytes(), data.as_bytes()))
}

/// Equality that takes the same time wherever the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The URLs Twilio may have signed for a request to `path_and_query` with this `Host` header.
pub(crate) fn candidate_urls(host: &str, path_and_query: &str) -> Vec<String> {
    let bare = match host.rsplit_once(':') {
        // A port (not the end of an IPv6 literal).
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let mut hosts = vec![host.to_owned(), bare.to_owned(), format!("{bare}:443"), format!("{bare}:80")];
    hosts.sort();
    hosts.dedup();
    let mut urls = Vec::new();
    for scheme in ["wss", "ws"] {
        for h in &hosts {
            urls.push(format!("{scheme}://{h}{path_and_query}"));
        }
    }
    urls
}

/// Whether `presented` (the `X-Twilio-Signature` header) signs one of `urls` (no parameters:
/// a WebSocket upgrade is a GET).
pub(crate) fn signature_valid(auth_token: &str, presented: &str, urls: &[String]) -> bool {
    urls.iter().any(|u| constant_time_eq(signature(auth_token, u, &[]).as_bytes(), presented.as_bytes()))
}

/// The API key a client presented: `Authorization: Bearer <key>`, else `token=` in the query.
pub(crate) fn presented_key(authorization: Option<&str>, query: Option<&str>) -> Option<String> {
    if let Some(key) = authorization.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim)
        && !key.is_empty()
    {
        return Some(key.to_owned());
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| percent_decode(v))
        .filter(|v| !v.is_empty())
}

/// `%XX` and `+` decoding of a query value (keys are plain ASCII, but a client may escape them).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
        match b[i] {
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                let v = hex(i + 1).unwrap_or(0) * 16 + hex(i + 2).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The 401 body: what was wrong and how to authenticate.
pub(crate) fn refusal(has_api: bool, has_twilio_token: bool, signature_sent: bool) -> String {
    let key = "an API key (frontdesk apikey create) as ?token=<key> or Authorization: Bearer <key>";
    let sig =
        "Twilio's X-Twilio-Signature (start serve with --twilio-auth-token or FRONTDESK_TWILIO_AUTH_TOKEN)";
    match (has_api, has_twilio_token) {
        (true, true) if signature_sent => format!(
            "X-Twilio-Signature does not match: check the auth token given to --twilio-auth-token and that a proxy passes Host through unchanged; or connect with {key}"
        ),
        (true, _) => format!("/media/twilio needs {key}, or {sig}"),
        (false, true) if signature_sent => {
            "X-Twilio-Signature does not match: check the auth token given to --twilio-auth-token and that a proxy passes Host through unchanged".to_owned()
        }
        (false, true) => format!("/media/twilio needs {sig}"),
        (false, false) => format!(
            "/media/twilio is closed: this gateway has no API keys (no store) and no Twilio auth token; configure {sig}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in Twilio's security docs and helper-library snippets.
    #[test]
    fn twilio_published_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ];
        assert_eq!(signature("12345", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        // Order of the parameters does not matter: they are sorted by name.
        let mut rev = params;
        rev.reverse();
        assert_eq!(signature("12345", url, &rev), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        let other = [
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
        ];
        assert_eq!(signature("12345", url, &other), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    /// RFC 2202 test cases 1 and 6 (a key longer than the block).
    #[test]
    fn hmac_sha1_rfc2202() {
        let hex = |b: [u8; 20]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(hmac_sha1(&[0x0b; 20], b"Hi There")), "b617318655057264e28bc0b6fb378c8ef146be00");
        assert_eq!(
            hex(hmac_sha1(&[0xaa; 80], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn signature_over_the_wss_url_with_and_without_port() {
        let signed = signature("tok", "wss://gw.example.com/media/twilio", &[]);
        let urls = candidate_urls("gw.example.com", "/media/twilio");
        assert!(signature_valid("tok", &signed, &urls));
        assert!(signature_valid("tok", &signed, &candidate_urls("gw.example.com:443", "/media/twilio")));
        assert!(!signature_valid("other", &signed, &urls));
        assert!(!signature_valid("tok", &signed, &candidate_urls("evil.example.com", "/media/twilio")));
        assert!(!signature_valid("tok", &signed, &candidate_urls("gw.example.com", "/media/twilio?x=1")));
        assert!(!signature_valid("tok", "", &urls));
        // IPv6 literal without a port is left alone.
        assert!(candidate_urls("[::1]", "/m").contains(&"wss://[::1]/m".to_owned()));
    }

    #[test]
    fn key_from_bearer_or_query() {
        assert_eq!(presented_key(Some("Bearer fdk_1"), None).as_deref(), Some("fdk_1"));
        assert_eq!(presented_key(None, Some("a=1&token=fdk_2")).as_deref(), Some("fdk_2"));
        assert_eq!(presented_key(None, Some("token=fdk%5F3")).as_deref(), Some("fdk_3"));
        assert_eq!(presented_key(Some("Basic x"), Some("token=")), None);
        assert_eq!(presented_key(None, Some("tokens=x")), None);
        assert_eq!(presented_key(None, None), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn refusals_say_how_to_authenticate() {
        assert!(refusal(true, false, false).contains("?token=<key>"));
        assert!(refusal(false, false, false).contains("--twilio-auth-token"));
        assert!(refusal(true, true, true).contains("does not match"));
    }
}
