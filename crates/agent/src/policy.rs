//! The two decisions of a voice loop, as pure functions of plain inputs: when caller speech stops
//! the agent ([`BargeInPolicy`]) and when the caller's turn is over ([`EndOfTurnPolicy`]).
//!
//! Neither reads a clock or holds state: the [`crate::Agent`] tells them how long speech or
//! silence has lasted and what the recogniser and the turn model said, and they answer. So every
//! rule here is a unit test with numbers in and a decision out.

use frontdesk_flow::machine::Expect;

/// How a prompt may be interrupted (per flow node; see [`crate::AgentConfig::node_modes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BargeInMode {
    /// Caller speech or a key stops the agent.
    #[default]
    Speech,
    /// Only a key stops the agent (speech over it is ignored).
    DtmfOnly,
    /// Nothing stops the agent (legal disclosures, consent prompts).
    Never,
}

/// When caller speech over the agent counts as a barge-in.
#[derive(Clone, Debug, PartialEq)]
pub struct BargeInPolicy {
    /// Speech (VAD onset) must last this long before it can stop the agent: coughs, clicks and
    /// short noises end sooner.
    pub min_onset_ms: u64,
    /// Words (not counting backchannels) the recogniser's partial must hold; 0: the onset alone
    /// decides.
    pub min_words: usize,
    /// Speech that is only these words ("uh-huh", "okay") does not stop the agent.
    pub backchannels: Vec<String>,
    /// With backchannels ignored, speech this long stops the agent even before a partial says
    /// what it is (the recogniser may be behind).
    pub max_wait_ms: u64,
    /// Whether backchannel-only speech is ignored (otherwise any speech counts).
    pub ignore_backchannels: bool,
    /// Hold the agent's audio from the speech onset until this policy decides (it plays on if
    /// the speech was not a barge-in), so the caller is not talked over meanwhile.
    pub pause_on_onset: bool,
    /// A single word the recogniser is less sure of than this does not stop the agent: short
    /// backchannels and noises come back from a small model as a doubtful word ("mm-hmm" as
    /// "MMR.", "got it" as "David.") far more often than a real "stop" does. Words callers
    /// interrupt with ([`BargeInPolicy::interrupt_words`]) count whatever the confidence.
    pub min_one_word_confidence: f32,
    /// Words that stop the agent even when the recogniser doubts them ("stop", "wait", "no").
    pub interrupt_words: Vec<String>,
    /// Speech this many dB quieter than the caller's own turns is far-field (a television,
    /// someone across the room) and does not stop the agent. A handset puts the caller's voice
    /// within a few dB of itself from turn to turn.
    pub far_field_db: f32,
}

impl Default for BargeInPolicy {
    fn default() -> Self {
        BargeInPolicy {
            min_onset_ms: 300,
            min_words: 0,
            backchannels: [
                "uh-huh",
                "uh huh",
                "mm-hmm",
                "mm hmm",
                "mhm",
                "hmm",
                "mm",
                "okay",
                "ok",
                "yeah",
                "yep",
                "right",
                "sure",
                "yes",
                "alright",
                "all right",
                "uh",
                "um",
                "oh",
                "ah",
                "i see",
                "got it",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            max_wait_ms: 1200,
            ignore_backchannels: true,
            pause_on_onset: true,
            min_one_word_confidence: 0.45,
            interrupt_words: [
                "stop", "wait", "no", "nope", "hold", "sorry", "pardon", "excuse", "actually", "hang",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            far_field_db: 15.0,
        }
    }
}

/// What the barge-in policy says now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BargeInDecision {
    /// Stop the agent now.
    Interrupt,
    /// Not yet: ask again when more speech or a partial transcript has come.
    Wait,
    /// This speech will not stop the agent (mode, or only a backchannel so far).
    Ignore,
}

/// What the recogniser has made of caller speech over the agent so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heard<'a> {
    /// Final transcripts, then the latest partial (empty before the first).
    pub text: &'a str,
    /// The recogniser's confidence in it (0..1), when it gave one.
    pub confidence: Option<f32>,
    /// The agent is asking a yes/no question: "yes", "sure", "no" over it answer it.
    pub yes_no_expected: bool,
    /// How many dB quieter this speech is than the caller's earlier turns, once both are known.
    pub quieter_db: Option<f32>,
}

