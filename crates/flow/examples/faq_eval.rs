//! FAQ retrieval evaluation with the real embedding model (all-MiniLM-L6-v2).
//!
//! Reads `eval/faq/questions.tsv` (split, expected entry id or `idk`, question) and the
//! knowledge base `flows/clinic-kb.yaml`, embeds everything once (the question text through
//! `frontdesk_flow::spoken::embedding_text`, as the voice loop does), then:
//! - sweeps the threshold on the **dev** split and prints top-1 accuracy, wrong answers and
//!   "I don't know" precision/recall at each value;
//! - picks the threshold with the best dev top-1 among those that answer no out-of-scope
//!   question and give no wrong answer (ties: the higher threshold, the safer side), unless
//!   `--threshold` is given;
//! - reports every split at that threshold: dev, **test**, and with `--heldout` the held-out
//!   file `eval/faq/heldout.tsv` (measured only, never tuned on);
//! - with `--confirm C`, also how often the flow would ask "are you asking: ...?" (a best entry
//!   between C and the threshold; `faq_confirm_threshold`) and how often about the right entry;
//! - with `--noisy`, also the same questions as a phone caller says them: each question gets a
//!   filler opening ("um", "uh i was wondering", "hi yeah can you tell me", ...), embedded as the
//!   voice loop embeds it.
//!
//! ```text
//! cargo run --release -p frontdesk-flow --example faq_eval [-- --kb FILE --questions FILE
//!     --heldout --noisy --threshold T --confirm C --margin M --second S --negative G --weights ASK,ANSWER,LEXICAL,KEYWORD
//!     --no-center --verbose]
//! ```
//! The model is read from `FRONTDESK_MODELS` (default `models/`; `frontdesk models fetch`).

#![allow(clippy::print_stdout, reason = "a command-line report")]

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::Embedder as _;
use frontdesk_flow::kb::{Kb, KbIndex, Scoring};

struct Q {
    split: String,
    want: String,
    text: String,
    emb: Vec<f32>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    inscope: usize,
    right: usize,
    wrong: usize,
    refused_inscope: usize,
    oos: usize,
    refused_oos: usize,
    /// `--confirm`: refused, but in the confirmation band ("are you asking: ...?").
    asked: usize,
    /// ... of which about the right entry (in-scope questions).
    asked_right: usize,
}

impl Tally {
    fn top1(&self) -> f32 {
        pct(self.right, self.inscope)
    }
    fn idk_recall(&self) -> f32 {
        pct(self.refused_oos, self.oos)
    }
    fn idk_precision(&self) -> f32 {
        pct(self.refused_oos, self.refused_oos + self.refused_inscope)
    }
    fn line(&self) -> String {
        let asked = if self.asked > 0 {
            format!(
                "; confirmation asked {} times, {} about the right entry (top-1 after a yes {:5.1} %)",
                self.asked,
                self.asked_right,
                pct(self.right + self.asked_right, self.inscope)
            )
        } else {
            String::new()
        };
        format!(
            "top-1 {:5.1} % ({}/{}), wrong answers {} + {} out-of-scope answered, IDK recall {:5.1} % ({}/{}), IDK precision {:5.1} %",
            self.top1(),
            self.right,
            self.inscope,
            self.wrong,
            self.oos - self.refused_oos,
            self.idk_recall(),
            self.refused_oos,
            self.oos,
            self.idk_precision()
        ) + &asked
    }
}

fn pct(a: usize, b: usize) -> f32 {
    if b == 0 { 100.0 } else { 100.0 * a as f32 / b as f32 }
}

fn tally(
    kb: &Kb,
    idx: &KbIndex,
    qs: &[&Q],
    t: f32,
    s: &Scoring,
    confirm: Option<f32>,
    verbose: bool,
) -> Tally {
    let mut y = Tally::default();
    for q in qs {
        // As the flow does it: one retrieval at the lowest threshold; the score says answer or ask.
        let hit = kb.answer_with(idx, &q.text, Some(&q.emb), confirm.map_or(t, |c| c.min(t)), s);
        let got = hit.as_ref().filter(|h| h.score >= t).map(|h| h.entry.id.as_str());
        if let Some(h) = hit.filter(|h| h.score < t) {
            y.asked += 1;
            y.asked_right += usize::from(h.entry.id == q.want);
        }
        let ok = if q.want == "idk" {
            y.oos += 1;
            y.refused_oos += usize::from(got.is_none());
            got.is_none()
        } else {
            y.inscope += 1;
            y.right += usize::from(got == Some(q.want.as_str()));
            y.wrong += usize::from(got.is_some() && got != Some(q.want.as_str()));
            y.refused_inscope += usize::from(got.is_none());
            got == Some(q.want.as_str())
        };
        if verbose && !ok {
            let r = kb.rank(idx, &q.text, Some(&q.emb), s);
            let top: Vec<String> =
                r.iter().take(2).map(|h| format!("{} {:.3}", h.entry.id, h.score)).collect();
            println!(
                "  miss [{}] want {:<20} got {:<20} {:?} ({})",
                q.split,
                q.want,
                got.unwrap_or("idk"),
                q.text,
                top.join(", ")
            );
        }
    }
    y
}

