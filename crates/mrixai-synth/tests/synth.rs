//! End-to-end tests of the synthesiser on the committed MRI fixtures (tiny sizes).

use mrixai_core::dataset::{Split, read_split};
use mrixai_core::seed::rng;
use mrixai_synth::lesion::{LesionParams, Shape};
use mrixai_synth::subject::{Base, Subject};
use mrixai_synth::{
    Source, SplitFractions, SynthConfig, SynthOptions, Task, default_mri_dir, generate,
    load_sources, prepare_bases, synthesize, synthesize_from,
};
use rand::Rng as _;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn sources() -> &'static [Source] {
    static S: OnceLock<Vec<Source>> = OnceLock::new();
    S.get_or_init(|| load_sources(&default_mri_dir()).expect("committed fixtures load"))
}

fn bases32() -> &'static [Base] {
    static B: OnceLock<Vec<Base>> = OnceLock::new();
    B.get_or_init(|| prepare_bases(&tiny(), sources()))
}

fn tiny() -> SynthConfig {
    let mut c = SynthConfig::quick();
    c.size = vec![32, 32];
    c.subjects = 8;
    c.samples_per_subject = 4;
    c.split = SplitFractions {
        train: 0.5,
        val: 0.25,
        test: 0.25,
    };
    c
}

fn tmp(name: &str) -> PathBuf {
    mrixai_testkit::fresh_path(&format!("synth-test-{name}"))
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn committed_fixtures_load() {
    let s = sources();
    let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["ch2bet", "mni_icbm152_t1_tal_nlin_sym_09a_converted"]
    );
    let mni = &s[1];
    assert!(mni.files.gm.is_some() && mni.files.wm.is_some());
    assert_eq!(mni.t1.shape(), [189, 233, 197]);
    assert_eq!(s[0].t1.shape(), [181, 217, 181]);
    let expected = [
        (
            "ch2bet.nii.gz",
            "592a2d20abdf36eefcb540ca8958428040edffc1bc1a18ba1dcfbabac77c5dd1",
        ),
        (
            "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
            "421a10e872fd6cadae7f61d358dffbcc1795a497d61ee76c5dda2503e1a1e9e6",
        ),
        (
            "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
            "97a5ca69bd24db37a9cb7b32525e1733a209af904129bf1cd36da06d24243bed",
        ),
        (
            "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
            "382d92812de4744f9c86c7a0e4f680dc317a0a50e4da1f0153618a6798c7b7db",
        ),
    ];
    let all: Vec<(String, String)> = s
        .iter()
        .flat_map(|s| {
            s.checksums.iter().map(|(p, h)| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    h.clone(),
                )
            })
        })
        .collect();
    for (f, h) in expected {
        assert!(
            all.iter().any(|(a, b)| a == f && b == h),
            "checksum of {f} differs from docs/DATA.md"
        );
    }
    for src in s {
        let brain = src.brain.iter().filter(|&&b| b >= 0.5).count();
        let total = src.brain.len();
        // A brain fills roughly 10-40 % of these head/brain boxes.
        assert!(
            brain > total / 20 && brain < total / 2,
            "{}: {brain} of {total}",
            src.name
        );
        // Superior half of the canonical grid holds the top of the brain: more brain in the
        // middle level than near the top or bottom border.
        let nz = src.brain.shape()[0];
        let lvl = |z: usize| {
            src.brain
                .index_axis(ndarray::Axis(0), z)
                .iter()
                .filter(|&&b| b >= 0.5)
                .count()
        };
        assert!(lvl(nz / 2) > lvl(nz - 3) && lvl(nz / 2) > lvl(2));
    }
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let (a, b) = (tmp("same-a"), tmp("same-b"));
    let opts = SynthOptions {
        preview: 6,
        nifti: true,
        ..Default::default()
    };
    let sa = synthesize_from(&tiny(), 11, sources(), &a, &opts).unwrap();
    synthesize_from(&tiny(), 11, sources(), &b, &opts).unwrap();
    assert_eq!(sa.counts, [16, 8, 8]);
    let (fa, fb) = (files_of(&a), files_of(&b));
    assert!(fa.iter().any(|(n, _)| n == "preview.png"));
    assert!(fa.iter().any(|(n, _)| n.ends_with("images.nii.gz")));
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two runs with the same seed");
    }
    // The written split reads back through the core reader, with the NIfTI copy loadable.
    let test = read_split(&a, Split::Test).unwrap();
    assert_eq!(test.images.shape(), [8, 1, 32, 32]);
    let nii = nifti::ReaderOptions::new()
        .read_file(a.join("test/images.nii.gz"))
        .unwrap();
    use nifti::NiftiObject;
    assert_eq!(&nifti::NiftiVolume::dim(nii.volume()), &[32, 32, 8]);
    // Same result on one thread as on many.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one = pool.install(|| generate(&tiny(), 11, bases32(), &|| ()).unwrap());
    assert_eq!(one[2].arrays, test);
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn different_seeds_and_subjects_differ() {
    let cfg = tiny();
    let g1 = generate(&cfg, 1, bases32(), &|| ()).unwrap();
    let g2 = generate(&cfg, 2, bases32(), &|| ()).unwrap();
    assert_ne!(g1[0].arrays.images, g2[0].arrays.images);
    // Every subject of a base renders a different background at the same level.
    let base = &bases32()[1];
    let z = base.valid_levels(cfg.slices.level_range, cfg.slices.min_brain_fraction)[3];
    let renders: Vec<Vec<f32>> = (0..6)
        .map(|id| {
            Subject::random(
                id,
                1,
                base.dims,
                &cfg.subject,
                &mut rng(5, &format!("subject/{id}")),
            )
            .render(base, &[z])
            .0
        })
        .collect();
    for i in 0..renders.len() {
        for j in i + 1..renders.len() {
            let diff: f32 = renders[i]
                .iter()
                .zip(&renders[j])
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / renders[i].len() as f32;
            assert!(
                diff > 1e-3,
                "subjects {i} and {j} share a background (mean |diff| {diff})"
            );
        }
    }
}

