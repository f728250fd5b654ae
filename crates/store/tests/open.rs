//! Opening: migrations from empty, re-open, refusing newer schemas, foreign and garbage files.

mod common;

use common::{checkup, provider, seeded, ts};
use frontdesk_store::{DB_FILE_NAME, SCHEMA_VERSION, SchedulingStore, SqliteStore, StoreError};
use jiff::civil::date;

#[test]
fn migrates_an_empty_directory_and_reopens_with_data_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = SqliteStore::open_dir(&data).unwrap();
    assert_eq!(store.path(), data.join(DB_FILE_NAME));
    assert!(store.path().is_file());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut lee = provider("lee");
    lee.exceptions.push(frontdesk_schedule::Exception::Closed(date(2026, 11, 27)));
    lee.holidays.push(date(2026, 11, 26));
    store.put_resource(&lee).unwrap();
    store.put_appointment_type(&checkup().with_buffers(5, 10)).unwrap();
    drop(store);

    let store = SqliteStore::open_dir(&data).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.integrity_ok().unwrap());
    let back = store.resource(&lee.id).unwrap().expect("resource kept");
    assert_eq!(back.name, "Dr. Lee");
    assert_eq!(back.tz.iana_name(), Some("America/New_York"));
    for d in
        [date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 3, 9)]
    {
        assert_eq!(back.open_on(d).unwrap(), lee.open_on(d).unwrap(), "open hours on {d}");
    }
    assert!(back.open_on(date(2026, 11, 26)).unwrap().is_empty(), "holiday kept");
    assert_eq!(store.appointment_type("checkup").unwrap(), Some(checkup().with_buffers(5, 10)));
}

#[test]
fn pragmas_are_wal_full_and_foreign_keys() {
    let (_dir, store) = seeded();
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // Foreign keys are enforced by the store's own connection: a hold on an unknown resource
    // is refused before and by the schema.
    let err = store
        .hold(
            &frontdesk_store::NewHold::new("nobody", "checkup", ts("2026-11-24T15:00:00Z"), "UTC"),
            ts("2026-11-23T12:00:00Z"),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "resource", .. }), "{err}");
}

#[test]
fn a_database_from_a_newer_schema_is_refused() {
    let (dir, store) = seeded();
    let path = store.path().to_path_buf();
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    drop(raw);
    let err = SqliteStore::open(&path).unwrap_err();
    match &err {
        StoreError::SchemaTooNew { found, supported, .. } => {
            assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("newer") && msg.contains(&path.display().to_string()), "{msg}");
    // Refusing did not touch it.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = raw.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION + 1);
    drop(dir);
}

#[test]
fn a_garbage_file_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    std::fs::write(&path, "this is a text file, not a database\n".repeat(200)).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "names the file: {msg}");
    assert!(msg.contains("backup"), "says what to do: {msg}");
    // Untouched: still the text we wrote.
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("this is a text file"));
}

#[test]
fn a_truncated_database_is_refused() {
    let (_dir, store) = seeded();
    let path = store.path().to_path_buf();
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let broken = path.with_file_name("broken.db");
    // Keep the header's magic, scramble the rest of the first page.
    let mut b = bytes[..100.min(bytes.len())].to_vec();
    b.extend(std::iter::repeat_n(0xA5u8, 4096));
    b[16] = 0x00;
    b[17] = 0x03; // page size 3: invalid
    std::fs::write(&broken, b).unwrap();
    let err = SqliteStore::open(&broken).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE contacts (name TEXT);").unwrap();
    drop(raw);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err:?}");
    // Nothing was added to it.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = raw.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn an_empty_file_becomes_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

/// Set in the child processes of the test below: the data directory to open.
const RACE_DIR: &str = "FRONTDESK_TEST_OPEN_RACE_DIR";
/// ... and the instant (Unix ms) to open it at, so the children collide.
const RACE_AT: &str = "FRONTDESK_TEST_OPEN_RACE_AT";

#[test]
#[allow(clippy::disallowed_methods)] // separate processes meet at a wall-clock instant
fn many_processes_opening_one_new_directory_at_once_all_succeed() {
    // Gateways started side by side on one new data directory each switch it to WAL and migrate
    // at the same moment; SQLite answers the WAL switch busy without waiting. Every open must
    // wait its turn. Real processes: threads of one process share SQLite's file locks.
    let unix_ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    if let Some(dir) = std::env::var_os(RACE_DIR) {
        let at: u128 = std::env::var(RACE_AT).unwrap().parse().unwrap();
        while unix_ms() < at {
            std::hint::spin_loop();
        }
        let store = SqliteStore::open_dir(&dir).unwrap_or_else(|e| panic!("concurrent open failed: {e}"));
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let at = (unix_ms() + 150).to_string();
        let children: Vec<_> = (0..6)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--exact", "many_processes_opening_one_new_directory_at_once_all_succeed"])
                    .args(["--nocapture", "--test-threads=1"])
                    .env(RACE_DIR, dir.path())
                    .env(RACE_AT, &at)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a child failed to open:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
