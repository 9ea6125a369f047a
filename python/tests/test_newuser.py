"""What a new user trips on, each pinned down: networks start initialised
(seed recorded), presets need their lambda, one training recipe, float
targets, CSV binarize, the C/Python names of hidden-layer functions."""
import inspect
import os

import numpy as np
import pytest

import jacnet
from conftest import REPO


def test_net_is_initialised_with_a_recorded_seed():
    with jacnet.Net([6, 5, 3]) as a:
        assert isinstance(a.seed, int)
        p = a.params
        assert np.count_nonzero(p[:30]) == 30  # W1 all drawn
        # The recorded seed reproduces the parameters, through init and through the constructor.
        with jacnet.Net([6, 5, 3], seed=a.seed) as b, jacnet.Net([6, 5, 3]).init(a.seed) as c:
            np.testing.assert_array_equal(b.params, p)
            np.testing.assert_array_equal(c.params, p)
            assert b.seed == c.seed == a.seed
    # Drawn seeds differ between networks (32 random bits: equal 20 times in a row is ~2^-600).
    seeds = set()
    for _ in range(20):
        with jacnet.Net([2, 2]) as n:
            seeds.add(n.seed)
    assert len(seeds) > 1


def test_seed_follows_the_parameters():
    with jacnet.Net([4, 3, 2], seed=11) as net:
        with net.clone() as c:
            assert c.seed == 11
        net.init(12)
        assert net.seed == 12
        net.params = np.ones(net.param_count)
        assert net.seed is None  # no longer the parameters of a seed
    assert "seed=" in repr(jacnet.Net([2, 2], seed=3))


def test_trainer_refuses_zero_weights():
    X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(np.int32)
    with jacnet.Net([4, 3, 2]) as net, jacnet.Objective() as obj:
        net.params = np.zeros(net.param_count)
        with pytest.raises(jacnet.JacnetError, match="jn_net_init"):
            jacnet.train(net, obj, X, y, epochs=1)


def test_model_presets_need_their_lambda():
    for name in ("l2", "jacobian", "nj", "nj-both"):
        with pytest.raises(TypeError, match="needs lam"):
            jacnet.Objective.model(name)
    for name in ("mlp", "noise"):
        with pytest.raises(ValueError, match="no lambda"):
            jacnet.Objective.model(name, 0.01)
        jacnet.Objective.model(name).close()
    with jacnet.Objective.model("nj", 0.01, 0.1) as obj:
        assert (obj.jacobian, obj.jacobian_std, obj.input_std, obj.noise) == (0.01, 0.1, 0.0, "gaussian")
    with jacnet.Objective.model("l2", 0.001) as obj:
        assert (obj.l2, obj.jacobian) == (0.001, 0.0)


def test_one_training_recipe():
    """train() and Optimizer.sgd() defaults, make demo's program, the own-loop
    example and docs/METHOD.md all use the recipe the library defines once
    (jn_default_value)."""
    d = jacnet._lib.DEFAULTS
    recipe = (jacnet.RECIPE_BATCH_SIZE, jacnet.RECIPE_LR, jacnet.RECIPE_MOMENTUM)
    assert recipe == (int(d["batch_size"]), d["lr"], d["momentum"])
    params = inspect.signature(jacnet.train).parameters
    assert (params["batch_size"].default, params["lr"].default, params["momentum"].default) == recipe
    assert (params["epochs"].default, params["patience"].default, params["seed"].default) == (
        int(d["epochs"]), int(d["patience"]), int(d["seed"]))
    sgd = inspect.signature(jacnet.Optimizer.sgd).parameters
    assert (sgd["lr"].default, sgd["momentum"].default) == recipe[1:]
    demo = os.path.join(REPO, "examples", "train_mnist.c")
    if not os.path.exists(demo):
        pytest.skip("not in the source tree")
    with open(demo) as f:
        src = f.read()
    for name in ("LR", "MOMENTUM", "BATCH"):
        assert "jn_default_value(JN_DEFAULT_%s)" % name in src
    with open(os.path.join(REPO, "examples", "own_loop.c")) as f:
        src = f.read()
    assert "lr = %g, momentum = %g" % recipe[1:] in src and "batch = %d" % recipe[0] in src
    with open(os.path.join(REPO, "docs", "METHOD.md")) as f:
        method = f.read()
    section = method[method.index("## The training recipe"):]
    for text in ("batch %d" % recipe[0], "lr %g" % recipe[1], "momentum %g" % recipe[2],
                 "%d epochs" % d["epochs"], "patience %d" % d["patience"]):
        assert text in section, text


