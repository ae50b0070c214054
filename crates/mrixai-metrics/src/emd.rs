//! Exact earth mover's distance between two mass distributions on a voxel grid, with the
//! Euclidean distance between voxel index coordinates as ground cost.
//!
//! The ground cost is a metric, so an optimal plan leaves the mass shared by both
//! distributions in place: EMD(p, q) = EMD((p − q)⁺, (q − p)⁺). Only the voxels with an
//! excess (sources) and a deficit (sinks) enter a transportation problem. It is solved
//! exactly by a primal network simplex (strongly feasible spanning trees, block-search
//! pricing) that starts from a greedy nearest-sink allocation and prices a sparse set of
//! candidate arcs (each source's nearest sinks); a full pricing pass over all
//! source × sink pairs then adds every arc with a negative reduced cost, until none is
//! left, which certifies optimality on the complete problem.

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
    let src: Vec<usize> = (0..d.len()).filter(|&i| d[i] > 0.0).collect();
    let snk: Vec<usize> = (0..d.len()).filter(|&i| d[i] < 0.0).collect();
    if src.is_empty() || snk.is_empty() {
        return 0.0;
    }
    let supply: Vec<f64> = src.iter().map(|&i| d[i]).collect();
    let demand: Vec<f64> = snk.iter().map(|&i| -d[i]).collect();
    let grid = Grid::new(shape);
    let mut t = Transport::new(&grid, &src, &snk, &supply, &demand);
    t.solve();
    t.cost()
}

/// Euclidean distances between voxels of a grid, looked up by the per-axis absolute
/// index offsets (the offset vector is itself a voxel of the grid, so the table has one
/// entry per voxel).
struct Grid {
    dims: usize,
    shape: Vec<i32>,
    strides: Vec<i32>,
    table: Vec<f64>,
}

impl Grid {
    fn new(shape: &[usize]) -> Self {
        let dims = shape.len();
        let mut strides = vec![1i32; dims];
        for d in (0..dims.saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1] as i32;
        }
        let n: usize = shape.iter().product();
        let table = (0..n)
            .map(|mut f| {
                let mut s = 0.0;
                for d in (0..dims).rev() {
                    let x = (f % shape[d]) as f64;
                    f /= shape[d];
                    s += x * x;
                }
                s.sqrt()
            })
            .collect();
        Self {
            dims,
            shape: shape.iter().map(|&n| n as i32).collect(),
            strides,
            table,
        }
    }

    /// Index coordinates of flat voxels, `dims` values per voxel.
    fn coords(&self, flat: &[usize]) -> Vec<i32> {
        let mut out = vec![0i32; flat.len() * self.dims];
        for (k, &f) in flat.iter().enumerate() {
            let mut f = f as i32;
            for d in (0..self.dims).rev() {
                out[k * self.dims + d] = f % self.shape[d];
                f /= self.shape[d];
            }
        }
        out
    }

    #[inline]
    fn dist(&self, a: &[i32], b: &[i32]) -> f64 {
        let mut off = 0i32;
        for d in 0..self.dims {
            off += (a[d] - b[d]).abs() * self.strides[d];
        }
        self.table[off as usize]
    }
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
struct Transport<'g> {
    grid: &'g Grid,
    ns: usize,
    nt: usize,
    src_xy: Vec<i32>,
    snk_xy: Vec<i32>,
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
/// Most arcs added per source by one full pricing pass.
const ADD_PER_SOURCE: usize = 4;

