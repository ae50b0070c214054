//! Sample generation: subjects → splits → labelled images with ground-truth footprints.

use crate::config::{SynthConfig, Task};
use crate::lesion::{LesionParams, Shape};
use crate::subject::{Base, Subject};
use mrixai_core::dataset::{Split, SplitArrays};
use mrixai_core::seed::{Rng, rng};
use mrixai_core::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use rand::Rng as _;
use rand::seq::SliceRandom;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// What is recorded about one lesion of a sample.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LesionMeta {
    /// Shape family.
    pub shape: Shape,
    /// Centre of mass of the binary footprint `[z, y, x]` (z = 0 for 2-D).
    pub centre: [f32; 3],
    /// Voxels inside the binary footprint.
    pub area: usize,
    /// Area the lesion was drawn with.
    pub target_area: f32,
    /// Signed relative intensity change.
    pub contrast: f32,
    /// Edge sigma as a fraction of the equivalent radius.
    pub softness: f32,
    /// Long / short axis ratio.
    pub aspect: f32,
}

/// What is recorded about one sample (one row of `meta.csv`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleMeta {
    /// Index within the split.
    pub index: usize,
    /// Virtual subject id.
    pub subject: usize,
    /// Name of the base volume.
    pub base: String,
    /// Axial level on the working grid (2-D), `None` for volumes.
    pub level: Option<usize>,
    /// Relative axial level (0 = lowest brain level, 1 = highest), 2-D only.
    pub level_fraction: Option<f32>,
    /// Class label.
    pub label: usize,
    /// Class name.
    pub class_name: String,
    /// Subject intensity gamma.
    pub gamma: f32,
    /// Noise standard deviation of the image.
    pub noise_std: f32,
    /// The lesions (empty for lesion-free samples).
    pub lesions: Vec<LesionMeta>,
}

/// One generated split.
#[derive(Debug, Clone)]
pub struct GeneratedSplit {
    /// Which split.
    pub split: Split,
    /// The arrays.
    pub arrays: SplitArrays,
    /// One record per sample.
    pub meta: Vec<SampleMeta>,
    /// Subject ids of the split (sorted).
    pub subjects: Vec<usize>,
}

/// Assigns subject ids `0..subjects` to splits (disjoint, seeded).
pub fn assign_subjects(cfg: &SynthConfig, seed: u64) -> [Vec<usize>; 3] {
    let mut ids: Vec<usize> = (0..cfg.subjects).collect();
    ids.shuffle(&mut rng(seed, "split/subjects"));
    let [a, b, _] = cfg.subjects_per_split();
    let mut out = [
        ids[..a].to_vec(),
        ids[a..a + b].to_vec(),
        ids[a + b..].to_vec(),
    ];
    for v in &mut out {
        v.sort_unstable();
    }
    out
}

/// Levels grouped by anatomy class bin for one base.
fn anatomy_bins(base: &Base, cfg: &SynthConfig, valid: &[usize]) -> Vec<Vec<usize>> {
    let n = cfg.anatomy.bins;
    let [a, b] = cfg.slices.level_range;
    let mut bins = vec![Vec::new(); n];
    for &z in valid {
        let f = base.level_fraction(z);
        let t = ((f - a) / (b - a).max(f32::EPSILON) * n as f32).floor() as isize;
        bins[t.clamp(0, n as isize - 1) as usize].push(z);
    }
    bins
}

struct Ctx<'a> {
    cfg: &'a SynthConfig,
    bases: &'a [Base],
    subjects: &'a [Subject],
    valid: Vec<Vec<usize>>,
    bins: Vec<Vec<Vec<usize>>>,
    class_names: Vec<String>,
}

struct Out<'a> {
    image: &'a mut [f32],
    mask: &'a mut [u8],
    weight: &'a mut [f32],
}

fn shape_for(task: Task, label: usize, rng: &mut Rng) -> Option<Shape> {
    match task {
        Task::Lesion => Some(if label == 0 {
            Shape::Regular
        } else {
            Shape::Irregular
        }),
        Task::Presence => (label == 1).then(|| {
            if rng.random_bool(0.5) {
                Shape::Blob
            } else {
                Shape::Ring
            }
        }),
        Task::Anatomy => None,
    }
}

