//! Stream framing for SIP over TCP (RFC 3261 18.3): messages are delimited by their
//! Content-Length, which is therefore mandatory on streams.

use super::parse::{MAX_MESSAGE_LEN, find_header_end, skip_keepalive};
use crate::Error;

/// Accumulates bytes read from a TCP connection and cuts them into whole messages.
///
/// Drain contract: after every [`StreamFramer::push`], call [`StreamFramer::next_message`] until
/// it returns `Ok(None)`. An `Err` means the stream is unrecoverable (no Content-Length, bad
/// header section, too large): close the connection.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        StreamFramer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message's bytes, `Ok(None)` if more are needed.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let skip = self.buf.len() - skip_keepalive(&self.buf).len();
        self.buf.drain(..skip);
        if self.buf.is_empty() {
            return Ok(None);
        }
        let Some((head_len, body_start)) = find_header_end(&self.buf) else {
            if self.buf.len() > MAX_MESSAGE_LEN {
                return Err(Error::TooLarge(MAX_MESSAGE_LEN));
            }
            return Ok(None);
        };
        let head = std::str::from_utf8(self.buf.get(..head_len).unwrap_or_default())
            .map_err(|_| Error::Malformed("header section is not UTF-8"))?;
        let mut content_length = None;
        for line in head.split('\n') {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim();
                if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
                    let n: usize = value.trim().parse().map_err(|_| Error::BadHeader("Content-Length"))?;
                    content_length = Some(n);
                }
            }
        }
        let n = content_length.ok_or(Error::BadHeader("Content-Length"))?;
        let total = body_start
            .checked_add(n)
            .filter(|t| *t <= MAX_MESSAGE_LEN)
            .ok_or(Error::TooLarge(MAX_MESSAGE_LEN))?;
        if self.buf.len() < total {
            return Ok(None);
        }
        let msg: Vec<u8> = self.buf.drain(..total).collect();
        Ok(Some(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn splits_a_stream_in_arbitrary_chunks() {
        let a = b"OPTIONS sip:a@10.0.0.1 SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 4\r\n\r\nbody";
        let b = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(a);
        stream.extend_from_slice(b);
        for chunk in [1, 3, 7, 1000] {
            let mut f = StreamFramer::new();
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                f.push(c);
                while let Some(m) = f.next_message().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, vec![a.to_vec(), b.to_vec()], "chunk {chunk}");
            assert_eq!(f.buffered(), 0);
            assert!(Message::parse(&got[0]).is_ok());
        }
    }

    #[test]
    fn missing_content_length_is_an_error_on_streams() {
        let mut f = StreamFramer::new();
        f.push(b"BYE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n");
        assert_eq!(f.next_message(), Err(Error::BadHeader("Content-Length")));
        let mut g = StreamFramer::new();
        g.push(&vec![b'x'; MAX_MESSAGE_LEN + 1]);
        assert_eq!(g.next_message(), Err(Error::TooLarge(MAX_MESSAGE_LEN)));
    }
}
