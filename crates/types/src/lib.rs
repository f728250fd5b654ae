//! Shared vocabulary of the `frontdesk` crates: time, sample rates, audio frames, DTMF digits and
//! the [`Pii`] wrapper for caller data.
//!
//! Everything here is sans-IO: no clock reads, no sockets, no async runtime. Time is an
//! [`Instant`] that the caller passes in; the tokio shell maps its monotonic clock onto it, and
//! tests drive it by hand (a simulated clock).

mod audio;
mod dtmf;
mod pii;
mod time;

pub use audio::{AudioFrame, FRAME_MS, SampleRate, UnsupportedRate};
pub use dtmf::{Digit, InvalidDigit};
pub use pii::Pii;
pub use time::Instant;

use std::fmt;

/// Identifier of one call (one leg), unique within a gateway process.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub String);

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallId({})", self.0)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
