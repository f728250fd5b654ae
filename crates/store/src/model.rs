//! The records the store reads and writes (backend-neutral).

use std::collections::BTreeMap;
use std::fmt;

use frontdesk_schedule::{Booking, Occupancy, ResourceId};
use frontdesk_types::{CallId, Pii};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use crate::StoreError;

/// The default hold lifetime (R42: about 120 s).
pub const DEFAULT_HOLD_TTL: SignedDuration = SignedDuration::from_secs(120);

/// Identifier of an appointment (a database row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppointmentId(pub i64);

impl fmt::Display for AppointmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A{}", self.0)
    }
}

/// Identifier of a hold (a database row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HoldId(pub i64);

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "H{}", self.0)
    }
}

/// Who an appointment is for. The phone number is normalised with [`normalize_phone`] on write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub phone: Pii<String>,
    pub name: Option<Pii<String>>,
}

impl Caller {
    /// A caller known by number only.
    pub fn phone(number: &str) -> Caller {
        Caller { phone: Pii::new(number.to_string()), name: None }
    }
}

/// A request to hold a slot (the first step of booking or rescheduling).
#[derive(Debug, Clone)]
pub struct NewHold {
    pub resource: ResourceId,
    pub appointment_type: String,
    /// Start instant (UTC).
    pub start: Timestamp,
    /// IANA zone the slot was offered in (stored beside the UTC instants).
    pub tz: String,
    /// How long the hold blocks the slot ([`DEFAULT_HOLD_TTL`] by default).
    pub ttl: SignedDuration,
    /// A retried request with the same key returns the same hold.
    pub idempotency_key: Option<String>,
    /// Set when rescheduling: the appointment the new slot replaces (it does not conflict, and
    /// booking this hold releases it in the same transaction).
    pub replaces: Option<AppointmentId>,
}

impl NewHold {
    /// A hold request with the default lifetime, no key, replacing nothing.
    pub fn new(resource: &str, appointment_type: &str, start: Timestamp, tz: &str) -> NewHold {
        NewHold {
            resource: ResourceId(resource.to_string()),
            appointment_type: appointment_type.to_string(),
            start,
            tz: tz.to_string(),
            ttl: DEFAULT_HOLD_TTL,
            idempotency_key: None,
            replaces: None,
        }
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_key(mut self, key: &str) -> NewHold {
        self.idempotency_key = Some(key.to_string());
        self
    }

    /// Marks the hold as the new slot of a reschedule.
    #[must_use]
    pub fn replacing(mut self, id: AppointmentId) -> NewHold {
        self.replaces = Some(id);
        self
    }
}

/// A stored hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub id: HoldId,
    pub slot: Occupancy,
    pub appointment_type: String,
    pub tz: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub idempotency_key: Option<String>,
    pub replaces: Option<AppointmentId>,
}

impl HoldRecord {
    /// Whether the hold still blocks its slot at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppointmentStatus {
    /// Live: blocks its slot.
    Booked,
    /// Cancelled: the slot is free.
    Cancelled,
    /// Moved to another appointment (see `replaced_by`): the slot is free.
    Rescheduled,
}

impl AppointmentStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::Rescheduled => "rescheduled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<AppointmentStatus, StoreError> {
        match s {
            "booked" => Ok(AppointmentStatus::Booked),
            "cancelled" => Ok(AppointmentStatus::Cancelled),
            "rescheduled" => Ok(AppointmentStatus::Rescheduled),
            other => Err(StoreError::BadData(format!("appointment status {other:?}"))),
        }
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored appointment: UTC instants plus the IANA zone it was booked in (R44).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub slot: Occupancy,
    pub appointment_type: String,
    pub tz: String,
    pub caller: Caller,
    pub status: AppointmentStatus,
    pub created_at: Timestamp,
    /// When it stopped being booked (cancelled or rescheduled).
    pub ended_at: Option<Timestamp>,
    /// The appointment this one replaced (reschedule).
    pub replaces: Option<AppointmentId>,
}

