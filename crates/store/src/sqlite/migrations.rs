//! Schema migrations: numbered SQL scripts, applied at open in ONE `BEGIN IMMEDIATE` transaction
//! that also sets `PRAGMA user_version` (the schema version) and `PRAGMA application_id` (marks
//! the file as frontdesk's). A failure rolls back to the version the file had.
//!
//! Rules: never edit a released script, append a new one. A database whose `user_version` is above
//! [`SCHEMA_VERSION`] was written by a newer build and is refused, never downgraded.
//!
//! Conventions: instants are `*_ms` INTEGER (UTC milliseconds since the Unix epoch); durations are
//! seconds; wall-clock times are seconds after local midnight (`end_s` NULL = 24:00); dates are
//! `YYYY-MM-DD` text; zones are IANA names.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// `PRAGMA application_id` of a frontdesk database ("FDSK").
pub(crate) const APPLICATION_ID: i64 = 0x4644_534B;

/// Migration scripts; script `i` takes the schema from version `i` to `i + 1`.
/// V2: the HTTP API's appointment notes, idempotency keys and listing indexes
/// (`appointments_api.rs`).
/// V3: the events outbox, webhook subscriptions and deliveries (`events.rs`).
const MIGRATIONS: &[&str] = &[V1, super::appointments_api::MIGRATION, super::events::SCHEMA];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = r#"
CREATE TABLE resources (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    kind  TEXT NOT NULL CHECK (kind IN ('provider', 'room')),
    tz    TEXT NOT NULL
);
CREATE TABLE resource_hours (
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday
    start_s     INTEGER NOT NULL CHECK (start_s >= 0 AND start_s < 86400),
    end_s       INTEGER CHECK (end_s IS NULL OR (end_s > start_s AND end_s < 86400))
);
CREATE INDEX resource_hours_by_resource ON resource_hours(resource_id);
-- One row per dated exception; no hours rows = closed that day.
CREATE TABLE resource_exceptions (
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    date        TEXT NOT NULL,
    PRIMARY KEY (resource_id, date)
);
CREATE TABLE resource_exception_hours (
    resource_id TEXT NOT NULL,
    date        TEXT NOT NULL,
    start_s     INTEGER NOT NULL CHECK (start_s >= 0 AND start_s < 86400),
    end_s       INTEGER CHECK (end_s IS NULL OR (end_s > start_s AND end_s < 86400)),
    FOREIGN KEY (resource_id, date) REFERENCES resource_exceptions(resource_id, date) ON DELETE CASCADE
);
CREATE INDEX resource_exception_hours_by_day ON resource_exception_hours(resource_id, date);
CREATE TABLE resource_holidays (
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    date        TEXT NOT NULL,
    PRIMARY KEY (resource_id, date)
);

CREATE TABLE appointment_types (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    duration_s       INTEGER NOT NULL CHECK (duration_s > 0),
    buffer_before_s  INTEGER NOT NULL CHECK (buffer_before_s >= 0),
    buffer_after_s   INTEGER NOT NULL CHECK (buffer_after_s >= 0)
);

CREATE TABLE appointments (
    id                  INTEGER PRIMARY KEY,
    resource_id         TEXT NOT NULL REFERENCES resources(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    start_ms            INTEGER NOT NULL,
    end_ms              INTEGER NOT NULL CHECK (end_ms > start_ms),
    block_start_ms      INTEGER NOT NULL CHECK (block_start_ms <= start_ms),
    block_end_ms        INTEGER NOT NULL CHECK (block_end_ms >= end_ms),
    tz                  TEXT NOT NULL,
    caller_phone        TEXT NOT NULL,
    caller_name         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'rescheduled')),
    created_ms          INTEGER NOT NULL,
    ended_ms            INTEGER,
    replaces_id         INTEGER REFERENCES appointments(id),
    hold_id             INTEGER UNIQUE
);
-- R42: at most one live booking per (resource, slot start), whoever writes.
CREATE UNIQUE INDEX appointments_live_slot ON appointments(resource_id, start_ms) WHERE status = 'booked';
CREATE INDEX appointments_by_block ON appointments(resource_id, block_start_ms) WHERE status = 'booked';
CREATE INDEX appointments_by_phone ON appointments(caller_phone, start_ms);

