//! NIfTI loading, reorientation to a canonical axial grid, source discovery in a folder of
//! T1 volumes, and trilinear resampling helpers.
//!
//! Canonical orientation: an [`Array3`] indexed `[z, y, x]` with `z` running inferior →
//! superior, `y` anterior → posterior (so row 0 of an axial slice is the front of the head)
//! and `x` left → right.

use mrixai_core::{Error, Result, seed::sha256_hex};
use ndarray::{Array3, ArrayD, Axis};
use nifti::{InMemNiftiObject, IntoNdArray, NiftiObject, NiftiVolume};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A 3-D volume read from one NIfTI file, reoriented to the canonical `[z, y, x]` grid.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The file it came from.
    pub path: PathBuf,
    /// Hex SHA-256 of the file bytes.
    pub sha256: String,
    /// Voxel values `[z, y, x]` (scaling slope/intercept applied).
    pub data: Array3<f32>,
    /// Voxel size in mm along `[z, y, x]`.
    pub spacing: [f32; 3],
    /// Whether the header gave an orientation (sform or qform); without one the voxel axes
    /// are taken as world axes (i → x, j → y, k → z).
    pub oriented: bool,
}

fn is_nifti_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    n.ends_with(".nii") || n.ends_with(".nii.gz")
}

/// File name without `.nii` / `.nii.gz`.
pub fn nifti_stem(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = n.to_lowercase();
    if lower.ends_with(".nii.gz") {
        n[..n.len() - 7].to_string()
    } else if lower.ends_with(".nii") {
        n[..n.len() - 4].to_string()
    } else {
        n
    }
}

/// The 3×3 voxel → world matrix (columns = voxel axes i, j, k) from the header: sform if
/// set, else qform, else (`None`) no orientation.
fn header_orientation(h: &nifti::NiftiHeader) -> Option<[[f64; 3]; 3]> {
    let pix = |i: usize| {
        let v = f64::from(h.pixdim[i]).abs();
        if v.is_finite() && v > 0.0 { v } else { 1.0 }
    };
    if h.sform_code > 0 {
        let r = [h.srow_x, h.srow_y, h.srow_z];
        let m = [
            [f64::from(r[0][0]), f64::from(r[0][1]), f64::from(r[0][2])],
            [f64::from(r[1][0]), f64::from(r[1][1]), f64::from(r[1][2])],
            [f64::from(r[2][0]), f64::from(r[2][1]), f64::from(r[2][2])],
        ];
        if m.iter().flatten().all(|v| v.is_finite()) && m.iter().flatten().any(|v| *v != 0.0) {
            return Some(m);
        }
    }
    if h.qform_code > 0 {
        let (b, c, d) = (
            f64::from(h.quatern_b),
            f64::from(h.quatern_c),
            f64::from(h.quatern_d),
        );
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let rot = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let s = [pix(1), pix(2), pix(3) * qfac];
        let mut m = [[0.0; 3]; 3];
        for (r, row) in m.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = rot[r][c] * s[c];
            }
        }
        if m.iter().flatten().all(|v| v.is_finite()) {
            return Some(m);
        }
    }
    None
}

/// The voxel → world matrix of the header, or the voxel sizes on the diagonal when it gives
/// no orientation; and whether it gave one.
fn voxel_to_world(h: &nifti::NiftiHeader) -> ([[f64; 3]; 3], bool) {
    let pix = |i: usize| {
        let v = f64::from(h.pixdim[i]).abs();
        if v.is_finite() && v > 0.0 { v } else { 1.0 }
    };
    match header_orientation(h) {
        Some(m) => (m, true),
        None => (
            [[pix(1), 0.0, 0.0], [0.0, pix(2), 0.0], [0.0, 0.0, pix(3)]],
            false,
        ),
    }
}