#[test]
fn masks_inside_brain_balanced_classes_and_no_leakage() {
    let mut cfg = tiny();
    cfg.subjects = 12;
    cfg.lesion.per_image = [1, 2];
    cfg.lesion.area_fraction = [0.01, 0.03]; // two lesions per image must fit in small slices
    let g = generate(&cfg, 3, bases32(), &|| ()).unwrap();
    let mut seen: Vec<BTreeSet<usize>> = Vec::new();
    for s in &g {
        let a = &s.arrays;
        let n = a.len();
        let mut counts = [0usize; 2];
        for (k, &l) in a.labels.iter().enumerate() {
            counts[l as usize] += 1;
            let img = a.images.index_axis(ndarray::Axis(0), k);
            let msk = a.masks.index_axis(ndarray::Axis(0), k);
            let w = a.weights.index_axis(ndarray::Axis(0), k);
            let area = msk.iter().filter(|&&m| m == 1).count();
            assert!(area > 0, "lesion image without lesion");
            assert_eq!(
                area,
                s.meta[k].lesions.iter().map(|l| l.area).sum::<usize>()
            );
            for ((&m, &v), &wv) in msk.iter().zip(img.iter()).zip(w.iter()) {
                assert!((0.0..=1.0).contains(&v) && (0.0..=1.0).contains(&wv));
                if m == 1 {
                    assert!(v > 0.0, "lesion voxel outside the brain");
                    assert!(wv >= 0.5);
                }
                if v == 0.0 {
                    assert_eq!(wv, 0.0, "weight outside the brain");
                }
            }
            // Background outside the brain is exactly zero.
            assert_eq!(img[[0, 0, 0]], 0.0);
        }
        assert!(
            counts[0].abs_diff(counts[1]) <= 1,
            "{:?}: unbalanced {counts:?}",
            s.split
        );
        assert_eq!(n, counts[0] + counts[1]);
        let subj: BTreeSet<usize> = s.meta.iter().map(|m| m.subject).collect();
        assert_eq!(subj, s.subjects.iter().copied().collect::<BTreeSet<_>>());
        seen.push(subj);
    }
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(
                seen[i].is_disjoint(&seen[j]),
                "a subject appears in two splits"
            );
        }
    }
    assert_eq!(seen.iter().map(BTreeSet::len).sum::<usize>(), 12);
}

/// Two-sample Kolmogorov–Smirnov test: (statistic, asymptotic p-value).
fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let en = (n * m / (n + m)).sqrt();
    let lambda = (en + 0.12 + 0.11 / en) * d;
    let mut p = 0.0;
    for k in 1..=100 {
        let t = 2.0 * (-1f64).powi(k - 1) * (-2.0 * (k as f64).powi(2) * lambda * lambda).exp();
        p += t;
        if t.abs() < 1e-12 {
            break;
        }
    }
    (d, p.clamp(0.0, 1.0))
}

