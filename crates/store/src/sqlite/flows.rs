//! Flow versions: numbered 1, 2, 3... per flow name, with the YAML text and its SHA-256.
//!
//! A version is a draft until published; publishing is one-way. Published rows cannot be
//! updated or deleted: the code checks and returns [`StoreError::Immutable`], and schema
//! triggers abort any UPDATE/DELETE on a published row from any other writer. The live flow is
//! the newest published version; calls record the version they ran.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, ms, ts, ts_opt};
use crate::{FlowStore, FlowVersion, StoreError, sha256_hex};

const COLS: &str = "name, version, yaml, sha256, created_ms, published_ms";

type Row = (String, i64, String, String, i64, Option<i64>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_flow(r: Row) -> Result<FlowVersion, StoreError> {
    let (name, version, yaml, sha256, created, published) = r;
    Ok(FlowVersion {
        name,
        version,
        yaml,
        sha256,
        created_at: ts(created)?,
        published_at: ts_opt(published)?,
    })
}

fn one(c: &Connection, cond: &str, p: impl rusqlite::Params) -> Result<Option<FlowVersion>, StoreError> {
    c.query_row(&format!("SELECT {COLS} FROM flow_versions WHERE {cond}"), p, row)
        .optional()?
        .map(to_flow)
        .transpose()
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("flow name {name:?}: use letters, digits, - _ .")))
    }
}

impl FlowStore for SqliteStore {
    fn save_flow(&self, name: &str, yaml: &str, now: Timestamp) -> Result<FlowVersion, StoreError> {
        check_name(name)?;
        let sha = sha256_hex(yaml.as_bytes());
        self.write(|c| {
            if let Some(latest) = one(c, "name = ?1 ORDER BY version DESC LIMIT 1", [name])?
                && latest.sha256 == sha
            {
                return Ok(latest);
            }
            let next: i64 = c.query_row(
                "SELECT coalesce(max(version), 0) + 1 FROM flow_versions WHERE name = ?1",
                [name],
                |r| r.get(0),
            )?;
            c.execute(
                &format!("INSERT INTO flow_versions ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, NULL)"),
                params![name, next, yaml, sha, ms(now)],
            )?;
            tracing::info!(flow = name, version = next, "store: flow version saved");
            one(c, "name = ?1 AND version = ?2", params![name, next])?
                .ok_or_else(|| StoreError::NotFound { what: "flow version", id: format!("{name} v{next}") })
        })
    }

    fn publish_flow(&self, name: &str, version: i64, now: Timestamp) -> Result<FlowVersion, StoreError> {
        self.write(|c| {
            let f = one(c, "name = ?1 AND version = ?2", params![name, version])?.ok_or_else(|| {
                StoreError::NotFound { what: "flow version", id: format!("{name} v{version}") }
            })?;
            if f.is_published() {
                return Ok(f);
            }
            c.execute(
                "UPDATE flow_versions SET published_ms = ?3 WHERE name = ?1 AND version = ?2",
                params![name, version, ms(now)],
            )?;
            tracing::info!(flow = name, version, "store: flow version published");
            Ok(FlowVersion { published_at: Some(now), ..f })
        })
    }

    fn flow_version(&self, name: &str, version: i64) -> Result<Option<FlowVersion>, StoreError> {
        self.read(|c| one(c, "name = ?1 AND version = ?2", params![name, version]))
    }

    fn published_flow(&self, name: &str) -> Result<Option<FlowVersion>, StoreError> {
        self.read(|c| one(c, "name = ?1 AND published_ms IS NOT NULL ORDER BY version DESC LIMIT 1", [name]))
    }

    fn flow_versions(&self, name: &str) -> Result<Vec<FlowVersion>, StoreError> {
        self.read(|c| {
            let mut st =
                c.prepare(&format!("SELECT {COLS} FROM flow_versions WHERE name = ?1 ORDER BY version"))?;
            let rows: Vec<Row> = st.query_map([name], row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(to_flow).collect()
        })
    }

    fn delete_flow_draft(&self, name: &str, version: i64) -> Result<(), StoreError> {
        self.write(|c| {
            let f = one(c, "name = ?1 AND version = ?2", params![name, version])?.ok_or_else(|| {
                StoreError::NotFound { what: "flow version", id: format!("{name} v{version}") }
            })?;
            if f.is_published() {
                return Err(StoreError::Immutable { name: name.to_string(), version });
            }
            c.execute("DELETE FROM flow_versions WHERE name = ?1 AND version = ?2", params![name, version])?;
            Ok(())
        })
    }
}
