//! Call records (R28) and their per-turn timeline; the transcript is the `caller`/`agent` turns.
//!
//! Numbers are stored normalised (so a data-subject request finds every call of a number, R22);
//! turn text and numbers stay [`Pii`] in the records. Latencies are a JSON object of
//! milliseconds per stage (`json_valid` is checked by the schema).
//!
//! Each write emits its event in the same transaction (`call.started`, `call.turn`,
//! `call.ended`; `record_call` emits `call.started` and one `call.turn` per turn); a `transfer`
//! turn (its text is the target) also emits `call.transferred`.

use std::collections::BTreeMap;

use frontdesk_types::{CallId, Pii};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::events::insert_event;
use super::{SqliteStore, ms, ts, ts_opt};
use crate::error::is_unique_violation;
use crate::{CallRecord, CallStore, Direction, NewCall, StoreError, Turn, normalize_phone};

pub(super) const CALL_COLS: &str = "id, direction, transport, from_number, to_number, flow_name, flow_version, started_ms, ended_ms, disposition";

pub(super) type CallRow =
    (String, String, String, String, String, Option<String>, Option<i64>, i64, Option<i64>, Option<String>);

pub(super) fn call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

pub(super) fn to_call(row: CallRow) -> Result<CallRecord, StoreError> {
    let (id, dir, transport, from, to, flow_name, flow_version, started, ended, disposition) = row;
    Ok(CallRecord {
        id: CallId(id),
        direction: Direction::parse(&dir)?,
        transport,
        from: Pii::new(from),
        to: Pii::new(to),
        flow_name,
        flow_version,
        started_at: ts(started)?,
        ended_at: ts_opt(ended)?,
        disposition,
    })
}

/// A number as stored: normalised when it looks like a phone number, else kept as given (a SIP
/// URI user part or "anonymous").
pub(super) fn number(raw: &str) -> String {
    normalize_phone(raw).unwrap_or_else(|_| raw.trim().to_string())
}

fn insert_call(c: &Connection, call: &NewCall) -> Result<(), StoreError> {
    c.execute(
        &format!("INSERT INTO calls ({CALL_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL)"),
        params![
            call.id.0,
            call.direction.as_str(),
            call.transport,
            number(call.from.expose()),
            number(call.to.expose()),
            call.flow_name,
            call.flow_version,
            ms(call.started_at)
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Invalid(format!("call {} already recorded", call.id))
        } else {
            StoreError::from(e)
        }
    })?;
    Ok(())
}

fn insert_turn(c: &Connection, call: &CallId, t: &Turn) -> Result<(), StoreError> {
    let latencies =
        serde_json::to_string(&t.latencies_ms).map_err(|e| StoreError::Invalid(format!("latencies: {e}")))?;
    c.execute(
        "INSERT INTO call_turns (call_id, turn_index, kind, text, confidence, latencies_json, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![call.0, t.index, t.kind, t.text.expose(), t.confidence.map(f64::from), latencies, ms(t.at)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Invalid(format!("call {call} already has turn {}", t.index))
        } else if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::ConstraintViolation)) {
            StoreError::NotFound { what: "call", id: call.0.clone() }
        } else {
            StoreError::from(e)
        }
    })?;
    Ok(())
}

/// `call.started`, in the transaction that inserts the call.
fn emit_started(c: &Connection, call: &NewCall) -> Result<(), StoreError> {
    let data = json!({
        "direction": call.direction.as_str(),
        "transport": call.transport,
        "from": number(call.from.expose()),
        "to": number(call.to.expose()),
        "flow": call.flow_name,
        "flow_version": call.flow_version,
        "started_at": call.started_at.to_string(),
    });
    insert_event(c, "call.started", Some(&call.id), &data, call.started_at).map(|_| ())
}

