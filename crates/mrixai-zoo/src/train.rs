//! The training loop: cross-entropy, Adam or SGD with momentum, weight decay, class-balanced
//! batches, dropout and BatchNorm in training mode, early stopping on validation loss with
//! the best checkpoint kept. Seeded: the same seed gives the same loss curve on the CPU.

use crate::Compute;
use crate::arch::Arch;
use crate::kernels::features::{BnStats as BatchStats, dropout_mask};
use crate::tensor::{from_vec, to_vec};
use crate::transfer::Init;
use crate::vgg::{Act, Params, Vgg, argmax_rows, channel_affine};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use mrixai_core::dataset::SplitArrays;
use mrixai_core::progress::Progress;
use mrixai_core::{ArrayF, Error, LayerKind, Result, WeightTransform};
use ndarray::{Axis, IxDyn};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (β = 0.9, 0.999, ε = 1e-8), L2 weight decay added to the gradient (PyTorch `Adam`).
    #[default]
    Adam,
    /// SGD with momentum (PyTorch `SGD`, no dampening, no Nesterov).
    Sgd,
}

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Stop after this many epochs without a validation-loss improvement.
    pub patience: usize,
    /// Smallest decrease of the validation loss that counts as an improvement.
    pub min_delta: f64,
    /// Class-balanced batches (minority classes oversampled to the majority count per epoch).
    pub balanced: bool,
    /// Precise BatchNorm: after every epoch, the running statistics of the trainable
    /// BatchNorm layers are replaced by the mean batch statistics of this many training
    /// images under the current weights (0 keeps the running averages of the steps).
    pub bn_recalibration: usize,
    /// Where the model is trained (`cpu`, `gpu`, `gpu:N`); `model.json` names it only when it
    /// is not the CPU.
    #[serde(skip_serializing_if = "Compute::is_cpu")]
    pub device: Compute,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 32,
            optimizer: Optimizer::Adam,
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 1e-4,
            patience: 5,
            min_delta: 0.0,
            balanced: true,
            bn_recalibration: 512,
            device: Compute::Cpu,
        }
    }
}

