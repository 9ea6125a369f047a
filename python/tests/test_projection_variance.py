"""The k-projection penalty estimate (Objective(projections=k)) against its
statistics (docs/METHOD.md, "Random projections"): over many objective
seeds, its mean is the exact penalty within a few standard errors and its
sample variance is docs/METHOD.md's formula, aggregated over the batch as
the library draws it (each example its own k unit vectors, the batch sum
divided by n):

    Var = (1/n^2) sum_i 2 (K tr(A_i^2) - tr(A_i)^2) / (k (K + 2)),  A_i = J_i J_i^T.

The seeds are fixed, so the test is deterministic; its tolerances are
z-scores (|z| < 4.5). It checks its own power too: the variance of
unnormalised Gaussian vectors (2 tr(A^2) / k per example) and that of one
vector shared by the whole batch must both lie far outside the tolerance,
so an implementation that drew either would fail here."""
import math

import numpy as np
import pytest

import jacnet

SEEDS = 3000
Z = 4.5


def _moments(x):
    x = np.asarray(x, dtype=np.float64)
    N = x.size
    m, var = x.mean(), x.var(ddof=1)
    m4 = np.mean((x - m) ** 4)
    se_var = math.sqrt(max(m4 - (N - 3) / (N - 1) * var ** 2, 0.0) / N)
    return m, math.sqrt(var / N), var, se_var


@pytest.fixture
def setting():
    rs = np.random.default_rng(25)
    n, K = 8, 4
    with jacnet.Net([7, 6, K], "tanh", "sigmoid", seed=11) as net:
        # Larger weights than Glorot's so the output Jacobians' singular
        # values differ a lot (the variance is zero when they are equal).
        net.params = net.params * 3.0
        X = rs.uniform(-1, 1, (n, 7)).astype(np.float32)
        Y = np.eye(K, dtype=np.float32)[rs.integers(0, K, n)]
        yield net, X, Y


@pytest.mark.parametrize("k", [1, 2])
def test_projection_mean_and_variance(setting, k):
    net, X, Y = setting
    n, K = X.shape[0], net.n_outputs
    with jacnet.Objective(jacobian=0.0) as o0, jacnet.Objective(jacobian=1.0) as oe:
        loss, gloss = net.objective(o0, X, Y)
        exact, gexact = net.objective(oe, X, Y)
        exact -= loss
        gexact = gexact.astype(np.float64) - gloss
    J = net.jacobian(X).astype(np.float64)
    assert exact == pytest.approx(np.mean(np.sum(J ** 2, axis=(1, 2))), rel=1e-4)
    A = np.einsum("ikd,ild->ikl", J, J)
    tr = np.trace(A, axis1=1, axis2=2)
    tr2 = np.einsum("ikl,ilk->i", A, A)
    formula = np.sum(2.0 * (K * tr2 - tr ** 2) / (k * (K + 2))) / n ** 2
    gaussian = np.sum(2.0 * tr2 / k) / n ** 2          # v ~ N(0, I/K), not normalised
    vals = np.empty(SEEDS)
    grads = np.empty((SEEDS, net.param_count))
    with jacnet.Objective(jacobian=1.0, projections=k) as base:
        for s in range(SEEDS):
            with base.clone(seed=s + 1) as ok:
                v, g = net.objective(ok, X, Y)
            vals[s] = v - loss
            grads[s] = g - gloss
    m, se_m, var, se_var = _moments(vals)
    assert abs(m - exact) < Z * se_m, "mean %g, exact %g, se %g" % (m, exact, se_m)
    assert abs(var - formula) < Z * se_var, "sample variance %g, formula %g, se %g" % (var, formula, se_var)
    # The gradient's estimate is unbiased too: every coordinate's mean within
    # a few standard errors of the exact gradient's (Z + 0.5 for the many coordinates).
    gm, gse = grads.mean(axis=0), grads.std(axis=0, ddof=1) / math.sqrt(SEEDS)
    moving = gse > 1e-6 * np.max(np.abs(gexact))
    assert np.all(np.abs(gm - gexact)[~moving] < 1e-5 * np.max(np.abs(gexact)))
    zg = np.abs(gm - gexact)[moving] / gse[moving]
    assert zg.max() < Z + 0.5, "gradient coordinate %d off by %.1f standard errors" % (np.argmax(zg), zg.max())
    # The test's power: the alternatives are far outside the tolerance.
    Abar = A.mean(axis=0)  # one vector set shared by the batch: K v^T Abar v
    shared = 2.0 * (K * np.trace(Abar @ Abar) - np.trace(Abar) ** 2) / (k * (K + 2))
    assert abs(gaussian - formula) > 2 * Z * se_var
    assert abs(shared - formula) > 2 * Z * se_var
