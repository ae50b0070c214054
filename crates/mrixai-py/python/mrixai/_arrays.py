"""Array intake shared by the modules: anything array-like becomes a NumPy array without a
copy where NumPy allows it (NumPy arrays as they are, torch tensors through DLPack or
``__array__``); non-native byte order is brought to native."""

from __future__ import annotations

import numpy as np


def as_array(x, name: str) -> np.ndarray:
    """``x`` as a NumPy array (no copy for NumPy arrays and CPU tensors)."""
    if isinstance(x, np.ndarray):
        a = x
    elif hasattr(x, "__dlpack__") and not isinstance(x, (list, tuple)):
        try:
            a = np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError):
            a = np.asarray(x)
    else:
        try:
            a = np.asarray(x)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name}: cannot read as an array: {e}") from None
    if a.dtype.byteorder not in ("=", "|") and not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a
