//! A linear intent ranker: multinomial logistic regression on the example embeddings.
//!
//! Nearest-example cosine answers "is this utterance like any intent's examples?" well, but it
//! separates two neighbouring intents badly: with all-MiniLM-L6-v2 "I need an appointment next
//! week" and "I need to move my appointment to next week" are nearer to each other than to most
//! examples of their own intent, so the best cosines of `book` and `change` often differ by less
//! than 0.02. A linear model trained on the same examples learns the directions that tell the
//! intents apart (an existing appointment referred to, a change verb) instead of the topic they
//! share. So the cosine still decides *whether* an utterance is an intent at all (the threshold
//! keeps its meaning), and the ranker decides *which* one (SetFit's and Rasa's classifier heads
//! are the same idea, trained once at load instead of offline).
//!
//! Training is full-batch gradient descent with L2 regularisation, from zero weights, in a fixed
//! order: deterministic, about 0.12 s for the clinic flow's 743 vectors, once per flow load. A
//! step that raises the loss is undone and the step size halved, so tight clusters (where a
//! fixed step oscillates) still converge.

/// Gradient steps. The loss flattens well before; more steps only grow the weights.
const STEPS: usize = 300;
/// Initial step size (features are unit vectors, so logits start small).
const RATE: f32 = 4.0;
/// L2 penalty per weight.
const L2: f32 = 1e-3;

/// Softmax weights over the intents that have examples, plus an "other" class when there are
/// other texts (bias last in each row).
#[derive(Debug, Clone, Default)]
pub struct Ranker {
    /// Intent names, one per class; the "other" class (if any) has no name.
    names: Vec<Option<String>>,
    weights: Vec<Vec<f32>>,
    dim: usize,
}

impl Ranker {
    /// Trains on `(intent, example vectors)` and `other` (vectors of texts that are no intent).
    /// Vectors of another length than the first are left out. `None` without two classes.
    pub fn train(intents: &[(String, Vec<Vec<f32>>)], other: &[Vec<f32>]) -> Option<Ranker> {
        let dim = intents.iter().flat_map(|(_, vs)| vs).chain(other).map(Vec::len).find(|&d| d > 0)?;
        let fit =
            |vs: &[Vec<f32>]| -> Vec<Vec<f32>> { vs.iter().filter(|v| v.len() == dim).cloned().collect() };
        let classes: Vec<(Option<String>, Vec<Vec<f32>>)> = intents
            .iter()
            .map(|(n, vs)| (Some(n.clone()), fit(vs)))
            .chain(std::iter::once((None, fit(other))))
            .filter(|(_, vs)| !vs.is_empty())
            .collect();
        if classes.len() < 2 {
            return None;
        }
        let data: Vec<(usize, &[f32])> = classes
            .iter()
            .enumerate()
            .flat_map(|(k, (_, vs))| vs.iter().map(move |v| (k, v.as_slice())))
            .collect();
        // Each class weighs the same in the loss, whatever its number of examples.
        let per_class: Vec<f32> =
            classes.iter().map(|(_, vs)| 1.0 / (vs.len() as f32 * classes.len() as f32)).collect();
        let mut w = vec![vec![0.0f32; dim + 1]; classes.len()];
        let mut grad = vec![vec![0.0f32; dim + 1]; classes.len()];
        let mut p = vec![0.0f32; classes.len()];
        let mut rate = RATE;
        let mut last: Option<(f32, Vec<Vec<f32>>)> = None;
        for _ in 0..STEPS {
            for g in &mut grad {
                g.iter_mut().for_each(|x| *x = 0.0);
            }
            let mut loss = 0.0f32;
            for &(k, x) in &data {
                softmax_into(&w, x, &mut p);
                loss -= per_class[k] * p[k].max(1e-30).ln();
                for (c, g) in grad.iter_mut().enumerate() {
                    let d = (p[c] - if c == k { 1.0 } else { 0.0 }) * per_class[k];
                    for (gi, xi) in g.iter_mut().zip(x) {
                        *gi += d * xi;
                    }
                    g[dim] += d;
                }
            }
            loss += 0.5 * L2 * w.iter().map(|wc| wc[..dim].iter().map(|x| x * x).sum::<f32>()).sum::<f32>();
            // The last step raised the loss: undo it and try again with half the step.
            if let Some((prev, before)) = &last
                && loss > *prev
            {
                w.clone_from(before);
                rate *= 0.5;
                continue;
            }
            last = Some((loss, w.clone()));
            for (wc, g) in w.iter_mut().zip(&grad) {
                for (i, (wi, gi)) in wc.iter_mut().zip(g).enumerate() {
                    let reg = if i < dim { L2 * *wi } else { 0.0 };
                    *wi -= rate * (gi + reg);
                }
            }
        }
        Some(Ranker { names: classes.into_iter().map(|(n, _)| n).collect(), weights: w, dim })
    }

