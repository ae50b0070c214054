//! Weight IO, transfer learning, training and the per-layer view of small models.

use mrixai_core::dataset::{Split, SplitArrays, write_split};
use mrixai_core::progress::Silent;
use mrixai_core::{ArrayF, Explainable, LayerKind, WeightMap, WeightTransform};
use mrixai_zoo::weights::state_dict;
use mrixai_zoo::{Arch, FeatureItem, Init, OutDir, TrainConfig, Vgg, train};
use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand::seq::SliceRandom;
use std::path::PathBuf;

fn tiny(batch_norm: bool, in_channels: usize) -> Arch {
    Arch {
        family: "vgg".into(),
        in_channels,
        input_size: vec![16, 16],
        features: vec![
            FeatureItem::Conv(4),
            FeatureItem::Pool("M".into()),
            FeatureItem::Conv(8),
            FeatureItem::Pool("M".into()),
        ],
        avgpool: vec![2, 2],
        classifier: vec![16, 16],
        num_classes: 2,
        batch_norm,
        dropout: 0.5,
        input_norm: None,
    }
}

/// The volumetric twin of [`tiny`]: `[6, 8, 8]` volumes, Conv3d, MaxPool3d,
/// AdaptiveAvgPool3d `[1, 2, 2]`.
fn tiny3d(batch_norm: bool) -> Arch {
    Arch {
        input_size: vec![6, 8, 8],
        avgpool: vec![1, 2, 2],
        ..tiny(batch_norm, 1)
    }
}

fn tmp(name: &str) -> PathBuf {
    mrixai_testkit::fresh_path(&format!("zoo-{name}"))
}

/// Class 0: a bright 4×4 square top-left; class 1: bottom-right; on a noisy background.
fn squares(n: usize, seed: u64) -> SplitArrays {
    let mut rng = mrixai_core::seed::rng(seed, "squares");
    let mut images = ArrayD::<f32>::zeros(IxDyn(&[n, 1, 16, 16]));
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 2;
        for y in 0..16 {
            for x in 0..16 {
                images[[i, 0, y, x]] = 0.3 * rng.random::<f32>();
            }
        }
        let o = if c == 0 { 2 } else { 10 };
        for y in o..o + 4 {
            for x in o..o + 4 {
                images[[i, 0, y, x]] = 0.8 + 0.2 * rng.random::<f32>();
            }
        }
        labels.push(c as i64);
    }
    let masks = ArrayD::<u8>::zeros(IxDyn(&[n, 1, 16, 16]));
    SplitArrays {
        weights: masks.mapv(f32::from),
        images,
        masks,
        labels: ArrayD::from_shape_vec(IxDyn(&[n]), labels).unwrap(),
    }
}

fn random(shape: &[usize], seed: u64) -> ArrayF {
    let mut rng = mrixai_core::seed::rng(seed, "random");
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random::<f32>() * 2.0 - 1.0)
}

#[test]
fn tiny_training_learns_and_is_deterministic() {
    let arch = tiny(false, 1);
    let (tr, va) = (squares(64, 1), squares(32, 2));
    let cfg = TrainConfig {
        epochs: 12,
        batch_size: 16,
        patience: 12,
        ..TrainConfig::default()
    };
    let t = std::time::Instant::now();
    let a = train(&cfg, &arch, &tr, &va, None, 7, &Silent).unwrap();
    assert!(t.elapsed().as_secs_f64() < 30.0);
    assert!(
        a.curves.val_accuracy_best >= 0.9,
        "val accuracy {:?}",
        a.curves.val_accuracy
    );
    let x = squares(32, 3);
    let acc = mrixai_zoo::train::accuracy(
        &a.model.predict(x.images.view()).unwrap(),
        &x.label_indices(),
    );
    assert!(acc >= 0.9, "test accuracy {acc}");
    // same seed, same loss curve (bit for bit)
    let cfg2 = TrainConfig {
        epochs: 2,
        ..cfg.clone()
    };
    let b1 = train(&cfg2, &arch, &tr, &va, None, 3, &Silent).unwrap();
    let b2 = train(&cfg2, &arch, &tr, &va, None, 3, &Silent).unwrap();
    assert_eq!(b1.curves.train_loss, b2.curves.train_loss);
    assert_eq!(b1.curves.val_loss, b2.curves.val_loss);
    let c = train(&cfg2, &arch, &tr, &va, None, 4, &Silent).unwrap();
    assert_ne!(b1.curves.train_loss, c.curves.train_loss);
}

