//! Shared fixtures: a store in a fresh temp data directory with one provider and one type.

#![allow(dead_code, unreachable_pub)]

use frontdesk_schedule::{AppointmentType, Resource, ResourceKind, WallInterval, WeeklyHours};
use frontdesk_store::{SchedulingStore, SqliteStore};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub const NY: &str = "America/New_York";

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

pub fn provider(id: &str) -> Resource {
    let tz = TimeZone::get(NY).expect("bundled zone");
    let hours = WeeklyHours::weekdays(WallInterval::hm(9, 0, 17, 0).expect("valid hours"));
    Resource::new(id, "Dr. Lee", ResourceKind::Provider, tz, hours)
}

pub fn checkup() -> AppointmentType {
    AppointmentType::minutes("checkup", "Checkup", 30)
}

/// A temp dir (kept alive by the caller) and a store in it with `lee` and `checkup`.
pub fn seeded() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_dir(dir.path().join("data")).expect("open store");
    store.put_resource(&provider("lee")).expect("resource");
    store.put_appointment_type(&checkup()).expect("type");
    (dir, store)
}
