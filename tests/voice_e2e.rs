//! The voice agent end to end over real calls: `frontdesk serve` runs the clinic flow
//! (flows/clinic.yaml) and peers nobody on this team wrote call it, baresip over SIP/RTP,
//! streamdouble over the Twilio Media Streams endpoint, SIPp over SIP/RTP. Callers speak with
//! human Asterisk prompts and espeak-ng (a synthesiser the agent does not use), laid out on a
//! timeline after the greeting. What the caller heard is cut after the question and transcribed
//! by our ASR (Whisper tiny.en through `frontdesk asr`); it must hold distinctive words of the
//! expected knowledge-base answer or flow prompt. Barge-in is measured on the recording's
//! energy envelope against a control call that does not interrupt.
//!
//! The calls of a test run concurrently against one gateway.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::voice::{
    Clip, activity, clip_pcm, create_api_key, cut, dur, first_sound, heard, log_field, missing, silence_from,
    sound_share, start_agent, timeline, transcribe, write_wav,
};
use support::{
    Gateway, baresip_call, finish, json, read_wav, repo, request, scratch, sipp, sipp_scenario, sipp_uas,
    venv_bin, wait_until,
};

/// When the caller starts asking: after the greeting ("Thank you for calling ... I'm an automated
/// assistant.") and the main menu prompt ("How can I help you today? ..."), about 9 s of speech.
const ASK_AT: f64 = 11.5;

/// Words of the greeting and the main menu prompt that the caller must hear before asking.
const GREETING: &[&str] = &["calling", "automated", "assistant", "help"];

/// One caller: what it says and when, how long the call lasts.
struct Caller<'a> {
    name: &'a str,
    parts: Vec<(f64, Vec<i16>)>,
    talk_s: u32,
}

/// Writes the caller's audio, calls `sip:agent@127.0.0.1:PORT` with baresip and returns the
/// recording of the far end (8 kHz samples, aligned with the caller's timeline from the answer).
fn sip_call(dir: &Path, sip: u16, c: &Caller<'_>) -> (PathBuf, Vec<i16>) {
    let dir = dir.join(c.name);
    std::fs::create_dir_all(&dir).unwrap();
    let parts: Vec<(f64, &[i16])> = c.parts.iter().map(|(t, p)| (*t, p.as_slice())).collect();
    let wav = dir.join("caller.wav");
    write_wav(&wav, &timeline(&parts, f64::from(c.talk_s)));
    let rec = baresip_call(&dir, &format!("sip:agent@127.0.0.1:{sip}"), &wav, c.talk_s);
    let (rate, pcm) = read_wav(&rec);
    assert_eq!(rate, 8000);
    (dir, pcm)
}

/// Runs the callers concurrently against one gateway; recordings in the callers' order.
fn sip_calls(dir: &Path, sip: u16, callers: &[Caller<'_>]) -> Vec<(PathBuf, Vec<i16>)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = callers.iter().map(|c| s.spawn(move || sip_call(dir, sip, c))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Cuts of a recording (seconds), written next to it and transcribed in one ASR run.
fn transcribe_cuts(dir: &Path, pcm: &[i16], cuts: &[(f64, f64)]) -> Vec<String> {
    let files: Vec<PathBuf> = cuts
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let f = dir.join(format!("cut{i}-{a:.1}-{b:.1}.wav"));
            write_wav(&f, cut(pcm, a, b));
            f
        })
        .collect();
    transcribe(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>())
}

/// Asserts that `text` holds every expected word.
fn expect_words(what: &str, text: &str, expected: &[&str], gw: &Gateway, data: &Path) {
    let gone = missing(text, expected);
    assert!(
        gone.is_empty(),
        "{what}: {gone:?} missing from what the caller heard: {text:?}\n{}",
        report(gw, data)
    );
}

