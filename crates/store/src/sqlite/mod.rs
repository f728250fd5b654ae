//! The SQLite backend: one connection per [`SqliteStore`] behind a mutex.
//!
//! One connection suffices for a single node: SQLite serialises writers anyway, and each call is
//! one short transaction. Several stores (or processes) may open the same file: WAL lets readers
//! run beside the writer, `BEGIN IMMEDIATE` makes writers queue on the lock (up to the busy
//! timeout) instead of failing on a read-to-write upgrade.
//!
//! Open sequence: create the data directory, open the file, probe it (a non-SQLite or corrupt file
//! is [`StoreError::NotADatabase`] here, never a panic), set the pragmas (the switch to WAL is
//! retried while another opener holds the lock), migrate.

mod appointments;
mod appointments_api;
mod calls;
mod events;
mod flows;
mod keys;
mod migrations;
mod query;
mod resources;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

pub use migrations::SCHEMA_VERSION;

use crate::StoreError;

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "frontdesk.db";
/// The default data directory (`--data`).
pub const DEFAULT_DATA_DIR: &str = "./data";
/// How long a writer waits for another writer's lock before [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`crate::Store`].
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Called after a commit that wrote events (see `events.rs`).
    listeners: events::Listeners,
}

impl SqliteStore {
    /// Opens (or creates) `frontdesk.db` in a data directory, creating the directory.
    ///
    /// # Errors
    /// See [`SqliteStore::open`]; [`StoreError::Open`] when the directory cannot be created.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Open { path: dir.to_path_buf(), source: Box::new(e) })?;
        SqliteStore::open(dir.join(DB_FILE_NAME))
    }

    /// Opens (or creates) a database file and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::NotADatabase`] for a non-SQLite or corrupt file,
    /// [`StoreError::ForeignDatabase`], [`StoreError::SchemaTooNew`], [`StoreError::Migration`],
    /// [`StoreError::Open`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)
            .map_err(|e| StoreError::Open { path: path.clone(), source: Box::new(e) })?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(&path, e))?;
        // The first read of the file: a garbage file fails here.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))
            .map_err(|e| open_error(&path, e))?;
        let mode: String =
            busy_retry(|| conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)))
                .map_err(|e| open_error(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "store: WAL journal not available, using {mode}");
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| open_error(&path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| open_error(&path, e))?;
        migrations::migrate(&mut conn, &path).map_err(|e| match e {
            StoreError::Database(src) => classify_boxed(&path, src),
            other => other,
        })?;
        Ok(SqliteStore { conn: Mutex::new(conn), path, listeners: events::Listeners::default() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    /// A database error.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.lock().pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check` is `ok`.
    ///
    /// # Errors
    /// A database error.
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let s: String = self.lock().query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its transaction (rolled back): the connection is
        // usable, so a poisoned lock is recovered rather than propagated.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; an error rolls everything back.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        events::take_emitted();
        let out = f(&tx)?;
        tx.commit()?;
        drop(conn);
        if events::take_emitted() {
            self.listeners.fire();
        }
        Ok(out)
    }

    /// Runs `f` in a read transaction (one consistent snapshot).
    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }
}

/// Runs `f` again while SQLite answers busy, for up to the busy timeout.
///
/// Switching a new file to WAL takes the write lock from inside a read, and SQLite answers busy at
/// once, without the busy handler, when another connection is doing the same (it would deadlock
/// otherwise). Several processes opening one new data directory together hit exactly that.
fn busy_retry<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    const PAUSE: Duration = Duration::from_millis(5);
    // Counted in attempts (the pauses add up to the busy timeout), not read off a clock.
    let attempts = BUSY_TIMEOUT.as_millis() / PAUSE.as_millis();
    let mut tried = 1;
    loop {
        match f() {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && tried < attempts => {
                tried += 1;
                std::thread::sleep(PAUSE);
            }
            other => return other,
        }
    }
}

fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path: path.to_path_buf(), detail: e.to_string() }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::Open { path: path.to_path_buf(), source: Box::new(e) }
        }
        _ => StoreError::from(e),
    }
}

fn classify_boxed(path: &Path, src: crate::BackendError) -> StoreError {
    match src.downcast::<rusqlite::Error>() {
        Ok(e) => open_error(path, *e),
        Err(other) => StoreError::Database(other),
    }
}

/// An instant as stored (UTC milliseconds).
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A stored instant back.
pub(crate) fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::BadData(format!("instant {ms} ms: {e}")))
}

/// An optional stored instant back.
pub(crate) fn ts_opt(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(ts).transpose()
}