impl<'a> Heard<'a> {
    /// Text with no confidence, and no yes/no question asked.
    pub fn text(text: &'a str) -> Self {
        Heard { text, confidence: None, yes_no_expected: false, quieter_db: None }
    }
}

/// Words of `text`, lower-cased, without punctuation. A word spelled out letter by letter
/// ("M-H-M", Whisper's way with "mhm") is joined up.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            let w: String = w
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '-')
                .collect::<String>()
                .to_lowercase();
            let spelled = w.contains('-') && w.split('-').all(|p| p.chars().count() == 1);
            if spelled { w.replace('-', "") } else { w }
        })
        .filter(|w| !w.is_empty() && w != "-")
        .collect()
}

impl BargeInPolicy {
    /// Whether `text` is only backchannel words (empty text is not).
    pub fn is_backchannel(&self, text: &str) -> bool {
        let w = words(text);
        if w.is_empty() {
            return false;
        }
        let joined = w.join(" ");
        if self.backchannels.contains(&joined) {
            return true;
        }
        w.iter().all(|x| self.backchannels.iter().any(|b| b == x))
    }

    /// Whether `heard` is only a backchannel: backchannel words, and not the answer to a yes/no
    /// question the agent is asking ("yes" and "sure" over a read-back answer it).
    pub fn is_backchannel_heard(&self, heard: &Heard<'_>) -> bool {
        self.is_backchannel(heard.text) && !(heard.yes_no_expected && clear_yes_no(heard.text))
    }

    /// Words that count towards a barge-in: all words, minus backchannel-only speech and a
    /// single doubtful word.
    fn content_words(&self, heard: &Heard<'_>) -> usize {
        if self.ignore_backchannels && self.is_backchannel_heard(heard) {
            return 0;
        }
        let w = words(heard.text);
        if let [one] = w.as_slice()
            && heard.confidence.is_some_and(|c| c < self.min_one_word_confidence)
            && !self.interrupt_words.contains(one)
        {
            return 0;
        }
        w.len()
    }

    /// Decides on speech that has lasted `speech_ms` over a prompt in `mode`, with what the
    /// recogniser has heard of it so far.
    pub fn decide(&self, mode: BargeInMode, speech_ms: u64, heard: &Heard<'_>) -> BargeInDecision {
        let partial = heard.text;
        if mode != BargeInMode::Speech {
            return BargeInDecision::Ignore;
        }
        if speech_ms < self.min_onset_ms || heard.quieter_db.is_some_and(|d| d > self.far_field_db) {
            return BargeInDecision::Wait;
        }
        let content = self.content_words(heard);
        let needed = if self.ignore_backchannels { self.min_words.max(1) } else { self.min_words };
        if content >= needed {
            return BargeInDecision::Interrupt;
        }
        if self.ignore_backchannels
            && self.min_words == 0
            && speech_ms >= self.max_wait_ms
            && partial.trim().is_empty()
        {
            // Long speech and the recogniser has said nothing yet: someone is talking over us.
            return BargeInDecision::Interrupt;
        }
        BargeInDecision::Wait
    }

    /// Whether a key interrupts a prompt in `mode`.
    pub fn dtmf_interrupts(&self, mode: BargeInMode) -> bool {
        mode != BargeInMode::Never
    }
}

/// The default [`EndOfTurnPolicy::understood_pause_ms`].
pub const UNDERSTOOD_PAUSE_MS: u64 = 500;
/// The default [`EndOfTurnPolicy::unplaced_pause_ms`].
pub const UNPLACED_PAUSE_MS: u64 = 1000;
/// The default [`EndOfTurnPolicy::understood_min_words`]: fragments a caller pauses after are
/// short ("I'd like to", "Can I book", "Tomorrow."), and a short one the flow understands is
/// no sign the caller is done.
pub const UNDERSTOOD_MIN_WORDS: usize = 5;
/// The default [`EndOfTurnPolicy::unplaced_max_words`]: a long sentence the flow cannot place
/// is most often a finished question it has no answer to (or misheard), not a fragment.
pub const UNPLACED_MAX_WORDS: usize = 4;