/// Reads a 3-D NIfTI volume (`.nii` or `.nii.gz`). Rejects missing, corrupt or truncated
/// files, volumes that are not 3-D (trailing singleton dimensions are accepted) and
/// non-finite values, always naming the file.
pub fn load_nifti(path: &Path) -> Result<Volume> {
    let (raw, sha256) = read_nifti_bytes(path)?;
    let (header, arr) = decode_3d(path, &raw)?;
    // NIfTI data is Fortran ordered with shape (i, j, k); reversing the axes gives a C-ordered
    // view indexed [k, j, i].
    let mut arr = arr;
    while arr.ndim() > 3 {
        // Only trailing singleton dimensions remain here (checked by decode_3d).
        let last = Axis(arr.ndim() - 1);
        arr = arr.index_axis_move(last, 0);
    }
    let ijk = arr
        .into_dimensionality::<ndarray::Ix3>()
        .map_err(|e| Error::format(path, e.to_string()))?;
    let kji = ijk.reversed_axes();
    let (m, oriented) = voxel_to_world(&header);
    let (axis_of, sign_of) = world_axes(&m);
    let spacing_of = |v: usize| -> f32 {
        let s = (0..3).map(|r| m[r][v] * m[r][v]).sum::<f64>().sqrt() as f32;
        if s.is_finite() && s > 0.0 { s } else { 1.0 }
    };
    // Array axis of voxel axis v in the [k, j, i] view is 2 - v. Target [z, y, x].
    let mut canon = kji.permuted_axes([2 - axis_of[2], 2 - axis_of[1], 2 - axis_of[0]]);
    if sign_of[2] < 0.0 {
        canon.invert_axis(Axis(0));
    }
    // y runs anterior → posterior in the canonical grid (world +y is anterior).
    if sign_of[1] > 0.0 {
        canon.invert_axis(Axis(1));
    }
    if sign_of[0] < 0.0 {
        canon.invert_axis(Axis(2));
    }
    let data = canon.as_standard_layout().into_owned();
    Ok(Volume {
        path: path.to_path_buf(),
        sha256,
        data,
        spacing: [
            spacing_of(axis_of[2]),
            spacing_of(axis_of[1]),
            spacing_of(axis_of[0]),
        ],
        oriented,
    })
}

/// The bytes of a NIfTI file, gunzipped when compressed, and the SHA-256 of the file.
fn read_nifti_bytes(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::format(path, "empty file, not a NIfTI volume"));
    }
    let sha256 = sha256_hex(&bytes);
    let raw: Vec<u8> = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt or truncated gzip stream: {e}")))?;
        out
    } else {
        bytes
    };
    Ok((raw, sha256))
}

/// The header and the voxel values of a 3-D volume from the bytes of a NIfTI file.
fn decode_3d(path: &Path, raw: &[u8]) -> Result<(nifti::NiftiHeader, ArrayD<f32>)> {
    let obj = InMemNiftiObject::from_reader(raw).map_err(|e| {
        let why = match e {
            nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the file ends before its header or data do".to_string()
            }
            nifti::NiftiError::Io(io) => io.to_string(),
            other => other.to_string(),
        };
        Error::format(path, format!("not a readable NIfTI-1 volume: {why}"))
    })?;
    let header = obj.header().clone();
    let vol = obj.into_volume();
    let dim: Vec<usize> = vol.dim().iter().map(|&d| usize::from(d)).collect();
    let rank = dim.iter().rposition(|&d| d > 1).map_or(0, |p| p + 1);
    if rank != 3 || dim.len() < 3 {
        return Err(Error::format(
            path,
            format!(
                "expected a 3-D volume, got a {}-D image of size {dim:?}",
                rank.max(dim.len().min(rank))
            ),
        ));
    }
    let expected: usize = dim.iter().product();
    // checked here: nifti panics when the data does not fill the header's shape
    let value_bytes = vol.data_type().size_of();
    if vol.raw_data().len() != expected * value_bytes {
        return Err(Error::format(
            path,
            format!(
                "voxel data holds {} bytes, header says {expected} values of {value_bytes} bytes",
                vol.raw_data().len()
            ),
        ));
    }
    let arr: ArrayD<f32> = vol
        .into_ndarray::<f32>()
        .map_err(|e| Error::format(path, format!("cannot decode voxel data: {e}")))?;
    let bad = arr.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::format(
            path,
            format!("contains {bad} non-finite voxel value(s) (NaN or Inf)"),
        ));
    }
    Ok((header, arr))
}

