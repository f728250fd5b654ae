//! FAQ retrieval evaluation with the real embedding model (all-MiniLM-L6-v2).
//!
//! Reads `eval/faq/questions.tsv` (split, expected entry id or `idk`, question) and the
//! knowledge base `flows/clinic-kb.yaml`, embeds everything once, then:
//! - sweeps the threshold on the **dev** split and prints top-1 accuracy, wrong answers and
//!   "I don't know" precision/recall at each value;
//! - picks the threshold that maximises dev top-1 accuracy + IDK recall (ties: the higher
//!   threshold, the safer side);
//! - reports dev and **test** figures at that threshold, and at the flow's `faq_threshold`.
//!
//! ```text
//! cargo run -p frontdesk-flow --example faq_eval [-- --kb FILE --questions FILE
//!     --threshold T --margin M --weights ASK,ANSWER,LEXICAL,KEYWORD --verbose]
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
        )
    }
}

fn pct(a: usize, b: usize) -> f32 {
    if b == 0 { 100.0 } else { 100.0 * a as f32 / b as f32 }
}

fn tally(kb: &Kb, idx: &KbIndex, qs: &[&Q], t: f32, s: &Scoring, verbose: bool) -> Tally {
    let mut y = Tally::default();
    for q in qs {
        let got = kb.answer_with(idx, &q.text, Some(&q.emb), t, s).map(|h| h.entry.id.as_str());
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

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut kb_path = root.join("flows/clinic-kb.yaml");
    let mut q_path = root.join("eval/faq/questions.tsv");
    let mut fixed: Option<f32> = None;
    let mut s = Scoring::default();
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--kb" => kb_path = val()?.into(),
            "--questions" => q_path = val()?.into(),
            "--threshold" => fixed = Some(val()?.parse()?),
            "--margin" => s.margin = val()?.parse()?,
            "--weights" => {
                let w: Vec<f32> = val()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
                let [ask, answer, lexical, keyword] = w[..] else { bail!("--weights needs 4 numbers") };
                s = Scoring { ask, answer, lexical, keyword, margin: s.margin };
            }
            "--verbose" => verbose = true,
            _ => bail!("unknown argument {a}"),
        }
    }
    let kb = Kb::parse(&std::fs::read_to_string(&kb_path)?)
        .map_err(|d| anyhow::anyhow!("{}: {d:?}", kb_path.display()))?;
    let models = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| root.join("models"), PathBuf::from);
    let model = MiniLm::load(&models)?;
    let idx = KbIndex::build(&kb, &model)?;
    let mut qs = Vec::new();
    for line in std::fs::read_to_string(&q_path)?.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let mut f = line.split('\t');
        let (Some(split), Some(want), Some(text)) = (f.next(), f.next(), f.next()) else { continue };
        if want != "idk" && !kb.entries.iter().any(|e| e.id == want) {
            bail!("{}: unknown entry id {want}", q_path.display());
        }
        qs.push(Q { split: split.into(), want: want.into(), text: text.into(), emb: Vec::new() });
    }
    let texts: Vec<String> = qs.iter().map(|q| q.text.clone()).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (q, e) in qs.iter_mut().zip(model.embed(&refs)?) {
        q.emb = e;
    }
    let dev: Vec<&Q> = qs.iter().filter(|q| q.split == "dev").collect();
    let test: Vec<&Q> = qs.iter().filter(|q| q.split == "test").collect();
    println!(
        "{} entries; dev {} questions ({} out of scope), test {} ({} out of scope)",
        kb.entries.len(),
        dev.len(),
        dev.iter().filter(|q| q.want == "idk").count(),
        test.len(),
        test.iter().filter(|q| q.want == "idk").count()
    );
    println!(
        "weights: ask {} answer {} lexical {} keyword {}, margin {}",
        s.ask, s.answer, s.lexical, s.keyword, s.margin
    );
    println!("dev sweep:");
    let mut best = (f32::MIN, 0.0f32);
    for i in 30..=80 {
        let t = i as f32 / 100.0;
        let y = tally(&kb, &idx, &dev, t, &s, false);
        let obj = y.top1() + y.idk_recall();
        if obj >= best.0 {
            best = (obj, t);
        }
        if i % 2 == 0 {
            println!("  t={t:.2}  {}", y.line());
        }
    }
    let t = fixed.unwrap_or(best.1);
    println!("threshold {t:.2} ({}):", if fixed.is_some() { "given" } else { "best on dev" });
    println!("  dev   {}", tally(&kb, &idx, &dev, t, &s, verbose).line());
    println!("  test  {}", tally(&kb, &idx, &test, t, &s, verbose).line());
    Ok(())
}