#[test]
fn lesion_area_and_contrast_distributions_match_across_classes() {
    let cfg = SynthConfig::quick().lesion;
    let n = 600;
    let mut stats: Vec<[Vec<f64>; 3]> = Vec::new();
    for shape in [Shape::Regular, Shape::Irregular] {
        let mut r = rng(2024, &format!("ks/{}", shape.name()));
        let mut area = Vec::new();
        let mut contrast = Vec::new();
        let mut soft = Vec::new();
        for _ in 0..n {
            let p = LesionParams::draw(&cfg, shape, 2, 64 * 64, &mut r);
            let c = [
                0.0,
                48.0 + r.random_range(-0.5f32..0.5),
                48.0 + r.random_range(-0.5f32..0.5),
            ];
            let fp = p.render(c, [1, 96, 96]);
            area.push(fp.area as f64);
            contrast.push(f64::from(p.contrast));
            soft.push(f64::from(p.softness));
        }
        stats.push([area, contrast, soft]);
    }
    for (k, name) in ["area", "contrast", "softness"].iter().enumerate() {
        let (d, p) = ks(&stats[0][k], &stats[1][k]);
        assert!(
            p > 0.05,
            "{name}: KS D = {d:.3}, p = {p:.4} — classes differ"
        );
    }
    // The test has power: shifted areas are detected.
    let shifted: Vec<f64> = stats[1][0].iter().map(|a| a * 1.15).collect();
    assert!(ks(&stats[0][0], &shifted).1 < 0.05);
    // And the shapes really differ: irregular boundaries are longer for the same area, by
    // more the lower the difficulty.
    let perimeter = |cfg: &mrixai_synth::LesionConfig, shape: Shape| {
        let mut r = rng(9, shape.name());
        let mut total = 0usize;
        for _ in 0..100 {
            let p = LesionParams::draw(cfg, shape, 2, 64 * 64, &mut r);
            let fp = p.render([0.0, 48.0, 48.0], [1, 96, 96]);
            let inside: BTreeSet<usize> = fp
                .index
                .iter()
                .zip(&fp.inside)
                .filter(|x| *x.1)
                .map(|x| *x.0)
                .collect();
            total += inside
                .iter()
                .filter(|&&i| {
                    [i - 1, i + 1, i - 96, i + 96]
                        .iter()
                        .any(|j| !inside.contains(j))
                })
                .count();
        }
        total as f64
    };
    let ratio = |difficulty: f32| {
        let c = mrixai_synth::LesionConfig {
            difficulty,
            ..cfg.clone()
        };
        perimeter(&c, Shape::Irregular) / perimeter(&c, Shape::Regular)
    };
    let (easy, default, hard) = (ratio(0.0), ratio(cfg.difficulty), ratio(1.0));
    assert!(
        easy > default && default > hard && default > 1.05,
        "perimeter ratios {easy} {default} {hard}"
    );
}

#[test]
fn placed_lesions_keep_the_same_distributions_in_both_classes() {
    // End to end: after placement in real brains (white matter only), the lesions of the two
    // classes still share their size, contrast and softness distributions.
    let mut cfg = tiny();
    cfg.subjects = 50;
    cfg.samples_per_subject = 24;
    cfg.split = SplitFractions {
        train: 0.6,
        val: 0.2,
        test: 0.2,
    };
    let g = generate(&cfg, 21, bases32(), &|| ()).unwrap();
    let mut per: [[Vec<f64>; 4]; 2] = Default::default();
    for m in g.iter().flat_map(|s| &s.meta) {
        for l in &m.lesions {
            let v = &mut per[m.label];
            v[0].push(l.area as f64);
            v[1].push(f64::from(l.target_area));
            v[2].push(f64::from(l.contrast));
            v[3].push(f64::from(l.softness));
        }
    }
    assert!(per[0][0].len() >= 500 && per[1][0].len() >= 500);
    for (k, name) in ["area", "target_area", "contrast", "softness"]
        .iter()
        .enumerate()
    {
        let (d, p) = ks(&per[0][k], &per[1][k]);
        assert!(p > 0.05, "placed {name}: KS D = {d:.3}, p = {p:.4}");
    }
}

