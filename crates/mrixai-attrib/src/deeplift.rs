//! DeepLIFT (Rescale rule) and DeepLIFT-SHAP, following Captum 0.9 layer by layer.

use crate::axioms::{Axiom, AxiomChecked};
use crate::util::{Baseline, check_batch, into_standard, map_chunks, sample_shape, zeros_batch};
use mrixai_core::explain::one_hot_like;
use mrixai_core::{
    ArrayF, Attributor, Error, Explainable, LayerKind, Result, ViewF, c_order_values,
};
use ndarray::{Axis, Slice, concatenate};

/// Captum's threshold below which a difference of inputs counts as zero.
pub const DEEPLIFT_EPS: f32 = 1e-10;

/// DeepLIFT attributions `(x - r) · m` for rows `x` against references `r` (same shape).
///
/// The forward pass runs on `[x; r]`. Linear layers (convolution, linear, batch norm, average
/// pooling, flatten, dropout) use their gradient; a ReLU uses the multiplier `Δout/Δin`
/// (its gradient where `|Δin| < eps`); a max-pool sends `g·(max(o, o_r) - o_r)` to the argmax of
/// the input window and `g·(o - max(o, o_r))` to the argmax of the reference window and divides
/// the sum by `Δin` (its gradient where `|Δin| < eps`), as Captum does.
pub(crate) fn deeplift_rows(
    model: &dyn Explainable,
    x: ViewF,
    r: ViewF,
    target: &[usize],
    eps: f32,
) -> Result<ArrayF> {
    let n = x.shape()[0];
    let xr = concatenate(Axis(0), &[x.view(), r.view()])
        .map_err(|e| Error::invalid(format!("deeplift: {e}")))?;
    let acts = model.activations(xr.view())?;
    let layers = model.layers();
    let mut tg = target.to_vec();
    tg.extend_from_slice(target);
    let mut g = one_hot_like(acts[layers].view(), &tg)?;
    let first = Slice::from(0..n);
    for i in (0..layers).rev() {
        let a = &acts[i];
        g = match model.layer_kind(i) {
            LayerKind::Relu => {
                let mut g = into_standard(g);
                let gs = g.as_slice_mut().expect("standard layout");
                let (av, ov) = (c_order_values(a), c_order_values(&acts[i + 1]));
                let h = gs.len() / 2;
                let (g1, g2) = gs.split_at_mut(h);
                let (a1, a2) = av.split_at(h);
                let (o1, o2) = ov.split_at(h);
                for j in 0..h {
                    let (di, dd) = (a1[j] - a2[j], o1[j] - o2[j]);
                    if di.abs() < eps {
                        g1[j] = if a1[j] > 0.0 { g1[j] } else { 0.0 };
                        g2[j] = if a2[j] > 0.0 { g2[j] } else { 0.0 };
                    } else {
                        g1[j] = g1[j] * dd / di;
                        g2[j] = g2[j] * dd / di;
                    }
                }
                g
            }
            LayerKind::MaxPool => {
                let ov = c_order_values(&acts[i + 1]);
                let h = ov.len() / 2;
                let (ox, or) = ov.split_at(h);
                let mut dd = g.as_standard_layout().into_owned();
                let ds = dd.as_slice_mut().expect("standard layout");
                let (d1, d2) = ds.split_at_mut(h);
                for j in 0..h {
                    let m = ox[j].max(or[j]);
                    d1[j] *= m - or[j];
                    d2[j] *= ox[j] - m;
                }
                let unpooled = model.layer_vjp(i, a.view(), dd.view())?;
                let unpooled = c_order_values(&unpooled);
                let mut plain = into_standard(model.layer_vjp(i, a.view(), g.view())?);
                let av = c_order_values(a);
                let ps = plain.as_slice_mut().expect("standard layout");
                let hi = ps.len() / 2;
                let (p1, p2) = ps.split_at_mut(hi);
                for j in 0..hi {
                    let di = av[j] - av[j + hi];
                    if di.abs() >= eps {
                        let s = unpooled[j] + unpooled[j + hi];
                        p1[j] = s / di;
                        p2[j] = s / di;
                    }
                }
                plain
            }
            _ => model.layer_vjp(i, a.view(), g.view())?,
        };
    }
    Ok((&x - &r) * &g.slice_axis(Axis(0), first))
}

