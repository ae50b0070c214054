//! Perturbation methods: Occlusion, and the superpixel-feature methods LIME, KernelSHAP and
//! Shapley Value Sampling.

use crate::superpixels::Superpixels;
use crate::util::{
    Baseline, check_batch, map_chunks, pick, sample_seed, sample_shape, zeros_batch,
};
use mrixai_core::{ArrayF, Attributor, Error, Explainable, Result, ViewF, c_order_values};
use ndarray::{ArrayViewMutD, Axis, Slice};
use rand::Rng as _;
use rand::seq::SliceRandom;

/// Occlusion (Captum `Occlusion`): each window position is set to the baseline, the drop of the
/// target logit is added to every element of the window, and each element is divided by the
/// number of windows that cover it.
#[derive(Debug, Clone)]
pub struct Occlusion {
    /// Window shape over the sample axes (`[C, h, w]`), or over the spatial axes only
    /// (`[h, w]`, the window then spans all channels).
    pub sliding_window_shapes: Vec<usize>,
    /// Strides, with the same length rules as the window.
    pub strides: Vec<usize>,
    /// Value written into the window (default 0).
    pub baselines: Baseline,
    /// Occluded inputs per model call (Captum's `perturbations_per_eval`).
    pub internal_batch_size: usize,
}

impl Default for Occlusion {
    fn default() -> Self {
        Self {
            sliding_window_shapes: vec![8],
            strides: vec![4],
            baselines: Baseline::default(),
            internal_batch_size: 64,
        }
    }
}

/// Window and stride over all sample axes, validated as Captum does. A list may also omit
/// the channel axis (all channels at once) or give one size for every spatial axis, so the
/// same setting serves images and volumes.
fn windows(
    sample: &[usize],
    window: &[usize],
    strides: &[usize],
) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let full = |v: &[usize], what: &str, fill: usize| -> Result<Vec<usize>> {
        if v.len() == sample.len() {
            Ok(v.to_vec())
        } else if v.len() + 1 == sample.len() {
            Ok(std::iter::once(fill).chain(v.iter().copied()).collect())
        } else if v.len() == 1 {
            let spatial = std::iter::repeat_n(v[0], sample.len() - 1);
            Ok(std::iter::once(fill).chain(spatial).collect())
        } else {
            Err(Error::invalid(format!(
                "occlusion: {what} has {} value(s); the sample {sample:?} needs {}, {} or 1",
                v.len(),
                sample.len(),
                sample.len() - 1
            )))
        }
    };
    let w = full(window, "sliding_window_shapes", sample[0])?;
    let s = full(strides, "strides", sample[0])?;
    let mut counts = Vec::with_capacity(sample.len());
    for d in 0..sample.len() {
        if w[d] == 0 || w[d] > sample[d] {
            return Err(Error::invalid(format!(
                "occlusion: window {:?} does not fit the sample {sample:?}",
                w
            )));
        }
        if s[d] == 0 || (sample[d] > w[d] && s[d] > w[d]) {
            return Err(Error::invalid(format!(
                "occlusion: stride {:?} must be ≥ 1 and ≤ the window {:?}",
                s, w
            )));
        }
        counts.push((sample[d] - w[d]).div_ceil(s[d]) + 1);
    }
    Ok((w, s, counts))
}

/// The window of position `p` (first axis fastest, as Captum enumerates) as a view of `a`.
fn window_of<'a>(
    a: &'a mut ArrayViewMutD<f32>,
    p: usize,
    w: &[usize],
    s: &[usize],
    counts: &[usize],
) -> ArrayViewMutD<'a, f32> {
    let mut rem = p;
    let mut start = Vec::with_capacity(counts.len());
    for &c in counts {
        start.push(rem % c);
        rem /= c;
    }
    let dims: Vec<usize> = a.shape().to_vec();
    a.slice_each_axis_mut(|ax| {
        let d = ax.axis.index();
        let st = start[d] * s[d];
        Slice::from(st..(st + w[d]).min(dims[d]))
    })
}