/// `call.turn` (and `call.transferred` for a `transfer` row), in the transaction that inserts the
/// turn.
fn emit_turn(c: &Connection, call: &CallId, t: &Turn) -> Result<(), StoreError> {
    let data = json!({
        "index": t.index,
        "kind": t.kind,
        "text": t.text.expose(),
        "confidence": t.confidence,
        "latencies_ms": t.latencies_ms,
        "at": t.at.to_string(),
    });
    insert_event(c, "call.turn", Some(call), &data, t.at)?;
    if t.kind == "transfer" {
        // The shell writes a transfer as a `transfer` row whose text is the target.
        let data = json!({ "target": t.text.expose(), "turn_index": t.index, "at": t.at.to_string() });
        insert_event(c, "call.transferred", Some(call), &data, t.at)?;
    }
    Ok(())
}

fn turns(c: &Connection, id: &CallId) -> Result<Vec<Turn>, StoreError> {
    let mut st = c.prepare(
        "SELECT turn_index, kind, text, confidence, latencies_json, at_ms FROM call_turns
         WHERE call_id = ?1 ORDER BY turn_index",
    )?;
    let rows: Vec<(u32, String, String, Option<f64>, String, i64)> = st
        .query_map([&id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(index, kind, text, confidence, lat, at)| {
            let latencies_ms: BTreeMap<String, u64> = serde_json::from_str(&lat)
                .map_err(|e| StoreError::BadData(format!("call {id} turn {index} latencies: {e}")))?;
            Ok(Turn {
                index,
                kind,
                text: Pii::new(text),
                confidence: confidence.map(|c| c as f32),
                latencies_ms,
                at: ts(at)?,
            })
        })
        .collect()
}

impl CallStore for SqliteStore {
    fn start_call(&self, call: &NewCall) -> Result<(), StoreError> {
        self.write(|c| {
            insert_call(c, call)?;
            emit_started(c, call)
        })
    }

    fn append_turn(&self, call: &CallId, turn: &Turn) -> Result<(), StoreError> {
        self.write(|c| {
            insert_turn(c, call, turn)?;
            emit_turn(c, call, turn)
        })
    }

    fn end_call(&self, call: &CallId, ended_at: Timestamp, disposition: &str) -> Result<(), StoreError> {
        self.write(|c| {
            let started: Option<i64> = c
                .query_row(
                    "UPDATE calls SET ended_ms = ?2, disposition = ?3 WHERE id = ?1 RETURNING started_ms",
                    params![call.0, ms(ended_at), disposition],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(started) = started else {
                return Err(StoreError::NotFound { what: "call", id: call.0.clone() });
            };
            let data = json!({
                "ended_at": ended_at.to_string(),
                "disposition": disposition,
                "duration_ms": ms(ended_at) - started,
            });
            insert_event(c, "call.ended", Some(call), &data, ended_at).map(|_| ())
        })
    }

    fn record_call(&self, call: &NewCall, turns: &[Turn]) -> Result<(), StoreError> {
        self.write(|c| {
            insert_call(c, call)?;
            emit_started(c, call)?;
            turns.iter().try_for_each(|t| {
                insert_turn(c, &call.id, t)?;
                emit_turn(c, &call.id, t)
            })
        })
    }

    fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        self.read(|c| {
            c.query_row(&format!("SELECT {CALL_COLS} FROM calls WHERE id = ?1"), [&id.0], call_row)
                .optional()?
                .map(to_call)
                .transpose()
        })
    }

    fn turns(&self, id: &CallId) -> Result<Vec<Turn>, StoreError> {
        self.read(|c| turns(c, id))
    }

    fn transcript(&self, id: &CallId) -> Result<String, StoreError> {
        let mut out = String::new();
        for t in self.read(|c| turns(c, id))? {
            if t.kind == "caller" || t.kind == "agent" {
                out.push_str(&t.kind);
                out.push_str(": ");
                out.push_str(t.text.expose());
                out.push('\n');
            }
        }
        Ok(out)
    }

    fn calls_for_phone(&self, phone: &str) -> Result<Vec<CallRecord>, StoreError> {
        let n = number(phone);
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {CALL_COLS} FROM calls WHERE from_number = ?1 OR to_number = ?1 ORDER BY started_ms DESC"
            ))?;
            let rows: Vec<CallRow> = st.query_map([&n], call_row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(to_call).collect()
        })
    }
}
