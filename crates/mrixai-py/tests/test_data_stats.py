"""mrixai.synth and mrixai.stats against the files of `mrixai synth` and `mrixai stats`."""

import numpy as np
import pandas as pd
import pytest

import mrixai
from conftest import FIXTURES, ROOT

TINY = ROOT / "configs" / "synth-tiny.toml"


def test_synth_equals_the_cli_files(cli, tmp):
    ours = mrixai.synth(TINY, seed=3)
    cli("synth", "--config", TINY, "--seed", 3, "--out", tmp / "d")
    assert sorted(ours) == ["test", "train", "val"]
    for name, split in ours.items():
        d = tmp / "d" / name
        for field in ["images", "masks", "labels", "weights"]:
            want = np.load(d / f"{field}.npy")
            got = getattr(split, field)
            assert got.dtype == want.dtype, field
            np.testing.assert_array_equal(got, want)
        pd.testing.assert_frame_equal(split.meta, pd.read_csv(d / "meta.csv"))


def test_synth_errors():
    with pytest.raises(FileNotFoundError):
        mrixai.synth("no-such-config.toml")
    with pytest.raises(ValueError, match="task"):
        mrixai.synth(TINY, task="nope")


def _one_model_scores():
    """Three methods' scores on one model's maps: `oracle`-like, noisy and random."""
    d = FIXTURES / "metrics" / "grid64"
    m = np.load(d / "mask.npy")
    rng = np.random.default_rng(5)
    frames = []
    for name, noise in [("good", 0.2), ("fair", 1.0), ("random", None)]:
        a = rng.random(m.shape, dtype=np.float32)
        if noise is not None:
            a = m.astype(np.float32) + noise * a
        s = mrixai.metrics.score(a, m, metrics=["emd_score", "mass_accuracy"])
        s.insert(0, "method", name)
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def test_stats_equals_the_cli_tables(cli, tmp):
    scores = _one_model_scores()
    scores.to_csv(tmp / "scores.csv", index=False)
    opts = dict(n_boot=50, n_perm=0, seed=2)
    ours = mrixai.stats(scores, **opts)
    cli("stats", "--scores", tmp / "scores.csv", "--out", tmp / "st", "--n-boot", 50,
        "--n-perm", 0, "--seed", 2)
    assert "method_pairs" in ours and "findings" in ours
    for stem, got in ours.items():
        want = pd.read_parquet(tmp / "st" / f"{stem}.parquet")
        assert list(got.columns) == list(want.columns), stem
        assert len(got) == len(want), stem
        for c in got.columns:
            g, w = got[c].to_numpy(), want[c].to_numpy()
            if w.dtype.kind == "f":
                np.testing.assert_allclose(g.astype(float), w, rtol=0, atol=1e-12, equal_nan=True)
            else:
                assert [None if pd.isna(x) else x for x in g] == [
                    None if pd.isna(x) else x for x in w
                ], (stem, c)


def test_stats_options_are_checked():
    scores = _one_model_scores()
    for kwargs, words in [
        (dict(subset="all"), "subset"),
        (dict(alpha=2.0), "alpha"),
        (dict(min_accuracy=-1.0), "min_accuracy"),
    ]:
        with pytest.raises(ValueError, match=words):
            mrixai.stats(scores, **kwargs)
    with pytest.raises(TypeError):
        mrixai.stats(scores, bogus=1)
    with pytest.raises(ValueError, match="value"):
        mrixai.stats(scores.drop(columns=["value"]))
