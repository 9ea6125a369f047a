"""The binding against every oracle case: F, J, ||J||^2, objective and gradient (relative 1e-4)."""
import numpy as np
import pytest

import jacnet
from conftest import load_oracle, oracle_dir, oracle_names, worst_rel

TOL = 1e-4
NAMES = oracle_names()


def test_oracle_cases_exist():
    assert NAMES, "no oracle cases in %s (set JACNET_ORACLE)" % oracle_dir()


@pytest.fixture(params=NAMES)
def case(request):
    c = load_oracle(request.param)
    D, K, n = c["sizes"][0], c["sizes"][-1], c["n"]
    net = jacnet.Net(c["sizes"], hidden=c["hidden"], output=c["output"])
    net.params = c["params"]  # float64 -> float32 through the setter
    c["net"] = net
    c["X"] = c["X"].reshape(n, D)
    c["Xj"] = c["Xj"].reshape(n, D)
    c["Y"] = c["Y"].reshape(n, K)
    yield c
    net.close()


def test_params_round_trip(case):
    np.testing.assert_array_equal(case["net"].params, case["params"].astype(np.float32))


def test_forward(case):
    F = case["net"].forward(case["X"])
    assert F.shape == (case["n"], case["sizes"][-1]) and F.dtype == np.float32
    assert worst_rel(F, case["F"]) < TOL


def test_predict_and_hidden(case):
    net, X, sizes = case["net"], case["X"], case["sizes"]
    F = case["F"].reshape(case["n"], sizes[-1])
    np.testing.assert_array_equal(net.predict(X), F.argmax(axis=1))
    # first hidden layer from the oracle's parameters, in double
    D, H = sizes[0], sizes[1]
    W1 = case["params"][:H * D].reshape(H, D)
    b1 = case["params"][H * D:H * D + H]
    act = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
           "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}[case["hidden"]]
    np.testing.assert_allclose(net.hidden_activations(X, 1), act(X.astype(np.float64) @ W1.T + b1),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        net.hidden_activations(X, len(sizes) - 1)  # the output layer is not hidden


def test_jacobian(case):
    n, D, K = case["n"], case["sizes"][0], case["sizes"][-1]
    J = case["net"].jacobian(case["X"])
    assert J.shape == (n, K, D) and J.dtype == np.float32
    assert worst_rel(J, case["J"]) < TOL


def test_jacobian_sqnorm(case):
    sq = case["net"].jacobian_sqnorm(case["X"])
    assert sq.shape == (case["n"],)
    rel = np.abs(sq - case["jacobian_sqnorm"]) / np.maximum(np.abs(case["jacobian_sqnorm"]), 1e-12)
    assert rel.max() < TOL
    # and consistent with the stored Jacobian
    J = case["net"].jacobian(case["X"]).astype(np.float64)
    np.testing.assert_allclose((J ** 2).sum(axis=(1, 2)), sq, rtol=1e-4)


@pytest.mark.parametrize("form", ["auto", "direct", "gram"])
def test_objective_and_grad(case, form):
    obj = jacnet.Objective(loss=case["loss"], l2=case["lambda_l2"], jacobian=case["lambda_jacobian"],
                           penalty_form=form)
    with obj:
        value, grad = case["net"].objective(obj, case["X"], case["Y"], Xj=case["Xj"])
    assert isinstance(value, float)
    assert abs(value - case["objective"]) / max(abs(case["objective"]), 1e-12) < TOL
    assert grad.shape == (case["params"].size,) and grad.dtype == np.float32
    assert worst_rel(grad, case["grad"]) < TOL
    assert np.any(grad != 0)


def test_objective_xj_defaults_to_x(case):
    with jacnet.Objective(loss=case["loss"], l2=case["lambda_l2"], jacobian=case["lambda_jacobian"]) as obj:
        a = case["net"].objective(obj, case["X"], case["Y"])
        b = case["net"].objective(obj, case["X"], case["Y"], Xj=case["X"])
    # Same math, possibly another summation order inside C: equal to float rounding.
    assert a[0] == pytest.approx(b[0], rel=1e-6)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-7)