impl TrainConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config(
                "lr",
                format!("must be positive, got {}", self.lr),
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::config(
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::config(
                "weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }
}

/// Per-epoch curves and final accuracies (written as `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Mean training loss per epoch.
    pub train_loss: Vec<f64>,
    /// Training accuracy per epoch (on the sampled batches, training mode).
    pub train_accuracy: Vec<f64>,
    /// Validation loss per epoch.
    pub val_loss: Vec<f64>,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f64>,
    /// The epoch (0-based) whose weights were kept.
    pub best_epoch: usize,
    /// Validation loss of the kept weights.
    pub best_val_loss: f64,
    /// Validation accuracy of the kept weights.
    pub val_accuracy_best: f64,
    /// Test accuracy of the kept weights, when a test split was given.
    pub test_accuracy: Option<f64>,
    /// Whether training stopped early.
    pub stopped_early: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The result of [`train`]: the best model and its curves.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The model with the best validation loss.
    pub model: Vgg,
    /// Curves and accuracies.
    pub curves: Curves,
}

/// One trainable tensor with its optimiser state.
struct Slot {
    layer: usize,
    which: usize,
    m: Option<Tensor<1>>,
    v: Option<Tensor<1>>,
}

/// Trains a model of architecture `arch` on `train`, early-stopping on `val`.
///
/// Images are dataset images `[N, c, H, W]` (adapted with [`Vgg::prepare`]); labels must be
/// below `arch.num_classes`. With `init`, the first `pretrained_layers` weight layers come
/// from the checkpoint (and stay bit-identical when `frozen`); the rest is initialised with
/// `seed`, which also drives batch order and dropout. Each epoch reports its batches and a
/// summary line to `progress` ([`mrixai_core::progress::Silent`] for none).
pub fn train(
    cfg: &TrainConfig,
    arch: &Arch,
    train: &SplitArrays,
    val: &SplitArrays,
    init: Option<Init>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    cfg.validate()?;
    arch.validate()?;
    let start = std::time::Instant::now();
    let (mut model, frozen) = starting_model(cfg, arch, init, seed)?;
    check_split(train, "train", arch)?;
    check_split(val, "val", arch)?;
    let xtr = model.prepare(train.images.view())?;
    let xval = model.prepare(val.images.view())?;
    let ytr = train.label_indices();
    let yval = val.label_indices();
    let mut slots = optimiser_slots(&model, &frozen);
    let epochs = Epochs {
        cfg,
        frozen: &frozen,
        x: xtr.view(),
        y: &ytr,
        seed,
        progress,
    };
    let mut curves = Curves {
        train_loss: vec![],
        train_accuracy: vec![],
        val_loss: vec![],
        val_accuracy: vec![],
        best_epoch: 0,
        best_val_loss: f64::INFINITY,
        val_accuracy_best: 0.0,
        test_accuracy: None,
        stopped_early: false,
        seconds: 0.0,
    };
    let mut best = model.clone();
    let mut step: i32 = 0;
    for epoch in 0..cfg.epochs {
        let order = epoch_order(&ytr, arch.num_classes, cfg.balanced, seed, epoch);
        let (loss, accuracy) = epochs.run(&mut model, &mut slots, &order, epoch, &mut step)?;
        let calib = &order[..cfg.bn_recalibration.min(order.len())];
        recalibrate_bn(&mut model, &frozen, xtr.view(), calib, cfg.batch_size)?;
        let (vl, va) = evaluate(&model, xval.view(), &yval)?;
        curves.train_loss.push(loss);
        curves.train_accuracy.push(accuracy);
        curves.val_loss.push(vl);
        curves.val_accuracy.push(va);
        if vl < curves.best_val_loss - cfg.min_delta {
            curves.best_val_loss = vl;
            curves.val_accuracy_best = va;
            curves.best_epoch = epoch;
            best = model.clone();
        } else if epoch - curves.best_epoch >= cfg.patience {
            curves.stopped_early = true;
            break;
        }
        progress.note(&format!(
            "epoch {:>3}: train loss {loss:.4} acc {accuracy:.3} | val loss {vl:.4} acc {va:.3}",
            epoch + 1,
        ));
    }
    progress.finish();
    curves.seconds = start.elapsed().as_secs_f64();
    Ok(TrainReport {
        model: best,
        curves,
    })
}

/// The model training starts from (initialised, or transferred from a checkpoint) on the
/// configured device, and which of its parameters stay frozen.
fn starting_model(
    cfg: &TrainConfig,
    arch: &Arch,
    init: Option<Init>,
    seed: u64,
) -> Result<(Vgg, Vec<bool>)> {
    let mut model = match init {
        Some(i) => Vgg::transfer_from(arch, i.checkpoint, i.pretrained_layers, seed)?,
        None => Vgg::init_on(arch, seed, cfg.device)?,
    };
    let device = cfg.device.device()?;
    if model.device != device {
        model = model.to_device(&device);
    }
    let frozen = match init {
        Some(i) => model.frozen_mask(i.pretrained_layers, i.frozen),
        None => vec![false; model.specs.len()],
    };
    Ok((model, frozen))
}

/// What every epoch of a training run shares: its settings, frozen parameters, training
/// images and labels, seed and progress.
struct Epochs<'a> {
    cfg: &'a TrainConfig,
    frozen: &'a [bool],
    x: ndarray::ArrayViewD<'a, f32>,
    y: &'a [usize],
    seed: u64,
    progress: &'a dyn Progress,
}

