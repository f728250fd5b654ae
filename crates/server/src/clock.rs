//! The shell's one clock: tokio's monotonic clock mapped onto [`frontdesk_types::Instant`].
//!
//! Sans-IO cores are told the time; this module is the only code that reads it. It reads
//! `tokio::time::Instant`, not `std`'s, so tests with `#[tokio::test(start_paused = true)]`
//! drive every core on a simulated clock. The wall clock is read here too, for the two things
//! that need it: RTCP sender reports (NTP time) and seeds (SSRCs, SIP tags).

use std::time::Duration;

use frontdesk_types::Instant;

/// A monotonic origin; `now()` is the time since it, as the cores' [`Instant`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    #[allow(clippy::disallowed_methods)] // the one place the shell reads its monotonic clock
    pub(crate) fn new() -> Clock {
        Clock { origin: tokio::time::Instant::now() }
    }

    /// The current instant on the cores' timeline.
    #[allow(clippy::disallowed_methods)] // the one place the shell reads its monotonic clock
    pub(crate) fn now(&self) -> Instant {
        let us = tokio::time::Instant::now().saturating_duration_since(self.origin).as_micros();
        Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// The tokio deadline for a core's instant (for `sleep_until`).
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.origin + Duration::from_micros(at.as_micros())
    }
}

/// Seconds from 1900 (NTP era 0) to 1970 (Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The wall clock as a 64-bit NTP timestamp (RTCP sender reports).
#[allow(clippy::disallowed_methods)] // wall time only for the NTP field of RTCP SR
pub(crate) fn ntp_now() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// A 64-bit seed that differs between processes and calls (SSRCs, SIP tags and branches).
#[allow(clippy::disallowed_methods)] // entropy from the wall clock, mixed with a counter
pub(crate) fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut x = (t.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32)
        ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_tokio_clock() {
        let c = Clock::new();
        assert_eq!(c.now(), Instant::ZERO);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(c.now(), Instant::from_millis(1500));
        assert_eq!(
            c.deadline(Instant::from_millis(2000)) - c.deadline(Instant::ZERO),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn ntp_time_is_after_2020_and_seeds_differ() {
        assert!(ntp_now() >> 32 > NTP_UNIX_OFFSET + 50 * 365 * 86_400);
        assert_ne!(seed(), seed());
    }
}