#[test]
fn three_d_volumes_through_the_same_api() {
    let mut cfg = tiny();
    cfg.dims = 3;
    cfg.size = vec![16, 20, 16];
    cfg.samples_per_subject = 2;
    cfg.lesion.area_fraction = [0.004, 0.01];
    let out = tmp("3d");
    let s = synthesize_from(
        &cfg,
        5,
        sources(),
        &out,
        &SynthOptions {
            preview: 4,
            nifti: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.sample_shape, [1, 16, 20, 16]);
    let test = read_split(&out, Split::Test).unwrap();
    assert_eq!(test.images.shape(), [4, 1, 16, 20, 16]);
    assert!(test.masks.iter().any(|&m| m == 1));
    let info = mrixai_core::dataset::read_info(&out).unwrap();
    assert_eq!(info["sample_shape"], serde_json::json!([1, 16, 20, 16]));
    std::fs::remove_dir_all(&out).unwrap();
    // slice-sized lesions do not fit a volume: the hint speaks of volumes, not of the 2-D-only
    // slices section
    cfg.lesion.area_fraction = [0.05, 0.07];
    let e = synthesize_from(&cfg, 5, sources(), &out, &SynthOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("in 3-D") && !e.contains("slices."), "{e}");
    assert!(!out.exists());
}

#[test]
fn anatomy_and_presence_tasks() {
    let mut cfg = tiny();
    cfg.task = Task::Anatomy;
    cfg.anatomy.bins = 3;
    let g = generate(&cfg, 4, bases32(), &|| ()).unwrap();
    for s in &g {
        assert!(s.arrays.masks.iter().all(|&m| m == 0));
        assert!(s.arrays.labels.iter().all(|&l| (0..3).contains(&l)));
        for m in &s.meta {
            let f = m.level_fraction.unwrap();
            let bin = ((f - 0.3) / 0.5 * 3.0).floor().clamp(0.0, 2.0) as usize;
            assert_eq!(bin, m.label, "level fraction {f} in the wrong class");
        }
    }
    cfg.task = Task::Presence;
    let g = generate(&cfg, 4, bases32(), &|| ()).unwrap();
    for s in &g {
        for (k, m) in s.meta.iter().enumerate() {
            let area = s
                .arrays
                .masks
                .index_axis(ndarray::Axis(0), k)
                .iter()
                .filter(|&&v| v == 1)
                .count();
            assert_eq!(area > 0, m.label == 1);
            assert!(
                m.lesions
                    .iter()
                    .all(|l| l.shape == Shape::Blob || l.shape == Shape::Ring)
            );
        }
    }
}

#[test]
fn committed_configs_match_the_presets() {
    let root = default_mri_dir().join("../..");
    let quick = SynthConfig::from_toml_file(&root.join("configs/synth-quick.toml")).unwrap();
    let paper = SynthConfig::from_toml_file(&root.join("configs/synth-paper.toml")).unwrap();
    assert_eq!(quick, SynthConfig::quick());
    assert_eq!(paper, SynthConfig::paper());
    let tiny = SynthConfig::from_toml_file(&root.join("configs/synth-tiny.toml")).unwrap();
    assert_eq!(tiny.subjects_per_split(), [12, 4, 4]);
}

fn write_nifti(path: &Path, shape: &[usize], value: impl Fn(usize) -> f32) {
    let n: usize = shape.iter().product();
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), (0..n).map(value).collect())
        .unwrap();
    nifti::writer::WriterOptions::new(path)
        .write_nifti(&a)
        .unwrap();
}