impl Epochs<'_> {
    /// One epoch of mini-batch steps over the samples in `order` (`step` counts the steps
    /// of the run): the epoch's mean loss and accuracy.
    fn run(
        &self,
        model: &mut Vgg,
        slots: &mut [Slot],
        order: &[usize],
        epoch: usize,
        step: &mut i32,
    ) -> Result<(f64, f64)> {
        let cfg = self.cfg;
        let batches: Vec<&[usize]> = order.chunks(cfg.batch_size).collect();
        self.progress.start(
            &format!("epoch {}/{}", epoch + 1, cfg.epochs),
            batches.len() as u64,
        );
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (bi, idx) in batches.iter().enumerate() {
            *step += 1;
            let xb = self.x.select(Axis(0), idx);
            let yb: Vec<usize> = idx.iter().map(|&i| self.y[i]).collect();
            let stream = format!("zoo/train/dropout/{epoch}/{bi}");
            let mut rng = mrixai_core::seed::rng(self.seed, &stream);
            let (loss, preds) = train_step(
                model,
                slots,
                self.frozen,
                cfg,
                xb.view(),
                &yb,
                &mut rng,
                *step,
            )?;
            if !loss.is_finite() {
                return Err(Error::invalid(format!(
                    "training diverged (loss {loss} at epoch {}, batch {}); lower the learning rate",
                    epoch + 1,
                    bi + 1
                )));
            }
            loss_sum += loss * yb.len() as f64;
            correct += preds.iter().zip(&yb).filter(|(p, y)| p == y).count();
            seen += yb.len();
            let (loss, acc) = (loss_sum / seen as f64, correct as f64 / seen as f64);
            self.progress
                .advance(1, &format!("loss {loss:.4} acc {acc:.3}"));
        }
        Ok((loss_sum / seen as f64, correct as f64 / seen as f64))
    }
}

/// Checks that split `what` is non-empty, holds images of the model's rank and only labels
/// below its number of classes.
fn check_split(s: &SplitArrays, what: &str, arch: &Arch) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(format!("{what} split is empty")));
    }
    if s.images.ndim() != 2 + arch.spatial_dims() {
        let layout = match arch.spatial_dims() {
            3 => "[N, C, D, H, W] (volumes, as the model's input_size)",
            _ => "[N, C, H, W] (2-D images, as the model's input_size)",
        };
        return Err(Error::shape(
            format!("{what} images"),
            layout,
            s.images.shape(),
        ));
    }
    let num_classes = arch.num_classes;
    if let Some(l) = s.label_indices().into_iter().find(|&l| l >= num_classes) {
        return Err(Error::invalid(format!(
            "{what} split has label {l}, but the model has {num_classes} classes"
        )));
    }
    Ok(())
}

/// The optimiser's state slots: weight and bias (or scale and shift) of every trainable
/// layer that is not frozen.
fn optimiser_slots(model: &Vgg, frozen: &[bool]) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (i, p) in model.params.iter().enumerate() {
        if frozen[i] {
            continue;
        }
        let n = match p {
            Params::None => 0,
            Params::Conv { .. } | Params::Conv3 { .. } | Params::Linear { .. } => 2,
            Params::BatchNorm { .. } => 2,
        };
        for which in 0..n {
            slots.push(Slot {
                layer: i,
                which,
                m: None,
                v: None,
            });
        }
    }
    slots
}

/// Sample order of one epoch: shuffled; with `balanced`, every class contributes as many
/// samples as the largest class (smaller ones cycled) and classes are interleaved.
fn epoch_order(
    labels: &[usize],
    classes: usize,
    balanced: bool,
    seed: u64,
    epoch: usize,
) -> Vec<usize> {
    let mut rng = mrixai_core::seed::rng(seed, &format!("zoo/train/order/{epoch}"));
    if !balanced {
        let mut idx: Vec<usize> = (0..labels.len()).collect();
        idx.shuffle(&mut rng);
        return idx;
    }
    let mut per: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        per[l].push(i);
    }
    per.retain(|p| !p.is_empty());
    let max = per.iter().map(Vec::len).max().unwrap_or(0);
    let mut lists = Vec::new();
    for p in &mut per {
        p.shuffle(&mut rng);
        let mut l: Vec<usize> = (0..max).map(|j| p[j % p.len()]).collect();
        l.shuffle(&mut rng);
        lists.push(l);
    }
    let mut order = Vec::with_capacity(max * lists.len());
    for j in 0..max {
        let mut round: Vec<usize> = lists.iter().map(|l| l[j]).collect();
        round.shuffle(&mut rng);
        order.extend(round);
    }
    order
}

