"""Random numbers and noise: Rng, a jn_rng stream, and its corruption of inputs."""
from __future__ import annotations

import ctypes
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _lib
from ._handle import FloatArray, _Handle
from ._lib import F, as_float32, ptr


class Rng(_Handle):
    """xoshiro256** stream (jn_rng): Rng(seed, stream=0). Not copyable or
    picklable (TypeError): its position lives in C with no copy function."""

    _free_name = "jn_rng_free"
    _no_copy = ("its position in the stream lives in C and libjacnet has no function to copy it; "
                "create Rng(seed, stream) again to replay a stream")

    def __init__(self, seed: int, stream: int = 0) -> None:
        h = _lib.new_handle()
        F.jn_rng_create_stream(ctypes.byref(h), int(seed), int(stream))
        self._adopt(h)

    def gaussian(self, shape: Union[int, Tuple[int, ...]], std: float = 1.0) -> FloatArray:
        out = np.empty(shape, dtype=np.float32)
        F.jn_rng_gaussian(self._h, ptr(out), out.size, float(std))
        return out

    def corrupt(self, X: npt.ArrayLike, kind: str = "gaussian", level: float = 0.1,
                out: Optional[FloatArray] = None) -> FloatArray:
        """A corrupted copy of X (jn_corrupt); out (float32, C-contiguous, X's shape) may be X itself."""
        if kind not in _lib.NOISE:
            raise ValueError("kind: %r, one of %s" % (kind, ", ".join(_lib.NOISE)))
        src = as_float32(X, "X")
        if out is None:
            out = np.empty_like(src)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous
              or not out.flags.writeable or out.shape != src.shape):
            raise ValueError("out: need a writable float32 C-contiguous array of shape %s" % (src.shape,))
        F.jn_corrupt(self._h, _lib.NOISE[kind], float(level), ptr(src), ptr(out), src.size)
        return out
