//! CPU kernels of a VGG's head: adaptive average pooling and fully connected layers, forward
//! and backward, on plain C-order buffers. Their matrix products are [`super::gemm`]'s and
//! their sums run in a fixed order, so they give the same bytes on every instruction path.

use super::gemm::{Mat, gemm_par};
use rayon::prelude::*;

/// The input rows `[start, end)` that adaptive pooling of `len` values to `out` cells gives
/// cell `i` (PyTorch's `AdaptiveAvgPool2d`: `⌊i·len/out⌋ .. ⌈(i+1)·len/out⌉`).
fn window(i: usize, len: usize, out: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

/// Calls `f(cell, ranges)` for each cell of adaptive pooling of an `h × w` plane to `oh × ow`
/// cells, in row-major order: `ranges` are the plane's index ranges of the cell's window,
/// one per window row, and the window's size.
fn for_each_window(
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    mut f: impl FnMut(usize, &mut dyn Iterator<Item = std::ops::Range<usize>>, usize),
) {
    for i in 0..oh {
        let (y0, y1) = window(i, h, oh);
        for j in 0..ow {
            let (x0, x1) = window(j, w, ow);
            let mut rows = (y0..y1).map(|yy| yy * w + x0..yy * w + x1);
            f(i * ow + j, &mut rows, (y1 - y0) * (x1 - x0));
        }
    }
}

/// Adaptive average pooling of `x` (`[n, c, h, w]`) to `[n, c, oh, ow]`; each cell is the sum
/// of its window in row-major order divided by its size.
pub(crate) fn adaptive_avg_pool(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    [oh, ow]: [usize; 2],
) -> Vec<f32> {
    let mut y = vec![0f32; n * c * oh * ow];
    if oh * ow == 0 || h * w == 0 {
        return y;
    }
    y.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(out, plane)| {
            for_each_window([h, w], [oh, ow], |cell, rows, size| {
                let mut s = 0f32;
                for r in rows {
                    for &xv in &plane[r] {
                        s += xv;
                    }
                }
                out[cell] = s / size as f32;
            })
        });
    y
}

/// Input gradient of [`adaptive_avg_pool`] over an input of `dims_in`: each cell's gradient,
/// divided by its window size, added to every value of its window.
pub(crate) fn adaptive_avg_pool_backward(
    g: &[f32],
    dims_in: [usize; 4],
    [oh, ow]: [usize; 2],
) -> Vec<f32> {
    let [n, c, h, w] = dims_in;
    let mut dx = vec![0f32; n * c * h * w];
    if oh * ow == 0 || h * w == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(g.par_chunks(oh * ow))
        .for_each(|(plane, gp)| {
            for_each_window([h, w], [oh, ow], |cell, rows, size| {
                let share = gp[cell] / size as f32;
                for r in rows {
                    for d in &mut plane[r] {
                        *d += share;
                    }
                }
            })
        });
    dx
}

/// Sizes of a fully connected layer applied to a batch: rows, inputs and outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinearShape {
    pub n: usize,
    pub fin: usize,
    pub fout: usize,
}

/// `y = x·Wᵀ + b` for `x` `[n, fin]`, `W` `[fout, fin]`, `b` `[fout]`; each value's products
/// are added to its bias.
pub(crate) fn linear(s: LinearShape, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), s.n * s.fin, "linear input size");
    assert_eq!(w.len(), s.fout * s.fin, "linear weight size");
    assert_eq!(b.len(), s.fout, "linear bias size");
    let mut y: Vec<f32> = (0..s.n).flat_map(|_| b.iter().copied()).collect();
    gemm_par(
        (s.n, s.fout, s.fin),
        &mut y,
        Mat::rows(x, s.fin),
        Mat::rows_t(w, s.fin),
    );
    y
}

/// Input gradient `g·W` (`[n, fin]`) from the output gradient `g` (`[n, fout]`).
pub(crate) fn linear_backward_input(s: LinearShape, w: &[f32], g: &[f32]) -> Vec<f32> {
    assert_eq!(g.len(), s.n * s.fout, "linear output gradient size");
    let mut dx = vec![0f32; s.n * s.fin];
    gemm_par(
        (s.n, s.fin, s.fout),
        &mut dx,
        Mat::rows(g, s.fout),
        Mat::rows(w, s.fin),
    );
    dx
}

