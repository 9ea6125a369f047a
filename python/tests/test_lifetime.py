"""Handle lifetime: close(), context managers, finalizers, and no growth over 10^4 cycles."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import jacnet
from jacnet import _lib


def vm_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    pytest.skip("no VmRSS in /proc/self/status")


def cycle(i, X, y):
    with jacnet.Net([8, 16, 3]) as net:
        net.init(i)
        net.forward(X)
    obj = jacnet.Objective(jacobian=0.1)
    obj.close()
    opt = jacnet.Optimizer.sgd(0.1)
    opt.close()
    jacnet.Rng(i).close()
    net2 = jacnet.Net([8, 3])     # not closed: the finalizer frees it
    del net2
    with jacnet.Net([8, 3]).init(1) as n3:
        n3.error_rate(X, y)       # a borrowed dataset created and freed


def test_create_close_cycles_do_not_grow():
    X = np.random.default_rng(0).random((5, 8), dtype=np.float32)
    y = np.array([0, 1, 2, 0, 1], np.int32)
    for i in range(500):  # warm up allocator pools and caches
        cycle(i, X, y)
    gc.collect()
    tracemalloc.start()
    rss0 = vm_rss_kb()
    snap0 = tracemalloc.take_snapshot()
    for i in range(10_000):
        cycle(i, X, y)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    rss1 = vm_rss_kb()
    tracemalloc.stop()
    py_growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    # 10^4 leaked nets of 8*16+16+16*3+3 floats would be ~8 MB of C memory,
    # and 10^4 leaked Python objects hundreds of KB.
    assert py_growth < 64 * 1024, "Python heap grew by %d bytes" % py_growth
    assert rss1 - rss0 < 2048, "VmRSS grew by %d kB" % (rss1 - rss0)


def test_finalizer_frees_unclosed_handle(monkeypatch):
    freed = []
    real = _lib.F.jn_net_free
    monkeypatch.setattr(_lib.F, "jn_net_free", lambda p: (freed.append(p), real(p)))
    net = jacnet.Net([3, 2])
    address = net._address
    ref = weakref.ref(net)
    del net
    gc.collect()
    assert ref() is None and freed == [address]


def test_close_frees_once(monkeypatch):
    freed = []
    real = _lib.F.jn_objective_free
    monkeypatch.setattr(_lib.F, "jn_objective_free", lambda p: (freed.append(p), real(p)))
    with jacnet.Objective() as obj:
        pass
    obj.close()
    del obj
    gc.collect()
    assert len(freed) == 1


def test_borrowed_dataset_keeps_arrays_alive():
    """_Dataset borrows X and y: dropping the caller's references must not free them."""
    from jacnet.data import _Dataset
    X = np.random.default_rng(1).random((6, 4), dtype=np.float32)
    y = np.arange(6, dtype=np.int32) % 2
    ds = _Dataset(X, y, 2)
    x_ref = weakref.ref(ds.X)
    del X, y
    gc.collect()
    assert x_ref() is not None
    ds.close()
    del ds
    gc.collect()
    assert x_ref() is None


def test_train_callback_stays_alive_and_is_unset():
    """The CFUNCTYPE trampolines live for the whole run; afterwards none is left registered."""
    rng = np.random.default_rng(2)
    X = rng.random((50, 4), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(np.int32)
    seen = []
    with jacnet.Net([4, 6, 2]).init(1) as net, jacnet.Objective(jacobian=0.01) as obj:
        for _ in range(3):
            reps = jacnet.train(net, obj, X, y, epochs=2, batch_size=10,
                                callback=lambda r: seen.append(r["epoch"]) and gc.collect(),
                                on_batch=lambda e, d, t: (gc.collect() if d == 1 else 0) < 0)  # never stops
            assert [r["epoch"] for r in reps] == [1, 2]
    assert seen == [1, 2] * 3
