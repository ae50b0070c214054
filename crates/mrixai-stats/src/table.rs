//! Tables on disk: a small row-oriented [`Table`] type converted to and from polars
//! `DataFrame`s, Parquet/CSV IO with atomic writes, the long-format score table
//! ([`Record`], [`read_records`], [`write_records`], [`MapScore`]), and the one
//! generic writer and reader of typed rows ([`write_rows`], [`read_rows`], [`to_table`],
//! [`from_table`]; rows are declared in [`crate::columns`]).

pub use crate::columns::{Field, Kind, TableRow, Value, columns_of};
use mrixai_core::SourceName;
use mrixai_core::{Error, Result, atomic};
use polars::prelude::{
    Column as PlColumn, CsvReadOptions, CsvWriter, DataFrame, DataType, ParquetReader,
    ParquetWriter, SerReader, SerWriter,
};
use std::path::Path;

/// Columns of the long-format score table, in contract order: the fields of [`Record`].
pub fn score_columns() -> Vec<&'static str> {
    columns_of::<Record>().into_iter().map(|c| c.0).collect()
}

/// A row-oriented table with typed columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    names: Vec<String>,
    kinds: Vec<Kind>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with the given columns.
    pub fn new(columns: &[(&str, Kind)]) -> Self {
        Self {
            names: columns.iter().map(|c| c.0.to_string()).collect(),
            kinds: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column kinds.
    pub fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    /// The rows.
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a row; values must match the column kinds (or be null).
    pub fn push(&mut self, row: Vec<Value>) -> Result<()> {
        if row.len() != self.names.len() {
            return Err(Error::invalid(format!(
                "row has {} values for {} columns",
                row.len(),
                self.names.len()
            )));
        }
        for ((v, k), n) in row.iter().zip(&self.kinds).zip(&self.names) {
            let ok = matches!(
                (v, k),
                (Value::Null, _)
                    | (Value::Str(_), Kind::Str)
                    | (Value::F64(_), Kind::F64)
                    | (Value::I64(_), Kind::I64)
                    | (Value::Bool(_), Kind::Bool)
            );
            if !ok {
                return Err(Error::invalid(format!("column `{n}` is {k:?}, got {v:?}")));
            }
        }
        self.rows.push(row);
        Ok(())
    }

    /// Index of column `name`.
    pub fn index(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::invalid(format!(
                "table has no column `{name}` (have: {:?})",
                self.names
            ))
        })
    }

    /// Value at row `row`, column `name` (null if the column is absent).
    pub fn get(&self, row: usize, name: &str) -> &Value {
        const NULL: Value = Value::Null;
        match self.names.iter().position(|n| n == name) {
            Some(j) => self.rows.get(row).map_or(&NULL, |r| &r[j]),
            None => &NULL,
        }
    }

    /// The columns `names`, in that order; a column the table lacks comes back as null
    /// text.
    pub fn select(&self, names: &[&str]) -> Table {
        let at: Vec<Option<usize>> = (names.iter())
            .map(|n| self.names.iter().position(|m| m == n))
            .collect();
        Table {
            names: names.iter().map(|n| n.to_string()).collect(),
            kinds: at
                .iter()
                .map(|j| j.map_or(Kind::Str, |j| self.kinds[j]))
                .collect(),
            rows: (self.rows.iter())
                .map(|r| {
                    at.iter()
                        .map(|j| j.map_or(Value::Null, |j| r[j].clone()))
                        .collect()
                })
                .collect(),
        }
    }

    /// Converts to a polars `DataFrame` (NaN floats stay NaN, nulls stay null).
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        let mut cols = Vec::with_capacity(self.names.len());
        for (j, (name, kind)) in self.names.iter().zip(&self.kinds).enumerate() {
            let it = self.rows.iter().map(|r| &r[j]);
            let nm = name.as_str().into();
            let col = match kind {
                Kind::Str => PlColumn::new(
                    nm,
                    it.map(|v| match v {
                        Value::Null => None,
                        v => Some(v.text()),
                    })
                    .collect::<Vec<Option<String>>>(),
                ),
                Kind::F64 => PlColumn::new(
                    nm,
                    it.map(|v| match v {
                        Value::Null => None,
                        v => Some(v.f64()),
                    })
                    .collect::<Vec<Option<f64>>>(),
                ),
                Kind::I64 => PlColumn::new(nm, it.map(Value::i64).collect::<Vec<Option<i64>>>()),
                Kind::Bool => PlColumn::new(nm, it.map(Value::bool).collect::<Vec<Option<bool>>>()),
            };
            cols.push(col);
        }
        DataFrame::new(self.rows.len(), cols)
            .map_err(|e| Error::invalid(format!("cannot build data frame: {e}")))
    }

    /// Converts from a polars `DataFrame`: strings, floats, integers and booleans are
    /// kept (other types are cast to text); float nulls become NaN.
    pub fn from_dataframe(df: &DataFrame) -> Result<Self> {
        let mut names = Vec::new();
        let mut kinds = Vec::new();
        let mut columns: Vec<Vec<Value>> = Vec::new();
        let perr = |e: polars::error::PolarsError| Error::invalid(format!("data frame: {e}"));
        for c in df.columns() {
            let name = c.name().to_string();
            let dt = c.dtype().clone();
            let (kind, vals): (Kind, Vec<Value>) = if dt.is_float() {
                let s = c.cast(&DataType::Float64).map_err(perr)?;
                let ca = s.f64().map_err(perr)?.clone();
                (
                    Kind::F64,
                    ca.iter()
                        .map(|v| Value::F64(v.unwrap_or(f64::NAN)))
                        .collect(),
                )
            } else if dt.is_integer() {
                let s = c.cast(&DataType::Int64).map_err(perr)?;
                let ca = s.i64().map_err(perr)?.clone();
                (Kind::I64, ca.iter().map(Value::from).collect())
            } else if dt == DataType::Boolean {
                let ca = c.bool().map_err(perr)?.clone();
                (Kind::Bool, ca.iter().map(Value::from).collect())
            } else {
                let s = c.cast(&DataType::String).map_err(perr)?;
                let ca = s.str().map_err(perr)?.clone();
                (
                    Kind::Str,
                    ca.iter()
                        .map(|v| Value::from(v.map(str::to_string)))
                        .collect(),
                )
            };
            names.push(name);
            kinds.push(kind);
            columns.push(vals);
        }
        let n = df.height();
        let mut rows: Vec<Vec<Value>> = (0..n).map(|_| Vec::with_capacity(names.len())).collect();
        for col in columns {
            for (r, v) in rows.iter_mut().zip(col) {
                r.push(v);
            }
        }
        Ok(Self { names, kinds, rows })
    }

    /// Reads a `.parquet` or `.csv` file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_dataframe(&read_frame(path)?)
    }

    /// Writes the table to `path` (`.parquet` or `.csv`) atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_frame(path, &mut self.to_dataframe()?)
    }

    /// Writes `dir/<stem>.csv` and `dir/<stem>.parquet`.
    pub fn write_both(&self, dir: &Path, stem: &str) -> Result<()> {
        let mut df = self.to_dataframe()?;
        write_frame(&dir.join(format!("{stem}.parquet")), &mut df)?;
        write_frame(&dir.join(format!("{stem}.csv")), &mut df)
    }
}

