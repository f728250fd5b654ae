//! frontdesk-schedule: the scheduling core, sans-IO (the current time is always passed in).
//!
//! - [`nlu`]: dates and times as callers say them ([`parse_datetime`], [`read_back`]).
//!
//! Time zones and DST come from `jiff` with its bundled tz database, so answers do not depend on
//! the host's zoneinfo files.

pub mod nlu;

pub use nlu::{DateTimeMatch, Grain, Holiday, parse_datetime, read_back, rfc3339};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Nothing date- or time-like was recognised in the text.
    #[error("no date or time recognised")]
    NotRecognised,
    /// A date/time computation went out of range or a zone lookup failed.
    #[error("date/time error: {0}")]
    Time(String),
}

impl ScheduleError {
    pub(crate) fn time(e: jiff::Error) -> ScheduleError {
        ScheduleError::Time(e.to_string())
    }
}

/// The error of [`parse_datetime`] (the crate has one error enum).
pub type NluError = ScheduleError;
