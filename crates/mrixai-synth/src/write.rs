//! Writing a generated dataset: arrays, `meta.csv`, `dataset.json`, optional NIfTI copies
//! and a preview montage, all inside one atomically committed folder.

use crate::config::SynthConfig;
use crate::generate::{GeneratedSplit, SampleMeta};
use crate::volume::Source;
use mrixai_core::dataset::{split_dir, write_split};
use mrixai_core::{Error, Result, atomic};
use ndarray::{ArrayD, Axis};
use std::fmt::Write as _;
use std::path::Path;

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(";")
}

/// The `meta.csv` text of a split: one row per sample; per-lesion fields are `;`-separated
/// lists in lesion order.
pub fn meta_csv(meta: &[SampleMeta]) -> String {
    let mut s = String::from(
        "index,subject,base,level,level_fraction,label,class,gamma,noise_std,n_lesions,total_area,\
         shape,centre_z,centre_y,centre_x,area,target_area,contrast,softness,aspect\n",
    );
    for m in meta {
        let l = &m.lesions;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.4},{:.4},{},{},{},{},{},{},{},{},{},{},{}",
            m.index,
            m.subject,
            m.base,
            m.level.map(|v| v.to_string()).unwrap_or_default(),
            m.level_fraction
                .map(|v| format!("{v:.4}"))
                .unwrap_or_default(),
            m.label,
            m.class_name,
            m.gamma,
            m.noise_std,
            l.len(),
            l.iter().map(|x| x.area).sum::<usize>(),
            join(l, |x| x.shape.name().to_string()),
            join(l, |x| format!("{:.2}", x.centre[0])),
            join(l, |x| format!("{:.2}", x.centre[1])),
            join(l, |x| format!("{:.2}", x.centre[2])),
            join(l, |x| x.area.to_string()),
            join(l, |x| format!("{:.2}", x.target_area)),
            join(l, |x| format!("{:.4}", x.contrast)),
            join(l, |x| format!("{:.4}", x.softness)),
            join(l, |x| format!("{:.4}", x.aspect)),
        );
    }
    s
}