    /// True when the ranker knows `name`.
    pub fn knows(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.as_deref() == Some(name))
    }

    /// The probability of each of `allowed` (renormalised over those the ranker knows), best
    /// first, ties by name. Intents the ranker was not trained on are left out; a vector of
    /// another length gets an empty ranking.
    pub fn rank(&self, allowed: &[&str], e: &[f32]) -> Vec<(String, f32)> {
        if e.len() != self.dim {
            return Vec::new();
        }
        let idx: Vec<(usize, &str)> = self
            .names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_deref().filter(|n| allowed.contains(n)).map(|n| (i, n)))
            .collect();
        let mut p: Vec<f32> = idx.iter().map(|&(i, _)| logit(&self.weights[i], e)).collect();
        normalise(&mut p);
        let mut out: Vec<(String, f32)> = idx.iter().zip(&p).map(|(&(_, n), x)| (n.to_owned(), *x)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// True when the likeliest class of all is one of `allowed`: an allowed intent is likelier
    /// than "other" and than every intent not allowed here. False when the ranker was trained
    /// without other texts (then it cannot tell an intent from anything else) and for a vector
    /// of another length.
    pub fn intent_beats_other(&self, allowed: &[&str], e: &[f32]) -> bool {
        if e.len() != self.dim || !self.names.iter().any(Option::is_none) {
            return false;
        }
        let mut p = vec![0.0; self.names.len()];
        softmax_into(&self.weights, e, &mut p);
        // The likeliest class (the first of equals).
        let best = (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b });
        self.names[best].as_deref().is_some_and(|n| allowed.contains(&n))
    }
}

fn logit(w: &[f32], x: &[f32]) -> f32 {
    let dim = w.len() - 1;
    if x.len() != dim {
        return 0.0;
    }
    dot(&w[..dim], x) + w[dim]
}

/// A dot product in eight independent lanes, so the compiler can vectorise it (a plain
/// `sum()` must keep the sequential order of float additions).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn softmax_into(w: &[Vec<f32>], x: &[f32], p: &mut [f32]) {
    for (pc, wc) in p.iter_mut().zip(w) {
        *pc = logit(wc, x);
    }
    normalise(p);
}

