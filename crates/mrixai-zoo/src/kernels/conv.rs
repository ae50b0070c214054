//! CPU kernels for VGG's 3×3 convolution (stride 1, padding 1) on contiguous NCHW `f32`
//! buffers: forward, weight/bias gradient and input gradient, as tiled im2col + GEMM.
//!
//! burn's CPU backend runs these shapes 3–5× slower than PyTorch (its weight gradient is a
//! convolution over swapped axes with an image-sized kernel), so inference and training on
//! the CPU use these kernels; they are tested equal to burn's `conv2d` and its autodiff
//! gradients. Work is split over samples (and, for the weight gradient, over fixed chunks of
//! samples summed in order), so results do not depend on the number of threads.

// The matrix products on raw slices are unsafe calls.
#![allow(unsafe_code)]

use super::gemm::{Mat, gemm};
use rayon::prelude::*;
use std::cell::RefCell;

/// Largest im2col tile, in values (4 MiB of `f32`).
const TILE_VALUES: usize = 1 << 20;
/// Samples per partial weight gradient; partials are summed in order.
const WGRAD_CHUNK: usize = 4;

thread_local! {
    /// Per-thread im2col scratch, kept between calls: every use writes all the values it
    /// reads, so it is never cleared.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` values of this thread's scratch buffer (grown when needed).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0.0);
        }
        f(&mut s[..len])
    })
}

/// Sizes of one 3×3 convolution: batch, input and output channels, height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub n: usize,
    pub ci: usize,
    pub co: usize,
    pub h: usize,
    pub w: usize,
}

impl ConvShape {
    fn hw(&self) -> usize {
        self.h * self.w
    }
    /// Rows of the output per im2col tile.
    fn tile_rows(&self) -> usize {
        (TILE_VALUES / (self.ci * 9 * self.w).max(1)).clamp(1, self.h.max(1))
    }
    /// Output row ranges of the tiles.
    fn tiles(&self) -> impl Iterator<Item = (usize, usize)> {
        let (rows, h) = (self.tile_rows(), self.h);
        (0..h.div_ceil(rows)).map(move |t| (t * rows, ((t + 1) * rows).min(h)))
    }
}

/// im2col of output rows `r0..r1` of one sample `x` (`[ci, h, w]`): row `(c, kh, kw)` of
/// `col` holds the input value read by tap `(kh, kw)` of channel `c` at each output pixel
/// of the tile (zero outside the image).
///
/// The rows of a tap that fall inside the image are one contiguous block of the input plane
/// (shifted by one value for the left and right taps), so each tap is one block copy plus
/// zeroing the values that cross an image border, instead of one small copy per image row.
fn im2col(s: &ConvShape, x: &[f32], (r0, r1): (usize, usize), col: &mut [f32]) {
    let (h, w) = (s.h, s.w);
    let len = (r1 - r0) * w;
    for c in 0..s.ci {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for kh in 0..3 {
            // output rows whose source row y + kh − 1 lies inside the image
            let ya = r0.max(1usize.saturating_sub(kh));
            let yb = r1.min(h + 1 - kh).max(ya);
            for kw in 0..3 {
                let row = &mut col[(c * 9 + kh * 3 + kw) * len..][..len];
                let (before, rest) = row.split_at_mut((ya - r0) * w);
                let (dst, after) = rest.split_at_mut((yb - ya) * w);
                before.fill(0.0);
                after.fill(0.0);
                if dst.is_empty() {
                    continue;
                }
                let src = &plane[(ya + kh - 1) * w..(yb + kh - 1) * w];
                let n = dst.len();
                match kw {
                    0 => {
                        dst[1..].copy_from_slice(&src[..n - 1]);
                        dst.iter_mut().step_by(w).for_each(|v| *v = 0.0);
                    }
                    1 => dst.copy_from_slice(src),
                    _ => {
                        dst[..n - 1].copy_from_slice(&src[1..]);
                        dst.iter_mut().skip(w - 1).step_by(w).for_each(|v| *v = 0.0);
                    }
                }
            }
        }
    }
}

/// Runs `f(tile, len, col)` for each row tile of one sample `xb` (`[ci, h, w]`): `tile` is
/// its output row range, `len` its pixel count and `col` its im2col (`ci·9 × len`, in this
/// thread's scratch buffer).
fn for_each_tile(s: &ConvShape, xb: &[f32], mut f: impl FnMut((usize, usize), usize, &[f32])) {
    let k = s.ci * 9;
    for tile in s.tiles() {
        let len = (tile.1 - tile.0) * s.w;
        with_scratch(k * len, |col| {
            im2col(s, xb, tile, col);
            f(tile, len, col)
        });
    }
}

