//! Main-menu routing evaluation: what the clinic flow does with a caller's first request, with
//! the real embedding model (all-MiniLM-L6-v2).
//!
//! Reads `eval/route/utterances.tsv` (split, expected outcome, utterance) and with `--heldout`
//! also `eval/route/heldout.tsv` (measured only, never tuned on; misses are not printed for
//! it). Each utterance is said at the main menu of a fresh call of `flows/clinic.yaml`, exactly
//! as the chat simulator and the voice loop do it (embedded through
//! `frontdesk_flow::spoken::embedding_text`, one machine step). The outcome is the routed
//! intent (`book`, `change`), the FAQ entry answered, `idk` (the agent said it does not know or
//! did not understand), `clarify:<a>|<b>` (it asked which of two intents) or `confirm:<id>` (it asked
//! "are you asking: ...?" about an entry, or "did you want to ...?" about an intent). An expected column may list alternatives
//! joined with `|`.
//!
//! Reported per split: right, wrong (routed to another intent or answered another entry: the
//! costly error), asked (a clarifying or confirmation question: a turn lost, not an error) and
//! refused (in scope but "I don't know"), with the out-of-scope rows separately. `--verbose`
//! prints the misses of the dev split only, so that test and held-out stay unread;
//! `--confusion SPLIT` prints a split's misses counted by (expected, got), no utterances.
//!
//! ```text
//! cargo run --release -p frontdesk-flow --example route_eval [-- --flow FILE --questions FILE
//!     --heldout --verbose --confusion SPLIT --intent-threshold T --clarify-margin M --intent-confirm T (0: off)]
//! ```
//! The model is read from `FRONTDESK_MODELS` (default `models/`; `frontdesk models fetch`).

#![allow(clippy::print_stdout, reason = "a command-line report")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::Embedder as _;
use frontdesk_flow::convo::{parse_now, step};
use frontdesk_flow::{Bundle, Event, FlowMachine};
use frontdesk_types::Instant;

struct Row {
    split: String,
    want: Vec<String>,
    text: String,
}

#[derive(Default)]
struct Tally {
    inscope: usize,
    right: usize,
    wrong: usize,
    asked: usize,
    asked_right: usize,
    refused: usize,
    oos: usize,
    oos_refused: usize,
    oos_asked: usize,
}

fn pct(a: usize, b: usize) -> f32 {
    if b == 0 { 100.0 } else { 100.0 * a as f32 / b as f32 }
}

fn read_rows(path: &PathBuf) -> anyhow::Result<Vec<Row>> {
    let src = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in src.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("split\t") || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(split), Some(want), Some(text)) = (cols.next(), cols.next(), cols.next()) else {
            bail!("{}:{}: want three tab-separated columns", path.display(), n + 1);
        };
        let want = want.split('|').map(|w| w.trim().to_owned()).collect();
        rows.push(Row { split: split.to_owned(), want, text: text.trim().to_owned() });
    }
    Ok(rows)
}

