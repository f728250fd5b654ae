//! GELU for Whisper, vectorised for the CPU the process runs on.
//!
//! candle maps `gelu` element by element through libm's `tanhf`; in the encoder of a 2-3 s
//! utterance that was a quarter of the encoder's time (perf, one thread). [`gelu`] computes the
//! same tanh form as `x / (1 + e^(-2u))` with a polynomial `e^x` that the compiler vectorises
//! (within 1e-5 relative of the f64 formula, f32 rounding; test below).
//!
//! It runs inside `pulp`'s runtime dispatch: the loop is compiled for AVX2/FMA as well as for
//! the baseline, and the best the CPU has is picked at run time, all in safe code.

/// `e^x` for x in [-87, 88] (the caller clamps), relative error about 2e-7.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest by the 1.5 * 2^23 trick (no rounding instruction needed).
    const MAGIC: f32 = 12_582_912.0;
    let shifted = x * LOG2E + MAGIC;
    let k = shifted - MAGIC;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^k from its exponent bits. The low bits of `shifted` hold k + 0x40_0000 (k is in
    // [-126, 127] after the clamp); integer operations only, so the loop stays vectorised.
    let biased = shifted.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127);
    p * f32::from_bits(biased << 23)
}

/// The tanh approximation of GELU that candle's `gelu` computes:
/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, written as `x / (1 + e^(-2u))`.
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    let e = exp((-2.0 * u).clamp(-87.0, 88.0));
    x / (1.0 + e)
}

struct Gelu<'a>(&'a mut [f32]);

impl pulp::WithSimd for Gelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for v in self.0.iter_mut() {
            *v = gelu_one(*v);
        }
    }
}

/// Applies GELU (tanh form) to every element in place.
pub(crate) fn gelu(x: &mut [f32]) {
    pulp::Arch::new().dispatch(Gelu(x));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gelu_ref(x: f64) -> f64 {
        0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
    }

    #[test]
    fn gelu_matches_the_tanh_formula() {
        let mut xs: Vec<f32> = (-40_000..=40_000).map(|i| i as f32 / 1000.0).collect();
        xs.extend([-1e4, -100.0, -90.0, 90.0, 100.0, 1e4, f32::MIN_POSITIVE, -0.0]);
        let mut ys = xs.clone();
        gelu(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            let want = gelu_ref(f64::from(*x));
            let err = (f64::from(*y) - want).abs();
            assert!(err <= 1e-5 * want.abs().max(1e-3), "gelu({x}) = {y}, want {want}");
            assert!(y.is_finite());
        }
    }

    #[test]
    fn exp_is_accurate_over_the_clamped_range() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let want = f64::from(x).exp();
            let rel = ((f64::from(exp(x)) - want) / want).abs();
            assert!(rel < 5e-7, "exp({x}) = {}, want {want}", exp(x));
        }
    }
}
