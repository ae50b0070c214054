"""mrixai from Python against its Python peers, in one process, on the same 1,000 64x64 maps
(the data of crates/mrixai-metrics/benches/pot_peer.py, seed 0):

- exact EMD: mrixai.metrics.emd against POT ``ot.emd2`` + numpy as a user calls it (POT is
  timed on the first --pot-samples maps, ~0.4 s each);
- localisation metrics: mrixai.metrics.score against Quantus's RelevanceMassAccuracy,
  RelevanceRankAccuracy, PointingGame, TopKIntersection and AUC (abs=True, so that both score
  |a|), one batch of all maps;
- the whole mrixai metric set (9 metrics) on all maps.

    python bench_python.py [--samples 1000] [--pot-samples 20] [--repeats 3]

Prints a table of seconds and ratios and the largest value differences.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mrixai-metrics" / "benches"))
from pot_peer import emd_pot, make_data  # noqa: E402

import mrixai  # noqa: E402


def best(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--pot-samples", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    attr, mask = make_data(args.samples, 64, 0)
    n = len(attr)
    rows = []

    # exact EMD
    coords = np.argwhere(np.ones((64, 64), bool)).astype(np.float64)
    k = min(args.pot_samples, n)
    t0 = time.perf_counter()
    pot = np.array([emd_pot(attr[i], mask[i], coords) for i in range(k)])
    pot_s = (time.perf_counter() - t0) / k
    ours_s, ours = best(lambda: mrixai.metrics.emd(attr, mask), args.repeats)
    rows.append(("exact EMD, per map", pot_s, ours_s / n, np.abs(ours[:k] - pot).max()))

    # Quantus localisation metrics
    import quantus

    x = np.zeros((n, 1, 64, 64), np.float32)
    y = np.zeros(n, np.int64)
    a4, s4 = attr[:, None], mask[:, None]
    pairs = [
        ("RelevanceMassAccuracy", "mass_accuracy", quantus.RelevanceMassAccuracy),
        ("RelevanceRankAccuracy", "rank_accuracy", quantus.RelevanceRankAccuracy),
        ("PointingGame", "pointing_game", quantus.PointingGame),
        ("TopKIntersection(k=100)", "top_k_intersection@100",
         lambda **kw: quantus.TopKIntersection(k=100, **kw)),
        ("AUC", "auroc", quantus.AUC),
    ]
    q_total = o_total = 0.0
    for label, ours_name, cls in pairs:
        metric = cls(abs=True, disable_warnings=True, display_progressbar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q_s, q = best(
                lambda: np.array(metric(model=None, x_batch=x, y_batch=y, a_batch=a4,
                                        s_batch=s4, batch_size=n), dtype=float),
                args.repeats,
            )
        o_s, o = best(lambda: mrixai.metrics.score_matrix(attr, mask, [ours_name])[1][:, 0],
                      args.repeats)
        q_total += q_s
        o_total += o_s
        rows.append((f"Quantus {label}, {n} maps", q_s, o_s, np.nanmax(np.abs(o - q))))
    rows.append((f"the 5 Quantus metrics, {n} maps", q_total, o_total, float("nan")))
    full_s, _ = best(lambda: mrixai.metrics.score(attr, mask), args.repeats)

    print(f"numpy {np.__version__}, POT {__import__('ot').__version__}, quantus "
          f"{quantus.__version__}, mrixai {mrixai.__version__}, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'all cores')}")
    print(f"| what | peer (s) | mrixai (s) | ratio | max |diff| |")
    print("|---|---|---|---|---|")
    for what, peer, mine, diff in rows:
        print(f"| {what} | {peer:.4g} | {mine:.4g} | {peer / mine:.1f}x | {diff:.2g} |")
    print(f"| all 9 mrixai metrics, {n} maps | — | {full_s:.4g} | — | — |")


if __name__ == "__main__":
    main()
