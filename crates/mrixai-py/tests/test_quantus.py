"""The Quantus adapter equals Quantus's own localisation metrics where the definitions
coincide (runs where quantus is installed: pip install quantus)."""

import numpy as np
import pytest

import mrixai.quantus as mq

quantus = pytest.importorskip("quantus")


def _batch(n=12, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, size, size), dtype=np.float32)
    s = np.zeros((n, 1, size, size), np.uint8)
    for i in range(n):
        r, c = rng.integers(0, size - 5, 2)
        s[i, :, r : r + 5, c : c + 4] = 1
    a = (rng.random((n, 1, size, size)) + 0.8 * s).astype(np.float32)  # continuous, no ties
    return x, np.zeros(n, np.int64), a, s


PAIRS = [
    (mq.RelevanceMassAccuracy, lambda: quantus.RelevanceMassAccuracy(disable_warnings=True)),
    (mq.RelevanceRankAccuracy, lambda: quantus.RelevanceRankAccuracy(disable_warnings=True)),
    (mq.PointingGame, lambda: quantus.PointingGame(disable_warnings=True)),
    (lambda: mq.TopKIntersection(k=20), lambda: quantus.TopKIntersection(k=20, disable_warnings=True)),
    (mq.AUC, lambda: quantus.AUC(disable_warnings=True)),
]


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_adapter_equals_quantus(ours, theirs):
    x, y, a, s = _batch()
    got = ours()(None, x, y, a_batch=a, s_batch=s)
    want = theirs()(model=None, x_batch=x, y_batch=y, a_batch=a, s_batch=s)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_adapter_needs_masks_and_maps():
    x, y, a, s = _batch(n=2)
    with pytest.raises(ValueError, match="s_batch"):
        mq.EMDScore()(None, x, y, a_batch=a)
    with pytest.raises(ValueError, match="explain_func"):
        mq.EMDScore()(None, x, y, s_batch=s)
    calls = []

    def explain_func(model, inputs, targets, **kw):
        calls.append(kw)
        return a

    got = mq.EMDScore()(None, x, y, s_batch=s, explain_func=explain_func, explain_func_kwargs={"k": 1})
    assert calls == [{"k": 1}] and len(got) == 2