/// Mean cross-entropy and accuracy of a prepared set.
pub fn evaluate(model: &Vgg, x: ndarray::ArrayViewD<f32>, y: &[usize]) -> Result<(f64, f64)> {
    let logits = model.logits_batched(x)?;
    Ok((
        cross_entropy(&logits, y),
        accuracy(&argmax_rows(&logits), y),
    ))
}

/// Mean cross-entropy of logits `[N, C]` against labels (f64, log-sum-exp).
pub fn cross_entropy(logits: &ArrayF, y: &[usize]) -> f64 {
    let mut total = 0.0;
    for (row, &t) in logits.axis_iter(Axis(0)).zip(y) {
        total += log_sum_exp(row.iter().copied()) - row[t] as f64;
    }
    total / y.len().max(1) as f64
}

/// `ln Σ exp(v)` of a row in f64, stabilised by the maximum.
fn log_sum_exp(row: impl Iterator<Item = f32> + Clone) -> f64 {
    let m = row.clone().fold(f64::NEG_INFINITY, |m, v| m.max(v as f64));
    m + row.map(|v| (v as f64 - m).exp()).sum::<f64>().ln()
}

/// [`cross_entropy`] of C-order logits with `classes` columns, and its gradient with respect
/// to the logits, `(softmax − one-hot) / n` (computed in f64).
fn cross_entropy_gradient(logits: &[f32], classes: usize, y: &[usize]) -> (f64, Vec<f32>) {
    let n = y.len().max(1) as f64;
    let mut total = 0.0;
    let mut grad = Vec::with_capacity(logits.len());
    for (row, &t) in logits.chunks_exact(classes.max(1)).zip(y) {
        let lse = log_sum_exp(row.iter().copied());
        total += lse - row[t] as f64;
        grad.extend(row.iter().enumerate().map(|(j, &v)| {
            let p = (v as f64 - lse).exp();
            ((p - f64::from(u8::from(j == t))) / n) as f32
        }));
    }
    (total / n, grad)
}

/// Fraction of predictions equal to the labels.
pub fn accuracy(pred: &[usize], y: &[usize]) -> f64 {
    pred.iter().zip(y).filter(|(p, t)| p == t).count() as f64 / y.len().max(1) as f64
}

/// The parameter tensors of layer `p`, flattened, in slot order.
fn flat_params(p: &Params) -> Vec<Tensor<1>> {
    match p {
        Params::None => vec![],
        Params::Conv { w, b } => vec![w.clone().flatten(0, 3), b.clone()],
        Params::Conv3 { w, b } => vec![w.clone().flatten(0, 4), b.clone()],
        Params::Linear { w, b } => vec![w.clone().flatten(0, 1), b.clone()],
        Params::BatchNorm { gamma, beta, .. } => vec![gamma.clone(), beta.clone()],
    }
}

/// The flat parameters of every layer: autodiff leaves for trainable layers, constants for
/// frozen ones.
fn trainable_leaves(model: &Vgg, frozen: &[bool]) -> Vec<Vec<Tensor<1>>> {
    model
        .params
        .iter()
        .zip(frozen)
        .map(|(p, &f)| {
            let flat = flat_params(p);
            if f {
                flat
            } else {
                flat.into_iter()
                    .map(|t| t.autodiff().require_grad())
                    .collect()
            }
        })
        .collect()
}