impl Attributor for Occlusion {
    fn name(&self) -> &str {
        "occlusion"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let sample = sample_shape(&x);
        let (w, s, counts) = windows(&sample, &self.sliding_window_shapes, &self.strides)?;
        let positions: usize = counts.iter().product();
        let b = self.baselines.for_batch(&x)?;
        let base = forward_target(model, x.view(), target, self.internal_batch_size)?;
        let parts = map_chunks(
            x.shape()[0] * positions,
            self.internal_batch_size,
            |st, en| {
                let mut batch = zeros_batch(en - st, &sample);
                let mut tg = Vec::with_capacity(en - st);
                for (row, r) in (st..en).enumerate() {
                    let (n, p) = (r / positions, r % positions);
                    let mut dst = batch.index_axis_mut(Axis(0), row);
                    dst.assign(&x.index_axis(Axis(0), n));
                    let mut bv = b.index_axis(Axis(0), n).to_owned();
                    let src = window_of(&mut bv.view_mut(), p, &w, &s, &counts).to_owned();
                    window_of(&mut dst, p, &w, &s, &counts).assign(&src);
                    tg.push(target[n]);
                }
                Ok((st, pick(&model.forward(batch.view())?, &tg)))
            },
        )?;
        let mut attr = ArrayF::zeros(x.raw_dim());
        let mut cover = ArrayF::zeros(ndarray::IxDyn(&sample));
        for p in 0..positions {
            window_of(&mut cover.view_mut(), p, &w, &s, &counts).mapv_inplace(|c| c + 1.0);
        }
        for (st, f) in parts {
            for (row, fv) in f.into_iter().enumerate() {
                let (n, p) = ((st + row) / positions, (st + row) % positions);
                let d = base[n] - fv;
                let mut an = attr.index_axis_mut(Axis(0), n);
                window_of(&mut an, p, &w, &s, &counts).mapv_inplace(|v| v + d);
            }
        }
        for mut an in attr.axis_iter_mut(Axis(0)) {
            an /= &cover;
        }
        Ok(attr)
    }
}

/// `f(x)[t]` for a batch, evaluated in chunks.
fn forward_target(
    model: &dyn Explainable,
    x: ViewF,
    target: &[usize],
    chunk: usize,
) -> Result<Vec<f32>> {
    let parts = map_chunks(x.shape()[0], chunk, |s, e| {
        Ok(pick(
            &model.forward(x.slice_axis(Axis(0), Slice::from(s..e)))?,
            &target[s..e],
        ))
    })?;
    Ok(parts.concat())
}

/// One sample's interpretable features: which feature each element belongs to.
struct Features {
    /// Feature of every element of the sample (C order, channels included).
    of: Vec<usize>,
    /// Number of features.
    m: usize,
}

impl Features {
    fn new(sp: &Superpixels, sample: ViewF) -> Result<Self> {
        let (labels, m) = sp.labels(sample.view())?;
        let per_channel = labels.len();
        let of = (0..sample.len()).map(|e| labels[e % per_channel]).collect();
        Ok(Self { of, m })
    }

    /// The map that gives every element the value of its feature.
    fn broadcast(&self, values: &[f64], shape: &[usize]) -> ArrayF {
        ArrayF::from_shape_vec(
            ndarray::IxDyn(shape),
            self.of.iter().map(|&f| values[f] as f32).collect(),
        )
        .expect("one value per element")
    }
}

