//! Talk-off: no digit on the 563 human speech prompts of Debian's `asterisk-core-sounds-en-wav`,
//! raw and after G.711 round trips. Also measures the naive detector for comparison.

mod common;

use common::*;
use frontdesk_codec::g711::Law;
use frontdesk_dtmf::Thresholds;

#[test]
fn no_digit_on_563_speech_prompts() {
    let prompts = asterisk_prompts();
    assert_eq!(prompts.len(), 563, "expected the 563 speech prompts of asterisk-core-sounds-en-wav");
    let mut false_digits = Vec::new();
    let mut naive = [0usize; 3];
    let mut seconds = 0.0;
    for path in &prompts {
        let pcm = read_wav(path);
        seconds += pcm.len() as f64 / 8000.0;
        for (i, (name, v)) in
            [("linear", pcm.clone()), ("mu-law", g711(Law::Ulaw, &pcm)), ("A-law", g711(Law::Alaw, &pcm))]
                .into_iter()
                .enumerate()
        {
            let keys = detect(&v);
            if !keys.is_empty() {
                false_digits.push(format!("{} ({name}): {keys}", path.display()));
            }
            naive[i] += detect_with(Thresholds::naive(), &v).0.len();
        }
    }
    eprintln!(
        "talk-off: {} prompts, {:.0} s of speech; naive detector false digits linear/mu-law/A-law = {naive:?}; tuned: {}",
        prompts.len(),
        seconds,
        false_digits.len()
    );
    assert!(false_digits.is_empty(), "false digits on speech:\n{}", false_digits.join("\n"));
    assert!(naive[0] > 0, "the naive detector should fire on speech (else this test measures nothing)");
}