/// Puts flat tensors back into the shapes of `p`.
fn with_flat(p: &Params, flat: &[Tensor<1>]) -> Params {
    match p {
        Params::None => Params::None,
        Params::Conv { w, .. } => Params::Conv {
            w: flat[0].clone().reshape(w.dims()),
            b: flat[1].clone(),
        },
        Params::Conv3 { w, .. } => Params::Conv3 {
            w: flat[0].clone().reshape(w.dims()),
            b: flat[1].clone(),
        },
        Params::Linear { w, .. } => Params::Linear {
            w: flat[0].clone().reshape(w.dims()),
            b: flat[1].clone(),
        },
        Params::BatchNorm {
            mean, var, tracked, ..
        } => Params::BatchNorm {
            gamma: flat[0].clone(),
            beta: flat[1].clone(),
            mean: mean.clone(),
            var: var.clone(),
            tracked: *tracked,
        },
    }
}

/// One optimisation step on a prepared batch; returns the batch loss and predictions.
#[allow(clippy::too_many_arguments)]
fn train_step(
    model: &mut Vgg,
    slots: &mut [Slot],
    frozen: &[bool],
    cfg: &TrainConfig,
    x: ndarray::ArrayViewD<f32>,
    y: &[usize],
    rng: &mut mrixai_core::seed::Rng,
    step: i32,
) -> Result<(f64, Vec<usize>)> {
    let StepResult {
        loss: loss_v,
        logits,
        mut grads,
        bn_updates,
    } = if model.runs_cpu_kernels() {
        cpu_step(model, frozen, x, y, rng)?
    } else {
        autodiff_step(model, frozen, x, y, rng)?
    };
    let classes = model.arch.num_classes;
    let preds = argmax_rows(
        &ArrayF::from_shape_vec(IxDyn(&[y.len(), classes]), logits)
            .map_err(|e| Error::invalid(e.to_string()))?,
    );

    // optimiser update
    let lr = cfg.lr as f32;
    let wd = cfg.weight_decay as f32;
    let mut new_flat: Vec<Vec<Tensor<1>>> = model.params.iter().map(flat_params).collect();
    for s in slots.iter_mut() {
        let Some(mut g) = grads.remove(&(s.layer, s.which)) else {
            continue;
        };
        let p = new_flat[s.layer][s.which].clone();
        if wd > 0.0 {
            g = g + p.clone() * wd;
        }
        let updated = match cfg.optimizer {
            Optimizer::Adam => {
                let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
                let m = match s.m.take() {
                    Some(m) => m * b1 + g.clone() * (1.0 - b1),
                    None => g.clone() * (1.0 - b1),
                };
                let v = match s.v.take() {
                    Some(v) => v * b2 + g.clone() * g.clone() * (1.0 - b2),
                    None => g.clone() * g * (1.0 - b2),
                };
                let bc1 = 1.0 - b1.powi(step);
                let bc2 = 1.0 - b2.powi(step);
                let upd = (m.clone() / bc1) / ((v.clone() / bc2).sqrt() + eps);
                s.m = Some(m);
                s.v = Some(v);
                p - upd * lr
            }
            Optimizer::Sgd => {
                let buf = match s.m.take() {
                    Some(b) => b * cfg.momentum as f32 + g,
                    None => g,
                };
                s.m = Some(buf.clone());
                p - buf * lr
            }
        };
        new_flat[s.layer][s.which] = updated;
    }
    for (i, flat) in new_flat.iter().enumerate() {
        if !frozen[i] {
            model.params[i] = with_flat(&model.params[i], flat);
        }
    }
    for (i, mu, var) in bn_updates {
        if let Params::BatchNorm {
            mean,
            var: rv,
            tracked,
            ..
        } = &mut model.params[i]
        {
            *mean = mean.clone() * 0.9 + mu * 0.1;
            *rv = rv.clone() * 0.9 + var * 0.1;
            *tracked += 1;
        }
    }
    Ok((loss_v, preds))
}

