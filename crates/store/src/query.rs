//! Listing queries for the HTTP API: calls with filters and keyset pagination, flow summaries,
//! and a write probe for readiness.

use frontdesk_types::CallId;
use jiff::Timestamp;

use crate::{CallRecord, Direction, StoreError};

/// Which calls to list, newest first (by start, then id).
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    pub direction: Option<Direction>,
    /// Calls that ran this flow.
    pub flow_name: Option<String>,
    /// Calls from or to this number (normalised like stored numbers).
    pub phone: Option<String>,
    /// Started at or after.
    pub started_from: Option<Timestamp>,
    /// Started before.
    pub started_until: Option<Timestamp>,
    /// `Some(true)`: calls in progress only; `Some(false)`: ended calls only.
    pub live: Option<bool>,
    /// Keyset cursor: only calls strictly older than this (start, id) pair.
    pub before: Option<(Timestamp, CallId)>,
    /// At most this many rows (1..=1000; 0 means the default 50).
    pub limit: u32,
}

impl CallQuery {
    /// The effective row limit.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(1000),
        }
    }
}

/// One flow name with its newest and live versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSummary {
    pub name: String,
    pub latest_version: i64,
    /// The newest published version (what new calls run), if any.
    pub published_version: Option<i64>,
    pub versions: i64,
    pub updated_at: Timestamp,
}

/// Queries the HTTP API needs beyond the per-area traits.
pub trait QueryStore {
    /// Calls matching the query, newest first.
    fn list_calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>, StoreError>;
    /// Every flow name with its versions, by name.
    fn flow_summaries(&self) -> Result<Vec<FlowSummary>, StoreError>;
    /// Replaces the newest version of `name` with `yaml` when it is an unpublished draft (same
    /// version number), or saves `yaml` as the next version otherwise; one transaction.
    /// Saving the text of the newest version again returns it unchanged.
    fn put_flow_draft(
        &self,
        name: &str,
        yaml: &str,
        now: Timestamp,
    ) -> Result<crate::FlowVersion, StoreError>;
    /// Checks that the database takes a write (a write transaction that is rolled back).
    fn check_writable(&self) -> Result<(), StoreError>;
}
