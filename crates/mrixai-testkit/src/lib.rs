//! Test support shared by the mrixai crates' tests (a dev-dependency only): [`Scratch`]
//! folders, [`fresh_path`]s and [`fresh_dir`]s, [`hidden_entries`], the [`workspace_dir`];
//! [`assert_close`] with a [`Tolerance`], [`assert_maps_close`] and [`rel_max_diff`] for
//! arrays; [`run_ok`] for binaries; and [`npy_bytes`] for hand-made `.npy` files.

#![forbid(unsafe_code)]

use ndarray::{ArrayBase, Data, Dimension};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh folder for one test, `<temp>/mrixai-<name>-<pid>`, emptied when made and removed
/// when dropped (kept when the environment variable `MRIXAI_KEEP_SCRATCH` is set).
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Makes the folder for test `name` (unique within the test binary).
    pub fn new(name: &str) -> Self {
        let path = fresh_path(name);
        std::fs::create_dir_all(&path).expect("create the scratch folder");
        Self { path }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("MRIXAI_KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A path for test `name`, `<temp>/mrixai-<name>-<pid>`, that does not exist (whatever
/// was there is removed): for outputs a command must create itself. The test removes it.
pub fn fresh_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mrixai-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

/// A fresh, empty folder `<base>/<name>-<pid>` (whatever was there is removed), for
/// fixtures shared by the tests of one binary and kept after it (e.g. under cargo's
/// `CARGO_TARGET_TMPDIR`, for inspection).
pub fn fresh_dir(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// The workspace's root folder (configs, fixtures, docs).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names of the hidden entries (temporary files and folders) directly in `dir`; none
/// when `dir` cannot be read.
pub fn hidden_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// How far a value may lie from its reference `r`: `of_value·|r| + of_largest·L`, where
/// `L` is the largest `|r|` of the compared values, at least `largest_at_least`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Share of the reference value itself.
    pub of_value: f64,
    /// Share of the largest reference value.
    pub of_largest: f64,
    /// Floor of the largest reference value.
    pub largest_at_least: f64,
}

impl Tolerance {
    /// `rel` of each reference value.
    pub fn relative(rel: f64) -> Self {
        Self {
            of_value: rel,
            of_largest: 0.0,
            largest_at_least: 0.0,
        }
    }

    /// `rel` of the largest reference value, counted as at least `floor`.
    pub fn of_largest(rel: f64, floor: f64) -> Self {
        Self {
            of_value: 0.0,
            of_largest: rel,
            largest_at_least: floor,
        }
    }

    /// The tolerance against the committed references of Captum and PyTorch:
    /// `1e-4·|r| + 1e-5·max|r|`.
    pub fn golden() -> Self {
        Self {
            of_value: 1e-4,
            of_largest: 1e-5,
            largest_at_least: 0.0,
        }
    }
}

/// Asserts that `got` and `want` have the same length and every value of `got` lies
/// within `tol` of its reference (a NaN never does); the message names `what`, how many
/// values are off and the worst one.
pub fn assert_close<A, B>(what: &str, got: A, want: B, tol: Tolerance)
where
    A: IntoIterator,
    A::Item: Into<f64>,
    B: IntoIterator,
    B::Item: Into<f64>,
{
    let got: Vec<f64> = got.into_iter().map(Into::into).collect();
    let want: Vec<f64> = want.into_iter().map(Into::into).collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} values, reference has {}",
        got.len(),
        want.len()
    );
    let largest = want
        .iter()
        .fold(tol.largest_at_least, |m, v| m.max(v.abs()));
    let mut bad = 0;
    let mut worst = (0.0f64, 0usize);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let allowed = tol.of_value * w.abs() + tol.of_largest * largest;
        let off = (g - w).abs();
        if off.is_nan() || off > allowed {
            bad += 1;
            let ratio = if allowed > 0.0 {
                off / allowed
            } else {
                f64::INFINITY
            };
            if bad == 1 || ratio > worst.0 || ratio.is_nan() {
                worst = (ratio, i);
            }
        }
    }
    assert!(
        bad == 0,
        "{what}: {bad} of {} values outside tolerance; worst [{}]: {} vs reference {} ({:.3e} × allowed)",
        got.len(),
        worst.1,
        got[worst.1],
        want[worst.1],
        worst.0
    );
}

/// Asserts that two arrays have the same shape and lie within the golden tolerance
/// ([`Tolerance::golden`]) of each other; the message names `what`.
pub fn assert_maps_close<S, T, D>(what: &str, got: &ArrayBase<S, D>, want: &ArrayBase<T, D>)
where
    S: Data<Elem = f32>,
    T: Data<Elem = f32>,
    D: Dimension,
{
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (got, want) = (got.iter().copied(), want.iter().copied());
    assert_close(what, got, want, Tolerance::golden());
}

/// The largest absolute difference of two arrays of the same shape, relative to the
/// largest magnitude of `want`.
pub fn rel_max_diff<S, T, D>(got: &ArrayBase<S, D>, want: &ArrayBase<T, D>) -> f32
where
    S: Data<Elem = f32>,
    T: Data<Elem = f32>,
    D: Dimension,
{
    assert_eq!(got.shape(), want.shape(), "shapes differ");
    let d = (got.iter().zip(want.iter())).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    let largest = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    d / largest.max(f32::MIN_POSITIVE)
}

/// Runs `cmd` and returns its output, failing the test (with its stderr) unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The bytes of a `.npy` file (version 1.0) with dtype descriptor `descr` (e.g. `<f4`),
/// C or Fortran order, `shape` and raw `data`, built by hand: any dtype, for tests of readers.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_folders_are_fresh_and_removed() {
        let path = {
            let d = Scratch::new("testkit-self");
            std::fs::write(d.join("f"), "x").unwrap();
            assert!(
                Scratch::new("testkit-self")
                    .read_dir()
                    .unwrap()
                    .next()
                    .is_none()
            );
            d.path().to_path_buf()
        };
        assert!(!path.exists());
    }

    #[test]
    fn tolerances_accept_and_reject() {
        assert_close(
            "ok",
            [1.0f32, 2.0],
            [1.0f32, 2.0001],
            Tolerance::relative(1e-3),
        );
        assert_close(
            "floor",
            [0.01f64],
            [0.0f64],
            Tolerance::of_largest(0.1, 1.0),
        );
        let off = std::panic::catch_unwind(|| {
            assert_close(
                "off",
                [1.0f64, f64::NAN],
                [1.0f64, 1.0],
                Tolerance::golden(),
            )
        });
        assert!(off.is_err());
    }

    #[test]
    fn npy_headers_are_aligned() {
        let b = npy_bytes("<f4", false, &[2, 3], &[0; 24]);
        assert_eq!((b.len() - 24) % 64, 0);
        assert!(String::from_utf8_lossy(&b).contains("'shape': (2, 3), }"));
        assert!(String::from_utf8_lossy(&npy_bytes("|u1", true, &[4], &[0; 4])).contains("(4,)"));
    }
}