/// Replaces the running statistics of the trainable BatchNorm layers by the mean batch
/// statistics (batches of `batch` in training mode) of the prepared images `x[idx]`.
fn recalibrate_bn(
    model: &mut Vgg,
    frozen: &[bool],
    x: ndarray::ArrayViewD<f32>,
    idx: &[usize],
    batch: usize,
) -> Result<()> {
    let trainable_bn = model
        .params
        .iter()
        .zip(frozen)
        .any(|(p, f)| !f && matches!(p, Params::BatchNorm { .. }));
    if idx.is_empty() || !trainable_bn {
        return Ok(());
    }
    // burn's forward pass (off the CPU) takes the parameters as flat tensors
    let leaves: Option<Vec<Vec<Tensor<1>>>> =
        (!model.runs_cpu_kernels()).then(|| model.params.iter().map(flat_params).collect());
    let mut sums: Vec<(usize, Tensor<1>, Tensor<1>)> = Vec::new();
    for chunk in idx.chunks(batch.max(1)) {
        let xb = x.select(Axis(0), chunk);
        let stats = match &leaves {
            None => bn_tensors(
                model.cpu_tape(|i| frozen[i], xb.view(), None)?.2,
                &model.device,
            ),
            Some(leaves) => {
                let xb = Act::from_view(xb.view(), &model.device)?;
                forward_train(model, leaves, frozen, xb, None)?.1
            }
        };
        let w = chunk.len() as f32 / idx.len() as f32;
        if sums.is_empty() {
            sums = stats
                .into_iter()
                .map(|(i, m, v)| (i, m * w, v * w))
                .collect();
        } else {
            for (acc, (_, m, v)) in sums.iter_mut().zip(stats) {
                acc.1 = acc.1.clone() + m * w;
                acc.2 = acc.2.clone() + v * w;
            }
        }
    }
    for (i, m, v) in sums {
        if let Params::BatchNorm { mean, var, .. } = &mut model.params[i] {
            *mean = m;
            *var = v;
        }
    }
    Ok(())
}

/// Batch statistics of one BatchNorm layer in training mode: layer index, per-channel mean
/// and unbiased variance.
type BnUpdate = (usize, Tensor<1>, Tensor<1>);

/// The training-mode forward pass in burn operations (BatchNorm on batch statistics, dropout
/// when `rng` is given) with the flat parameters `leaves`; returns the logits and the batch
/// statistics of every trainable BatchNorm layer.
fn forward_train(
    model: &Vgg,
    leaves: &[Vec<Tensor<1>>],
    frozen: &[bool],
    x: Act,
    mut rng: Option<&mut mrixai_core::seed::Rng>,
) -> Result<(Tensor<2>, Vec<BnUpdate>)> {
    let dev = model.device.clone();
    let mut bn_updates = Vec::new();
    let mut a = x;
    for (i, spec) in model.specs.iter().enumerate() {
        let shaped = with_flat(&model.params[i], &leaves[i]);
        a = match (shaped, spec.kind, a) {
            (Params::BatchNorm { gamma, beta, .. }, _, x) if !frozen[i] => {
                let (y, mu, unbiased) = match x {
                    Act::S(x) => batch_norm_train(x, gamma, beta, Act::S),
                    Act::V(x) => batch_norm_train(x, gamma, beta, Act::V),
                    Act::F(x) => batch_norm_train(x, gamma, beta, Act::F),
                };
                bn_updates.push((i, mu, unbiased));
                y
            }
            (Params::None, LayerKind::Dropout, Act::F(x)) => {
                let p = model.arch.dropout;
                if let (true, Some(rng)) = (p > 0.0, rng.as_deref_mut()) {
                    let [bn, f] = x.dims();
                    let mask = dropout_mask(bn * f, p, rng);
                    Act::F(x * from_vec(mask, [bn, f], &dev))
                } else {
                    Act::F(x)
                }
            }
            (shaped, _, x) => model.apply_with(i, &shaped, x, WeightTransform::IDENTITY)?,
        };
    }
    match a {
        Act::F(t) => Ok((t, bn_updates)),
        a => Err(Error::shape("logits", "[N, classes]", &a.dims())),
    }
}

