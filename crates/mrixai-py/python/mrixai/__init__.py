"""mrixai: benchmark explanation (XAI) methods on brain-MRI CNNs, from Python.

- :mod:`mrixai.metrics`: exact EMD and the ground-truth metrics of ``mrixai score``;
- :func:`explain` / :func:`predict`: Captum-equal attributions and logits of a checkpoint;
- :func:`synth`: the benchmark data of ``mrixai synth`` in memory;
- :func:`stats`: the tables of ``mrixai stats``;
- :mod:`mrixai.quantus`: the metrics where Quantus expects a metric callable.

Everything runs in Rust with the GIL released; float32 arrays are read without a copy.
"""

from __future__ import annotations

import io
import os
from typing import Dict, NamedTuple, Optional, Union

import numpy as np
import pandas as pd

from . import _mrixai, metrics
from ._arrays import as_array

__version__ = _mrixai.__version__
__all__ = [
    "explain",
    "predict",
    "synth",
    "stats",
    "methods",
    "metrics",
    "Split",
    "CAPTUM_NAMES",
]

#: Captum's class names and the mrixai method each one is (``Saliency`` with Captum's
#: default ``abs=True``).
CAPTUM_NAMES = {
    "Saliency": "gradient",
    "InputXGradient": "input_x_gradient",
    "IntegratedGradients": "integrated_gradients",
    "GradientShap": "gradient_shap",
    "DeepLift": "deeplift",
    "DeepLiftShap": "deeplift_shap",
    "LRP": "lrp",
    "GuidedBackprop": "guided_backprop",
    "Deconvolution": "deconvolution",
    "LayerGradCam": "grad_cam",
    "GuidedGradCam": "guided_grad_cam",
    "Occlusion": "occlusion",
    "Lime": "lime",
    "KernelShap": "kernel_shap",
    "ShapleyValueSampling": "shapley_value_sampling",
}

PathLike = Union[str, "os.PathLike[str]"]


def methods() -> list:
    """Every attribution method and control (mrixai names)."""
    return list(_mrixai.methods())


