//! `stats`: the tables of `mrixai stats` from a score table given as columns.

use crate::{OrPy, any_array};
use mrixai_stats::analysis::{self, Options, Subset};
use mrixai_stats::table::{Kind, Table, Value};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::Path;

/// One input column: NumPy bool, integer or float arrays keep their type; anything else
/// (object or string arrays, lists) is read as text, `None` as missing.
fn column(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<(Kind, Vec<Value>)> {
    if let Ok(a) = any_array(obj, name) {
        let kind = match a.dtype.kind {
            'b' => Kind::Bool,
            'f' => Kind::F64,
            _ => Kind::I64,
        };
        let values = a
            .values
            .iter()
            .map(|&v| match kind {
                Kind::Bool => Value::Bool(v != 0.0),
                Kind::F64 => Value::F64(v),
                _ => Value::I64(v as i64),
            })
            .collect();
        return Ok((kind, values));
    }
    let list = obj.call_method0("tolist").unwrap_or_else(|_| obj.clone());
    let list = list.cast::<PyList>().map_err(|_| {
        PyValueError::new_err(format!(
            "scores: column `{name}` is neither an array nor a list"
        ))
    })?;
    let values = list
        .iter()
        .map(|v| {
            if v.is_none() {
                Ok(Value::Null)
            } else {
                Ok(Value::Str(v.str()?.to_string()))
            }
        })
        .collect::<PyResult<_>>()?;
    Ok((Kind::Str, values))
}

/// The score table from `{column name: values}`.
fn table(columns: &Bound<'_, PyDict>) -> PyResult<Table> {
    let mut cols = Vec::new();
    for (k, v) in columns.iter() {
        let name: String = k.extract()?;
        let (kind, values) = column(&name, &v)?;
        cols.push((name, kind, values));
    }
    let n = cols.first().map_or(0, |c| c.2.len());
    if let Some(c) = cols.iter().find(|c| c.2.len() != n) {
        return Err(PyValueError::new_err(format!(
            "scores: column `{}` has {} values, the first column {n}",
            c.0,
            c.2.len()
        )));
    }
    let spec: Vec<(&str, Kind)> = cols.iter().map(|c| (c.0.as_str(), c.1)).collect();
    let mut t = Table::new(&spec);
    for i in 0..n {
        t.push(cols.iter().map(|c| c.2[i].clone()).collect())
            .or_py()?;
    }
    Ok(t)
}

/// One output table: its stem, column names, and the values column by column (`None` for
/// missing values).
type TableTuple<'py> = (String, Vec<String>, Vec<Bound<'py, PyList>>);

/// Runs the analysis of `mrixai stats` on the score table `columns`.
#[pyfunction]
#[pyo3(signature = (columns, formula=None, reference="scratch", subset="correct", n_boot=1000, seed=0, alpha=0.05, bins=3, primary_metric=None, n_perm=999, min_accuracy=0.6))]
#[allow(clippy::too_many_arguments)]
pub fn stats<'py>(
    py: Python<'py>,
    columns: &Bound<'py, PyDict>,
    formula: Option<String>,
    reference: &str,
    subset: &str,
    n_boot: usize,
    seed: u64,
    alpha: f64,
    bins: usize,
    primary_metric: Option<String>,
    n_perm: usize,
    min_accuracy: f64,
) -> PyResult<Vec<TableTuple<'py>>> {
    let opts = Options {
        formula,
        reference: reference.into(),
        subset: subset.parse::<Subset>().or_py()?,
        n_boot,
        seed,
        alpha,
        bins,
        primary_metric,
        n_perm,
        min_accuracy,
        ..Options::default()
    };
    opts.validate().or_py()?;
    let t = table(columns)?;
    let tables = py
        .detach(|| {
            let records = mrixai_stats::table::records_of(Path::new("scores"), &t)?;
            analysis::analyze(&records, &opts)
        })
        .or_py()?;
    mrixai_stats::tables::TABLE_STEMS
        .iter()
        .filter_map(|&stem| Some((stem, tables.table(stem)?)))
        .map(|(stem, t)| {
            let cols = (0..t.names().len())
                .map(|j| {
                    let values = t.rows().iter().map(|r| value(py, &r[j]));
                    PyList::new(py, values.collect::<PyResult<Vec<_>>>()?)
                })
                .collect::<PyResult<_>>()?;
            Ok((stem.to_string(), t.names().to_vec(), cols))
        })
        .collect()
}

fn value<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Str(s) => s.into_pyobject(py)?.into_any(),
        Value::F64(x) => x.into_pyobject(py)?.into_any(),
        Value::I64(x) => x.into_pyobject(py)?.into_any(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Null => py.None().into_bound(py),
    })
}
