"""mrixai.metrics against `mrixai score` on the golden cases; errors; zero copy; the GIL."""

import threading
import time

import numpy as np
import pandas as pd
import pytest

import mrixai
from mrixai import _mrixai
from conftest import FIXTURES

CASES = ["grid8", "grid16x24", "grid64", "vol8"]


@pytest.mark.parametrize("case", CASES)
def test_score_equals_cli(case, cli, tmp):
    d = FIXTURES / "metrics" / case
    a, m = np.load(d / "attr.npy"), np.load(d / "mask.npy")
    ours = mrixai.metrics.score(a, m)
    out = tmp / "s.csv"
    cli("score", "--attributions", d / "attr.npy", "--masks", d / "mask.npy", "--out", out)
    theirs = pd.read_csv(out)
    assert list(ours.columns) == ["sample", "metric", "value"]
    assert (ours["sample"].to_numpy() == theirs["sample"].to_numpy()).all()
    assert (ours["metric"].to_numpy() == theirs["metric"].to_numpy()).all()
    np.testing.assert_allclose(ours["value"], theirs["value"], rtol=0, atol=1e-12)


def test_single_metrics_equal_the_table():
    d = FIXTURES / "metrics" / "grid16x24"
    a, m = np.load(d / "attr.npy"), np.load(d / "mask.npy")
    table = mrixai.metrics.score(a, m)
    for name in ["emd", "emd_score", "precision", "mass_accuracy", "auroc"]:
        got = getattr(mrixai.metrics, name)(a, m)
        want = table[table.metric == name]["value"].to_numpy()
        np.testing.assert_array_equal(got, want)
    k = mrixai.metrics.top_k_intersection(a, m, k=10)
    empty = m.reshape(len(m), -1).sum(1) == 0
    assert k.shape == (a.shape[0],)
    assert np.isnan(k[empty]).all() and np.all((0 <= k[~empty]) & (k[~empty] <= 1))


def test_dtypes_convert_as_the_cli_reads_them():
    d = FIXTURES / "metrics" / "grid8"
    a, m = np.load(d / "attr.npy"), np.load(d / "mask.npy")
    base = mrixai.metrics.score_matrix(a, m)[1]
    # float64 maps are rounded to float32, masks of any integer/bool/float dtype are equal
    np.testing.assert_array_equal(mrixai.metrics.score_matrix(a.astype(np.float64), m)[1], base)
    for dt in [bool, np.int32, np.int64, np.float16, np.float64]:
        np.testing.assert_array_equal(mrixai.metrics.score_matrix(a, m.astype(dt))[1], base)
    # big-endian and Fortran-ordered arrays, and plain lists
    np.testing.assert_array_equal(mrixai.metrics.score_matrix(a.astype(">f4"), m)[1], base)
    np.testing.assert_array_equal(mrixai.metrics.score_matrix(np.asfortranarray(a), m)[1], base)
    np.testing.assert_array_equal(mrixai.metrics.score_matrix(a.tolist(), m.tolist())[1], base)


def test_bad_input_raises_value_error():
    a = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32)
    m = np.zeros((3, 8, 8), np.uint8)
    m[:, 2:4, 2:4] = 1
    cases = [
        (dict(attributions=a[:2], masks=m), "sample"),
        (dict(attributions=a[:, :4], masks=m), "attributions"),
        (dict(attributions=a, masks=m * 3), "not binary"),
        (dict(attributions=a, masks=m, metrics=["nope"]), "unknown metric"),
        (dict(attributions=a, masks=m, threshold=1.5), "threshold must lie in (0, 1]"),
        (dict(attributions=a, masks=m, pool="median"), "pool"),
        (dict(attributions=a, masks=m, nan_policy="drop"), "NaN policy"),
        (dict(attributions=a.astype(np.complex64), masks=m), "attributions: dtype"),
        (dict(attributions=np.where(a > 0.5, np.nan, a), masks=m), "non-finite"),
    ]
    for kwargs, words in cases:
        with pytest.raises(ValueError, match=None) as e:
            mrixai.metrics.score(**kwargs)
        assert words.lower() in str(e.value).lower(), (kwargs.keys(), str(e.value))
    # NaN maps score NaN on request
    nan = mrixai.metrics.score(np.where(a > 0.5, np.nan, a), m, nan_policy="nan")
    assert nan["value"].isna().all()


def test_float32_is_borrowed_not_copied():
    a = np.zeros((4, 16, 16), np.float32)
    assert _mrixai._borrows(a)
    assert _mrixai._borrows(a[:, ::2, ::2])  # strided views too
    ro = a.copy()
    ro.flags.writeable = False
    assert _mrixai._borrows(ro)
    assert not _mrixai._borrows(a.astype(np.float64))


def test_gil_is_released_while_scoring():
    rng = np.random.default_rng(1)
    a = rng.random((400, 32, 32), dtype=np.float32)
    m = np.zeros((400, 32, 32), np.uint8)
    m[:, 8:16, 8:16] = 1
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.01)
    before = len(ticks)
    start = time.perf_counter()
    mrixai.metrics.score(a, m, metrics=["emd", "auroc"])
    elapsed = time.perf_counter() - start
    during = len([x for x in ticks if start <= x <= start + elapsed])
    stop.set()
    t.join()
    assert before > 0
    # the thread ran Python throughout the call (≥ a third of the 1 ms ticks that fit in it)
    assert elapsed > 0.05, "scoring too fast to observe"
    assert during >= elapsed / 0.001 / 3, (during, elapsed)


def test_torch_tensors_are_read():
    torch = pytest.importorskip("torch")
    d = FIXTURES / "metrics" / "grid8"
    a, m = np.load(d / "attr.npy"), np.load(d / "mask.npy")
    got = mrixai.metrics.score_matrix(torch.from_numpy(a), torch.from_numpy(m))[1]
    np.testing.assert_array_equal(got, mrixai.metrics.score_matrix(a, m)[1])