/// When the caller's turn is over.
#[derive(Clone, Debug, PartialEq)]
pub struct EndOfTurnPolicy {
    /// Silence after which the turn ends when nothing else has decided (no model configured).
    pub base_pause_ms: u64,
    /// Silence after which the turn ends when the slot is complete or the model is confident.
    pub fast_pause_ms: u64,
    /// Silence after which a turn whose final transcript has no closing punctuation ends ("I'd
    /// like to", "tomorrow", "a reminder,"), when nothing else decided: Whisper closes what it
    /// heard as a whole sentence with `.`, `?` or `!` and leaves a fragment open. `None` for a
    /// recogniser that does not punctuate (its turns would all wait this long).
    pub unpunctuated_pause_ms: Option<u64>,
    /// Silence after which a turn ends when the flow understands its words
    /// ([`TurnState::understood`]: an intent, an answer, a slot value) and they are a whole
    /// answer (one of a slot's choices, a name of two words or more, else a sentence Whisper
    /// closed of [`EndOfTurnPolicy::understood_min_words`] or more), when nothing else decided.
    /// `None`: the flow's understanding does not hurry a turn.
    pub understood_pause_ms: Option<u64>,
    /// Silence after which a turn ends when the flow cannot place its words (it would say it did
    /// not understand or does not know), when nothing else decided: a caller who has said
    /// something the flow cannot use yet is more often in the middle of a sentence ("Tomorrow.",
    /// "Is there anything?") than done, and a reply a few hundred ms later costs little beside
    /// cutting them off. `None`: the plain pause.
    pub unplaced_pause_ms: Option<u64>,
    /// [`EndOfTurnPolicy::understood_pause_ms`] applies to texts of at least this many words
    /// (except at a choice or name slot, where the answer's own shape decides).
    pub understood_min_words: usize,
    /// [`EndOfTurnPolicy::unplaced_pause_ms`] applies to texts of at most this many words.
    pub unplaced_max_words: usize,
    /// Silence that always ends the turn.
    pub ceiling_ms: u64,
    /// P(turn complete) at or above which the model's answer ends the turn.
    pub eot_threshold: f32,
    /// A partial ending in one of these words (or phrases) is plainly unfinished.
    pub unfinished: Vec<String>,
}

