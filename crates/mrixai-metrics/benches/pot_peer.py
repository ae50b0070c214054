"""Python peer of the mrixai-metrics benchmark: POT `ot.emd2` and the full metric set
(numpy/scikit-learn) on the same 64x64 arrays as `cargo bench --bench metrics -- --data DIR`.

    python pot_peer.py DIR [--samples 1000] [--emd-samples 20] [--seed 0]

Writes DIR/attr.npy (float32 [N, 64, 64], signed), DIR/mask.npy (uint8 disc lesions) and
DIR/emd_pot.json (per-sample EMD values and times). Single-threaded, like POT's solver.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import ot
from scipy.spatial.distance import cdist
from sklearn.metrics import average_precision_score, roc_auc_score


def make_data(n, size, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    attr = np.empty((n, size, size), np.float32)
    mask = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        r = rng.uniform(4, 10)
        cy, cx = rng.uniform(r, size - 1 - r, 2)
        mask[i] = ((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r
        # a bump near the lesion, a distractor bump and smooth signed noise
        by, bx = cy + rng.normal(0, 4), cx + rng.normal(0, 4)
        dy, dx = rng.uniform(0, size, 2)
        s = rng.uniform(3, 8)
        bump = np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / (2 * s * s))
        distract = 0.6 * np.exp(-((yy - dy) ** 2 + (xx - dx) ** 2) / (2 * 36.0))
        noise = rng.normal(0, 0.15, (size, size))
        noise = (noise + np.roll(noise, 1, 0) + np.roll(noise, 1, 1) + np.roll(noise, (1, 1), (0, 1))) / 2
        a = bump + distract + noise
        if i % 2 == 1:  # every other map is sparse (70 % zeros), like a thresholded method
            a[np.abs(a) < np.quantile(np.abs(a), 0.7)] = 0
        attr[i] = a
    return attr, mask


def emd_pot(a, m, coords):
    A = np.abs(a.astype(np.float64)).ravel()
    gt = m.ravel() == 1
    p = gt / gt.sum()
    q = A / A.sum()
    C = cdist(coords, coords)
    return ot.emd2(p, q, C, numItermax=10_000_000)


def all_metrics(a, m, coords, dmax):
    A = np.abs(a.astype(np.float64)).ravel()
    P = np.maximum(a.astype(np.float64), 0).ravel()
    gt = m.ravel() == 1
    K = int(gt.sum())
    emd = emd_pot(a, m, coords)
    order = np.argsort(-A, kind="stable")
    nnz = int((A != 0).sum())
    return {
        "emd": emd,
        "emd_score": 1 - emd / dmax,
        "precision": gt[order[: min(K, nnz)]].sum() / K,
        "rank_accuracy": gt[order[:K]].sum() / K,
        "mass_accuracy": A[gt].sum() / A.sum(),
        "positive_mass": P[gt].sum() / P.sum() if P.sum() > 0 else np.nan,
        "pointing_game": float(gt[np.argmax(A)]),
        "auroc": roc_auc_score(gt, A),
        "average_precision": average_precision_score(gt, A),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--emd-samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    attr, mask = make_data(args.samples, 64, args.seed)
    np.save(d / "attr.npy", attr)
    np.save(d / "mask.npy", mask)
    coords = np.argwhere(np.ones((64, 64), bool)).astype(np.float64)
    dmax = float(np.sqrt(2 * 63**2))
    vals, times, all_times = [], [], []
    for i in range(min(args.emd_samples, args.samples)):
        t = time.perf_counter()
        v = emd_pot(attr[i], mask[i], coords)
        times.append(time.perf_counter() - t)
        vals.append(float(v))
        t = time.perf_counter()
        all_metrics(attr[i], mask[i], coords, dmax)
        all_times.append(time.perf_counter() - t)
    out = {
        "what": "POT ot.emd2 incl. the dense cdist cost matrix, and all 9 metrics (numpy/sklearn), seconds per sample",
        "versions": {"numpy": np.__version__, "ot": ot.__version__},
        "emd": vals,
        "emd_seconds": times,
        "all_metrics_seconds": all_times,
        "K": [int(mask[i].sum()) for i in range(len(vals))],
        "n_nonzero": [int((attr[i] != 0).sum()) for i in range(len(vals))],
    }
    (d / "emd_pot.json").write_text(json.dumps(out, indent=1))
    print(f"POT emd2: median {np.median(times):.4f} s, mean {np.mean(times):.4f} s per sample ({len(times)} samples)")
    print(f"all metrics (Python): median {np.median(all_times):.4f} s, mean {np.mean(all_times):.4f} s per sample")


if __name__ == "__main__":
    main()
