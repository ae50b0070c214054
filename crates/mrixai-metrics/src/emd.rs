//! Exact earth mover's distance between two mass distributions on a voxel grid, with the
//! Euclidean distance between voxel index coordinates as ground cost.
//!
//! The ground cost is a metric, so an optimal plan leaves the mass shared by both
//! distributions in place: EMD(p, q) = EMD((p − q)⁺, (q − p)⁺). Only the voxels with an
//! excess (sources) and a deficit (sinks) enter a transportation problem. It is solved
//! exactly by a primal network simplex (strongly feasible spanning trees, block-search
//! pricing over a sparse set of candidate arcs), coarse to fine: the larger side is merged
//! in 2×…×2 blocks and the coarse problem solved first (recursively); its plan, split among
//! each block's members, is the fine simplex's starting tree, and its potentials choose
//! each fine source's candidate arcs. A full pricing pass over all source × sink pairs then
//! adds every arc with a negative reduced cost, until none is left, which certifies
//! optimality on the complete fine problem: the warm start changes the speed, never the
//! value.

// The AVX2 screening kernel is the one unsafe code of this crate (target-feature dispatch,
// checked at run time).
#![allow(unsafe_code)]

use mrixai_core::{Error, Result};

/// Tolerance on reduced costs (in voxel units) below which an arc is priced in. The
/// objective of the returned plan is within `PRICE_EPS × total mass` of the optimum.
const PRICE_EPS: f64 = 1e-9;

