//! Training-mode forward and backward pass of a whole VGG on the CPU, on plain NCHW buffers:
//! 3×3 convolutions ([`super::conv`]), BatchNorm on batch statistics (or, when frozen, its
//! fixed affine map), ReLU, 2×2 max pooling, and the head's adaptive pooling, fully connected
//! layers and dropout ([`super::head`]).
//!
//! burn's CPU kernels for these layers run several times slower than PyTorch's, its autodiff
//! adds a pass over memory per elementary operation, and its sums and matrix products round
//! differently on different CPUs; training and gradients on the CPU therefore run here, with
//! [`Tape::backward`] as the hand-written backward pass. Work is split over planes or channels
//! with sums in a fixed order and matrix products of [`super::gemm`], so results do not depend
//! on the number of threads or the instruction path.

use super::conv::{self, ConvShape};
use super::head::{self, LinearShape};
use super::lanes::{block_sum, grad_plane_sums};
use crate::arch::Arch;
use crate::params::{BN_EPS, Params, bn_affine};
use crate::tensor::to_vec;
use burn::tensor::Tensor;
use mrixai_core::seed::Rng;
use mrixai_core::{LayerKind, Result};
use rand::Rng as _;
use rayon::prelude::*;

/// An activation batch: values in C order and `[n, c, h, w]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Batch {
    pub data: Vec<f32>,
    pub dims: [usize; 4],
}

/// One layer of the model, with its parameter values.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// 3×3 convolution, padding 1: weights `[co, ci, 3, 3]` and bias `[co]`.
    Conv {
        w: Vec<f32>,
        b: Vec<f32>,
    },
    /// BatchNorm on the batch statistics (trainable γ, β).
    BatchNorm {
        gamma: Vec<f32>,
        beta: Vec<f32>,
    },
    /// A frozen BatchNorm: the per-channel map `scale·x + shift` of its running statistics.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Relu,
    /// 2×2 max pooling with stride 2 (odd trailing rows/columns dropped).
    MaxPool,
    /// Adaptive average pooling to `[oh, ow]`.
    AvgPool {
        out: [usize; 2],
    },
    /// Flattening of `[n, c, h, w]` to `[n, c·h·w]`, held as `[n, c·h·w, 1, 1]` (as are the
    /// activations of the layers after it).
    Flatten,
    /// Fully connected layer: weights `[out, in]` and bias `[out]`.
    Linear {
        w: Vec<f32>,
        b: Vec<f32>,
    },
    /// Dropout with drop probability `p`: the identity unless the forward pass is given a
    /// random source.
    Dropout {
        p: f32,
    },
}

impl Op {
    /// The op of a layer with parameters `p` (flat values read back from the tensors) in a
    /// model of `arch`, or `None` for a layer these kernels do not run. BatchNorm uses its
    /// batch statistics unless `fixed_bn`, which makes it the affine map of its running
    /// statistics.
    fn of_layer(p: &Params, kind: LayerKind, fixed_bn: bool, arch: &Arch) -> Result<Option<Op>> {
        let values = |t: &Tensor<1>| to_vec(t.clone().inner());
        Ok(Some(match (p, kind) {
            (Params::Conv { w, b }, _) => Op::Conv {
                w: to_vec(w.clone().inner())?,
                b: values(b)?,
            },
            (Params::Linear { w, b }, _) => Op::Linear {
                w: to_vec(w.clone().inner())?,
                b: values(b)?,
            },
            (
                Params::BatchNorm {
                    gamma,
                    beta,
                    mean,
                    var,
                    ..
                },
                _,
            ) => {
                if fixed_bn {
                    let (scale, shift) = bn_affine(gamma, beta, mean, var);
                    Op::Affine {
                        scale: values(&scale)?,
                        shift: values(&shift)?,
                    }
                } else {
                    Op::BatchNorm {
                        gamma: values(gamma)?,
                        beta: values(beta)?,
                    }
                }
            }
            (Params::None, LayerKind::Relu) => Op::Relu,
            (Params::None, LayerKind::MaxPool) => Op::MaxPool,
            (Params::None, LayerKind::AdaptiveAvgPool) => match arch.avgpool[..] {
                [h, w] => Op::AvgPool { out: [h, w] },
                _ => return Ok(None),
            },
            (Params::None, LayerKind::Flatten) => Op::Flatten,
            (Params::None, LayerKind::Dropout) => Op::Dropout { p: arch.dropout },
            _ => return Ok(None),
        }))
    }
}

