//! Test-only models in plain ndarray implementing `Explainable`: small hand-made networks and
//! the torchvision-layout VGG of the Captum fixtures (read from `model.safetensors`).

use mrixai_core::{
    ArrayF, Error, Explainable, LayerKind, Result, ViewF, WeightMap, WeightTransform,
};
use ndarray::{Array1, Array2, Array4, Axis, Ix2, Ix4, IxDyn};
use rand::Rng as _;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Layer {
    Conv {
        w: Array4<f32>,
        b: Array1<f32>,
    },
    Relu,
    MaxPool,
    Adaptive {
        oh: usize,
        ow: usize,
    },
    Flatten,
    Linear {
        w: Array2<f32>,
        b: Array1<f32>,
    },
    Dropout,
    BatchNorm {
        scale: Array1<f32>,
        shift: Array1<f32>,
    },
}

#[derive(Debug, Clone)]
pub struct Net {
    pub layers: Vec<(String, Layer)>,
    pub input: Vec<usize>,
    pub classes: usize,
}

pub fn fixtures() -> PathBuf {
    mrixai_testkit::workspace_dir().join("fixtures/captum")
}

fn tmap(w: &ndarray::ArrayD<f32>, m: WeightMap) -> ndarray::ArrayD<f32> {
    w.mapv(|v| m.apply(v))
}