impl<'g> Transport<'g> {
    fn new(grid: &'g Grid, src: &[usize], snk: &[usize], supply: &[f64], demand: &[f64]) -> Self {
        let (ns, nt) = (src.len(), snk.len());
        let n = ns + nt;
        let dmax = grid.table.iter().copied().fold(0.0, f64::max);
        let mut t = Transport {
            grid,
            ns,
            nt,
            src_xy: grid.coords(src),
            snk_xy: grid.coords(snk),
            art: (dmax + 1.0) * (n as f64 + 1.0),
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
        t.initial_tree(supply, demand);
        t
    }

    #[inline]
    fn src_row(&self, i: usize) -> &[i32] {
        &self.src_xy[i * self.grid.dims..(i + 1) * self.grid.dims]
    }
    #[inline]
    fn snk_row(&self, j: usize) -> &[i32] {
        &self.snk_xy[j * self.grid.dims..(j + 1) * self.grid.dims]
    }
    #[inline]
    fn cost_of(&self, i: usize, j: usize) -> f64 {
        self.grid.dist(self.src_row(i), self.snk_row(j))
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

    /// Greedy start: sources in order of distance to their nearest sink each fill their
    /// nearest sinks with remaining demand. The allocations form a forest of positive-flow
    /// arcs; each tree of it hangs from the root by one artificial arc carrying its
    /// imbalance (a zero-flow artificial arc points away from the root), which makes the
    /// starting tree strongly feasible.
    fn initial_tree(&mut self, supply: &[f64], demand: &[f64]) {
        let (ns, nt) = (self.ns, self.nt);
        let mut left_d = demand.to_vec();
        let l = NEAREST.min(nt);
        let mut buf: Vec<(f64, u32)> = Vec::with_capacity(nt);
        let mut near: Vec<(f64, u32)> = Vec::with_capacity(ns);
        for i in 0..ns {
            buf.clear();
            buf.extend((0..nt).map(|j| (self.cost_of(i, j), j as u32)));
            if l < nt {
                buf.select_nth_unstable_by(l - 1, |x, y| x.0.total_cmp(&y.0));
            }
            let m = buf[..l].iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
            for &(c, j) in &buf[..l] {
                self.arcs.push((i as u32, (ns + j as usize) as u32, c));
            }
            near.push((m, i as u32));
        }
        near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut alloc: Vec<(u32, u32, f64)> = Vec::with_capacity(ns + nt);
        let mut open: Vec<u32> = (0..nt as u32).collect();
        for &(_, i) in &near {
            let i = i as usize;
            let mut s = supply[i];
            while s > 0.0 && !open.is_empty() {
                let a = self.src_row(i);
                let (mut bk, mut bc) = (0usize, f64::INFINITY);
                for (k, &j) in open.iter().enumerate() {
                    let c = self.grid.dist(a, self.snk_row(j as usize));
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
        // adjacency of the forest
        let n = ns + nt;
        let mut deg = vec![0u32; n + 1];
        for &(i, j, _) in &alloc {
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
        let block = ((m as f64).sqrt() as usize).max(16);
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
        let psnk: Vec<f64> = self.pi[ns..ns + nt].to_vec();
        let max_p = psnk.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(ADD_PER_SOURCE + 1);
        let mut added = 0;
        for i in 0..ns {
            let pi_i = self.potential(i as u32);
            // rc = c + π_i − π_j ≥ π_i − max π_j: no arc of i can price in
            if pi_i - max_p >= -PRICE_EPS {
                continue;
            }
            best.clear();
            let a = self.src_row(i);
            for (j, &pj) in psnk.iter().enumerate() {
                let lb = pi_i - pj;
                if lb >= -PRICE_EPS {
                    continue;
                }
                let rc = lb + self.grid.dist(a, self.snk_row(j));
                if rc < -PRICE_EPS && (best.len() < ADD_PER_SOURCE || rc < best[best.len() - 1].0) {
                    let pos = best.partition_point(|b| b.0 <= rc);
                    best.insert(pos, (rc, j as u32));
                    best.truncate(ADD_PER_SOURCE);
                }
            }
            for &(rc, j) in &best {
                let c = rc - pi_i + psnk[j as usize];
                self.arcs
                    .push((i as u32, (ns + j as usize) as u32, c.max(0.0)));
                added += 1;
            }
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

    /// Pivots on the entering arc s → t of cost c.
    fn pivot(&mut self, s: u32, t: u32, c: f64) {
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
        let join = a;
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