/// Batch statistics of a trainable BatchNorm layer: per-channel mean and unbiased variance.
#[derive(Debug, Clone)]
pub(crate) struct BnStats {
    pub layer: usize,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// What the backward pass needs from one step of the forward pass.
#[derive(Debug)]
enum Saved {
    Conv {
        x: Vec<f32>,
        w: Vec<f32>,
        shape: ConvShape,
    },
    /// A training-mode BatchNorm, fused with the ReLU that follows it when `relu`.
    BatchNorm {
        xhat: Vec<f32>,
        inv_std: Vec<f32>,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        relu: bool,
    },
    Affine {
        scale: Vec<f32>,
    },
    Relu {
        positive: Vec<bool>,
    },
    MaxPool {
        argmax: Vec<u32>,
    },
    AvgPool {
        out: [usize; 2],
    },
    /// A layer whose backward pass passes the gradient on unchanged (flattening, dropout
    /// without a random source).
    Identity,
    Linear {
        x: Vec<f32>,
        w: Vec<f32>,
        shape: LinearShape,
    },
    Dropout {
        mask: Vec<f32>,
    },
}

#[derive(Debug)]
struct Step {
    layer: usize,
    trainable: bool,
    dims_in: [usize; 4],
    saved: Saved,
}

/// The recorded forward pass of a model (or of its leading layers).
#[derive(Debug, Default)]
pub(crate) struct Tape {
    steps: Vec<Step>,
}

/// A parameter gradient: layer, slot (0 = weights/γ, 1 = bias/β) and flat values.
pub(crate) type ParamGrad = (usize, usize, Vec<f32>);

impl Tape {
    /// Runs `ops` (each with its layer index and whether its parameters are trained) on `x`,
    /// with dropout drawn from `rng` when given; returns the tape, the output and the batch
    /// statistics of the trainable BatchNorms. The parameters the backward pass needs move
    /// into the tape.
    pub(crate) fn forward(
        ops: Vec<(usize, bool, Op)>,
        x: Batch,
        mut rng: Option<&mut Rng>,
    ) -> (Tape, Batch, Vec<BnStats>) {
        let mut tape = Tape::default();
        let mut stats = Vec::new();
        let mut a = x;
        let mut ops = ops.into_iter().peekable();
        while let Some((layer, trainable, op)) = ops.next() {
            let dims_in = a.dims;
            let (out, saved) = match op {
                Op::Conv { w, b } => {
                    let [n, ci, h, wd] = a.dims;
                    let shape = ConvShape {
                        n,
                        ci,
                        co: b.len(),
                        h,
                        w: wd,
                    };
                    let y = conv::forward(&shape, &a.data, &w, &b);
                    let saved = Saved::Conv {
                        x: a.data,
                        w,
                        shape,
                    };
                    (
                        Batch {
                            data: y,
                            dims: [n, shape.co, h, wd],
                        },
                        saved,
                    )
                }
                Op::BatchNorm { gamma, beta } => {
                    // a ReLU right after is applied in the same pass (and its step dropped)
                    let relu = matches!(ops.peek(), Some((_, _, Op::Relu)));
                    if relu {
                        ops.next();
                    }
                    let (y, xhat, inv_std, st) = batch_norm(a, &gamma, &beta, relu);
                    stats.push(BnStats {
                        layer,
                        mean: st.0,
                        var: st.1,
                    });
                    let saved = Saved::BatchNorm {
                        xhat,
                        inv_std,
                        gamma,
                        beta,
                        relu,
                    };
                    (y, saved)
                }
                Op::Affine { scale, shift } => {
                    let mut y = a;
                    per_channel(&mut y, |c, v| *v = *v * scale[c] + shift[c]);
                    (y, Saved::Affine { scale })
                }
                Op::Relu => {
                    let mut y = a;
                    let positive: Vec<bool> = y.data.par_iter().map(|&v| v > 0.0).collect();
                    y.data
                        .par_iter_mut()
                        .zip(&positive)
                        .for_each(|(v, &p)| *v = if p { *v } else { 0.0 });
                    (y, Saved::Relu { positive })
                }
                Op::MaxPool => {
                    let (y, argmax) = max_pool_2x2(&a.data, a.dims, true);
                    (y, Saved::MaxPool { argmax })
                }
                head_op => head_step(head_op, a, rng.as_deref_mut()),
            };
            tape.steps.push(Step {
                layer,
                trainable,
                dims_in,
                saved,
            });
            a = out;
        }
        (tape, a, stats)
    }