/// Tries to place `params` inside the brain (and white matter if configured) without
/// overlapping earlier lesions.
#[allow(clippy::too_many_arguments)]
fn place(
    ctx: &Ctx,
    params: &LesionParams,
    dims: [usize; 3],
    brain: &[f32],
    wm: &[f32],
    taken: &[bool],
    candidates: &[usize],
    rng: &mut Rng,
) -> Option<crate::lesion::Footprint> {
    let l = &ctx.cfg.lesion;
    if candidates.is_empty() {
        return None;
    }
    for _ in 0..60 {
        let c = candidates[rng.random_range(0..candidates.len())];
        let (z, y, x) = (
            c / (dims[1] * dims[2]),
            (c / dims[2]) % dims[1],
            c % dims[2],
        );
        let jitter = |r: &mut Rng| r.random_range(-0.5f32..0.5);
        let centre = if ctx.cfg.dims == 2 {
            [z as f32, y as f32 + jitter(rng), x as f32 + jitter(rng)]
        } else {
            [
                z as f32 + jitter(rng),
                y as f32 + jitter(rng),
                x as f32 + jitter(rng),
            ]
        };
        let fp = params.render(centre, dims);
        if fp.area == 0 {
            continue;
        }
        let mut ok = true;
        let mut in_wm = 0usize;
        for (&i, &ins) in fp.index.iter().zip(&fp.inside) {
            if ins {
                if brain[i] < 0.5 || taken[i] {
                    ok = false;
                    break;
                }
                if wm[i] >= l.wm_threshold {
                    in_wm += 1;
                }
            }
        }
        if ok && l.white_matter_only && (in_wm as f32) < l.min_wm_overlap * fp.area as f32 {
            ok = false;
        }
        // The footprint must not have been cut by the image border.
        if ok && (fp.area as f32) < 0.8 * params.target_area {
            ok = false;
        }
        if ok {
            return Some(fp);
        }
    }
    None
}

fn generate_one(
    ctx: &Ctx,
    split: Split,
    index: usize,
    subject: usize,
    label: usize,
    seed: u64,
    out: Out,
) -> Result<SampleMeta> {
    let cfg = ctx.cfg;
    let subj = &ctx.subjects[subject];
    let base = &ctx.bases[subj.base];
    let mut r = rng(seed, &format!("sample/{}/{index}", split.name()));
    let task = cfg.task;
    let shape = shape_for(task, label, &mut r);
    let n_lesions = if shape.is_some() {
        r.random_range(cfg.lesion.per_image[0]..=cfg.lesion.per_image[1])
    } else {
        0
    };
    let noise_std = {
        let [a, b] = cfg.subject.noise_std;
        if b > a { r.random_range(a..=b) } else { a }
    };
    let (h, w) = (base.dims[1], base.dims[2]);
    let plane = h * w;
    let image_voxels = if cfg.dims == 2 {
        plane
    } else {
        base.dims[0] * plane
    };
    // Lesion parameters are drawn once, before placement, so that placement retries (another
    // level or position) never select lesions by size or shape: the per-class distributions of
    // area, contrast and softness stay exactly the drawn ones.
    let lesions: Vec<LesionParams> = match shape {
        Some(shape) => (0..n_lesions)
            .map(|_| LesionParams::draw(&cfg.lesion, shape, cfg.dims, image_voxels, &mut r))
            .collect(),
        None => Vec::new(),
    };
    for attempt in 0..12 {
        // Tissue on the grid this sample lives on.
        let (zs, level): (Vec<usize>, Option<usize>) = if cfg.dims == 2 {
            let pool = if task == Task::Anatomy {
                &ctx.bins[subj.base][label]
            } else {
                &ctx.valid[subj.base]
            };
            let z = pool[r.random_range(0..pool.len())];
            (vec![z], Some(z))
        } else {
            ((0..base.dims[0]).collect(), None)
        };
        let dims = [zs.len(), h, w];
        let n = dims[0] * plane;
        let (mut t, brain, wm) = subj.render(base, &zs);
        let candidates: Vec<usize> = (0..n)
            .filter(|&i| {
                brain[i] >= 0.5
                    && (!cfg.lesion.white_matter_only || wm[i] >= cfg.lesion.wm_threshold)
            })
            .collect();
        let tissue = Tissue {
            dims,
            brain: &brain,
            wm: &wm,
            candidates: &candidates,
        };
        let Some(painted) = paint_lesions(ctx, &lesions, &tissue, &mut r) else {
            if attempt == 11 {
                return Err(placement_error(cfg, n_lesions, subject, &base.name));
            }
            continue;
        };
        finish_image(&mut t, &brain, &painted, noise_std, &mut r, out);
        return Ok(SampleMeta {
            index,
            subject: subj.id,
            base: base.name.clone(),
            level,
            level_fraction: level.map(|z| base.level_fraction(z)),
            label,
            class_name: ctx.class_names[label].clone(),
            gamma: subj.gamma,
            noise_std,
            lesions: painted.metas,
        });
    }
    unreachable!("the last attempt returns")
}

