//! The voice agent app: a flow on every call, driven by the sans-IO [`frontdesk_agent::Agent`].
//!
//! - [`VoiceEngines`]: the inference pool and the engines every call shares (VAD factory,
//!   transcriber, synthesiser, optional turn model and embedder) plus the prompt cache.
//! - [`FlowSource`]: the flow file and its `resources:` file, loaded and checked at start (an
//!   invalid flow refuses to start, with the checker's diagnostics); [`FlowSource::reload`] swaps
//!   in a new version only if it checks, so a bad edit keeps the last good flow. Calls in progress
//!   keep the version they started with. Fixed prompts (texts with no caller data: node prompts
//!   and reprompts, the knowledge base's answers, the global help, "are you a person" and opt-out
//!   texts) are synthesised at load into the prompt cache, so greetings, reprompts and FAQ answers
//!   start without synthesis.
//! - [`VoiceApp`]: what `serve` runs on a call, with the optional store (call records, the
//!   flow's scheduling ops, opt-outs) and metrics registry; the per-call task is in `call.rs`,
//!   effects (scheduling, opt-out, webhooks) in `effects.rs`, the call log and metrics in
//!   `log.rs`. [`ControlCmd`] is what live-call control sends a running call.

mod call;
mod effects;
mod log;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use frontdesk_agent::AgentConfig;
use frontdesk_api::Metrics;
use frontdesk_engines::embed_cache::EmbeddingCache;
use frontdesk_engines::pool::InferencePool;
use frontdesk_engines::turn::EndOfTurnFactory;
use frontdesk_engines::{Embedder, Synthesizer, Transcriber, VadFactory};
use frontdesk_flow::ast::NodeKind;
use frontdesk_flow::parse::resources::Resources;
use frontdesk_flow::template::Template;
use frontdesk_flow::{Bundle, FlowError};
use frontdesk_store::Store;
use frontdesk_tts_piper::PromptCache;
use frontdesk_types::SampleRate;
use tracing::{info, warn};

use crate::call::Call;

/// A command for a call in progress, from live-call control (the HTTP API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlCmd {
    /// Speak `text`; `interrupt` first flushes what the agent is saying.
    Say {
        /// What to say.
        text: String,
        /// Flush the current utterance first.
        interrupt: bool,
    },
    /// Blind-transfer the caller to a SIP URI or number.
    Transfer(String),
    /// End the call.
    Hangup,
}

/// VAD batches queued at most (each call has at most one batch out).
const VAD_QUEUE: usize = 1024;

/// Prompt cache budget: 10 minutes of 8 kHz audio.
const PROMPT_BUDGET: usize = 8000 * 600;

/// Engines shared by every call.
pub struct VoiceEngines {
    /// Where model work runs.
    pub pool: Arc<InferencePool>,
    /// Where the short jobs run: every call's VAD frames (a fraction of a millisecond each) and
    /// the embeddings of callers' words (about 10 ms, in the quick lane), on one thread of its
    /// own, so the speech onset that holds the agent's audio at a barge-in, the pause that ends a
    /// turn and the embedding the flow's answer needs never wait behind a decode or a synthesis
    /// on [`VoiceEngines::pool`].
    pub vad_pool: Arc<InferencePool>,
    /// Per-call VAD instances.
    pub vad: Arc<dyn VadFactory>,
    /// Speech to text.
    pub asr: Arc<dyn Transcriber>,
    /// Text to speech.
    pub tts: Arc<dyn Synthesizer>,
    /// The end-of-turn model, if loaded.
    pub turn: Option<Arc<dyn EndOfTurnFactory>>,
    /// Sentence embeddings for the flow's intents and FAQ, if loaded.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Fixed prompts' audio at 8 kHz.
    pub prompts: Arc<PromptCache>,
}

impl VoiceEngines {
    /// Loads Silero VAD, Whisper tiny.en and the Piper voice from the models directory
    /// (`models`, else `FRONTDESK_MODELS`, else `./models`), on a pool of one thread per core,
    /// and the MiniLM embedder when it is installed (intents and FAQ by meaning; without it the
    /// flow uses keyword rules and word overlap). No turn model: see [`VoiceEngines::load_with`].
    pub fn load(models: Option<PathBuf>) -> Result<VoiceEngines, frontdesk_engines::EngineError> {
        Self::load_with(models, false)
    }

