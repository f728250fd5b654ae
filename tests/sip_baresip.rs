//! `frontdesk serve --sip` called by baresip (Debian `baresip-core`), a softphone nobody on this
//! team wrote: it plays a human prompt as its microphone and records the far end. Against
//! `--app echo` the prompt comes back (envelope correlation >= 0.8); against
//! `--app playback:FILE` the file arrives.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use support::{SipGateway, baresip_call, envelope_xcorr, human_prompt, read_wav, scratch};

#[test]
fn baresip_hears_its_own_prompt_echoed() {
    let dir = scratch("baresip-echo");
    let gw = SipGateway::start(&["--app", "echo"]);
    let caller = human_prompt("vm-intro");
    let rec = baresip_call(&dir, &format!("sip:agent@127.0.0.1:{}", gw.sip), &caller, 7);
    let (_, sent) = read_wav(&caller);
    let (rate, got) = read_wav(&rec);
    assert_eq!(rate, 8000);
    let (lag_ms, r) = envelope_xcorr(8000, &sent, &got);
    assert!(r >= 0.8, "echo not found in what baresip heard: r = {r:.3} at lag {lag_ms} ms\n{}", gw.log());
    assert!((0..=500).contains(&lag_ms), "echo delay {lag_ms} ms");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn baresip_hears_the_playback_file() {
    let dir = scratch("baresip-playback");
    let file = human_prompt("vm-tocancelmsg");
    let app = format!("playback:{}", file.display());
    let gw = SipGateway::start(&["--app", &app]);
    // baresip sends silence; the gateway plays the file, then hangs up.
    let silence = dir.join("silence.wav");
    hound::WavWriter::create(
        &silence,
        hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap()
    .finalize()
    .unwrap();
    let rec = baresip_call(&dir, &format!("sip:agent@127.0.0.1:{}", gw.sip), &silence, 6);
    let (_, sent) = read_wav(&file);
    let (_, got) = read_wav(&rec);
    let (lag_ms, r) = envelope_xcorr(8000, &sent, &got);
    assert!(
        r >= 0.8,
        "playback file not found in what baresip heard: r = {r:.3} at lag {lag_ms} ms\n{}",
        gw.log()
    );
    assert!(
        support::wait_until(std::time::Duration::from_secs(5), || gw.log().contains("end=Local")),
        "the playback app should hang up after the file:\n{}",
        gw.log()
    );
    std::fs::remove_dir_all(dir).unwrap();
}
