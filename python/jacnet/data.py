"""Data: checking the arrays a caller passes (features, labels, float
targets), the borrowed datasets handed to C, and the loaders (IDX, USPS,
CSV, the report's splits). Mirrors the library's loaders and datasets."""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from . import _lib
from ._handle import FloatArray, IntArray, PathLike, _Handle
from ._lib import F, as_float32, as_int32, ptr, path_arg


def _rows(data: npt.ArrayLike, D: int, name: str, origin: Optional[str] = None) -> FloatArray:
    """data as an n x D float32 C-contiguous array (1-D data of length D is one row).

    origin: the model file the network came from, named in the message."""
    X = as_float32(data, name)
    if X.ndim == 1 and X.shape[0] == D:
        X = X.reshape(1, D)
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError("%s: shape %s, expected (n, %d)%s" % (name, X.shape, D, _from_file(origin, D)))
    if X.shape[0] == 0:
        raise ValueError("%s: no rows" % name)
    return X


def _from_file(origin, D):
    return "" if origin is None else ": the network loaded from %r takes %d inputs" % (origin, D)


def _check_labels(y, K, name, origin=None, binary=False):
    """Labels the network can output: 0..K-1 (binary: 0 and 1 for a single
    output, as predict thresholds it)."""
    most = 2 if binary and K == 1 else K
    bad = np.flatnonzero((y < 0) | (y >= most))
    if bad.size:
        i = int(bad[0])
        raise ValueError("%s: label %d at index %d, the network has %d output%s (labels 0..%d)%s"
                         % (name, y[i], i, K, "" if K == 1 else "s", most - 1,
                            "" if origin is None else "; it was loaded from %r" % (origin,)))



def _is_targets(y: npt.ArrayLike) -> bool:
    """y holds float targets (2-D, real) rather than integer labels (1-D)."""
    return np.ndim(y) == 2


def _labels_or_targets(y: npt.ArrayLike, n: int, K: int, name: str, like: Optional[str] = None) -> np.ndarray:
    """y for n rows and K outputs: float32 targets n x K (2-D) or int32
    labels of length n (1-D; integers only, not floats rounded). The messages
    name the argument, and `like`, when given, the features whose row count
    the labels must match."""
    if _is_targets(y):
        Y = as_float32(y, name)
        if Y.shape != (n, K):
            raise ValueError("%s: float targets of shape %s, expected (%d, %d)" % (name, Y.shape, n, K))
        return Y
    if np.asarray(y).dtype.kind not in "iu":
        raise TypeError("%s: labels must be integers (1-D), or float targets 2-D (n, %d); got dtype %s, shape %s"
                        % (name, K, np.asarray(y).dtype, np.shape(y)))
    labels = as_int32(y, name)
    if labels.shape != (n,):
        raise ValueError("%s: shape %s, expected (%d,)%s"
                         % (name, labels.shape, n, "" if like is None else " like " + like))
    return labels


class _Dataset(_Handle):
    """A dataset borrowing X (float32) and y: int32 labels (1-D, classes =
    K) or float32 targets (2-D, n x K). The arrays are kept alive until the C
    handle is freed (they ride in the finalizer)."""

    _free_name = "jn_dataset_free"
    _no_copy = "it borrows the caller's arrays; copy those instead"

    def __init__(self, features: npt.ArrayLike, y: npt.ArrayLike, classes: int, D: Optional[int] = None) -> None:
        X = as_float32(features, "X")
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or (D is not None and X.shape[1] != D):
            raise ValueError("X: shape %s, expected (n, %s)" % (X.shape, D if D is not None else "D"))
        h = _lib.new_handle()
        self.targets = _is_targets(y)
        Y = _labels_or_targets(y, X.shape[0], classes, "y")
        create = F.jn_dataset_create_targets if self.targets else F.jn_dataset_create
        create(ctypes.byref(h), ptr(X), ptr(Y), X.shape[0], X.shape[1], int(classes), _lib.DATASET_BORROW)
        self._adopt(h, keep_alive=(X, Y))
        self.X, self.y = X, Y


def _copy_out(h: int) -> Tuple[FloatArray, IntArray]:
    """(X, y) copies of a C-owned dataset's arrays; the handle is freed."""
    try:
        n, d = F.jn_dataset_count(h), F.jn_dataset_dim(h)
        X = np.ctypeslib.as_array(ctypes.cast(F.jn_dataset_features(h), ctypes.POINTER(ctypes.c_float)),
                                  shape=(n, d)).copy()
        y = np.ctypeslib.as_array(ctypes.cast(F.jn_dataset_labels(h), ctypes.POINTER(ctypes.c_int32)),
                                  shape=(n,)).copy()
        return X, y
    finally:
        F.jn_dataset_free(h)


def load_idx(images: PathLike, labels: PathLike, binarize: bool = False) -> Tuple[FloatArray, IntArray]:
    """MNIST-style IDX3 images + IDX1 labels (raw or .gz): (X n x D float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_idx(ctypes.byref(h), path_arg(images, "images"), path_arg(labels, "labels"),
                          _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def load_usps(path: PathLike) -> Tuple[FloatArray, IntArray]:
    """One USPS file (zip.train / zip.test, raw or .gz): (X n x 256 float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_usps(ctypes.byref(h), path_arg(path))
    return _copy_out(h.value)


def load_csv(path: PathLike, binarize: bool = False) -> Tuple[FloatArray, IntArray]:
    """CSV with the label first: (X, y). Values are kept as written (not
    scaled); binarize maps each to 1 if > 0.5 else 0."""
    h = _lib.new_handle()
    F.jn_dataset_load_csv(ctypes.byref(h), path_arg(path), _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def _splits(loader: Callable[..., Any], *args: Any) -> Dict[str, Tuple[FloatArray, IntArray]]:
    hs = [_lib.new_handle() for _ in range(3)]
    try:
        loader(*args, *[ctypes.byref(h) for h in hs])
    except BaseException:
        for h in hs:
            F.jn_dataset_free(h.value)
        raise
    return {name: _copy_out(h.value) for name, h in zip(("train", "valid", "test"), hs)}


def _dir_arg(d: Optional[PathLike]) -> Optional[bytes]:
    return None if d is None else path_arg(d, "dir")


def mnist_splits(dir: Optional[PathLike] = None,
                 binarize: bool = False) -> Dict[str, Tuple[FloatArray, IntArray]]:
    """The report's MNIST splits from dir/mnist (dir None: $JACNET_DATA, else ./data):
    {"train": (X, y) 50000, "valid": 10000, "test": 10000}."""
    return _splits(F.jn_load_mnist, _dir_arg(dir), _lib.LOAD_BINARIZE if binarize else 0)


def usps_splits(dir: Optional[PathLike] = None) -> Dict[str, Tuple[FloatArray, IntArray]]:
    """The report's USPS splits from dir/usps: {"train", "valid", "test"} -> (X, y)."""
    return _splits(F.jn_load_usps, _dir_arg(dir))