def _param(value) -> str:
    """A parameter value as the command line's ``--param key=value`` text."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_param(v) for v in value) + ")"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _targets(target, n: int):
    if target is None:
        return None
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return np.full(n, int(target), dtype=np.int64)
    return as_array(target, "target")


def explain(
    model: PathLike,
    inputs,
    target=None,
    method: str = "integrated_gradients",
    *,
    batch_size: int = 16,
    masks=None,
    device: str = "cpu",
    **params,
) -> np.ndarray:
    """Attribution maps of a checkpoint, equal to ``mrixai explain`` (and to Captum).

    model: a checkpoint folder (``model.safetensors`` + ``arch.json``) or a torchvision-layout
        ``model.safetensors`` with ``arch.json`` beside it.
    inputs: ``[N, C, H, W]`` images (``[N, C, D, H, W]`` volumes for a 3-D model), any real
        dtype (float32 is read without a copy).
    target: one class per sample (array-like), one class for all (int), or ``None`` for the
        predicted class.
    method: an mrixai name (:func:`methods`) or Captum's class name (:data:`CAPTUM_NAMES`).
    masks: ground truth ``[N, …]`` for the ``oracle`` control.
    params: Captum's parameter names (``n_steps=50``, ``baselines=0.0``,
        ``sliding_window_shapes=(8, 8)``, ``internal_batch_size=64``, …).
    batch_size: samples per attribution call (``--batch-size`` of the command line, 16): the
        same batch size gives the command line's maps bit for bit; another one changes a few
        methods by float32 rounding only.
    device: ``"cpu"`` (bit-reproducible), ``"gpu"`` or ``"gpu:N"`` (a wheel built with the
        cargo feature ``gpu``; see docs/GPU.md).

    Returns float32 maps shaped like ``inputs`` (raw Grad-CAM ``[N, 1, h, w]``, or
    ``[N, 1, d, h, w]``).
    """
    name = CAPTUM_NAMES.get(method, method)
    if method == "Saliency":
        params.setdefault("abs", True)
    x = as_array(inputs, "inputs")
    n = x.shape[0] if x.ndim else 0
    return _mrixai.explain(
        os.fspath(model),
        x,
        _targets(target, n),
        name,
        {k: _param(v) for k, v in params.items()},
        batch_size,
        None if masks is None else as_array(masks, "masks"),
        device,
    )


def predict(model: PathLike, inputs, device: str = "cpu") -> np.ndarray:
    """Logits ``[N, classes]`` (float32) of a checkpoint, equal to ``mrixai predict --out x.npy``.

    device: ``"cpu"``, ``"gpu"`` or ``"gpu:N"`` (as in :func:`explain`).
    """
    return _mrixai.predict(os.fspath(model), as_array(inputs, "inputs"), device)


class Split(NamedTuple):
    """One split of a benchmark dataset, as ``mrixai synth`` writes it."""

    images: np.ndarray
    """float32 ``[N, 1, H, W]`` (or ``[N, 1, D, H, W]``) in [0, 1]."""
    masks: np.ndarray
    """uint8, same shape: 1 = lesion (the ground truth)."""
    labels: np.ndarray
    """int64 ``[N]``: 0 = regular, 1 = irregular lesion (lesion task)."""
    weights: np.ndarray
    """float32, same shape: the continuous lesion weights."""
    meta: pd.DataFrame
    """One row per sample, the columns of ``meta.csv``."""


def synth(
    config: Union[str, PathLike] = "quick",
    seed: int = 0,
    task: Optional[str] = None,
    mri: Optional[PathLike] = None,
) -> Dict[str, Split]:
    """The benchmark dataset in memory: ``{"train", "val", "test"}`` → :class:`Split`.

    config: ``"quick"``, ``"paper"`` or a synthesis TOML file; ``task`` (``lesion``,
    ``anatomy``, ``presence``) overrides the config's; ``mri`` is a folder of T1 volumes
    (default: the ``fixtures/mri`` of the checkout the package was built from). The arrays
    are identical to the files of ``mrixai synth`` for the same config and seed.
    """
    out = {}
    for name, images, masks, weights, labels, meta in _mrixai.synth(
        os.fspath(config), seed, task, None if mri is None else os.fspath(mri)
    ):
        out[name] = Split(images, masks, labels, weights, pd.read_csv(io.StringIO(meta)))
    return out


def _columns(scores) -> dict:
    if isinstance(scores, pd.DataFrame):
        cols = {}
        for c in scores.columns:
            a = scores[c].to_numpy()
            cols[str(c)] = a if a.dtype.kind in "biuf" else a.tolist()
        return cols
    if isinstance(scores, dict):
        return {
            str(k): (v if isinstance(v, np.ndarray) and v.dtype.kind in "biuf" else list(v))
            for k, v in scores.items()
        }
    raise ValueError("scores: expected a pandas DataFrame or a dict of columns")


def stats(scores, **options) -> Dict[str, pd.DataFrame]:
    """The tables of ``mrixai stats`` for a long score table.

    scores: a DataFrame (or dict of columns) in the pipeline's long format (``cell, source,
        pretrained_layers, frozen, seed, model_accuracy, method, sample, label, prediction,
        correct, correct_all, metric, value``) or as :func:`mrixai.metrics.score` returns it
        (with an optional ``method`` column: one model, method comparisons only).
    options: ``formula``, ``reference`` ("scratch"), ``subset`` ("correct"), ``n_boot`` (1000),
        ``seed`` (0), ``alpha`` (0.05), ``bins`` (3), ``primary_metric``, ``n_perm`` (999),
        ``min_accuracy`` (0.6) — the flags of ``mrixai stats``.

    Returns ``{table name: DataFrame}`` in the command's order.
    """
    tables = _mrixai.stats(_columns(scores), **options)
    return {
        stem: pd.DataFrame(dict(zip(names, cols)), columns=names)
        for stem, names, cols in tables
    }