/// Weight and bias gradients `(gᵀ·x, Σ_rows g)` from the input `x` and output gradient `g`.
pub(crate) fn linear_backward_weights(
    s: LinearShape,
    x: &[f32],
    g: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(g.len(), s.n * s.fout, "linear output gradient size");
    let mut dw = vec![0f32; s.fout * s.fin];
    gemm_par(
        (s.fout, s.fin, s.n),
        &mut dw,
        Mat::rows_t(g, s.fout),
        Mat::rows(x, s.fin),
    );
    let mut db = vec![0f32; s.fout];
    for row in g.chunks_exact(s.fout.max(1)) {
        db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
    }
    (dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{from_vec, to_vec};
    use crate::testutil::assert_close;
    use burn::tensor::module::adaptive_avg_pool2d;
    use burn::tensor::{Device, Tensor};
    use rand::Rng;

    fn random(len: usize, rng: &mut mrixai_core::seed::Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// Pooling (to smaller, equal and larger grids, with uneven windows) and the linear layer
    /// equal burn's operations and their autodiff gradients.
    #[test]
    fn head_kernels_equal_burn_and_its_gradients() {
        let dev = Device::flex();
        let mut rng = mrixai_core::seed::rng(3, "zoo/head/test");
        for (dims, out) in [
            ([2, 3, 7, 5], [3, 2]),
            ([1, 2, 4, 4], [4, 4]),
            ([2, 1, 3, 2], [5, 4]),
        ] {
            let x = random(dims.iter().product(), &mut rng);
            let xt = from_vec(x.clone(), dims, &dev).autodiff().require_grad();
            let y = adaptive_avg_pool2d(xt.clone(), out);
            let g = random(y.dims().iter().product(), &mut rng);
            let ours = adaptive_avg_pool(&x, dims, out);
            assert_close(
                &ours,
                &to_vec(y.clone().inner()).unwrap(),
                (1e-6, 1.0),
                "avg pool",
            );
            let gt = from_vec(g.clone(), y.dims(), &dev).autodiff();
            let grads = (y * gt).sum().backward();
            let want = to_vec(xt.grad(&grads).unwrap()).unwrap();
            assert_close(
                &adaptive_avg_pool_backward(&g, dims, out),
                &want,
                (1e-6, 1.0),
                "avg pool grad",
            );
        }
        let s = LinearShape {
            n: 5,
            fin: 37,
            fout: 11,
        };
        let (x, w, b) = (
            random(5 * 37, &mut rng),
            random(11 * 37, &mut rng),
            random(11, &mut rng),
        );
        let g = random(5 * 11, &mut rng);
        let xt = from_vec(x.clone(), [5, 37], &dev).autodiff().require_grad();
        let wt = from_vec(w.clone(), [11, 37], &dev)
            .autodiff()
            .require_grad();
        let bt = from_vec(b.clone(), [11], &dev).autodiff().require_grad();
        let y = xt.clone().matmul(wt.clone().transpose()) + bt.clone().reshape([1, 11]);
        assert_close(
            &linear(s, &x, &w, &b),
            &to_vec(y.clone().inner()).unwrap(),
            (1e-5, 1.0),
            "linear",
        );
        let grads = (y * from_vec(g.clone(), [5, 11], &dev).autodiff())
            .sum()
            .backward();
        let grad = |t: Tensor<2>| to_vec(t.grad(&grads).unwrap()).unwrap();
        assert_close(
            &linear_backward_input(s, &w, &g),
            &grad(xt),
            (1e-5, 1.0),
            "linear dx",
        );
        let (dw, db) = linear_backward_weights(s, &x, &g);
        assert_close(&dw, &grad(wt), (1e-5, 1.0), "linear dW");
        assert_close(
            &db,
            &to_vec(bt.grad(&grads).unwrap()).unwrap(),
            (1e-5, 1.0),
            "linear db",
        );
    }
}
