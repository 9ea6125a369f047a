"""Objective(precision=...): the request, the fallback, and the forced bfloat16
penalty against float32 (tolerances as tests/test_precision.c: the penalty's
value within 1.2e-2 and its gradient within 1.7e-2 of their float32 size)."""
import numpy as np
import pytest

import jacnet


def test_default_and_bad_value():
    with jacnet.Objective(jacobian=0.1) as obj:
        assert obj.precision == "fp32" and obj.precision_used == "fp32"
    with pytest.raises(ValueError):
        jacnet.Objective(precision="fp16")


def test_force_never_changes_fp32(monkeypatch):
    monkeypatch.setenv("JACNET_FORCE_BF16", "1")
    with jacnet.Objective(jacobian=0.1) as obj:
        assert obj.precision_used == "fp32"


def test_clone_keeps_precision(monkeypatch):
    monkeypatch.setenv("JACNET_FORCE_BF16", "1")
    with jacnet.Objective(jacobian=0.1, precision="bf16") as obj, obj.clone(l2=0.01) as copy:
        assert copy.precision == "bf16"
        assert copy.precision_used == obj.precision_used
        assert "precision='bf16'" in repr(copy)


def _objectives(net, X, Xj, Y, **kw):
    out = []
    for lam, prec in ((0.3, "fp32"), (0.3, "bf16"), (0.0, "fp32")):
        with jacnet.Objective(jacobian=lam, precision=prec, **kw) as obj:
            out.append(net.objective(obj, X, Y, Xj=Xj))
    return out


def test_fallback_is_fp32(monkeypatch):
    monkeypatch.setenv("JACNET_FORCE_BF16", "0")  # never bfloat16, whatever the CPU
    with jacnet.Objective(jacobian=0.3, precision="bf16") as obj:
        assert obj.precision_used == "fp32"
    rng = np.random.default_rng(0)
    X, Xj = rng.random((12, 20), dtype=np.float32), rng.random((12, 20), dtype=np.float32)
    Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 12)]
    with jacnet.Net([20, 16, 4]).init(1) as net:
        (v32, g32), (vb, gb), _ = _objectives(net, X, Xj, Y)
    assert v32 == vb
    np.testing.assert_array_equal(g32, gb)


def test_forced_bf16_close_to_fp32(monkeypatch):
    monkeypatch.setenv("JACNET_FORCE_BF16", "1")
    with jacnet.Objective(jacobian=0.3, precision="bf16") as obj:
        if obj.precision_used != "bf16":
            pytest.skip("no oneDNN bfloat16 products in this build or on this CPU")
    rng = np.random.default_rng(1)
    X, Xj = rng.random((40, 64), dtype=np.float32), rng.random((40, 64), dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 40)]
    with jacnet.Net([64, 96, 10]).init(2) as net:
        (v32, g32), (vb, gb), (v0, g0) = _objectives(net, X, Xj, Y)
    pen, gpen = abs(v32 - v0), np.abs(g32.astype(np.float64) - g0).max()
    assert 0 < abs(vb - v32) < 1.2e-2 * pen          # it ran, and is close
    assert np.abs(gb.astype(np.float64) - g32).max() < 1.7e-2 * gpen


def _bf16_available(monkeypatch):
    monkeypatch.setenv("JACNET_FORCE_BF16", "1")
    with jacnet.Objective(jacobian=0.3, precision="bf16") as obj:
        available = obj.precision_used == "bf16"
    monkeypatch.delenv("JACNET_FORCE_BF16")
    return available


@pytest.mark.parametrize("precision", ["auto", "bf16"])
@pytest.mark.parametrize("ratio", [2.0, 0.5])
def test_measured_choice(monkeypatch, precision, ratio):
    # Unforced, the library times the penalty both ways once per shape and
    # takes bfloat16 only where it was faster; the fake ratio replaces the
    # timings' verdict so both branches run on any machine. Each case has a
    # shape of its own: answers are kept per shape for the process.
    available = _bf16_available(monkeypatch)
    monkeypatch.setenv("JACNET_FAKE_BF16_RATIO", str(ratio))
    width = 16 + (ratio > 1) + 2 * (precision == "auto")
    rng = np.random.default_rng(3)
    X, Y = rng.random((12, 20), dtype=np.float32), np.eye(4, dtype=np.float32)[rng.integers(0, 4, 12)]
    with jacnet.Net([20, width, 4]).init(1) as net, jacnet.Objective(jacobian=0.3, precision=precision) as obj, \
            jacnet.Objective(jacobian=0.3) as fp32:
        assert obj.precision_used == "fp32" and obj.precision_ratio == 0.0  # nothing measured yet
        v, g = net.objective(obj, X, Y)
        v32, g32 = net.objective(fp32, X, Y)
        if not available:  # falls back, unmeasured
            assert obj.precision_used == "fp32" and obj.precision_ratio == 0.0
            assert v == v32
            return
        assert obj.precision_ratio == ratio
        assert obj.precision_used == ("bf16" if ratio > 1 else "fp32")
        if ratio > 1:
            assert v != v32 or not np.array_equal(g, g32)  # bfloat16 ran
        else:
            assert v == v32
            np.testing.assert_array_equal(g, g32)


def test_cli_record_says_bf16_while_the_run_is_going(tmp_path, monkeypatch):
    """A record written mid-run (after every epoch) names the precision that
    ran, not a placeholder: a run stopped hard keeps the truth."""
    import json
    import os
    import signal
    import subprocess
    import time
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cli = os.environ.get("JACNET_CLI") or os.path.join(repo, "build", "bin", "jacnet")
    if not os.path.exists(cli):
        pytest.skip("jacnet not built (make)")
    want = "bf16" if _bf16_available(monkeypatch) else "fp32"  # no oneDNN bfloat16: the run fell back
    train, rec = tmp_path / "t.csv", tmp_path / "r.json"
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(400, 20))
    y = (x[:, 0] > 0.5).astype(int)
    with open(train, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.4f" % v for v in xi)))
    env = dict(os.environ, JACNET_FORCE_BF16="1")
    p = subprocess.Popen([cli, "train", "--train", str(train), "--model", "jacobian", "--lambda", "0.1",
                          "--hidden", "30", "--epochs", "100000", "--patience", "0", "--precision", "bf16",
                          "--threads", "1", "--quiet", "--no-test", "--json", str(rec)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if rec.exists() and json.load(open(rec)).get("epochs"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no record after the first epoch")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    r = json.load(open(rec))
    assert r["status"] == "running"
    assert r["precision_used"] == want