fn extension(path: &Path) -> Result<&'static str> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("parquet") | Some("pq") => Ok("parquet"),
        Some("csv") => Ok("csv"),
        _ => Err(Error::format(
            path,
            "unsupported table format: use a .parquet or .csv file",
        )),
    }
}

/// Reads a Parquet or CSV file (by extension) into a `DataFrame`.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let kind = extension(path)?;
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let df = match kind {
        "parquet" => {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(f).finish()
        }
        _ => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish()),
    };
    df.map_err(|e| Error::format(path, format!("cannot read {kind} table: {e}")))
}

/// Writes a `DataFrame` to `path` as Parquet or CSV (by extension), atomically.
pub fn write_frame(path: &Path, df: &mut DataFrame) -> Result<()> {
    let kind = extension(path)?;
    let mut buf: Vec<u8> = Vec::new();
    let res = match kind {
        "parquet" => ParquetWriter::new(&mut buf).finish(df).map(|_| ()),
        _ => CsvWriter::new(&mut buf).include_header(true).finish(df),
    };
    res.map_err(|e| Error::format(path, format!("cannot write {kind} table: {e}")))?;
    atomic::write_bytes(path, &buf)
}

/// Fails, naming every missing column, unless `df` has all of `required`.
pub fn require_columns(path: &Path, names: &[String], required: &[&str]) -> Result<()> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|n| n == r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::format(
            path,
            format!("missing required column(s) {}", missing.join(", ")),
        ))
    }
}

