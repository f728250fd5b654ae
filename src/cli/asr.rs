//! `frontdesk asr FILE... [--model tiny.en|base]`: transcribe WAV files with Whisper.
//!
//! Any WAV the server's reader takes (PCM 8/16/24/32-bit, float, A-law, mu-law, any channel
//! count, 8/16/22.05/24/48 kHz) is mixed to mono and converted to 16 kHz. The model is loaded
//! once. One file prints its transcript; several print `PATH<TAB>TRANSCRIPT`, one line each.
//! A file that cannot be read or decoded is reported on stderr and the others still run; the
//! command then fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber, paths, to_16k};
use frontdesk_engines::{DecodeOptions, Transcriber as _};
use frontdesk_types::SampleRate;

/// Arguments of `frontdesk asr`.
#[derive(clap::Args, Debug)]
pub(crate) struct AsrArgs {
    /// WAV files to transcribe.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Whisper model: `tiny.en` (fast, English) or `base` (multilingual, forced to English).
    #[arg(long, default_value = "tiny.en")]
    pub model: String,
    /// Models directory (as written by `frontdesk models fetch`); default `FRONTDESK_MODELS`,
    /// else `./models`.
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

/// Transcribes one file; errors are one line naming the file.
fn transcribe_file(m: &WhisperTranscriber, path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    // The reader's messages already name the file (and its source error).
    let pcm = frontdesk_server::wav::read(path).map_err(|e| anyhow!("{e}"))?;
    let rate = SampleRate::from_hz(pcm.rate).map_err(|e| anyhow!("{shown}: {e}"))?;
    let samples: Vec<f32> = pcm.samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let pcm16 = to_16k(&samples, rate).map_err(|e| anyhow!("{shown}: {e}"))?;
    let t = m.transcribe(&pcm16, &DecodeOptions::default()).map_err(|e| anyhow!("{shown}: {e}"))?;
    Ok(t.text)
}

/// Runs `frontdesk asr`.
pub(crate) fn run(args: AsrArgs) -> anyhow::Result<()> {
    let model = WhisperModel::parse(&args.model)
        .ok_or_else(|| anyhow!("--model {:?}: expected tiny.en or base", args.model))?;
    let dir = args.models_dir.unwrap_or_else(paths::models_dir);
    let m = WhisperTranscriber::load(model, &dir)?;
    let many = args.files.len() > 1;
    let mut failed = 0usize;
    let mut out = std::io::stdout().lock();
    for path in &args.files {
        match transcribe_file(&m, path) {
            Ok(text) if many => writeln!(out, "{}\t{text}", path.display())?,
            Ok(text) => writeln!(out, "{text}")?,
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(anyhow!("{failed} of {} files could not be transcribed", args.files.len()));
    }
    Ok(())
}
