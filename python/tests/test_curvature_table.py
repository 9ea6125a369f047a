"""scripts/curvature_table.py: its means equal the binding's per-row values; on
USPS (JACNET_DATA set), a table for two small models trained here."""
import json
import os
import sys

import numpy as np
import pytest

import jacnet

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))
import curvature_table  # noqa: E402


def test_curvature_means_match_direct_calls():
    rng = np.random.default_rng(4)
    with jacnet.Net([12, 9, 4], "tanh", "softmax").init(2) as net:
        X = rng.uniform(0, 1, (600, 12)).astype(np.float32)   # past the script's chunk of 256
        y = rng.integers(0, 4, 600).astype(np.int32)
        r = curvature_table.curvature(net, X, y)
        j2, h2 = net.jacobian_sqnorm(X).astype(np.float64), net.hessian_sqnorm(X).astype(np.float64)
        assert r["n"] == 600
        assert r["jacobian"]["mean"] == pytest.approx(j2.mean(), rel=1e-12)
        assert r["hessian"]["mean"] == pytest.approx(h2.mean(), rel=1e-12)
        assert r["hessian"]["median"] == pytest.approx(np.median(h2), rel=1e-12)
        assert r["hessian"]["se"] == pytest.approx(h2.std(ddof=1) / np.sqrt(600), rel=1e-9)
        assert r["error"] == pytest.approx(np.mean(net.predict(X) != y))
        assert r["hessian"]["mean"] > 0
        with pytest.raises(ValueError, match="inputs"):
            curvature_table.curvature(net, X[:, :10], y)


def test_table_on_usps(tmp_path, capsys):
    d = os.environ.get("JACNET_DATA")
    if not d:
        pytest.skip("JACNET_DATA is not set; the USPS curvature table is skipped")
    if not os.path.isdir(os.path.join(d, "usps")):
        pytest.skip("no USPS in %s" % d)
    X, y = jacnet.usps_splits(d)["train"]
    paths = {}
    for name, lam in (("mlp", None), ("jacobian", 1.0)):
        with jacnet.Net([256, 16, 10], "tanh", "sigmoid").init(1) as net, jacnet.Objective.model(name, lam) as obj:
            jacnet.train(net, obj, X[:1000], y[:1000], epochs=2, lr=0.1, batch_size=20)
            paths[name] = str(tmp_path / (name + ".jn"))
            net.save(paths[name])
    out = tmp_path / "rows.json"
    assert curvature_table.main(["--data", d, "--limit", "300", "--json", str(out),
                                 "MLP=" + paths["mlp"], paths["jacobian"]]) == 0
    table = capsys.readouterr().out
    assert "| MLP | 256-16-10 tanh/sigmoid |" in table and "| jacobian.jn |" in table
    rows = json.load(open(out))["rows"]
    Xt = jacnet.usps_splits(d)["test"][0][:300]
    for r in rows:
        with jacnet.Net.load(r["path"]) as net:
            assert r["jacobian"]["mean"] == pytest.approx(net.jacobian_sqnorm(Xt).astype(np.float64).mean())
            assert r["hessian"]["mean"] == pytest.approx(net.hessian_sqnorm(Xt).astype(np.float64).mean())
    # The Jacobian penalty (lambda = 1) flattens the model where the plain one is free.
    assert rows[1]["jacobian"]["mean"] < 0.5 * rows[0]["jacobian"]["mean"]