/// Euclidean grid diagonal √Σ(n_d − 1)², the largest ground distance on `shape`.
pub fn grid_diameter(shape: &[usize]) -> f64 {
    shape
        .iter()
        .map(|&n| (n.saturating_sub(1) as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Exact EMD between two non-negative mass vectors `p` and `q` over the C-order voxels
/// of `shape`; both are normalised to total mass 1 first. NaN if either has zero mass.
///
/// Errors if the lengths do not match `shape` or a value is negative or non-finite.
pub fn emd_between(p: &[f64], q: &[f64], shape: &[usize]) -> Result<f64> {
    let n: usize = shape.iter().product();
    if p.len() != n || q.len() != n {
        return Err(Error::invalid(format!(
            "emd: distributions of length {} and {} do not match grid shape {shape:?} ({n} voxels)",
            p.len(),
            q.len()
        )));
    }
    for (name, v) in [("p", p), ("q", q)] {
        if let Some(x) = v.iter().find(|x| !x.is_finite() || **x < 0.0) {
            return Err(Error::invalid(format!(
                "emd: distribution {name} must be finite and non-negative, found {x}"
            )));
        }
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if sp <= 0.0 || sq <= 0.0 {
        return Ok(f64::NAN);
    }
    let diff: Vec<f64> = p.iter().zip(q).map(|(a, b)| b / sq - a / sp).collect();
    Ok(emd_from_difference(&diff, shape))
}

/// EMD between the uniform distribution on the voxels where `gt` is true (mass 1/K each)
/// and `a / Σa` (`a` non-negative). NaN if K = 0 or Σa = 0. This is the `emd` metric.
pub fn emd_mask(a: &[f64], gt: &[bool], shape: &[usize]) -> f64 {
    let k = gt.iter().filter(|&&g| g).count();
    let s: f64 = a.iter().sum();
    if k == 0 || s <= 0.0 || !s.is_finite() {
        return f64::NAN;
    }
    let pk = 1.0 / k as f64;
    let diff: Vec<f64> = a
        .iter()
        .zip(gt)
        .map(|(&x, &g)| x / s - if g { pk } else { 0.0 })
        .collect();
    emd_from_difference(&diff, shape)
}

/// EMD given the signed difference `d = q − p` of two distributions of equal mass:
/// positive entries are supplies, negative entries demands.
fn emd_from_difference(d: &[f64], shape: &[usize]) -> f64 {
    emd_from_difference_with(d, shape, DIRECT_BELOW)
}

/// [`emd_from_difference`], solving problems of at most `direct_below` nodes without
/// coarsening.
fn emd_from_difference_with(d: &[f64], shape: &[usize], direct_below: usize) -> f64 {
    solve_difference(d, shape, direct_below).map_or(0.0, |t| t.cost())
}

/// The solved transportation problem from the positive to the negative entries of `d`;
/// `None` if either set is empty.
fn solve_difference(d: &[f64], shape: &[usize], direct_below: usize) -> Option<Transport> {
    let src: Vec<usize> = (0..d.len()).filter(|&i| d[i] > 0.0).collect();
    let snk: Vec<usize> = (0..d.len()).filter(|&i| d[i] < 0.0).collect();
    if src.is_empty() || snk.is_empty() {
        return None;
    }
    let supply: Vec<f64> = src.iter().map(|&i| d[i]).collect();
    let demand: Vec<f64> = snk.iter().map(|&i| -d[i]).collect();
    let side = |cell: Vec<usize>, mass: Vec<f64>| Level {
        xy: voxel_coords(&cell, shape),
        cell,
        cell_shape: shape.to_vec(),
        mass,
    };
    let art = (grid_diameter(shape) + 1.0) * ((src.len() + snk.len()) as f64 + 1.0);
    Some(solve_multiscale(
        &side(src, supply),
        &side(snk, demand),
        art,
        direct_below,
    ))
}

/// Euclidean distance between node `i` of coordinates `a` and node `j` of `b`
/// (`dims` values per node).
#[inline]
fn dist(dims: usize, a: &[f64], i: usize, b: &[f64], j: usize) -> f64 {
    let (a, b) = (&a[i * dims..(i + 1) * dims], &b[j * dims..(j + 1) * dims]);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Index coordinates of C-order voxels of `shape`, `shape.len()` values per voxel.
fn voxel_coords(flat: &[usize], shape: &[usize]) -> Vec<f64> {
    let dims = shape.len();
    let mut out = vec![0.0; flat.len() * dims];
    for (k, &f) in flat.iter().enumerate() {
        let mut f = f;
        for d in (0..dims).rev() {
            out[k * dims + d] = (f % shape[d]) as f64;
            f /= shape[d];
        }
    }
    out
}

/// A warm start from a coarser solution: a feasible allocation forest (source, sink,
/// flow) and estimated potentials of the sources and sinks.
struct Start {
    alloc: Vec<(u32, u32, f64)>,
    src_pi: Vec<f64>,
    snk_pi: Vec<f64>,
}

/// Sources (or sinks) at one resolution: `cell` indexes the (coarsened) lattice
/// `cell_shape`, `xy` holds each node's coordinates (the mass-weighted centroid of the
/// voxels it stands for) and `mass` its supply (or demand).
struct Level {
    cell: Vec<usize>,
    cell_shape: Vec<usize>,
    xy: Vec<f64>,
    mass: Vec<f64>,
}

impl Level {
    /// Merges the nodes of each 2×…×2 block of lattice cells into one, placed at the
    /// mass-weighted centroid of its members. Returns the coarse level and, per coarse
    /// node, the indices of its members.
    fn coarsen(&self) -> (Level, Vec<Vec<u32>>) {
        let dims = self.cell_shape.len();
        let coarse_shape: Vec<usize> = self.cell_shape.iter().map(|&n| n.div_ceil(2)).collect();
        let mut slot = vec![NONE; coarse_shape.iter().product()];
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut cell = Vec::new();
        let mut centroid: Vec<f64> = Vec::new();
        let mut mass: Vec<f64> = Vec::new();
        for (i, &c) in self.cell.iter().enumerate() {
            // coarse cell index from the fine cell's lattice coordinates
            let (mut f, mut key, mut stride) = (c, 0usize, 1usize);
            for d in (0..dims).rev() {
                key += (f % self.cell_shape[d]) / 2 * stride;
                f /= self.cell_shape[d];
                stride *= coarse_shape[d];
            }
            let k = if slot[key] == NONE {
                slot[key] = members.len() as u32;
                members.push(Vec::new());
                cell.push(key);
                mass.push(0.0);
                centroid.extend(std::iter::repeat_n(0.0, dims));
                members.len() - 1
            } else {
                slot[key] as usize
            };
            members[k].push(i as u32);
            mass[k] += self.mass[i];
            for d in 0..dims {
                centroid[k * dims + d] += self.mass[i] * self.xy[i * dims + d];
            }
        }
        for (k, m) in mass.iter().enumerate() {
            for c in &mut centroid[k * dims..(k + 1) * dims] {
                *c /= m;
            }
        }
        let level = Level {
            cell,
            cell_shape: coarse_shape,
            xy: centroid,
            mass,
        };
        (level, members)
    }
}

/// Solves the transportation problem between `src` and `snk`. Large problems are solved
/// coarse-to-fine: the larger side is merged in 2×…×2 blocks, the coarse problem is solved
/// (recursively), and its plan, split among each block's members, starts the simplex on
/// the fine problem together with the coarse potentials, so the fine simplex needs few
/// pivots and pricing passes.
fn solve_multiscale(src: &Level, snk: &Level, art: f64, direct_below: usize) -> Transport {
    let (ns, nt) = (src.mass.len(), snk.mass.len());
    if ns + nt <= direct_below {
        let mut t = Transport::new(src, snk, art, None);
        t.solve();
        return t;
    }
    let coarse_sources = ns >= nt;
    let dims = src.cell_shape.len();
    let fine = if coarse_sources { src } else { snk };
    let (mut coarse, mut members) = fine.coarsen();
    // sparse sides shrink little per 2×…×2 merge: merge again until the level shrinks
    // by at least RATIO (each level costs about two pivots per node it has)
    while coarse.mass.len() * RATIO > fine.mass.len() && coarse.cell_shape.iter().any(|&n| n > 1) {
        let (c2, m2) = coarse.coarsen();
        members = m2
            .iter()
            .map(|mem| {
                mem.iter()
                    .flat_map(|&k| members[k as usize].iter().copied())
                    .collect()
            })
            .collect();
        coarse = c2;
    }
    let coarse_t = if coarse_sources {
        solve_multiscale(&coarse, snk, art, direct_below)
    } else {
        solve_multiscale(src, &coarse, art, direct_below)
    };
    // potentials of the coarse solution, given to the members of the coarsened side
    let mut src_pi: Vec<f64> = (0..coarse_t.ns)
        .map(|i| coarse_t.potential(i as u32))
        .collect();
    let mut snk_pi = coarse_t.pi[coarse_t.ns..coarse_t.ns + coarse_t.nt].to_vec();
    let expand = |coarse: &[f64], n: usize| {
        let mut out = vec![0.0; n];
        for (v, mem) in coarse.iter().zip(&members) {
            for &i in mem {
                out[i as usize] = *v;
            }
        }
        out
    };
    if coarse_sources {
        src_pi = expand(&src_pi, ns);
    } else {
        snk_pi = expand(&snk_pi, nt);
    }
    let plan = coarse_t.plan();
    let alloc = if coarse_sources {
        split_shipments(&plan, &members, &src.mass, |m, o| {
            dist(dims, &src.xy, m as usize, &snk.xy, o as usize)
        })
    } else {
        let mut incoming = vec![Vec::new(); members.len()];
        for (i, ships) in plan.iter().enumerate() {
            for &(j, x) in ships {
                incoming[j as usize].push((i as u32, x));
            }
        }
        let mut a = split_shipments(&incoming, &members, &snk.mass, |m, o| {
            dist(dims, &snk.xy, m as usize, &src.xy, o as usize)
        });
        for e in &mut a {
            (e.0, e.1) = (e.1, e.0);
        }
        a
    };
    let start = Start {
        alloc,
        src_pi,
        snk_pi,
    };
    let mut t = Transport::new(src, snk, art, Some(start));
    t.solve();
    t
}

/// Inserts `(key, j)` into `best` (ascending by key) if it is among the `cap` smallest.
#[inline]
fn keep_smallest(best: &mut Vec<(f64, u32)>, cap: usize, key: f64, j: u32) {
    if best.len() < cap || key < best[best.len() - 1].0 {
        let pos = best.partition_point(|b| b.0 <= key);
        best.insert(pos, (key, j));
        best.truncate(cap);
    }
}

/// Relative rounding bound of the f32 screen in [`Transport::best_sinks`] (about 17 f32
/// ulps of the magnitudes involved; the error analysis needs fewer than 8).
const SCREEN_REL: f64 = 2e-6;
/// Sinks per block of the screen: a block is scanned only if one of its keys passes.
const SCREEN_BLOCK: usize = 16;

/// Sink weights of a key `c_ij + off − pj[j]`, with an f32 copy for the screen:
/// `pj − shift` (potentials can carry a large common offset; the screen keys are shifted
/// by `shift`), raised by `SCREEN_REL·|pj − shift|` so that rounding never lifts a
/// screened key above its exact value.
struct Weights {
    off: f64,
    pj: Vec<f64>,
    pj32: Vec<f32>,
    shift: f64,
}

impl Weights {
    /// Weights `pj` with offset 0 (callers set `off` per source).
    fn new(pj: Vec<f64>) -> Self {
        let shift = pj.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pj32 = pj
            .iter()
            .map(|&p| {
                let q = p - shift;
                (q + SCREEN_REL * q.abs()) as f32
            })
            .collect();
        Weights {
            off: 0.0,
            pj,
            pj32,
            shift,
        }
    }
}

/// f32 screening keys `|x − y_j| − w[j]` of the point `x` to every sink `j` (coordinates
/// per axis in `axes`) into `out`. Uses AVX2 where the CPU has it: the same IEEE
/// operations per lane (no fused multiply-add), so the keys are identical either way, and
/// they only decide which sinks get an exact f64 key.
fn screen_keys(x: &[f32], axes: &[Vec<f32>], w: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { screen_keys_avx2(x, axes, w, out) };
    }
    screen_keys_portable(x, axes, w, out)
}

/// [`screen_keys_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn screen_keys_avx2(x: &[f32], axes: &[Vec<f32>], w: &[f32], out: &mut [f32]) {
    screen_keys_portable(x, axes, w, out)
}

/// The body of [`screen_keys`], written for auto-vectorisation.
#[inline(always)]
fn screen_keys_portable(x: &[f32], axes: &[Vec<f32>], w: &[f32], out: &mut [f32]) {
    let sq = |a: f32, b: f32| (a - b) * (a - b);
    match axes {
        [a0, a1] => {
            for (((o, &y0), &y1), &wj) in out.iter_mut().zip(a0).zip(a1).zip(w) {
                *o = (sq(x[0], y0) + sq(x[1], y1)).sqrt() - wj;
            }
        }
        [a0, a1, a2] => {
            for ((((o, &y0), &y1), &y2), &wj) in out.iter_mut().zip(a0).zip(a1).zip(a2).zip(w) {
                *o = (sq(x[0], y0) + sq(x[1], y1) + sq(x[2], y2)).sqrt() - wj;
            }
        }
        axes => {
            out.fill(0.0);
            for (axis, &xd) in axes.iter().zip(x) {
                for (o, &y) in out.iter_mut().zip(axis) {
                    *o += sq(xd, y);
                }
            }
            for (o, &wj) in out.iter_mut().zip(w) {
                *o = o.sqrt() - wj;
            }
        }
    }
}

/// Problems with at most this many sources plus sinks are solved directly.
const DIRECT_BELOW: usize = 64;
/// Least factor by which a coarser level has fewer nodes than the finer one (merges are
/// repeated until it does, or the lattice is one cell).
const RATIO: usize = 3;

/// Splits each coarse node's shipments `(other, flow)` among its members: member–shipment
/// pairs are filled cheapest first (`cost(member, other)`), each fill exhausting a member
/// or a shipment, which keeps the allocation a forest. Returns `(member, other, flow)`.
fn split_shipments(
    plan: &[Vec<(u32, f64)>],
    members: &[Vec<u32>],
    mass: &[f64],
    cost: impl Fn(u32, u32) -> f64,
) -> Vec<(u32, u32, f64)> {
    let mut alloc = Vec::with_capacity(mass.len() + plan.len());
    let mut pairs: Vec<(f64, u32, u32)> = Vec::new();
    let mut left_m: Vec<f64> = Vec::new();
    let mut left_k: Vec<f64> = Vec::new();
    for (ships, mem) in plan.iter().zip(members) {
        if ships.is_empty() {
            continue;
        }
        pairs.clear();
        for (a, &m) in mem.iter().enumerate() {
            for (k, &(o, _)) in ships.iter().enumerate() {
                pairs.push((cost(m, o), a as u32, k as u32));
            }
        }
        pairs.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        left_m.clear();
        left_m.extend(mem.iter().map(|&m| mass[m as usize]));
        left_k.clear();
        left_k.extend(ships.iter().map(|s| s.1));
        for &(_, a, k) in &pairs {
            let (a, k) = (a as usize, k as usize);
            let x = left_m[a].min(left_k[k]);
            if x > 0.0 {
                alloc.push((mem[a], ships[k].0, x));
                left_m[a] -= x;
                left_k[k] -= x;
            }
        }
    }
    alloc
}

const NONE: u32 = u32::MAX;

/// Primal network simplex for the uncapacitated transportation problem between sources
/// `0..ns` and sinks `ns..ns+nt` over the complete bipartite graph, with an artificial root
/// `ns+nt` (strongly feasible spanning trees as in LEMON's `NetworkSimplex`).
///
/// Arcs are implicit (source i → sink j, cost = grid distance); a tree arc is stored at
/// the node below it (its flow and cost), so only the tree is kept in memory. Real arcs
/// always point from a source to a sink, so a source's tree arc always points up (to its
/// parent) and a sink's always points down. Sources are mostly leaves of the tree: their
/// potential is not stored but derived from their parent (π_i = π_parent − c), and their
/// depth likewise, so moving a subtree only touches its sinks.
struct Transport {
    dims: usize,
    ns: usize,
    nt: usize,
    src_xy: Vec<f64>,
    /// Sink coordinates per axis.
    snk_axes: Vec<Vec<f64>>,
    /// Sink and source coordinates in f32, for the screen of [`Transport::best_sinks`].
    snk32: Vec<Vec<f32>>,
    src32: Vec<f32>,
    /// √dims × the largest coordinate: bounds every distance and scales the screen's
    /// rounding error.
    coord_span: f64,
    art: f64,
    parent: Vec<u32>,
    flow: Vec<f64>,
    pcost: Vec<f64>,
    /// Potentials of sinks and the root (sources: derived).
    pi: Vec<f64>,
    /// Depths of sinks and the root (sources: derived).
    depth: Vec<u32>,
    first_child: Vec<u32>,
    last_child: Vec<u32>,
    next_sib: Vec<u32>,
    prev_sib: Vec<u32>,
    next_arc: usize,
    stack: Vec<u32>,
    /// Candidate arcs priced by the simplex: (source, sink node, cost).
    arcs: Vec<(u32, u32, f64)>,
}

/// Nearest sinks each source gets as candidate arcs before the first simplex run.
const NEAREST: usize = 4;
/// Candidate arcs per source with a warm start.
const WARM_CANDIDATES: usize = 6;
/// Most arcs added per source by one full pricing pass.
const ADD_PER_SOURCE: usize = 4;

impl Transport {
    fn new(src: &Level, snk: &Level, art: f64, start: Option<Start>) -> Self {
        let (ns, nt) = (src.mass.len(), snk.mass.len());
        let n = ns + nt;
        let dims = src.cell_shape.len();
        let mut t = Transport {
            dims,
            ns,
            nt,
            src_xy: src.xy.clone(),
            snk_axes: (0..dims)
                .map(|d| (0..nt).map(|j| snk.xy[j * dims + d]).collect())
                .collect(),
            snk32: (0..dims)
                .map(|d| (0..nt).map(|j| snk.xy[j * dims + d] as f32).collect())
                .collect(),
            src32: src.xy.iter().map(|&v| v as f32).collect(),
            coord_span: (dims as f64).sqrt()
                * src
                    .xy
                    .iter()
                    .chain(&snk.xy)
                    .fold(0.0, |m: f64, v| m.max(v.abs())),
            art,
            parent: vec![NONE; n + 1],
            flow: vec![0.0; n + 1],
            pcost: vec![0.0; n + 1],
            pi: vec![0.0; n + 1],
            depth: vec![0; n + 1],
            first_child: vec![NONE; n + 1],
            last_child: vec![NONE; n + 1],
            next_sib: vec![NONE; n + 1],
            prev_sib: vec![NONE; n + 1],
            next_arc: 0,
            stack: Vec::new(),
            arcs: Vec::new(),
        };
        t.initial_tree(&src.mass, &snk.mass, start);
        t
    }

    /// Into `best` (ascending) the at most `cap` sinks of smallest exact key
    /// `c_ij + w.off − w.pj[j]` below `below`. `hint` bounds the `cap`-th smallest
    /// `c_ij − pj[j]` from above (∞ when unknown): an f32 screen of all keys (see
    /// [`Weights`]) skips every sink that cannot be below both, so only the few others get
    /// an exact f64 distance. The result equals that of an exact scan of every sink.
    fn best_sinks(
        &self,
        i: usize,
        w: &Weights,
        (cap, below, hint): (usize, f64, f64),
        keys: &mut [f32],
        best: &mut Vec<(f64, u32)>,
    ) {
        best.clear();
        let tau = (below - w.off).min(hint);
        if tau == f64::NEG_INFINITY {
            return;
        }
        let x = &self.src32[i * self.dims..(i + 1) * self.dims];
        screen_keys(x, &self.snk32, &w.pj32, keys);
        // the f32 keys, shifted by `w.shift`, are within `margin` (plus what `pj32`
        // absorbs) of the exact ones
        let tau = tau + w.shift;
        let margin = SCREEN_REL * (self.coord_span + tau.abs() + 1.0);
        let thr = (tau + margin) as f32;
        for (b, block) in keys.chunks(SCREEN_BLOCK).enumerate() {
            // a branch-free count vectorises (a float minimum does not)
            if block.iter().map(|&k| u32::from(k < thr)).sum::<u32>() == 0 {
                continue;
            }
            for (k, &key32) in block.iter().enumerate() {
                if key32 < thr {
                    let j = b * SCREEN_BLOCK + k;
                    let key = self.cost_of(i, j) + w.off - w.pj[j];
                    if key < below {
                        keep_smallest(best, cap, key, j as u32);
                    }
                }
            }
        }
    }

    /// Upper bound on the `cap`-th smallest `c − pj` of source `i + 1`: the largest such
    /// key among the `cap` sinks in `best` (the choice for source `i`), usually a near
    /// neighbour with almost the same choice.
    fn next_hint(&self, i: usize, best: &[(f64, u32)], cap: usize, w: &Weights) -> f64 {
        if best.len() < cap || i + 1 >= self.ns {
            return f64::INFINITY;
        }
        let kth = best
            .iter()
            .map(|&(_, j)| self.cost_of(i + 1, j as usize) - w.pj[j as usize])
            .fold(f64::NEG_INFINITY, f64::max);
        kth + 1e-9 * (1.0 + kth.abs())
    }

    /// Candidate arcs from source `i` to the sinks in `best`.
    fn push_arcs(&mut self, i: usize, best: &[(f64, u32)]) {
        for &(_, j) in best {
            let c = self.cost_of(i, j as usize);
            self.arcs.push((i as u32, (self.ns + j as usize) as u32, c));
        }
    }

    /// Euclidean distance between source `i` and sink `j`.
    #[inline]
    fn cost_of(&self, i: usize, j: usize) -> f64 {
        let x = &self.src_xy[i * self.dims..(i + 1) * self.dims];
        x.iter()
            .zip(&self.snk_axes)
            .map(|(&a, axis)| (a - axis[j]) * (a - axis[j]))
            .sum::<f64>()
            .sqrt()
    }

    #[inline]
    fn is_source(&self, v: u32) -> bool {
        (v as usize) < self.ns
    }
    #[inline]
    fn root(&self) -> u32 {
        (self.ns + self.nt) as u32
    }
    /// Potential of any node (tree arcs have zero reduced cost c + π_from − π_to).
    #[inline]
    fn potential(&self, v: u32) -> f64 {
        if self.is_source(v) {
            self.pi[self.parent[v as usize] as usize] - self.pcost[v as usize]
        } else {
            self.pi[v as usize]
        }
    }
    #[inline]
    fn depth_of(&self, v: u32) -> u32 {
        if self.is_source(v) {
            self.depth[self.parent[v as usize] as usize] + 1
        } else {
            self.depth[v as usize]
        }
    }

    /// Inserts `c` at the front (or back) of `p`'s child list.
    fn insert_child(&mut self, p: u32, c: u32, front: bool) {
        let (pu, cu) = (p as usize, c as usize);
        self.parent[cu] = p;
        if front {
            let f = self.first_child[pu];
            self.next_sib[cu] = f;
            self.prev_sib[cu] = NONE;
            if f != NONE {
                self.prev_sib[f as usize] = c;
            } else {
                self.last_child[pu] = c;
            }
            self.first_child[pu] = c;
        } else {
            let l = self.last_child[pu];
            self.prev_sib[cu] = l;
            self.next_sib[cu] = NONE;
            if l != NONE {
                self.next_sib[l as usize] = c;
            } else {
                self.first_child[pu] = c;
            }
            self.last_child[pu] = c;
        }
    }

    /// Removes `c` from its parent's child list (the parent pointer is kept).
    fn remove_child(&mut self, c: u32) {
        let p = self.parent[c as usize] as usize;
        let (pr, nx) = (self.prev_sib[c as usize], self.next_sib[c as usize]);
        if pr == NONE {
            self.first_child[p] = nx;
        } else {
            self.next_sib[pr as usize] = nx;
        }
        if nx == NONE {
            self.last_child[p] = pr;
        } else {
            self.prev_sib[nx as usize] = pr;
        }
    }

    /// Makes `c` a child of `p`. Child lists keep sources that have children before
    /// leaf sources, so subtree walks stop at the first leaf.
    fn link_child(&mut self, p: u32, c: u32) {
        if self.is_source(p) && self.first_child[p as usize] == NONE {
            // p stops being a leaf: move it to the front of its parent's list
            self.remove_child(p);
            let pp = self.parent[p as usize];
            self.insert_child(pp, p, true);
        }
        let leaf = self.is_source(c) && self.first_child[c as usize] == NONE;
        self.insert_child(p, c, !leaf);
    }

    /// Detaches `c` from its parent.
    fn unlink_child(&mut self, c: u32) {
        self.remove_child(c);
        let p = self.parent[c as usize];
        if self.is_source(p) && self.first_child[p as usize] == NONE {
            // p became a leaf: move it to the back of its parent's list
            self.remove_child(p);
            let pp = self.parent[p as usize];
            self.insert_child(pp, p, false);
        }
    }

    /// Starting tree and candidate arcs: from the warm start when given, else greedy.
    fn initial_tree(&mut self, supply: &[f64], demand: &[f64], start: Option<Start>) {
        let ns = self.ns;
        let alloc = match start {
            Some(st) => {
                // candidate arcs: each source's sinks of smallest estimated reduced cost
                let l = WARM_CANDIDATES.min(self.nt);
                let mut keys = vec![0.0; self.nt];
                let mut best: Vec<(f64, u32)> = Vec::with_capacity(l + 1);
                let mut w = Weights::new(st.snk_pi.clone());
                let mut hint = f64::INFINITY;
                for i in 0..ns {
                    w.off = st.src_pi[i];
                    self.best_sinks(i, &w, (l, f64::INFINITY, hint), &mut keys, &mut best);
                    self.push_arcs(i, &best);
                    hint = self.next_hint(i, &best, l, &w);
                }
                for &(i, j, _) in &st.alloc {
                    let c = self.cost_of(i as usize, j as usize);
                    self.arcs.push((i, (ns + j as usize) as u32, c));
                }
                st.alloc
            }
            None => self.greedy(supply, demand),
        };
        self.build_tree(&alloc, supply, demand);
    }

    /// Cold start: each source's nearest sinks become candidate arcs, and sources in order
    /// of the distance to their nearest sink each fill the nearest sinks that still have
    /// demand (a greedy allocation forest).
    fn greedy(&mut self, supply: &[f64], demand: &[f64]) -> Vec<(u32, u32, f64)> {
        let (ns, nt) = (self.ns, self.nt);
        // candidate arcs: each source's nearest sinks, ascending, so the last arc of a
        // source is the farthest of them
        let l = NEAREST.min(nt);
        let mut keys = vec![0.0; nt];
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(l + 1);
        let mut near: Vec<(f64, u32)> = Vec::with_capacity(ns);
        let w = Weights::new(vec![0.0; nt]);
        let mut hint = f64::INFINITY;
        for i in 0..ns {
            self.best_sinks(i, &w, (l, f64::INFINITY, hint), &mut keys, &mut best);
            self.push_arcs(i, &best);
            near.push((best[0].0, i as u32));
            hint = self.next_hint(i, &best, l, &w);
        }
        let mut left_d = demand.to_vec();
        near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut alloc: Vec<(u32, u32, f64)> = Vec::with_capacity(ns + nt);
        let mut open: Vec<u32> = (0..nt as u32).collect();
        for &(_, i) in &near {
            let i = i as usize;
            let mut s = supply[i];
            while s > 0.0 && !open.is_empty() {
                let (mut bk, mut bc) = (0usize, f64::INFINITY);
                for (k, &j) in open.iter().enumerate() {
                    let c = self.cost_of(i, j as usize);
                    if c < bc {
                        bc = c;
                        bk = k;
                    }
                }
                let j = open[bk] as usize;
                let x = s.min(left_d[j]);
                alloc.push((i as u32, j as u32, x));
                if bc > self.arcs[i * l + l - 1].2 {
                    self.arcs.push((i as u32, (ns + j) as u32, bc));
                }
                s -= x;
                left_d[j] -= x;
                if left_d[j] <= 0.0 {
                    open.swap_remove(bk);
                }
            }
        }
        alloc
    }

    /// Spanning tree from a feasible allocation forest: each tree of the forest hangs
    /// from the root by one artificial arc carrying its imbalance (a zero-flow artificial
    /// arc points away from the root), which makes the starting tree strongly feasible.
    fn build_tree(&mut self, alloc: &[(u32, u32, f64)], supply: &[f64], demand: &[f64]) {
        let (ns, nt) = (self.ns, self.nt);
        // adjacency of the forest
        let n = ns + nt;
        let mut deg = vec![0u32; n + 1];
        for &(i, j, _) in alloc {
            deg[i as usize] += 1;
            deg[ns + j as usize] += 1;
        }
        let mut start = vec![0usize; n + 1];
        for v in 0..n {
            start[v + 1] = start[v] + deg[v] as usize;
        }
        let mut fill = start.clone();
        let mut adj = vec![(0u32, 0u32); 2 * alloc.len()];
        for (k, &(i, j, _)) in alloc.iter().enumerate() {
            let (a, b) = (i as usize, ns + j as usize);
            adj[fill[a]] = (b as u32, k as u32);
            fill[a] += 1;
            adj[fill[b]] = (a as u32, k as u32);
            fill[b] += 1;
        }
        let root = self.root();
        self.depth[root as usize] = 0;
        self.pi[root as usize] = 0.0;
        let mut seen = vec![false; n];
        let mut comp: Vec<u32> = Vec::new();
        for v0 in 0..n {
            if seen[v0] {
                continue;
            }
            // collect the component and its imbalance
            comp.clear();
            comp.push(v0 as u32);
            seen[v0] = true;
            let mut h = 0;
            let mut r = 0.0;
            while h < comp.len() {
                let v = comp[h] as usize;
                h += 1;
                r += if v < ns { supply[v] } else { -demand[v - ns] };
                for &(w, _) in &adj[start[v]..start[v + 1]] {
                    if !seen[w as usize] {
                        seen[w as usize] = true;
                        comp.push(w);
                    }
                }
            }
            let anchor = if r > 0.0 {
                comp.iter().copied().find(|&v| self.is_source(v))
            } else {
                comp.iter().copied().find(|&v| !self.is_source(v))
            }
            .unwrap_or(v0 as u32);
            let a = anchor as usize;
            self.link_child(root, anchor);
            self.flow[a] = r.abs();
            self.pcost[a] = self.art;
            // orient the component away from its anchor
            self.stack.clear();
            self.stack.push(anchor);
            while let Some(v) = self.stack.pop() {
                let v = v as usize;
                for &(w, k) in &adj[start[v]..start[v + 1]] {
                    if w != self.parent[v] {
                        let (i, j, x) = alloc[k as usize];
                        self.link_child(v as u32, w);
                        self.flow[w as usize] = x;
                        self.pcost[w as usize] = self.cost_of(i as usize, j as usize);
                        self.stack.push(w);
                    }
                }
            }
        }
        self.refresh();
    }

    /// Recomputes the stored potentials and depths from the root.
    fn refresh(&mut self) {
        let root = self.root();
        self.stack.clear();
        self.stack.push(root);
        while let Some(v) = self.stack.pop() {
            let mut c = self.first_child[v as usize];
            while c != NONE {
                let cu = c as usize;
                if !self.is_source(c) {
                    self.pi[cu] = self.potential(v) + self.pcost[cu];
                    self.depth[cu] = self.depth_of(v) + 1;
                }
                self.stack.push(c);
                c = self.next_sib[cu];
            }
        }
    }

    /// Block-search pricing over the candidate arcs: the most negative reduced cost
    /// within the first block (of about √m arcs) that has one.
    fn find_entering(&mut self) -> Option<(u32, u32, f64)> {
        let m = self.arcs.len();
        if m == 0 {
            return None;
        }
        let block = ((m as f64).sqrt() as usize / 4).max(8);
        let mut best = -PRICE_EPS;
        let mut best_arc = None;
        let mut count = 0;
        let start = self.next_arc % m;
        // candidate arcs come in runs of one source: its potential is looked up once a run
        let (mut last_i, mut pi_i) = (NONE, 0.0);
        for k in (start..m).chain(0..start) {
            let (i, j, c) = self.arcs[k];
            if i != last_i {
                last_i = i;
                pi_i = self.potential(i);
            }
            let rc = c + pi_i - self.pi[j as usize];
            if rc < best && self.parent[i as usize] != j && self.parent[j as usize] != i {
                best = rc;
                best_arc = Some((i, j, c));
            }
            count += 1;
            if count >= block {
                if best_arc.is_some() {
                    self.next_arc = k + 1;
                    return best_arc;
                }
                count = 0;
            }
        }
        best_arc
    }

    /// Full pricing over all source × sink pairs: adds the most negative reduced-cost arcs
    /// of every source to the candidates; returns how many were added (0 = optimal).
    fn price_all(&mut self) -> usize {
        let (ns, nt) = (self.ns, self.nt);
        let mut w = Weights::new(self.pi[ns..ns + nt].to_vec());
        let max_p = w.shift;
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(ADD_PER_SOURCE + 1);
        let mut keys = vec![0.0; nt];
        let mut added = 0;
        let cut = (ADD_PER_SOURCE, -PRICE_EPS, f64::INFINITY);
        for i in 0..ns {
            w.off = self.potential(i as u32);
            // rc = c + π_i − π_j ≥ π_i − max π_j: no arc of i can price in
            if w.off - max_p >= -PRICE_EPS {
                continue;
            }
            self.best_sinks(i, &w, cut, &mut keys, &mut best);
            self.push_arcs(i, &best);
            added += best.len();
        }
        added
    }

    /// Simplex runs over the candidate arcs until a full pricing pass finds no arc with
    /// a negative reduced cost.
    fn solve(&mut self) {
        loop {
            while let Some((s, t, c)) = self.find_entering() {
                self.pivot(s, t, c);
            }
            self.refresh();
            if self.price_all() == 0 {
                break;
            }
        }
    }

    /// The deepest common ancestor of `s` and `t` in the tree (where the cycle closes).
    #[inline]
    fn join_of(&self, s: u32, t: u32) -> u32 {
        let (mut a, mut b) = (s, t);
        let (mut da, mut db) = (self.depth_of(a), self.depth_of(b));
        while a != b {
            if da > db {
                a = self.parent[a as usize];
                da -= 1;
            } else if db > da {
                b = self.parent[b as usize];
                db -= 1;
            } else {
                a = self.parent[a as usize];
                b = self.parent[b as usize];
                da -= 1;
                db -= 1;
            }
        }
        a
    }

    /// Sends `delta` round the cycle: down the `s` side and up the `t` side of the tree paths
    /// from `s` and `t` to `join`.
    #[inline]
    fn augment(&mut self, s: u32, t: u32, join: u32, delta: f64) {
        let mut u = s;
        while u != join {
            let f = &mut self.flow[u as usize];
            if (u as usize) < self.ns {
                *f -= delta
            } else {
                *f += delta
            }
            u = self.parent[u as usize];
        }
        let mut u = t;
        while u != join {
            let f = &mut self.flow[u as usize];
            if (u as usize) < self.ns {
                *f += delta
            } else {
                *f -= delta
            }
            u = self.parent[u as usize];
        }
    }

    /// Pivots on the entering arc s → t of cost c.
    fn pivot(&mut self, s: u32, t: u32, c: f64) {
        let join = self.join_of(s, t);
        // leaving arc: on the s side flow moves down (up-arcs = sources decrease), on
        // the t side it moves up (down-arcs = sinks decrease)
        let mut delta = f64::INFINITY;
        let mut u_out = NONE;
        let mut side = 0u8;
        let mut u = s;
        while u != join {
            if self.is_source(u) && self.flow[u as usize] < delta {
                delta = self.flow[u as usize];
                u_out = u;
                side = 1;
            }
            u = self.parent[u as usize];
        }
        let mut u = t;
        while u != join {
            if !self.is_source(u) && self.flow[u as usize] <= delta {
                delta = self.flow[u as usize];
                u_out = u;
                side = 2;
            }
            u = self.parent[u as usize];
        }
        if u_out == NONE {
            return;
        }
        if delta > 0.0 {
            self.augment(s, t, join, delta);
        }
        let (u_in, v_in) = if side == 1 { (s, t) } else { (t, s) };
        let old_pi_in = self.potential(u_in);
        // reverse the path u_in … u_out and hang it from v_in by the entering arc
        let mut prev_node = v_in;
        let mut prev_flow = delta;
        let mut prev_cost = c;
        let mut w = u_in;
        loop {
            let old_parent = self.parent[w as usize];
            let (old_flow, old_cost) = (self.flow[w as usize], self.pcost[w as usize]);
            self.unlink_child(w);
            self.link_child(prev_node, w);
            self.flow[w as usize] = prev_flow;
            self.pcost[w as usize] = prev_cost;
            if w == u_out {
                break;
            }
            prev_node = w;
            prev_flow = old_flow;
            prev_cost = old_cost;
            w = old_parent;
        }
        // shift the stored potentials and depths of the sinks in the moved subtree
        let sigma = self.potential_after(u_in) - old_pi_in;
        self.stack.clear();
        if self.is_source(u_in) {
            self.push_sink_children(u_in, sigma);
        } else {
            let uu = u_in as usize;
            self.pi[uu] += sigma;
            self.depth[uu] = self.depth_of(v_in) + 1;
            self.stack.push(u_in);
        }
        while let Some(v) = self.stack.pop() {
            let mut c = self.first_child[v as usize];
            while c != NONE && self.first_child[c as usize] != NONE {
                self.push_sink_children(c, sigma);
                c = self.next_sib[c as usize];
            }
        }
    }

    /// Potential of `v` recomputed from its parent (for a sink after it moved).
    fn potential_after(&self, v: u32) -> f64 {
        if self.is_source(v) {
            self.potential(v)
        } else {
            self.potential(self.parent[v as usize]) + self.pcost[v as usize]
        }
    }

    /// Updates the sink children of source `src` (shift `sigma`, depth) and stacks them.
    fn push_sink_children(&mut self, src: u32, sigma: f64) {
        let d = self.depth_of(src) + 1;
        let mut g = self.first_child[src as usize];
        while g != NONE {
            self.pi[g as usize] += sigma;
            self.depth[g as usize] = d;
            self.stack.push(g);
            g = self.next_sib[g as usize];
        }
    }

    /// Shipments of each source: (sink index, flow) for every real tree arc with flow.
    fn plan(&self) -> Vec<Vec<(u32, f64)>> {
        let (ns, root) = (self.ns, self.root());
        let mut out = vec![Vec::new(); ns];
        for v in 0..ns + self.nt {
            let p = self.parent[v];
            if p == root || self.flow[v] <= 0.0 {
                continue;
            }
            let (i, j) = if v < ns {
                (v, p as usize)
            } else {
                (p as usize, v)
            };
            out[i].push(((j - ns) as u32, self.flow[v]));
        }
        out
    }

    /// Total cost of the flow on real (non-artificial) tree arcs.
    fn cost(&self) -> f64 {
        let root = self.root();
        (0..self.ns + self.nt)
            .filter(|&v| self.parent[v] != root)
            .map(|v| self.flow[v] * self.pcost[v])
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_masses_cost_their_distance() {
        let shape = [5, 7];
        let mut p = vec![0.0; 35];
        let mut q = vec![0.0; 35];
        p[0] = 1.0;
        q[4 * 7 + 3] = 2.0;
        let d = emd_between(&p, &q, &shape).unwrap();
        assert!((d - 5.0).abs() < 1e-12, "{d}");
        assert_eq!(emd_between(&p, &p, &shape).unwrap(), 0.0);
        assert!(emd_between(&p, &vec![0.0; 35], &shape).unwrap().is_nan());
        assert!(emd_between(&p, &q[..3], &shape).is_err());
    }

    /// Xorshift64 bits from a non-zero `seed`.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Uniform numbers in [0, 1) from [`xorshift`].
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut bits = xorshift(seed);
        move || (bits() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Signed differences of two random distributions on `n` voxels: a dense one and one
    /// concentrated on a random blob, so sources and sinks are unbalanced in number.
    fn random_difference(n: usize, seed: u64) -> Vec<f64> {
        let mut next = uniform(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let p: Vec<f64> = (0..n).map(|_| next()).collect();
        let (lo, hi) = ((next() * n as f64) as usize, n / 10);
        let q: Vec<f64> = (0..n)
            .map(|i| if i >= lo && i < lo + hi { next() } else { 0.0 })
            .collect();
        let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
        p.iter().zip(&q).map(|(a, b)| b / sq - a / sp).collect()
    }

    #[test]
    fn coarse_to_fine_equals_direct_solve() {
        for (shape, seed) in [(vec![40, 40], 1), (vec![33, 47], 2), (vec![10, 11, 12], 3)] {
            let n = shape.iter().product();
            let d = random_difference(n, seed);
            let warm = emd_from_difference(&d, &shape);
            let cold = emd_from_difference_with(&d, &shape, usize::MAX);
            assert!((warm - cold).abs() < 1e-9, "{shape:?}: {warm} vs {cold}");
            // the transposed problem has the same cost
            let neg: Vec<f64> = d.iter().map(|v| -v).collect();
            let back = emd_from_difference(&neg, &shape);
            assert!((warm - back).abs() < 1e-9, "{shape:?}: {warm} vs {back}");
        }
    }

    /// Asserts that the solved `t` for the difference `d` is an optimal plan, checked
    /// independently of how it was found: flows are non-negative, artificial arcs carry
    /// nothing, every source ships its supply and every sink receives its demand, no
    /// source × sink pair has a negative reduced cost under the tree's potentials, and
    /// the plan's cost equals the dual bound Σ_j b_j π_j − Σ_i a_i π_i.
    fn assert_optimal(t: &Transport, d: &[f64], what: &str) {
        let supply: Vec<f64> = d.iter().copied().filter(|&x| x > 0.0).collect();
        let demand: Vec<f64> = d.iter().filter(|&&x| x < 0.0).map(|x| -x).collect();
        let (ns, nt, root) = (t.ns, t.nt, t.root());
        assert_eq!((ns, nt), (supply.len(), demand.len()), "{what}");
        let tol = 1e-12;
        let mut shipped = vec![0.0; ns];
        let mut received = vec![0.0; nt];
        for v in 0..ns + nt {
            assert!(t.flow[v] >= -tol, "{what}: negative flow {}", t.flow[v]);
            if t.parent[v] == root {
                assert!(t.flow[v] <= tol, "{what}: artificial flow {}", t.flow[v]);
            }
        }
        for (i, ships) in t.plan().iter().enumerate() {
            for &(j, x) in ships {
                shipped[i] += x;
                received[j as usize] += x;
            }
        }
        for (got, want) in shipped
            .iter()
            .zip(&supply)
            .chain(received.iter().zip(&demand))
        {
            assert!(
                (got - want).abs() <= tol,
                "{what}: {got} shipped, {want} wanted"
            );
        }
        let mut dual: f64 = (0..nt).map(|j| demand[j] * t.pi[ns + j]).sum();
        for (i, a) in supply.iter().enumerate() {
            let pi_i = t.potential(i as u32);
            dual -= a * pi_i;
            for j in 0..nt {
                let rc = t.cost_of(i, j) + pi_i - t.pi[ns + j];
                assert!(rc >= -1e-9, "{what}: reduced cost {rc} of {i} → {j}");
            }
        }
        let primal = t.cost();
        assert!(
            primal - dual <= 1e-9 && dual - primal <= 1e-9,
            "{what}: {primal} vs {dual}"
        );
    }

    /// Random small problems, many degenerate: equal integer masses (ties), sparse maps,
    /// single-voxel targets, line and 3-D grids. Each is solved directly and coarse to fine
    /// down to tiny levels; every plan must pass [`assert_optimal`], with one value.
    #[test]
    fn random_small_problems_are_solved_optimally() {
        let mut bits = xorshift(0x2545_F491_4F6C_DD1D);
        let mut next = move |n: u64| bits() % n;
        for case in 0..400 {
            let shape: Vec<usize> = match case % 4 {
                0 => vec![1 + next(12) as usize],
                1 | 2 => vec![1 + next(9) as usize, 1 + next(9) as usize],
                _ => (0..3).map(|_| 1 + next(4) as usize).collect(),
            };
            let n: usize = shape.iter().product();
            let mut draw = || -> Vec<f64> {
                match next(4) {
                    // one voxel
                    0 => {
                        let mut v = vec![0.0; n];
                        v[next(n as u64) as usize] = 1.0;
                        v
                    }
                    // small integers, many zeros and ties
                    1 => (0..n).map(|_| next(3) as f64).collect(),
                    // uniform
                    2 => vec![1.0; n],
                    // sparse reals
                    _ => (0..n)
                        .map(|_| {
                            if next(10) < 7 {
                                0.0
                            } else {
                                next(1000) as f64 / 7.0
                            }
                        })
                        .collect(),
                }
            };
            let (mut p, mut q) = (draw(), draw());
            p[0] += 1.0;
            q[n - 1] += 1.0;
            let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
            let d: Vec<f64> = p.iter().zip(&q).map(|(a, b)| b / sq - a / sp).collect();
            let mut value = None;
            for direct_below in [2, 8, usize::MAX] {
                let what = format!("case {case} {shape:?} direct below {direct_below}");
                let Some(t) = solve_difference(&d, &shape, direct_below) else {
                    continue;
                };
                assert_optimal(&t, &d, &what);
                let c = t.cost();
                let first = *value.get_or_insert(c);
                assert!((c - first).abs() < 1e-9, "{what}: {c} vs {first}");
            }
        }
    }

    /// The f32 screen of `best_sinks` never changes its result: on random 2-D, 3-D and
    /// 4-D problems, with potentials carrying a large common offset (as potentials of a
    /// tree hanging from the artificial root do), thresholds and Lipschitz hints, it
    /// equals an exact scan of every sink.
    #[test]
    fn screened_best_sinks_equal_an_exact_scan() {
        let mut next = uniform(0x9E37_79B9_7F4A_7C15);
        for case in 0..60 {
            let shape: Vec<usize> = match case % 3 {
                0 => vec![48, 40],
                1 => vec![12, 10, 9],
                _ => vec![5, 4, 6, 3],
            };
            let n: usize = shape.iter().product();
            let d: Vec<f64> = (0..n).map(|_| next() - 0.8).collect();
            let src: Vec<usize> = (0..n).filter(|&i| d[i] > 0.0).collect();
            let snk: Vec<usize> = (0..n).filter(|&i| d[i] <= 0.0).collect();
            let level = |cell: Vec<usize>| Level {
                xy: voxel_coords(&cell, &shape),
                mass: vec![1.0; cell.len()],
                cell,
                cell_shape: shape.clone(),
            };
            let t = Transport::new(&level(src), &level(snk), 1e6, None);
            let offset = [0.0, 3.7e5, -2.2e4][case % 3];
            let pj: Vec<f64> = (0..t.nt).map(|_| offset + 30.0 * next()).collect();
            let mut w = Weights::new(pj);
            let mut keys = vec![0.0; t.nt];
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let mut hint = f64::INFINITY;
            for i in 0..t.ns {
                w.off = offset - 25.0 * next();
                let (cap, below) = if case % 2 == 0 {
                    (6, f64::INFINITY)
                } else {
                    (4, -PRICE_EPS)
                };
                t.best_sinks(i, &w, (cap, below, hint), &mut keys, &mut got);
                want.clear();
                for j in 0..t.nt {
                    let key = t.cost_of(i, j) + w.off - w.pj[j];
                    if key < below {
                        keep_smallest(&mut want, cap, key, j as u32);
                    }
                }
                assert_eq!(got, want, "case {case} source {i}");
                if below == f64::INFINITY {
                    hint = t.next_hint(i, &got, cap, &w);
                }
            }
        }
    }

    #[test]
    fn split_mass_matches_hand_solution() {
        // p: 1 at (0,0); q: half at (0,3), half at (4,0) → 0.5*3 + 0.5*4
        let shape = [5, 5];
        let mut p = vec![0.0; 25];
        let mut q = vec![0.0; 25];
        p[0] = 1.0;
        q[3] = 0.5;
        q[20] = 0.5;
        let d = emd_between(&p, &q, &shape).unwrap();
        assert!((d - 3.5).abs() < 1e-12, "{d}");
        assert!((grid_diameter(&shape) - 32f64.sqrt()).abs() < 1e-12);
    }
}