impl Appointment {
    /// The start on the appointment's own wall clock.
    ///
    /// # Errors
    /// [`StoreError::BadData`] when the stored zone is unknown.
    pub fn local_start(&self) -> Result<Zoned, StoreError> {
        let tz =
            TimeZone::get(&self.tz).map_err(|e| StoreError::BadData(format!("zone {}: {e}", self.tz)))?;
        Ok(self.slot.start.to_zoned(tz))
    }

    /// The same appointment in the scheduling core's shape.
    pub fn to_booking(&self) -> Booking {
        Booking {
            id: self.id.to_string(),
            slot: self.slot.clone(),
            appointment_type: self.appointment_type.clone(),
            tz: self.tz.clone(),
            created_at: self.created_at,
        }
    }
}

/// A new slot for [`crate::SchedulingStore::reschedule`].
#[derive(Debug, Clone)]
pub struct NewSlot {
    /// The resource (`None`: the same as the old appointment).
    pub resource: Option<ResourceId>,
    pub start: Timestamp,
    /// The zone (`None`: the same as the old appointment).
    pub tz: Option<String>,
}

/// Direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Direction, StoreError> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            other => Err(StoreError::BadData(format!("call direction {other:?}"))),
        }
    }
}

/// The start of a call record.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: CallId,
    pub direction: Direction,
    /// `sip`, `websocket`, `audiosocket`... (free text).
    pub transport: String,
    pub from: Pii<String>,
    pub to: Pii<String>,
    pub flow_name: Option<String>,
    /// The published flow version the call ran (R28: script version).
    pub flow_version: Option<i64>,
    pub started_at: Timestamp,
}

/// A stored call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: CallId,
    pub direction: Direction,
    pub transport: String,
    pub from: Pii<String>,
    pub to: Pii<String>,
    pub flow_name: Option<String>,
    pub flow_version: Option<i64>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub disposition: Option<String>,
}

/// One row of a call's timeline (a caller utterance, an agent prompt, a DTMF key, a tool call...).
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// 0, 1, 2... unique per call.
    pub index: u32,
    /// `caller`, `agent`, `dtmf`, `event`... (free text; `caller`/`agent` make the transcript).
    pub kind: String,
    pub text: Pii<String>,
    pub confidence: Option<f32>,
    /// Latencies in milliseconds by stage (`asr_final`, `llm_first_token`, `tts_first_audio`...),
    /// stored as a JSON object.
    pub latencies_ms: BTreeMap<String, u64>,
    pub at: Timestamp,
}

/// A stored flow version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersion {
    pub name: String,
    pub version: i64,
    pub yaml: String,
    /// Lowercase hex SHA-256 of the YAML text (R28: script version hash).
    pub sha256: String,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
}

impl FlowVersion {
    /// Whether the version is published (and so immutable).
    pub fn is_published(&self) -> bool {
        self.published_at.is_some()
    }
}

/// A freshly created API key: the only time the full key is available.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: i64,
    /// The full key, to show once (`fdk_` + 64 hex digits).
    pub key: Pii<String>,
    /// The first characters, stored in clear for display (`fdk_1a2b3c4d`).
    pub prefix: String,
}

/// A stored API key (never the key itself: only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// An entry of the company do-not-call list (R12, R13, R18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub phone: Pii<String>,
    /// When the first request was recorded.
    pub at: Timestamp,
    /// How it came: `voice`, `dtmf`, `api`, `web`... (free text).
    pub source: String,
    pub call_id: Option<CallId>,
}

/// Normalises a phone number for storage and lookup: keeps a leading `+` and the digits, drops
/// spaces, dashes, dots and parentheses.
///
/// # Errors
/// [`StoreError::Invalid`] for anything else or fewer than 3 digits.
pub fn normalize_phone(raw: &str) -> Result<String, StoreError> {
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(StoreError::Invalid(format!("phone number {} has a {c:?}", Pii::new(raw)))),
        }
    }
    if out.chars().filter(char::is_ascii_digit).count() < 3 {
        return Err(StoreError::Invalid(format!("phone number {} is too short", Pii::new(raw))));
    }
    Ok(out)
}
