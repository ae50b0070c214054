"""Metrics without ground truth from Python: ``mrixai.metrics.evaluate`` on the Captum
fixture ``vgg_small`` gives Quantus 0.6's numbers (fixtures/gtfree), and bad names raise."""

from pathlib import Path

import numpy as np
import pytest

import mrixai

ROOT = Path(__file__).resolve().parents[3] / "fixtures"
CASE = ROOT / "captum" / "vgg_small"
GOLDEN = ROOT / "gtfree" / "vgg_small"


def test_evaluate_equals_quantus():
    x = np.load(CASE / "inputs.npy")
    t = np.load(CASE / "targets.npy")
    maps = np.load(GOLDEN / "maps.npy")
    table = mrixai.metrics.evaluate(
        CASE, x, maps, t, ["region_perturbation_morf", "sparseness", "complexity"]
    )
    assert list(table.columns) == ["sample", "metric", "value"]
    by = {m: g["value"].to_numpy() for m, g in table.groupby("metric")}
    curves = np.load(GOLDEN / "region_perturbation_morf.npy")
    areas = np.trapezoid(curves, dx=1, axis=1)
    np.testing.assert_allclose(by["region_perturbation_morf"], areas, atol=1e-5 * np.abs(areas).max())
    for m in ("sparseness", "complexity"):
        np.testing.assert_allclose(by[m], np.load(GOLDEN / f"{m}.npy"), rtol=1e-6)
    # faithfulness correlation: seeded, so repeatable; one class for all is accepted
    names, a = mrixai.metrics.evaluate_matrix(CASE, x, maps, 1, "faithfulness_correlation", runs=10, seed=3)
    _, b = mrixai.metrics.evaluate_matrix(CASE, x, maps, 1, "faithfulness_correlation", runs=10, seed=3)
    assert names == ["faithfulness_correlation"] and a.shape == (6, 1)
    np.testing.assert_array_equal(a, b)


def test_max_sensitivity_runs_the_method():
    x = np.load(CASE / "inputs.npy")
    maps = np.load(CASE / "gradient.npy")
    names, v = mrixai.metrics.evaluate_matrix(
        CASE, x, maps, None, ["max_sensitivity"], method="gradient", noisy_copies=3
    )
    assert names == ["max_sensitivity"] and np.all(np.isfinite(v)) and np.all(v > 0)
    with pytest.raises(ValueError, match="name the method"):
        mrixai.metrics.evaluate(CASE, x, maps, metrics=["max_sensitivity"])


def test_unknown_metric_raises():
    x = np.load(CASE / "inputs.npy")
    with pytest.raises(ValueError, match="unknown metric `roar`"):
        mrixai.metrics.evaluate(CASE, x, x, metrics=["roar"])


def test_names_and_settings():
    assert mrixai.metrics.GTFREE_NAMES[:4] == (
        "region_perturbation_morf",
        "region_perturbation_lerf",
        "pixel_flipping",
        "road",
    )
    x = np.load(CASE / "inputs.npy")
    with pytest.raises(TypeError, match="patches"):
        mrixai.metrics.evaluate(CASE, x, x, metrics=["sparseness"], patches=4)


def test_quantus_adapter_runs_the_checkpoint():
    from mrixai.quantus import ModelMetric

    x = np.load(CASE / "inputs.npy")
    t = np.load(CASE / "targets.npy")
    maps = np.load(GOLDEN / "maps.npy")
    got = ModelMetric("sparseness", CASE)(None, x, t, a_batch=maps)
    np.testing.assert_allclose(got, np.load(GOLDEN / "sparseness.npy"), rtol=1e-6)
    rp = ModelMetric("region_perturbation_morf", CASE, patch=8)(None, x, t, a_batch=maps)
    curves = np.load(GOLDEN / "region_perturbation_morf.npy")
    areas = np.trapezoid(curves, dx=1, axis=1)
    np.testing.assert_allclose(rp, areas, atol=1e-5 * np.abs(areas).max())
    with pytest.raises(ValueError, match="unknown metric"):
        ModelMetric("roar", CASE)