    /// As [`VoiceEngines::load`], and with `turn_model` the Smart Turn v3.2 end-of-turn model
    /// (`serve --turn-model`): each pause then asks it whether the caller has finished, and the
    /// end-of-turn policy combines its answer with the words (`frontdesk_agent::policy`).
    pub fn load_with(
        models: Option<PathBuf>,
        turn_model: bool,
    ) -> Result<VoiceEngines, frontdesk_engines::EngineError> {
        use frontdesk_engines::EngineError;
        let paths = frontdesk_models::ModelPaths::from_env(models)
            .map_err(|e| EngineError::Input(format!("models directory: {e}")))?;
        let vad = frontdesk_vad_silero::SileroFactory::load(&paths)?;
        let asr = frontdesk_asr_whisper::WhisperTranscriber::load(
            frontdesk_asr_whisper::WhisperModel::TinyEn,
            paths.dir(),
        )?;
        let tts = frontdesk_tts_piper::PiperVoice::load(&paths)?;
        let embedder: Option<Arc<dyn Embedder>> = match frontdesk_embed_minilm::MiniLm::load(paths.dir()) {
            Ok(m) => Some(Arc::new(m)),
            Err(EngineError::ModelMissing { path }) => {
                info!(missing = %path.display(), "no MiniLM embedder installed: intents and FAQ use keyword rules");
                None
            }
            Err(e) => return Err(e),
        };
        let turn: Option<Arc<dyn EndOfTurnFactory>> = if turn_model {
            Some(Arc::new(frontdesk_eot_smartturn::SmartTurnFactory::load(&paths)?))
        } else {
            None
        };
        Ok(VoiceEngines {
            pool: Arc::new(InferencePool::with_default_size()),
            vad_pool: Arc::new(InferencePool::new(1, VAD_QUEUE)),
            vad: Arc::new(vad),
            asr: Arc::new(asr),
            tts: Arc::new(tts),
            turn,
            embedder,
            prompts: Arc::new(PromptCache::new(PROMPT_BUDGET)),
        })
    }

    /// Keeps the fixed prompts' audio in `dir` as well as in memory, so a restart reads them
    /// instead of synthesising them again (`serve` uses `prompt-cache` in its data directory).
    /// Call it before loading a flow.
    pub fn keep_prompts_in(&mut self, dir: &Path) -> Result<(), frontdesk_engines::EngineError> {
        self.prompts = Arc::new(PromptCache::with_dir(PROMPT_BUDGET, dir)?);
        Ok(())
    }
}

