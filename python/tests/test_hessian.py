"""Net.hessian_sqnorm against a float64 numpy reference (forward-over-forward
second derivatives through the layers), and its argument checks."""
import numpy as np
import pytest

import jacnet


def act3(name, z):
    """act, act', act'' elementwise (not softmax)."""
    if name == "tanh":
        t = np.tanh(z)
        return t, 1 - t * t, -2 * t * (1 - t * t)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s, s * (1 - s), s * (1 - s) * (1 - 2 * s)
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(float), np.zeros_like(z)
    return z, np.ones_like(z), np.zeros_like(z)


def reference_hessian(net, x):
    """H[k] = d^2 F_k / dx^2 at x (K x D x D), in float64."""
    sizes, p = net.sizes, net.params.astype(np.float64)
    D = sizes[0]
    a, At, As = x.astype(np.float64), np.eye(D), np.zeros((D, D, D))
    off = 0
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        W = p[off:off + n_out * n_in].reshape(n_out, n_in)
        b = p[off + n_out * n_in:off + n_out * n_in + n_out]
        off += n_out * n_in + n_out
        z, Zt, Zs = W @ a + b, W @ At, np.einsum("hj,juv->huv", W, As)
        act = net.output if l == len(sizes) - 1 else net.hidden
        if act == "softmax":
            e = np.exp(z - z.max())
            a = e / e.sum()
            P = np.diag(a) - np.outer(a, a)                      # dp_k/dz_m
            M = (np.einsum("km,kq->kmq", P, P) / a[:, None, None]  # d2p_k/dz_m dz_q
                 - a[:, None, None] * P[None, :, :])
            At = P @ Zt
            As = np.einsum("km,muv->kuv", P, Zs) + np.einsum("kmq,mu,qv->kuv", M, Zt, Zt)
        else:
            a, d1, d2 = act3(act, z)
            At = d1[:, None] * Zt
            As = d2[:, None, None] * np.einsum("hu,hv->huv", Zt, Zt) + d1[:, None, None] * Zs
    return As


CASES = [((5, 3), "tanh", "sigmoid"), ((5, 3), "tanh", "softmax"), ((5, 6, 3), "tanh", "sigmoid"),
         ((5, 6, 3), "sigmoid", "softmax"), ((6, 5, 4, 3), "tanh", "linear"), ((6, 5, 4, 3), "relu", "softmax"),
         ((4, 5, 3, 4, 3), "tanh", "tanh"), ((7, 8, 8, 5), "sigmoid", "sigmoid")]


@pytest.mark.parametrize("sizes,hidden,output", CASES)
def test_hessian_sqnorm_matches_reference(sizes, hidden, output):
    rng = np.random.default_rng(len(sizes) * 10 + len(hidden) + len(output))
    with jacnet.Net(sizes, hidden, output).init(3) as net:
        p = net.params
        p += rng.uniform(-0.3, 0.3, p.shape).astype(np.float32)  # nonzero biases
        net.params = p
        X = rng.uniform(-1, 1, (6, sizes[0])).astype(np.float32)
        got = net.hessian_sqnorm(X)
        assert got.dtype == np.float32 and got.shape == (6,)
        want = np.array([np.sum(reference_hessian(net, x) ** 2) for x in X])
        assert want.max() > 1e-3
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())


@pytest.mark.parametrize("hidden,output", [("linear", "linear"), ("relu", "linear"), ("relu", "relu")])
def test_piecewise_linear_nets_give_zero(hidden, output):
    with jacnet.Net((4, 7, 6, 3), hidden, output).init(1) as net:
        X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
        assert np.all(net.hessian_sqnorm(X) == 0)
        assert net.jacobian_sqnorm(X).sum() > 0


def test_one_row_and_bad_input():
    with jacnet.Net((3, 4, 2)).init(1) as net:
        x = np.array([0.1, -0.2, 0.3], np.float32)
        assert net.hessian_sqnorm(x).shape == (1,)
        with pytest.raises(ValueError):
            net.hessian_sqnorm(np.zeros((2, 4), np.float32))
        with pytest.raises(jacnet.JacnetError, match="NaN or Inf"):
            net.hessian_sqnorm(np.array([[0.0, np.nan, 1.0]], np.float32))
