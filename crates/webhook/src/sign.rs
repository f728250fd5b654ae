//! Request signing: HMAC-SHA256 (RFC 2104) over `"<unix seconds>.<body>"`.
//!
//! Header (name [`SIGNATURE_HEADER`]): `X-Frontdesk-Signature: t=<unix seconds>,v1=<lowercase hex>`.
//! A receiver recomputes `HMAC-SHA256(secret, t + "." + body)` over the raw body bytes it got,
//! compares in constant time ([`verify`]), and rejects timestamps too far from its own clock to
//! stop replays. The timestamp is passed in: this module reads no clock.

use sha2::{Digest as _, Sha256};

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "X-Frontdesk-Signature";

const BLOCK: usize = 64;

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for m in msg {
        inner.update(m);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The header value for `body` sent at `unix_secs`: `t=<unix_secs>,v1=<hex>`.
pub fn sign(secret: &[u8], unix_secs: u64, body: &[u8]) -> String {
    let t = unix_secs.to_string();
    let mac = hmac_sha256(secret, &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex(&mac))
}

/// Checks a header value against `body`; returns its timestamp when the signature is valid
/// (the caller checks the timestamp's age against its own clock).
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> Option<u64> {
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (t, v1) = (t?, v1?);
    let want = sign(secret, t, body);
    let want = want.rsplit_once("v1=").map(|(_, h)| h)?;
    // Constant time over the expected length.
    let eq =
        want.len() == v1.len() && want.bytes().zip(v1.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    eq.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
    }

    #[test]
    fn rfc4231_vectors() {
        // Test case 1.
        let mac = hmac_sha256(&[0x0b; 20], &[b"Hi There"]);
        assert_eq!(hex(&mac), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(hex(&mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        assert_eq!(unhex("0b0c"), vec![11, 12]);
    }

    #[test]
    fn sign_and_verify() {
        let h = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"s3cret", &h, b"{\"a\":1}"), Some(1_700_000_000));
        assert_eq!(verify(b"other", &h, b"{\"a\":1}"), None);
        assert_eq!(verify(b"s3cret", &h, b"{\"a\":2}"), None);
        assert_eq!(verify(b"s3cret", "t=1,v1=zz", b""), None);
        assert_eq!(verify(b"s3cret", "garbage", b""), None);
    }
}