/// Class 0: a bright 2×3×3 block in one corner of a `[6, 8, 8]` volume, class 1: in the
/// opposite one; on a noisy background.
fn cubes(n: usize, seed: u64) -> SplitArrays {
    let mut rng = mrixai_core::seed::rng(seed, "cubes");
    let mut images = ArrayD::from_shape_fn(IxDyn(&[n, 1, 6, 8, 8]), |_| 0.3 * rng.random::<f32>());
    let labels: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
    for (i, &c) in labels.iter().enumerate() {
        let (d, o) = if c == 0 { (1, 1) } else { (3, 4) };
        images
            .slice_mut(ndarray::s![i, 0, d..d + 2, o..o + 3, o..o + 3])
            .mapv_inplace(|_| 0.9);
    }
    let masks = ArrayD::<u8>::zeros(IxDyn(&[n, 1, 6, 8, 8]));
    SplitArrays {
        weights: masks.mapv(f32::from),
        images,
        masks,
        labels: ArrayD::from_shape_vec(IxDyn(&[n]), labels).unwrap(),
    }
}

/// A volumetric model trains through burn's autodiff (with BatchNorm3d in training mode),
/// learns, is deterministic, and its checkpoint reloads to the same logits.
#[test]
fn tiny_volume_training_learns_and_reloads() {
    let arch = tiny3d(true);
    let (tr, va) = (cubes(32, 1), cubes(16, 2));
    let cfg = TrainConfig {
        epochs: 6,
        batch_size: 8,
        patience: 6,
        ..TrainConfig::default()
    };
    let a = train(&cfg, &arch, &tr, &va, None, 7, &Silent).unwrap();
    assert!(
        a.curves.val_accuracy_best >= 0.9,
        "val accuracy {:?}",
        a.curves.val_accuracy
    );
    let b = train(&cfg, &arch, &tr, &va, None, 7, &Silent).unwrap();
    assert_eq!(a.curves.train_loss, b.curves.train_loss);
    let dir = tmp("ckpt3d");
    a.model.save(&dir).unwrap();
    let back = Vgg::load(&dir).unwrap();
    let x = cubes(4, 3).images;
    assert_eq!(
        back.forward(x.view()).unwrap(),
        a.model.forward(x.view()).unwrap()
    );
    // a 2-D batch for a 3-D model is one clear error
    let e = train(&cfg, &arch, &squares(8, 1), &va, None, 7, &Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[N, C, D, H, W]"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn partial_init_and_freezing() {
    for bn in [false, true] {
        let arch = tiny(bn, 1);
        // a source with non-trivial BatchNorm parameters and statistics
        let src = train(
            &TrainConfig {
                epochs: 1,
                batch_size: 8,
                ..TrainConfig::default()
            },
            &arch,
            &squares(16, 8),
            &squares(8, 9),
            None,
            11,
            &Silent,
        )
        .unwrap()
        .model;
        let fresh = Vgg::init(&arch, 12).unwrap();
        let k = 3; // two convs (+ their BN) and classifier.0
        let m = Vgg::transfer_from(&arch, &src, k, 12).unwrap();
        let (s, f, got) = (
            state_dict(&src).unwrap(),
            state_dict(&fresh).unwrap(),
            state_dict(&m).unwrap(),
        );
        let pre = [
            "features.0.",
            "features.1.",
            "features.4.",
            "features.5.",
            "classifier.0.",
        ];
        let pre: Vec<&str> = if bn {
            pre.to_vec()
        } else {
            vec!["features.0.", "features.3.", "classifier.0."]
        };
        for (i, (name, _, v)) in got.iter().enumerate() {
            let from_src = pre.iter().any(|p| name.starts_with(p));
            assert_eq!(
                v,
                if from_src { &s[i].2 } else { &f[i].2 },
                "{name} (bn={bn})"
            );
        }
        assert!(
            Vgg::transfer_from(&arch, &src, 5, 0)
                .unwrap_err()
                .to_string()
                .contains("pretrained_layers")
        );

        // frozen layers stay bit-identical through training, the others move
        let (tr, va) = (squares(32, 5), squares(16, 6));
        let cfg = TrainConfig {
            epochs: 2,
            batch_size: 8,
            ..TrainConfig::default()
        };
        let init = Init {
            checkpoint: &src,
            pretrained_layers: 2,
            frozen: true,
        };
        let r = train(&cfg, &arch, &tr, &va, Some(init), 1, &Silent).unwrap();
        let after = state_dict(&r.model).unwrap();
        for (i, (name, _, v)) in after.iter().enumerate() {
            let frozen = if bn {
                ["features.0.", "features.1.", "features.4.", "features.5."]
                    .iter()
                    .any(|p| name.starts_with(p))
            } else {
                name.starts_with("features.0.") || name.starts_with("features.3.")
            };
            if frozen {
                assert_eq!(v, &s[i].2, "{name} changed although frozen");
            } else if name.ends_with("weight") {
                assert_ne!(v, &s[i].2, "{name} did not train");
            }
        }
        let unfrozen = train(
            &cfg,
            &arch,
            &tr,
            &va,
            Some(Init {
                frozen: false,
                ..init
            }),
            1,
            &Silent,
        )
        .unwrap();
        assert_ne!(state_dict(&unfrozen.model).unwrap()[0].2, s[0].2);
    }
}

#[test]
fn save_load_roundtrip_and_weight_errors() {
    let arch = tiny(true, 1);
    let m = Vgg::init(&arch, 3).unwrap();
    let dir = tmp("ckpt");
    m.save(&dir).unwrap();
    let back = Vgg::load(&dir).unwrap();
    assert_eq!(state_dict(&back).unwrap(), state_dict(&m).unwrap());
    let file = Vgg::load(&dir.join("model.safetensors")).unwrap();
    assert_eq!(state_dict(&file).unwrap(), state_dict(&m).unwrap());

    // architecture and weights disagree: a wider first conv
    let mut wide = arch.clone();
    wide.features[0] = FeatureItem::Conv(5);
    std::fs::write(dir.join("arch.json"), serde_json::to_string(&wide).unwrap()).unwrap();
    let e = Vgg::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("features.0.weight") && e.contains("[4, 1, 3, 3]"),
        "{e}"
    );

    // a missing tensor, an extra tensor
    let mut small = arch.clone();
    small.features.push(FeatureItem::Conv(8));
    std::fs::write(
        dir.join("arch.json"),
        serde_json::to_string(&small).unwrap(),
    )
    .unwrap();
    let e = Vgg::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("features.8.weight") && e.contains("missing"),
        "{e}"
    );
    let mut nobn = arch.clone();
    nobn.batch_norm = false;
    std::fs::write(dir.join("arch.json"), serde_json::to_string(&nobn).unwrap()).unwrap();
    let e = Vgg::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("features.3.weight") || e.contains("not part of the architecture"),
        "{e}"
    );

    // corrupt file, missing files, bad arch.json
    std::fs::write(dir.join("arch.json"), serde_json::to_string(&arch).unwrap()).unwrap();
    std::fs::write(
        dir.join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json",
    )
    .unwrap();
    let e = Vgg::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("safetensors"),
        "{e}"
    );
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    assert!(
        Vgg::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("model.safetensors")
    );
    std::fs::write(dir.join("arch.json"), b"{\"family\":\"vgg\"}").unwrap();
    let good = tmp("ckpt2");
    m.save(&good).unwrap();
    std::fs::copy(
        good.join("model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    assert!(
        Vgg::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("arch.json")
    );
    assert!(Vgg::load(&dir.join("nope")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&good);
}

#[test]
fn dataset_errors_and_cli_level_training() {
    let e = mrixai_zoo::train_on_dataset(
        &tmp("missing"),
        "vgg-small",
        &TrainConfig::default(),
        None,
        0,
        &OutDir::new(tmp("out")),
        &Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("dataset folder not found"), "{e}");
    // three-channel model on one-channel data is replicated; two channels are an error
    let m = Vgg::init(&tiny(false, 3), 0).unwrap();
    assert_eq!(
        m.prepare(random(&[2, 1, 16, 16], 1).view())
            .unwrap()
            .shape(),
        &[2, 3, 16, 16]
    );
    let e = m
        .prepare(random(&[2, 2, 16, 16], 1).view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 input channel"), "{e}");
    let one = Vgg::init(&tiny(false, 1), 0).unwrap();
    assert!(
        one.forward(random(&[2, 3, 16, 16], 1).view())
            .unwrap_err()
            .to_string()
            .contains("input")
    );

    // a real (tiny) dataset folder through the high-level entry point
    let ds = tmp("ds");
    write_split(&ds, Split::Train, &squares(32, 1)).unwrap();
    write_split(&ds, Split::Val, &squares(16, 2)).unwrap();
    write_split(&ds, Split::Test, &squares(16, 3)).unwrap();
    let arch_file = ds.join("tiny_arch.json");
    std::fs::write(&arch_file, serde_json::to_string(&tiny(false, 1)).unwrap()).unwrap();
    let out = tmp("trained");
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 8,
        ..TrainConfig::default()
    };
    let arch = arch_file.to_str().unwrap();
    let train_to = |o: &OutDir| mrixai_zoo::train_on_dataset(&ds, arch, &cfg, None, 0, o, &Silent);
    let info = train_to(&OutDir::new(&out)).unwrap();
    assert_eq!(info.epochs, 2);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = mrixai_zoo::CHECKPOINT_FILES
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    // an existing checkpoint is kept without replace, replaced with it
    let e = train_to(&OutDir::new(&out)).unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    train_to(&OutDir::replacing(&out)).unwrap();
    // a foreign file makes even a replacing run refuse, before training, leaving it in place
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let e = train_to(&OutDir::replacing(&out)).unwrap_err().to_string();
    assert!(e.contains("notes.txt"), "{e}");
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    let p = mrixai_zoo::predict_split(&out, &ds, Split::Test, mrixai_zoo::Compute::Cpu).unwrap();
    assert_eq!(
        (p.predicted.len(), p.labels.len(), p.probabilities[0].len()),
        (16, 16, 2)
    );
    let _ = std::fs::remove_dir_all(&ds);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn layer_vjp_matches_finite_differences() {
    let cases = [false, true].into_iter().flat_map(|bn| {
        [
            (tiny(bn, 1), vec![2, 1, 16, 16]),
            (tiny3d(bn), vec![2, 1, 6, 8, 8]),
        ]
    });
    for (arch, shape) in cases {
        let m = Vgg::init(&arch, 5).unwrap();
        let acts = m.activations(random(&shape, 9).view()).unwrap();
        for (i, act) in acts.iter().take(m.layers()).enumerate() {
            // distinct, evenly spaced input values in random order: a step of ±h·u can cross
            // neither a ReLU kink nor a max-pool tie, so finite differences are exact up to rounding
            let n = act.len();
            let mut vals: Vec<f32> = (0..n)
                .map(|k| -1.0 + (2 * k + 1) as f32 / n as f32)
                .collect();
            vals.shuffle(&mut mrixai_core::seed::rng(300 + i as u64, "fd"));
            let x = &ArrayF::from_shape_vec(act.raw_dim(), vals).unwrap();
            let h = 0.4 / n as f32;
            let y = m.layer_forward(i, x.view()).unwrap();
            let v = random(y.shape(), 100 + i as u64);
            let u = random(x.shape(), 200 + i as u64);
            for t in [
                WeightTransform::IDENTITY,
                WeightTransform {
                    weights: WeightMap::Gamma(0.25),
                    bias: false,
                },
            ] {
                let g = m.layer_vjp_with(i, x.view(), v.view(), t).unwrap();
                assert_eq!(g.shape(), x.shape());
                let (xp, xm) = (x + &(&u * h), x - &(&u * h));
                let (fp, fm) = (
                    m.layer_forward_with(i, xp.view(), t).unwrap(),
                    m.layer_forward_with(i, xm.view(), t).unwrap(),
                );
                let fd: f32 = ((&fp - &fm) * &v).sum() / (2.0 * h);
                let an: f32 = (&g * &u).sum();
                assert!(
                    (fd - an).abs() <= 2e-2 * an.abs().max(1.0),
                    "layer {} ({:?}): fd {fd} vs vjp {an}",
                    m.layer_name(i),
                    m.layer_kind(i)
                );
            }
        }
        assert_eq!(m.layer_kind(m.layers() - 1), LayerKind::Linear);
        assert_eq!(m.layer_name(m.layers() - 1), "classifier.6");
    }
}

#[test]
fn weight_transforms_and_max_pool_ties() {
    let m = Vgg::init(&tiny(false, 1), 5).unwrap();
    let x = random(&[1, 1, 16, 16], 4).mapv(f32::abs);
    let pos = m
        .layer_forward_with(
            0,
            x.view(),
            WeightTransform {
                weights: WeightMap::Positive,
                bias: false,
            },
        )
        .unwrap();
    assert!(pos.iter().all(|v| *v >= 0.0));
    let ones = m
        .layer_forward_with(
            0,
            x.view(),
            WeightTransform {
                weights: WeightMap::Ones,
                bias: false,
            },
        )
        .unwrap();
    assert!((ones[[0, 0, 5, 5]] - x.slice(ndarray::s![0, 0, 4..7, 4..7]).sum()).abs() < 1e-4);
    // max-pool ties: the whole gradient goes to the first maximum in row-major order
    let pool = (0..m.layers())
        .find(|&i| m.layer_kind(i) == LayerKind::MaxPool)
        .unwrap();
    let z = ArrayF::zeros(IxDyn(&[1, 4, 16, 16]));
    let g = m
        .layer_vjp(pool, z.view(), ArrayF::ones(IxDyn(&[1, 4, 8, 8])).view())
        .unwrap();
    assert_eq!(g[[0, 0, 0, 0]], 1.0);
    assert_eq!(g[[0, 0, 0, 1]] + g[[0, 0, 1, 0]] + g[[0, 0, 1, 1]], 0.0);
    assert_eq!(g.sum(), 4.0 * 64.0);
    // in volumes too, to the first maximum of the 2×2×2 window in C order
    let m3 = Vgg::init(&tiny3d(false), 5).unwrap();
    let z = ArrayF::zeros(IxDyn(&[1, 4, 6, 8, 8]));
    let g = m3
        .layer_vjp(pool, z.view(), ArrayF::ones(IxDyn(&[1, 4, 3, 4, 4])).view())
        .unwrap();
    assert_eq!(g[[0, 0, 0, 0, 0]], 1.0);
    assert_eq!(g.slice(ndarray::s![0, 0, 0..2, 0..2, 0..2]).sum(), 1.0);
    assert_eq!(g.sum(), 4.0 * 48.0);
}

/// 3-D max pooling takes the largest value of every 2×2×2 window (odd sizes floored).
#[test]
fn volume_max_pool_equals_its_definition() {
    let m3 = Vgg::init(&tiny3d(false), 5).unwrap();
    let pool = (0..m3.layers())
        .find(|&i| m3.layer_kind(i) == LayerKind::MaxPool)
        .unwrap();
    let x = random(&[2, 4, 5, 7, 9], 11);
    let y = m3.layer_forward(pool, x.view()).unwrap();
    assert_eq!(y.shape(), [2, 4, 2, 3, 4]);
    for ((n, c, d, h, w), v) in y
        .clone()
        .into_dimensionality::<ndarray::Ix5>()
        .unwrap()
        .indexed_iter()
    {
        let win = x.slice(ndarray::s![
            n,
            c,
            2 * d..2 * d + 2,
            2 * h..2 * h + 2,
            2 * w..2 * w + 2
        ]);
        assert_eq!(*v, win.fold(f32::NEG_INFINITY, |a, b| a.max(*b)));
    }
}

#[test]
fn procedural_task_is_seeded_and_well_formed() {
    let task = mrixai_zoo::OodTask {
        train_per_class: 3,
        val_per_class: 2,
        test_per_class: 1,
        size: 32,
        dims: 2,
    };
    let [tr, va, te] = mrixai_zoo::ood_shapes(&task, 5).unwrap();
    assert_eq!((tr.len(), va.len(), te.len()), (12, 8, 4));
    assert_eq!(tr, mrixai_zoo::ood_shapes(&task, 5).unwrap()[0]);
    assert_ne!(
        tr.images,
        mrixai_zoo::ood_shapes(&task, 6).unwrap()[0].images
    );
    tr.validate(std::path::Path::new("ood")).unwrap();
    assert!(tr.images.iter().all(|v| (0.0..=1.0).contains(v)));
    for (i, m) in tr.masks.outer_iter().enumerate() {
        assert!(m.iter().any(|&v| v == 1), "image {i} has no object");
    }
    assert_eq!(tr.label_indices().iter().filter(|&&l| l == 3).count(), 3);
    let tiny_size = mrixai_zoo::OodTask { size: 4, ..task };
    assert!(
        mrixai_zoo::ood_shapes(&tiny_size, 0)
            .unwrap_err()
            .to_string()
            .contains("size")
    );
}

#[test]
fn cascading_randomisation_keeps_the_leading_layers() {
    use mrixai_core::Randomizable;
    let arch = tiny(true, 1);
    let model = Vgg::init(&arch, 3).unwrap();
    let x = random(&[2, 1, 16, 16], 9);
    let total = Randomizable::weight_layers(&model);
    assert_eq!(total, arch.weight_layers());
    // depth 0 is the model itself
    let same = model.randomized_top_down(0, 1).unwrap();
    assert_eq!(
        same.forward(x.view()).unwrap(),
        model.forward(x.view()).unwrap()
    );
    // depth 1: the head is new, every layer before it is unchanged
    let top = model.randomized_top_down(1, 1).unwrap();
    assert_ne!(
        top.forward(x.view()).unwrap(),
        model.forward(x.view()).unwrap()
    );
    assert_eq!(
        top.layer_forward(0, x.view()).unwrap(),
        model.layer_forward(0, x.view()).unwrap()
    );
    // full depth: the first convolution is re-initialised too
    let all = model.randomized_top_down(total, 1).unwrap();
    assert_ne!(
        all.layer_forward(0, x.view()).unwrap(),
        model.layer_forward(0, x.view()).unwrap()
    );
    assert!(model.randomized_top_down(total + 1, 1).is_err());
}

/// `bytes` written to a scratch file and read by `read`: an error of one line naming the
/// file, or a value, never a panic.
fn one_line_or_ok<T>(
    name: &str,
    bytes: &[u8],
    read: impl Fn(&std::path::Path) -> mrixai_core::Result<T>,
) {
    let p = tmp("fuzz").join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    if let Err(e) = read(&p) {
        let msg = e.to_string();
        assert!(!msg.contains('\n') && msg.contains(name), "{msg}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Random bytes, truncations and byte flips of a valid `arch.json` and
    /// `model.safetensors` reach the readers as one clear error each.
    #[test]
    fn corrupted_arch_and_weights_are_one_line_errors(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        cut in 0usize..40_000,
        flip in 0usize..40_000,
        byte in proptest::prelude::any::<u8>(),
    ) {
        static SEED: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
        let (arch, weights) = SEED.get_or_init(|| {
            let d = tmp("fuzz-seed");
            Vgg::init(&tiny(false, 1), 0).unwrap().save(&d).unwrap();
            (
                std::fs::read(d.join("arch.json")).unwrap(),
                std::fs::read(d.join("model.safetensors")).unwrap(),
            )
        });
        for (name, valid) in [("arch.json", arch), ("model.safetensors", weights)] {
            let read = |p: &std::path::Path| -> mrixai_core::Result<()> {
                if name == "arch.json" {
                    Arch::read(p).map(|_| ())
                } else {
                    mrixai_zoo::weights::read(p).map(|_| ())
                }
            };
            one_line_or_ok(name, &junk, read);
            one_line_or_ok(name, &valid[..cut.min(valid.len())], read);
            let mut flipped = valid.clone();
            let at = flip % flipped.len();
            flipped[at] = byte;
            one_line_or_ok(name, &flipped, read);
        }
    }
}

/// A negative or fractional channel count in `arch.json` is refused in words, naming the
/// file, not with serde's "did not match any variant of untagged enum".
#[test]
fn bad_feature_entries_are_explained() {
    let d = tmp("bad-features");
    std::fs::create_dir_all(&d).unwrap();
    let good = serde_json::to_value(tiny(false, 1)).unwrap();
    for bad in [
        serde_json::json!(-16),
        serde_json::json!(2.5),
        serde_json::json!(true),
    ] {
        let mut v = good.clone();
        v["features"][0] = bad.clone();
        let p = d.join("arch.json");
        std::fs::write(&p, v.to_string()).unwrap();
        let e = Arch::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("is not a convolution width")
                && e.contains("arch.json")
                && !e.contains("untagged"),
            "{bad}: {e}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