/// Forward pass: `x` `[n, ci, h, w]`, weights `[co, ci, 3, 3]`, bias `[co]` → `[n, co, h, w]`.
pub(crate) fn forward(s: &ConvShape, x: &[f32], wt: &[f32], bias: &[f32]) -> Vec<f32> {
    let (hw, k) = (s.hw(), s.ci * 9);
    assert_eq!(x.len(), s.n * s.ci * hw, "conv input size");
    assert_eq!(wt.len(), s.co * k, "conv weight size");
    assert_eq!(bias.len(), s.co, "conv bias size");
    // the bias, written once, is where the products accumulate
    let mut y: Vec<f32> = Vec::with_capacity(s.n * s.co * hw);
    for _ in 0..s.n {
        for &b in bias {
            y.extend(std::iter::repeat_n(b, hw));
        }
    }
    if hw == 0 || s.n == 0 {
        return y;
    }
    y.par_chunks_mut(s.co * hw)
        .zip(x.par_chunks(s.ci * hw))
        .for_each(|(yb, xb)| {
            for_each_tile(s, xb, |tile, len, col| {
                // y_b[:, tile] += W (co×k) · col (k×len)
                // SAFETY: `yb` holds co rows of hw values, the tile's columns are in range;
                // `wt` is co×k and `col` k×len, both contiguous.
                unsafe {
                    gemm(
                        (s.co, len, k),
                        yb.as_mut_ptr().add(tile.0 * s.w),
                        hw,
                        Mat::rows(wt, k),
                        Mat::rows(col, len),
                    )
                }
            });
        });
    y
}