/// Reads a long-format score table (Parquet or CSV) and checks that every contract column
/// is present.
pub fn read_scores(path: &Path) -> Result<DataFrame> {
    let df = read_frame(path)?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    require_columns(path, &names, &score_columns())?;
    Ok(df)
}

/// Writes a score table atomically (Parquet or CSV by extension).
pub fn write_scores(path: &Path, df: &DataFrame) -> Result<()> {
    let mut df = df.clone();
    write_frame(path, &mut df)
}

crate::stats_table! {
    /// One row of the long-format score table: one score of one map with its model's and
    /// its sample's attributes. Its fields declare the table's columns, in contract order.
    #[derive(Default)]
    pub struct Record {
        /// Content-addressed cell id.
        pub cell: String,
        /// Pre-training source (`scratch`, `ood`, `mri`; `unknown` for a table of maps).
        pub source: SourceName,
        /// Number of leading layers initialised from the checkpoint.
        pub pretrained_layers: i64,
        /// Whether those layers stayed frozen.
        pub frozen: bool,
        /// Training seed of the cell.
        pub seed: i64,
        /// Test accuracy of the cell's model.
        pub model_accuracy: f64,
        /// Attribution method or control.
        pub method: String,
        /// Index into the test split.
        pub sample: i64,
        /// True class.
        pub label: i64,
        /// Predicted class.
        pub prediction: i64,
        /// Correctly classified by this cell's model.
        pub correct: bool,
        /// Correctly classified by every model of the run.
        pub correct_all: bool,
        /// Metric name.
        pub metric: String,
        /// The score (NaN where undefined).
        pub value: f64,
    }
}

crate::stats_table! {
    /// One score of one map, as `mrixai score` writes it: `[method,] sample, metric, value`
    /// (the method column only when a method was named).
    pub struct MapScore {
        /// Attribution method, if named.
        pub method: Option<String>,
        /// Index of the map.
        pub sample: i64,
        /// Metric name.
        pub metric: String,
        /// The score (NaN where undefined).
        pub value: f64,
    }
}

/// Writes map scores to `path` (`.parquet` or `.csv`), atomically; the `method` column only
/// when some row names a method.
pub fn write_map_scores(path: &Path, rows: &[MapScore]) -> Result<()> {
    let t = to_table(rows);
    match rows.iter().any(|r| r.method.is_some()) {
        true => t.write(path),
        false => t.select(&["sample", "metric", "value"]).write(path),
    }
}

/// Writes records as the long-format table with every contract column (`.parquet` or
/// `.csv`), atomically; [`read_records`] reads them back unchanged.
pub fn write_records(path: &Path, records: &[Record]) -> Result<()> {
    to_table(records).write(path)
}

/// Fails, naming row and column, where a column of `required` holds a null.
fn require_values(path: &Path, t: &Table, required: &[&str]) -> Result<()> {
    for &col in required {
        let Ok(j) = t.index(col) else { continue };
        if let Some(i) = t.rows.iter().position(|r| r[j] == Value::Null) {
            let msg = format!("row {i}: column `{col}` must not be empty");
            return Err(Error::format(path, msg));
        }
    }
    Ok(())
}

