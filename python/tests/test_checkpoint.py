"""jacnet.train's checkpoint and recovery options, and the epoch report's new keys."""
import numpy as np
import pytest

import jacnet
from jacnet import _lib


def blobs(n, seed):
    """Three Gaussian blobs in 5 dimensions."""
    rng = np.random.default_rng(seed)
    centers = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]], np.float32)
    y = rng.integers(0, 3, n).astype(np.int32)
    X = (centers[y] + 0.3 * rng.standard_normal((n, 5))).astype(np.float32)
    return X, y


@pytest.fixture(autouse=True)
def one_thread():
    jacnet.set_threads(1)  # results exact, whatever JACNET_THREADS says


def run(path, epochs, stop_after=None, init=3, lr=0.01, **kw):
    """Adam with a step schedule, noise on both inputs, 2 projections; returns (reports, parameters)."""
    X, y = blobs(200, 0)
    Xv, yv = blobs(60, 1)
    with jacnet.Net([5, 8, 3]).init(init) as net, \
            jacnet.Objective(jacobian=0.05, projections=2, noise="gaussian", input_std=0.1,
                             jacobian_std=0.1) as obj:
        reps = jacnet.train(net, obj, X, y, epochs=epochs, batch_size=16, optimizer="adam", lr=lr,
                            schedule=("step", 0.7, 20), valid=(Xv, yv), seed=4, checkpoint=path, checkpoint_every=1,
                            callback=(lambda r: r["epoch"] >= stop_after) if stop_after else None, **kw)
        return reps, net.params.copy()


def same_reports(a, b):
    assert len(a) == len(b)
    for r, s in zip(a, b):
        for key in r:
            if key != "seconds":
                assert r[key] == s[key], (key, r[key], s[key])


def test_stop_and_resume_equals_one_run(tmp_path):
    ref_reps, ref = run(None, 5)
    path = tmp_path / "run.jnc"
    a, _ = run(path, 5, stop_after=2)
    assert [r["epoch"] for r in a] == [1, 2]
    assert path.exists()
    b, params = run(path, 5, init=99)  # the checkpoint's parameters replace these
    assert [r["epoch"] for r in b] == [1, 2, 3, 4, 5]  # the whole run's (run.jnc.reports.json)
    np.testing.assert_array_equal(params, ref)
    same_reports(b, ref_reps)


def test_more_epochs_continue_a_finished_run(tmp_path):
    _, ref = run(None, 4)
    path = str(tmp_path / "run.jnc")
    assert len(run(path, 2)[0]) == 2
    b, params = run(path, 4)
    assert [r["epoch"] for r in b] == [1, 2, 3, 4]
    np.testing.assert_array_equal(params, ref)


def test_damaged_and_foreign_checkpoints(tmp_path):
    path = tmp_path / "run.jnc"
    run(path, 2)
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    path.write_bytes(bytes(bad))
    with pytest.raises(jacnet.JacnetError) as e:
        run(path, 4)
    assert e.value.status == _lib.ERR_FORMAT
    assert str(path) in e.value.message
    assert path.read_bytes() == bytes(bad)  # left as it was
    path.write_bytes(good[: len(good) - 100])
    with pytest.raises(jacnet.JacnetError) as e:
        run(path, 4)
    assert e.value.status == _lib.ERR_FORMAT
    path.write_bytes(good)
    with pytest.raises(jacnet.JacnetError) as e:
        run(path, 4, lr=0.02)  # another run's checkpoint
    assert e.value.status == _lib.ERR_INVALID and "optimizer lr" in e.value.message
    assert len(run(path, 4)[0]) == 4  # the good one still resumes


def test_bad_checkpoint_arguments(tmp_path):
    X, y = blobs(20, 2)
    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective() as obj:
        with pytest.raises(TypeError):
            jacnet.train(net, obj, X, y, epochs=1, checkpoint=123)
        with pytest.raises(ValueError):
            jacnet.train(net, obj, X, y, epochs=1, checkpoint=str(tmp_path / "c"), checkpoint_every=-1)
        with pytest.raises(jacnet.JacnetError) as e:
            jacnet.train(net, obj, X, y, epochs=1, checkpoint=str(tmp_path / "no" / "such" / "c"))
        assert e.value.status == _lib.ERR_IO


def test_report_terms():
    X, y = blobs(100, 3)
    with jacnet.Net([5, 6, 3]).init(1) as net, jacnet.Objective() as plain, \
            jacnet.Objective(jacobian=0.1) as jac:
        reps = jacnet.train(net, plain, X, y, epochs=2, batch_size=20)
        assert set(reps[0]) == {"epoch", "train_objective", "valid_error", "best_valid_error", "best_epoch",
                                "seconds", "lr", "train_loss", "train_penalty", "train_jacobian_sqnorm",
                                "train_error", "recoveries"}
        r = reps[0]
        assert r["train_jacobian_sqnorm"] is None and r["train_penalty"] == 0.0
        assert r["train_loss"] == r["train_objective"]
        assert 0.0 <= r["train_error"] <= 1.0 and r["recoveries"] == 0
        r = jacnet.train(net, jac, X, y, epochs=1, batch_size=20)[0]
        assert r["train_jacobian_sqnorm"] > 0.0
        assert r["train_penalty"] == pytest.approx(0.1 * r["train_jacobian_sqnorm"], rel=1e-9)
        assert r["train_loss"] + r["train_penalty"] == pytest.approx(r["train_objective"], rel=1e-12)


def test_recovery_from_divergence():
    """lr 1e300 overflows the first update: without recovery the run fails; with it
    the rate is scaled to 0.1 and the run learns."""
    X, y = blobs(200, 5)
    with jacnet.Net([5, 8, 3]).init(1) as net, jacnet.Objective() as obj:
        with pytest.raises(jacnet.JacnetError) as e:
            jacnet.train(net, obj, X, y, epochs=3, batch_size=20, lr=1e300, momentum=0.5)
        assert e.value.status == _lib.ERR_DIVERGED
        reps = jacnet.train(net, obj, X, y, epochs=8, batch_size=20, lr=1e300, momentum=0.5,
                            recovery=(3.0, 1e-301, 2))
        assert [r["recoveries"] for r in reps] == [1] + [0] * 7
        assert reps[0]["lr"] == pytest.approx(0.1)
        assert net.error_rate(X, y) < 0.1


def test_recovery_option_values():
    X, y = blobs(40, 6)
    with jacnet.Net([5, 4, 3]).init(1) as net, jacnet.Objective() as obj:
        for rec in (True, False, None, (2.0, 0.5, 1), {"factor": 4.0}, {"lr_scale": 0.1, "max_recoveries": 0}):
            assert len(jacnet.train(net, obj, X, y, epochs=1, recovery=rec)) == 1
        for rec in ("yes", (2.0, 0.5), {"bogus": 1}, (2.0, 0.5, -1)):
            with pytest.raises(ValueError):
                jacnet.train(net, obj, X, y, epochs=1, recovery=rec)
        with pytest.raises(jacnet.JacnetError) as e:
            jacnet.train(net, obj, X, y, epochs=1, recovery=(1.0, 0.5, 1))  # factor must exceed 1
        assert e.value.status == _lib.ERR_INVALID and "factor" in e.value.message


def test_optimizer_scale_lr():
    with jacnet.Optimizer.sgd(0.2, 0.9) as opt:
        assert opt.scale_lr(0.5).lr == pytest.approx(0.1)
        with pytest.raises(jacnet.JacnetError):
            opt.scale_lr(0.0)
