//! The native module `mrixai._mrixai`: thin bindings of the library crates for the Python
//! package `mrixai` (python/mrixai). Arrays arrive as NumPy arrays (the Python layer calls
//! `numpy.asarray`); float32 arrays are borrowed, not copied; every computation runs with the
//! GIL released; errors become `FileNotFoundError` (a missing file) or `ValueError` with the
//! command line's messages.

// PyO3's macros expand to unsafe FFI code; this crate writes none itself.
#![allow(unsafe_code)]

use mrixai_core::npy_any::{AnyArray, Dtype};
use mrixai_core::{ArrayF, Error, Explainable};
use numpy::{
    Element, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods, ToPyArray,
};
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod stats;
mod synth;

/// A toolkit error as the Python exception a user expects, with the command line's message.
fn py_err(e: Error) -> PyErr {
    match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// `map_err(py_err)` for toolkit results.
trait OrPy<T> {
    fn or_py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for mrixai_core::Result<T> {
    fn or_py(self) -> PyResult<T> {
        self.map_err(py_err)
    }
}

/// The values of a NumPy array of any numeric dtype as `f64`, with the dtype they had (as
/// the `.npy` reader of the command line returns them).
fn any_array(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<AnyArray> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyValueError::new_err(format!("{name}: expected a NumPy array (or array-like)"))
    })?;
    let descr = arr.dtype();
    let kind = descr.kind() as char;
    let size = descr.itemsize();
    fn values<T: Element + Copy>(
        obj: &Bound<'_, PyAny>,
        f: impl Fn(T) -> f64,
    ) -> PyResult<ndarray::ArrayD<f64>> {
        let a: PyReadonlyArrayDyn<'_, T> = obj.extract()?;
        Ok(a.as_array().mapv(f))
    }
    let values = match (kind, size) {
        ('b', 1) => values::<bool>(obj, |v| f64::from(u8::from(v)))?,
        ('i', 1) => values::<i8>(obj, f64::from)?,
        ('i', 2) => values::<i16>(obj, f64::from)?,
        ('i', 4) => values::<i32>(obj, f64::from)?,
        ('i', 8) => values::<i64>(obj, |v| v as f64)?,
        ('u', 1) => values::<u8>(obj, f64::from)?,
        ('u', 2) => values::<u16>(obj, f64::from)?,
        ('u', 4) => values::<u32>(obj, f64::from)?,
        ('u', 8) => values::<u64>(obj, |v| v as f64)?,
        ('f', 2) => values::<half::f16>(obj, f64::from)?,
        ('f', 4) => values::<f32>(obj, f64::from)?,
        ('f', 8) => values::<f64>(obj, |v| v)?,
        _ => {
            return Err(PyValueError::new_err(format!(
                "{name}: dtype {} is not a real number type (expected bool, an integer or float16/32/64)",
                descr.str().map(|s| s.to_string()).unwrap_or_default()
            )));
        }
    };
    Ok(AnyArray {
        dtype: Dtype {
            kind,
            size,
            big_endian: false,
            fortran: false,
        },
        values,
    })
}

/// A real-valued array: float32 borrowed from NumPy, anything else converted (float64 is
/// rounded to float32, as the command line reads it).
enum Floats<'py> {
    Borrowed(PyReadonlyArrayDyn<'py, f32>),
    Converted(ArrayF),
}

impl Floats<'_> {
    fn view(&self) -> ndarray::ArrayViewD<'_, f32> {
        match self {
            Floats::Borrowed(a) => a.as_array(),
            Floats::Converted(a) => a.view(),
        }
    }
}

fn floats<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Floats<'py>> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, f32>>() {
        return Ok(Floats::Borrowed(a));
    }
    Ok(Floats::Converted(
        any_array(obj, name)?.into_f32(Path::new(name)).0,
    ))
}

/// Whether float32 `obj` is read without a copy (its data are borrowed by [`floats`]).
#[pyfunction]
fn _borrows(obj: &Bound<'_, PyAny>) -> bool {
    matches!(floats(obj, "array"), Ok(Floats::Borrowed(_)))
}

/// Ground-truth masks of any numeric dtype (binary, or binarised at `threshold`).
fn masks(
    obj: &Bound<'_, PyAny>,
    threshold: Option<f32>,
    name: &str,
) -> PyResult<ndarray::ArrayD<u8>> {
    let a = any_array(obj, name)?;
    mrixai_metrics::mask_from_values(a.values.view(), threshold, name).or_py()
}

