//! Ranking with ties (scipy `rankdata(method="average")`).

/// 1-based average ranks of `x`: tied values share the mean of the positions they occupy.
///
/// Values are compared with `f64::total_cmp`; callers pass finite data.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        // positions i..j (0-based) share rank mean(i+1..=j)
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// Sizes of the groups of equal values in `x` (groups of size 1 included).
pub fn tie_sizes(x: &[f64]) -> Vec<usize> {
    let mut v: Vec<f64> = x.to_vec();
    v.sort_by(f64::total_cmp);
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i + 1;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        out.push(j - i);
        i = j;
    }
    out
}

/// Σ (t³ − t) over tie groups: the usual tie-correction term.
pub fn tie_term(x: &[f64]) -> f64 {
    tie_sizes(x)
        .into_iter()
        .map(|t| (t * t * t - t) as f64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_with_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert_eq!(tie_sizes(&[3.0, 1.0, 3.0, 2.0]), vec![1, 1, 2]);
        assert_eq!(tie_term(&[1.0, 1.0, 1.0]), 24.0);
    }
}