/// For each world axis (x, y, z), the voxel axis (i, j, k) that points along it most and
/// its direction (±1), from the voxel-to-world matrix `m`.
fn world_axes(m: &[[f64; 3]; 3]) -> ([usize; 3], [f64; 3]) {
    let mut used = [false; 3];
    let mut axis_of = [0usize; 3];
    let mut sign_of = [1.0f64; 3];
    let mut order: Vec<(usize, usize, f64)> = Vec::new();
    for (w, row) in m.iter().enumerate() {
        for (v, val) in row.iter().enumerate() {
            let norm = (0..3)
                .map(|r| m[r][v] * m[r][v])
                .sum::<f64>()
                .sqrt()
                .max(1e-12);
            order.push((w, v, val.abs() / norm));
        }
    }
    order.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut done_w = [false; 3];
    for (w, v, _) in order {
        if done_w[w] || used[v] {
            continue;
        }
        done_w[w] = true;
        used[v] = true;
        axis_of[w] = v;
        sign_of[w] = if m[w][v] < 0.0 { -1.0 } else { 1.0 };
    }
    (axis_of, sign_of)
}

/// One base anatomy: a T1 volume with optional grey- and white-matter probability maps found
/// next to it.
#[derive(Debug, Clone)]
pub struct SourceFiles {
    /// The T1-weighted volume.
    pub t1: PathBuf,
    /// Grey-matter probability map, if present.
    pub gm: Option<PathBuf>,
    /// White-matter probability map, if present.
    pub wm: Option<PathBuf>,
}

fn tokens(stem: &str) -> Vec<String> {
    stem.split(['_', '-', '.'])
        .map(|t| t.to_lowercase())
        .collect()
}

fn is_map_name(stem: &str, kind: &str) -> bool {
    tokens(stem).iter().any(|t| t == kind)
}

/// Finds the T1 volumes of a folder and pairs each with its `gm`/`wm` probability maps.
///
/// Files whose name holds a `gm`, `wm` or `csf` token (split on `_`, `-`, `.`) are maps, not
/// bases. A base `X_t1_Y.nii.gz` pairs with `X_gm_Y…` and `X_wm_Y…`; a base `X.nii.gz` with
/// `X_gm…` and `X_wm…`.
pub fn discover(dir: &Path) -> Result<Vec<SourceFiles>> {
    if !dir.is_dir() {
        return Err(Error::format(dir, "MRI folder not found"));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_nifti_name(p))
        .collect();
    files.sort();
    let is_map = |p: &Path| {
        let s = nifti_stem(p);
        is_map_name(&s, "gm") || is_map_name(&s, "wm") || is_map_name(&s, "csf")
    };
    let maps: Vec<&PathBuf> = files.iter().filter(|p| is_map(p)).collect();
    let find = |stem: &str, kind: &str| -> Option<PathBuf> {
        let toks = tokens(stem);
        let wanted_swap: Option<Vec<String>> = toks.iter().position(|t| t == "t1").map(|i| {
            let mut t = toks.clone();
            t[i] = kind.to_string();
            t
        });
        maps.iter()
            .find(|m| {
                let mt = tokens(&nifti_stem(m));
                wanted_swap.as_ref().is_some_and(|w| *w == mt)
                    || (mt.len() == toks.len() + 1
                        && mt[..toks.len()] == toks[..]
                        && mt[toks.len()] == kind)
            })
            .map(|p| p.to_path_buf())
    };
    let bases: Vec<SourceFiles> = files
        .iter()
        .filter(|p| !is_map(p))
        .map(|p| {
            let stem = nifti_stem(p);
            SourceFiles {
                t1: p.clone(),
                gm: find(&stem, "gm"),
                wm: find(&stem, "wm"),
            }
        })
        .collect();
    if bases.is_empty() {
        return Err(Error::format(
            dir,
            "no T1 volume (.nii or .nii.gz) found in the MRI folder",
        ));
    }
    Ok(bases)
}

