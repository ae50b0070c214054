//! The small tables a cell writes for the aggregation (disk is the boundary between cells,
//! which may run as separate SLURM tasks, and the aggregation): its per-sample predictions
//! and its scores, each declared, written and read here only.

use mrixai_core::{Error, Result, atomic};
use std::path::Path;

/// One explained test sample: `sample,label,prediction,correct` in `predictions.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// True class.
    pub label: usize,
    /// Predicted class.
    pub prediction: usize,
}

/// One score: `method,sample,metric,value` in a cell's `scores.csv` (and a shared
/// control's CSV).
#[derive(Debug, Clone, PartialEq)]
pub struct CellScore {
    /// Attribution method or control.
    pub method: String,
    /// Index of the explained test sample.
    pub sample: usize,
    /// Metric name.
    pub metric: String,
    /// The score (NaN where undefined).
    pub value: f64,
}

const PREDICTIONS_HEADER: &str = "sample,label,prediction,correct";
const SCORES_HEADER: &str = "method,sample,metric,value";

/// Writes the predictions of samples 0, 1, … to `path` (atomically).
pub fn write_predictions(path: &Path, rows: &[Prediction]) -> Result<()> {
    let mut text = format!("{PREDICTIONS_HEADER}\n");
    for (i, p) in rows.iter().enumerate() {
        let correct = p.label == p.prediction;
        text.push_str(&format!("{i},{},{},{correct}\n", p.label, p.prediction));
    }
    atomic::write_bytes(path, text.as_bytes())
}

/// Reads what [`write_predictions`] wrote; the samples must be 0, 1, … in order.
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>> {
    lines(path, PREDICTIONS_HEADER, false)?
        .enumerate()
        .map(|(i, (line, f))| {
            if field::<usize>(path, line, &f, 0)? != i {
                return Err(bad_line(path, line, "samples out of order"));
            }
            Ok(Prediction {
                label: field(path, line, &f, 1)?,
                prediction: field(path, line, &f, 2)?,
            })
        })
        .collect()
}

/// The rows of scores as text, header first.
fn scores_text(rows: &[CellScore]) -> String {
    let mut text = format!("{SCORES_HEADER}\n");
    for r in rows {
        let value = if r.value.is_nan() {
            "NaN".to_string()
        } else {
            format!("{}", r.value)
        };
        text.push_str(&format!("{},{},{},{value}\n", r.method, r.sample, r.metric));
    }
    text
}

/// Writes scores to `path` (atomically).
pub fn write_scores(path: &Path, rows: &[CellScore]) -> Result<()> {
    atomic::write_bytes(path, scores_text(rows).as_bytes())
}

/// Reads what [`write_scores`] wrote (and the header-less control scores of older runs).
pub fn read_scores(path: &Path) -> Result<Vec<CellScore>> {
    lines(path, SCORES_HEADER, true)?
        .map(|(line, f)| {
            Ok(CellScore {
                method: f[0].to_string(),
                sample: field(path, line, &f, 1)?,
                metric: f.get(2).map_or("", String::as_str).to_string(),
                value: match f.get(3).map(String::as_str) {
                    Some("NaN") => f64::NAN,
                    _ => field(path, line, &f, 3)?,
                },
            })
        })
        .collect()
}

/// The data lines of the CSV file `path` (1-based line number, fields) after `header`, which
/// may be absent when `optional`.
fn lines<'a>(
    path: &'a Path,
    header: &str,
    optional: bool,
) -> Result<impl Iterator<Item = (usize, Vec<String>)> + 'a> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let first = text.lines().next().unwrap_or("");
    let skip = usize::from(first == header);
    if skip == 0 && !optional {
        return Err(Error::format(
            path,
            format!("header `{first}`, expected `{header}`"),
        ));
    }
    let rows: Vec<(usize, Vec<String>)> = (text.lines().enumerate().skip(skip))
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 1, l.split(',').map(str::to_string).collect()))
        .collect();
    Ok(rows.into_iter())
}

fn bad_line(path: &Path, line: usize, why: &str) -> Error {
    Error::format(path, format!("line {line}: {why}"))
}

/// Field `i` of line `line`, parsed.
fn field<T: std::str::FromStr>(path: &Path, line: usize, f: &[String], i: usize) -> Result<T> {
    f.get(i)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad_line(path, line, &format!("bad or missing field {}", i + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Predictions and scores read back as written, NaN included; a damaged file is an
    /// error naming the file and the line.
    #[test]
    fn cell_tables_read_back_as_written() {
        let dir = mrixai_testkit::Scratch::new("cell-files");
        let preds = vec![
            Prediction {
                label: 1,
                prediction: 1,
            },
            Prediction {
                label: 0,
                prediction: 1,
            },
        ];
        let p = dir.join("predictions.csv");
        write_predictions(&p, &preds).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "sample,label,prediction,correct\n0,1,1,true\n1,0,1,false\n"
        );
        assert_eq!(read_predictions(&p).unwrap(), preds);
        let score = |method: &str, sample, value| CellScore {
            method: method.into(),
            sample,
            metric: "emd_score".into(),
            value,
        };
        let scores = vec![
            score("lrp", 0, 0.8125),
            score("lrp", 1, f64::NAN),
            score("oracle", 0, 1.0),
        ];
        let s = dir.join("scores.csv");
        write_scores(&s, &scores).unwrap();
        let text = std::fs::read_to_string(&s).unwrap();
        assert!(
            text.ends_with("lrp,1,emd_score,NaN\noracle,0,emd_score,1\n"),
            "{text}"
        );
        let back = read_scores(&s).unwrap();
        assert_eq!(
            (back.len(), &back[0], back[1].value.is_nan()),
            (3, &scores[0], true)
        );
        // the control scores of older runs have no header
        std::fs::write(&s, "lrp,0,emd_score,0.8125\n").unwrap();
        assert_eq!(read_scores(&s).unwrap(), vec![scores[0].clone()]);
        std::fs::write(&s, "method,sample,metric,value\nlrp,x,emd_score,1\n").unwrap();
        let e = read_scores(&s).unwrap_err().to_string();
        assert!(e.contains("scores.csv") && e.contains("line 2"), "{e}");
    }
}