/// Scores attribution maps against masks; returns the metric names and the `[N, metrics]`
/// values (the Python layer makes the long table).
#[pyfunction]
#[pyo3(signature = (attributions, masks, metrics=None, pool=None, threshold=None, nan_policy="error"))]
fn score<'py>(
    py: Python<'py>,
    attributions: &Bound<'py, PyAny>,
    masks: &Bound<'py, PyAny>,
    metrics: Option<Vec<String>>,
    pool: Option<&str>,
    threshold: Option<f32>,
    nan_policy: &str,
) -> PyResult<(Vec<String>, Bound<'py, PyArray2<f64>>)> {
    let set = mrixai_metrics::MetricSet::parse(&metrics.unwrap_or_default()).or_py()?;
    let policy: mrixai_metrics::NanPolicy = nan_policy.parse().or_py()?;
    let pooling = pool
        .map(str::parse::<mrixai_metrics::Pooling>)
        .transpose()
        .or_py()?;
    if let Some(t) = threshold {
        mrixai_metrics::check_threshold(t).or_py()?;
    }
    let mask = self::masks(masks, threshold, "masks")?;
    let attr = floats(attributions, "attributions")?;
    let view = attr.view();
    let values = py.detach(|| {
        mrixai_metrics::check_finite(view.view(), policy, "attributions")?;
        let (a, m) = mrixai_metrics::align(view, mask, pooling, "attributions", "masks")?;
        set.score_batch(a.view(), m.view(), &mrixai_core::progress::Silent)
    });
    Ok((set.names(), values.or_py()?.to_pyarray(py)))
}

/// The images of `inputs` as the model's prepared float32 batch (finite values only).
fn model_inputs(model: &mrixai_zoo::Vgg, inputs: &Bound<'_, PyAny>) -> PyResult<ArrayF> {
    let x = floats(inputs, "inputs")?;
    let v = x.view();
    mrixai_core::error::ensure_finite("inputs", v.iter()).or_py()?;
    model.prepare(v).or_py()
}

/// A checkpoint loaded on `device` (`cpu`, `gpu` or `gpu:N`).
fn load_model(model: &Path, device: &str) -> PyResult<mrixai_zoo::Vgg> {
    let compute: mrixai_zoo::Compute = device
        .parse()
        .map_err(|e| PyValueError::new_err(format!("device: {e}")))?;
    mrixai_zoo::Vgg::load_on(model, compute).or_py()
}

/// Logits `[N, classes]` of a checkpoint on `inputs` `[N, C, H, W]` (or volumes
/// `[N, C, D, H, W]`), the model on `device`.
#[pyfunction]
#[pyo3(signature = (model, inputs, device="cpu"))]
fn predict<'py>(
    py: Python<'py>,
    model: PathBuf,
    inputs: &Bound<'py, PyAny>,
    device: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let model = load_model(&model, device)?;
    let x = model_inputs(&model, inputs)?;
    let logits = py.detach(|| model.logits_batched(x.view())).or_py()?;
    Ok(logits.to_pyarray(py))
}

/// Class indices `[N]` from any integer, bool or whole-valued float array.
fn targets(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let (t, _) = any_array(obj, "target")?
        .into_index_list(Path::new("target"), "target")
        .or_py()?;
    Ok(t)
}

/// Attribution maps of `method` for `inputs`; `target` `None` explains the predicted class.
/// The model runs on `device`.
#[pyfunction]
#[pyo3(signature = (model, inputs, target, method, params, batch_size=16, masks=None, device="cpu"))]
#[allow(clippy::too_many_arguments)]
fn explain<'py>(
    py: Python<'py>,
    model: PathBuf,
    inputs: &Bound<'py, PyAny>,
    target: Option<&Bound<'py, PyAny>>,
    method: String,
    params: BTreeMap<String, String>,
    batch_size: usize,
    masks: Option<&Bound<'py, PyAny>>,
    device: &str,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let job = mrixai_attrib::Explanation {
        method,
        params,
        batch_size,
    };
    job.validate().or_py()?;
    let model = load_model(&model, device)?;
    let x = model_inputs(&model, inputs)?;
    let masks = masks.map(|m| self::masks(m, None, "masks")).transpose()?;
    if mrixai_attrib::needs_masks(&job.method)
        && masks.is_none()
        && !job.params.contains_key("masks")
    {
        return Err(PyValueError::new_err(
            "the oracle needs ground-truth masks: pass masks=…",
        ));
    }
    let targets = match target {
        Some(t) => targets(t)?,
        None => py.detach(|| model.predict(x.view())).or_py()?,
    };
    // their number is checked by the explain service; their range here, naming the argument
    mrixai_core::explain::check_targets(&[targets.len(), model.num_classes()], &targets)
        .map_err(|e| PyValueError::new_err(format!("target: {e}")))?;
    let attr = py
        .detach(|| {
            mrixai_attrib::explain(
                &model,
                &job,
                x.view(),
                &targets,
                masks.as_ref().map(|m| m.view()),
                &mut |_| {},
            )
        })
        .or_py()?;
    Ok(attr.to_pyarray(py))
}