/// Evaluates `f(x_z)[t]` for binary designs `z` (feature on = input, off = baseline), in
/// parallel chunks; also returns the cosine similarity of each `x_z` with `x`.
fn eval_designs(
    model: &dyn Explainable,
    x: ViewF,
    b: ViewF,
    feats: &Features,
    designs: &[Vec<bool>],
    target: usize,
    chunk: usize,
) -> Result<(Vec<f32>, Vec<f64>)> {
    let sample = x.shape().to_vec();
    let (xs, bs) = (c_order_values(&x), c_order_values(&b));
    let xn: f64 = xs.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
    let parts = map_chunks(designs.len(), chunk, |s, e| {
        let mut batch = zeros_batch(e - s, &sample);
        let mut cos = Vec::with_capacity(e - s);
        for (row, z) in designs[s..e].iter().enumerate() {
            let mut dst = batch.index_axis_mut(Axis(0), row);
            let (mut dot, mut nn) = (0.0f64, 0.0f64);
            let dst = dst
                .as_slice_mut()
                .expect("rows of a fresh batch are contiguous");
            for ((o, f), (xv, bv)) in dst.iter_mut().zip(&feats.of).zip(xs.iter().zip(bs.iter())) {
                *o = if z[*f] { *xv } else { *bv };
                dot += *o as f64 * *xv as f64;
                nn += (*o as f64).powi(2);
            }
            cos.push(if xn > 0.0 && nn > 0.0 {
                dot / (xn * nn.sqrt())
            } else {
                1.0
            });
        }
        let f = pick(&model.forward(batch.view())?, &vec![target; e - s]);
        Ok((f, cos))
    })?;
    let (mut f, mut c) = (Vec::new(), Vec::new());
    for (a, b) in parts {
        f.extend(a);
        c.extend(b);
    }
    Ok((f, c))
}

/// Weighted least squares with an unpenalised intercept and ridge penalty `alpha`:
/// returns the coefficients (without the intercept).
pub fn weighted_ridge(designs: &[Vec<bool>], y: &[f64], w: &[f64], alpha: f64) -> Result<Vec<f64>> {
    let m = designs.first().map_or(0, |d| d.len());
    let sw: f64 = w.iter().sum();
    if sw <= 0.0 || designs.is_empty() {
        return Err(Error::invalid("regression: no sample with positive weight"));
    }
    let mut xm = vec![0.0; m];
    for (z, &wi) in designs.iter().zip(w) {
        for (j, &on) in z.iter().enumerate() {
            if on {
                xm[j] += wi;
            }
        }
    }
    xm.iter_mut().for_each(|v| *v /= sw);
    let ym = y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>() / sw;
    let mut a = vec![0.0; m * m];
    let mut rhs = vec![0.0; m];
    let mut xc = vec![0.0; m];
    for ((z, &yi), &wi) in designs.iter().zip(y).zip(w) {
        for j in 0..m {
            xc[j] = if z[j] { 1.0 } else { 0.0 } - xm[j];
        }
        for j in 0..m {
            let v = wi * xc[j];
            rhs[j] += v * (yi - ym);
            for k in 0..=j {
                a[j * m + k] += v * xc[k];
            }
        }
    }
    let trace: f64 = (0..m).map(|j| a[j * m + j]).sum::<f64>() / m.max(1) as f64;
    let mut jitter = alpha.max(0.0);
    for attempt in 0..8 {
        let mut l = a.clone();
        for j in 0..m {
            l[j * m + j] += jitter;
        }
        if let Some(sol) = cholesky_solve(&mut l, &rhs, m) {
            return Ok(sol);
        }
        jitter = jitter.max(trace.max(1e-300) * 1e-12) * if attempt == 0 { 1.0 } else { 100.0 };
    }
    Err(Error::invalid("regression: the design matrix is singular"))
}

