"""float32 C-contiguous input reaches C without a copy; anything else is converted once."""
import numpy as np
import pytest

import jacnet
from jacnet import _lib


def test_ascontiguousarray_returns_same_object():
    X = np.zeros((5, 6), np.float32)
    assert _lib.as_float32(X, "X") is X
    assert np.ascontiguousarray(X, dtype=np.float32) is X


@pytest.mark.parametrize("make", [lambda a: a.astype(np.float64), lambda a: np.asfortranarray(a),
                                  lambda a: np.repeat(a, 2, axis=0)[::2], lambda a: a.astype(np.int64),
                                  lambda a: a.tolist()])
def test_other_layouts_are_converted(make):
    a = make(np.arange(30, dtype=np.float32).reshape(5, 6))
    out = _lib.as_float32(a, "X")
    assert out is not a and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.arange(30, dtype=np.float32).reshape(5, 6))


def _spy(monkeypatch, name):
    seen = []
    real = getattr(_lib.F, name)

    def spy(*args):
        seen.append(args)
        return real(*args)
    monkeypatch.setattr(_lib.F, name, spy)
    return seen


def test_forward_passes_the_callers_buffer(monkeypatch, small_net):
    X = np.random.default_rng(0).random((4, 6), dtype=np.float32)
    seen = _spy(monkeypatch, "jn_net_forward")
    small_net.forward(X)
    assert seen[0][1] == X.ctypes.data  # the very address of the caller's array


def test_objective_passes_the_callers_buffers(monkeypatch, small_net):
    rng = np.random.default_rng(0)
    X = rng.random((4, 6), dtype=np.float32)
    Xj = rng.random((4, 6), dtype=np.float32)
    Y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    seen = _spy(monkeypatch, "jn_net_objective")
    with jacnet.Objective(jacobian=0.1) as obj:
        small_net.objective(obj, X, Y, Xj=Xj)
    _, _, px, pxj, py, n = seen[0][:6]
    assert (px, pxj, py, n) == (X.ctypes.data, Xj.ctypes.data, Y.ctypes.data, 4)


def test_train_borrows_the_callers_arrays(monkeypatch, small_net):
    X = np.random.default_rng(0).random((20, 6), dtype=np.float32)
    y = np.arange(20, dtype=np.int32) % 3
    seen = _spy(monkeypatch, "jn_dataset_create")
    with jacnet.Objective() as obj:
        jacnet.train(small_net, obj, X, y, epochs=1, batch_size=5)
    _, px, py, count, dim, classes, flags = seen[0]
    assert (px, py, count, dim, classes) == (X.ctypes.data, y.ctypes.data, 20, 6, 3)
    assert flags == _lib.DATASET_BORROW


def test_float64_still_works(small_net):
    X = np.random.default_rng(0).random((4, 6))
    np.testing.assert_allclose(small_net.forward(X), small_net.forward(X.astype(np.float32)))