/// Applies the lesions' intensity change and noise inside the brain, strips the skull and
/// normalises to the brain's 99.5th percentile into `out`, with the lesions' mask and
/// weights.
fn finish_image(
    t: &mut [f32],
    brain: &[f32],
    painted: &Painted,
    noise_std: f32,
    r: &mut Rng,
    out: Out,
) {
    let n = painted.taken.len();
    let mut brain_vals = Vec::with_capacity(n);
    for i in 0..n {
        if brain[i] >= 0.5 {
            let noise: f32 = r.sample(StandardNormal);
            t[i] = (t[i] * painted.factor[i] + noise_std * noise).max(0.0);
            brain_vals.push(t[i]);
        } else {
            t[i] = 0.0;
        }
    }
    let top = crate::volume::quantile(&brain_vals, 0.995).max(1e-6);
    for (i, v) in t.iter().enumerate().take(n) {
        out.image[i] = (v / top).clamp(0.0, 1.0);
        out.mask[i] = u8::from(painted.taken[i]);
        out.weight[i] = painted.weight[i];
    }
}

/// The tissue of one sample's grid (`dims`): brain and white-matter maps and the voxels a
/// lesion may be centred on.
struct Tissue<'a> {
    dims: [usize; 3],
    brain: &'a [f32],
    wm: &'a [f32],
    candidates: &'a [usize],
}

/// Lesions painted into a sample: the ground-truth mask (`taken`), the soft weights, the
/// intensity factor per voxel and each lesion's record.
struct Painted {
    taken: Vec<bool>,
    weight: Vec<f32>,
    factor: Vec<f32>,
    metas: Vec<LesionMeta>,
}

/// Places and paints `lesions` one after the other; `None` if one finds no place.
fn paint_lesions(
    ctx: &Ctx,
    lesions: &[LesionParams],
    tissue: &Tissue,
    r: &mut Rng,
) -> Option<Painted> {
    let (dims, brain) = (tissue.dims, tissue.brain);
    let n: usize = dims.iter().product();
    let mut p = Painted {
        taken: vec![false; n],
        weight: vec![0f32; n],
        factor: vec![1f32; n],
        metas: Vec::new(),
    };
    for params in lesions {
        let fp = place(
            ctx,
            params,
            dims,
            brain,
            tissue.wm,
            &p.taken,
            tissue.candidates,
            r,
        )?;
        let c = fp.centroid(dims);
        for ((&i, &wv), &ins) in fp.index.iter().zip(&fp.weight).zip(&fp.inside) {
            if ins {
                p.taken[i] = true;
            }
            if brain[i] >= 0.5 {
                p.weight[i] = p.weight[i].max(wv);
                p.factor[i] *= 1.0 + params.contrast * wv * texture(params, c, i, dims);
            }
        }
        p.metas.push(LesionMeta {
            shape: params.shape,
            centre: if ctx.cfg.dims == 2 {
                [0.0, c[1], c[2]]
            } else {
                c
            },
            area: fp.area,
            target_area: params.target_area,
            contrast: params.contrast,
            softness: params.softness,
            aspect: params.aspect,
        });
    }
    Some(p)
}

/// The error when `n_lesions` lesions found no place in a subject after every attempt.
fn placement_error(cfg: &SynthConfig, n_lesions: usize, subject: usize, base: &str) -> Error {
    let matter = if cfg.lesion.white_matter_only {
        " white matter"
    } else {
        ""
    };
    let advice = if cfg.dims == 2 {
        "use smaller lesions, fewer lesions per image or a higher slices.min_brain_fraction"
    } else {
        "in 3-D, area_fraction is a fraction of the whole volume: use far smaller values \
         (e.g. [0.002, 0.005]), fewer lesions per image or lesion.white_matter_only = false"
    };
    Error::config(
        "lesion.area_fraction",
        format!(
            "could not place {n_lesions} lesion(s) inside the brain{matter} of subject {subject} (base {base}); {advice}"
        ),
    )
}

/// Generates every split in memory from prepared bases. `on_sample` is called once per
/// finished sample (progress reporting), from worker threads.
pub fn generate(
    cfg: &SynthConfig,
    seed: u64,
    bases: &[Base],
    on_sample: &(dyn Fn() + Sync),
) -> Result<Vec<GeneratedSplit>> {
    cfg.validate()?;
    if bases.is_empty() {
        return Err(Error::invalid("no base volume to synthesise from"));
    }
    let (valid, bins) = usable_levels(cfg, bases)?;
    let subjects: Vec<Subject> = (0..cfg.subjects)
        .into_par_iter()
        .map(|id| {
            let b = id % bases.len();
            Subject::random(
                id,
                b,
                bases[b].dims,
                &cfg.subject,
                &mut rng(seed, &format!("subject/{id}")),
            )
        })
        .collect();
    let ctx = Ctx {
        cfg,
        bases,
        subjects: &subjects,
        valid,
        bins,
        class_names: cfg.class_names(),
    };
    let assignment = assign_subjects(cfg, seed);
    let mut out = Vec::new();
    for (split, ids) in Split::ALL.into_iter().zip(assignment) {
        let (arrays, meta) = generate_split(&ctx, split, &ids, seed, on_sample)?;
        out.push(GeneratedSplit {
            split,
            arrays,
            meta,
            subjects: ids,
        });
    }
    Ok(out)
}

