//! The API alone on a listener, over an SQLite store in a data directory: for the OpenAPI
//! conformance run (schemathesis) and the benchmark (oha), which do not need the speech engines.
//!
//! `cargo run -p frontdesk-api --example api_server -- DATA_DIR 127.0.0.1:8089 [seed]` creates an API
//! key, prints it as the first line of stdout, optionally seeds a published flow and a call with
//! a timeline (`seed`), then serves until killed.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;

use frontdesk_api::{Api, ApiConfig, Clock, SystemClock};
use frontdesk_store::{
    ApiKeyStore, CallStore, Direction, FlowStore, NewCall, SqliteStore, Turn, random_key_bytes,
};
use frontdesk_types::{CallId, Pii};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args.next().ok_or("usage: api_server DATA_DIR ADDR [seed]")?;
    let addr = args.next().ok_or("usage: api_server DATA_DIR ADDR [seed]")?;
    let seed = args.next().as_deref() == Some("seed");
    let store = Arc::new(SqliteStore::open_dir(&data)?);
    let now = SystemClock.now();
    let key = store.create_api_key("api_server", &random_key_bytes()?, now)?;
    if seed {
        let yaml = include_str!("../../../flows/clinic.yaml");
        let v = store.save_flow("clinic", yaml, now)?;
        store.publish_flow("clinic", v.version, now)?;
        let id = CallId("bench-call".into());
        if store.call(&id)?.is_none() {
            let call = NewCall {
                id: id.clone(),
                direction: Direction::Inbound,
                transport: "sip".into(),
                from: Pii::new("+16175550100".into()),
                to: Pii::new("+16175550142".into()),
                flow_name: Some("clinic".into()),
                flow_version: Some(v.version),
                started_at: now,
            };
            let turns: Vec<Turn> = (0..12)
                .map(|i| Turn {
                    index: i,
                    kind: if i % 2 == 0 { "agent" } else { "caller" }.into(),
                    text: Pii::new(format!("utterance number {i} of a typical booking call")),
                    confidence: (i % 2 == 1).then_some(0.9),
                    latencies_ms: BTreeMap::from([
                        ("asr_final".to_string(), 200),
                        ("tts_first_audio".to_string(), 150),
                    ]),
                    at: now,
                })
                .collect();
            store.record_call(&call, &turns)?;
        }
    }
    println!("{}", key.key.expose());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("api_server listening on {}", listener.local_addr()?);
    let api = Api::new(store, Arc::new(SystemClock), ApiConfig::default());
    frontdesk_api::serve(listener, api).await;
    Ok(())
}
