//! `f32` matrix products whose every output value is one fused multiply–add chain in a fixed
//! order, so the result is the same bytes on every CPU and instruction path.
//!
//! `C[i, j] ← fma(A[i, k−1], B[k−1, j], … fma(A[i, 0], B[0, j], C[i, j]))`: the products are
//! added to the value already in `C` one at a time, in increasing `k`, each with a single
//! rounding. Cache blocking, the register tile and the vector width change which values are
//! computed together, never the operations one value goes through, so they are free to differ
//! between instruction paths (`[crate::simd::Path]`). This is what BLAS-style libraries give
//! up: they sum each cache block of `k` separately and add the partial sums to `C`, with block
//! sizes taken from the detected caches.

// Raw-pointer matrix views and the SIMD intrinsics are the unsafe code of this module.
#![allow(unsafe_code)]

use crate::simd::Path;
use rayon::prelude::*;
use std::marker::PhantomData;

/// A strided view of a borrowed matrix: first value, values left from it, row stride and
/// column stride (in values, non-negative).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a> {
    ptr: *const f32,
    len: usize,
    rs: usize,
    cs: usize,
    _borrow: PhantomData<&'a [f32]>,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` values per row.
    pub fn rows(v: &'a [f32], cols: usize) -> Mat<'a> {
        Mat::strided(v, cols, 1)
    }

    /// The transpose of a row-major matrix with `cols` values per row.
    pub fn rows_t(v: &'a [f32], cols: usize) -> Mat<'a> {
        Mat::strided(v, 1, cols)
    }

    fn strided(v: &'a [f32], rs: usize, cs: usize) -> Mat<'a> {
        Mat {
            ptr: v.as_ptr(),
            len: v.len(),
            rs,
            cs,
            _borrow: PhantomData,
        }
    }

    /// Whether a `rows × cols` matrix fits in the borrowed values.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.len
    }

    /// # Safety
    /// `(i, j)` must lie in the matrix.
    #[cfg(test)]
    unsafe fn at(&self, i: usize, j: usize) -> f32 {
        // SAFETY: forwarded from the caller.
        unsafe { *self.ptr.add(i * self.rs + j * self.cs) }
    }

    /// The view starting at `(i, j)`, which must lie in the borrowed values.
    fn offset(&self, i: usize, j: usize) -> Mat<'a> {
        let off = i * self.rs + j * self.cs;
        assert!(off < self.len, "matrix view out of range");
        Mat {
            // SAFETY: `off` is inside the borrowed values, checked above.
            ptr: unsafe { self.ptr.add(off) },
            len: self.len - off,
            ..*self
        }
    }
}

// SAFETY: a `Mat` is a shared borrow of `f32` values (its lifetime holds the borrow).
unsafe impl Send for Mat<'_> {}
unsafe impl Sync for Mat<'_> {}

/// Depth of a cache block of `k`.
const KC: usize = 256;
/// Rows of a cache block of `A`.
const MC: usize = 128;
/// Columns of a cache block of `B`.
const NC: usize = 2048;

/// `C (m×n, row stride c_rs, contiguous rows) += A (m×k) · B (k×n)` as described in the
/// module documentation, single-threaded, on the instruction path [`Path::current`].
///
/// # Safety
/// `c` must point to `m` rows of `n` values, `c_rs` apart, that nothing else reads or writes
/// during the call. (`a` and `b` are checked to hold `m × k` and `k × n` values.)
pub(crate) unsafe fn gemm(
    (m, n, k): (usize, usize, usize),
    c: *mut f32,
    c_rs: usize,
    a: Mat,
    b: Mat,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(a.fits(m, k) && b.fits(k, n), "gemm operand sizes");
    // SAFETY: forwarded from the caller.
    unsafe {
        match Path::current() {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => blocked::<8, 48>((m, n, k), c, c_rs, a, b, x86::avx512),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => blocked::<4, 24>((m, n, k), c, c_rs, a, b, x86::avx2),
            _ => blocked::<4, 24>((m, n, k), c, c_rs, a, b, portable::<4, 24>),
        }
    }
}