/// Converts a score table to records, checking types and nulls (a null `value` reads as
/// NaN; every other column must hold a value).
pub fn records(path: &Path, t: &Table) -> Result<Vec<Record>> {
    let columns = score_columns();
    require_columns(path, t.names(), &columns)?;
    let t = t.select(&columns);
    require_values(path, &t, &columns[..columns.len() - 1])?;
    let out: Vec<Record> = from_table(&t, path)?;
    for (i, r) in out.iter().enumerate() {
        if !r.model_accuracy.is_finite() {
            let msg = format!("row {i}: column `model_accuracy` must be a finite number");
            return Err(Error::format(path, msg));
        }
        if r.value.is_infinite() {
            return Err(Error::format(path, format!("row {i}: `value` is infinite")));
        }
    }
    Ok(out)
}

/// The columns `mrixai score` writes (`method` only when it was given).
const SCORE_ONLY_COLUMNS: [&str; 3] = ["sample", "metric", "value"];

/// Reads a long-format score file into records. A table of one model's maps as
/// `mrixai score` writes it (`[method,] sample, metric, value`, no model columns) is read as
/// one model, `model`, of unknown source and accuracy whose every sample counts as correct:
/// method comparisons are then possible, model-level findings are not.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    records_of(path, &Table::read(path)?)
}

/// The records of a score table already in memory, in either form [`read_records`] reads;
/// `origin` names the table in errors.
pub fn records_of(origin: &Path, t: &Table) -> Result<Vec<Record>> {
    let columns = score_columns();
    let model_cols = columns
        .iter()
        .filter(|c| !SCORE_ONLY_COLUMNS.contains(c) && **c != "method");
    if model_cols.clone().all(|c| t.index(c).is_err())
        && SCORE_ONLY_COLUMNS.iter().all(|c| t.index(c).is_ok())
    {
        return one_model_records(origin, t);
    }
    records(origin, t)
}

fn one_model_records(path: &Path, t: &Table) -> Result<Vec<Record>> {
    let columns: Vec<&str> = columns_of::<MapScore>().iter().map(|c| c.0).collect();
    let t = t.select(&columns);
    require_values(path, &t, &["sample", "metric"])?;
    let scores: Vec<MapScore> = from_table(&t, path)?;
    let record = |s: MapScore| Record {
        cell: "model".into(),
        source: SourceName::Other("unknown".into()),
        model_accuracy: f64::NAN,
        method: s.method.unwrap_or_else(|| "maps".into()),
        sample: s.sample,
        label: -1,
        prediction: -1,
        correct: true,
        correct_all: true,
        metric: s.metric,
        value: s.value,
        ..Record::default()
    };
    Ok(scores.into_iter().map(record).collect())
}

/// Typed rows as a [`Table`] (columns in field order).
pub fn to_table<R: Field>(rows: &[R]) -> Table {
    let mut t = Table::new(&columns_of::<R>());
    for r in rows {
        let mut values = Vec::with_capacity(t.names.len());
        r.put(&mut values);
        t.rows.push(values);
    }
    t
}

/// Typed rows from a [`Table`] read from `origin`, whose columns must be those of `R`.
pub fn from_table<R: Field>(t: &Table, origin: &Path) -> Result<Vec<R>> {
    let want: Vec<&str> = columns_of::<R>().iter().map(|c| c.0).collect();
    if t.names != want {
        return Err(Error::format(
            origin,
            format!("columns {:?}, expected {want:?}", t.names),
        ));
    }
    (t.rows.iter().enumerate())
        .map(|(i, row)| {
            R::take(&mut row.iter(), "").map_err(|e| Error::format(origin, format!("row {i}: {e}")))
        })
        .collect()
}

/// Writes rows as `dir/<stem>.csv` and `dir/<stem>.parquet` (atomic files).
pub fn write_rows<R: TableRow>(dir: &Path, rows: &[R]) -> Result<()> {
    to_table(rows).write_both(dir, R::STEM)
}

/// Reads the rows written by [`write_rows`] (Parquet preferred, CSV otherwise).
pub fn read_rows<R: TableRow>(dir: &Path) -> Result<Vec<R>> {
    let pq = dir.join(format!("{}.parquet", R::STEM));
    let path = if pq.is_file() {
        pq
    } else {
        dir.join(format!("{}.csv", R::STEM))
    };
    from_table(&Table::read(&path)?, &path)
}