/// Each question's (expected, best id, best score, second score) under `s`.
fn tops<'a>(kb: &'a Kb, idx: &KbIndex, qs: &[&'a Q], s: &Scoring) -> Vec<(&'a str, &'a str, f32, f32)> {
    qs.iter()
        .map(|q| {
            let r = kb.rank(idx, &q.text, Some(&q.emb), s);
            (q.want.as_str(), r[0].entry.id.as_str(), r[0].score, r.get(1).map_or(0.0, |h| h.score))
        })
        .collect()
}

/// (right, wrong incl. out-of-scope answered) at threshold `t` and margin `m`.
fn count(tops: &[(&str, &str, f32, f32)], t: f32, m: f32) -> (usize, usize) {
    let mut y = (0, 0);
    for (want, got, s1, s2) in tops {
        if *s1 >= t && s1 - s2 >= m {
            if want == got { y.0 += 1 } else { y.1 += 1 }
        }
    }
    y
}

/// `--grid`: weights, margin and threshold searched on dev (no wrong answer, none out of
/// scope), best first; test shown beside.
fn search(kb: &Kb, idx: &KbIndex, dev: &[&Q], test: &[&Q], base: &Scoring) {
    let raw = idx.clone().without_centering();
    let mut rows = Vec::new();
    for (cname, ix) in [("centered", idx), ("raw", &raw)] {
        for answer in [0.0, 0.1, 0.2] {
            for lexical in [0.15, 0.25, 0.35, 0.45] {
                for second in [0.0, 0.3] {
                    let s = Scoring { ask: 1.0 - answer - lexical, answer, lexical, second, ..*base };
                    let (d, t) = (tops(kb, ix, dev, &s), tops(kb, ix, test, &s));
                    let mut best = (0usize, 0.0f32, 0.0f32);
                    for mi in 0..=8 {
                        let m = mi as f32 / 100.0;
                        for ti in 20..=80 {
                            let th = ti as f32 / 100.0;
                            let (r, w) = count(&d, th, m);
                            if w == 0 && r >= best.0 {
                                best = (r, th, m);
                            }
                        }
                    }
                    let (tr, tw) = count(&t, best.1, best.2);
                    rows.push((best.0, format!("{cname} answer {answer} lexical {lexical} second {second}: dev {}/ t {:.2} m {:.2} | test right {tr} wrong {tw}", best.0, best.1, best.2)));
                }
            }
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, r) in rows.iter().take(20) {
        println!("{r}");
    }
}

/// Filler openings and closings of spoken questions (for `--noisy`).
const FILLERS: &[(&str, &str)] = &[
    ("um ", ""),
    ("uh i was wondering ", ""),
    ("hi yeah can you tell me ", ""),
    ("so um ", " please"),
    ("hello uh quick question ", ""),
    ("yeah hi ", " thank you"),
    ("okay so like ", ""),
    ("i wanted to ask ", " um"),
];

fn load(path: &std::path::Path, kb: &Kb) -> anyhow::Result<Vec<Q>> {
    let mut qs = Vec::new();
    for line in std::fs::read_to_string(path)?.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let mut f = line.split('\t');
        let (Some(split), Some(want), Some(text)) = (f.next(), f.next(), f.next()) else { continue };
        if want != "idk" && !kb.entries.iter().any(|e| e.id == want) {
            bail!("{}: unknown entry id {want}", path.display());
        }
        qs.push(Q { split: split.into(), want: want.into(), text: text.into(), emb: Vec::new() });
    }
    Ok(qs)
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut kb_path = root.join("flows/clinic-kb.yaml");
    let mut q_path = root.join("eval/faq/questions.tsv");
    let mut fixed: Option<f32> = None;
    let mut s = Scoring::default();
    let mut confirm: Option<f32> = None;
    let (mut verbose, mut heldout, mut noisy, mut center, mut grid) = (false, false, false, true, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--kb" => kb_path = val()?.into(),
            "--questions" => q_path = val()?.into(),
            "--threshold" => fixed = Some(val()?.parse()?),
            "--confirm" => confirm = Some(val()?.parse()?),
            "--margin" => s.margin = val()?.parse()?,
            "--second" => s.second = val()?.parse()?,
            "--negative" => s.negative = val()?.parse()?,
            "--weights" => {
                let w: Vec<f32> = val()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
                let [ask, answer, lexical, keyword] = w[..] else { bail!("--weights needs 4 numbers") };
                s = Scoring { ask, answer, lexical, keyword, ..s };
            }
            "--verbose" => verbose = true,
            "--heldout" => heldout = true,
            "--noisy" => noisy = true,
            "--no-center" => center = false,
            "--grid" => grid = true,
            _ => bail!("unknown argument {a}"),
        }
    }
    let kb = Kb::parse(&std::fs::read_to_string(&kb_path)?)
        .map_err(|d| anyhow::anyhow!("{}: {d:?}", kb_path.display()))?;
    let models = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| root.join("models"), PathBuf::from);
    let model = MiniLm::load(&models)?;
    let mut idx = KbIndex::build(&kb, &model)?;
    if !center {
        idx = idx.without_centering();
    }
    let mut qs = load(&q_path, &kb)?;
    // Hygiene: no evaluation question may be a copy of the KB's text.
    let norm = |t: &str| frontdesk_flow::intents::words(t).join(" ");
    for q in &qs {
        let n = norm(&q.text);
        if let Some(e) =
            kb.entries.iter().find(|e| norm(&e.question) == n || e.examples.iter().any(|x| norm(x) == n))
        {
            bail!("{:?} is copied from the KB entry {}", q.text, e.id);
        }
        if kb.out_of_scope.iter().any(|x| norm(x) == n) {
            bail!("{:?} is copied from the KB's out_of_scope list", q.text);
        }
    }
    if heldout {
        qs.extend(load(&root.join("eval/faq/heldout.tsv"), &kb)?);
    }
    if noisy {
        let extra: Vec<Q> = qs
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let (pre, post) = FILLERS[i % FILLERS.len()];
                Q {
                    split: format!("{}+noisy", q.split),
                    want: q.want.clone(),
                    text: format!("{pre}{}{post}", q.text),
                    emb: Vec::new(),
                }
            })
            .collect();
        qs.extend(extra);
    }
    // Embedded as the voice loop embeds them (opening fillers dropped).
    let texts: Vec<String> = qs.iter().map(|q| frontdesk_flow::spoken::embedding_text(&q.text)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (q, e) in qs.iter_mut().zip(model.embed(&refs)?) {
        q.emb = e;
    }
    let of = |split: &str| -> Vec<&Q> { qs.iter().filter(|q| q.split == split).collect() };
    if grid {
        search(&kb, &idx, &of("dev"), &of("test"), &s);
        return Ok(());
    }
    let dev = of("dev");
    println!(
        "{} entries ({} questions and examples); dev {} questions ({} out of scope)",
        kb.entries.len(),
        kb.entries.iter().map(|e| 1 + e.examples.len()).sum::<usize>(),
        dev.len(),
        dev.iter().filter(|q| q.want == "idk").count(),
    );
    println!(
        "weights: ask {} (second-best share {}) answer {} lexical {} keyword {}, margin {}, out-of-scope gap {} ({} questions), centered {center}",
        s.ask,
        s.second,
        s.answer,
        s.lexical,
        s.keyword,
        s.margin,
        s.negative,
        kb.out_of_scope.len()
    );
    println!("dev sweep:");
    let mut best = (f32::MIN, 0.0f32);
    for i in 20..=80 {
        let t = i as f32 / 100.0;
        let y = tally(&kb, &idx, &dev, t, &s, None, false);
        let safe = y.wrong == 0 && y.refused_oos == y.oos;
        let obj = if safe { y.top1() } else { -1.0 };
        if obj >= best.0 {
            best = (obj, t);
        }
        if i % 2 == 0 {
            println!("  t={t:.2}  {}", y.line());
        }
    }
    let t = fixed.unwrap_or(best.1);
    println!("threshold {t:.2} ({}):", if fixed.is_some() { "given" } else { "best safe on dev" });
    let mut splits: Vec<&str> = Vec::new();
    for q in &qs {
        if !splits.contains(&q.split.as_str()) {
            splits.push(&q.split);
        }
    }
    for split in splits {
        let y = tally(&kb, &idx, &of(split), t, &s, confirm, verbose);
        println!("  {split:<14} {}", y.line());
    }
    Ok(())
}