/// [`gemm`] with the columns of `C` split over rayon's threads in blocks of [`NC`]; every value
/// is computed as by [`gemm`], so the result does not depend on the number of threads.
pub(crate) fn gemm_par((m, n, k): (usize, usize, usize), c: &mut [f32], a: Mat, b: Mat) {
    assert!(c.len() >= m * n, "gemm output size");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let c_ptr = SendPtr(c.as_mut_ptr());
    (0..n.div_ceil(NC)).into_par_iter().for_each(|jb| {
        let (j0, j1) = (jb * NC, ((jb + 1) * NC).min(n));
        let c_ptr = &c_ptr;
        // SAFETY: `c` holds m rows of n values (checked) and the blocks write disjoint column
        // ranges of it; `gemm` checks the operands of each block.
        unsafe { gemm((m, j1 - j0, k), c_ptr.0.add(j0), n, a, b.offset(0, j0)) }
    });
}

struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column blocks of one buffer to threads.
unsafe impl Sync for SendPtr {}

/// A register-tile kernel: `kc` steps of `C tile (MR×NR, row stride rs) += a_panel · b_panel`
/// (`a`: `kc` packed groups of MR values; `b`: `kc` rows of NR values, `b_rs` apart).
type Kernel = unsafe fn(usize, *const f32, *const f32, usize, *mut f32, usize);

