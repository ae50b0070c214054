"""Explanation metrics: with ground truth, equal to ``mrixai score``; without it (the model
is needed), equal to ``mrixai evaluate``.

``score`` gives the long table the command line writes; ``emd``, ``emd_score``,
``precision``, … give one metric per sample as an array. ``evaluate`` gives the metrics
without ground truth (region perturbation, pixel flipping, ROAD, faithfulness correlation,
max-sensitivity, sparseness, complexity; equal to Quantus 0.6 where its definitions are sound).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from . import _mrixai
from ._arrays import as_array

__all__ = [
    "score",
    "evaluate",
    "evaluate_matrix",
    "GTFREE_NAMES",
    "score_matrix",
    "names",
    "emd",
    "emd_score",
    "precision",
    "rank_accuracy",
    "mass_accuracy",
    "positive_mass",
    "pointing_game",
    "auroc",
    "average_precision",
    "top_k_intersection",
]


def names() -> list:
    """The default metric set, in the order ``score`` reports it."""
    return list(_mrixai.metric_names())


def score_matrix(
    attributions,
    masks,
    metrics: Optional[Sequence[str]] = None,
    pool: Optional[str] = None,
    threshold: Optional[float] = None,
    nan_policy: str = "error",
):
    """The scores as ``(metric names, values [N, metrics])`` (see :func:`score`)."""
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    return _mrixai.score(
        as_array(attributions, "attributions"),
        as_array(masks, "masks"),
        None if metrics is None else list(metrics),
        pool,
        threshold,
        nan_policy,
    )


def score(
    attributions,
    masks,
    metrics: Optional[Sequence[str]] = None,
    pool: Optional[str] = None,
    threshold: Optional[float] = None,
    nan_policy: str = "error",
) -> pd.DataFrame:
    """Scores attribution maps against ground-truth masks.

    attributions: ``[N, …spatial]`` or ``[N, C, …spatial]`` (2-D or 3-D samples), any real
        dtype; float32 is read without a copy, others are converted to float32 as the command
        line reads them.
    masks: ``[N, …spatial]`` or ``[N, 1, …spatial]``, binary unless ``threshold`` is given.
    metrics: names (default: every metric of :func:`names`); also ``top_k_intersection@K``
        and ``threshold_{precision,recall,f1}@T``.
    pool: channel pooling (``sum_abs``, ``sum_pos``, ``max_norm``, ``l1``, ``l2``,
        ``l2_sq``); ``None`` squeezes a single channel keeping signs and pools several with
        ``sum_abs``, as ``mrixai score`` does.
    threshold: binarise a continuous ground truth at this level, in (0, 1].
    nan_policy: ``"error"`` (NaN/Inf attributions raise) or ``"nan"`` (such samples score NaN).

    Returns the long table ``sample, metric, value`` of ``mrixai score``. Raises
    ``ValueError`` for bad shapes, dtypes, names or values. The GIL is released while scoring.
    """
    metric_names, values = score_matrix(
        attributions, masks, metrics, pool, threshold, nan_policy
    )
    n, m = values.shape
    return pd.DataFrame(
        {
            "sample": np.repeat(np.arange(n, dtype=np.int64), m),
            "metric": np.tile(np.asarray(metric_names, dtype=object), n),
            "value": values.reshape(-1),
        }
    )


#: The metrics without ground truth, in the order :func:`evaluate` reports them.
GTFREE_NAMES = tuple(_mrixai.gtfree_names())


def evaluate_matrix(model, inputs, maps, target=None, metrics=None, **settings):
    """The metrics without ground truth as ``(metric names, values [N, metrics])`` (see
    :func:`evaluate`; an unknown setting raises ``TypeError``)."""
    import os

    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    x = as_array(inputs, "inputs")
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        target = np.full(x.shape[0], int(target), dtype=np.int64)
    target = None if target is None else as_array(target, "target")
    metrics = None if metrics is None else list(metrics)
    maps = as_array(maps, "maps")
    return _mrixai.evaluate(os.fspath(model), x, maps, target, metrics, **settings)


def evaluate(model, inputs, maps, target=None, metrics=None, **settings) -> pd.DataFrame:
    """Scores attribution maps without ground truth, with the checkpoint that made them.

    model: a checkpoint folder (``model.safetensors`` + ``arch.json``), as for
        :func:`mrixai.explain`.
    inputs: ``[N, C, …spatial]``; maps: the same shape, or one channel ``[N, 1, …spatial]``.
    target: one class per sample, one class for all (int), or ``None`` for the predicted class.
    metrics: names from :data:`GTFREE_NAMES` (default: all); the curves give their areas.
    settings: ``patch=8`` and ``regions=100`` (region perturbation), ``features_in_step=1``
        (pixel flipping), ``runs=100`` and ``subset=224`` (faithfulness correlation),
        ``seed=0`` (its subsets, ROAD's and max-sensitivity's noise), ``baseline=None`` (a
        number; ``None`` is each sample's smallest value, Quantus's "black"), ``device="cpu"``;
        for ``max_sensitivity`` (included by default only with a method): ``method`` (the
        mrixai method that made the maps, run again on noisy inputs), ``params`` (its
        parameters, a dict of strings), ``noisy_copies=200``, ``radius=0.2``.

    Returns the long table ``sample, metric, value`` of ``mrixai evaluate``.
    """
    names, values = evaluate_matrix(model, inputs, maps, target, metrics, **settings)
    n, m = values.shape
    return pd.DataFrame(
        {
            "sample": np.repeat(np.arange(n, dtype=np.int64), m),
            "metric": np.tile(np.asarray(names, dtype=object), n),
            "value": values.reshape(-1),
        }
    )


def _one(metric: str):
    def f(attributions, masks, pool=None, threshold=None, nan_policy="error"):
        _, values = score_matrix(
            attributions, masks, [metric], pool, threshold, nan_policy
        )
        return values[:, 0]

    f.__name__ = metric
    f.__doc__ = (
        f"``{metric}`` of each sample as a float64 array ``[N]`` "
        "(arguments as in :func:`score`)."
    )
    return f


emd = _one("emd")
emd_score = _one("emd_score")
precision = _one("precision")
rank_accuracy = _one("rank_accuracy")
mass_accuracy = _one("mass_accuracy")
positive_mass = _one("positive_mass")
pointing_game = _one("pointing_game")
auroc = _one("auroc")
average_precision = _one("average_precision")


def top_k_intersection(attributions, masks, k: int = 100, pool=None, nan_policy="error"):
    """``top_k_intersection@k`` of each sample as a float64 array ``[N]``."""
    return _one(f"top_k_intersection@{int(k)}")(
        attributions, masks, pool=pool, nan_policy=nan_policy
    )