/// Solves `A x = b` for symmetric positive definite `A` (lower triangle filled), in place.
fn cholesky_solve(l: &mut [f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    use mrixai_core::cholesky;
    if !cholesky::factor(l, m) {
        return None;
    }
    let mut y = b.to_vec();
    cholesky::solve_lower(l, m, &mut y, 1);
    cholesky::solve_upper_t(l, m, &mut y);
    Some(y)
}

/// Settings shared by the superpixel-feature methods.
#[derive(Debug, Clone)]
pub struct FeatureSettings {
    /// How features are formed.
    pub superpixels: Superpixels,
    /// Value of a feature that is switched off (default 0).
    pub baselines: Baseline,
    /// Number of perturbations (LIME, KernelSHAP) or permutations (Shapley sampling).
    pub n_samples: usize,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Perturbed inputs per model call.
    pub internal_batch_size: usize,
}

impl FeatureSettings {
    fn run(
        &self,
        model: &dyn Explainable,
        x: ViewF,
        target: &[usize],
        label: &str,
        per_sample: impl Fn(
            &Features,
            &mut mrixai_core::seed::Rng,
            ViewF,
            ViewF,
            usize,
        ) -> Result<Vec<f64>>,
    ) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        if self.n_samples == 0 {
            return Err(Error::invalid(format!("{label}: n_samples must be ≥ 1")));
        }
        let b = self.baselines.for_batch(&x)?;
        let mut out = ArrayF::zeros(x.raw_dim());
        for (n, &tn) in target.iter().enumerate() {
            let xn = x.index_axis(Axis(0), n);
            let feats = Features::new(&self.superpixels, xn.view())?;
            let mut rng =
                mrixai_core::seed::rng(sample_seed(self.seed, label, xn.view(), tn), label);
            let coef = per_sample(&feats, &mut rng, xn.view(), b.index_axis(Axis(0), n), tn)?;
            out.index_axis_mut(Axis(0), n)
                .assign(&feats.broadcast(&coef, xn.shape()));
        }
        Ok(out)
    }
}

/// LIME (Captum `Lime`): Bernoulli(0.5) feature masks, an exponential kernel on the cosine
/// distance to the input (`exp(-d²/(2·kernel_width²))`), and a weighted ridge regression.
#[derive(Debug, Clone)]
pub struct Lime {
    /// Features, baseline, number of perturbations (Captum default 50), seed, batching.
    pub settings: FeatureSettings,
    /// Width of the similarity kernel (Captum default 1.0).
    pub kernel_width: f64,
    /// Ridge penalty of the surrogate model.
    pub alpha: f64,
}

impl Attributor for Lime {
    fn name(&self) -> &str {
        "lime"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let st = &self.settings;
        st.run(model, x, target, "lime", |feats, rng, xn, bn, t| {
            let designs: Vec<Vec<bool>> = (0..st.n_samples)
                .map(|_| (0..feats.m).map(|_| rng.random_bool(0.5)).collect())
                .collect();
            let (f, cos) = eval_designs(model, xn, bn, feats, &designs, t, st.internal_batch_size)?;
            let w: Vec<f64> = cos
                .iter()
                .map(|c| (-(1.0 - c).powi(2) / (2.0 * self.kernel_width.powi(2))).exp())
                .collect();
            let y: Vec<f64> = f.iter().map(|&v| v as f64).collect();
            weighted_ridge(&designs, &y, &w, self.alpha)
        })
    }
}

/// KernelSHAP (Captum `KernelShap`): the all-on and all-off masks (weight 10⁶), then masks whose
/// size `k` is drawn with probability ∝ `(M-1)/(k(M-k))`; an (almost) unpenalised linear fit.
#[derive(Debug, Clone)]
pub struct KernelShap {
    /// Features, baseline, number of perturbations (Captum default 25), seed, batching.
    pub settings: FeatureSettings,
}

impl Attributor for KernelShap {
    fn name(&self) -> &str {
        "kernel_shap"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let st = &self.settings;
        st.run(model, x, target, "kernel_shap", |feats, rng, xn, bn, t| {
            let m = feats.m;
            let mut designs = vec![vec![true; m], vec![false; m]];
            let probs: Vec<f64> = (1..m)
                .map(|k| (m - 1) as f64 / (k * (m - k)) as f64)
                .collect();
            let total: f64 = probs.iter().sum();
            let mut idx: Vec<usize> = (0..m).collect();
            while designs.len() < st.n_samples.max(2) && m > 1 {
                let mut u = rng.random::<f64>() * total;
                let mut k = m - 1;
                for (i, p) in probs.iter().enumerate() {
                    if u < *p {
                        k = i + 1;
                        break;
                    }
                    u -= p;
                }
                idx.shuffle(rng);
                let mut z = vec![false; m];
                idx[..k].iter().for_each(|&j| z[j] = true);
                designs.push(z);
            }
            let w: Vec<f64> = designs
                .iter()
                .map(|z| {
                    let on = z.iter().filter(|&&v| v).count();
                    if on == 0 || on == m { 1e6 } else { 1.0 }
                })
                .collect();
            let (f, _) = eval_designs(model, xn, bn, feats, &designs, t, st.internal_batch_size)?;
            let y: Vec<f64> = f.iter().map(|&v| v as f64).collect();
            weighted_ridge(&designs, &y, &w, 0.0)
        })
    }
}