/// Says `text` at the main menu of a fresh call; returns the outcome label and the reply.
fn outcome(m: &MiniLm, b: &Arc<Bundle>, text: &str) -> anyhow::Result<(String, String)> {
    let wall = parse_now("2026-11-18T10:15", "America/New_York")?;
    let mut fm = FlowMachine::new(b.clone(), wall);
    step(&mut fm, Instant::ZERO, Some(Event::Start))?;
    let emb = m.embed(&[frontdesk_flow::spoken::embedding_text(text).as_str()])?.into_iter().next();
    let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: emb.clone() };
    let scores = emb.as_deref().map(|e| {
        let i = frontdesk_flow::intents::embedding_scores(&b.intents, &["book", "change"], e);
        let f = b.kb.rank(&b.kb_index, text, Some(e), &frontdesk_flow::kb::Scoring::default());
        let mut v: Vec<String> = i.iter().map(|m| format!("{} {:.3}", m.name, m.confidence)).collect();
        v.extend(f.iter().take(1).map(|h| format!("{} {:.3}/ask {:.3}", h.entry.id, h.score, h.ask)));
        v.join(", ")
    });
    let r = step(&mut fm, Instant::from_millis(2000), Some(ev))?;
    let t = fm.turn();
    fn confirm(a: &str) -> Option<&str> {
        a.strip_prefix("faq:confirm:").or_else(|| a.strip_prefix("intent:confirm:"))
    }
    let label = if let Some(c) = t.actions.iter().find_map(|a| confirm(a)) {
        format!("confirm:{c}")
    } else if let Some(a) = t.actions.iter().find(|a| a.starts_with("clarify:")) {
        a.clone()
    } else if let Some(f) = &t.faq_id {
        f.clone()
    } else if let Some(i) = &t.intent {
        i.name.clone()
    } else if let Some(a) = t.actions.iter().find(|a| a.starts_with("repair:") || a.starts_with("transfer:"))
    {
        a.clone()
    } else {
        "idk".to_owned()
    };
    Ok((label, format!("{} [{}]", r.say, scores.unwrap_or_default())))
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut flow = root.join("flows/clinic.yaml");
    let mut questions = root.join("eval/route/utterances.tsv");
    let (mut heldout, mut verbose) = (false, false);
    let mut confusion_split = "dev".to_owned();
    let (mut threshold, mut margin, mut unsure): (Option<f32>, Option<f32>, Option<f32>) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--flow" => flow = args.next().context("--flow FILE")?.into(),
            "--questions" => questions = args.next().context("--questions FILE")?.into(),
            "--heldout" => heldout = true,
            "--confusion" => confusion_split = args.next().context("--confusion SPLIT")?,
            "--verbose" => verbose = true,
            "--intent-threshold" => threshold = Some(args.next().context("--intent-threshold T")?.parse()?),
            "--intent-confirm" => unsure = Some(args.next().context("--intent-confirm T")?.parse()?),
            "--clarify-margin" => margin = Some(args.next().context("--clarify-margin M")?.parse()?),
            other => bail!("unknown argument {other}; see the module docs"),
        }
    }
    let dir = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| root.join("models"), PathBuf::from);
    let model = MiniLm::load(&dir).context("loading MiniLM (run `frontdesk models fetch`)")?;
    let mut b = Bundle::load(&flow)?;
    if let Some(t) = threshold {
        b.flow.settings.intent_threshold = t;
    }
    if let Some(u) = unsure {
        b.flow.settings.intent_confirm_threshold = (u > 0.0).then_some(u);
    }
    if let Some(m) = margin {
        b.flow.settings.clarify_margin = m;
    }
    b.embed(&model)?;
    let b = Arc::new(b);
    let mut rows = read_rows(&questions)?;
    if heldout {
        rows.extend(read_rows(&root.join("eval/route/heldout.tsv"))?);
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &rows {
        let (got, say) = outcome(&model, &b, &row.text)?;
        let y = tallies.entry(row.split.clone()).or_default();
        let ok = row.want.contains(&got);
        let asked = got.starts_with("confirm:") || got.starts_with("clarify:");
        if row.want.iter().any(|w| w == "idk") {
            y.oos += 1;
            y.oos_refused += usize::from(got == "idk");
            y.oos_asked += usize::from(asked);
        } else {
            y.inscope += 1;
            y.right += usize::from(ok);
            y.refused += usize::from(got == "idk");
            if asked {
                y.asked += 1;
                let about = got.split(':').nth(1).unwrap_or_default();
                y.asked_right += usize::from(row.want.iter().any(|w| about.split('|').any(|a| a == w)));
            } else if !ok && got != "idk" {
                y.wrong += 1;
            }
        }
        // Only dev misses are shown: test and held-out stay unread. `--confusion SPLIT` counts
        // another split's misses by (expected, got) without showing a single utterance.
        if !ok && row.split == confusion_split {
            *confusion.entry((row.want.join("|"), got.clone())).or_default() += 1;
        }
        if !ok && row.split == "dev" && verbose {
            println!(
                "  miss [{}] want {:<22} got {:<22} {:?} -> {:?}",
                row.split,
                row.want.join("|"),
                got,
                row.text,
                say
            );
        }
    }
    for (split, y) in &tallies {
        println!(
            "{split:<8} right {:5.1} % ({}/{}), wrong {}, asked {} ({} about the right one), refused {}; out of scope: said it does not know {}/{}, asked {}",
            pct(y.right, y.inscope),
            y.right,
            y.inscope,
            y.wrong,
            y.asked,
            y.asked_right,
            y.refused,
            y.oos_refused,
            y.oos,
            y.oos_asked
        );
    }
    if verbose || confusion_split != "dev" {
        println!("{confusion_split} misses by (expected, got):");
        for ((want, got), n) in &confusion {
            println!("  {n:>3}  {want:<24} -> {got}");
        }
    }
    Ok(())
}
