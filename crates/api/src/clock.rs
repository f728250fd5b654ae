//! The API's clock: wall time for records (`created_at`, `started_at`...) and a monotonic clock
//! for request latencies. Handlers are told the time through [`Clock`]; [`SystemClock`] is the
//! one place this crate reads a clock.

use std::time::Duration;

use jiff::Timestamp;

/// Where handlers get the time (tests pass a fixed or stepping clock).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the API shell's one wall-clock read
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A monotonic stopwatch for request and stage latencies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch(tokio::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // the API shell's one monotonic clock read
    pub(crate) fn start() -> Stopwatch {
        Stopwatch(tokio::time::Instant::now())
    }

    #[allow(clippy::disallowed_methods)] // the API shell's one monotonic clock read
    pub(crate) fn elapsed(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.0)
    }
}
