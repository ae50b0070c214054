//! C-order index arithmetic on N-D boxes, shared by the N-D filters, the superpixels and SSIM.

/// The C-order flat index of the per-axis index `at` in `shape`.
pub(crate) fn flat(at: &[usize], shape: &[usize]) -> usize {
    at.iter().zip(shape).fold(0, |acc, (i, n)| acc * n + i)
}

/// Writes into `at` the per-axis index of the C-order flat index `e` in `shape`.
pub(crate) fn unflat_into(mut e: usize, shape: &[usize], at: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        at[d] = e % shape[d];
        e /= shape[d];
    }
}

/// The per-axis index of the C-order flat index `e` in `shape`.
pub(crate) fn unflat(e: usize, shape: &[usize]) -> Vec<usize> {
    let mut at = vec![0; shape.len()];
    unflat_into(e, shape, &mut at);
    at
}

/// Every index of a box `[0, n_0) × … × [0, n_k)`, in C order (none if an extent is 0).
pub(crate) struct Odometer {
    extent: Vec<usize>,
    next: Option<Vec<usize>>,
}

impl Odometer {
    /// Every index of the box `extent`.
    pub(crate) fn new(extent: Vec<usize>) -> Odometer {
        let next = (!extent.contains(&0)).then(|| vec![0; extent.len()]);
        Odometer { extent, next }
    }
}

impl Iterator for Odometer {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        let cur = self.next.take()?;
        let mut at = cur.clone();
        for d in (0..at.len()).rev() {
            if at[d] + 1 < self.extent[d] {
                at[d] += 1;
                self.next = Some(at);
                break;
            }
            at[d] = 0;
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The odometer visits a box in C order; flat and unflat invert each other.
    #[test]
    fn boxes_are_walked_in_c_order() {
        let all: Vec<Vec<usize>> = Odometer::new(vec![2, 3]).collect();
        assert_eq!(all.len(), 6);
        assert_eq!((all[1].clone(), all[3].clone()), (vec![0, 1], vec![1, 0]));
        for (e, at) in all.iter().enumerate() {
            assert_eq!((flat(at, &[2, 3]), unflat(e, &[2, 3])), (e, at.clone()));
        }
        assert_eq!(Odometer::new(vec![2, 0]).count(), 0);
    }
}