impl Default for EndOfTurnPolicy {
    fn default() -> Self {
        EndOfTurnPolicy {
            base_pause_ms: 700,
            fast_pause_ms: 250,
            unpunctuated_pause_ms: Some(1100),
            understood_pause_ms: Some(UNDERSTOOD_PAUSE_MS),
            unplaced_pause_ms: Some(UNPLACED_PAUSE_MS),
            understood_min_words: UNDERSTOOD_MIN_WORDS,
            unplaced_max_words: UNPLACED_MAX_WORDS,
            ceiling_ms: 1500,
            eot_threshold: 0.5,
            unfinished: NEVER_LAST.iter().chain(&MAY_END).map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// What the caller has said in this turn, and what the turn model thinks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TurnState<'a> {
    /// Silence since the caller stopped speaking.
    pub silence_ms: u64,
    /// The turn's text so far (finals, then the latest partial).
    pub text: &'a str,
    /// Whether every segment of the turn has its final transcript.
    pub final_ready: bool,
    /// The turn model's answer for this pause; `None` if no model, or not back yet.
    pub model: Option<f32>,
    /// Whether a turn-model answer for this pause is still to come.
    pub model_pending: bool,
    /// What the flow expects.
    pub expect: &'a Expect,
    /// Whether the flow would move on with [`TurnState::text`] (`FlowMachine::understands`);
    /// `None` while not known yet.
    pub understood: Option<bool>,
}

/// What the end-of-turn policy says now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnDecision {
    /// The turn is over: hand the text to the flow.
    End,
    /// Ask again once the silence has lasted this long (or when something new comes).
    WaitUntil(u64),
    /// The "turn" had no words (noise): forget it.
    Discard,
}

/// Digits in `text`, spoken or written ("five five five 0142" has seven), read by the flow's own
/// digit parser, so the turn ends exactly when the flow would accept the slot.
pub fn count_digits(text: &str) -> usize {
    frontdesk_flow::slots::digits(text).len()
}

/// As [`count_digits`], also counting a last "o" right after a digit as a zero ("1. 7 O.": the
/// flow's parser counts "o" only between two digits, but a caller pausing after "one seven oh"
/// is reading a number; "oh" the parser always counts).
fn digits_so_far(text: &str) -> usize {
    let ws = words(text);
    let trailing_o = matches!(ws.as_slice(), [.., prev, last] if last == "o" && count_digits(prev) > 0);
    count_digits(text) + usize::from(trailing_o)
}

/// A short answer (at most four words) that the flow's yes/no parser reads as plainly yes or no
/// ("yes", "no it's not", "yeah that's right").
pub fn clear_yes_no(text: &str) -> bool {
    words(text).len() <= 4 && frontdesk_flow::slots::yes_no(text).is_some()
}

/// Words and phrases after which an English sentence does not end, whatever the punctuation
/// (conjunctions, articles, prepositions that need an object, hesitations, "my number is").
const NEVER_LAST: [&str; 25] = [
    "and",
    "or",
    "but",
    "um",
    "uh",
    "er",
    "erm",
    "the",
    "a",
    "an",
    "my",
    "to",
    "of",
    "for",
    "with",
    "because",
    "if",
    "whether",
    "than",
    "at",
    "is",
    "was",
    "number is",
    "name is",
    "i'm",
];

/// What callers say when they are about to go on after a pause of their own ("let me check,
/// ... it's the fifteenth", "hold on ... found it"): complete sentences that announce more.
const HOLDING: [&str; 17] = [
    "let me check",
    "let me see",
    "let me look",
    "let me think",
    "let me find it",
    "let me get it",
    "hold on",
    "hang on",
    "one moment",
    "one second",
    "one sec",
    "just a moment",
    "just a second",
    "just a sec",
    "give me a second",
    "give me a moment",
    "bear with me",
];

/// Words that usually continue a caller's sentence but can end one ("I think so.", "Come in."):
/// with [`NEVER_LAST`], the default [`EndOfTurnPolicy::unfinished`] list.
const MAY_END: [&str; 6] = ["so", "like", "it's", "on", "in", "then"];

impl EndOfTurnPolicy {
    /// Whether `text` plainly continues ("... and", "my number is", "um", "I was wondering if
    /// you...").
    pub fn is_unfinished(&self, text: &str) -> bool {
        let w = words(text);
        if w.is_empty() {
            return false;
        }
        let trimmed = text.trim_end();
        let joined = w.join(" ");
        let ends_in = |u: &str| joined == u || joined.ends_with(&format!(" {u}"));
        // A question or exclamation is done, whatever its last word. A full stop is weaker:
        // Whisper ends nearly every segment with one ("Tomorrow at.", "My number is."), so it
        // decides only when the last word can end an English sentence.
        if trimmed.ends_with(['?', '!']) {
            return false;
        }
        // "Let me check.", "Hold on, please.": the caller is about to go on.
        let unpolite = joined.strip_suffix(" please").unwrap_or(&joined);
        if HOLDING.iter().any(|h| unpolite == *h || unpolite.ends_with(&format!(" {h}"))) {
            return true;
        }
        // Whisper marks speech that trails off with an ellipsis ("I was wondering if you...").
        if trimmed.ends_with("...") || trimmed.ends_with('…') {
            return true;
        }
        if trimmed.ends_with('.') && !trimmed.ends_with("...") && !NEVER_LAST.iter().any(|u| ends_in(u)) {
            return false;
        }
        self.unfinished.iter().any(|u| ends_in(u))
    }

    /// Whether `text` is a number being read out: nothing but digits, fewer than a phone
    /// number's ten, and either at least three ("six one seven", "617 555") or two said one by
    /// one ("1. 5.": "fifteen" is written "15"). People pause between the groups, so the turn
    /// waits for the ceiling.
    pub fn reading_digits(text: &str) -> bool {
        let ws = words(text);
        let n = digits_so_far(text);
        let one_by_one = ws.len() >= 2 && ws.iter().all(|w| digits_so_far(w) == 1);
        (n >= 3 || one_by_one) && n < 10 && n >= ws.len()
    }

    /// Whether `text` ends as Whisper ends a sentence it heard whole (`.`, `?`, `!`, closing
    /// quotes and brackets aside).
    pub fn closed(text: &str) -> bool {
        text.trim_end().trim_end_matches(['"', '\'', ')', ']', '”', '’']).ends_with(['.', '?', '!'])
    }

    /// Whether the expected slot is complete in `text` (ten digits of a phone number, a clear
    /// yes or no).
    pub fn slot_complete(expect: &Expect, text: &str) -> Option<bool> {
        match expect {
            Expect::Phone => Some(count_digits(text) >= 10),
            Expect::Digits(Some(n)) => Some(count_digits(text) >= *n),
            Expect::YesNo => Some(clear_yes_no(text)),
            _ => None,
        }
    }

