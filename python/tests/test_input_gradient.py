"""Net.input_gradient (C: jn_net_input_gradient): against the oracle's
float64 F and J by the chain rule, against central differences of the
loss (mean_loss, float32, Richardson), labels against their one-hot targets,
zero for zero first-layer weights, FGSM raising the loss, and the refusals."""
import numpy as np
import pytest

import jacnet
from conftest import load_oracle, oracle_names


def oracle_net(c):
    net = jacnet.Net(c["sizes"], c["hidden"], c["output"])
    net.params = c["params"].astype(np.float32)
    return net


@pytest.mark.parametrize("name", oracle_names())
def test_matches_oracle_chain_rule(name):
    c = load_oracle(name)
    D, K, n = c["sizes"][0], c["sizes"][-1], c["n"]
    X, Y = c["X"].reshape(n, D), c["Y"].reshape(n, K)
    Fo, J = c["F"].reshape(n, K), c["J"].reshape(n, K, D)
    dl = -Y / Fo if c["loss"] == "ce" else 2 * (Fo - Y)
    want = np.einsum("ik,ikj->ij", dl, J)
    with oracle_net(c) as net, jacnet.Objective(c["loss"]) as obj:
        got = net.input_gradient(X, Y, obj)
    assert got.shape == (n, D) and got.dtype == np.float32
    assert np.max(np.abs(got - want)) < 1e-4 * np.max(np.abs(want))


@pytest.mark.parametrize("loss,output", [("mse", "sigmoid"), ("ce", "softmax")])
def test_matches_differences_of_mean_loss(loss, output, rng):
    with jacnet.Net([5, 4, 6, 3], "tanh", output) as net, jacnet.Objective(loss) as obj:
        net.init(3)
        X = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
        y = np.array([0, 1, 2, 1])
        g = net.input_gradient(X, y, obj)
        fd = np.zeros_like(g, dtype=np.float64)
        for i in range(4):
            for j in range(5):
                d = []
                for h in (2.0 ** -7, 2.0 ** -6):
                    up, down = X[i:i + 1].copy(), X[i:i + 1].copy()
                    up[0, j] += h
                    down[0, j] -= h
                    d.append((net.mean_loss(obj, up, y[i:i + 1]) - net.mean_loss(obj, down, y[i:i + 1])) / (2 * h))
                fd[i, j] = (4 * d[0] - d[1]) / 3
        assert np.max(np.abs(g - fd)) < 1e-3 * np.max(np.abs(fd))


def test_labels_are_one_hot_targets_and_default_is_mse(small_net, rng):
    X = rng.uniform(0, 1, (5, 6)).astype(np.float32)
    y = np.array([0, 2, 1, 1, 0])
    with jacnet.Objective("mse", jacobian=0.3, l2=0.1) as penalized:
        a = small_net.input_gradient(X, y)
        b = small_net.input_gradient(X, np.eye(3, dtype=np.float32)[y])
        c = small_net.input_gradient(X, y, penalized)  # only the loss counts
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_one_output_takes_labels_0_1_as_targets(rng):
    with jacnet.Net([4, 3, 1], "tanh", "sigmoid") as net:
        net.init(2)
        X = rng.uniform(0, 1, (3, 4))
        a = net.input_gradient(X, np.array([0, 1, 1]))
        b = net.input_gradient(X, np.array([[0.0], [1.0], [1.0]]))
        np.testing.assert_array_equal(a, b)
        with pytest.raises(ValueError, match="label 2"):
            net.input_gradient(X, np.array([0, 1, 2]))


def test_zero_first_layer_gives_zero(rng):
    with jacnet.Net([6, 5, 4, 3], "tanh", "sigmoid") as net:
        net.init(5)
        p = net.params
        p[:5 * 6] = 0  # W_1 comes first
        p[5 * 6:] += 0.3  # and the rest is not zero
        net.params = p
        g = net.input_gradient(rng.uniform(0, 1, (4, 6)), np.array([0, 1, 2, 0]))
    assert not np.any(g)


def test_fgsm_step_raises_the_loss(small_net, rng):
    X = rng.uniform(0.2, 0.8, (50, 6)).astype(np.float32)
    y = np.arange(50) % 3
    with jacnet.Objective("mse") as obj:
        g = small_net.input_gradient(X, y)
        before = small_net.mean_loss(obj, X, y)
        after = small_net.mean_loss(obj, X + 0.05 * np.sign(g), y)
    assert after > before


def test_refusals(small_net):
    X = np.zeros((2, 6), np.float32)
    with pytest.raises(ValueError, match="label 3"):
        small_net.input_gradient(X, np.array([0, 3]))
    with pytest.raises(ValueError, match="X"):
        small_net.input_gradient(np.zeros((2, 5)), np.array([0, 1]))
    with pytest.raises(TypeError, match="Objective"):
        small_net.input_gradient(X, np.array([0, 1]), "ce")
    with jacnet.Objective("ce") as ce, pytest.raises(jacnet.JacnetError, match="softmax"):
        small_net.input_gradient(X, np.array([0, 1]), ce)