-- Holds: deleted when released or swept after expiry; kept (booked_id set) once booked, so a
-- retried booking returns the same appointment.
CREATE TABLE holds (
    id                  INTEGER PRIMARY KEY,
    resource_id         TEXT NOT NULL REFERENCES resources(id),
    appointment_type_id TEXT NOT NULL REFERENCES appointment_types(id),
    start_ms            INTEGER NOT NULL,
    end_ms              INTEGER NOT NULL CHECK (end_ms > start_ms),
    block_start_ms      INTEGER NOT NULL,
    block_end_ms        INTEGER NOT NULL,
    tz                  TEXT NOT NULL,
    created_ms          INTEGER NOT NULL,
    expires_ms          INTEGER NOT NULL CHECK (expires_ms > created_ms),
    idempotency_key     TEXT UNIQUE,
    replaces_id         INTEGER REFERENCES appointments(id),
    booked_id           INTEGER REFERENCES appointments(id)
);
CREATE UNIQUE INDEX holds_open_slot ON holds(resource_id, start_ms) WHERE booked_id IS NULL;

CREATE TABLE flow_versions (
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version > 0),
    yaml          TEXT NOT NULL,
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    created_ms    INTEGER NOT NULL,
    published_ms  INTEGER,
    PRIMARY KEY (name, version)
);
CREATE TRIGGER flow_versions_immutable_update BEFORE UPDATE ON flow_versions
    WHEN OLD.published_ms IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'flow version is published and immutable'); END;
CREATE TRIGGER flow_versions_immutable_delete BEFORE DELETE ON flow_versions
    WHEN OLD.published_ms IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'flow version is published and immutable'); END;

CREATE TABLE calls (
    id            TEXT PRIMARY KEY,
    direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    transport     TEXT NOT NULL,
    from_number   TEXT NOT NULL,
    to_number     TEXT NOT NULL,
    flow_name     TEXT,
    flow_version  INTEGER,
    started_ms    INTEGER NOT NULL,
    ended_ms      INTEGER,
    disposition   TEXT
);
CREATE INDEX calls_by_from ON calls(from_number, started_ms);
CREATE INDEX calls_by_to ON calls(to_number, started_ms);
CREATE TABLE call_turns (
    call_id        TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    turn_index     INTEGER NOT NULL CHECK (turn_index >= 0),
    kind           TEXT NOT NULL,
    text           TEXT NOT NULL,
    confidence     REAL,
    latencies_json TEXT NOT NULL CHECK (json_valid(latencies_json)),
    at_ms          INTEGER NOT NULL,
    PRIMARY KEY (call_id, turn_index)
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    label       TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_sha256  TEXT NOT NULL UNIQUE CHECK (length(key_sha256) = 64),
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);

-- Company DNC (R12): the first request per number, kept; every request is logged.
CREATE TABLE opt_outs (
    phone     TEXT PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    source    TEXT NOT NULL,
    call_id   TEXT
);
CREATE TABLE opt_out_requests (
    id        INTEGER PRIMARY KEY,
    phone     TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    source    TEXT NOT NULL,
    call_id   TEXT
);
CREATE INDEX opt_out_requests_by_phone ON opt_out_requests(phone);
"#;

/// Brings the schema up to [`SCHEMA_VERSION`]: refuses newer and foreign databases, then applies
/// the missing scripts in one transaction.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let app_id: i64 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::ForeignDatabase {
            path: path.to_path_buf(),
            detail: format!("application_id {app_id:#x}"),
        });
    }
    if app_id == 0 {
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if tables > 0 {
            return Err(StoreError::ForeignDatabase {
                path: path.to_path_buf(),
                detail: format!("{tables} schema objects without the frontdesk application id"),
            });
        }
    }
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        let version = i as i64 + 1;
        tx.execute_batch(script).map_err(|e| StoreError::Migration { version, source: Box::new(e) })?;
        tracing::info!(version, "store: applied schema migration");
    }
    if found < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    tx.commit()?;
    Ok(())
}
