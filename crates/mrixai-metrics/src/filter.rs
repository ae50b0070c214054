//! Sample filters: keep the samples a model classifies correctly, or that every compared
//! model classifies correctly (so that all models are scored on the same samples).

use mrixai_core::{Error, Result};
use ndarray::ArrayView2;

/// Predicted classes (argmax over axis 1, first maximum on ties) of logits `[N, classes]`.
pub fn predictions_from_logits(logits: ArrayView2<f32>) -> Vec<usize> {
    logits
        .outer_iter()
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Whether each sample is correctly classified: `predictions[i] == labels[i]`.
pub fn correct(predictions: &[usize], labels: &[usize]) -> Result<Vec<bool>> {
    if predictions.len() != labels.len() {
        return Err(Error::invalid(format!(
            "{} prediction(s) for {} label(s)",
            predictions.len(),
            labels.len()
        )));
    }
    Ok(predictions
        .iter()
        .zip(labels)
        .map(|(p, l)| p == l)
        .collect())
}

/// Whether each sample is correctly classified by every model (one prediction list per
/// model). With no model at all every sample is kept.
pub fn correct_all(predictions: &[&[usize]], labels: &[usize]) -> Result<Vec<bool>> {
    let mut keep = vec![true; labels.len()];
    for (m, p) in predictions.iter().enumerate() {
        let c = correct(p, labels).map_err(|e| Error::invalid(format!("model {m}: {e}")))?;
        keep.iter_mut().zip(c).for_each(|(k, c)| *k &= c);
    }
    Ok(keep)
}

/// Indices of the kept samples.
pub fn kept_indices(keep: &[bool]) -> Vec<usize> {
    keep.iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn filters() {
        let labels = [0, 1, 1, 0];
        let a = predictions_from_logits(
            array![[2.0f32, 1.0], [0.0, 3.0], [1.0, 1.0], [0.5, 0.1]].view(),
        );
        assert_eq!(a, vec![0, 1, 0, 0]);
        let b = [0, 1, 1, 1];
        assert_eq!(correct(&a, &labels).unwrap(), vec![true, true, false, true]);
        let all = correct_all(&[&a, &b], &labels).unwrap();
        assert_eq!(all, vec![true, true, false, false]);
        assert_eq!(kept_indices(&all), vec![0, 1]);
        assert!(correct(&a[..2], &labels).is_err());
        assert!(
            correct_all(&[&a, &b[..3]], &labels)
                .unwrap_err()
                .to_string()
                .contains("model 1")
        );
    }
}
