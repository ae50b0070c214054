//! Integration points and weights of Integrated Gradients, exactly as Captum 0.9 builds them.

use mrixai_core::{Error, Result};

/// Captum's approximation methods for the path integral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrature {
    /// Gauss–Legendre on `[0, 1]` (Captum's default).
    GaussLegendre,
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint Riemann sum.
    RiemannMiddle,
    /// Captum's trapezoid rule: `α = linspace(0, 1, n)` (float32), steps `1/n` with both ends
    /// halved, so the weights sum to `1 - 1/n`.
    RiemannTrapezoid,
}

impl std::str::FromStr for Quadrature {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "gausslegendre" => Quadrature::GaussLegendre,
            "riemann_left" => Quadrature::RiemannLeft,
            "riemann_right" => Quadrature::RiemannRight,
            "riemann_middle" => Quadrature::RiemannMiddle,
            "riemann_trapezoid" => Quadrature::RiemannTrapezoid,
            other => {
                return Err(Error::invalid(format!(
                    "unknown integration method `{other}` (known: gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid)"
                )));
            }
        })
    }
}

/// `torch.linspace(start, end, steps)` in float32, bit for bit: `step = (end - start)/(steps - 1)`
/// in float32, then `start + i·step` for the first half and `end - (steps-1-i)·step` for the
/// second, each evaluated as a fused multiply-add (one rounding), as PyTorch's CPU kernel does.
pub fn linspace_f32(start: f64, end: f64, steps: usize) -> Vec<f32> {
    let (s, e) = (start as f32, end as f32);
    if steps == 1 {
        return vec![s];
    }
    let step = (e - s) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            if i < half {
                step.mul_add(i as f32, s)
            } else {
                (-step).mul_add((steps - i - 1) as f32, e)
            }
        })
        .collect()
}

/// Gauss–Legendre nodes (ascending) and weights on `[-1, 1]`, computed in f64 by Newton
/// iteration on the Legendre polynomial.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (p, d) = legendre(n, x);
            dp = d;
            let dx = p / d;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let (_, d) = legendre(n, x);
        if d != 0.0 {
            dp = d;
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        nodes[i] = -x;
        nodes[n - 1 - i] = x;
        weights[i] = w;
        weights[n - 1 - i] = w;
    }
    if n % 2 == 1 {
        nodes[n / 2] = 0.0;
    }
    (nodes, weights)
}

/// `P_n(x)` and `P_n'(x)` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 2..=n {
        let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
        p0 = p1;
        p1 = p2;
    }
    (p1, n as f64 * (x * p1 - p0) / (x * x - 1.0))
}

/// Points `α_k` on `[0, 1]` and weights `s_k` (cast to float32, as Captum does) for `n` steps.
pub fn alphas_and_steps(method: Quadrature, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    if n == 0 || (n < 2 && method != Quadrature::GaussLegendre) {
        return Err(Error::invalid(format!(
            "n_steps = {n} is too small for {method:?}"
        )));
    }
    if method == Quadrature::GaussLegendre {
        let (x, w) = gauss_legendre(n);
        return Ok((
            x.iter().map(|&x| (0.5 * (x + 1.0)) as f32).collect(),
            w.iter().map(|&w| (0.5 * w) as f32).collect(),
        ));
    }
    let nf = n as f64;
    let mut steps = vec![1.0 / nf; n];
    let alphas = match method {
        Quadrature::RiemannTrapezoid => {
            steps[0] /= 2.0;
            steps[n - 1] /= 2.0;
            linspace_f32(0.0, 1.0, n)
        }
        Quadrature::RiemannLeft => linspace_f32(0.0, 1.0 - 1.0 / nf, n),
        Quadrature::RiemannMiddle => linspace_f32(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf), n),
        Quadrature::RiemannRight => linspace_f32(1.0 / nf, 1.0, n),
        Quadrature::GaussLegendre => unreachable!("handled above"),
    };
    Ok((alphas, steps.iter().map(|&s| s as f32).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        let (x, w) = gauss_legendre(50);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-13);
        // ∫_{-1}^{1} x^98 dx = 2/99
        let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(98)).sum();
        assert!((s - 2.0 / 99.0).abs() < 1e-12, "{s}");
        assert!(x.windows(2).all(|p| p[0] < p[1]));
        let (x3, _) = gauss_legendre(3);
        assert!((x3[2] - (0.6f64).sqrt()).abs() < 1e-15 && x3[1] == 0.0);
    }

    #[test]
    fn trapezoid_weights_sum_to_098() {
        let (a, s) = alphas_and_steps(Quadrature::RiemannTrapezoid, 50).unwrap();
        assert_eq!(a[0], 0.0);
        assert_eq!(a[49], 1.0);
        let sum: f32 = s.iter().sum();
        assert!((sum - 0.98).abs() < 1e-6);
        assert!(alphas_and_steps(Quadrature::RiemannLeft, 1).is_err());
        assert!("simpson".parse::<Quadrature>().is_err());
    }
}