/// DeepLIFT with the Rescale rule (Captum `DeepLift`, `multiply_by_inputs=True`).
#[derive(Debug, Clone)]
pub struct DeepLift {
    /// Reference input (default all zeros).
    pub baselines: Baseline,
    /// Samples per model call (each call evaluates twice as many rows).
    pub internal_batch_size: usize,
    /// Threshold under which `|Δin|` counts as zero (Captum `eps`, default 1e-10).
    pub eps: f32,
}

impl Default for DeepLift {
    fn default() -> Self {
        Self {
            baselines: Baseline::default(),
            internal_batch_size: 32,
            eps: DEEPLIFT_EPS,
        }
    }
}

/// Summation-to-delta `Σ attr - (f(x) - f(b))` per sample.
impl AxiomChecked for DeepLift {
    fn axiom(&self) -> Axiom<'_> {
        Axiom::Completeness(&self.baselines)
    }
}

impl Attributor for DeepLift {
    fn name(&self) -> &str {
        "deeplift"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let b = self.baselines.for_batch(&x)?;
        let parts = map_chunks(x.shape()[0], self.internal_batch_size, |s, e| {
            let sl = Slice::from(s..e);
            deeplift_rows(
                model,
                x.slice_axis(Axis(0), sl),
                b.slice_axis(Axis(0), sl),
                &target[s..e],
                self.eps,
            )
        })?;
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        concatenate(Axis(0), &views).map_err(|e| Error::invalid(format!("deeplift: {e}")))
    }
}

/// DeepLIFT-SHAP (Captum `DeepLiftShap`): DeepLIFT averaged over a distribution of baselines.
#[derive(Debug, Clone)]
pub struct DeepLiftShap {
    /// Baseline distribution `[B, …]` (or a constant, which is plain DeepLIFT).
    pub baselines: Baseline,
    /// (sample, baseline) pairs per model call.
    pub internal_batch_size: usize,
}

impl Default for DeepLiftShap {
    fn default() -> Self {
        Self {
            baselines: Baseline::default(),
            internal_batch_size: 32,
        }
    }
}

impl Attributor for DeepLiftShap {
    fn name(&self) -> &str {
        "deeplift_shap"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let sample = sample_shape(&x);
        let dist = self.baselines.distribution(&sample)?;
        let nb = dist.shape()[0];
        let parts = map_chunks(x.shape()[0] * nb, self.internal_batch_size, |s, e| {
            let mut xs = zeros_batch(e - s, &sample);
            let mut rs = zeros_batch(e - s, &sample);
            let mut tg = Vec::with_capacity(e - s);
            for (row, r) in (s..e).enumerate() {
                xs.index_axis_mut(Axis(0), row)
                    .assign(&x.index_axis(Axis(0), r / nb));
                rs.index_axis_mut(Axis(0), row)
                    .assign(&dist.index_axis(Axis(0), r % nb));
                tg.push(target[r / nb]);
            }
            Ok((
                s,
                deeplift_rows(model, xs.view(), rs.view(), &tg, DEEPLIFT_EPS)?,
            ))
        })?;
        let mut total = ArrayF::zeros(x.raw_dim());
        for (s, a) in parts {
            for (row, ar) in a.axis_iter(Axis(0)).enumerate() {
                total
                    .index_axis_mut(Axis(0), (s + row) / nb)
                    .scaled_add(1.0 / nb as f32, &ar);
            }
        }
        Ok(total)
    }
}