/// Shapley Value Sampling (Captum `ShapleyValueSampling`): the mean marginal contribution of each
/// feature over random permutations, features switched on one after another from the baseline.
#[derive(Debug, Clone)]
pub struct ShapleyValueSampling {
    /// Features, baseline, number of permutations (Captum default 25), seed, batching.
    pub settings: FeatureSettings,
}

impl Attributor for ShapleyValueSampling {
    fn name(&self) -> &str {
        "shapley_value_sampling"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let st = &self.settings;
        st.run(
            model,
            x,
            target,
            "shapley_value_sampling",
            |feats, rng, xn, bn, t| {
                let m = feats.m;
                let perms: Vec<Vec<usize>> = (0..st.n_samples)
                    .map(|_| {
                        let mut p: Vec<usize> = (0..m).collect();
                        p.shuffle(rng);
                        p
                    })
                    .collect();
                let mut designs = vec![vec![false; m]];
                for p in &perms {
                    let mut z = vec![false; m];
                    for &j in p {
                        z[j] = true;
                        designs.push(z.clone());
                    }
                }
                let (f, _) =
                    eval_designs(model, xn, bn, feats, &designs, t, st.internal_batch_size)?;
                let mut phi = vec![0.0f64; m];
                for (pi, p) in perms.iter().enumerate() {
                    let mut prev = f[0] as f64;
                    for (j, &feat) in p.iter().enumerate() {
                        let cur = f[1 + pi * m + j] as f64;
                        phi[feat] += cur - prev;
                        prev = cur;
                    }
                }
                phi.iter_mut().for_each(|v| *v /= st.n_samples as f64);
                Ok(phi)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_linear_coefficients() {
        let coef = [1.5, -2.0, 0.25];
        let mut designs = Vec::new();
        let mut y = Vec::new();
        for i in 0..8u32 {
            let z: Vec<bool> = (0..3).map(|j| i >> j & 1 == 1).collect();
            y.push(
                0.5 + z
                    .iter()
                    .zip(&coef)
                    .map(|(&on, c)| if on { *c } else { 0.0 })
                    .sum::<f64>(),
            );
            designs.push(z);
        }
        let w = vec![1.0; 8];
        let c = weighted_ridge(&designs, &y, &w, 0.0).unwrap();
        for (a, b) in c.iter().zip(coef) {
            assert!((a - b).abs() < 1e-9, "{c:?}");
        }
    }

    #[test]
    fn occlusion_windows_follow_captum() {
        let (w, s, c) = windows(&[1, 64, 64], &[1, 8, 8], &[1, 4, 4]).unwrap();
        assert_eq!((w, s, c), (vec![1, 8, 8], vec![1, 4, 4], vec![1, 15, 15]));
        let (w, _, c) = windows(&[3, 10, 10], &[4, 4], &[3, 3]).unwrap();
        assert_eq!(w, vec![3, 4, 4]);
        assert_eq!(c, vec![1, 3, 3]);
        assert!(windows(&[1, 8, 8], &[1, 9, 9], &[1, 1, 1]).is_err());
        assert!(windows(&[1, 8, 8], &[1, 2, 2], &[1, 3, 3]).is_err());
        assert!(windows(&[1, 8, 8, 8], &[2, 2], &[1, 1]).is_err());
        // one size for every spatial axis: images and volumes alike
        let (w, s, c) = windows(&[2, 6, 8, 8], &[4], &[2]).unwrap();
        assert_eq!(
            (w, s, c),
            (vec![2, 4, 4, 4], vec![2, 2, 2, 2], vec![1, 2, 3, 3])
        );
        let (w, _, _) = windows(&[1, 8, 8], &[2], &[1]).unwrap();
        assert_eq!(w, vec![1, 2, 2]);
    }
}
