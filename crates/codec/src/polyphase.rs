//! A polyphase FIR resampler for a fixed rational ratio `L/M` (the engine behind
//! [`crate::Resampler`]).
//!
//! The prototype is a Blackman-windowed sinc designed at the virtual rate `L * fs_in`, `taps`
//! input samples long, split into `L` phases of `taps` coefficients each (stored reversed, so one
//! output is one contiguous dot product). Output `n` sits at virtual index `t = n * M`; it takes
//! phase `t mod L` over the `taps` input samples ending at `floor(t / L)`. Every phase is scaled
//! to sum to exactly 1, so DC passes with unit gain whatever the phase.
//!
//! Cost per output sample: `taps` multiply-adds (64 at the lower rate's length), against two
//! interpolated table look-ups of the same length in a general asynchronous sinc resampler.
//! Coefficient tables depend only on the rate pair, so they are built once per process and shared.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Coefficients for one rate pair.
#[derive(Debug)]
pub(crate) struct Table {
    /// Upsampling factor.
    pub(crate) l: usize,
    /// Downsampling factor.
    pub(crate) m: usize,
    /// Taps per phase, in input samples.
    pub(crate) taps: usize,
    /// `l` phases of `taps` coefficients, each reversed (oldest input first).
    coefs: Vec<f32>,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 { 1.0 } else { (PI * x).sin() / (PI * x) }
}

impl Table {
    /// Designs the filter for `from -> to` Hz with `taps_at_lower` taps at the lower rate and a
    /// cutoff `cutoff` (fraction of the lower Nyquist; the transition band ends at that Nyquist).
    fn design(from: usize, to: usize, taps_at_lower: usize, cutoff: f64) -> Table {
        let g = gcd(from, to);
        let (l, m) = (to / g, from / g);
        let lower = from.min(to);
        let taps = (taps_at_lower * from).div_ceil(lower);
        let len = taps * l;
        let centre = len as f64 / 2.0;
        // Cutoff as a fraction of the virtual rate's Nyquist.
        let fc = cutoff * lower as f64 / (from as f64 * l as f64);
        let h: Vec<f64> = (0..len)
            .map(|j| {
                let x = j as f64 - centre;
                let w =
                    0.42 + 0.5 * (2.0 * PI * x / len as f64).cos() + 0.08 * (4.0 * PI * x / len as f64).cos();
                fc * sinc(fc * x) * w
            })
            .collect();
        let mut coefs = vec![0.0f32; l * taps];
        for p in 0..l {
            let sum: f64 = (0..taps).map(|k| h[p + k * l]).sum();
            let row = &mut coefs[p * taps..(p + 1) * taps];
            for (k, c) in row.iter_mut().enumerate() {
                // Reversed: row[0] multiplies the oldest of the `taps` inputs.
                *c = (h[p + (taps - 1 - k) * l] / sum) as f32;
            }
        }
        Table { l, m, taps, coefs }
    }

    /// The shared table for a rate pair (built on first use).
    pub(crate) fn get(from: usize, to: usize, taps_at_lower: usize, cutoff: f64) -> Arc<Table> {
        type Cache = Mutex<HashMap<(usize, usize), Arc<Table>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
        c.entry((from, to))
            .or_insert_with(|| Arc::new(Table::design(from, to, taps_at_lower, cutoff)))
            .clone()
    }

    /// The group delay in output samples: the prototype's centre, in output samples.
    pub(crate) fn delay_out(&self) -> f64 {
        (self.taps * self.l) as f64 / 2.0 / self.m as f64
    }

    fn phase(&self, p: usize) -> &[f32] {
        &self.coefs[p * self.taps..(p + 1) * self.taps]
    }
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Streaming state for one stream.
#[derive(Debug)]
pub(crate) struct Polyphase {
    table: Arc<Table>,
    /// Input samples from absolute index `base` on (the first `taps - 1` are the zeros before the
    /// stream starts).
    hist: Vec<f32>,
    base: i64,
    /// Next output index.
    next: i64,
}

impl Polyphase {
    pub(crate) fn new(table: Arc<Table>) -> Self {
        let mut p = Polyphase { table, hist: Vec::new(), base: 0, next: 0 };
        p.reset();
        p
    }

    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    pub(crate) fn reset(&mut self) {
        let taps = self.table.taps;
        self.hist.clear();
        self.hist.resize(taps - 1, 0.0);
        self.base = -(taps as i64 - 1);
        self.next = 0;
    }

    /// Appends every output computable from the input so far; returns how many.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> usize {
        let (l, m, taps) = (self.table.l as i64, self.table.m as i64, self.table.taps);
        self.hist.extend_from_slice(input);
        let last = self.base + self.hist.len() as i64 - 1; // newest input index
        let start = out.len();
        loop {
            let t = self.next * m;
            let newest = t.div_euclid(l);
            if newest > last {
                break;
            }
            let phase = t.rem_euclid(l) as usize;
            // The window of `taps` inputs ending at `newest`; `newest - base >= taps - 1` because
            // `base` only advances to `newest_next - taps + 1` below.
            let from = (newest - self.base) as usize + 1 - taps;
            out.push(dot(self.table.phase(phase), &self.hist[from..from + taps]));
            self.next += 1;
        }
        // Keep only what the next output needs.
        let keep_from = (self.next * m).div_euclid(l) - taps as i64 + 1;
        if keep_from > self.base {
            let drop = ((keep_from - self.base) as usize).min(self.hist.len());
            self.hist.drain(..drop);
            self.base += drop as i64;
        }
        out.len() - start
    }
}
