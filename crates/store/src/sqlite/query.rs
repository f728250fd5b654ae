//! [`QueryStore`] for SQLite: call listing with keyset pagination, flow summaries, in-place draft
//! updates and the readiness write probe.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params_from_iter, types::Value};

use super::{SqliteStore, ms, ts};
use crate::{CallQuery, CallRecord, FlowStore, FlowSummary, FlowVersion, QueryStore, StoreError, sha256_hex};

impl QueryStore for SqliteStore {
    fn list_calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>, StoreError> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        let arg = |v: Value, args: &mut Vec<Value>| {
            args.push(v);
            format!("?{}", args.len())
        };
        if let Some(d) = q.direction {
            let p = arg(Value::Text(d.as_str().into()), &mut args);
            conds.push(format!("direction = {p}"));
        }
        if let Some(f) = &q.flow_name {
            let p = arg(Value::Text(f.clone()), &mut args);
            conds.push(format!("flow_name = {p}"));
        }
        if let Some(phone) = &q.phone {
            let p = arg(Value::Text(super::calls::number(phone)), &mut args);
            conds.push(format!("(from_number = {p} OR to_number = {p})"));
        }
        if let Some(t) = q.started_from {
            let p = arg(Value::Integer(ms(t)), &mut args);
            conds.push(format!("started_ms >= {p}"));
        }
        if let Some(t) = q.started_until {
            let p = arg(Value::Integer(ms(t)), &mut args);
            conds.push(format!("started_ms < {p}"));
        }
        match q.live {
            Some(true) => conds.push("ended_ms IS NULL".into()),
            Some(false) => conds.push("ended_ms IS NOT NULL".into()),
            None => {}
        }
        if let Some((t, id)) = &q.before {
            let pt = arg(Value::Integer(ms(*t)), &mut args);
            let pi = arg(Value::Text(id.0.clone()), &mut args);
            conds.push(format!("(started_ms < {pt} OR (started_ms = {pt} AND id < {pi}))"));
        }
        let where_ = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let limit = q.effective_limit();
        let sql = format!(
            "SELECT {} FROM calls {where_} ORDER BY started_ms DESC, id DESC LIMIT {limit}",
            super::calls::CALL_COLS
        );
        self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let rows: Vec<super::calls::CallRow> = st
                .query_map(params_from_iter(args.iter()), super::calls::call_row)?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(super::calls::to_call).collect()
        })
    }

    fn flow_summaries(&self) -> Result<Vec<FlowSummary>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT name, max(version), max(CASE WHEN published_ms IS NOT NULL THEN version END),
                        count(*), max(coalesce(published_ms, created_ms), created_ms)
                 FROM flow_versions GROUP BY name ORDER BY name",
            )?;
            let rows: Vec<(String, i64, Option<i64>, i64, i64)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(name, latest_version, published_version, versions, updated)| {
                    Ok(FlowSummary {
                        name,
                        latest_version,
                        published_version,
                        versions,
                        updated_at: ts(updated)?,
                    })
                })
                .collect()
        })
    }

    fn put_flow_draft(&self, name: &str, yaml: &str, now: Timestamp) -> Result<FlowVersion, StoreError> {
        let sha = sha256_hex(yaml.as_bytes());
        let replaced = self.write(|c| {
            let latest: Option<(i64, String, Option<i64>)> = c
                .query_row(
                    "SELECT version, sha256, published_ms FROM flow_versions WHERE name = ?1
                     ORDER BY version DESC LIMIT 1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match latest {
                Some((v, old_sha, None)) if old_sha != sha => {
                    c.execute(
                        "UPDATE flow_versions SET yaml = ?3, sha256 = ?4, created_ms = ?5
                         WHERE name = ?1 AND version = ?2 AND published_ms IS NULL",
                        rusqlite::params![name, v, yaml, sha, ms(now)],
                    )?;
                    tracing::info!(flow = name, version = v, "store: flow draft updated");
                    Ok(Some(v))
                }
                _ => Ok(None),
            }
        })?;
        match replaced {
            Some(v) => self
                .flow_version(name, v)?
                .ok_or_else(|| StoreError::NotFound { what: "flow version", id: format!("{name} v{v}") }),
            None => self.save_flow(name, yaml, now),
        }
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("CREATE TEMP TABLE IF NOT EXISTS readyz_probe (x INTEGER)", [])?;
        tx.rollback()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallStore, Direction, NewCall};
    use frontdesk_types::{CallId, Pii};

    fn call(id: &str, started: i64, dir: Direction, flow: &str) -> NewCall {
        NewCall {
            id: CallId(id.into()),
            direction: dir,
            transport: "sip".into(),
            from: Pii::new("+15550001".into()),
            to: Pii::new("+15550002".into()),
            flow_name: Some(flow.into()),
            flow_version: Some(1),
            started_at: Timestamp::from_second(started).unwrap(),
        }
    }

    #[test]
    fn lists_calls_newest_first_with_filters_and_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        for i in 0..5 {
            let d = if i % 2 == 0 { Direction::Inbound } else { Direction::Outbound };
            s.start_call(&call(&format!("c{i}"), 1_000 + i, d, if i < 3 { "a" } else { "b" })).unwrap();
        }
        s.end_call(&CallId("c4".into()), Timestamp::from_second(2_000).unwrap(), "done").unwrap();
        let page = s.list_calls(&CallQuery { limit: 2, ..CallQuery::default() }).unwrap();
        let ids: Vec<_> = page.iter().map(|c| c.id.0.clone()).collect();
        assert_eq!(ids, ["c4", "c3"]);
        let last = page.last().unwrap();
        let next = s
            .list_calls(&CallQuery {
                limit: 2,
                before: Some((last.started_at, last.id.clone())),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.iter().map(|c| c.id.0.as_str()).collect::<Vec<_>>(), ["c2", "c1"]);
        let inbound_a = s
            .list_calls(&CallQuery {
                direction: Some(Direction::Inbound),
                flow_name: Some("a".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(inbound_a.iter().map(|c| c.id.0.as_str()).collect::<Vec<_>>(), ["c2", "c0"]);
        let live = s.list_calls(&CallQuery { live: Some(false), ..Default::default() }).unwrap();
        assert_eq!(live.len(), 1);
        let by_phone =
            s.list_calls(&CallQuery { phone: Some("+1 555 0002".into()), ..Default::default() }).unwrap();
        assert_eq!(by_phone.len(), 5);
        s.check_writable().unwrap();
    }

    #[test]
    fn drafts_are_updated_in_place_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_dir(dir.path()).unwrap();
        let now = Timestamp::from_second(10).unwrap();
        assert_eq!(s.put_flow_draft("f", "a: 1\n", now).unwrap().version, 1);
        assert_eq!(s.put_flow_draft("f", "a: 2\n", now).unwrap().version, 1);
        assert_eq!(s.flow_version("f", 1).unwrap().unwrap().yaml, "a: 2\n");
        s.publish_flow("f", 1, now).unwrap();
        let v2 = s.put_flow_draft("f", "a: 3\n", now).unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(s.flow_version("f", 1).unwrap().unwrap().yaml, "a: 2\n");
        let sums = s.flow_summaries().unwrap();
        assert_eq!(sums.len(), 1);
        assert_eq!((sums[0].latest_version, sums[0].published_version, sums[0].versions), (2, Some(1), 2));
    }
}