    /// Whether an understood `text` of `n` words is a whole answer to what the flow asked: one
    /// of the offered choices, a name of two words or more (a first name alone may be followed by
    /// the surname); else a sentence Whisper closed, of at least
    /// [`EndOfTurnPolicy::understood_min_words`].
    fn whole_answer(&self, expect: &Expect, text: &str, n: usize) -> bool {
        match expect {
            Expect::Choice(_) => true,
            Expect::Name => n >= 2,
            _ => Self::closed(text) && n >= self.understood_min_words,
        }
    }

    /// Decides the turn.
    pub fn decide(&self, s: &TurnState<'_>) -> TurnDecision {
        if !s.final_ready {
            // The flow needs the words; the final decode is on its way.
            return TurnDecision::WaitUntil(s.silence_ms.max(self.fast_pause_ms));
        }
        if words(s.text).is_empty() {
            return if s.silence_ms >= self.fast_pause_ms {
                TurnDecision::Discard
            } else {
                TurnDecision::WaitUntil(self.fast_pause_ms)
            };
        }
        if s.silence_ms >= self.ceiling_ms {
            return TurnDecision::End;
        }
        let wait_ceiling = TurnDecision::WaitUntil(self.ceiling_ms);
        let at = |ms: u64| if s.silence_ms >= ms { TurnDecision::End } else { TurnDecision::WaitUntil(ms) };
        match Self::slot_complete(s.expect, s.text) {
            Some(true) => return at(self.fast_pause_ms),
            // Half a phone number: the caller is reading it out in groups.
            Some(false) if matches!(s.expect, Expect::Phone | Expect::Digits(_)) => return wait_ceiling,
            _ => {}
        }
        if self.is_unfinished(s.text) || Self::reading_digits(s.text) {
            return wait_ceiling;
        }
        match s.model {
            Some(p) if p >= self.eot_threshold => at(self.fast_pause_ms),
            Some(_) => wait_ceiling,
            // Waiting for the model, but no longer than a plain pause would.
            None => {
                let plain = match self.unpunctuated_pause_ms {
                    Some(ms) if !Self::closed(s.text) => ms.max(self.base_pause_ms),
                    _ => self.base_pause_ms,
                };
                let n = words(s.text).len();
                at(match (s.understood, self.understood_pause_ms, self.unplaced_pause_ms) {
                    (Some(true), Some(ms), _) if self.whole_answer(s.expect, s.text, n) => ms.min(plain),
                    (Some(false), _, Some(ms)) if n <= self.unplaced_max_words => ms.max(plain),
                    _ => plain,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cough_is_too_short_and_speech_is_not() {
        let p = BargeInPolicy::default();
        assert_eq!(p.decide(BargeInMode::Speech, 120, &Heard::text("")), BargeInDecision::Wait);
        // Held long enough with words: interrupt.
        assert_eq!(
            p.decide(BargeInMode::Speech, 320, &Heard::text("wait, what about")),
            BargeInDecision::Interrupt
        );
        // Held long enough, no partial yet: wait for words, up to max_wait.
        assert_eq!(p.decide(BargeInMode::Speech, 320, &Heard::text("")), BargeInDecision::Wait);
        assert_eq!(p.decide(BargeInMode::Speech, 1300, &Heard::text("")), BargeInDecision::Interrupt);
    }

    #[test]
    fn backchannels_do_not_interrupt_and_modes_are_respected() {
        let p = BargeInPolicy::default();
        for bc in ["uh-huh", "Okay.", "yeah", "Mm-hmm.", "okay, yeah", "All right."] {
            assert!(p.is_backchannel(bc), "{bc}");
            assert_eq!(p.decide(BargeInMode::Speech, 600, &Heard::text(bc)), BargeInDecision::Wait, "{bc}");
            assert_eq!(p.decide(BargeInMode::Speech, 2000, &Heard::text(bc)), BargeInDecision::Wait, "{bc}");
        }
        assert!(!p.is_backchannel("okay but what about parking"));
        assert_eq!(
            p.decide(BargeInMode::Speech, 600, &Heard::text("okay but what")),
            BargeInDecision::Interrupt
        );
        assert_eq!(p.decide(BargeInMode::Never, 5000, &Heard::text("stop talking")), BargeInDecision::Ignore);
        assert_eq!(
            p.decide(BargeInMode::DtmfOnly, 5000, &Heard::text("stop talking")),
            BargeInDecision::Ignore
        );
        assert!(p.dtmf_interrupts(BargeInMode::DtmfOnly));
        assert!(!p.dtmf_interrupts(BargeInMode::Never));
    }

    #[test]
    fn min_words_waits_for_enough_words() {
        let p = BargeInPolicy { min_words: 3, ..BargeInPolicy::default() };
        assert_eq!(p.decide(BargeInMode::Speech, 800, &Heard::text("what about")), BargeInDecision::Wait);
        assert_eq!(
            p.decide(BargeInMode::Speech, 800, &Heard::text("what about parking")),
            BargeInDecision::Interrupt
        );
        let any = BargeInPolicy { ignore_backchannels: false, ..BargeInPolicy::default() };
        assert_eq!(any.decide(BargeInMode::Speech, 300, &Heard::text("")), BargeInDecision::Interrupt);
    }

    fn state<'a>(silence_ms: u64, text: &'a str, model: Option<f32>, expect: &'a Expect) -> TurnState<'a> {
        TurnState {
            silence_ms,
            text,
            final_ready: true,
            model,
            model_pending: false,
            expect,
            understood: None,
        }
    }

    #[test]
    fn a_complete_slot_ends_the_turn_fast_and_half_a_number_waits() {
        let p = EndOfTurnPolicy::default();
        let phone = Expect::Phone;
        assert_eq!(p.decide(&state(250, "617 555 0142", None, &phone)), TurnDecision::End);
        assert_eq!(
            p.decide(&state(250, "six one seven, five five five, zero one four two", None, &phone)),
            TurnDecision::End
        );
        assert_eq!(p.decide(&state(900, "617 555", None, &phone)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(1500, "617 555", None, &phone)), TurnDecision::End);
        let yn = Expect::YesNo;
        assert_eq!(p.decide(&state(250, "Yes.", None, &yn)), TurnDecision::End);
        assert_eq!(p.decide(&state(250, "No, it's not.", None, &yn)), TurnDecision::End);
        // Not a clear yes or no: the ordinary pause rules apply.
        assert_eq!(
            p.decide(&state(250, "Well, I think it was maybe.", None, &yn)),
            TurnDecision::WaitUntil(700)
        );
        assert_eq!(p.decide(&state(250, "yes and", None, &yn)), TurnDecision::End);
    }

    #[test]
    fn unfinished_partials_and_the_model_wait_and_the_ceiling_ends() {
        let p = EndOfTurnPolicy::default();
        let open = Expect::Open;
        assert_eq!(p.decide(&state(800, "I'd like to book and", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "my number is", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "um", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(1500, "um", None, &open)), TurnDecision::End);
        // Whisper's full stop does not finish a sentence that cannot end there; a question mark
        // does, and so does a full stop after a word a sentence can end with.
        assert_eq!(p.decide(&state(800, "Tomorrow at.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "My number is.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "Can I book the.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(
            p.decide(&state(800, "I was wondering if you...", None, &open)),
            TurnDecision::WaitUntil(1500)
        );
        assert_eq!(p.decide(&state(800, "I was wondering if.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "I think it was.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "Can I come in.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "Where do I park my car.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "What are you open for?", None, &open)), TurnDecision::End);
        // A number read out in groups waits for the ceiling, even at an open question.
        assert_eq!(p.decide(&state(800, "617.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(
            p.decide(&state(800, "six one seven, five five five", None, &open)),
            TurnDecision::WaitUntil(1500)
        );
        assert_eq!(p.decide(&state(800, "1. 7 O.", None, &open)), TurnDecision::WaitUntil(1500));
        // Two digits said one by one are a number being read out; "fifteen" is not.
        assert_eq!(p.decide(&state(800, "1. 5.", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "one five", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "15.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "one seven oh", None, &open)), TurnDecision::WaitUntil(1500));
        assert_eq!(p.decide(&state(800, "617-555-0142.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "One.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "I need 3 refills.", None, &open)), TurnDecision::End);
        // A caller announcing more ("let me check ... it's the fifteenth") is waited for, however
        // complete the sentence; asking the agent to hold is a question, and done.
        for holding in ["Let me check.", "Um, hold on, please.", "OK, one second.", "Let me see..."] {
            assert_eq!(
                p.decide(&state(1000, holding, None, &open)),
                TurnDecision::WaitUntil(1500),
                "{holding}"
            );
        }
        assert_eq!(p.decide(&state(1500, "Let me check.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "Can you hold on?", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(800, "I checked.", None, &open)), TurnDecision::End);
        // No model: a plain pause; longer when Whisper left the text open (a fragment).
        assert_eq!(p.decide(&state(300, "What are your hours?", None, &open)), TurnDecision::WaitUntil(700));
        assert_eq!(p.decide(&state(700, "What are your hours?", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(700, "Tomorrow.", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(700, "tomorrow", None, &open)), TurnDecision::WaitUntil(1100));
        assert_eq!(p.decide(&state(700, "Send me a reminder,", None, &open)), TurnDecision::WaitUntil(1100));
        assert_eq!(p.decide(&state(1100, "tomorrow", None, &open)), TurnDecision::End);
        assert_eq!(p.decide(&state(700, "He said \"fine.\"", None, &open)), TurnDecision::End);
        let unpunctuating = EndOfTurnPolicy { unpunctuated_pause_ms: None, ..EndOfTurnPolicy::default() };
        assert_eq!(unpunctuating.decide(&state(700, "tomorrow", None, &open)), TurnDecision::End);
        // The model is confident: sooner. It says incomplete: wait for the ceiling.
        assert_eq!(p.decide(&state(300, "what are your hours", Some(0.9), &open)), TurnDecision::End);
        assert_eq!(
            p.decide(&state(900, "what are your hours", Some(0.1), &open)),
            TurnDecision::WaitUntil(1500)
        );
        // The final transcript is not back: wait for it.
        let s = TurnState { final_ready: false, ..state(2000, "hours", None, &open) };
        assert_eq!(p.decide(&s), TurnDecision::WaitUntil(2000));
        // Noise: no words.
        assert_eq!(p.decide(&state(300, "", None, &open)), TurnDecision::Discard);
    }

    #[test]
    fn the_flows_understanding_hurries_a_clear_sentence_and_holds_a_short_unplaced_one() {
        let p = EndOfTurnPolicy::default();
        let open = Expect::Open;
        let s = |ms, text, understood| TurnState { understood, ..state(ms, text, None, &open) };
        let q = "How can I renew my prescription?";
        // Understood, five words or more, closed by the recogniser: the shorter pause.
        assert_eq!(p.decide(&s(460, q, Some(true))), TurnDecision::WaitUntil(500));
        assert_eq!(p.decide(&s(500, q, Some(true))), TurnDecision::End);
        // Not known yet, or not understood but long: the plain pause.
        assert_eq!(p.decide(&s(500, q, None)), TurnDecision::WaitUntil(700));
        assert_eq!(p.decide(&s(700, q, Some(false))), TurnDecision::End);
        // Understood but short ("Can I book" before "... a cleaning"), or left open: no hurry.
        assert_eq!(p.decide(&s(500, "Can I book?", Some(true))), TurnDecision::WaitUntil(700));
        assert_eq!(
            p.decide(&s(700, "how can i renew my prescription", Some(true))),
            TurnDecision::WaitUntil(1100)
        );
        // Short and not understood: the caller is likely to go on.
        assert_eq!(p.decide(&s(700, "Tomorrow.", Some(false))), TurnDecision::WaitUntil(1000));
        assert_eq!(p.decide(&s(1000, "Tomorrow.", Some(false))), TurnDecision::End);
        assert_eq!(p.decide(&s(700, "Is there anything?", Some(false))), TurnDecision::WaitUntil(1000));
        // Word rules and slots come first.
        assert_eq!(
            p.decide(&s(500, "I'd like to book an appointment for", Some(true))),
            TurnDecision::WaitUntil(1500)
        );
        assert_eq!(
            p.decide(&TurnState { understood: Some(false), ..state(250, "Yes.", None, &Expect::YesNo) }),
            TurnDecision::End
        );
        // At a slot, the answer's own shape: one of the choices, a first and last name.
        let choice = Expect::Choice(vec!["Doctor Chen".into(), "Doctor Nair".into()]);
        let at_slot =
            |ms, text, expect| TurnState { understood: Some(true), ..state(ms, text, None, expect) };
        assert_eq!(p.decide(&at_slot(500, "Doctor Chen, please", &choice)), TurnDecision::End);
        assert_eq!(p.decide(&at_slot(500, "John Smith.", &Expect::Name)), TurnDecision::End);
        assert_eq!(p.decide(&at_slot(500, "John.", &Expect::Name)), TurnDecision::WaitUntil(700));
        assert_eq!(
            p.decide(&at_slot(500, "Next Tuesday morning.", &Expect::DateTime)),
            TurnDecision::WaitUntil(700)
        );
        // Switched off: the plain pause either way.
        let off = EndOfTurnPolicy { understood_pause_ms: None, unplaced_pause_ms: None, ..p.clone() };
        assert_eq!(off.decide(&s(500, q, Some(true))), TurnDecision::WaitUntil(700));
        assert_eq!(off.decide(&s(700, "Tomorrow.", Some(false))), TurnDecision::End);
    }

    #[test]
    fn digits_and_yes_no_are_read_from_words() {
        assert_eq!(count_digits("six one seven 555-0142"), 10);
        assert_eq!(count_digits("my number is"), 0);
        assert!(clear_yes_no("Yeah, that's right."));
        assert!(!clear_yes_no("I'm not sure what you mean by that"));
        assert!(!clear_yes_no(""));
    }

    #[test]
    fn spelled_out_words_are_joined_and_yes_is_a_backchannel_unless_asked() {
        assert_eq!(words("M-H-M"), ["mhm"]);
        assert_eq!(words("uh-huh, mm-hmm"), ["uh-huh", "mm-hmm"]);
        let p = BargeInPolicy::default();
        assert!(p.is_backchannel("M-H-M"));
        let yes = Heard::text("Yes.");
        assert_eq!(p.decide(BargeInMode::Speech, 600, &yes), BargeInDecision::Wait);
        // Over "... Is that right?" a yes is the answer, not a backchannel.
        let answer = Heard { yes_no_expected: true, ..yes };
        assert!(!p.is_backchannel_heard(&answer));
        assert_eq!(p.decide(BargeInMode::Speech, 600, &answer), BargeInDecision::Interrupt);
        let sure = Heard { text: "Sure.", yes_no_expected: true, ..Heard::text("") };
        assert_eq!(p.decide(BargeInMode::Speech, 600, &sure), BargeInDecision::Interrupt);
        // "um" is no answer to anything.
        let um = Heard { text: "um", yes_no_expected: true, ..Heard::text("") };
        assert_eq!(p.decide(BargeInMode::Speech, 600, &um), BargeInDecision::Wait);
    }

    #[test]
    fn a_single_doubtful_word_does_not_stop_the_agent_but_a_clear_one_or_two_words_do() {
        let p = BargeInPolicy::default();
        let heard = |text, c| Heard { confidence: Some(c), ..Heard::text(text) };
        assert_eq!(p.decide(BargeInMode::Speech, 600, &heard("David.", 0.19)), BargeInDecision::Wait);
        assert_eq!(p.decide(BargeInMode::Speech, 600, &heard("Stop.", 0.54)), BargeInDecision::Interrupt);
        assert_eq!(p.decide(BargeInMode::Speech, 600, &heard("No, no", 0.35)), BargeInDecision::Interrupt);
        // The words callers interrupt with count, however doubtful.
        assert_eq!(p.decide(BargeInMode::Speech, 600, &heard("Wait.", 0.2)), BargeInDecision::Interrupt);
        assert_eq!(p.decide(BargeInMode::Speech, 600, &heard("No.", 0.3)), BargeInDecision::Interrupt);
        // No confidence given: the word counts.
        assert_eq!(p.decide(BargeInMode::Speech, 600, &Heard::text("David.")), BargeInDecision::Interrupt);
    }

    #[test]
    fn far_field_speech_does_not_stop_the_agent() {
        let p = BargeInPolicy::default();
        let tv = Heard { quieter_db: Some(20.0), ..Heard::text("our top story tonight") };
        assert_eq!(p.decide(BargeInMode::Speech, 2000, &tv), BargeInDecision::Wait);
        let caller = Heard { quieter_db: Some(6.0), ..Heard::text("wait") };
        assert_eq!(p.decide(BargeInMode::Speech, 600, &caller), BargeInDecision::Interrupt);
        // No words yet, long speech: still far-field.
        let long = Heard { quieter_db: Some(20.0), ..Heard::text("") };
        assert_eq!(p.decide(BargeInMode::Speech, 5000, &long), BargeInDecision::Wait);
    }
}