def _regression(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
    Y = np.stack([0.5 + 0.4 * np.sin(X[:, 0] + X[:, 1]), 0.5 + 0.4 * X[:, 2] * X[:, 3]], axis=1).astype(np.float32)
    return X, Y


def test_train_on_float_targets():
    X, Y = _regression(400, 1)
    Xv, Yv = _regression(200, 2)
    with jacnet.Net([4, 12, 2], "tanh", "sigmoid", seed=3) as net, jacnet.Objective() as obj:
        before = float(np.mean(np.sum((net.forward(Xv) - Yv) ** 2, axis=1)))
        reps = jacnet.train(net, obj, X, Y, epochs=25, batch_size=16, lr=0.5, momentum=0.5, valid=(Xv, Yv))
        after = net.mean_loss(obj, Xv, Yv)
        # mean_loss is the mean over rows of sum_k (F - y)^2, computed here in numpy too
        F = net.forward(Xv).astype(np.float64)
        assert after == pytest.approx(float(np.mean(np.sum((F - Yv) ** 2, axis=1))), rel=1e-5)
    assert after < 0.3 * before
    # valid_error is the validation mean loss; the best epoch's parameters are restored
    assert all(0.0 < r["valid_error"] < 1.0 for r in reps)
    assert after == pytest.approx(min(r["valid_error"] for r in reps), rel=1e-6)


def test_float_targets_shape_and_kind_checks():
    X, Y = _regression(10, 3)
    with jacnet.Net([4, 3, 2], seed=1) as net, jacnet.Objective() as obj:
        with pytest.raises(ValueError, match=r"expected \(10, 2\)"):
            jacnet.train(net, obj, X, Y[:, :1], epochs=1)
        with pytest.raises(TypeError, match="float targets 2-D"):
            jacnet.train(net, obj, X, Y[:, 0], epochs=1)  # 1-D floats: neither labels nor targets
        with pytest.raises(TypeError, match="mean_loss"):
            net.error_rate(X, Y)
        with pytest.raises(jacnet.JacnetError, match="NaN"):
            Y[0, 0] = np.nan
            net.mean_loss(obj, X, Y)
        # labels give the loss against one-hot rows
        y = np.array([0, 1] * 5, np.int32)
        F = net.forward(X).astype(np.float64)
        want = float(np.mean(np.sum((F - np.eye(2)[y]) ** 2, axis=1)))
        assert net.mean_loss(obj, X, y) == pytest.approx(want, rel=1e-5)


def test_autoencoder_targets_are_inputs():
    rng = np.random.default_rng(4)
    X = rng.uniform(0.1, 0.9, (200, 6)).astype(np.float32)
    with jacnet.Net([6, 3, 6], "sigmoid", "sigmoid", seed=2) as net, jacnet.Objective(jacobian=0.05) as obj:
        before = net.mean_loss(obj, X, X)
        jacnet.train(net, obj, X, X, epochs=20, batch_size=10, lr=0.5)
        assert net.mean_loss(obj, X, X) < 0.7 * before


def test_load_csv_binarize(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("label,a,b\n1,0.2,0.7\n0,3,-1\n")
    X, y = jacnet.load_csv(p)
    np.testing.assert_array_equal(X, np.array([[0.2, 0.7], [3, -1]], np.float32))
    Xb, yb = jacnet.load_csv(p, binarize=True)
    np.testing.assert_array_equal(Xb, np.array([[0, 1], [1, 0]], np.float32))
    np.testing.assert_array_equal(y, yb)


def test_hidden_names():
    with jacnet.Net([3, 4, 2], "relu", "softmax", seed=1) as net:
        assert net.hidden_act == net.hidden == "relu"
        assert net.output_act == net.output == "softmax"
        H = net.hidden_activations(np.ones((2, 3)), 1)
        assert H.shape == (2, 4) and np.all(H >= 0)