#[test]
fn bad_inputs_name_the_culprit_and_leave_no_output() {
    let base = tmp("bad");
    std::fs::create_dir_all(&base).unwrap();
    let ch2 = std::fs::read(default_mri_dir().join("ch2bet.nii.gz")).unwrap();
    type Make = Box<dyn Fn(&Path) -> PathBuf>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "missing",
            Box::new(|d| d.join("does-not-exist")),
            "not found",
        ),
        (
            "empty-folder",
            Box::new(|d| d.to_path_buf()),
            "no T1 volume",
        ),
        (
            "corrupt",
            Box::new(|d| {
                std::fs::write(
                    d.join("corrupt.nii"),
                    b"this is not a nifti file at all, just some bytes".repeat(20),
                )
                .unwrap();
                d.join("corrupt.nii")
            }),
            "NIfTI",
        ),
        (
            "truncated",
            Box::new(move |d| {
                std::fs::write(d.join("cut.nii.gz"), &ch2[..ch2.len() / 2]).unwrap();
                d.join("cut.nii.gz")
            }),
            "truncated",
        ),
        (
            "two-d",
            Box::new(|d| {
                write_nifti(&d.join("flat.nii"), &[30, 30], |i| i as f32);
                d.join("flat.nii")
            }),
            "expected a 3-D volume",
        ),
        (
            "four-d",
            Box::new(|d| {
                write_nifti(&d.join("series.nii.gz"), &[20, 20, 20, 3], |i| i as f32);
                d.join("series.nii.gz")
            }),
            "expected a 3-D volume",
        ),
        (
            "empty-brain",
            Box::new(|d| {
                write_nifti(&d.join("zeros.nii.gz"), &[20, 20, 20], |_| 0.0);
                d.join("zeros.nii.gz")
            }),
            "empty brain",
        ),
        (
            "nan",
            Box::new(|d| {
                write_nifti(&d.join("nan.nii"), &[20, 20, 20], |i| {
                    if i == 7 { f32::NAN } else { 1.0 }
                });
                d.join("nan.nii")
            }),
            "non-finite",
        ),
    ];
    for (name, make, needle) in cases {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let culprit = make(&dir);
        let mri = if culprit.is_dir() || !culprit.exists() {
            culprit.clone()
        } else {
            dir.clone()
        };
        let out = base.join(format!("out-{name}"));
        let e = synthesize(&tiny(), 1, Some(&mri), &out, &SynthOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&culprit.display().to_string()),
            "{name}: error does not name {}: {e}",
            culprit.display()
        );
        assert!(e.contains(needle), "{name}: expected `{needle}` in: {e}");
        assert!(!out.exists(), "{name}: output folder left behind");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// A synthetic ball is a valid user volume (accepted without tissue maps); an impossible
