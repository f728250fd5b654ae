//! Resources, appointment types, availability and appointments over real TCP against a real
//! SQLite file, on a clock the test sets.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use frontdesk_api::{Api, ApiConfig, Clock};
use frontdesk_store::{ApiKeyStore, SqliteStore};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(Mutex<Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

struct Resp {
    status: u16,
    headers: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
    fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_string()
    }
}

struct Env {
    addr: SocketAddr,
    key: String,
    clock: Arc<TestClock>,
    _dir: tempfile::TempDir,
}

/// Monday 2 March 2026, 07:00 in New York.
const NOW: &str = "2026-03-02T12:00:00Z";

async fn start() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let key = store.create_api_key("test", &[7u8; 32], Timestamp::UNIX_EPOCH).unwrap().key.into_inner();
    let clock = Arc::new(TestClock(Mutex::new(NOW.parse().unwrap())));
    let api = Api::new(store, clock.clone(), ApiConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(frontdesk_api::serve(listener, api));
    Env { addr, key, clock, _dir: dir }
}

impl Env {
    async fn raw(&self, head: &str, body: &[u8]) -> Resp {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = headers.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Resp { status, headers: headers.to_ascii_lowercase(), body: body.to_string() }
    }

    async fn req(&self, method: &str, path: &str, extra: &str, body: &str) -> Resp {
        let ct = if body.is_empty() { "" } else { "Content-Type: application/json\r\n" };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\n{ct}{extra}Content-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        self.raw(&head, body.as_bytes()).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.req("GET", path, "", "").await
    }

    async fn send(&self, method: &str, path: &str, v: &Value) -> Resp {
        self.req(method, path, "", &v.to_string()).await
    }

    async fn book(&self, key: Option<&str>, v: &Value) -> Resp {
        let extra = key.map(|k| format!("Idempotency-Key: {k}\r\n")).unwrap_or_default();
        self.req("POST", "/v1/appointments", &extra, &v.to_string()).await
    }

    fn set_now(&self, t: &str) {
        *self.clock.0.lock().unwrap() = t.parse().unwrap();
    }

    /// Slot starts of an availability query.
    async fn slots(&self, query: &str) -> Vec<String> {
        let r = self.get(&format!("/v1/availability?{query}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start"].as_str().unwrap().to_string())
            .collect()
    }
}

fn lee() -> Value {
    json!({
        "id": "lee",
        "name": "Dr. Lee",
        "time_zone": "America/New_York",
        "weekly_hours": {
            "mon": ["09:00-12:00", "13:00-17:00"], "tue": ["13:00-17:00", "09:00-12:00"],
            "wed": ["09:00-12:00"], "thu": ["09:00-12:00"], "fri": ["09:00-12:00"]
        },
        "exceptions": [{"date": "2026-03-04", "hours": ["10:00-11:00"]}, {"date": "2026-03-06", "hours": []}],
        "holidays": ["2026-03-05"]
    })
}