/// Value at quantile `q` (0..=1) of `values` (copied and partially sorted).
pub fn quantile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let k = ((v.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    *x
}

/// Otsu threshold of `values` over a 256-bin histogram between `lo` and `hi`.
pub fn otsu(values: &[f32], lo: f32, hi: f32) -> f32 {
    let bins = 256usize;
    let span = (hi - lo).max(f32::EPSILON);
    let mut hist = vec![0f64; bins];
    for &v in values {
        let b = (((v - lo) / span) * bins as f32).clamp(0.0, bins as f32 - 1.0) as usize;
        hist[b] += 1.0;
    }
    let total: f64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(i, h)| i as f64 * h).sum();
    let (mut w0, mut s0, mut best, mut best_t) = (0.0, 0.0, -1.0, 0usize);
    for (t, h) in hist.iter().enumerate() {
        w0 += h;
        s0 += t as f64 * h;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = s0 / w0;
        let m1 = (sum_all - s0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t;
        }
    }
    lo + span * (best_t as f32 + 1.0) / bins as f32
}

/// A base anatomy in memory: T1 intensities, brain probability and white-matter probability
/// on the same canonical grid.
#[derive(Debug, Clone)]
pub struct Source {
    /// Short name (file stem of the T1 volume).
    pub name: String,
    /// The files it was read from.
    pub files: SourceFiles,
    /// SHA-256 of each file, in the order T1, GM, WM (those present).
    pub checksums: Vec<(PathBuf, String)>,
    /// T1 intensities `[z, y, x]`.
    pub t1: Array3<f32>,
    /// Brain probability in [0, 1].
    pub brain: Array3<f32>,
    /// White-matter probability in [0, 1].
    pub wm: Array3<f32>,
    /// Voxel size in mm `[z, y, x]`.
    pub spacing: [f32; 3],
    /// What a user should know about the files (e.g. a volume without orientation).
    pub warnings: Vec<String>,
}

/// Fewest brain voxels a base volume must have.
pub const MIN_BRAIN_VOXELS: usize = 1000;

fn load_map(path: &Path, like: &Volume) -> Result<Volume> {
    let m = load_nifti(path)?;
    if m.data.shape() != like.data.shape() {
        return Err(Error::format(
            path,
            format!(
                "probability map of shape {:?} does not match its T1 volume {} of shape {:?}",
                m.data.shape(),
                like.path.display(),
                like.data.shape()
            ),
        ));
    }
    Ok(m)
}

