"""Quantus 0.6 peer of `cargo bench -p mrixai-gtfree --bench gtfree`: the same model
(`fixtures/captum/vgg_small`), inputs and maps (tiled to 48 samples) and settings, Quantus
called as its documentation shows with `a_batch` given (batch_size 64: one chunk). Prints one
JSON line (best of 3, seconds), then, given the Rust line as its argument, the ratios.

    .venv/bin/python crates/mrixai-gtfree/benches/quantus_peer.py ['{"samples":48,...}']
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import quantus

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "fixtures" / "gtfree"))
from make_quantus import load_case  # noqa: E402

TILES = 8


def best(f) -> float:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    model, x, y = load_case("vgg_small")
    a = np.load(ROOT / "fixtures" / "gtfree" / "vgg_small" / "maps.npy")
    x, y, a = (np.concatenate([v] * TILES) for v in (x, y, a))
    kw = dict(model=model, x_batch=x, y_batch=y, a_batch=a, channel_first=True)
    metrics = {
        "region_perturbation": quantus.RegionPerturbation(disable_warnings=True),
        "pixel_flipping": quantus.PixelFlipping(features_in_step=256, disable_warnings=True),
        "faithfulness_correlation": quantus.FaithfulnessCorrelation(
            return_aggregate=False, disable_warnings=True
        ),
        "road": quantus.ROAD(disable_warnings=True),
        "sparseness": quantus.Sparseness(disable_warnings=True),
        "complexity": quantus.Complexity(disable_warnings=True),
    }
    np.random.seed(0)
    times = {name: best(lambda m=m: m(**kw)) for name, m in metrics.items()}
    print(json.dumps({"samples": len(x), **{k: round(v, 6) for k, v in times.items()}}))
    if len(sys.argv) > 1:
        ours = json.loads(sys.argv[1])
        ratios = {k: round(times[k] / ours[k], 1) for k in times}
        print(json.dumps({"quantus_over_mrixai": ratios}))


if __name__ == "__main__":
    main()