/// Lee (hours, exception, holiday), Kim (weekday mornings) and a 30-minute checkup.
async fn seeded() -> Env {
    let env = start().await;
    let r = env.send("POST", "/v1/resources", &lee()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let kim = json!({"name": "Dr. Kim", "kind": "provider", "time_zone": "America/New_York",
                     "weekly_hours": {"mon": ["09:00-12:00"], "tue": ["09:00-12:00"]}});
    assert_eq!(env.send("PUT", "/v1/resources/kim", &kim).await.status, 201);
    let t = json!({"id": "checkup", "name": "checkup", "duration_minutes": 30});
    assert_eq!(env.send("POST", "/v1/appointment-types", &t).await.status, 201);
    env
}

const Q: &str = "type=checkup&resource=lee";

fn booking(start: &str, phone: &str) -> Value {
    json!({"type": "checkup", "resource": "lee", "start": start,
           "caller": {"phone": phone, "name": "Ann Smith"}, "notes": "first visit"})
}

#[tokio::test]
async fn resources_and_types_create_read_replace() {
    let env = seeded().await;
    let again = env.send("POST", "/v1/resources", &lee()).await;
    assert_eq!((again.status, again.code().as_str()), (409, "already_exists"));
    let r = env.get("/v1/resources/lee").await.json();
    assert_eq!(r["time_zone"], "America/New_York");
    assert_eq!(r["kind"], "provider");
    // Intervals come back sorted, every weekday present.
    assert_eq!(r["weekly_hours"]["tue"], json!(["09:00-12:00", "13:00-17:00"]));
    assert_eq!(r["weekly_hours"]["sun"], json!([]));
    assert_eq!(
        r["exceptions"],
        json!([{"date": "2026-03-04", "hours": ["10:00-11:00"]}, {"date": "2026-03-06", "hours": []}])
    );
    assert_eq!(r["holidays"], json!(["2026-03-05"]));
    let list = env.get("/v1/resources").await.json();
    let ids: Vec<&str> =
        list["resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["kim", "lee"]);
    // PUT replaces: kim now opens on Wednesdays too, in another zone, 24:00 allowed.
    let kim = json!({"id": "kim", "name": "Dr. Kim", "kind": "room", "time_zone": "Europe/Paris",
                     "weekly_hours": {"wed": ["18:00-24:00"]}});
    let put = env.send("PUT", "/v1/resources/kim", &kim).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let k = env.get("/v1/resources/kim").await.json();
    assert_eq!((k["kind"].as_str(), k["time_zone"].as_str()), (Some("room"), Some("Europe/Paris")));
    assert_eq!(k["weekly_hours"]["wed"], json!(["18:00-24:00"]));
    assert_eq!(k["weekly_hours"]["mon"], json!([]));
    assert_eq!(env.get("/v1/resources/nobody").await.status, 404);

    // Appointment types.
    let t = env.get("/v1/appointment-types/checkup").await.json();
    assert_eq!((t["duration_minutes"].as_i64(), t["buffer_after_minutes"].as_i64()), (Some(30), Some(0)));
    let put = json!({"name": "long checkup", "duration_minutes": 45, "buffer_after_minutes": 5});
    assert_eq!(env.send("PUT", "/v1/appointment-types/checkup", &put).await.status, 200);
    assert_eq!(env.send("PUT", "/v1/appointment-types/consult", &put).await.status, 201);
    let types = env.get("/v1/appointment-types").await.json();
    assert_eq!(types["appointment_types"].as_array().unwrap().len(), 2);
    assert_eq!(types["appointment_types"][0]["duration_minutes"], 45);
    let dup = env
        .send("POST", "/v1/appointment-types", &json!({"id": "checkup", "name": "x", "duration_minutes": 5}))
        .await;
    assert_eq!(dup.status, 409);

    // Validation names the field and the fix.
    let mut bad = lee();
    bad["id"] = json!("new");
    bad["weekly_hours"]["mon"] = json!(["9-17"]);
    let r = env.send("POST", "/v1/resources", &bad).await;
    assert_eq!(r.status, 400);
    assert!(
        r.message().contains("weekly_hours.mon[0]") && r.message().contains("HH:MM-HH:MM"),
        "{}",
        r.message()
    );
    bad["weekly_hours"] = json!({"monday": ["09:00-10:00"]});
    assert!(env.send("POST", "/v1/resources", &bad).await.message().contains("use mon, tue"));
    bad["weekly_hours"] = json!({"mon": ["09:00-12:00", "11:00-13:00"]});
    assert!(env.send("POST", "/v1/resources", &bad).await.message().contains("overlap"));
    bad["weekly_hours"] = json!({});
    bad["time_zone"] = json!("Mars/Olympus");
    let r = env.send("POST", "/v1/resources", &bad).await;
    assert_eq!((r.status, r.code().as_str()), (422, "unknown_time_zone"));
    assert!(r.message().contains("IANA"), "{}", r.message());
    let r =
        env.send("PUT", "/v1/resources/kim", &json!({"id": "lee", "name": "x", "time_zone": "UTC"})).await;
    assert!(r.message().contains("differs"), "{}", r.body);
    let r = env
        .send("POST", "/v1/appointment-types", &json!({"id": "x", "name": "x", "duration_minutes": "ten"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_request"));
    assert!(
        r.message().contains("field `duration_minutes`") && r.message().contains("invalid type"),
        "{}",
        r.message()
    );
    // 30.0 is a whole number (JSON Schema integers include it); null is not a string.
    let whole = json!({"id": "y", "name": "y", "duration_minutes": 30.0, "buffer_after_minutes": 5.0});
    let r = env.send("POST", "/v1/appointment-types", &whole).await;
    assert_eq!((r.status, r.json()["buffer_after_minutes"].as_i64()), (201, Some(5)), "{}", r.body);
    let half = json!({"id": "z", "name": "z", "duration_minutes": 2.5});
    let r = env.send("POST", "/v1/appointment-types", &half).await;
    assert!(r.message().contains("whole number of minutes"), "{}", r.message());
    let r =
        env.send("PUT", "/v1/resources/kim", &json!({"name": "x", "time_zone": "UTC", "kind": null})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.message().contains("field `kind`"), "{}", r.message());
    let r =
        env.send("PUT", "/v1/resources/kim", &json!({"name": "x", "time_zone": "UTC", "kind": "desk"})).await;
    assert!(r.message().contains("use provider or room"), "{}", r.message());
    let r = env
        .send("POST", "/v1/appointment-types", &json!({"id": "x", "name": "x", "duration_minutes": 0}))
        .await;
    assert!(r.message().contains("duration_minutes=0"), "{}", r.message());
}

#[tokio::test]
async fn availability_follows_hours_exceptions_holidays_and_bookings() {
    let env = seeded().await;
    // Tuesday 09:00-10:00: four 30-minute starts on the 15-minute grid.
    let tue = "from=2026-03-03T09:00:00-05:00&to=2026-03-03T10:00:00-05:00";
    let s = env.slots(&format!("{Q}&{tue}")).await;
    assert_eq!(
        s,
        [
            "2026-03-03T09:00:00-05:00",
            "2026-03-03T09:15:00-05:00",
            "2026-03-03T09:30:00-05:00",
            "2026-03-03T09:45:00-05:00"
        ]
    );
    let r = env.get(&format!("/v1/availability?{Q}&{tue}")).await.json();
    assert_eq!(r["slots"][0]["time_zone"], "America/New_York");
    assert_eq!(r["slots"][0]["end"], "2026-03-03T09:30:00-05:00");
    assert_eq!(r["slots"][0]["resource_name"], "Dr. Lee");
    // Lunch break: the last morning slot ends at 12:00, the afternoon starts at 13:00.
    let s = env.slots(&format!("{Q}&from=2026-03-03T11:30:00-05:00&to=2026-03-03T13:15:00-05:00")).await;
    assert_eq!(s, ["2026-03-03T11:30:00-05:00", "2026-03-03T13:00:00-05:00"]);
    // The exception day has 10:00-11:00 only; the holiday and the closed day have nothing.
    let s = env.slots(&format!("{Q}&from=2026-03-04T00:00:00-05:00&to=2026-03-05T00:00:00-05:00")).await;
    assert_eq!(s, ["2026-03-04T10:00:00-05:00", "2026-03-04T10:15:00-05:00", "2026-03-04T10:30:00-05:00"]);
    assert!(
        env.slots(&format!("{Q}&from=2026-03-05T00:00:00-05:00&to=2026-03-07T00:00:00-05:00"))
            .await
            .is_empty()
    );
    // Without a resource: both providers; limit spreads the offers, the earliest first.
    let both = env.slots(&format!("type=checkup&{tue}&limit=20")).await;
    assert_eq!(both.len(), 8);
    let three = env.slots(&format!("type=checkup&{tue}&limit=3")).await;
    assert_eq!(three.len(), 3);
    assert_eq!(three[0], "2026-03-03T09:00:00-05:00");

    // A booking removes the slots it overlaps.
    let b = env.book(None, &booking("2026-03-03T09:00:00-05:00", "+15550100")).await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(
        env.slots(&format!("{Q}&{tue}")).await,
        ["2026-03-03T09:30:00-05:00", "2026-03-03T09:45:00-05:00"]
    );

    // Errors.
    let r = env.get("/v1/availability?resource=lee").await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("type is required"));
    let r = env.get("/v1/availability?type=nope").await;
    assert_eq!((r.status, r.code().as_str()), (422, "unknown_appointment_type"));
    assert!(r.message().contains("\"nope\""));
    let r = env.get("/v1/availability?type=checkup&resource=nobody").await;
    assert_eq!((r.status, r.code().as_str()), (422, "unknown_resource"));
    let r = env.get("/v1/availability?type=checkup&from=2026-03-03T09:00:00").await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("no UTC offset") && r.message().contains("RFC 3339"), "{}", r.message());
    // Well-formed times that make no window: 422 (schema-valid, like an unknown type).
    let r = env.get("/v1/availability?type=checkup&from=2026-03-03T09:00:00Z&to=2026-06-03T09:00:00Z").await;
    assert_eq!((r.status, r.code().as_str()), (422, "bad_window"));
    assert!(r.message().contains("31 days"), "{}", r.message());
    let r = env.get("/v1/availability?type=checkup&from=2026-03-03T09:00:00Z&to=2026-03-03T08:00:00Z").await;
    assert_eq!((r.status, r.code().as_str()), (422, "bad_window"));
    assert!(r.message().contains("to must be after from"), "{}", r.message());
    assert_eq!(env.get("/v1/availability?type=checkup&limit=0").await.status, 400);
    assert!(env.get("/v1/availability?type=checkup&limit=51").await.message().contains("1 to 50"));
}

#[tokio::test]
async fn booking_conflicts_idempotency_and_validation() {
    let env = seeded().await;
    let first = booking("2026-03-03T09:00:00-05:00", "+1 (555) 010-0");
    let b = env.book(Some("key-1"), &first).await;
    assert_eq!(b.status, 201, "{}", b.body);
    let a = b.json();
    let id = a["id"].as_i64().unwrap();
    assert!(b.headers.contains(&format!("location: /v1/appointments/{id}")), "{}", b.headers);
    assert_eq!(a["status"], "booked");
    assert_eq!(a["start"], "2026-03-03T09:00:00-05:00");
    assert_eq!(a["end"], "2026-03-03T09:30:00-05:00");
    assert_eq!(a["time_zone"], "America/New_York");
    assert_eq!(a["caller"], json!({"phone": "+15550100", "name": "Ann Smith"}));
    assert_eq!(a["notes"], "first visit");
    assert_eq!(env.get(&format!("/v1/appointments/{id}")).await.json(), a);

    // A retry with the same key and body: the same appointment, nothing booked twice.
    let again = env.book(Some("key-1"), &first).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["id"], id);
    assert!(again.headers.contains("idempotent-replayed: true"));
    // The same key with another body.
    let other = env.book(Some("key-1"), &booking("2026-03-03T10:00:00-05:00", "+15550100")).await;
    assert_eq!((other.status, other.code().as_str()), (409, "idempotency_key_reused"));
    let all = env.get("/v1/appointments").await.json();
    assert_eq!(all["appointments"].as_array().unwrap().len(), 1);

    // The same slot for someone else: 409 with alternatives on the same resource.
    let taken = env.book(Some("key-2"), &booking("2026-03-03T09:15:00-05:00", "+15550200")).await;
    assert_eq!((taken.status, taken.code().as_str()), (409, "slot_taken"), "{}", taken.body);
    let alts = taken.json()["error"]["details"]["alternatives"].as_array().unwrap().clone();
    assert!((1..=3).contains(&alts.len()), "{alts:?}");
    for s in &alts {
        assert_eq!(s["resource"], "lee");
        let start: Timestamp = s["start"].as_str().unwrap().parse().unwrap();
        assert!(start >= "2026-03-03T14:30:00Z".parse().unwrap(), "{s}");
    }
    // The key of a failed request is not used up: the first free alternative books with it.
    let alt = booking(alts[0]["start"].as_str().unwrap(), "+15550200");
    let ok = env.book(Some("key-2"), &alt).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    // Without a resource, the first free one open at that time gets it (by id: kim, then lee).
    let mut at_kim = booking("2026-03-03T11:00:00-05:00", "+15550300");
    at_kim["resource"] = json!("kim");
    assert_eq!(env.book(None, &at_kim).await.status, 201);
    let any = |start: &str| {
        let mut v = booking(start, "+15550300");
        v.as_object_mut().unwrap().remove("resource");
        v
    };
    let r = env.book(None, &any("2026-03-03T11:00:00-05:00")).await;
    assert_eq!((r.status, r.json()["resource"].as_str()), (201, Some("lee")), "{}", r.body);
    let r = env.book(None, &any("2026-03-03T09:00:00-05:00")).await;
    assert_eq!((r.status, r.json()["resource"].as_str()), (201, Some("kim")), "{}", r.body);
    let r = env.book(None, &any("2026-03-03T09:00:00-05:00")).await;
    assert_eq!((r.status, r.code().as_str()), (409, "slot_taken"), "{}", r.body);

    // 422: outside hours (lunch, holiday, closed exception day), in the past, unknown references.
    for start in [
        "2026-03-03T12:00:00-05:00",
        "2026-03-03T11:45:00-05:00",
        "2026-03-05T10:00:00-05:00",
        "2026-03-06T10:00:00-05:00",
    ] {
        let r = env.book(None, &booking(start, "+15550400")).await;
        assert_eq!((r.status, r.code().as_str()), (422, "outside_hours"), "{start}: {}", r.body);
        assert!(r.message().contains("GET /v1/availability"));
    }
    let r = env.book(None, &booking("2026-03-02T06:00:00-05:00", "+15550400")).await;
    assert_eq!((r.status, r.code().as_str()), (422, "in_the_past"));
    let mut unknown = booking("2026-03-03T10:00:00-05:00", "+15550400");
    unknown["type"] = json!("surgery");
    let r = env.book(None, &unknown).await;
    assert_eq!((r.status, r.code().as_str()), (422, "unknown_appointment_type"));
    assert!(r.message().contains("surgery"));
    unknown["type"] = json!("checkup");
    unknown["resource"] = json!("house");
    let r = env.book(None, &unknown).await;
    assert_eq!((r.status, r.code().as_str()), (422, "unknown_resource"));
    assert!(r.message().contains("house"));

    // 400: malformed JSON, wrong types, missing fields, times without an offset, bad phones.
    let r = env.req("POST", "/v1/appointments", "", "{\"type\": \"checkup\",").await;
    assert_eq!((r.status, r.code().as_str()), (400, "malformed_json"));
    assert!(r.message().contains("line 1"), "{}", r.message());
    let r = env.book(None, &json!({"type": 5, "start": "x", "caller": {"phone": "1"}})).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_request"));
    assert!(
        r.message().contains("expected a string") && r.message().contains("field `type`"),
        "{}",
        r.message()
    );
    let r = env
        .book(
            None,
            &json!({"type": "checkup", "start": "2026-03-03T10:00:00-05:00", "caller": {"phone": 15550100}}),
        )
        .await;
    assert!(r.message().contains("field `phone`"), "{}", r.message());
    let r = env.book(None, &json!({"type": "checkup", "start": "2026-03-03T10:00:00-05:00"})).await;
    assert!(r.message().contains("missing field `caller`"), "{}", r.message());
    let r = env.book(None, &booking("2026-03-03T10:00:00", "+15550400")).await;
    assert_eq!((r.status, r.code().as_str()), (400, "bad_time"));
    assert!(r.message().contains("no UTC offset"), "{}", r.message());
    let r = env.book(None, &booking("2026-03-03T10:00:00-05:00", "call me")).await;
    assert!(r.message().contains("caller.phone"), "{}", r.message());
    let r = env.book(None, &json!({"type": "checkup", "start": "2026-03-03T10:00:00-05:00", "caller": {"phone": "+15550400"}, "color": "red"})).await;
    assert!(r.message().contains("unknown field `color`"), "{}", r.message());

    // A retry that comes after the start has passed still gets the booking it made.
    env.set_now("2026-03-03T14:10:00Z");
    let late = env.book(Some("key-1"), &first).await;
    assert_eq!((late.status, late.json()["id"].as_i64()), (201, Some(id)), "{}", late.body);
    let fresh = env.book(Some("key-9"), &first).await;
    assert_eq!((fresh.status, fresh.code().as_str()), (422, "in_the_past"));
}

#[tokio::test]
async fn list_filters_and_cursor_pages() {
    let env = seeded().await;
    let mut ids = Vec::new();
    for (start, phone) in [
        ("2026-03-03T10:00:00-05:00", "+15550001"),
        ("2026-03-03T09:00:00-05:00", "+15550002"),
        ("2026-03-03T09:30:00-05:00", "+15550001"),
        ("2026-03-09T09:00:00-05:00", "+15550002"),
        ("2026-03-09T09:30:00-05:00", "+15550001"),
    ] {
        let r = env.book(None, &booking(start, phone)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let cancelled = env.req("POST", &format!("/v1/appointments/{}/cancel", ids[3]), "", "").await;
    assert_eq!(cancelled.status, 200);
    // Pages of two, by start: 09:00, 09:30 | 10:00, 9 Mar 09:00 | 9 Mar 09:30.
    let mut seen = Vec::new();
    let mut url = "/v1/appointments?limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = env.get(&url).await.json();
        pages += 1;
        seen.extend(page["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/appointments?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, [ids[1], ids[2], ids[0], ids[3], ids[4]]);
    assert_eq!(pages, 3);
    let ids_of = |v: Value| -> Vec<i64> {
        v["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
    };
    let by_phone = env.get("/v1/appointments?phone=%2B1%20555%200001").await.json();
    assert_eq!(ids_of(by_phone), [ids[2], ids[0], ids[4]]);
    let booked_next_week = env
        .get("/v1/appointments?status=booked&from=2026-03-09T00:00:00-05:00&to=2026-03-10T00:00:00-05:00&resource=lee")
        .await
        .json();
    assert_eq!(ids_of(booked_next_week), [ids[4]]);
    let c = env.get("/v1/appointments?status=cancelled").await.json();
    assert_eq!(ids_of(c), [ids[3]]);
    assert!(
        env.get("/v1/appointments?resource=kim").await.json()["appointments"].as_array().unwrap().is_empty()
    );
    for bad in ["status=done", "cursor=abc", "limit=5000", "from=yesterday", "phone=call-me"] {
        let r = env.get(&format!("/v1/appointments?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    assert_eq!(env.get("/v1/appointments/999").await.status, 404);
    assert_eq!(env.get("/v1/appointments/abc").await.code(), "bad_id");
}

#[tokio::test]
async fn reschedule_frees_the_old_slot_and_cancel_is_idempotent() {
    let env = seeded().await;
    let a = env.book(None, &booking("2026-03-03T09:00:00-05:00", "+15550100")).await.json();
    let b = env.book(None, &booking("2026-03-03T10:00:00-05:00", "+15550200")).await.json();
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let tue = format!("{Q}&from=2026-03-03T09:00:00-05:00&to=2026-03-03T11:00:00-05:00");
    assert!(!env.slots(&tue).await.contains(&"2026-03-03T09:00:00-05:00".to_string()));

    // Onto b's slot: 409 with alternatives, nothing moves.
    let clash = env
        .send("PATCH", &format!("/v1/appointments/{a_id}"), &json!({"start": "2026-03-03T10:15:00-05:00"}))
        .await;
    assert_eq!((clash.status, clash.code().as_str()), (409, "slot_taken"), "{}", clash.body);
    assert!(!clash.json()["error"]["details"]["alternatives"].as_array().unwrap().is_empty());
    assert_eq!(env.get(&format!("/v1/appointments/{a_id}")).await.json()["status"], "booked");
    // Outside hours and without an offset.
    let r = env
        .send("PATCH", &format!("/v1/appointments/{a_id}"), &json!({"start": "2026-03-03T12:30:00-05:00"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "outside_hours"));
    let r = env
        .send("PATCH", &format!("/v1/appointments/{a_id}"), &json!({"start": "2026-03-03T10:30:00"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "bad_time"));
    let r = env.send("PATCH", &format!("/v1/appointments/{a_id}"), &json!({})).await;
    assert!(r.message().contains("nothing to change"));

    // Move a to 10:30 with new notes: a new appointment replaces it.
    let moved = env
        .send(
            "PATCH",
            &format!("/v1/appointments/{a_id}"),
            &json!({"start": "2026-03-03T15:30:00Z", "notes": "moved by phone"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let m = moved.json();
    let m_id = m["id"].as_i64().unwrap();
    assert_ne!(m_id, a_id);
    assert_eq!(
        (m["replaces"].as_i64(), m["start"].as_str()),
        (Some(a_id), Some("2026-03-03T10:30:00-05:00"))
    );
    assert_eq!(m["notes"], "moved by phone");
    assert_eq!(m["caller"]["phone"], "+15550100");
    let old = env.get(&format!("/v1/appointments/{a_id}")).await.json();
    assert_eq!((old["status"].as_str(), old["replaced_by"].as_i64()), (Some("rescheduled"), Some(m_id)));
    // The old slot is free again, the new one taken.
    let s = env.slots(&tue).await;
    assert!(s.contains(&"2026-03-03T09:00:00-05:00".to_string()), "{s:?}");
    assert!(!s.contains(&"2026-03-03T10:30:00-05:00".to_string()), "{s:?}");
    // Moving the old one again is refused, pointing at the new one.
    let r = env
        .send("PATCH", &format!("/v1/appointments/{a_id}"), &json!({"start": "2026-03-03T11:00:00-05:00"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "not_booked"));
    assert!(r.message().contains(&m_id.to_string()));
    // To another resource at the same time; then notes only (same id), then cleared.
    let kim =
        env.send("PATCH", &format!("/v1/appointments/{b_id}"), &json!({"resource": "kim"})).await.json();
    assert_eq!(
        (kim["resource"].as_str(), kim["start"].as_str()),
        (Some("kim"), Some("2026-03-03T10:00:00-05:00"))
    );
    assert_eq!(kim["notes"], "first visit", "notes carried over");
    let k_id = kim["id"].as_i64().unwrap();
    let n =
        env.send("PATCH", &format!("/v1/appointments/{k_id}"), &json!({"notes": "wheelchair"})).await.json();
    assert_eq!((n["id"].as_i64(), n["notes"].as_str()), (Some(k_id), Some("wheelchair")));
    let n = env.send("PATCH", &format!("/v1/appointments/{k_id}"), &json!({"notes": null})).await.json();
    assert_eq!(n["notes"], Value::Null);

    // Cancel: 200, again 200 unchanged; the slot is free.
    let c = env.req("POST", &format!("/v1/appointments/{m_id}/cancel"), "", "").await;
    assert_eq!(c.status, 200, "{}", c.body);
    let c1 = c.json();
    assert_eq!(c1["status"], "cancelled");
    let c2 = env.req("POST", &format!("/v1/appointments/{m_id}/cancel"), "", "").await;
    assert_eq!((c2.status, c2.json()), (200, c1));
    assert!(env.slots(&tue).await.contains(&"2026-03-03T10:30:00-05:00".to_string()));
    let r = env.req("POST", &format!("/v1/appointments/{a_id}/cancel"), "", "").await;
    assert_eq!((r.status, r.code().as_str()), (409, "not_booked"));
    assert_eq!(env.req("POST", "/v1/appointments/999/cancel", "", "").await.status, 404);
    // Once it has started, it cannot be cancelled or moved.
    env.set_now("2026-03-03T15:05:00Z");
    let r = env.req("POST", &format!("/v1/appointments/{k_id}/cancel"), "", "").await;
    assert_eq!((r.status, r.code().as_str()), (409, "appointment_past"));
    let r = env
        .send("PATCH", &format!("/v1/appointments/{k_id}"), &json!({"start": "2026-03-10T10:00:00-05:00"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "appointment_past"));
}

#[tokio::test]
async fn every_scheduling_route_needs_a_key() {
    let env = start().await;
    for (method, path) in [
        ("GET", "/v1/resources"),
        ("POST", "/v1/resources"),
        ("GET", "/v1/resources/lee"),
        ("PUT", "/v1/resources/lee"),
        ("GET", "/v1/appointment-types"),
        ("POST", "/v1/appointment-types"),
        ("GET", "/v1/appointment-types/x"),
        ("PUT", "/v1/appointment-types/x"),
        ("GET", "/v1/availability?type=x"),
        ("GET", "/v1/appointments"),
        ("POST", "/v1/appointments"),
        ("GET", "/v1/appointments/1"),
        ("PATCH", "/v1/appointments/1"),
        ("POST", "/v1/appointments/1/cancel"),
    ] {
        let r = env
            .raw(
                &format!(
                    "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                ),
                b"",
            )
            .await;
        assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"), "{method} {path}");
    }
    let r = env.req("DELETE", "/v1/appointments/1", "", "").await;
    assert_eq!(r.status, 405);
    assert!(r.headers.contains("allow: get, patch"), "{}", r.headers);
}