/// Logits in, softmax probabilities out (the maximum subtracted first, so `exp` cannot overflow).
fn normalise(p: &mut [f32]) {
    let max = p.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for pc in p.iter_mut() {
        *pc = (*pc - max).exp();
        sum += *pc;
    }
    for pc in p.iter_mut() {
        *pc /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::intents::test_vectors::unit;

    /// Questions about something else (axis 5), as a knowledge base's are.
    fn kb_questions() -> Vec<Vec<f32>> {
        (0..10).map(|i| unit(&[0.3, 0.0, 0.0, 0.0, 0.0, 1.0, 0.05 * i as f32])).collect()
    }

    /// Two intents on one topic (axis 0), told apart by a weak cue (axis 1: positive for
    /// `book`, negative for `change`), with noise on other axes; `change` has one example on
    /// the `book` side (a careless example, as authors write them).
    fn topic_and_cue() -> Vec<(String, Vec<Vec<f32>>)> {
        let book: Vec<Vec<f32>> = (0..8).map(|i| unit(&[1.0, 0.3, 0.0, 0.1 * (i as f32 - 4.0)])).collect();
        let mut change: Vec<Vec<f32>> = (0..8).map(|i| unit(&[1.0, -0.3, 0.1 * (i as f32 - 4.0)])).collect();
        change.push(unit(&[1.0, 0.12]));
        vec![("book".into(), book), ("change".into(), change)]
    }

    #[test]
    fn the_cue_decides_where_the_nearest_example_does_not() {
        let classes = topic_and_cue();
        let r = Ranker::train(&classes, &[]).unwrap();
        // On the book side of the cue, but nearest to change's careless example.
        let q = unit(&[1.0, 0.15]);
        let nearest =
            |vs: &Vec<Vec<f32>>| vs.iter().map(|v| crate::intents::cosine(&q, v)).fold(f32::MIN, f32::max);
        assert!(nearest(&classes[1].1) > nearest(&classes[0].1), "the premise: change's example is nearest");
        let ranked = r.rank(&["book", "change"], &q);
        assert_eq!(ranked[0].0, "book", "{ranked:?}");
        assert!((ranked.iter().map(|(_, p)| p).sum::<f32>() - 1.0).abs() < 1e-5);
        // Clearly on the change side.
        assert_eq!(r.rank(&["book", "change"], &unit(&[1.0, -0.25]))[0].0, "change");
    }

    #[test]
    fn training_is_deterministic_and_respects_allowed() {
        let classes = topic_and_cue();
        let (a, b) = (Ranker::train(&classes, &[]).unwrap(), Ranker::train(&classes, &[]).unwrap());
        assert_eq!(a.weights, b.weights);
        let only = a.rank(&["change"], &unit(&[1.0, 0.3]));
        assert_eq!(only.len(), 1);
        assert!((only[0].1 - 1.0).abs() < 1e-6, "renormalised over the allowed intents: {only:?}");
        assert!(a.rank(&["unknown"], &unit(&[1.0])).is_empty());
        assert!(Ranker::train(&classes[..1], &[]).is_none(), "one class: nothing to rank");
    }

    #[test]
    fn an_intent_not_allowed_here_is_not_mistaken_for_an_allowed_one() {
        let r = Ranker::train(&topic_and_cue(), &kb_questions()).unwrap();
        // Clearly `book`: at a menu that offers only `change` it must not pass for `change`.
        let q = unit(&[1.0, 0.3]);
        assert!(r.intent_beats_other(&["book", "change"], &q));
        assert!(!r.intent_beats_other(&["change"], &q));
    }

    #[test]
    fn a_vector_of_another_length_is_not_ranked() {
        let r = Ranker::train(&topic_and_cue(), &[unit(&[0.0, 0.0, 0.0, 0.0, 0.0, 1.0])]).unwrap();
        assert!(r.rank(&["book", "change"], &[1.0, 0.0]).is_empty());
        assert!(!r.intent_beats_other(&["book", "change"], &[1.0, 0.0]));
        // Vectors of another length in training are left out, not a panic.
        let mut classes = topic_and_cue();
        classes[0].1.push(vec![1.0, 2.0]);
        classes.push(("empty".into(), vec![vec![1.0]]));
        let r = Ranker::train(&classes, &[]).unwrap();
        assert!(!r.knows("empty"));
        assert_eq!(r.rank(&["book", "change"], &unit(&[1.0, 0.3]))[0].0, "book");
    }

    #[test]
    fn tight_clusters_still_separate() {
        // Two intents whose examples are all within cosine 0.99 of each other: a fixed large
        // step oscillates here; the guarded step still learns every training example.
        let a: Vec<Vec<f32>> = (0..12).map(|i| unit(&[1.0, 0.06, 0.01 * i as f32])).collect();
        let b: Vec<Vec<f32>> = (0..12).map(|i| unit(&[1.0, -0.06, 0.0, 0.01 * i as f32])).collect();
        let r = Ranker::train(&[("a".into(), a.clone()), ("b".into(), b.clone())], &[]).unwrap();
        for (want, vs) in [("a", &a), ("b", &b)] {
            for v in vs {
                assert_eq!(r.rank(&["a", "b"], v)[0].0, want);
            }
        }
    }

    #[test]
    fn other_texts_are_told_from_intents() {
        let classes = topic_and_cue();
        let r = Ranker::train(&classes, &kb_questions()).unwrap();
        assert!(r.intent_beats_other(&["book", "change"], &unit(&[1.0, 0.2])));
        assert!(!r.intent_beats_other(&["book", "change"], &unit(&[0.4, 0.0, 0.0, 0.0, 0.0, 1.0])));
        assert!(!r.intent_beats_other(&[], &unit(&[1.0, 0.2])), "no allowed intent");
        // Without other texts the ranker cannot say "not an intent", so it never lets one in.
        let bare = Ranker::train(&classes, &[]).unwrap();
        assert!(!bare.intent_beats_other(&["book", "change"], &unit(&[1.0, 0.2])));
    }
}
