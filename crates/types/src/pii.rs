//! [`Pii`]: caller data that must not reach logs.

use std::fmt;

/// Wraps caller data (phone numbers, names, transcripts) so that `Debug` and `Display` print
/// `REDACTED`. Reach the value deliberately with [`Pii::expose`] where it is needed (storage,
/// the flow engine), never in a log line.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Pii(value)
    }

    /// The wrapped value, for code that needs it (not for logs).
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Pii(value)
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

impl<T> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let p = Pii::new(String::from("+15551234567"));
        assert_eq!(format!("{p} {p:?} {:?}", Some(&p)), "REDACTED REDACTED Some(REDACTED)");
        assert_eq!(p.expose(), "+15551234567");
    }
}