/// Metrics without ground truth of `maps` for a checkpoint on `inputs` (`target` `None`: the
/// predicted class); returns the metric names and the `[N, metrics]` values (the Python
/// layer makes the long table). `baseline` `None` is the sample's smallest value.
#[pyfunction]
#[pyo3(signature = (model, inputs, maps, target=None, metrics=None, patch=8, regions=100, features_in_step=1, runs=100, subset=224, seed=0, baseline=None, device="cpu", method=None, params=None, noisy_copies=200, radius=0.2))]
#[allow(clippy::too_many_arguments)]
fn evaluate<'py>(
    py: Python<'py>,
    model: PathBuf,
    inputs: &Bound<'py, PyAny>,
    maps: &Bound<'py, PyAny>,
    target: Option<&Bound<'py, PyAny>>,
    metrics: Option<Vec<String>>,
    patch: usize,
    regions: usize,
    features_in_step: usize,
    runs: usize,
    subset: usize,
    seed: u64,
    baseline: Option<f32>,
    device: &str,
    method: Option<String>,
    params: Option<BTreeMap<String, String>>,
    noisy_copies: usize,
    radius: f32,
) -> PyResult<(Vec<String>, Bound<'py, PyArray2<f64>>)> {
    let names =
        mrixai_gtfree::parse_names(&metrics.unwrap_or_default(), method.is_some()).or_py()?;
    let baseline = baseline.map_or(
        mrixai_gtfree::Baseline::Black,
        mrixai_gtfree::Baseline::Value,
    );
    let mut s = mrixai_gtfree::Settings::seeded(seed, baseline);
    (s.region.patch, s.region.regions) = (patch, regions);
    s.flipping.features_in_step = features_in_step;
    (s.faithfulness.runs, s.faithfulness.subset) = (runs, subset);
    (s.sensitivity.samples, s.sensitivity.radius) = (noisy_copies, radius);
    let method = (method.as_deref())
        .filter(|_| names.contains(&"max_sensitivity"))
        .map(|m| mrixai_attrib::method_by_name(m, &params.unwrap_or_default()))
        .transpose()
        .or_py()?;
    let model = load_model(&model, device)?;
    let x = model_inputs(&model, inputs)?;
    let a = floats(maps, "maps")?;
    let targets = match target {
        Some(t) => targets(t)?,
        None => py.detach(|| model.predict(x.view())).or_py()?,
    };
    let batch = mrixai_gtfree::Batch {
        model: &model,
        x: x.view(),
        maps: a.view(),
        targets: &targets,
        method: method.as_deref(),
    };
    let silent = mrixai_core::progress::Silent;
    let values = py
        .detach(|| mrixai_gtfree::score(&batch, &names, &s, &silent))
        .or_py()?;
    let n = targets.len();
    let table = ndarray::Array2::from_shape_fn((n, names.len()), |(i, j)| values[j][i]);
    let names = names.iter().map(|n| n.to_string()).collect();
    Ok((names, table.to_pyarray(py)))
}

/// Names of the metrics without ground truth.
#[pyfunction]
fn gtfree_names() -> Vec<&'static str> {
    mrixai_gtfree::NAMES.to_vec()
}

/// Names of every attribution method and control.
#[pyfunction]
fn methods() -> Vec<&'static str> {
    mrixai_attrib::method_names()
}

/// Names of the default metric set (parameterised ones: `top_k_intersection@K`,
/// `threshold_{precision,recall,f1}@T`).
#[pyfunction]
fn metric_names() -> Vec<String> {
    mrixai_metrics::MetricSet::parse::<&str>(&[])
        .map(|s| s.names())
        .unwrap_or_default()
}

/// The native module.
#[pymodule]
fn _mrixai(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // an instruction path the environment asks for and the CPU lacks fails the import
    mrixai_zoo::simd::Path::from_env().map_err(py_err)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(gtfree_names, m)?)?;
    m.add_function(wrap_pyfunction!(methods, m)?)?;
    m.add_function(wrap_pyfunction!(metric_names, m)?)?;
    m.add_function(wrap_pyfunction!(_borrows, m)?)?;
    m.add_function(wrap_pyfunction!(synth::synth, m)?)?;
    m.add_function(wrap_pyfunction!(stats::stats, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
