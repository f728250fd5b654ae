//! Sequence-number and timestamp unwrapping.
//!
//! RTP sequence numbers are 16 bits and wrap every 65,536 packets (22 minutes at 50 packets/s);
//! timestamps are 32 bits and wrap every 149 hours at 8 kHz but may start anywhere, so a wrap
//! can come seconds into a call. Both are unwrapped to `i64` by taking, for each new value, the
//! extended value nearest to the highest seen so far (within half the range either way). The
//! first value is taken as is, so a packet reordered before the first one unwraps to a value
//! just below it (possibly negative), never to one 65,536 above.

/// Unwraps 16-bit sequence numbers into a monotonic `i64` space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqUnwrapper {
    highest: Option<i64>,
}

impl SeqUnwrapper {
    /// A fresh unwrapper.
    pub const fn new() -> Self {
        SeqUnwrapper { highest: None }
    }

    /// The extended value of `seq`, updating the highest seen.
    pub fn unwrap(&mut self, seq: u16) -> i64 {
        let ext = self.peek(seq);
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    /// The extended value of `seq` without updating.
    pub fn peek(&self, seq: u16) -> i64 {
        match self.highest {
            None => i64::from(seq),
            // Truncating the highest to 16 bits and taking the signed difference gives the
            // nearest extended value.
            Some(h) => h + i64::from(seq.wrapping_sub(h as u16) as i16),
        }
    }

    /// The highest extended value seen.
    pub const fn highest(&self) -> Option<i64> {
        self.highest
    }
}

/// Unwraps 32-bit RTP timestamps into a monotonic `i64` space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimestampUnwrapper {
    highest: Option<i64>,
}

impl TimestampUnwrapper {
    /// A fresh unwrapper.
    pub const fn new() -> Self {
        TimestampUnwrapper { highest: None }
    }

    /// The extended value of `ts`, updating the highest seen.
    pub fn unwrap(&mut self, ts: u32) -> i64 {
        let ext = self.peek(ts);
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    /// The extended value of `ts` without updating.
    pub fn peek(&self, ts: u32) -> i64 {
        match self.highest {
            None => i64::from(ts),
            Some(h) => h + i64::from(ts.wrapping_sub(h as u32) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_forward_and_reorders_back() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(65534), 65534);
        assert_eq!(u.unwrap(65535), 65535);
        assert_eq!(u.unwrap(1), 65537);
        assert_eq!(u.unwrap(0), 65536); // reordered across the wrap
        assert_eq!(u.unwrap(65533), 65533); // older, before the wrap
        assert_eq!(u.highest(), Some(65537));
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(0), 0);
        assert_eq!(u.unwrap(65535), -1); // reordered before the first packet
        for i in 1..200_000i64 {
            assert_eq!(u.unwrap(i as u16), i);
        }
    }

    #[test]
    fn timestamp_wraps() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 159), i64::from(u32::MAX) - 159);
        assert_eq!(u.unwrap(0), 1i64 << 32);
        assert_eq!(u.unwrap(160), (1i64 << 32) + 160);
        assert_eq!(u.unwrap(u32::MAX), i64::from(u32::MAX));
        assert_eq!(u.peek(320), (1i64 << 32) + 320);
    }
}