/// config names its field and leaves no output; an existing folder is not replaced without
/// force.
#[test]
fn a_ball_is_a_volume_and_bad_configs_leave_no_output() {
    let base = tmp("bad-config");
    let ball = |i: usize| {
        let (z, y, x) = (i / 900, (i / 30) % 30, i % 30);
        let d = ((z as f32 - 15.0).powi(2) + (y as f32 - 15.0).powi(2) + (x as f32 - 15.0).powi(2))
            .sqrt();
        if d < 12.0 { 100.0 + x as f32 } else { 0.0 }
    };
    let ok = base.join("ok");
    std::fs::create_dir_all(&ok).unwrap();
    write_nifti(&ok.join("ball.nii.gz"), &[30, 30, 30], ball);
    let src = load_sources(&ok).unwrap();
    assert_eq!(src.len(), 1);
    assert!(src[0].wm.iter().any(|&w| w > 0.5) && src[0].wm.iter().any(|&w| w < 0.5));
    // Impossible config: named field, no output.
    let mut cfg = tiny();
    cfg.lesion.area_fraction = [0.3, 0.6];
    let out = base.join("out-config");
    let e = synthesize(&cfg, 1, None, &out, &SynthOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("lesion.area_fraction"), "{e}");
    assert!(!out.exists());
    // An existing folder is not replaced without force.
    std::fs::create_dir_all(&out).unwrap();
    let e = synthesize_from(&tiny(), 1, sources(), &out, &SynthOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Valid bytes of a synthesis config and of a small NIfTI volume, to corrupt.
    fn seeds() -> &'static (Vec<u8>, Vec<u8>) {
        static S: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        S.get_or_init(|| {
            let root = default_mri_dir().join("../..");
            let toml = std::fs::read(root.join("configs/synth-tiny.toml")).unwrap();
            let p = tmp("fuzz-seed").join("v.nii");
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            write_nifti(&p, &[6, 5, 4], |i| i as f32);
            (toml, std::fs::read(&p).unwrap())
        })
    }

    /// `bytes` written to a scratch file and read by `read`: an error of one line naming the
    /// file, or a value, never a panic or a hang.
    fn one_line_or_ok<T>(name: &str, bytes: &[u8], read: impl Fn(&Path) -> mrixai_core::Result<T>) {
        let p = tmp("fuzz").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        if let Err(e) = read(&p) {
            let msg = e.to_string();
            assert!(!msg.contains('\n') && msg.contains(name), "{msg}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random bytes, truncations and byte flips of a valid synthesis config and NIfTI
        /// volume reach the readers as one clear error each.
        #[test]
        fn corrupted_configs_and_volumes_are_one_line_errors(
            junk in prop::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..2000,
            flip in 0usize..2000,
            byte in any::<u8>(),
        ) {
            let (toml, nii) = seeds();
            for (name, valid) in [("c.toml", toml), ("v.nii", nii)] {
                let read = |p: &Path| -> mrixai_core::Result<()> {
                    if name.ends_with(".toml") {
                        SynthConfig::from_toml_file(p).map(|_| ())
                    } else {
                        mrixai_synth::load_nifti(p).map(|_| ())
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn footprints_are_bounded_and_hit_their_area(
            seed in 0u64..1000,
            lo in 0.005f32..0.03,
            span in 0.0f32..0.02,
            soft in 0.0f32..0.5,
            irregular in any::<bool>(),
            dy in -0.5f32..0.5,
            dx in -0.5f32..0.5,
        ) {
            let mut cfg = SynthConfig::quick().lesion;
            cfg.area_fraction = [lo, lo + span];
            cfg.edge_softness = [0.0, soft];
            let shape = if irregular { Shape::Irregular } else { Shape::Regular };
            let p = LesionParams::draw(&cfg, shape, 2, 64 * 64, &mut rng(seed, "prop"));
            let fp = p.render([0.0, 40.0 + dy, 40.0 + dx], [1, 80, 80]);
            prop_assert!(fp.weight.iter().all(|w| (0.0..=1.0).contains(w)));
            prop_assert!(fp.index.iter().all(|&i| i < 80 * 80));
            let rel = (fp.area as f32 - p.target_area).abs() / p.target_area;
            prop_assert!(rel < 0.15, "area {} target {}", fp.area, p.target_area);
            // The binary mask is the continuous weight thresholded at ½ (up to f32 rounding).
            for (&w, &ins) in fp.weight.iter().zip(&fp.inside) {
                if ins {
                    prop_assert!(w >= 0.5 - 1e-6, "inside voxel with weight {}", w);
                } else {
                    prop_assert!(w <= 0.5 + 1e-6, "outside voxel with weight {}", w);
                }
            }
        }

        #[test]
        fn validation_never_panics_and_accepted_configs_are_consistent(
            a in -0.1f32..0.4, b in -0.1f32..0.4, train in 0.0f64..1.0, val in 0.0f64..1.0,
            subjects in 0usize..50, h in 0usize..80,
        ) {
            let mut c = tiny();
            c.lesion.area_fraction = [a, b];
            c.split = SplitFractions { train, val, test: 1.0 - train - val };
            c.subjects = subjects;
            c.size = vec![h, 32];
            if c.validate().is_ok() {
                prop_assert!(a > 0.0 && a <= b);
                let per = c.subjects_per_split();
                prop_assert!(per.iter().all(|&n| n > 0));
                prop_assert_eq!(per.iter().sum::<usize>(), subjects);
            }
        }
    }
}

/// Nothing but the boundary tells the classes apart: a probe given a lesion's area,
/// contrast, softness, elongation and interior heterogeneity — the best single-feature
/// threshold, and a linear discriminant on all five, each fitted on one half and tested on
/// the other — stays at chance.
#[test]
fn shared_lesion_parameters_do_not_predict_the_class() {
    let cfg = SynthConfig::quick().lesion;
    let draw = |shape: Shape, seed: u64| -> Vec<[f64; 5]> {
        let mut r = rng(seed, &format!("probe/{}", shape.name()));
        (0..400)
            .map(|_| {
                let p = LesionParams::draw(&cfg, shape, 2, 64 * 64, &mut r);
                [
                    f64::from(p.target_area),
                    f64::from(p.contrast),
                    f64::from(p.softness),
                    f64::from(p.aspect),
                    f64::from(p.heterogeneity),
                ]
            })
            .collect()
    };
    let (train0, train1) = (draw(Shape::Regular, 1), draw(Shape::Irregular, 1));
    let (test0, test1) = (draw(Shape::Regular, 2), draw(Shape::Irregular, 2));
    let accuracy = |f: usize, t: f64, above_is_1: bool, a: &[[f64; 5]], b: &[[f64; 5]]| {
        let hit = |x: &[f64; 5], one: bool| (x[f] > t) == (above_is_1 == one);
        (a.iter().filter(|x| hit(x, false)).count() + b.iter().filter(|x| hit(x, true)).count())
            as f64
            / (a.len() + b.len()) as f64
    };
    for f in 0..5 {
        // best threshold and direction on the training half
        let mut best = (0.0, 0.0, true);
        for x in train0.iter().chain(&train1) {
            for dir in [true, false] {
                let acc = accuracy(f, x[f], dir, &train0, &train1);
                if acc > best.0 {
                    best = (acc, x[f], dir);
                }
            }
        }
        let held_out = accuracy(f, best.1, best.2, &test0, &test1);
        assert!(
            held_out < 0.57,
            "feature {f} predicts the class: {held_out:.3}"
        );
    }
    // all five together: Fisher's linear discriminant fitted on the training half
    let w = fisher_direction(&train0, &train1);
    let project = |v: &[[f64; 5]]| -> Vec<[f64; 5]> {
        v.iter()
            .map(|x| {
                [
                    x.iter().zip(&w).map(|(a, b)| a * b).sum(),
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                ]
            })
            .collect()
    };
    let (p0, p1) = (project(&train0), project(&train1));
    let mut best = (0.0, 0.0, true);
    for x in p0.iter().chain(&p1) {
        for dir in [true, false] {
            let acc = accuracy(0, x[0], dir, &p0, &p1);
            if acc > best.0 {
                best = (acc, x[0], dir);
            }
        }
    }
    let held_out = accuracy(0, best.1, best.2, &project(&test0), &project(&test1));
    assert!(
        held_out < 0.57,
        "a linear probe on all five predicts the class: {held_out:.3}"
    );
}

/// Fisher's discriminant direction S⁻¹(μ₁ − μ₀) of two samples of 5 features (pooled
/// covariance, solved by Cholesky).
fn fisher_direction(a: &[[f64; 5]], b: &[[f64; 5]]) -> [f64; 5] {
    let mean = |v: &[[f64; 5]]| {
        let mut m = [0.0; 5];
        for x in v {
            for (mi, xi) in m.iter_mut().zip(x) {
                *mi += xi / v.len() as f64;
            }
        }
        m
    };
    let (ma, mb) = (mean(a), mean(b));
    let mut s = [0.0; 25];
    for (v, m) in [(a, ma), (b, mb)] {
        for x in v {
            for (k, c) in s.iter_mut().enumerate() {
                *c += (x[k / 5] - m[k / 5]) * (x[k % 5] - m[k % 5]);
            }
        }
    }
    for d in s.iter_mut().step_by(6) {
        *d += 1e-12; // a constant feature stays solvable
    }
    let mut w: [f64; 5] = std::array::from_fn(|i| mb[i] - ma[i]);
    assert!(
        mrixai_core::cholesky::factor(&mut s, 5),
        "pooled covariance not positive definite"
    );
    mrixai_core::cholesky::solve_lower(&s, 5, &mut w, 1);
    mrixai_core::cholesky::solve_upper_t(&s, 5, &mut w);
    w
}

/// A volume whose header gives no orientation (sform and qform codes 0) is read with its
/// voxel axes as world axes, and the source says so in a warning that the binary prints.
#[test]
fn volume_without_orientation_is_read_with_a_warning() {
    use std::io::Read as _;
    let gz = std::fs::read(default_mri_dir().join("ch2bet.nii.gz")).unwrap();
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    let dir = tmp("unoriented");
    std::fs::create_dir_all(&dir).unwrap();
    let oriented = dir.join("oriented.nii");
    std::fs::write(&oriented, &raw).unwrap();
    raw[252..256].fill(0); // qform_code, sform_code (int16 each)
    let plain = dir.join("plain.nii");
    std::fs::write(&plain, &raw).unwrap();
    assert!(mrixai_synth::load_nifti(&oriented).unwrap().oriented);
    let v = mrixai_synth::load_nifti(&plain).unwrap();
    assert!(!v.oriented);
    std::fs::remove_file(&oriented).unwrap();
    let s = load_sources(&dir).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].warnings.len(), 1, "{:?}", s[0].warnings);
    assert!(s[0].warnings[0].contains("plain.nii") && s[0].warnings[0].contains("sform"));
    assert!(sources().iter().all(|s| s.warnings.is_empty()));
    std::fs::remove_dir_all(&dir).unwrap();
}