impl std::fmt::Debug for VoiceEngines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceEngines")
            .field("asr", &self.asr.name())
            .field("tts", &self.tts.name())
            .field("turn", &self.turn.is_some())
            .field("embedder", &self.embedder.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a flow could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VoiceError {
    /// The flow (or its knowledge base) has errors; each diagnostic is rendered with its position.
    #[error("the flow has errors (run `frontdesk flow check`):\n{0}")]
    Invalid(String),
    /// Reading or embedding failed.
    #[error("{0}")]
    Load(FlowError),
    /// A call asked for a flow version that cannot run.
    #[error("flow {name} version {version} cannot run: {why}")]
    Version {
        /// The flow's name.
        name: String,
        /// The version asked for.
        version: i64,
        /// What is wrong.
        why: String,
    },
}

/// One loaded version of the flow: the checked bundle, its resources (providers, hours,
/// appointment types for the scheduling nodes) and the SHA-256 of its YAML text.
#[derive(Debug)]
pub struct LoadedFlow {
    /// The flow and its knowledge base.
    pub bundle: Arc<Bundle>,
    /// The `resources:` file, if the flow names one.
    pub resources: Option<Resources>,
    /// Lowercase hex SHA-256 of the flow file (matches a published version's `sha256`).
    pub sha256: String,
    /// The flow file's text (published to the store when no published version has it).
    pub yaml: String,
    /// Whether the resources were written to the store (once per loaded version).
    pub(crate) seeded: AtomicBool,
    /// The published version with this text, once a call has found (or published) it.
    pub(crate) published: std::sync::OnceLock<i64>,
}

/// The flow file and its current checked version, and the published versions of the store that
/// calls asked for by number (an originated call names its flow version).
#[derive(Debug)]
pub struct FlowSource {
    path: PathBuf,
    current: Mutex<Arc<LoadedFlow>>,
    versions: Mutex<HashMap<(String, i64), Arc<LoadedFlow>>>,
    /// The embedder behind a cache of the flows' texts (intent examples, the knowledge base):
    /// a reload or another version embeds only the texts that changed.
    embed: Option<Arc<EmbeddingCache>>,
}

/// Flow texts whose vectors are kept (about 1.5 KiB each with MiniLM).
const EMBEDDINGS_KEPT: usize = 20_000;

/// Published versions kept loaded besides the flow file's (they are immutable, so a cached one
/// never goes stale).
const VERSIONS_KEPT: usize = 8;

fn load_bundle(
    path: &Path,
    engines: &VoiceEngines,
    embed: Option<&EmbeddingCache>,
) -> Result<LoadedFlow, VoiceError> {
    let text = std::fs::read(path)
        .map_err(|source| VoiceError::Load(FlowError::Io { path: path.to_owned(), source }))?;
    let sha256 = sha256_hex(&text);
    let (mut bundle, resources) = match frontdesk_flow::convo::load(path) {
        Ok(b) => b,
        Err(FlowError::Invalid { file, diags }) => {
            let all: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
            return Err(VoiceError::Invalid(all.join("\n")));
        }
        Err(e) => return Err(VoiceError::Load(e)),
    };
    if let Some(e) = embed {
        bundle.embed(e).map_err(VoiceError::Load)?;
    }
    let texts = fixed_prompts(&bundle);
    let synth = engines.tts.as_ref();
    let mut cached = 0;
    let disk_before = engines.prompts.loaded_from_disk();
    for t in &texts {
        match engines.prompts.get_or_synthesize(synth, t, SampleRate::Hz8000) {
            Ok(_) => cached += 1,
            Err(e) => warn!(error = %e, "cannot pre-synthesise a prompt; it will be synthesised per call"),
        }
    }
    info!(
        flow = %path.display(),
        prompts = cached,
        from_disk = engines.prompts.loaded_from_disk() - disk_before,
        "flow loaded; fixed prompts synthesised or read from the prompt cache"
    );
    let yaml = String::from_utf8_lossy(&text).into_owned();
    Ok(LoadedFlow {
        bundle: Arc::new(bundle),
        resources,
        sha256,
        yaml,
        seeded: AtomicBool::new(false),
        published: std::sync::OnceLock::new(),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut o, b| {
        let _ = write!(o, "{b:02x}");
        o
    })
}

/// Prompts whose text is the same on every call: templates that use only business facts (node
/// prompts and reprompts, the global help, "are you a person" and opt-out texts), the
/// knowledge base's answers, the machine's own fixed answers ("I don't have an answer to
/// that", escalation; [`frontdesk_flow::machine::built_in_texts`]) and the questions it builds
/// from the flow and knowledge base ("are you asking: ...?", "did you want to A, or B?";
/// [`frontdesk_flow::machine::question_texts`]).
pub fn fixed_prompts(b: &Bundle) -> Vec<String> {
    let f = &b.flow;
    let render = |t: &Template| -> Option<String> {
        if t.vars().all(|(v, _)| v == "business" || v == "business_phone") {
            Some(t.render(|name, _| match name {
                "business" => Some(f.business.clone()),
                "business_phone" => f.business_phone.clone(),
                _ => None,
            }))
        } else {
            None
        }
    };
    let mut out = Vec::new();
    for n in &f.nodes {
        let mut ts: Vec<&Template> = n.say.iter().collect();
        match &n.kind {
            NodeKind::Menu(m) => {
                ts.extend(m.prompt.iter());
                ts.extend(m.reprompt.no_input.iter().chain(m.reprompt.no_match.iter()));
            }
            NodeKind::Collect(c) => {
                ts.push(&c.prompt);
                ts.extend(c.reprompt.no_input.iter().chain(c.reprompt.no_match.iter()));
            }
            _ => {}
        }
        out.extend(ts.into_iter().filter_map(render).filter(|s| !s.trim().is_empty()));
    }
    let g = &f.global;
    out.extend(
        [&g.help, &g.are_you_human, &g.opt_out]
            .into_iter()
            .flatten()
            .filter_map(render)
            .filter(|s| !s.trim().is_empty()),
    );
    out.extend(b.kb.entries.iter().map(|e| e.answer.clone()).filter(|s| !s.trim().is_empty()));
    out.extend(frontdesk_flow::machine::built_in_texts(f));
    out.extend(frontdesk_flow::machine::question_texts(b));
    out.sort();
    out.dedup();
    out
}

impl FlowSource {
    /// Loads and checks `path` (and its knowledge base and resources), embeds it if a model is
    /// loaded and synthesises its fixed prompts.
    pub fn load(path: &Path, engines: &VoiceEngines) -> Result<FlowSource, VoiceError> {
        let embed = engines.embedder.clone().map(|e| Arc::new(EmbeddingCache::new(e, EMBEDDINGS_KEPT)));
        let b = load_bundle(path, engines, embed.as_deref())?;
        Ok(FlowSource {
            path: path.to_owned(),
            current: Mutex::new(Arc::new(b)),
            versions: Mutex::default(),
            embed,
        })
    }

    /// Published version `version` of flow `name` from `store`: the flow file's own when it has
    /// the same text, else the stored YAML, checked and embedded (its `knowledge:` and
    /// `resources:` files are read from the flow file's directory; only texts the flows loaded
    /// before do not share are embedded), then kept for later calls. Its fixed prompts are
    /// synthesised on first use, not ahead. Blocking (store, embeddings).
    pub fn version(
        &self,
        store: &dyn Store,
        name: &str,
        version: i64,
    ) -> Result<Arc<LoadedFlow>, VoiceError> {
        let key = (name.to_owned(), version);
        if let Some(f) = self.versions.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(f.clone());
        }
        let missing = |why: String| VoiceError::Version { name: name.to_owned(), version, why };
        let stored = store
            .flow_version(name, version)
            .map_err(|e| missing(format!("the store could not be read: {e}")))?
            .ok_or_else(|| missing("no such version in the store".into()))?;
        if !stored.is_published() {
            return Err(missing("it is a draft: publish it first".into()));
        }
        let current = self.loaded();
        if current.bundle.flow.name == name && current.sha256 == stored.sha256 {
            return Ok(current);
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let label = format!("flow {name} version {version}");
        let (mut bundle, resources) = match frontdesk_flow::convo::load_source(&stored.yaml, &label, base) {
            Ok(b) => b,
            Err(FlowError::Invalid { file, diags }) => {
                let all: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
                return Err(VoiceError::Invalid(all.join("\n")));
            }
            Err(e) => return Err(VoiceError::Load(e)),
        };
        if let Some(e) = &self.embed {
            bundle.embed(e.as_ref()).map_err(VoiceError::Load)?;
        }
        info!(flow = %name, version, "published flow version loaded for a call");
        let published = std::sync::OnceLock::new();
        let _ = published.set(version);
        let loaded = Arc::new(LoadedFlow {
            bundle: Arc::new(bundle),
            resources,
            sha256: stored.sha256,
            yaml: stored.yaml,
            seeded: AtomicBool::new(false),
            published,
        });
        let mut cache = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= VERSIONS_KEPT {
            cache.clear();
        }
        Ok(cache.entry(key).or_insert(loaded).clone())
    }

    /// Loads the file again; on errors keeps the current version and returns them.
    pub fn reload(&self, engines: &VoiceEngines) -> Result<(), VoiceError> {
        let b = load_bundle(&self.path, engines, self.embed.as_deref())?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(b);
        Ok(())
    }

    /// The version new calls get.
    pub fn current(&self) -> Arc<Bundle> {
        self.loaded().bundle.clone()
    }

    /// The version new calls get, with its resources and hash.
    pub fn loaded(&self) -> Arc<LoadedFlow> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The flow file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The voice agent as a call application.
#[derive(Clone)]
pub struct VoiceApp {
    /// Shared engines.
    pub engines: Arc<VoiceEngines>,
    /// The flow.
    pub flow: Arc<FlowSource>,
    /// Loop tuning.
    pub config: AgentConfig,
    /// Where call records are written and the flow's scheduling ops and opt-outs run; without
    /// one nothing is recorded and a scheduling node hears that the schedule is unavailable.
    pub store: Option<Arc<dyn Store>>,
    /// The metrics registry the calls feed (calls, turns, per-stage latencies, barge-ins,
    /// errors).
    pub metrics: Option<Arc<Metrics>>,
    /// Runs webhook nodes and LLM calls (secrets from the environment; no LLM unless
    /// configured: `llm` nodes then take their fallback).
    pub effects: Arc<frontdesk_effects::Effects>,
}

impl std::fmt::Debug for VoiceApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceApp")
            .field("engines", &self.engines)
            .field("flow", &self.flow.path())
            .field("store", &self.store.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("llm", &self.effects.llm_configured())
            .finish_non_exhaustive()
    }
}

impl VoiceApp {
    /// A voice app with no store and no metrics.
    pub fn new(engines: Arc<VoiceEngines>, flow: Arc<FlowSource>, config: AgentConfig) -> VoiceApp {
        let effects = Arc::new(frontdesk_effects::Effects::default());
        VoiceApp { engines, flow, config, store: None, metrics: None, effects }
    }

    /// Runs the flow on `call` until it ends, taking live-call commands from `control` (say,
    /// transfer, hang up) when given.
    pub async fn run(self, call: Call, control: Option<tokio::sync::mpsc::Receiver<ControlCmd>>) {
        call::run(self, call, control).await;
    }
}