/// Every in-bounds tap of a k×k "same" convolution over an `(n, c, h, w)` input: the
/// im2col row and column and the input position it reads.
fn conv_taps(
    (n, c, h, w): (usize, usize, usize, usize),
    k: usize,
    mut f: impl FnMut(usize, usize, [usize; 4]),
) {
    let p = k / 2;
    for b in 0..n {
        for i in 0..h {
            for j in 0..w {
                let r = (b * h + i) * w + j;
                for ch in 0..c {
                    for di in 0..k {
                        for dj in 0..k {
                            let (ii, jj) = (
                                i as isize + di as isize - p as isize,
                                j as isize + dj as isize - p as isize,
                            );
                            if ii >= 0 && jj >= 0 && (ii as usize) < h && (jj as usize) < w {
                                f(r, (ch * k + di) * k + dj, [b, ch, ii as usize, jj as usize]);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn im2col(x: &Array4<f32>, k: usize) -> Array2<f32> {
    let (n, c, h, w) = x.dim();
    let mut cols = Array2::zeros((n * h * w, c * k * k));
    conv_taps(x.dim(), k, |r, col, at| cols[[r, col]] = x[at]);
    cols
}

fn col2im(cols: &Array2<f32>, shape: (usize, usize, usize, usize), k: usize) -> Array4<f32> {
    let mut x = Array4::zeros(shape);
    conv_taps(shape, k, |r, col, at| x[at] += cols[[r, col]]);
    x
}

fn win(i: usize, inn: usize, out: usize) -> (usize, usize) {
    (i * inn / out, ((i + 1) * inn).div_ceil(out))
}

impl Net {
    fn conv_w(
        &self,
        w: &Array4<f32>,
        b: &Array1<f32>,
        t: WeightTransform,
    ) -> (Array2<f32>, Array1<f32>) {
        let o = w.dim().0;
        let wm = tmap(&w.clone().into_dyn(), t.weights)
            .into_shape_with_order((o, w.len() / o))
            .unwrap();
        let bm = if t.bias {
            b.mapv(|v| t.weights.apply(v))
        } else {
            Array1::zeros(b.len())
        };
        (wm, bm)
    }

    fn fwd(&self, i: usize, x: ViewF, t: WeightTransform) -> ArrayF {
        match &self.layers[i].1 {
            Layer::Conv { w, b } => {
                let x4 = x.to_owned().into_dimensionality::<Ix4>().unwrap();
                let (n, _, h, wd) = x4.dim();
                let (wm, bm) = self.conv_w(w, b, t);
                let y = im2col(&x4, w.dim().2).dot(&wm.t()) + &bm;
                let o = wm.nrows();
                y.into_shape_with_order((n, h, wd, o))
                    .unwrap()
                    .permuted_axes([0, 3, 1, 2])
                    .as_standard_layout()
                    .to_owned()
                    .into_dyn()
            }
            Layer::Relu => x.mapv(|v| v.max(0.0)),
            Layer::Dropout => x.to_owned(),
            Layer::MaxPool => {
                let x4 = x.into_dimensionality::<Ix4>().unwrap();
                let (n, c, h, w) = x4.dim();
                Array4::from_shape_fn((n, c, h / 2, w / 2), |(a, b, i, j)| {
                    let mut m = f32::NEG_INFINITY;
                    for di in 0..2 {
                        for dj in 0..2 {
                            m = m.max(x4[[a, b, 2 * i + di, 2 * j + dj]]);
                        }
                    }
                    m
                })
                .into_dyn()
            }
            Layer::Adaptive { oh, ow } => {
                let x4 = x.into_dimensionality::<Ix4>().unwrap();
                let (n, c, h, w) = x4.dim();
                Array4::from_shape_fn((n, c, *oh, *ow), |(a, b, i, j)| {
                    let (r0, r1) = win(i, h, *oh);
                    let (c0, c1) = win(j, w, *ow);
                    let mut s = 0.0;
                    for r in r0..r1 {
                        for q in c0..c1 {
                            s += x4[[a, b, r, q]];
                        }
                    }
                    s / ((r1 - r0) * (c1 - c0)) as f32
                })
                .into_dyn()
            }
            Layer::Flatten => {
                let n = x.shape()[0];
                x.to_owned()
                    .into_shape_with_order(IxDyn(&[n, x.len() / n.max(1)]))
                    .unwrap()
            }
            Layer::Linear { w, b } => {
                let wm = w.mapv(|v| t.weights.apply(v));
                let bm = if t.bias {
                    b.mapv(|v| t.weights.apply(v))
                } else {
                    Array1::zeros(b.len())
                };
                (x.into_dimensionality::<Ix2>().unwrap().dot(&wm.t()) + &bm).into_dyn()
            }
            Layer::BatchNorm { scale, shift } => {
                let s = scale.mapv(|v| t.weights.apply(v));
                let c = if t.bias {
                    shift.mapv(|v| t.weights.apply(v))
                } else {
                    Array1::zeros(shift.len())
                };
                let mut y = x.to_owned();
                for (ch, mut plane) in y.axis_iter_mut(Axis(1)).enumerate() {
                    plane.mapv_inplace(|v| v * s[ch] + c[ch]);
                }
                y
            }
        }
    }

    fn vjp(&self, i: usize, x: ViewF, v: ViewF, t: WeightTransform) -> ArrayF {
        match &self.layers[i].1 {
            Layer::Conv { w, b } => {
                let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
                let (wm, _) = self.conv_w(w, b, t);
                let o = wm.nrows();
                let v2 = v
                    .to_owned()
                    .permuted_axes(IxDyn(&[0, 2, 3, 1]))
                    .as_standard_layout()
                    .into_shape_with_order((n * h * wd, o))
                    .unwrap()
                    .to_owned();
                col2im(&v2.dot(&wm), (n, c, h, wd), w.dim().2).into_dyn()
            }
            Layer::Relu => {
                let mut g = v.to_owned();
                g.zip_mut_with(&x, |g, &z| {
                    if z <= 0.0 {
                        *g = 0.0
                    }
                });
                g
            }
            Layer::Dropout => v.to_owned(),
            Layer::MaxPool => {
                let x4 = x.into_dimensionality::<Ix4>().unwrap();
                let (n, c, h, w) = x4.dim();
                let mut g = Array4::<f32>::zeros((n, c, h, w));
                for a in 0..n {
                    for b in 0..c {
                        for i in 0..h / 2 {
                            for j in 0..w / 2 {
                                let (mut bi, mut bj, mut m) = (0, 0, f32::NEG_INFINITY);
                                for di in 0..2 {
                                    for dj in 0..2 {
                                        let val = x4[[a, b, 2 * i + di, 2 * j + dj]];
                                        if val > m {
                                            m = val;
                                            (bi, bj) = (di, dj);
                                        }
                                    }
                                }
                                g[[a, b, 2 * i + bi, 2 * j + bj]] += v[[a, b, i, j]];
                            }
                        }
                    }
                }
                g.into_dyn()
            }
            Layer::Adaptive { oh, ow } => {
                let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
                let mut g = Array4::<f32>::zeros((n, c, h, w));
                for a in 0..n {
                    for b in 0..c {
                        for i in 0..*oh {
                            for j in 0..*ow {
                                let (r0, r1) = win(i, h, *oh);
                                let (c0, c1) = win(j, w, *ow);
                                let val = v[[a, b, i, j]] / ((r1 - r0) * (c1 - c0)) as f32;
                                for r in r0..r1 {
                                    for q in c0..c1 {
                                        g[[a, b, r, q]] += val;
                                    }
                                }
                            }
                        }
                    }
                }
                g.into_dyn()
            }
            Layer::Flatten => v.to_owned().into_shape_with_order(x.raw_dim()).unwrap(),
            Layer::Linear { w, .. } => v
                .into_dimensionality::<Ix2>()
                .unwrap()
                .dot(&w.mapv(|q| t.weights.apply(q)))
                .into_dyn(),
            Layer::BatchNorm { scale, .. } => {
                let s = scale.mapv(|q| t.weights.apply(q));
                let mut g = v.to_owned();
                for (ch, mut plane) in g.axis_iter_mut(Axis(1)).enumerate() {
                    plane.mapv_inplace(|q| q * s[ch]);
                }
                g
            }
        }
    }

    /// The VGG of a Captum fixture case.
    pub fn golden(case: &str) -> Net {
        let dir = fixtures().join(case);
        let arch: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("arch.json")).unwrap()).unwrap();
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let get = |name: &str| -> ndarray::ArrayD<f32> {
            let t = st.tensor(name).unwrap();
            let v: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            ndarray::ArrayD::from_shape_vec(IxDyn(t.shape()), v).unwrap()
        };
        let bn = arch["batch_norm"].as_bool().unwrap();
        let mut c = arch["in_channels"].as_u64().unwrap() as usize;
        let mut layers = Vec::new();
        let mut idx = 0;
        for v in arch["features"].as_array().unwrap() {
            if v.as_str() == Some("M") {
                layers.push((format!("features.{idx}"), Layer::MaxPool));
                idx += 1;
                continue;
            }
            let o = v.as_u64().unwrap() as usize;
            let name = format!("features.{idx}");
            layers.push((
                name.clone(),
                Layer::Conv {
                    w: get(&format!("{name}.weight"))
                        .into_dimensionality()
                        .unwrap(),
                    b: get(&format!("{name}.bias")).into_dimensionality().unwrap(),
                },
            ));
            idx += 1;
            if bn {
                let n = format!("features.{idx}");
                let g = get(&format!("{n}.weight"));
                let be = get(&format!("{n}.bias"));
                let m = get(&format!("{n}.running_mean"));
                let var = get(&format!("{n}.running_var"));
                let scale: Array1<f32> = (0..o).map(|k| g[k] / (var[k] + 1e-5).sqrt()).collect();
                let shift: Array1<f32> = (0..o).map(|k| be[k] - m[k] * scale[k]).collect();
                layers.push((n, Layer::BatchNorm { scale, shift }));
                idx += 1;
            }
            layers.push((format!("features.{idx}"), Layer::Relu));
            idx += 1;
            c = o;
        }
        let _ = c;
        let ap = arch["avgpool"].as_array().unwrap();
        layers.push((
            "avgpool".into(),
            Layer::Adaptive {
                oh: ap[0].as_u64().unwrap() as usize,
                ow: ap[1].as_u64().unwrap() as usize,
            },
        ));
        layers.push(("flatten".into(), Layer::Flatten));
        for (k, kind) in ["L", "R", "D", "L", "R", "D", "L"].iter().enumerate() {
            let name = format!("classifier.{k}");
            let l = match *kind {
                "L" => Layer::Linear {
                    w: get(&format!("{name}.weight"))
                        .into_dimensionality()
                        .unwrap(),
                    b: get(&format!("{name}.bias")).into_dimensionality().unwrap(),
                },
                "R" => Layer::Relu,
                _ => Layer::Dropout,
            };
            layers.push((name, l));
        }
        let size = arch["input_size"].as_array().unwrap();
        let input = vec![
            arch["in_channels"].as_u64().unwrap() as usize,
            size[0].as_u64().unwrap() as usize,
            size[1].as_u64().unwrap() as usize,
        ];
        Net {
            layers,
            input,
            classes: arch["num_classes"].as_u64().unwrap() as usize,
        }
    }

    /// A small conv net on `[2, 8, 8]` with 3 classes: conv-relu-pool-conv-bn-relu-avgpool-
    /// flatten-linear-relu-dropout-linear; `bias = false` zeroes every bias (and BN shift).
    pub fn tiny(seed: u64, bias: bool) -> Net {
        let mut rng = mrixai_core::seed::rng(seed, "testkit");
        let mut r = |shape: &[usize], scale: f32| {
            ndarray::ArrayD::from_shape_fn(IxDyn(shape), |_| {
                (rng.random::<f32>() * 2.0 - 1.0) * scale
            })
        };
        let bsc = if bias { 0.1 } else { 0.0 };
        let layers = vec![
            (
                "features.0".into(),
                Layer::Conv {
                    w: r(&[4, 2, 3, 3], 0.5).into_dimensionality().unwrap(),
                    b: r(&[4], bsc).into_dimensionality().unwrap(),
                },
            ),
            ("features.1".into(), Layer::Relu),
            ("features.2".into(), Layer::MaxPool),
            (
                "features.3".into(),
                Layer::Conv {
                    w: r(&[5, 4, 3, 3], 0.4).into_dimensionality().unwrap(),
                    b: r(&[5], bsc).into_dimensionality().unwrap(),
                },
            ),
            (
                "features.4".into(),
                Layer::BatchNorm {
                    scale: r(&[5], 0.5)
                        .mapv(|v| v.abs() + 0.5)
                        .into_dimensionality()
                        .unwrap(),
                    shift: r(&[5], bsc).into_dimensionality().unwrap(),
                },
            ),
            ("features.5".into(), Layer::Relu),
            ("avgpool".into(), Layer::Adaptive { oh: 3, ow: 3 }),
            ("flatten".into(), Layer::Flatten),
            (
                "classifier.0".into(),
                Layer::Linear {
                    w: r(&[6, 45], 0.4).into_dimensionality().unwrap(),
                    b: r(&[6], bsc).into_dimensionality().unwrap(),
                },
            ),
            ("classifier.1".into(), Layer::Relu),
            ("classifier.2".into(), Layer::Dropout),
            (
                "classifier.3".into(),
                Layer::Linear {
                    w: r(&[3, 6], 0.6).into_dimensionality().unwrap(),
                    b: r(&[3], bsc).into_dimensionality().unwrap(),
                },
            ),
        ];
        Net {
            layers,
            input: vec![2, 8, 8],
            classes: 3,
        }
    }

    /// `f(x) = W · flatten(x) + b`: a linear model on `[1, h, w]`.
    pub fn linear(w: Array2<f32>, b: Array1<f32>, h: usize, wd: usize) -> Net {
        let classes = w.nrows();
        Net {
            layers: vec![
                ("flatten".into(), Layer::Flatten),
                ("fc".into(), Layer::Linear { w, b }),
            ],
            input: vec![1, h, wd],
            classes,
        }
    }
}

impl Explainable for Net {
    fn input_shape(&self) -> Vec<usize> {
        self.input.clone()
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
    fn layers(&self) -> usize {
        self.layers.len()
    }
    fn layer_kind(&self, i: usize) -> LayerKind {
        match self.layers[i].1 {
            Layer::Conv { .. } => LayerKind::Conv2d,
            Layer::Relu => LayerKind::Relu,
            Layer::MaxPool => LayerKind::MaxPool,
            Layer::Adaptive { .. } => LayerKind::AdaptiveAvgPool,
            Layer::Flatten => LayerKind::Flatten,
            Layer::Linear { .. } => LayerKind::Linear,
            Layer::Dropout => LayerKind::Dropout,
            Layer::BatchNorm { .. } => LayerKind::BatchNorm,
        }
    }
    fn layer_name(&self, i: usize) -> String {
        self.layers[i].0.clone()
    }
    fn layer_forward(&self, i: usize, x: ViewF) -> Result<ArrayF> {
        Ok(self.fwd(i, x, WeightTransform::IDENTITY))
    }
    fn layer_vjp(&self, i: usize, x: ViewF, v: ViewF) -> Result<ArrayF> {
        Ok(self.vjp(i, x, v, WeightTransform::IDENTITY))
    }
    fn layer_forward_with(&self, i: usize, x: ViewF, t: WeightTransform) -> Result<ArrayF> {
        Ok(self.fwd(i, x, t))
    }
    fn layer_vjp_with(&self, i: usize, x: ViewF, v: ViewF, t: WeightTransform) -> Result<ArrayF> {
        Ok(self.vjp(i, x, v, t))
    }
}

impl crate::sanity::Randomizable for Net {
    fn randomized_top_down(&self, n_layers: usize, seed: u64) -> Result<Box<dyn Explainable>> {
        let mut net = self.clone();
        let weighted: Vec<usize> = (0..net.layers.len())
            .filter(|&i| matches!(net.layers[i].1, Layer::Conv { .. } | Layer::Linear { .. }))
            .collect();
        if n_layers > weighted.len() {
            return Err(Error::invalid(format!(
                "cannot randomise {n_layers} of {} layers",
                weighted.len()
            )));
        }
        let mut rng = mrixai_core::seed::rng(seed, "randomize");
        for &i in weighted.iter().rev().take(n_layers) {
            match &mut net.layers[i].1 {
                Layer::Conv { w, .. } => w.mapv_inplace(|_| rng.random::<f32>() - 0.5),
                Layer::Linear { w, .. } => w.mapv_inplace(|_| rng.random::<f32>() - 0.5),
                _ => {}
            }
        }
        Ok(Box::new(net))
    }
}

/// Reads a fixture array of a case.
pub fn read(case: &str, file: &str) -> ArrayF {
    mrixai_core::npy::read::<f32>(&fixtures().join(case).join(file)).unwrap()
}

/// Targets of a case.
pub fn targets(case: &str) -> Vec<usize> {
    mrixai_core::npy::read::<i64>(&fixtures().join(case).join("targets.npy"))
        .unwrap()
        .iter()
        .map(|&t| t as usize)
        .collect()
}