/// BatchNorm on the batch statistics of `x` `[N, C, …]` (training mode): the output, wrapped
/// by `wrap`, and the per-channel mean and unbiased variance.
fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    wrap: fn(Tensor<D>) -> Act,
) -> (Act, Tensor<1>, Tensor<1>) {
    let dims = x.dims();
    let c = dims[1];
    let count = (dims.iter().product::<usize>() / c.max(1)) as f32;
    let axes: Vec<usize> = (0..D).filter(|&a| a != 1).collect();
    let mut shape = [1usize; D];
    shape[1] = c;
    let mu = x.clone().mean_dims(&axes).reshape(shape);
    let centered = x - mu.clone();
    let var_b = (centered.clone() * centered.clone())
        .mean_dims(&axes)
        .reshape(shape);
    let xhat = centered / (var_b.clone() + crate::vgg::BN_EPS).sqrt();
    let unbiased = var_b.reshape([c]).inner() * (count / (count - 1.0).max(1.0));
    (
        wrap(channel_affine(xhat, gamma, beta)),
        mu.reshape([c]).inner(),
        unbiased,
    )
}

/// Mean cross-entropy of `logits` (`[n, classes]`) against the labels `y`.
fn cross_entropy_loss(logits: Tensor<2>, y: &[usize]) -> Tensor<1> {
    let [n, classes] = logits.dims();
    let mut onehot = vec![0.0f32; n * classes];
    for (r, &t) in y.iter().enumerate() {
        onehot[r * classes + t] = 1.0;
    }
    let onehot = from_vec(onehot, [n, classes], &logits.device());
    (log_softmax(logits, 1) * onehot).sum() * (-1.0 / n.max(1) as f32)
}

/// What one training step's forward and backward pass give the optimiser.
struct StepResult {
    /// Mean cross-entropy of the batch.
    loss: f64,
    /// Logits `[n, classes]`, in C order.
    logits: Vec<f32>,
    /// Flat gradients of the trained parameters, by (layer, slot).
    grads: HashMap<(usize, usize), Tensor<1>>,
    /// Batch statistics of the trainable BatchNorm layers.
    bn_updates: Vec<BnUpdate>,
}

/// A training step on the CPU kernels ([`crate::kernels::features`]): forward pass, softmax
/// cross-entropy and the hand-written backward pass, with no burn operation in between.
fn cpu_step(
    model: &Vgg,
    frozen: &[bool],
    x: ndarray::ArrayViewD<f32>,
    y: &[usize],
    rng: &mut mrixai_core::seed::Rng,
) -> Result<StepResult> {
    let (tape, out, stats) = model.cpu_tape(|i| frozen[i], x, Some(rng))?;
    let (loss, g) = cross_entropy_gradient(&out.data, model.arch.num_classes, y);
    let dev = model.device.clone();
    let grads = (tape.backward(g).into_iter())
        .map(|(layer, slot, v)| {
            let len = v.len();
            ((layer, slot), from_vec(v, [len], &dev))
        })
        .collect();
    Ok(StepResult {
        loss,
        logits: out.data,
        grads,
        bn_updates: bn_tensors(stats, &dev),
    })
}

/// Batch statistics of the CPU kernels as tensors on `dev`.
fn bn_tensors(stats: Vec<BatchStats>, dev: &Device) -> Vec<BnUpdate> {
    (stats.into_iter())
        .map(|st| {
            let c = st.mean.len();
            (
                st.layer,
                from_vec(st.mean, [c], dev),
                from_vec(st.var, [c], dev),
            )
        })
        .collect()
}

