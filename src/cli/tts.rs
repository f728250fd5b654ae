//! `frontdesk tts "TEXT" -o OUT.wav [--rate 8000|16000|22050] [--voice piper|espeak]`.
//!
//! Synthesises the text clause by clause on the inference pool (the same path a call takes),
//! resampled to `--rate`, and writes a 16-bit mono WAV. Reports time to first audio and the
//! real-time factor on stderr.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use frontdesk_engines::Synthesizer;
use frontdesk_engines::pool::InferencePool;
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::{EspeakVoice, PiperVoice, StreamOptions, TtsStream};
use frontdesk_types::SampleRate;

/// Arguments of `frontdesk tts`.
#[derive(clap::Args, Debug)]
pub(crate) struct TtsArgs {
    /// The text to speak.
    pub text: String,
    /// Output WAV file.
    #[arg(short, long, value_name = "OUT.wav")]
    pub output: PathBuf,
    /// Output sample rate: 8000, 16000 or 22050.
    #[arg(long, default_value_t = 22050)]
    pub rate: u32,
    /// `piper` (the joe voice, needs `frontdesk models fetch onnxruntime piper-joe`) or `espeak`
    /// (espeak-ng alone).
    #[arg(long, default_value = "piper")]
    pub voice: String,
    /// Models directory; default `FRONTDESK_MODELS`, else `./models`.
    #[arg(long = "models", alias = "models-dir", value_name = "DIR")]
    pub models: Option<PathBuf>,
}

#[allow(clippy::disallowed_methods)] // a CLI reporting how long synthesis took
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs `frontdesk tts`.
pub(crate) fn run(args: TtsArgs) -> anyhow::Result<()> {
    let rate = match args.rate {
        8000 | 16000 | 22050 => SampleRate::from_hz(args.rate)?,
        r => bail!("--rate {r}: use 8000, 16000 or 22050"),
    };
    let t0 = now();
    let synth: Arc<dyn Synthesizer> = match args.voice.as_str() {
        "piper" => Arc::new(PiperVoice::load(&ModelPaths::from_env(args.models)?)?),
        "espeak" => Arc::new(EspeakVoice::new("en-us")?),
        v => bail!("--voice {v}: use piper or espeak"),
    };
    eprintln!("{} loaded in {:.0} ms", synth.name(), t0.elapsed().as_secs_f64() * 1e3);
    let pool = Arc::new(InferencePool::new(1, 64));
    let t1 = now();
    let mut first = None;
    let mut pcm = Vec::new();
    for chunk in TtsStream::new(synth, pool, &args.text, StreamOptions::new(rate))? {
        let chunk = chunk?;
        first.get_or_insert_with(|| t1.elapsed());
        pcm.extend(chunk.pcm);
    }
    let took = t1.elapsed();
    if pcm.is_empty() {
        bail!("nothing to say: the text has no speakable words");
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate.hz(),
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let shown = args.output.display();
    let mut w = hound::WavWriter::create(&args.output, spec).with_context(|| format!("{shown}"))?;
    for s in &pcm {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).with_context(|| format!("{shown}"))?;
    }
    w.finalize().with_context(|| format!("{shown}"))?;
    let secs = pcm.len() as f64 / f64::from(rate.hz());
    eprintln!(
        "wrote {shown}: {secs:.2} s at {} Hz; first audio after {:.0} ms, RTF {:.3}",
        rate.hz(),
        first.unwrap_or_default().as_secs_f64() * 1e3,
        took.as_secs_f64() / secs
    );
    Ok(())
}
