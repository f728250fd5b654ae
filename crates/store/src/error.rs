//! The one error enum of this crate.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::{AppointmentId, HoldId};

/// A boxed backend error (SQLite today, Postgres later): the public API does not name the driver.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory or database file could not be created or opened.
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: BackendError },
    /// The file exists but is not an SQLite database, or it is corrupt.
    #[error(
        "{path} is not a readable SQLite database ({detail}); it may be corrupt or another kind of \
         file: move it aside and restore it from a backup, or start with an empty data directory \
         (a new database is created when the file does not exist)"
    )]
    NotADatabase { path: PathBuf, detail: String },
    /// The file is an SQLite database of another application.
    #[error(
        "{path} is an SQLite database but not a frontdesk one ({detail}); point --data at another \
         directory"
    )]
    ForeignDatabase { path: PathBuf, detail: String },
    /// The database was written by a newer frontdesk (schema version above what this build knows).
    #[error(
        "{path} has schema version {found}, newer than the {supported} this build supports: it was \
         written by a newer frontdesk; upgrade frontdesk (it will not downgrade a database)"
    )]
    SchemaTooNew { path: PathBuf, found: i64, supported: i64 },
    /// A schema migration failed (the database is left at the version it had).
    #[error("schema migration to version {version} failed: {source}")]
    Migration { version: i64, source: BackendError },
    /// The slot overlaps a live booking or a live hold on the same resource.
    #[error("slot conflicts with a booking or hold on {resource} at {start}")]
    Conflict { resource: String, start: Timestamp },
    /// No such hold (never made, released, or already expired and swept).
    #[error("hold {0} not found")]
    HoldNotFound(HoldId),
    /// The hold's expiry has passed.
    #[error("hold {0} expired")]
    HoldExpired(HoldId),
    /// An idempotency key was reused for a different request.
    #[error("idempotency key {key:?} was already used for a different hold")]
    IdempotencyKeyReused { key: String },
    /// No such appointment.
    #[error("appointment {0} not found")]
    AppointmentNotFound(AppointmentId),
    /// The appointment is no longer booked (cancelled or rescheduled).
    #[error("appointment {id} is {status}, not booked")]
    NotBooked { id: AppointmentId, status: String },
    /// Some other record was not found.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A published flow version cannot change.
    #[error("flow {name} version {version} is published and immutable")]
    Immutable { name: String, version: i64 },
    /// A caller-supplied value is invalid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A stored value could not be read back (the database was edited by hand, or a bug).
    #[error("bad stored data: {0}")]
    BadData(String),
    /// The database stayed locked by another writer beyond the busy timeout.
    #[error("the database is busy (locked by another writer beyond the busy timeout)")]
    Busy,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(BackendError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Database(Box::new(e)),
        }
    }
}

/// Whether an SQLite error is a UNIQUE (or primary key) constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