    /// Takes the gradient `g` of the stack's output back through the recorded steps; returns
    /// the gradients of the trained parameters. Stops once no trained layer is left below.
    pub(crate) fn backward(&self, g: Vec<f32>) -> Vec<ParamGrad> {
        self.run_backward(g, false).0
    }

    /// The gradient of the stack's input, given the gradient `g` of its output.
    pub(crate) fn input_gradient(&self, g: Vec<f32>) -> Vec<f32> {
        self.run_backward(g, true).1
    }

    /// Backward pass: parameter gradients of the trained layers and, when `to_input`, the
    /// input gradient (otherwise it stops once no trained layer is left below).
    fn run_backward(&self, mut g: Vec<f32>, to_input: bool) -> (Vec<ParamGrad>, Vec<f32>) {
        let mut grads = Vec::new();
        for (k, step) in self.steps.iter().enumerate().rev() {
            let more_below = to_input || self.steps[..k].iter().any(|s| s.trainable);
            match &step.saved {
                Saved::Conv { x, w: wt, shape } => {
                    if step.trainable {
                        let (dw, db) = conv::backward_weights(shape, x, &g);
                        grads.push((step.layer, 0, dw));
                        grads.push((step.layer, 1, db));
                    }
                    if !more_below {
                        break;
                    }
                    g = conv::backward_input(shape, wt, &g);
                }
                Saved::BatchNorm {
                    xhat,
                    inv_std,
                    gamma,
                    beta,
                    relu,
                } => {
                    let affine = (gamma.as_slice(), beta.as_slice());
                    let (dgamma, dbeta) =
                        batch_norm_backward(step.dims_in, &mut g, xhat, inv_std, affine, *relu);
                    grads.push((step.layer, 0, dgamma));
                    grads.push((step.layer, 1, dbeta));
                }
                Saved::Affine { scale } => g = scale_channels(g, step.dims_in, scale),
                Saved::Relu { positive } => {
                    g.par_iter_mut()
                        .zip(positive)
                        .for_each(|(v, &p)| *v = if p { *v } else { 0.0 });
                }
                Saved::MaxPool { argmax } => g = max_pool_2x2_backward(&g, argmax, step.dims_in),
                Saved::AvgPool { out } => {
                    g = head::adaptive_avg_pool_backward(&g, step.dims_in, *out)
                }
                Saved::Identity => {}
                Saved::Linear { x, w, shape } => {
                    if step.trainable {
                        let (dw, db) = head::linear_backward_weights(*shape, x, &g);
                        grads.push((step.layer, 0, dw));
                        grads.push((step.layer, 1, db));
                    }
                    if !more_below {
                        break;
                    }
                    g = head::linear_backward_input(*shape, w, &g);
                }
                Saved::Dropout { mask } => g.iter_mut().zip(mask).for_each(|(v, m)| *v *= m),
            }
        }
        (grads, g)
    }
}

/// One step of the head ([`Op::AvgPool`], [`Op::Flatten`], [`Op::Linear`], [`Op::Dropout`])
/// of [`Tape::forward`]: its output and what its backward pass needs.
fn head_step(op: Op, a: Batch, rng: Option<&mut Rng>) -> (Batch, Saved) {
    match op {
        Op::AvgPool { out } => {
            let [n, c, ..] = a.dims;
            let data = head::adaptive_avg_pool(&a.data, a.dims, out);
            let dims = [n, c, out[0], out[1]];
            (Batch { data, dims }, Saved::AvgPool { out })
        }
        Op::Flatten => {
            let [n, c, h, w] = a.dims;
            let dims = [n, c * h * w, 1, 1];
            (Batch { dims, ..a }, Saved::Identity)
        }
        Op::Linear { w, b } => {
            let [n, fin, ..] = a.dims;
            let shape = LinearShape {
                n,
                fin,
                fout: b.len(),
            };
            let data = head::linear(shape, &a.data, &w, &b);
            let dims = [n, shape.fout, 1, 1];
            let saved = Saved::Linear {
                x: a.data,
                w,
                shape,
            };
            (Batch { data, dims }, saved)
        }
        Op::Dropout { p } => match rng {
            Some(rng) if p > 0.0 => {
                let mask = dropout_mask(a.data.len(), p, rng);
                let mut y = a;
                y.data.iter_mut().zip(&mask).for_each(|(v, m)| *v *= m);
                (y, Saved::Dropout { mask })
            }
            _ => (a, Saved::Identity),
        },
        _ => unreachable!("head_step is given head ops only"),
    }
}

/// The ops of a model of `arch`, given `(kind, parameters)` per layer in order, up to the
/// first layer these kernels do not run: each with its layer index and whether it is trained
/// (not `frozen(i)`). A frozen BatchNorm is the affine map of its running statistics.
pub(crate) fn leading_ops(
    layers: impl IntoIterator<Item = (LayerKind, Params)>,
    frozen: impl Fn(usize) -> bool,
    arch: &Arch,
) -> Result<Vec<(usize, bool, Op)>> {
    let mut ops = Vec::new();
    for (i, (kind, p)) in layers.into_iter().enumerate() {
        match Op::of_layer(&p, kind, frozen(i), arch)? {
            Some(op) => ops.push((i, !frozen(i), op)),
            None => break,
        }
    }
    Ok(ops)
}

/// Dropout's mask for `len` values: `1/(1−p)` where a value is kept, `0` where dropped, one
/// draw from `rng` per value in order.
pub(crate) fn dropout_mask(len: usize, p: f32, rng: &mut Rng) -> Vec<f32> {
    let keep = 1.0 - p;
    (0..len)
        .map(|_| {
            if rng.random::<f32>() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect()
}

/// `g` (`[n, c, h, w]` values) with every value multiplied by its channel's `scale`: the
/// input gradient of a per-channel affine map.
pub(crate) fn scale_channels(g: Vec<f32>, dims: [usize; 4], scale: &[f32]) -> Vec<f32> {
    let mut gb = Batch { data: g, dims };
    per_channel(&mut gb, |ch, v| *v *= scale[ch]);
    gb.data
}

/// Input gradient of [`max_pool_2x2`] over an input of `dims_in`: each output gradient in
/// `g` goes to the input position `argmax` recorded for it.
pub(crate) fn max_pool_2x2_backward(g: &[f32], argmax: &[u32], dims_in: [usize; 4]) -> Vec<f32> {
    let [n, c, h, w] = dims_in;
    let mut dx = vec![0f32; n * c * h * w];
    let out_plane = (h / 2) * (w / 2);
    if out_plane == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(g.par_chunks(out_plane).zip(argmax.par_chunks(out_plane)))
        .for_each(|(plane, (gp, ap))| {
            for (&gv, &i) in gp.iter().zip(ap) {
                plane[i as usize] += gv;
            }
        });
    dx
}

/// Applies `f(channel, value)` to every value of `x`.
fn per_channel(x: &mut Batch, f: impl Fn(usize, &mut f32) + Sync) {
    let [_, c, h, w] = x.dims;
    let hw = h * w;
    if hw == 0 {
        return;
    }
    x.data
        .par_chunks_mut(hw)
        .enumerate()
        .for_each(|(p, plane)| {
            let ch = p % c;
            plane.iter_mut().for_each(|v| f(ch, v));
        });
}

/// Per-channel sums over the batch of `plane_sum(channel, plane values range)` (`K` sums at
/// once), in a fixed order.
fn channel_sums<const K: usize>(
    dims: [usize; 4],
    plane_sum: impl Fn(usize, std::ops::Range<usize>) -> [f64; K] + Sync,
) -> Vec<[f64; K]> {
    let [n, c, h, w] = dims;
    let hw = h * w;
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut total = [0f64; K];
            for b in 0..n {
                let start = (b * c + ch) * hw;
                for (t, v) in total.iter_mut().zip(plane_sum(ch, start..start + hw)) {
                    *t += v;
                }
            }
            total
        })
        .collect()
}

/// BatchNorm's output for a normalised value: one expression shared by the forward pass and
/// the ReLU mask of the backward pass, so that both take the same decision.
#[inline(always)]
fn bn_out(xhat: f32, gamma: f32, beta: f32) -> f32 {
    xhat * gamma + beta
}

/// `v` where `on > 0`, else `+0` (NaN counts as off), branch-free: whether a ReLU passes a
/// value is data-dependent and unpredictable. `relu_where(v, v)` is the ReLU itself.
#[inline(always)]
fn relu_where(v: f32, on: f32) -> f32 {
    f32::from_bits(v.to_bits() & ((on > 0.0) as u32).wrapping_neg())
}

type ChannelStats = (Vec<f32>, Vec<f32>);

/// BatchNorm in training mode, followed by a ReLU when `relu`: output, normalised input x̂,
/// 1/√(σ²+ε) per channel and the batch statistics (mean, unbiased variance).
fn batch_norm(
    x: Batch,
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) -> (Batch, Vec<f32>, Vec<f32>, ChannelStats) {
    let [n, c, h, w] = x.dims;
    let count = (n * h * w) as f64;
    let sums = channel_sums(x.dims, |_, r| [block_sum(&x.data[r], |v| v)]);
    let mean: Vec<f64> = sums.iter().map(|[s]| s / count.max(1.0)).collect();
    let sq = channel_sums(x.dims, |ch, r| {
        let m = mean[ch] as f32;
        [block_sum(&x.data[r], |v| (v - m) * (v - m))]
    });
    let var: Vec<f64> = sq.iter().map(|[s]| s / count.max(1.0)).collect();
    let inv_std: Vec<f32> = var
        .iter()
        .map(|v| (1.0 / (v + BN_EPS as f64).sqrt()) as f32)
        .collect();
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    // x̂ in place of the input (which the tape does not keep otherwise) and the output, in
    // one pass
    let mut xhat = x;
    let mut y = vec![0f32; xhat.data.len()];
    let hw = h * w;
    if hw > 0 {
        xhat.data
            .par_chunks_mut(hw)
            .zip(y.par_chunks_mut(hw))
            .enumerate()
            .for_each(|(p, (xp, yp))| {
                let ch = p % c;
                let (m, s, g, b) = (mean32[ch], inv_std[ch], gamma[ch], beta[ch]);
                for (xv, yv) in xp.iter_mut().zip(yp) {
                    *xv = (*xv - m) * s;
                    let o = bn_out(*xv, g, b);
                    *yv = if relu { relu_where(o, o) } else { o };
                }
            });
    }
    let unbiased = var
        .iter()
        .map(|v| (v * count / (count - 1.0).max(1.0)) as f32)
        .collect();
    let y = Batch {
        data: y,
        dims: xhat.dims,
    };
    (y, xhat.data, inv_std, (mean32, unbiased))
}

/// BatchNorm backward in training mode (through the fused ReLU when `relu`): replaces `g`
/// by the input gradient and returns (dγ, dβ). `affine` is (γ, β).
fn batch_norm_backward(
    dims: [usize; 4],
    g: &mut [f32],
    xhat: &[f32],
    inv_std: &[f32],
    (gamma, beta): (&[f32], &[f32]),
    relu: bool,
) -> (Vec<f32>, Vec<f32>) {
    let [n, c, h, w] = dims;
    let count = (n * h * w) as f32;
    let hw = h * w;
    if hw == 0 {
        return (vec![0.0; c], vec![0.0; c]);
    }
    if relu {
        // the gradient at BatchNorm's output: zero where the ReLU was off
        g.par_chunks_mut(hw)
            .zip(xhat.par_chunks(hw))
            .enumerate()
            .for_each(|(p, (gp, xp))| {
                let (ga, be) = (gamma[p % c], beta[p % c]);
                for (gv, &xv) in gp.iter_mut().zip(xp) {
                    *gv = relu_where(*gv, bn_out(xv, ga, be));
                }
            });
    }
    let sums = channel_sums(dims, |_, r| grad_plane_sums(&g[r.clone()], &xhat[r]));
    let dbeta: Vec<f32> = sums.iter().map(|s| s[0] as f32).collect();
    let dgamma: Vec<f32> = sums.iter().map(|s| s[1] as f32).collect();
    g.par_chunks_mut(hw)
        .zip(xhat.par_chunks(hw))
        .enumerate()
        .for_each(|(p, (gp, xp))| {
            let ch = p % c;
            let k = gamma[ch] * inv_std[ch] / count.max(1.0);
            let (db, dg) = (dbeta[ch], dgamma[ch]);
            for (gv, &xv) in gp.iter_mut().zip(xp) {
                *gv = k * (count * *gv - db - xv * dg);
            }
        });
    (dgamma, dbeta)
}

/// 2×2 max pooling with stride 2 of every plane. With `track`, also returns, per output
/// value, the index within its input plane of the value taken (the first of equal maxima);
/// without, the index vector is empty and the maxima are taken branch-free.
pub(crate) fn max_pool_2x2(x: &[f32], dims: [usize; 4], track: bool) -> (Batch, Vec<u32>) {
    let [n, c, h, w] = dims;
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0f32; n * c * ho * wo];
    let mut argmax = vec![0u32; if track { out.len() } else { 0 }];
    let dims = [n, c, ho, wo];
    if out.is_empty() {
        return (Batch { data: out, dims }, argmax);
    }
    // One output row: its two input rows, as pairs of horizontal neighbours.
    fn windows(
        plane: &[f32],
        y: usize,
        (w, wo): (usize, usize),
    ) -> impl Iterator<Item = (&[f32], &[f32])> {
        let r0 = &plane[2 * y * w..2 * y * w + 2 * wo];
        let r1 = &plane[(2 * y + 1) * w..(2 * y + 1) * w + 2 * wo];
        r0.chunks_exact(2).zip(r1.chunks_exact(2))
    }
    let planes = out.par_chunks_mut(ho * wo).zip(x.par_chunks(h * w));
    if !track {
        planes.for_each(|(o, plane)| {
            for (y, orow) in o.chunks_exact_mut(wo).enumerate() {
                for (dst, (p, q)) in orow.iter_mut().zip(windows(plane, y, (w, wo))) {
                    *dst = p[0].max(p[1]).max(q[0].max(q[1]));
                }
            }
        });
        return (Batch { data: out, dims }, argmax);
    }
    planes
        .zip(argmax.par_chunks_mut(ho * wo))
        .for_each(|((o, plane), am)| {
            let rows = o.chunks_exact_mut(wo).zip(am.chunks_exact_mut(wo));
            for (y, (orow, arow)) in rows.enumerate() {
                let cells = orow.iter_mut().zip(arow).zip(windows(plane, y, (w, wo)));
                for (x, ((dst, arg), (p, q))) in cells.enumerate() {
                    // first of equal maxima, in the order p0, p1, q0, q1
                    let (mut best, mut k) = (p[0], 0u32);
                    for (v, kk) in [(p[1], 1u32), (q[0], 2), (q[1], 3)] {
                        let take = v > best;
                        best = if take { v } else { best };
                        k = if take { kk } else { k };
                    }
                    *dst = best;
                    *arg = (2 * y * w + 2 * x) as u32 + (k & 1) + (k >> 1) * w as u32;
                }
            }
        });
    (Batch { data: out, dims }, argmax)
}