/// The gateway's log and, since the log redacts caller words, the agent's transcripts.
fn report(gw: &Gateway, data: &Path) -> String {
    format!("gateway log:\n{}\ntranscripts:\n{}", gw.log(), heard(gw, data))
}

/// A FAQ call over SIP: the greeting, then the question, then the answer.
fn faq_caller<'a>(name: &'a str, question: Vec<i16>, talk_s: u32) -> Caller<'a> {
    Caller { name, parts: vec![(ASK_AT, question)], talk_s }
}

#[test]
fn faq_questions_over_sip_are_answered_from_the_knowledge_base() {
    let dir = scratch("voice-faq");
    let hours = clip_pcm(&dir, &Clip::Human(&["hours"]));
    let park = clip_pcm(&dir, &Clip::Espeak("Where can I park my car?"));
    let (gw, sip) = start_agent(&dir, true, &[]);
    let calls = [faq_caller("hours", hours, 32), faq_caller("parking", park, 32)];
    // KB answers (flows/clinic-kb.yaml): hours "We are open Monday to Friday from 8 AM to 6 PM,
    // and Saturday ..."; parking "Free parking is available in the garage behind the building.
    // Bring your ticket to the front desk to have it validated."
    let expected: [&[&str]; 2] = [&["monday", "friday", "saturday"], &["parking", "garage", "building"]];
    let recs = sip_calls(&dir, sip, &calls);
    for ((call, (cdir, rec)), want) in calls.iter().zip(&recs).zip(expected) {
        let t = transcribe_cuts(cdir, rec, &[(0.0, ASK_AT), (ASK_AT, dur(rec))]);
        expect_words(&format!("{}: greeting", call.name), &t[0], GREETING, &gw, &dir);
        expect_words(&format!("{}: answer", call.name), &t[1], want, &gw, &dir);
        // The answer came after the question, not before.
        assert_eq!(missing(&t[0], want), want, "{}: answer before the question: {:?}", call.name, t[0]);
    }
    // Same gateway (the models take minutes to load on CI): an originated call runs the
    // published version the API names, not the flow file.
    originated_call_runs_the_published_version(&gw, &dir);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Publishes the clinic flow with another greeting through the API, originates a call to SIPp,
/// and checks the call said that greeting and recorded that version; the inbound calls before it
/// recorded the flow file's version.
fn originated_call_runs_the_published_version(gw: &Gateway, data: &Path) {
    let key = create_api_key(data);
    let yaml = std::fs::read_to_string(repo().join("flows/clinic.yaml")).unwrap();
    let greeting = "Thank you for calling {{business}}. I'm an automated assistant.";
    assert!(yaml.contains(greeting), "flows/clinic.yaml changed: update this test");
    let edited = yaml.replace(greeting, "Good morning from the published greeting of {{business}}.");
    let flow = "/v1/flows/clinic_front_desk";
    let (status, body) = request(gw.http, "PUT", &format!("{flow}/draft"), &key, "application/yaml", &edited);
    assert_eq!(status, 200, "{body}");
    let draft: serde_json::Value = serde_json::from_str(&body).unwrap();
    let version = draft["version"].as_i64().unwrap();
    assert!(version >= 2, "the inbound calls published the flow file as version 1: {body}");
    let (status, body) = json(gw.http, "POST", &format!("{flow}/versions/{version}/publish"), &key, "");
    assert_eq!(status, 200, "{body}");

    let dir = data.join("originate");
    std::fs::create_dir_all(&dir).unwrap();
    // The callee waits for the BYE a minute (the greeting and the `say` below come first).
    let scenario = sipp_scenario("uas_expects_bye.xml").replace(r#"timeout="15000""#, r#"timeout="60000""#);
    let (uas, port) = sipp_uas(&dir, &scenario, 90);
    let req = format!(r#"{{"to":"sip:callee@127.0.0.1:{port}","flow":"clinic_front_desk"}}"#);
    let (status, body) = json(gw.http, "POST", "/v1/calls", &key, &req);
    assert_eq!(status, 202, "{body}\n{}", report(gw, data));
    assert_eq!(body["flow_version"], version, "{body}");
    let id = body["call_id"].as_str().unwrap().to_string();
    let mut call = serde_json::Value::Null;
    let said = wait_until(Duration::from_secs(20), || {
        call = json(gw.http, "GET", &format!("/v1/calls/{id}"), &key, "").1;
        call["timeline"].as_array().into_iter().flatten().any(|t| {
            t["kind"] == "agent" && t["text"].as_str().is_some_and(|x| x.contains("published greeting"))
        })
    });
    assert!(
        said,
        "the originated call did not say version {version}'s greeting: {call}\n{}",
        report(gw, data)
    );
    assert_eq!(call["flow_version"], version, "{call}");
    // Live control: `say` with interrupt cuts what the agent is saying and speaks the text in
    // full (an agent row without heard_ms was played to its end).
    let text = "Your prescription is ready for pickup.";
    let say = format!(r#"{{"text":"{text}","interrupt":true}}"#);
    let (status, body) = json(gw.http, "POST", &format!("/v1/calls/{id}/say"), &key, &say);
    assert_eq!(status, 202, "{body}");
    let spoken = wait_until(Duration::from_secs(30), || {
        call = json(gw.http, "GET", &format!("/v1/calls/{id}"), &key, "").1;
        call["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["kind"] == "agent" && t["text"] == text && t["latencies_ms"]["heard_ms"].is_null())
    });
    assert!(spoken, "the text sent with say was not played in full: {call}\n{}", report(gw, data));
    let (status, body) = json(gw.http, "POST", &format!("/v1/calls/{id}/hangup"), &key, "");
    assert_eq!(status, 202, "{body}");
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed (no BYE?):\n{trace}\n{}", gw.log());
    // The inbound calls ran the flow file, published as version 1 by the first of them.
    let (_, calls) = json(gw.http, "GET", "/v1/calls", &key, "");
    let inbound: Vec<&serde_json::Value> =
        calls["calls"].as_array().unwrap().iter().filter(|c| c["id"] != id.as_str()).collect();
    assert!(inbound.len() == 2 && inbound.iter().all(|c| c["flow_version"] == 1), "{calls}");
}

#[test]
fn booking_request_over_sip_gets_the_date_question_and_the_date_read_back() {
    let dir = scratch("voice-book");
    let ask = clip_pcm(&dir, &Clip::Piper("I'd like to book an appointment."));
    // "Tomorrow at 10 AM", synthesised. (Said word by word from the Asterisk digits prompts, the
    // phrase was read differently from run to run by Whisper tiny, at confidence 0.3 to 0.7:
    // "tomorrow at 10 a.m.", "10 AM", "Can AM". Human speech is in the FAQ test.)
    let when = clip_pcm(&dir, &Clip::Piper("Tomorrow at 10 AM."));
    let when_at = ASK_AT + dur(&ask) + 5.0;
    let caller = Caller { name: "book", parts: vec![(ASK_AT, ask), (when_at, when.clone())], talk_s: 31 };
    // The WAV-driven caller cannot react to the agent: a longer no-input timeout keeps the menu's
    // reprompt (6 s after the prompt) from racing the scheduled question on a slow machine.
    let flow = patient_flow(&dir);
    let (gw, sip) = start_agent(&dir, true, &["--flow", flow.to_str().unwrap()]);
    let mut tomorrow = vec![clinic_tomorrow()];
    let (cdir, rec) = sip_calls(&dir, sip, std::slice::from_ref(&caller)).pop().unwrap();
    tomorrow.push(clinic_tomorrow());
    let t = transcribe_cuts(&cdir, &rec, &[(ASK_AT, when_at), (when_at, dur(&rec))]);
    // ask_when: "Sure. What day and time would suit you?"
    expect_words("reply to the booking request", &t[0], &["day", "time"], &gw, &dir);
    // Its confirm: "That's {{preferred_time | spoken_datetime}}. Is that right?", the date read
    // back absolute (a weekday, never "tomorrow"). Whisper tiny sometimes writes the question as
    // "Is that correct?": either word shows the confirmation was asked.
    // The reprompt ("Sorry, I didn't get the day ... next Monday morning") names a weekday too:
    // the read-back must name tomorrow's, in the clinic's zone (either side of a midnight).
    assert!(
        tomorrow.iter().any(|d| missing(&t[1], &[d.as_str()]).is_empty())
            && missing(&t[1], &["sorry"]) == ["sorry"],
        "the read-back does not name tomorrow ({tomorrow:?}): {:?}\n{}",
        t[1],
        report(&gw, &dir)
    );
    assert!(
        missing(&t[1], &["right"]).is_empty() || missing(&t[1], &["correct"]).is_empty(),
        "no confirmation question after the read-back: {:?}\n{}",
        t[1],
        report(&gw, &dir)
    );
    assert!(
        missing(&t[1], &["10"]).is_empty() || missing(&t[1], &["ten"]).is_empty(),
        "the read-back does not say 10: {:?}\n{}",
        t[1],
        report(&gw, &dir)
    );
    // "10:00 AM" is spoken "ten A M", not "ten zero zero A M".
    assert!(
        missing(&t[1], &["zero"]) == ["zero"] && !t[1].contains("10 0 0"),
        "time read digit by digit: {:?}\n{}",
        t[1],
        report(&gw, &dir)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Tomorrow's weekday in the clinic's zone (flows/clinic.yaml), lower case, from `date`.
fn clinic_tomorrow() -> String {
    let out = std::process::Command::new("date")
        .env("TZ", "America/New_York")
        .args(["-d", "tomorrow", "+%A"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_lowercase()
}

/// flows/clinic.yaml with `no_input_ms: 20000`, written into `dir` (its knowledge base and
/// resources referenced by absolute path).
fn patient_flow(dir: &std::path::Path) -> std::path::PathBuf {
    let flows = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
    let text = std::fs::read_to_string(flows.join("clinic.yaml")).unwrap();
    assert!(text.contains("no_input_ms: 6000"), "clinic.yaml changed: update patient_flow");
    let text = text
        .replace("no_input_ms: 6000", "no_input_ms: 20000")
        .replace(
            "knowledge: clinic-kb.yaml",
            &format!("knowledge: {}", flows.join("clinic-kb.yaml").display()),
        )
        .replace(
            "resources: clinic-resources.yaml",
            &format!("resources: {}", flows.join("clinic-resources.yaml").display()),
        );
    let path = dir.join("clinic-patient.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// How long after the caller's onset (in the recording) the agent may still be heard. The agent
/// holds its audio at the VAD's onset (64 ms of speech, a 32 ms frame, the next 20 ms tick), and
/// the recording adds the RTP path and baresip's jitter buffer (100-200 ms); a loaded machine
/// delays the VAD's frames on the inference pool. (The benchmark target, onset -> last agent
/// packet <= 200 ms at p95, is measured by eval/voice/bench.sh, not here.)
const BARGE_IN_BOUND_S: f64 = 0.6;

/// Silence this long (seconds) means the agent stopped (longer than a pause between clauses).
const STOPPED_S: f64 = 0.6;

#[test]
fn caller_talking_over_a_long_answer_stops_the_agent() {
    let dir = scratch("voice-barge");
    // new_patient_forms: "Please bring a photo ID, your insurance card, a list of your
    // medications, and arrive 15 minutes early to fill in the intake forms. The forms are also on
    // our website." (about 10 s)
    let question = clip_pcm(&dir, &Clip::Espeak("What paperwork do new patients need?"));
    let stop = clip_pcm(&dir, &Clip::Espeak("Wait, stop. I have another question."));
    // Into the answer whether it starts 0.5 s or 5 s after the question ends (5 s seen on a
    // machine loaded with compilers; the answer lasts about 10 s).
    let stop_at = ASK_AT + dur(&question) + 5.5;
    let onset = stop_at + first_sound(&stop).unwrap();
    let (gw, sip) = start_agent(&dir, true, &[]);
    let callers = [
        Caller { name: "interrupts", parts: vec![(ASK_AT, question.clone()), (stop_at, stop)], talk_s: 34 },
        Caller { name: "listens", parts: vec![(ASK_AT, question)], talk_s: 34 },
    ];
    let recs = sip_calls(&dir, sip, &callers);
    let (int, ctl) = (activity(&recs[0].1), activity(&recs[1].1));
    let report = format!(
        "agent sound share in the second before the onset: {:.2} / {:.2}; gateway log:\n{}",
        sound_share(&int, onset - 1.0, onset),
        sound_share(&ctl, onset - 1.0, onset),
        gw.log()
    );
    // Both calls: the agent was answering when the caller started talking.
    // (Speech with clause pauses fills 40-60 % of a second; silence fills none. 0.25 leaves room
    // for a pause between clauses just before the onset.)
    assert!(sound_share(&int, onset - 1.0, onset) > 0.25, "not answering at the onset; {report}");
    assert!(sound_share(&ctl, onset - 1.0, onset) > 0.25, "control not answering at the onset; {report}");
    let stopped = silence_from(&int, onset, STOPPED_S).unwrap() - onset;
    let ran_on = silence_from(&ctl, onset, STOPPED_S).unwrap_or(dur(&recs[1].1)) - onset;
    let decided = log_field(&gw.log(), "barge-in timing", "decided_ms");
    eprintln!(
        "barge-in: agent silent {:.0} ms after the caller's onset (gateway: decided {decided:?} ms \
         after its VAD onset); without the interruption it went on {:.1} s",
        stopped * 1e3,
        ran_on
    );
    assert!(
        stopped <= BARGE_IN_BOUND_S,
        "the agent went on {:.0} ms after the caller's onset (bound {:.0} ms); {report}",
        stopped * 1e3,
        BARGE_IN_BOUND_S * 1e3
    );
    // The control shows the stop was the barge-in: its answer goes on well past the 0.6 s bound.
    // (How far depends on when the answer started: from about 2.3 s when it comes at once to 6 s
    // on a loaded machine.)
    assert!(ran_on >= 1.5, "without the interruption the answer should run on: {ran_on:.1} s; {report}");
    // The interrupted call heard the start of the answer and never its end; the control heard both.
    let ti = transcribe_cuts(&recs[0].0, &recs[0].1, &[(ASK_AT, onset), (onset, dur(&recs[0].1))]);
    let tc = transcribe_cuts(&recs[1].0, &recs[1].1, &[(ASK_AT, dur(&recs[1].1))]);
    expect_words("start of the answer", &ti[0], &["photo"], &gw, &dir);
    expect_words("whole answer (control)", &tc[0], &["photo", "website"], &gw, &dir);
    assert_eq!(
        missing(&ti[1], &["website"]),
        ["website"],
        "the answer went on after the barge-in: {:?}",
        ti[1]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn faq_question_over_twilio_media_streams_is_answered() {
    let dir = scratch("voice-twilio");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let token = create_api_key(&data);
    let question = clip_pcm(&dir, &Clip::Espeak("Which insurance plans do you accept?"));
    let qwav = dir.join("question.wav");
    write_wav(&qwav, &question);
    let scenario = dir.join("call.yaml");
    let after = 20.0;
    std::fs::write(
        &scenario,
        format!(
            "name: clinic insurance question\nsteps:\n  - wait: {ASK_AT}\n  - say: {}\n  - wait: {after}\n  - hangup\n",
            qwav.display()
        ),
    )
    .unwrap();
    // With the Smart Turn model in the loop (`--turn-model`; the SIP tests run without it).
    let (gw, _) = start_agent(&data, false, &["--turn-model"]);
    let url = format!("ws://127.0.0.1:{}/media/twilio?token={token}", gw.http);
    let reply = dir.join("reply.wav");
    let out = std::process::Command::new(venv_bin("streamdouble"))
        .arg("scenario")
        .arg(&scenario)
        .arg(&url)
        .arg("--out")
        .arg(&reply)
        .args(["--json", "--max-drain", "2"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "streamdouble failed ({:?}):\n{report}\n{}\ngateway log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        gw.log()
    );
    let (rate, rec) = read_wav(&reply);
    assert_eq!(rate, 8000);
    let t = transcribe_cuts(&dir, &rec, &[(0.0, ASK_AT), (ASK_AT, dur(&rec))]);
    expect_words("greeting", &t[0], GREETING, &gw, &data);
    // "We accept Blue Cross Blue Shield, Aetna, Cigna, UnitedHealthcare, Harvard Pilgrim, Tufts,
    // Medicare and MassHealth."
    expect_words("insurance answer", &t[1], &["accept", "blue", "cross", "shield"], &gw, &data);
    // The model scored the question's pause: its answer is on the end-of-turn line.
    let log = gw.log();
    assert!(
        log.lines().any(|l| l.contains("end of turn") && l.contains("turn_model=Some(")),
        "no turn-model answer on an end of turn; log:\n{log}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sipp_caller_saying_goodbye_is_answered_and_hung_up_on() {
    let dir = scratch("voice-sipp");
    // "Goodbye" in a human voice after the greeting: the agent says goodbye and hangs up (BYE),
    // well before the no-input path could end the call (3 x 6 s of silence and reprompts).
    let bye = clip_pcm(&dir, &Clip::Human(&["goodbye"]));
    let caller = timeline(&[(ASK_AT, &bye)], 40.0);
    let ulaw = dir.join("caller.wav");
    write_wav(&ulaw, &caller);
    support::ulaw_from_wav(&ulaw, &dir.join("caller.ulaw"), 0.0);
    // uac_expects_bye.xml: stream caller.ulaw (looped) until the gateway's BYE, at most 20 s.
    let scenario = sipp_scenario("uac_expects_bye.xml");
    assert!(scenario.contains(r#"timeout="20000""#));
    let (gw, sip) = start_agent(&dir, true, &[]);
    #[allow(clippy::disallowed_methods, reason = "a real call against a real peer runs on the wall clock")]
    let started = std::time::Instant::now();
    let (ok, out) = sipp(&dir, &format!("127.0.0.1:{sip}"), &scenario, &["-m", "1"]);
    let took = started.elapsed();
    assert!(ok, "the agent did not hang up after goodbye:\n{out}\ngateway log:\n{}", gw.log());
    assert!(
        wait_until(Duration::from_secs(5), || gw.log().contains("media ended")),
        "no call ended in the gateway:\n{}",
        gw.log()
    );
    let log = gw.log();
    let sent = log_field(&log, "media ended", "sent").unwrap();
    let received = log_field(&log, "media ended", "received").unwrap();
    // The caller's turn was heard, transcribed and answered with audio.
    assert!(
        log.contains("turn timing") && log_field(&log, "turn timing", "first_audio_ms").is_some(),
        "{log}"
    );
    assert!(!log.contains("no queue routing"), "transferred instead of saying goodbye:\n{log}");
    let secs = took.as_secs_f64();
    assert!(secs > ASK_AT, "hung up before the caller spoke ({secs:.1} s):\n{log}");
    // Packets every 20 ms both ways for the whole call.
    let expected = (secs - 1.0) * 50.0 * 0.9;
    assert!(
        sent as f64 >= expected && received as f64 >= expected,
        "sent {sent}, received {received} in {secs:.1} s"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
