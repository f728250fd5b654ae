//! DTMF digits, shared by RFC 4733 telephone-events, in-band detection and the flow engine.

use std::fmt;

/// One DTMF key: 0-9, `*`, `#`, A-D.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digit(u8);

/// A character or event code that is not a DTMF key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a DTMF key: {0:?} (expected 0-9, *, #, A-D)")]
pub struct InvalidDigit(pub char);

impl Digit {
    /// All sixteen keys in RFC 4733 event-code order (0-9, *, #, A-D).
    pub const ALL: [Digit; 16] = {
        let mut a = [Digit(0); 16];
        let mut i = 0;
        while i < 16 {
            a[i] = Digit(i as u8);
            i += 1;
        }
        a
    };

    /// The key for an RFC 4733 event code (0-15), or `None` for other events (flash, tones).
    pub const fn from_event(code: u8) -> Option<Digit> {
        if code < 16 { Some(Digit(code)) } else { None }
    }

    /// The RFC 4733 event code: 0-9 for digits, 10 `*`, 11 `#`, 12-15 A-D.
    pub const fn event_code(self) -> u8 {
        self.0
    }

    /// The key for a character (case-insensitive for A-D).
    pub fn from_char(c: char) -> Result<Digit, InvalidDigit> {
        let code = match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            'a'..='d' => c as u8 - b'a' + 12,
            _ => return Err(InvalidDigit(c)),
        };
        Ok(Digit(code))
    }

    /// The key's character (A-D upper case).
    pub const fn as_char(self) -> char {
        match self.0 {
            0..=9 => (b'0' + self.0) as char,
            10 => '*',
            11 => '#',
            _ => (b'A' + self.0 - 12) as char,
        }
    }

    /// The (low, high) DTMF tone pair in Hz (ITU-T Q.23).
    pub const fn frequencies(self) -> (u16, u16) {
        const LOW: [u16; 4] = [697, 770, 852, 941];
        const HIGH: [u16; 4] = [1209, 1336, 1477, 1633];
        let (row, col) = match self.as_char() {
            '1' => (0, 0),
            '2' => (0, 1),
            '3' => (0, 2),
            'A' => (0, 3),
            '4' => (1, 0),
            '5' => (1, 1),
            '6' => (1, 2),
            'B' => (1, 3),
            '7' => (2, 0),
            '8' => (2, 1),
            '9' => (2, 2),
            'C' => (2, 3),
            '*' => (3, 0),
            '0' => (3, 1),
            '#' => (3, 2),
            _ => (3, 3), // 'D'
        };
        (LOW[row], HIGH[col])
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_and_codes_round_trip() {
        for (i, d) in Digit::ALL.iter().enumerate() {
            assert_eq!(d.event_code() as usize, i);
            assert_eq!(Digit::from_char(d.as_char()), Ok(*d));
        }
        assert_eq!("0123456789*#ABCD", Digit::ALL.iter().map(|d| d.as_char()).collect::<String>());
        assert_eq!(Digit::from_char('x'), Err(InvalidDigit('x')));
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_char('5').map(Digit::frequencies), Ok((770, 1336)));
        assert_eq!(Digit::from_char('#').map(Digit::frequencies), Ok((941, 1477)));
        assert_eq!(Digit::from_char('d').map(Digit::frequencies), Ok((941, 1633)));
    }
}