/// Axial levels of a base.
type Levels = Vec<usize>;

/// The axial levels of each base with enough brain in the level range (2-D), and for the
/// anatomy task each base's levels per class bin; an empty set is an error naming the key.
fn usable_levels(cfg: &SynthConfig, bases: &[Base]) -> Result<(Vec<Levels>, Vec<Vec<Levels>>)> {
    let valid: Vec<Vec<usize>> = bases
        .iter()
        .map(|b| b.valid_levels(cfg.slices.level_range, cfg.slices.min_brain_fraction))
        .collect();
    if cfg.dims == 2 {
        for (b, v) in bases.iter().zip(&valid) {
            if v.is_empty() {
                return Err(Error::config(
                    "slices.min_brain_fraction",
                    format!(
                        "no axial level of base `{}` in slices.level_range has that much brain",
                        b.name
                    ),
                ));
            }
        }
    }
    let bins: Vec<Vec<Vec<usize>>> = if cfg.task == Task::Anatomy {
        bases
            .iter()
            .zip(&valid)
            .map(|(b, v)| anatomy_bins(b, cfg, v))
            .collect()
    } else {
        Vec::new()
    };
    for (b, bb) in bases.iter().zip(&bins) {
        if let Some(i) = bb.iter().position(|v| v.is_empty()) {
            return Err(Error::config(
                "anatomy.bins",
                format!(
                    "bin {i} holds no usable axial level of base `{}`; use fewer bins",
                    b.name
                ),
            ));
        }
    }
    Ok((valid, bins))
}

/// The samples of one split (subjects `ids`), generated in parallel.
fn generate_split(
    ctx: &Ctx,
    split: Split,
    ids: &[usize],
    seed: u64,
    on_sample: &(dyn Fn() + Sync),
) -> Result<(SplitArrays, Vec<SampleMeta>)> {
    let cfg = ctx.cfg;
    let classes = cfg.num_classes();
    let grid: Vec<usize> = if cfg.dims == 2 {
        vec![1, cfg.size[0], cfg.size[1]]
    } else {
        vec![1, cfg.size[0], cfg.size[1], cfg.size[2]]
    };
    let per_sample: usize = grid.iter().product();
    let owners: Vec<usize> = ids
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, cfg.samples_per_subject))
        .collect();
    let n = owners.len();
    let mut labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    labels.shuffle(&mut rng(seed, &format!("labels/{}", split.name())));
    let mut images = vec![0f32; n * per_sample];
    let mut masks = vec![0u8; n * per_sample];
    let mut weights = vec![0f32; n * per_sample];
    let meta: Vec<SampleMeta> = images
        .par_chunks_mut(per_sample)
        .zip(masks.par_chunks_mut(per_sample))
        .zip(weights.par_chunks_mut(per_sample))
        .enumerate()
        .map(|(i, ((image, mask), weight))| {
            let m = generate_one(
                ctx,
                split,
                i,
                owners[i],
                labels[i],
                seed,
                Out {
                    image,
                    mask,
                    weight,
                },
            );
            on_sample();
            m
        })
        .collect::<Result<_>>()?;
    let mut shape = vec![n];
    shape.extend(&grid);
    let to_err = |e: ndarray::ShapeError| Error::invalid(format!("internal shape error: {e}"));
    let arrays = SplitArrays {
        images: ArrayD::from_shape_vec(IxDyn(&shape), images).map_err(to_err)?,
        masks: ArrayD::from_shape_vec(IxDyn(&shape), masks).map_err(to_err)?,
        weights: ArrayD::from_shape_vec(IxDyn(&shape), weights).map_err(to_err)?,
        labels: ArrayD::from_shape_vec(IxDyn(&[n]), labels.iter().map(|&l| l as i64).collect())
            .map_err(to_err)?,
    };
    Ok((arrays, meta))
}

/// The interior texture factor of `params` at flat index `i` of a grid of `dims` around the
/// lesion centre `c`: in (0, 1], redistributing the change inside the drawn contrast (the
/// mask and weights are unaffected).
fn texture(params: &LesionParams, c: [f32; 3], i: usize, dims: [usize; 3]) -> f32 {
    let plane = dims[1] * dims[2];
    let at = [
        if dims[0] == 1 {
            0.0
        } else {
            (i / plane) as f32 - c[0]
        },
        ((i % plane) / dims[2]) as f32 - c[1],
        (i % dims[2]) as f32 - c[2],
    ];
    let h = params.heterogeneity;
    (1.0 + h * params.texture_at(at)) / (1.0 + h)
}