/// The content of `dataset.json`.
pub fn dataset_info(
    cfg: &SynthConfig,
    seed: u64,
    sources: &[Source],
    splits: &[GeneratedSplit],
) -> serde_json::Value {
    let srcs: Vec<serde_json::Value> = sources
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "files": s.checksums.iter().map(|(p, h)| serde_json::json!({
                    "file": p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    "sha256": h,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut sp = serde_json::Map::new();
    for g in splits {
        let mut counts = vec![0usize; cfg.num_classes()];
        for m in &g.meta {
            counts[m.label] += 1;
        }
        sp.insert(
            g.split.name().to_string(),
            serde_json::json!({ "samples": g.meta.len(), "class_counts": counts, "subjects": g.subjects }),
        );
    }
    let shape: Vec<usize> = splits
        .first()
        .map(|g| g.arrays.images.shape()[1..].to_vec())
        .unwrap_or_default();
    serde_json::json!({
        "format": "mrixai-dataset",
        "generator": "mrixai-synth",
        "mrixai_version": mrixai_core::VERSION,
        "task": cfg.task.name(),
        "num_classes": cfg.num_classes(),
        "class_names": cfg.class_names(),
        "sample_shape": shape,
        "seed": seed,
        "subjects_are_simulated": true,
        "config": cfg,
        "splits": sp,
        "sources": srcs,
    })
}

fn write_nifti_split(dir: &Path, g: &GeneratedSplit) -> Result<()> {
    // NIfTI x = image column, y = image row flipped (anterior up), then level/sample axes.
    let orient = |a: ArrayD<f32>| -> ArrayD<f32> {
        let mut v = a.index_axis_move(Axis(1), 0);
        let row = v.ndim() - 2;
        v.invert_axis(Axis(row));
        // The NIfTI writer needs a C-contiguous array.
        v.reversed_axes().as_standard_layout().into_owned()
    };
    let images = orient(g.arrays.images.clone());
    let masks = orient(g.arrays.masks.mapv(f32::from)).mapv(|v| v as u8);
    for (name, res) in [
        (
            "images.nii.gz",
            nifti::writer::WriterOptions::new(dir.join("images.nii.gz")).write_nifti(&images),
        ),
        (
            "masks.nii.gz",
            nifti::writer::WriterOptions::new(dir.join("masks.nii.gz")).write_nifti(&masks),
        ),
    ] {
        res.map_err(|e| Error::format(dir.join(name), format!("cannot write NIfTI: {e}")))?;
    }
    Ok(())
}

const PALETTE: [[u8; 3]; 8] = [
    [255, 60, 60],
    [255, 210, 0],
    [60, 200, 255],
    [120, 255, 80],
    [255, 120, 255],
    [255, 150, 40],
    [160, 120, 255],
    [255, 255, 255],
];

/// Renders a montage of the first `n` samples of a split as RGB (lesion contours coloured by
/// class) and returns `(width, height, pixels)`. Volumes show the axial plane through the
/// first lesion (or the middle plane).
pub fn preview_rgb(g: &GeneratedSplit, n: usize) -> (u32, u32, Vec<u8>) {
    let shape = g.arrays.images.shape();
    let n = n.min(shape[0]).max(1);
    let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let zoom = (128 / w.max(h)).max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let gap = 2;
    let (tw, th) = (w * zoom + gap, h * zoom + gap);
    let (width, height) = (cols * tw + gap, rows * th + gap);
    let mut px = vec![0u8; width * height * 3];
    for k in 0..n.min(shape[0]) {
        let img = g.arrays.images.index_axis(Axis(0), k);
        let msk = g.arrays.masks.index_axis(Axis(0), k);
        let (img, msk) = if shape.len() == 5 {
            let z = g.meta[k]
                .lesions
                .first()
                .map_or(shape[2] / 2, |l| l.centre[0].round() as usize)
                .min(shape[2] - 1);
            (
                img.index_axis_move(Axis(1), z).index_axis_move(Axis(0), 0),
                msk.index_axis_move(Axis(1), z).index_axis_move(Axis(0), 0),
            )
        } else {
            (
                img.index_axis_move(Axis(0), 0),
                msk.index_axis_move(Axis(0), 0),
            )
        };
        let colour = PALETTE[g.meta[k].label % PALETTE.len()];
        let (ox, oy) = (gap + (k % cols) * tw, gap + (k / cols) * th);
        for y in 0..h {
            for x in 0..w {
                let on = msk[[y, x]] == 1;
                let edge = on
                    && [(0isize, 1isize), (0, -1), (1, 0), (-1, 0)]
                        .iter()
                        .any(|(dy, dx)| {
                            let (yy, xx) = (y as isize + dy, x as isize + dx);
                            yy < 0
                                || xx < 0
                                || yy >= h as isize
                                || xx >= w as isize
                                || msk[[yy as usize, xx as usize]] == 0
                        });
                let v = (img[[y, x]].clamp(0.0, 1.0) * 255.0).round() as u8;
                let rgb = if edge { colour } else { [v, v, v] };
                for sy in 0..zoom {
                    for sx in 0..zoom {
                        let p = ((oy + y * zoom + sy) * width + ox + x * zoom + sx) * 3;
                        px[p..p + 3].copy_from_slice(&rgb);
                    }
                }
            }
        }
    }
    (width as u32, height as u32, px)
}

/// Writes an RGB image as PNG atomically.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    atomic::write_with(path, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(std::io::Error::other)?;
        wr.write_image_data(rgb).map_err(std::io::Error::other)?;
        wr.finish().map_err(std::io::Error::other)
    })
}

/// Writes every split and the metadata into `dir` (a folder being built atomically).
pub fn write_dataset(
    dir: &Path,
    cfg: &SynthConfig,
    seed: u64,
    sources: &[Source],
    splits: &[GeneratedSplit],
    preview: usize,
    nifti: bool,
) -> Result<()> {
    for g in splits {
        write_split(dir, g.split, &g.arrays)?;
        let d = split_dir(dir, g.split);
        atomic::write_bytes(&d.join("meta.csv"), meta_csv(&g.meta).as_bytes())?;
        if nifti {
            write_nifti_split(&d, g)?;
        }
    }
    atomic::write_json(
        &dir.join("dataset.json"),
        &dataset_info(cfg, seed, sources, splits),
    )?;
    if preview > 0 {
        let g = splits
            .iter()
            .find(|g| g.split == mrixai_core::dataset::Split::Test)
            .unwrap_or(&splits[0]);
        let (w, h, px) = preview_rgb(g, preview);
        write_png(&dir.join("preview.png"), w, h, &px)?;
    }
    Ok(())
}
