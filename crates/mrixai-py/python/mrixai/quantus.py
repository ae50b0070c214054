"""mrixai's localisation metrics where Quantus expects a metric callable.

``Metric("mass_accuracy")(model, x_batch, y_batch, a_batch, s_batch)`` returns one score per
sample, like ``quantus.RelevanceMassAccuracy()(…)``, computed by :func:`mrixai.metrics.score`.
The classes named after Quantus's metrics are ready-made instances of this:

=========================  ==========================  ===================================
Quantus (0.6)              mrixai                      definitions
=========================  ==========================  ===================================
``RelevanceMassAccuracy``  ``mass_accuracy``           equal
``RelevanceRankAccuracy``  ``rank_accuracy``           equal (ties broken by position)
``PointingGame``           ``pointing_game``           equal for a unique maximum
``TopKIntersection(k)``    ``top_k_intersection@k``    equal (stable tie-break)
``AUC``                    ``auroc``                   equal (ties averaged, as sklearn)
=========================  ==========================  ===================================

:class:`ModelMetric` does the same for the metrics without ground truth (region
perturbation, pixel flipping, ROAD, faithfulness correlation, sparseness, complexity), running
an mrixai checkpoint of the model.

Where the two differ: Quantus normalises a batch (by default every map by the batch
maximum) and may take ``abs`` first; mrixai scores each map as given (``pool`` pools
channels). Quantus reads masks as booleans (any non-zero is lesion); mrixai wants 0/1 masks or
a ``threshold``. mrixai also scores 3-D volumes and adds the exact EMD, which Quantus lacks.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

import numpy as np

from . import metrics as _metrics
from ._arrays import as_array


class _Callable:
    """Quantus's metric interface over :meth:`_score`: the maps given, or made by
    ``explain_func``, channels first."""

    name: str
    evaluation_scores: List[float]

    def __call__(
        self,
        model,
        x_batch,
        y_batch,
        a_batch=None,
        s_batch=None,
        channel_first: Optional[bool] = None,
        explain_func: Optional[Callable] = None,
        explain_func_kwargs: Optional[Dict] = None,
        **kwargs,
    ) -> List[float]:
        """Scores ``a_batch`` (or the maps of ``explain_func(model=…, inputs=x_batch,
        targets=y_batch, **explain_func_kwargs)``)."""
        if a_batch is None:
            if explain_func is None:
                raise ValueError(f"{self.name}: give a_batch or explain_func")
            a_batch = explain_func(
                model=model, inputs=x_batch, targets=y_batch, **(explain_func_kwargs or {})
            )
        x = as_array(x_batch, "x_batch")
        arrays = [as_array(a_batch, "a_batch"), x]
        arrays.append(None if s_batch is None else as_array(s_batch, "s_batch"))
        # channels last → first only where an array has the inputs' rank ([N, …, C])
        if channel_first is False:
            arrays = [v if v is None or v.ndim != x.ndim else np.moveaxis(v, -1, 1) for v in arrays]
        self.evaluation_scores = self._score(*arrays, y_batch).tolist()
        return self.evaluation_scores


class Metric(_Callable):
    """A Quantus-style metric callable backed by an mrixai metric.

    name: an mrixai metric name (``emd_score``, ``mass_accuracy``, ``top_k_intersection@100``…).
    pool, threshold, nan_policy: as in :func:`mrixai.metrics.score`.
    abs: take ``|a|`` first (Quantus's ``abs`` option); False by default.
    """

    def __init__(
        self,
        name: str,
        pool: Optional[str] = None,
        threshold: Optional[float] = None,
        nan_policy: str = "nan",
        abs: bool = False,
    ):
        self.name = name
        self.pool = pool
        self.threshold = threshold
        self.nan_policy = nan_policy
        self.abs = abs
        self.evaluation_scores: List[float] = []

    def _score(self, a, x, s, y):
        """Scores the maps against the masks ``s_batch`` (required)."""
        if s is None:
            raise ValueError(f"{self.name}: s_batch (the ground-truth masks) is required")
        if self.abs:
            a = np.abs(a)
        _, values = _metrics.score_matrix(
            a, s, [self.name], self.pool, self.threshold, self.nan_policy
        )
        return values[:, 0]


def RelevanceMassAccuracy(**kw) -> Metric:
    """mrixai's ``mass_accuracy`` as Quantus's ``RelevanceMassAccuracy``."""
    return Metric("mass_accuracy", **kw)


def RelevanceRankAccuracy(**kw) -> Metric:
    """mrixai's ``rank_accuracy`` as Quantus's ``RelevanceRankAccuracy``."""
    return Metric("rank_accuracy", **kw)


def PointingGame(**kw) -> Metric:
    """mrixai's ``pointing_game`` as Quantus's ``PointingGame``."""
    return Metric("pointing_game", **kw)


def TopKIntersection(k: int = 1000, **kw) -> Metric:
    """mrixai's ``top_k_intersection@k`` as Quantus's ``TopKIntersection`` (same default k)."""
    return Metric(f"top_k_intersection@{int(k)}", **kw)


def AUC(**kw) -> Metric:
    """mrixai's ``auroc`` as Quantus's ``AUC``."""
    return Metric("auroc", **kw)


def EMDScore(**kw) -> Metric:
    """mrixai's exact ``emd_score`` (no Quantus counterpart)."""
    return Metric("emd_score", **kw)


class ModelMetric(_Callable):
    """A Quantus-style callable backed by an mrixai metric without ground truth
    (:data:`mrixai.metrics.GTFREE_NAMES`), which runs the model itself.

    name: ``region_perturbation_morf``, ``pixel_flipping``, ``road``, ``sparseness``, …
    checkpoint: the model as an mrixai checkpoint folder (``model.safetensors`` with
        torchvision names + ``arch.json``; docs/MODELS.md shows the export from PyTorch). The
        ``model`` Quantus passes is not run: mrixai runs the checkpoint, which must hold the
        same weights.
    settings: as in :func:`mrixai.metrics.evaluate` (``patch``, ``regions``,
        ``features_in_step``, ``runs``, ``subset``, ``seed``, ``baseline``, ``device``).

    Returns one value per sample: the curves' areas for region perturbation and pixel
    flipping, the share of ROAD's percentages still classified, the score itself otherwise.
    Quantus's ``RegionPerturbation``/``PixelFlipping`` return the curves and ``ROAD`` the
    per-percentage shares; docs/METRICS.md says where the definitions differ.
    """

    def __init__(self, name: str, checkpoint, **settings):
        if name not in _metrics.GTFREE_NAMES:
            raise ValueError(
                f"unknown metric `{name}` (metrics without ground truth: "
                f"{', '.join(_metrics.GTFREE_NAMES)})"
            )
        self.name = name
        self.checkpoint = checkpoint
        self.settings = settings
        self.evaluation_scores: List[float] = []

    def _score(self, a, x, s, y):
        """Runs the checkpoint on ``x_batch`` for the classes ``y_batch``; ``s_batch`` is
        not used. Maps without a channel axis (``[N, …spatial]``) get one, as Quantus
        expands them."""
        if a.ndim == x.ndim - 1:
            a = a[:, None]
        _, values = _metrics.evaluate_matrix(
            self.checkpoint, x, a, y, [self.name], **self.settings
        )
        return values[:, 0]