/// Weight and bias gradients from the input `x` and the output gradient `gout`
/// (`[n, co, h, w]`): `([co, ci, 3, 3], [co])`.
pub(crate) fn backward_weights(s: &ConvShape, x: &[f32], gout: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (hw, k) = (s.hw(), s.ci * 9);
    assert_eq!(x.len(), s.n * s.ci * hw, "conv input size");
    assert_eq!(gout.len(), s.n * s.co * hw, "conv output gradient size");
    let partials: Vec<(Vec<f32>, Vec<f32>)> = (0..s.n.div_ceil(WGRAD_CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let mut dw = vec![0f32; s.co * k];
            let mut db = vec![0f32; s.co];
            for b in chunk * WGRAD_CHUNK..((chunk + 1) * WGRAD_CHUNK).min(s.n) {
                let xb = &x[b * s.ci * hw..(b + 1) * s.ci * hw];
                let gb = &gout[b * s.co * hw..(b + 1) * s.co * hw];
                for (d, plane) in db.iter_mut().zip(gb.chunks_exact(hw)) {
                    *d += super::lanes::lane_sum(plane);
                }
                for_each_tile(s, xb, |tile, len, col| {
                    // dW (co×k) += gout_b[:, tile] (co×len) · colᵀ (len×k)
                    // SAFETY: `dw` is co×k contiguous; the tile's columns of `gb` are in range
                    // (row stride hw); `col` is k×len, read transposed.
                    unsafe {
                        gemm(
                            (s.co, k, len),
                            dw.as_mut_ptr(),
                            k,
                            Mat::rows(&gb[tile.0 * s.w..], hw),
                            Mat::rows_t(col, len),
                        )
                    }
                });
            }
            (dw, db)
        })
        .collect();
    let mut dw = vec![0f32; s.co * k];
    let mut db = vec![0f32; s.co];
    for (pw, pb) in partials {
        dw.iter_mut().zip(&pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(&pb).for_each(|(a, b)| *a += b);
    }
    (dw, db)
}

/// Input gradient `[n, ci, h, w]` from the weights and the output gradient `gout`.
///
/// With stride 1 and padding 1 it is the forward convolution of `gout` (`co` channels) with
/// the kernel rotated by 180° and its channel axes swapped: `w'[c, o, i, j] = w[o, c, 2−i,
/// 2−j]`. Run as [`forward`], its GEMM has inner size `co·9` and writes `dx` directly, where
/// the column-gradient form (`Wᵀ·gout`, then scatter-adding the columns) has inner size `co`
/// and a scatter pass over `ci·9` values per pixel.
pub(crate) fn backward_input(s: &ConvShape, wt: &[f32], gout: &[f32]) -> Vec<f32> {
    assert_eq!(wt.len(), s.co * s.ci * 9, "conv weight size");
    assert_eq!(gout.len(), s.n * s.co * s.hw(), "conv output gradient size");
    let mut flipped = vec![0f32; wt.len()];
    for o in 0..s.co {
        for c in 0..s.ci {
            for t in 0..9 {
                flipped[(c * s.co + o) * 9 + (8 - t)] = wt[(o * s.ci + c) * 9 + t];
            }
        }
    }
    let transposed = ConvShape {
        ci: s.co,
        co: s.ci,
        ..*s
    };
    forward(&transposed, gout, &flipped, &vec![0.0; s.ci])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{from_vec, to_vec};
    use crate::testutil::assert_close;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Tensor};
    use rand::Rng;

    fn random(n: usize, rng: &mut mrixai_core::seed::Rng) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// Tolerance against burn: relative to the largest reference value, at least 1.
    const TOL: (f32, f32) = (2e-5, 1.0);

    /// Forward, weight/bias gradients and input gradient equal burn's `conv2d` and its
    /// autodiff gradients, including row tiling (tiny tiles forced by a wide input) and
    /// single-row/column images.
    #[test]
    fn kernels_equal_burn_conv2d_and_its_gradients() {
        let dev = Device::flex();
        let mut rng = mrixai_core::seed::rng(7, "conv");
        for s in [
            ConvShape {
                n: 3,
                ci: 2,
                co: 5,
                h: 7,
                w: 6,
            },
            ConvShape {
                n: 5,
                ci: 1,
                co: 4,
                h: 9,
                w: 9,
            },
            ConvShape {
                n: 2,
                ci: 3,
                co: 2,
                h: 1,
                w: 5,
            },
            ConvShape {
                n: 2,
                ci: 2,
                co: 3,
                h: 4,
                w: 1,
            },
            ConvShape {
                n: 2,
                ci: 40,
                co: 3,
                h: 12,
                w: 3000,
            },
        ] {
            let hw = s.h * s.w;
            let x = random(s.n * s.ci * hw, &mut rng);
            let wt = random(s.co * s.ci * 9, &mut rng);
            let b = random(s.co, &mut rng);
            let g = random(s.n * s.co * hw, &mut rng);
            let xt: Tensor<4> = from_vec(x.clone(), [s.n, s.ci, s.h, s.w], &dev);
            let wtt: Tensor<4> = from_vec(wt.clone(), [s.co, s.ci, 3, 3], &dev);
            let bt: Tensor<1> = from_vec(b.clone(), [s.co], &dev);
            let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
            let want = to_vec(conv2d(
                xt.clone(),
                wtt.clone(),
                Some(bt.clone()),
                opts.clone(),
            ))
            .unwrap();
            assert_close(
                &forward(&s, &x, &wt, &b),
                &want,
                TOL,
                &format!("{s:?} forward"),
            );
            let (xl, wl, bl) = (
                xt.autodiff().require_grad(),
                wtt.autodiff().require_grad(),
                bt.autodiff().require_grad(),
            );
            let y = conv2d(xl.clone(), wl.clone(), Some(bl.clone()), opts);
            let gt: Tensor<4> = from_vec(g.clone(), [s.n, s.co, s.h, s.w], &dev);
            let grads = (y * gt.autodiff()).sum().backward();
            let (dw, db) = backward_weights(&s, &x, &g);
            assert_close(
                &dw,
                &to_vec(wl.grad(&grads).unwrap()).unwrap(),
                TOL,
                &format!("{s:?} dW"),
            );
            assert_close(
                &db,
                &to_vec(bl.grad(&grads).unwrap()).unwrap(),
                TOL,
                &format!("{s:?} db"),
            );
            let dx = backward_input(&s, &wt, &g);
            assert_close(
                &dx,
                &to_vec(xl.grad(&grads).unwrap()).unwrap(),
                TOL,
                &format!("{s:?} dx"),
            );
        }
    }

    /// The results do not depend on the size of the thread pool.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let s = ConvShape {
            n: 9,
            ci: 3,
            co: 4,
            h: 8,
            w: 8,
        };
        let mut rng = mrixai_core::seed::rng(8, "conv-threads");
        let x = random(s.n * s.ci * 64, &mut rng);
        let wt = random(s.co * s.ci * 9, &mut rng);
        let g = random(s.n * s.co * 64, &mut rng);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    (
                        forward(&s, &x, &wt, &[0.5; 4]),
                        backward_weights(&s, &x, &g),
                        backward_input(&s, &wt, &g),
                    )
                })
        };
        assert_eq!(run(1), run(3));
    }
}
