//! `frontdesk apikey create|list|revoke`: API keys for the HTTP API.
//!
//! `create` prints the new key once on stdout (only its SHA-256 is stored); `list` shows ids,
//! names and display prefixes; `revoke ID` makes a key stop working at once. [`serve_api`] opens
//! the same store for `serve`.

use std::io::Write as _;
use std::path::PathBuf;

use frontdesk_api::{Clock, SystemClock};
use frontdesk_store::{ApiKeyStore, DEFAULT_DATA_DIR, SqliteStore, random_key_bytes};

/// Arguments of `frontdesk apikey`.
#[derive(clap::Args, Debug)]
pub(crate) struct ApiKeyArgs {
    /// Data directory holding frontdesk.db (the same as `serve --data`).
    #[arg(long, global = true, env = "FRONTDESK_DATA", default_value = DEFAULT_DATA_DIR)]
    pub(crate) data: PathBuf,
    #[command(subcommand)]
    pub(crate) command: ApiKeyCommand,
}

/// `frontdesk apikey` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ApiKeyCommand {
    /// Create a key and print it once (store it now: it cannot be shown again).
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// List keys (id, name, prefix, created, revoked).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id (see `list`).
        id: i64,
    },
}

/// Runs `frontdesk apikey ...`.
pub(crate) fn run(args: ApiKeyArgs) -> anyhow::Result<()> {
    let store = SqliteStore::open_dir(&args.data)?;
    let now = SystemClock.now();
    let mut out = std::io::stdout().lock();
    match args.command {
        ApiKeyCommand::Create { name } => {
            let key = store.create_api_key(&name, &random_key_bytes()?, now)?;
            writeln!(out, "{}", key.key.expose())?;
            eprintln!("created API key {} ({name}, {}...); it is shown only once", key.id, key.prefix);
        }
        ApiKeyCommand::List => {
            for k in store.api_keys()? {
                let revoked = k.revoked_at.map_or_else(|| "-".to_string(), |t| t.to_string());
                writeln!(out, "{}\t{}\t{}\t{}\t{}", k.id, k.label, k.prefix, k.created_at, revoked)?;
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if !store.revoke_api_key(id, now)? {
                anyhow::bail!("no live API key with id {id}");
            }
            eprintln!("revoked API key {id}");
        }
    }
    Ok(())
}

/// The HTTP API `serve` mounts: the store in `data` (created when missing), the system clock.
pub(crate) fn serve_api(
    data: &std::path::Path,
    control: Option<std::sync::Arc<dyn frontdesk_api::CallControl>>,
) -> anyhow::Result<frontdesk_api::Api> {
    let store = SqliteStore::open_dir(data)?;
    tracing::info!(db = %store.path().display(), "http api at /v1 (keys: frontdesk apikey create)");
    Ok(frontdesk_api::Api::with_control(
        std::sync::Arc::new(store),
        std::sync::Arc::new(SystemClock),
        frontdesk_api::ApiConfig::default(),
        control,
    ))
}
