"""The trainer wrapper on a tiny synthetic problem."""
import numpy as np
import pytest

import jacnet


def blobs(n, seed):
    """Three Gaussian blobs in 5 dimensions."""
    rng = np.random.default_rng(seed)
    centers = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]], np.float32)
    y = rng.integers(0, 3, n).astype(np.int32)
    X = (centers[y] + 0.3 * rng.standard_normal((n, 5))).astype(np.float32)
    return X, y


def test_training_reduces_error():
    X, y = blobs(300, 0)
    Xv, yv = blobs(100, 1)
    with jacnet.Net([5, 10, 3]).init(3) as net, jacnet.Objective.model("nj", 0.01, 0.1) as obj:
        before = net.error_rate(Xv, yv)
        obj_before = net.objective(obj, X, np.eye(3, dtype=np.float32)[y])[0]
        reports = jacnet.train(net, obj, X, y, epochs=15, batch_size=20, lr=0.3, momentum=0.5,
                               valid=(Xv, yv), seed=5)
        after = net.error_rate(Xv, yv)
        obj_after = net.objective(obj, X, np.eye(3, dtype=np.float32)[y])[0]
    assert len(reports) == 15
    assert [r["epoch"] for r in reports] == list(range(1, 16))
    assert set(reports[0]) == {"epoch", "train_objective", "valid_error", "best_valid_error", "best_epoch",
                               "seconds", "lr", "train_loss", "train_penalty", "train_jacobian_sqnorm",
                               "train_error", "recoveries"}
    assert reports[-1]["train_objective"] < reports[0]["train_objective"]
    assert obj_after < obj_before
    assert after < before and after < 0.1
    best = min(r["valid_error"] for r in reports)
    assert reports[-1]["best_valid_error"] == best
    assert after == pytest.approx(best)  # the best parameters are restored


def test_same_seed_same_result():
    X, y = blobs(100, 2)
    out = []
    for _ in range(2):
        with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective(jacobian=0.05) as obj:
            jacnet.train(net, obj, X, y, epochs=3, batch_size=10, seed=9, noise="gaussian",
                         input_std=0.1, jacobian_std=0.1)
            out.append(net.params)
    np.testing.assert_array_equal(out[0], out[1])


def test_noise_override_does_not_change_objective():
    X, y = blobs(40, 3)
    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective(jacobian=0.05) as obj:
        jacnet.train(net, obj, X, y, epochs=1, jacobian_std=0.2)
        assert obj.noise == "none" and obj.jacobian_std == 0.0


def test_callback_stops_and_adam_and_schedule():
    X, y = blobs(60, 4)
    batches = []
    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective() as obj:
        reps = jacnet.train(net, obj, X, y, epochs=10, batch_size=20, optimizer="adam", lr=0.01,
                            schedule=("step", 0.5, 3), callback=lambda r: r["epoch"] >= 2,
                            on_batch=lambda e, d, t: batches.append((e, d, t)))
    assert [r["epoch"] for r in reps] == [1, 2]
    assert batches == [(e, d, 3) for e in (1, 2) for d in (1, 2, 3)]
    assert reps[0]["valid_error"] is None
    # after 6 steps the next is t = 6: 0.01 * 0.5^floor(6 / 3)
    assert reps[0]["lr"] == pytest.approx(0.005) and reps[1]["lr"] == pytest.approx(0.0025)


def test_batch_callback_stops_mid_epoch():
    X, y = blobs(60, 4)
    batches = []

    def on_batch(e, d, t):
        batches.append((e, d))
        return e == 2 and d == 2  # stop in the middle of epoch 2

    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective() as obj:
        reps = jacnet.train(net, obj, X, y, epochs=10, batch_size=20, on_batch=on_batch)
    assert batches == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    assert [r["epoch"] for r in reps] == [1]  # epoch 2 never finished


def test_callback_exception_propagates():
    X, y = blobs(40, 5)

    class Boom(Exception):
        pass

    def cb(r):
        raise Boom("from the callback")

    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective() as obj:
        with pytest.raises(Boom):
            jacnet.train(net, obj, X, y, epochs=5, callback=cb)

        def on_batch(e, d, t):
            raise Boom("from the batch callback")
        with pytest.raises(Boom):
            jacnet.train(net, obj, X, y, epochs=5, on_batch=on_batch)


def test_patience_stops_early():
    X, y = blobs(200, 6)
    with jacnet.Net([5, 8, 3]).init(1) as net, jacnet.Objective() as obj:
        reps = jacnet.train(net, obj, X, y, epochs=200, batch_size=20, lr=0.5, valid=(X[:50], y[:50]),
                            patience=3)
    assert len(reps) < 200
    assert reps[-1]["epoch"] - reps[-1]["best_epoch"] == 3


def test_own_loop_with_optimizer_and_rng():
    """The pieces the trainer uses, driven from Python (what examples/own_loop.c does in C)."""
    X, y = blobs(120, 7)
    Y = np.eye(3, dtype=np.float32)[y]
    with jacnet.Net([5, 6, 3]).init(2) as net, jacnet.Objective(jacobian=0.05) as obj, \
            jacnet.Optimizer.sgd(0.3, 0.5) as opt, jacnet.Rng(1) as rng:
        first = None
        Xj = np.empty_like(X)
        for step in range(100):
            rng.corrupt(X, "gaussian", 0.1, out=Xj)
            value, grad = net.objective(obj, X, Y, Xj=Xj)
            first = value if first is None else first
            opt.step(net, grad)
        assert value < first