/// A training step through burn's autodiff (off the CPU, and for volumes).
fn autodiff_step(
    model: &Vgg,
    frozen: &[bool],
    x: ndarray::ArrayViewD<f32>,
    y: &[usize],
    rng: &mut mrixai_core::seed::Rng,
) -> Result<StepResult> {
    let dev = model.device.clone();
    let leaves = trainable_leaves(model, frozen);
    let xt = Act::from_view(x, &dev)?.into_autodiff();
    let (logits, bn_updates) = forward_train(model, &leaves, frozen, xt, Some(rng))?;
    let loss = cross_entropy_loss(logits.clone(), y);
    let graph = loss.backward();
    let mut grads = HashMap::new();
    for (layer, flat) in leaves.iter().enumerate() {
        for (slot, leaf) in flat.iter().enumerate() {
            if let Some(g) = leaf.grad(&graph) {
                grads.insert((layer, slot), g);
            }
        }
    }
    Ok(StepResult {
        loss: to_vec(loss.inner())?[0] as f64,
        logits: to_vec(logits.inner())?,
        grads,
        bn_updates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// A training step on the CPU kernels (forward, loss, hand-written backward, dropout
    /// drawn alike) gives the loss, logits, batch statistics and gradients of burn's autodiff
    /// graph of the whole model, for every trainable parameter, with and without frozen
    /// leading layers.
    #[test]
    fn cpu_step_gives_the_autodiff_step() {
        let arch = Arch::preset("vgg-small", 3, &[16, 16]).unwrap();
        let model = Vgg::init(&arch, 3).unwrap();
        let mut rng = mrixai_core::seed::rng(4, "cut");
        let xs: Vec<f32> = (0..5 * 256)
            .map(|_| rng.random_range(0.0f32..1.0))
            .collect();
        let x = ndarray::ArrayD::from_shape_vec(IxDyn(&[5, 1, 16, 16]), xs).unwrap();
        let y = [0usize, 2, 1, 1, 0];
        let n_layers = model.params.len();
        let first_conv_bn = model
            .params
            .iter()
            .position(|p| matches!(p, Params::BatchNorm { .. }))
            .unwrap();
        let close = |got: &[f32], want: &[f32], what: &str| {
            crate::testutil::assert_close(got, want, (1e-4, 1e-3), what)
        };
        for frozen_upto in [0, first_conv_bn + 1] {
            let frozen: Vec<bool> = (0..n_layers).map(|i| i < frozen_upto).collect();
            let rng = || mrixai_core::seed::rng(9, "dropout");
            let want = autodiff_step(&model, &frozen, x.view(), &y, &mut rng()).unwrap();
            let mut got = cpu_step(&model, &frozen, x.view(), &y, &mut rng()).unwrap();
            assert!(
                (want.loss - got.loss).abs() < 1e-5,
                "loss {} vs {}",
                got.loss,
                want.loss
            );
            close(&got.logits, &want.logits, "logits");
            assert_eq!(
                got.bn_updates.len(),
                want.bn_updates.len(),
                "BatchNorm layers"
            );
            for ((li, gm, gv), (lj, wm, wv)) in got.bn_updates.iter().zip(&want.bn_updates) {
                assert_eq!(li, lj);
                close(
                    &to_vec(gm.clone()).unwrap(),
                    &to_vec(wm.clone()).unwrap(),
                    "mean",
                );
                close(
                    &to_vec(gv.clone()).unwrap(),
                    &to_vec(wv.clone()).unwrap(),
                    "var",
                );
            }
            let trainable = (0..n_layers)
                .filter(|&i| !frozen[i])
                .map(|i| flat_params(&model.params[i]).len())
                .sum::<usize>();
            assert_eq!(
                want.grads.len(),
                trainable,
                "every trainable parameter has a gradient"
            );
            for (key, w) in &want.grads {
                let g = got
                    .grads
                    .remove(key)
                    .unwrap_or_else(|| panic!("no gradient {key:?}"));
                close(
                    &to_vec(g).unwrap(),
                    &to_vec(w.clone()).unwrap(),
                    &format!("{key:?}"),
                );
            }
            assert!(got.grads.is_empty(), "no gradient of a frozen parameter");
        }
    }
}
