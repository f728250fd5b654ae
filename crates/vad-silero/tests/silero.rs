//! Silero VAD with the real model: speech in real 8 kHz recordings (Debian's
//! asterisk-core-sounds-en-wav), none in digital silence or moderate white/pink noise, state kept
//! per stream over shared sessions, and model-file errors that name the file and the fix.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step should stop the test

use std::path::{Path, PathBuf};

use frontdesk_engines::{EngineError, Vad, VadFactory};
use frontdesk_models::ModelPaths;
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::hysteresis::{Hysteresis, HysteresisConfig, VadEvent};
use frontdesk_vad_silero::{MODEL_FILE, SET, SileroFactory};

const SOUNDS: &str = "/usr/share/asterisk/sounds/en";

fn models() -> ModelPaths {
    let dir = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    ModelPaths::new(dir).unwrap()
}

fn factory() -> SileroFactory {
    SileroFactory::load(&models()).unwrap_or_else(|e| {
        panic!("{e}\n(these tests need the models: run `frontdesk models fetch onnxruntime silero-vad`)")
    })
}

fn wav(name: &str) -> Vec<f32> {
    let path = Path::new(SOUNDS).join(name);
    let r = hound::WavReader::open(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (install the Debian package asterisk-core-sounds-en-wav: scripts/install-test-deps.sh)",
            path.display()
        )
    });
    assert_eq!(r.spec().sample_rate, 8000);
    r.into_samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect()
}

/// Probabilities for every whole frame.
fn probs(vad: &mut dyn Vad, pcm: &[f32]) -> Vec<f32> {
    pcm.chunks_exact(vad.frame_len()).map(|f| vad.process(f).unwrap()).collect()
}

fn events(probs: &[f32], frame: usize, rate: u32) -> Vec<VadEvent> {
    let mut h = Hysteresis::new(HysteresisConfig::default(), rate);
    let mut out = Vec::new();
    for &p in probs {
        h.handle_frame(p, frame);
        out.extend(std::iter::from_fn(|| h.poll_event()));
    }
    h.finish();
    out.extend(std::iter::from_fn(|| h.poll_event()));
    out
}

const PROMPTS: [&str; 4] = ["demo-congrats.wav", "vm-options.wav", "auth-thankyou.wav", "tt-weasels.wav"];

#[test]
fn finds_speech_in_real_recordings_at_8_and_16_khz() {
    let f = factory();
    for name in PROMPTS {
        let pcm = wav(name);
        let mut vad = f.create(SampleRate::Hz8000).unwrap();
        let p8 = probs(vad.as_mut(), &pcm);
        let speech = p8.iter().filter(|&&p| p >= 0.5).count() as f32 / p8.len() as f32;
        let ev = events(&p8, 256, 8000);
        eprintln!("{name}: {:.0} % speech frames at 8 kHz, events {ev:?}", speech * 100.0);
        assert!(speech > 0.4, "{name}: only {:.0} % of frames are speech", speech * 100.0);
        assert!(matches!(ev.first(), Some(VadEvent::SpeechStart { .. })), "{name}: {ev:?}");
        // The recording starts and ends with a little silence: speech starts after 0 and ends.
        assert!(matches!(ev.last(), Some(VadEvent::SpeechEnd { .. })));

        // Native 16 kHz on the same speech, upsampled.
        let mut up =
            frontdesk_codec::resample::Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).unwrap();
        let mut pcm16 = Vec::new();
        up.push_f32(&pcm, &mut pcm16).unwrap();
        up.flush_f32(&mut pcm16).unwrap();
        let mut vad16 = f.create(SampleRate::Hz16000).unwrap();
        assert_eq!(vad16.frame_len(), 512);
        let p16 = probs(vad16.as_mut(), &pcm16);
        let speech16 = p16.iter().filter(|&&p| p >= 0.5).count() as f32 / p16.len() as f32;
        assert!((speech16 - speech).abs() < 0.15, "{name}: 16 kHz {speech16} vs 8 kHz {speech}");
    }
}

#[test]
fn no_speech_in_digital_silence() {
    let f = factory();
    for rate in [SampleRate::Hz8000, SampleRate::Hz16000] {
        let mut vad = f.create(rate).unwrap();
        let p = probs(vad.as_mut(), &vec![0.0; rate.hz() as usize * 10]);
        let max = p.iter().copied().fold(0.0f32, f32::max);
        assert!(max < 0.2, "{rate:?}: max probability {max} in silence");
        assert_eq!(events(&p, vad.frame_len(), rate.hz()), vec![]);
    }
}

/// xorshift64*: seeded, so every run hears the same noise.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn white(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    // Uniform noise on -1..1 has an RMS of 1/sqrt(3).
    (0..n).map(|_| r.uniform() * rms * 3f32.sqrt()).collect()
}

/// Pink noise (Paul Kellet's filter over white noise), scaled to `rms`.
fn pink(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed);
    let mut b = [0f32; 7];
    let raw: Vec<f32> = (0..n)
        .map(|_| {
            let w = r.uniform();
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.153_852;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let out = b.iter().sum::<f32>() + w * 0.5362;
            b[6] = w * 0.115926;
            out
        })
        .collect();
    let cur = (raw.iter().map(|x| x * x).sum::<f32>() / n as f32).sqrt();
    raw.iter().map(|x| x * rms / cur).collect()
}

