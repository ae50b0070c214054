//! Lane-parallel sums shared by the convolution and feature-stack kernels.

/// `Σ v` (see [`block_sum`]).
pub(crate) fn lane_sum(v: &[f32]) -> f32 {
    block_sum(v, |x| x) as f32
}

/// Values per block of the lane sums: each block is summed in f32 lanes, the blocks' totals
/// in f64.
const SUM_BLOCK: usize = 64;
/// f32 lanes of the lane sums (they vectorise).
const LANES: usize = 16;

/// `Σ f(v[i])`: 16 f32 partial sums per block of 64 values, the blocks' totals added in f64,
/// all in a fixed order.
#[inline(always)]
pub(super) fn block_sum(v: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut total = 0f64;
    for block in v.chunks(SUM_BLOCK) {
        let (chunks, tail) = block.as_chunks::<LANES>();
        let mut acc = [0f32; LANES];
        for c in chunks {
            for j in 0..LANES {
                acc[j] += f(c[j]);
            }
        }
        for (a, &x) in acc.iter_mut().zip(tail) {
            *a += f(x);
        }
        total += acc.iter().map(|&a| a as f64).sum::<f64>();
    }
    total
}

/// `(Σ g, Σ g·x̂)` over one plane, summed as in [`block_sum`].
pub(super) fn grad_plane_sums(g: &[f32], xhat: &[f32]) -> [f64; 2] {
    let (mut t0, mut t1) = (0f64, 0f64);
    for (gb, xb) in g.chunks(SUM_BLOCK).zip(xhat.chunks(SUM_BLOCK)) {
        let mut s0 = [0f32; LANES];
        let mut s1 = [0f32; LANES];
        let ((gc, gt), (xc, xt)) = (gb.as_chunks::<LANES>(), xb.as_chunks::<LANES>());
        for (g16, x16) in gc.iter().zip(xc) {
            for j in 0..LANES {
                s0[j] += g16[j];
                s1[j] += g16[j] * x16[j];
            }
        }
        for (j, (&gv, &xv)) in gt.iter().zip(xt).enumerate() {
            s0[j] += gv;
            s1[j] += gv * xv;
        }
        t0 += s0.iter().map(|&v| v as f64).sum::<f64>();
        t1 += s1.iter().map(|&v| v as f64).sum::<f64>();
    }
    [t0, t1]
}
