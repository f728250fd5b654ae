//! API keys (hashed) and the company do-not-call list.
//!
//! **API keys**: `fdk_` + 64 hex digits from 32 random bytes (passed in, so tests are
//! deterministic; [`crate::random_key_bytes`] reads the OS source). Only SHA-256 of the whole key
//! is stored, with the first 12 characters in clear for display. A plain hash is enough for a
//! 256-bit random secret (no dictionary to try), and lookup by hash means no per-row comparison.
//!
//! **Opt-outs** (R12, R13, R18): `opt_outs` keeps one row per normalised number, the first
//! request; `opt_out_requests` logs every request with its source and call, kept like the list
//! (5 years). Numbers in log lines are [`Pii`].

use frontdesk_types::{CallId, Pii};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, ms, ts, ts_opt};
use crate::{
    ApiKeyInfo, ApiKeyStore, NewApiKey, OptOut, OptOutStore, StoreError, normalize_phone, sha256_hex,
};

const KEY_PREFIX: &str = "fdk_";
const DISPLAY_LEN: usize = 12;

type KeyRow = (i64, String, String, i64, Option<i64>);

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_key((id, label, prefix, created, revoked): KeyRow) -> Result<ApiKeyInfo, StoreError> {
    Ok(ApiKeyInfo { id, label, prefix, created_at: ts(created)?, revoked_at: ts_opt(revoked)? })
}

impl ApiKeyStore for SqliteStore {
    fn create_api_key(
        &self,
        label: &str,
        random: &[u8; 32],
        now: Timestamp,
    ) -> Result<NewApiKey, StoreError> {
        use std::fmt::Write;
        let mut key = String::from(KEY_PREFIX);
        for b in random {
            let _ = write!(key, "{b:02x}");
        }
        let prefix: String = key.chars().take(DISPLAY_LEN).collect();
        let hash = sha256_hex(key.as_bytes());
        self.write(|c| {
            c.execute(
                "INSERT INTO api_keys (label, prefix, key_sha256, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![label, prefix, hash, ms(now)],
            )?;
            let id = c.last_insert_rowid();
            tracing::info!(id, prefix, "store: API key created");
            Ok(NewApiKey { id, key: Pii::new(key), prefix })
        })
    }

    fn verify_api_key(&self, presented: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        if !presented.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let hash = sha256_hex(presented.as_bytes());
        self.read(|c| {
            c.query_row(
                "SELECT id, label, prefix, created_ms, revoked_ms FROM api_keys
                 WHERE key_sha256 = ?1 AND revoked_ms IS NULL",
                [hash],
                key_row,
            )
            .optional()?
            .map(to_key)
            .transpose()
        })
    }

    fn revoke_api_key(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.write(|c| {
            Ok(c.execute(
                "UPDATE api_keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
                params![id, ms(now)],
            )? == 1)
        })
    }

    fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT id, label, prefix, created_ms, revoked_ms FROM api_keys ORDER BY id")?;
            let rows: Vec<KeyRow> = st.query_map([], key_row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(to_key).collect()
        })
    }
}

fn opt_out(c: &Connection, phone: &str) -> Result<Option<OptOut>, StoreError> {
    let row: Option<(String, i64, String, Option<String>)> = c
        .query_row("SELECT phone, at_ms, source, call_id FROM opt_outs WHERE phone = ?1", [phone], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(phone, at, source, call)| {
        Ok(OptOut { phone: Pii::new(phone), at: ts(at)?, source, call_id: call.map(CallId) })
    })
    .transpose()
}

impl OptOutStore for SqliteStore {
    fn add_opt_out(
        &self,
        phone: &str,
        source: &str,
        call: Option<&CallId>,
        now: Timestamp,
    ) -> Result<OptOut, StoreError> {
        let phone = normalize_phone(phone)?;
        let call = call.map(|c| c.0.as_str());
        self.write(|c| {
            c.execute(
                "INSERT INTO opt_out_requests (phone, at_ms, source, call_id) VALUES (?1, ?2, ?3, ?4)",
                params![phone, ms(now), source, call],
            )?;
            c.execute(
                "INSERT INTO opt_outs (phone, at_ms, source, call_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (phone) DO NOTHING",
                params![phone, ms(now), source, call],
            )?;
            tracing::info!(phone = %Pii::new(&phone), source, "store: opt-out recorded");
            opt_out(c, &phone)?
                .ok_or_else(|| StoreError::NotFound { what: "opt-out", id: "just written".into() })
        })
    }

    fn opt_out(&self, phone: &str) -> Result<Option<OptOut>, StoreError> {
        let phone = normalize_phone(phone)?;
        self.read(|c| opt_out(c, &phone))
    }

    fn opt_out_requests(&self, phone: &str) -> Result<u64, StoreError> {
        let phone = normalize_phone(phone)?;
        self.read(|c| {
            let n: i64 =
                c.query_row("SELECT count(*) FROM opt_out_requests WHERE phone = ?1", [phone], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
