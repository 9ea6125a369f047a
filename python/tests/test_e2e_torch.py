"""bench/e2e_torch.py, the PyTorch side of `make bench-e2e`, trains what
libjacnet trains: with the same weights and inputs its objective, gradient,
SGD step and error rate equal libjacnet's, and its initial weights follow
jn_net_init's law. Skipped when torch is not importable."""
import os
import sys

import numpy as np
import pytest

import jacnet
from conftest import REPO, worst_rel

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(REPO, "bench"))
import e2e_torch  # noqa: E402

SIZES = [256, 1000, 10]  # the e2e run's network
LAM, STD = 0.3, 0.1


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """A libjacnet network (saved and loaded back, as a model file carries
    it) and a PyTorch one holding the same parameters."""
    torch.set_num_threads(1)
    path = str(tmp_path_factory.mktemp("e2e") / "net.jnm")
    jacnet.Net(SIZES, "tanh", "sigmoid", seed=5).save(path)
    jn = jacnet.Net.load(path)
    tn = e2e_torch.make_net(SIZES)
    e2e_torch.set_flat_params(tn, jn.params)
    return jn, tn


def batch(seed, n=20):
    """USPS-like inputs in [0, 1], their noisy copies and one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, SIZES[0])).astype(np.float32)
    Xj = (X + STD * rng.standard_normal(X.shape)).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], n)]
    return X, Xj, Y


def torch_objective(tn, X, Y, Xj):
    for p in tn.parameters():
        p.grad = None
    value, loss, sqnorm = e2e_torch.objective(tn, *map(torch.from_numpy, (X, Y, Xj)), LAM)
    value.backward()
    return value.item(), loss.item(), sqnorm.item(), e2e_torch.flat_grad(tn).numpy()


@pytest.mark.parametrize("seed,n", [(1, 20), (2, 11), (3, 1)])
def test_objective_and_gradient_match_libjacnet(nets, seed, n):
    jn, tn = nets
    X, Xj, Y = batch(seed, n)
    obj = jacnet.Objective.model("nj", LAM, STD)
    want, want_grad = jn.objective(obj, X, Y, Xj)
    got, loss, sqnorm, got_grad = torch_objective(tn, X, Y, Xj)
    assert abs(got - want) <= 1e-5 * abs(want), (got, want)
    assert worst_rel(got_grad, want_grad) < 1e-4
    # Both parts matter at these weights, so a wrong lambda or a missing
    # part would show above; the penalty is at Xj, the loss at X: with the
    # roles mixed up the value moves far beyond the tolerance.
    assert loss > 0.1 * want and LAM * sqnorm > 0.01 * want
    mixed, _, _, _ = torch_objective(tn, Xj, Y, X)
    assert abs(mixed - want) > 1e-3 * abs(want)


def test_sgd_steps_match_libjacnet(nets):
    """Two train_step calls (the loop's own) move the parameters as
    libjacnet's objective + plain SGD (lr 0.1, no momentum) does: the
    second step also catches gradients left over from the first."""
    start = nets[0].params
    jn, tn = nets[0].clone(), e2e_torch.make_net(SIZES)
    e2e_torch.set_flat_params(tn, start)
    opt = torch.optim.SGD(tn.parameters(), lr=0.1)
    obj, sgd = jacnet.Objective.model("nj", LAM, STD), jacnet.Optimizer.sgd(0.1, 0.0)
    for seed in (4, 5):
        X, Xj, Y = batch(seed)
        e2e_torch.train_step(tn, opt, *map(torch.from_numpy, (X, Y, Xj)), LAM)
        sgd.step(jn, jn.objective(obj, X, Y, Xj)[1])
    want = jn.params - start
    assert np.max(np.abs(want)) > 1e-4  # the steps did something
    assert worst_rel(e2e_torch.flat_params(tn).numpy() - start, want) < 1e-3


def test_error_rate_matches_libjacnet(nets):
    """Labels are libjacnet's predictions on the first half and wrong on the
    second: PyTorch's error rate is exactly 1/2 only if it predicts the same
    class on every row."""
    jn, tn = nets
    X = np.random.default_rng(9).uniform(0, 1, size=(300, SIZES[0])).astype(np.float32)
    y = jn.predict(X)
    y[150:] = (y[150:] + 1) % SIZES[-1]
    assert jn.error_rate(X, y) == 0.5
    assert e2e_torch.error_rate(tn, torch.from_numpy(X), torch.from_numpy(y).long()) == 0.5


def test_init_follows_jn_net_init():
    """Per layer: the same bound a = sqrt(6 / (fan_in + fan_out)), the
    uniform law's standard deviation a / sqrt(3) within 2% (the hidden
    layer's 256000 weights give about 0.3% noise, the output layer's 10000
    about 1%), zero biases; libjacnet's own draws pass the same checks."""
    torch.manual_seed(3)
    tn = e2e_torch.make_net(SIZES)
    e2e_torch.init_like_jacnet(tn)
    flat_t = e2e_torch.flat_params(tn).numpy()
    flat_j = jacnet.Net(SIZES, "tanh", "sigmoid", seed=3).params
    at = 0
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        a = np.sqrt(6.0 / (fan_in + fan_out))
        nw = fan_in * fan_out
        for flat in (flat_t, flat_j):
            W, b = flat[at:at + nw], flat[at + nw:at + nw + fan_out]
            assert np.max(np.abs(W)) <= a * (1 + 1e-6)
            assert np.max(np.abs(W)) > 0.99 * a
            assert abs(W.std() / (a / np.sqrt(3)) - 1) < 0.02
            assert abs(W.mean()) < 0.05 * a
            assert not b.any()
        at += nw + fan_out
    assert at == flat_t.size == flat_j.size


@pytest.mark.skipif(not os.environ.get("JACNET_DATA"), reason="JACNET_DATA unset")
def test_usps_split():
    data = e2e_torch.load_usps(None)
    assert {k: v[0].shape for k, v in data.items()} == {"train": (5291, 256), "valid": (2000, 256),
                                                         "test": (2007, 256)}
    for X, y in data.values():
        assert X.dtype == torch.float32 and float(X.min()) >= 0 and float(X.max()) <= 1
        assert sorted(set(y.tolist())) == list(range(10))