thread_local! {
    /// Per-thread packing buffers for `A` and `B` blocks.
    static PACK: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The cache-blocked loop nest around an `MR×NR` kernel.
///
/// # Safety
/// As [`gemm`].
unsafe fn blocked<const MR: usize, const NR: usize>(
    (m, n, k): (usize, usize, usize),
    c: *mut f32,
    c_rs: usize,
    a: Mat,
    b: Mat,
    kernel: Kernel,
) {
    // `B` with contiguous rows is read in place, except for a last, narrower panel
    let direct = b.cs == 1;
    PACK.with(|bufs| {
        let (pa, pb) = &mut *bufs.borrow_mut();
        pa.resize(MC.next_multiple_of(MR) * KC, 0.0);
        pb.resize(NC.next_multiple_of(NR) * KC, 0.0);
        for j0 in (0..n).step_by(NC) {
            let nc = NC.min(n - j0);
            for p0 in (0..k).step_by(KC) {
                let kc = KC.min(k - p0);
                let packed_from = if direct { nc - nc % NR } else { 0 };
                if packed_from < nc {
                    // SAFETY: the block lies inside `b` (checked by `gemm`).
                    unsafe {
                        pack::<NR>(
                            pb,
                            b.offset(p0, j0 + packed_from),
                            kc,
                            nc - packed_from,
                            false,
                        )
                    };
                }
                for i0 in (0..m).step_by(MC) {
                    let mc = MC.min(m - i0);
                    // SAFETY: the block lies inside `a` (checked by `gemm`).
                    unsafe { pack::<MR>(pa, a.offset(i0, p0), kc, mc, true) };
                    for jr in (0..nc).step_by(NR) {
                        // SAFETY: inside `b` or the packing buffer.
                        let (bp, b_rs) = unsafe {
                            if jr < packed_from {
                                (b.offset(p0, j0 + jr).ptr, b.rs)
                            } else {
                                (pb.as_ptr().add((jr - packed_from) * kc), NR)
                            }
                        };
                        for ir in (0..mc).step_by(MR) {
                            let tile = (MR.min(mc - ir), NR.min(nc - jr));
                            // SAFETY: the tile lies inside `c` (caller); the panels inside the
                            // packing buffers or `b`.
                            unsafe {
                                let ct = c.add((i0 + ir) * c_rs + j0 + jr);
                                let ap = pa.as_ptr().add(ir * kc);
                                run_tile::<MR, NR>(kernel, kc, ap, (bp, b_rs), ct, c_rs, tile);
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Runs `kernel` on one tile of `C`, through a full-size copy when the tile is cut by the
/// matrix edge (`rows × cols` valid values).
///
/// # Safety
/// As [`blocked`].
#[inline(always)]
unsafe fn run_tile<const MR: usize, const NR: usize>(
    kernel: Kernel,
    kc: usize,
    ap: *const f32,
    (bp, b_rs): (*const f32, usize),
    ct: *mut f32,
    c_rs: usize,
    (rows, cols): (usize, usize),
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if rows == MR && cols == NR {
            return kernel(kc, ap, bp, b_rs, ct, c_rs);
        }
        let mut tile = [[0f32; NR]; MR];
        for (r, row) in tile.iter_mut().enumerate().take(rows) {
            std::ptr::copy_nonoverlapping(ct.add(r * c_rs), row.as_mut_ptr(), cols);
        }
        kernel(kc, ap, bp, b_rs, tile.as_mut_ptr().cast(), NR);
        for (r, row) in tile.iter().enumerate().take(rows) {
            std::ptr::copy_nonoverlapping(row.as_ptr(), ct.add(r * c_rs), cols);
        }
    }
}

/// Packs a `kc × len` block of `B` (or, with `a_side`, the `len × kc` block of `A`, read
/// transposed) into panels of `W` values per step of `k`, zero-padded to a multiple of `W`.
/// Copies run along whichever axis of the source is contiguous.
///
/// # Safety
/// The block must lie inside the matrix `src`.
unsafe fn pack<const W: usize>(dst: &mut [f32], src: Mat, kc: usize, len: usize, a_side: bool) {
    let (p_stride, j_stride) = if a_side {
        (src.cs, src.rs)
    } else {
        (src.rs, src.cs)
    };
    for (panel, start) in (0..len).step_by(W).enumerate() {
        let width = W.min(len - start);
        let out = &mut dst[panel * W * kc..(panel + 1) * W * kc];
        if width < W {
            out.fill(0.0);
        }
        // SAFETY: every (p, j) read lies inside the block (caller).
        unsafe {
            let base = src.ptr.add(start * j_stride);
            if j_stride == 1 && width == W {
                // a whole panel: fixed-size copies the compiler keeps inline
                for (p, group) in out.as_chunks_mut::<W>().0.iter_mut().enumerate() {
                    *group = *base.add(p * p_stride).cast::<[f32; W]>();
                }
            } else if j_stride == 1 {
                for (p, group) in out.chunks_exact_mut(W).enumerate() {
                    let row = base.add(p * p_stride);
                    std::ptr::copy_nonoverlapping(row, group.as_mut_ptr(), width);
                }
            } else {
                for j in 0..width {
                    let line = base.add(j * j_stride);
                    for p in 0..kc {
                        *out.get_unchecked_mut(p * W + j) = *line.add(p * p_stride);
                    }
                }
            }
        }
    }
}

/// The portable kernel: `f32::mul_add` (one rounding) per product, the same operations as the
/// SIMD kernels, for CPUs without AVX2 + FMA. Slow: built without a target feature, each
/// `mul_add` is a call to the C library's `fmaf`.
///
/// # Safety
/// As [`Kernel`].
unsafe fn portable<const MR: usize, const NR: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    b_rs: usize,
    c: *mut f32,
    rs: usize,
) {
    // SAFETY: the panels hold `kc` groups and the tile `MR` rows of `NR` values (caller).
    unsafe {
        let mut acc = [[0f32; NR]; MR];
        for (r, row) in acc.iter_mut().enumerate() {
            std::ptr::copy_nonoverlapping(c.add(r * rs), row.as_mut_ptr(), NR);
        }
        for p in 0..kc {
            for (r, row) in acc.iter_mut().enumerate() {
                let av = *a.add(p * MR + r);
                for (j, v) in row.iter_mut().enumerate() {
                    *v = av.mul_add(*b.add(p * b_rs + j), *v);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            std::ptr::copy_nonoverlapping(row.as_ptr(), c.add(r * rs), NR);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// A register-tile kernel of `$mr` rows × 3 vectors of `$lanes` lanes, on the target
    /// features `$features`, from the vector type's load, broadcast, FMA and store.
    macro_rules! tile_kernel {
        ($(#[$doc:meta])* $name:ident, $features:literal, $mr:literal, $lanes:literal,
         $zero:ident, $load:ident, $splat:ident, $fma:ident, $store:ident) => {
            $(#[$doc])*
            ///
            /// # Safety
            /// As [`super::Kernel`], on a CPU with these target features.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(
                kc: usize,
                a: *const f32,
                b: *const f32,
                b_rs: usize,
                c: *mut f32,
                rs: usize,
            ) {
                // SAFETY: as the function's contract.
                unsafe {
                    let mut acc = [[$zero(); 3]; $mr];
                    for (r, row) in acc.iter_mut().enumerate() {
                        for (v, reg) in row.iter_mut().enumerate() {
                            *reg = $load(c.add(r * rs + $lanes * v));
                        }
                    }
                    for p in 0..kc {
                        let bp = b.add(p * b_rs);
                        let bv = [$load(bp), $load(bp.add($lanes)), $load(bp.add(2 * $lanes))];
                        for (r, row) in acc.iter_mut().enumerate() {
                            let av = $splat(*a.add(p * $mr + r));
                            for (reg, &bw) in row.iter_mut().zip(&bv) {
                                *reg = $fma(av, bw, *reg);
                            }
                        }
                    }
                    for (r, row) in acc.iter().enumerate() {
                        for (v, reg) in row.iter().enumerate() {
                            $store(c.add(r * rs + $lanes * v), *reg);
                        }
                    }
                }
            }
        };
    }

    tile_kernel!(
        /// The AVX2 + FMA kernel: a 4×24 tile in twelve 8-lane registers.
        avx2, "avx2,fma", 4, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_set1_ps,
        _mm256_fmadd_ps, _mm256_storeu_ps
    );
    tile_kernel!(
        /// The AVX-512 kernel: an 8×48 tile in twenty-four 16-lane registers.
        avx512, "avx512f,fma", 8, 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_set1_ps,
        _mm512_fmadd_ps, _mm512_storeu_ps
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Path;
    use rand::Rng;

    fn random(len: usize, rng: &mut mrixai_core::seed::Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// The defining chain, one value at a time (`C` rows `c_rs` apart).
    fn reference((m, n, k): (usize, usize, usize), c: &mut [f32], c_rs: usize, a: Mat, b: Mat) {
        for i in 0..m {
            for j in 0..n {
                let mut v = c[i * c_rs + j];
                for p in 0..k {
                    // SAFETY: inside the test matrices.
                    v = unsafe { a.at(i, p).mul_add(b.at(p, j), v) };
                }
                c[i * c_rs + j] = v;
            }
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Views into wider buffers, as the convolutions use them: `C`, `A` and `B` rows with
    /// gaps between them, more rows than one block of `A`, a depth over two blocks of `k`.
    #[test]
    fn strided_views_give_the_defining_chain_on_every_path() {
        let mut rng = mrixai_core::seed::rng(6, "zoo/gemm/strided");
        let (m, n, k) = (130, 50, 260);
        let (a_rs, b_rs, c_rs) = (k + 5, n + 7, n + 3);
        let a = random(m * a_rs, &mut rng);
        let b = random(k * b_rs, &mut rng);
        let c0 = random(m * c_rs, &mut rng);
        let (am, bm) = (Mat::rows(&a, a_rs), Mat::rows(&b, b_rs));
        let mut want = c0.clone();
        reference((m, n, k), &mut want, c_rs, am, bm);
        for path in Path::available() {
            let mut c = c0.clone();
            // SAFETY: `c` holds m rows of c_rs ≥ n values.
            Path::with(path, || unsafe {
                gemm((m, n, k), c.as_mut_ptr(), c_rs, am, bm)
            });
            assert_eq!(bits(&c), bits(&want), "{path:?}");
        }
    }

    /// Every path gives the defining chain's bytes, for plain and transposed operands and
    /// sizes that cut every block and tile, serially and split over threads.
    #[test]
    fn every_path_gives_the_bytes_of_the_defining_chain() {
        let mut rng = mrixai_core::seed::rng(5, "zoo/gemm/test");
        for &(m, n, k) in &[
            (1, 1, 1),
            (7, 33, 5),
            (13, 17, 300),
            (100, 2100, 29),
            (5, 3, 600),
        ] {
            let a = random(m * k, &mut rng);
            let bt = random(k * n, &mut rng);
            let c0 = random(m * n, &mut rng);
            for (am, bm) in [
                (Mat::rows(&a, k), Mat::rows(&bt, n)),
                (Mat::rows_t(&a, m), Mat::rows_t(&bt, k)),
            ] {
                let mut want = c0.clone();
                reference((m, n, k), &mut want, n, am, bm);
                for path in Path::available() {
                    let got = Path::with(path, || {
                        let mut c = c0.clone();
                        // SAFETY: the test matrices have these sizes.
                        unsafe { gemm((m, n, k), c.as_mut_ptr(), n, am, bm) };
                        c
                    });
                    assert_eq!(bits(&got), bits(&want), "{path:?} {m}×{n}×{k}");
                    let mut par = c0.clone();
                    Path::with(path, || gemm_par((m, n, k), &mut par, am, bm));
                    assert_eq!(bits(&par), bits(&want), "{path:?} parallel {m}×{n}×{k}");
                }
            }
        }
    }
}
