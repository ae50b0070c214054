"""Type stubs of the native module (see the package modules for the documented API)."""

from typing import Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

def score(
    attributions: npt.NDArray[np.generic],
    masks: npt.NDArray[np.generic],
    metrics: Optional[List[str]] = None,
    pool: Optional[str] = None,
    threshold: Optional[float] = None,
    nan_policy: str = "error",
) -> Tuple[List[str], npt.NDArray[np.float64]]: ...
def predict(
    model: str, inputs: npt.NDArray[np.generic], device: str = "cpu"
) -> npt.NDArray[np.float32]: ...
def explain(
    model: str,
    inputs: npt.NDArray[np.generic],
    target: Optional[npt.NDArray[np.generic]],
    method: str,
    params: Dict[str, str],
    batch_size: int = 16,
    masks: Optional[npt.NDArray[np.generic]] = None,
    device: str = "cpu",
) -> npt.NDArray[np.float32]: ...
def evaluate(
    model: str,
    inputs: npt.NDArray[np.generic],
    maps: npt.NDArray[np.generic],
    target: Optional[npt.NDArray[np.generic]] = None,
    metrics: Optional[List[str]] = None,
    patch: int = 8,
    regions: int = 100,
    features_in_step: int = 1,
    runs: int = 100,
    subset: int = 224,
    seed: int = 0,
    baseline: Optional[float] = None,
    device: str = "cpu",
) -> Tuple[List[str], npt.NDArray[np.float64]]: ...
def gtfree_names() -> List[str]: ...
def methods() -> List[str]: ...
def metric_names() -> List[str]: ...
def synth(
    config: str = "quick",
    seed: int = 0,
    task: Optional[str] = None,
    mri: Optional[str] = None,
) -> List[
    Tuple[
        str,
        npt.NDArray[np.float32],
        npt.NDArray[np.uint8],
        npt.NDArray[np.float32],
        npt.NDArray[np.int64],
        str,
    ]
]: ...
def stats(
    columns: Dict[str, object],
    formula: Optional[str] = None,
    reference: str = "scratch",
    subset: str = "correct",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    bins: int = 3,
    primary_metric: Optional[str] = None,
    n_perm: int = 999,
    min_accuracy: float = 0.6,
) -> List[Tuple[str, List[str], List[List[object]]]]: ...
def _borrows(obj: object) -> bool: ...