/// Loads one base: the T1 volume, its maps if any, and derives the brain and WM probabilities.
///
/// With GM and WM maps the brain is `GM + WM`; without, the volume must be brain-extracted
/// (skull-stripped) and the brain is every voxel above 10 % of the 99th intensity percentile,
/// with white matter the brighter Otsu class of the brain (T1 contrast).
pub fn load_source(files: &SourceFiles) -> Result<Source> {
    let t1 = load_nifti(&files.t1)?;
    let mut checksums = vec![(files.t1.clone(), t1.sha256.clone())];
    let gm = files.gm.as_ref().map(|p| load_map(p, &t1)).transpose()?;
    let wm = files.wm.as_ref().map(|p| load_map(p, &t1)).transpose()?;
    for m in [&gm, &wm].into_iter().flatten() {
        checksums.push((m.path.clone(), m.sha256.clone()));
    }
    let positive: Vec<f32> = t1.data.iter().copied().filter(|&v| v > 0.0).collect();
    let p99 = quantile(&positive, 0.99);
    let brain = match (&gm, &wm) {
        (Some(g), Some(w)) => {
            let mut b = &g.data + &w.data;
            b.mapv_inplace(|v| v.clamp(0.0, 1.0));
            b
        }
        _ => {
            let thr = 0.1 * p99;
            t1.data
                .mapv(|v| if p99 > 0.0 && v > thr { 1.0 } else { 0.0 })
        }
    };
    let n_brain = brain.iter().filter(|&&b| b >= 0.5).count();
    if n_brain < MIN_BRAIN_VOXELS {
        return Err(Error::format(
            &files.t1,
            format!(
                "empty brain: only {n_brain} brain voxel(s) found (need at least {MIN_BRAIN_VOXELS})"
            ),
        ));
    }
    let wm_prob = match &wm {
        Some(w) => w.data.mapv(|v| v.clamp(0.0, 1.0)),
        None => {
            let vals: Vec<f32> = t1
                .data
                .iter()
                .zip(brain.iter())
                .filter(|(_, b)| **b >= 0.5)
                .map(|(v, _)| *v)
                .collect();
            let lo = quantile(&vals, 0.01);
            let hi = quantile(&vals, 0.99);
            let thr = otsu(&vals, lo, hi);
            let width = ((hi - lo) * 0.05).max(f32::EPSILON);
            ndarray::Zip::from(&t1.data)
                .and(&brain)
                .map_collect(|&v, &b| {
                    if b >= 0.5 {
                        (0.5 + (v - thr) / (2.0 * width)).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                })
        }
    };
    let warnings = [Some(&t1), gm.as_ref(), wm.as_ref()]
        .into_iter()
        .flatten()
        .filter(|v| !v.oriented)
        .map(|v| {
            format!(
                "{}: no orientation in the header (sform and qform unset); its voxel axes i, j, k \
                 are taken as x (left → right), y (posterior → anterior), z (inferior → superior)",
                v.path.display()
            )
        })
        .collect();
    Ok(Source {
        name: nifti_stem(&files.t1),
        warnings,
        files: files.clone(),
        checksums,
        t1: t1.data,
        brain,
        wm: wm_prob,
        spacing: t1.spacing,
    })
}

/// Loads every base of a folder (see [`discover`] and [`load_source`]), in parallel.
pub fn load_sources(dir: &Path) -> Result<Vec<Source>> {
    use rayon::prelude::*;
    let files = discover(dir)?;
    files.par_iter().map(load_source).collect()
}

/// Trilinear sample of `vol` (C-contiguous `[z, y, x]` with `dims`) at a continuous position;
/// zero outside.
#[inline]
pub fn trilinear(data: &[f32], dims: [usize; 3], z: f32, y: f32, x: f32) -> f32 {
    let (nz, ny, nx) = (dims[0] as isize, dims[1] as isize, dims[2] as isize);
    if !(z > -1.0 && y > -1.0 && x > -1.0 && z < nz as f32 && y < ny as f32 && x < nx as f32) {
        return 0.0;
    }
    let (z0, y0, x0) = (z.floor(), y.floor(), x.floor());
    let (fz, fy, fx) = (z - z0, y - y0, x - x0);
    let (z0, y0, x0) = (z0 as isize, y0 as isize, x0 as isize);
    let at = |k: isize, j: isize, i: isize| -> f32 {
        if k < 0 || j < 0 || i < 0 || k >= nz || j >= ny || i >= nx {
            0.0
        } else {
            data[((k * ny + j) * nx + i) as usize]
        }
    };
    let c00 = at(z0, y0, x0) * (1.0 - fx) + at(z0, y0, x0 + 1) * fx;
    let c01 = at(z0, y0 + 1, x0) * (1.0 - fx) + at(z0, y0 + 1, x0 + 1) * fx;
    let c10 = at(z0 + 1, y0, x0) * (1.0 - fx) + at(z0 + 1, y0, x0 + 1) * fx;
    let c11 = at(z0 + 1, y0 + 1, x0) * (1.0 - fx) + at(z0 + 1, y0 + 1, x0 + 1) * fx;
    let c0 = c00 * (1.0 - fy) + c01 * fy;
    let c1 = c10 * (1.0 - fy) + c11 * fy;
    c0 * (1.0 - fz) + c1 * fz
}

/// Trilinear samples of three volumes of the same `dims` at one position (shared weights);
/// zero outside. Equivalent to three [`trilinear`] calls, faster.
#[inline]
pub fn trilinear3(vols: [&[f32]; 3], dims: [usize; 3], z: f32, y: f32, x: f32) -> [f32; 3] {
    let (nz, ny, nx) = (dims[0], dims[1], dims[2]);
    let (z0, y0, x0) = (z.floor(), y.floor(), x.floor());
    if z0 >= 0.0
        && y0 >= 0.0
        && x0 >= 0.0
        && (z0 as usize) + 1 < nz
        && (y0 as usize) + 1 < ny
        && (x0 as usize) + 1 < nx
    {
        let (fz, fy, fx) = (z - z0, y - y0, x - x0);
        let i = ((z0 as usize) * ny + y0 as usize) * nx + x0 as usize;
        let (sy, sz) = (nx, ny * nx);
        let w = [
            (1.0 - fz) * (1.0 - fy) * (1.0 - fx),
            (1.0 - fz) * (1.0 - fy) * fx,
            (1.0 - fz) * fy * (1.0 - fx),
            (1.0 - fz) * fy * fx,
            fz * (1.0 - fy) * (1.0 - fx),
            fz * (1.0 - fy) * fx,
            fz * fy * (1.0 - fx),
            fz * fy * fx,
        ];
        let idx = [
            i,
            i + 1,
            i + sy,
            i + sy + 1,
            i + sz,
            i + sz + 1,
            i + sz + sy,
            i + sz + sy + 1,
        ];
        let mut out = [0f32; 3];
        for (o, v) in out.iter_mut().zip(vols) {
            *o = idx.iter().zip(&w).map(|(&k, &wk)| v[k] * wk).sum();
        }
        out
    } else {
        vols.map(|v| trilinear(v, dims, z, y, x))
    }
}

/// Separable Gaussian blur of a volume along each axis with the given sigmas (voxels);
/// sigmas below 0.3 leave that axis alone.
pub fn gaussian_blur(vol: &Array3<f32>, sigma: [f32; 3]) -> Array3<f32> {
    let mut out = vol.clone();
    for (ax, &s) in sigma.iter().enumerate() {
        if s < 0.3 {
            continue;
        }
        let r = (3.0 * s).ceil() as isize;
        let k: Vec<f32> = (-r..=r)
            .map(|i| (-(i * i) as f32 / (2.0 * s * s)).exp())
            .collect();
        let ksum: f32 = k.iter().sum();
        let k: Vec<f32> = k.iter().map(|v| v / ksum).collect();
        let src = out.clone();
        for (mut o, i) in out.lanes_mut(Axis(ax)).into_iter().zip(src.lanes(Axis(ax))) {
            let n = i.len() as isize;
            for t in 0..n {
                let mut acc = 0.0;
                let mut wsum = 0.0;
                for (q, w) in k.iter().enumerate() {
                    let u = t + q as isize - r;
                    if u >= 0 && u < n {
                        acc += w * i[u as usize];
                        wsum += w;
                    }
                }
                o[t as usize] = if wsum > 0.0 { acc / wsum } else { 0.0 };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_and_otsu() {
        let v: Vec<f32> = (0..101).map(|i| i as f32).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        let mut two: Vec<f32> = vec![1.0; 100];
        two.extend(vec![9.0; 100]);
        let t = otsu(&two, 0.0, 10.0);
        assert!(t > 1.0 && t < 9.0, "{t}");
    }

    #[test]
    fn trilinear_interpolates() {
        let data = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        assert!((trilinear(&data, [2, 2, 2], 0.5, 0.5, 0.5) - 3.5).abs() < 1e-6);
        assert_eq!(trilinear(&data, [2, 2, 2], 5.0, 0.0, 0.0), 0.0);
        let big: Vec<f32> = (0..64).map(|i| ((i * 37) % 11) as f32).collect();
        for &(z, y, x) in &[
            (0.3f32, 1.7f32, 2.2f32),
            (2.9, 2.9, 0.0),
            (-0.5, 1.0, 1.0),
            (3.5, 0.2, 0.2),
        ] {
            let [a, b, c] = trilinear3([&big, &big, &big], [4, 4, 4], z, y, x);
            assert!((a - trilinear(&big, [4, 4, 4], z, y, x)).abs() < 1e-4);
            assert_eq!(a, b);
            assert!(c.is_finite());
        }
    }
}