#[test]
fn no_speech_in_moderate_white_or_pink_noise() {
    let f = factory();
    // -30 dBFS RMS: a noisy line, louder than most telephone noise floors.
    let rms = 10f32.powf(-30.0 / 20.0);
    for rate in [SampleRate::Hz8000, SampleRate::Hz16000] {
        for (kind, noise) in [
            ("white", white(rate.hz() as usize * 10, rms, 7)),
            ("pink", pink(rate.hz() as usize * 10, rms, 11)),
        ] {
            let mut vad = f.create(rate).unwrap();
            let p = probs(vad.as_mut(), &noise);
            let ev = events(&p, vad.frame_len(), rate.hz());
            let above = p.iter().filter(|&&x| x >= 0.5).count();
            eprintln!("{kind} {rate:?}: {above}/{} frames >= 0.5, events {ev:?}", p.len());
            assert_eq!(ev, vec![], "{kind} noise at {rate:?} taken for speech");
        }
    }
}

#[test]
fn state_is_per_stream_over_shared_sessions() {
    let f = factory();
    let a = wav("demo-congrats.wav");
    let b = wav("vm-options.wav");
    let solo_a = probs(f.create(SampleRate::Hz8000).unwrap().as_mut(), &a);
    let solo_b = probs(f.create(SampleRate::Hz8000).unwrap().as_mut(), &b);
    // Interleaved streams on the same factory give exactly their solo results.
    let (mut va, mut vb) = (f.create(SampleRate::Hz8000).unwrap(), f.create(SampleRate::Hz8000).unwrap());
    let (mut ia, mut ib) = (Vec::new(), Vec::new());
    for (fa, fb) in a.chunks_exact(256).zip(b.chunks_exact(256)) {
        ia.push(va.process(fa).unwrap());
        ib.push(vb.process(fb).unwrap());
    }
    assert_eq!(ia, solo_a[..ia.len()]);
    assert_eq!(ib, solo_b[..ib.len()]);
    // The state matters (a frame's probability depends on the past) and reset forgets it.
    va.reset();
    let again: Vec<f32> = a.chunks_exact(256).map(|fr| va.process(fr).unwrap()).collect();
    assert_eq!(again, solo_a);
    let mut fresh = f.create(SampleRate::Hz8000).unwrap();
    let mid = &a[256 * 40..256 * 41];
    let cold = fresh.process(mid).unwrap();
    assert!((cold - solo_a[40]).abs() > 1e-4, "state had no effect: {cold} vs {}", solo_a[40]);
    // Wrong frame length and rate are input errors, not panics.
    assert!(matches!(fresh.process(&a[..100]), Err(EngineError::Input(_))));
    assert!(matches!(f.create(SampleRate::Hz48000), Err(EngineError::Input(_))));
}

/// A copy of the installed silero-vad set in a temporary models dir.
fn copied_set() -> (tempfile::TempDir, ModelPaths) {
    let real = models();
    let _ = factory(); // loads ONNX Runtime from the real models dir (one per process)
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join(SET);
    std::fs::create_dir_all(&dst).unwrap();
    for name in [MODEL_FILE, "LICENSE", ".installed"] {
        std::fs::copy(real.set_dir(SET).join(name), dst.join(name)).unwrap();
    }
    let paths = ModelPaths::new(dir.path()).unwrap();
    assert!(SileroFactory::load(&paths).is_ok(), "an intact copy loads (re-hashed: mtimes changed)");
    (dir, paths)
}

fn assert_names_file_and_fix(e: &EngineError, path: &Path) {
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("frontdesk models fetch"), "{msg}");
}

#[test]
fn a_missing_model_file_is_an_error_naming_it_and_the_fix() {
    let _ = factory();
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::new(dir.path()).unwrap();
    let e = SileroFactory::load(&paths).unwrap_err();
    assert!(matches!(e, EngineError::ModelMissing { .. }), "{e}");
    assert_names_file_and_fix(&e, &dir.path().join(SET).join(MODEL_FILE));
    let e = SileroFactory::from_file(&paths, &dir.path().join("nope.onnx")).unwrap_err();
    assert!(matches!(e, EngineError::ModelMissing { .. }), "{e}");
}

#[test]
fn a_truncated_model_file_is_an_error_naming_it_and_the_fix() {
    let (_dir, paths) = copied_set();
    let model = paths.set_dir(SET).join(MODEL_FILE);
    std::fs::File::options().write(true).open(&model).unwrap().set_len(1_000_000).unwrap();
    let e = SileroFactory::load(&paths).unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &model);
    // Even bypassing the pin check, ONNX Runtime's refusal becomes the same kind of error.
    let e = SileroFactory::from_file(&paths, &model).unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &model);
}

#[test]
fn a_corrupt_model_file_is_an_error_naming_it_and_the_fix() {
    let (_dir, paths) = copied_set();
    let model = paths.set_dir(SET).join(MODEL_FILE);
    // Same size, garbage content.
    let garbage: Vec<u8> = white(2_327_524 / 4, 0.5, 3).iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&model, &garbage).unwrap();
    let e = SileroFactory::load(&paths).unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }) && e.to_string().contains("SHA-256"), "{e}");
    assert_names_file_and_fix(&e, &model);
    let e = SileroFactory::from_file(&paths, &model).unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &model);
}
