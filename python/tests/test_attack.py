"""`jacnet eval --attack fgsm|pgd --eps E[,E..]`: adversarial error and loss
in the record and on stdout. At eps 0 both attacks give the clean error and
loss; FGSM is exactly x + eps sign(grad) clipped to the data's range (redone
here with Net.input_gradient); the attacks raise the loss; PGD with more
steps of the same size never lowers the error; PGD is at least as strong as
FGSM on a model trained on USPS; the random start is seeded; bad options
exit 2 with one line. JACNET_CLI names the binary (make check sets it)."""
import json
import os
import subprocess

import numpy as np
import pytest

import jacnet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")


def run(*args, timeout=300):
    env = dict(os.environ, JACNET_THREADS="1")
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def overlapping(n, seed):
    """Three classes in 16 dimensions whose clusters overlap (a few % error),
    values in [0.05, 0.95]: the data's range is not [0, 1]."""
    centers = np.random.default_rng(777).uniform(0.35, 0.65, size=(3, 16))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.clip(centers[y] + rng.normal(0, 0.12, size=(n, 16)), 0.05, 0.95)
    return x.astype(np.float32), y


def write_csv(path, x, y):
    with open(path, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.6f" % v for v in xi)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("attack")
    write_csv(d / "train.csv", *overlapping(900, 0))
    write_csv(d / "test.csv", *overlapping(300, 1))
    r = run("train", "--train", d / "train.csv", "--valid-fraction", 0.2, "--model", "mlp", "--hidden", 20,
            "--epochs", 20, "--lr", 0.1, "--save", d / "m.jn", "--quiet")
    assert r.returncode == 0, r.stderr
    return d


def attack(d, *args):
    rec = d / "a.json"
    r = run("eval", d / "m.jn", "--test", d / "test.csv", "--json", rec, *args)
    assert r.returncode == 0, r.stderr
    return json.load(open(rec)), r.stdout


def test_eps_zero_is_clean_and_fgsm_is_what_it_says(trained):
    net = jacnet.Net.load(str(trained / "m.jn"))
    data = np.loadtxt(trained / "test.csv", delimiter=",", dtype=np.float32)
    X, y = data[:, 1:], data[:, 0].astype(np.int32)
    clean_error = net.error_rate(X, y)
    with jacnet.Objective("mse") as mse:
        clean_loss = net.mean_loss(mse, X, y)
        assert clean_error > 0  # the check below means something
        for kind in ("fgsm", "pgd"):
            rec, out = attack(trained, "--attack", kind, "--eps", "0,0.05")
            a = rec["attack"]
            assert rec["dataset"] == str(trained / "test.csv") and rec["split"] == "file"
            assert a["kind"] == kind and a["loss"] == "mse"
            assert a["clip_min"] == pytest.approx(X.min()) and a["clip_max"] == pytest.approx(X.max())
            assert [p["eps"] for p in a["results"]] == [0, 0.05]
            # Records carry 10 digits: an error is a count over 300 examples.
            assert a["results"][0]["error"] == rec["results"][0]["error"] == pytest.approx(clean_error, abs=1e-9)
            assert a["results"][0]["loss"] == pytest.approx(clean_loss, rel=1e-6)
            assert "%s eps 0.05   error %.2f%%" % (kind, 100 * a["results"][1]["error"]) in out
        # FGSM redone with the library's input gradient, clipped to the data's range.
        g = net.input_gradient(X, y)
        Xa = np.clip(X + np.float32(0.05) * np.sign(g), X.min(), X.max())
        fgsm, _ = attack(trained, "--attack", "fgsm", "--eps", "0.05")
        assert fgsm["attack"]["results"][0]["error"] == pytest.approx(net.error_rate(Xa, y), abs=1e-9)
        assert net.error_rate(Xa, y) > clean_error
        assert fgsm["attack"]["results"][0]["loss"] == pytest.approx(net.mean_loss(mse, Xa, y), rel=1e-6)


def test_attacks_raise_the_loss_and_the_error(trained):
    for kind in ("fgsm", "pgd"):
        rec, _ = attack(trained, "--attack", kind, "--eps", "0,0.02,0.05,0.1")
        res = rec["attack"]["results"]
        losses = [p["loss"] for p in res]
        assert losses == sorted(losses) and losses[1] > losses[0], losses
        assert res[3]["error"] > res[0]["error"]


def test_pgd_more_steps_of_one_size_never_lower_the_error(trained):
    # Same seed, same step: the longer run's iterates extend the shorter's,
    # and an example counts once any iterate fools the network.
    errs = []
    for steps in (1, 3, 10):
        rec, _ = attack(trained, "--attack", "pgd", "--eps", "0.05,0.1", "--steps", steps, "--step-size", 0.01)
        assert rec["attack"]["steps"] == steps
        assert [p["step_size"] for p in rec["attack"]["results"]] == [0.01, 0.01]
        errs.append([p["error"] for p in rec["attack"]["results"]])
    assert errs[0][0] <= errs[1][0] <= errs[2][0] and errs[0][1] <= errs[1][1] <= errs[2][1], errs


def test_pgd_start_is_seeded(trained):
    a, _ = attack(trained, "--attack", "pgd", "--eps", "0.1", "--seed", 5)
    b, _ = attack(trained, "--attack", "pgd", "--eps", "0.1", "--seed", 5)
    c, _ = attack(trained, "--attack", "pgd", "--eps", "0.1", "--seed", 6)
    assert a["attack"] == b["attack"] and a["attack"]["seed"] == 5
    assert c["attack"]["results"][0]["loss"] != a["attack"]["results"][0]["loss"]
    # The default step: 2.5 eps / steps.
    assert a["attack"]["steps"] == 10 and a["attack"]["results"][0]["step_size"] == pytest.approx(0.025)


def need_usps():
    """Skip without $JACNET_DATA/usps, or fail where CI requires the data."""
    data = os.environ.get("JACNET_DATA")
    if not data or not os.path.isdir(os.path.join(data, "usps")):
        if os.environ.get("JACNET_REQUIRE_DATA") == "1":
            pytest.fail("JACNET_DATA has no usps/ and JACNET_REQUIRE_DATA=1")
        pytest.skip("needs $JACNET_DATA/usps")


def test_pgd_at_least_as_strong_as_fgsm_on_a_trained_usps_model(tmp_path):
    need_usps()
    r = run("train", "--dataset", "usps", "--model", "mlp", "--hidden", 100, "--epochs", 8, "--no-test",
            "--save", tmp_path / "u.jn", "--quiet")
    assert r.returncode == 0, r.stderr
    res = {}
    for kind in ("fgsm", "pgd"):
        rec = tmp_path / (kind + ".json")
        r = run("eval", tmp_path / "u.jn", "--dataset", "usps", "--attack", kind, "--eps", "0.05,0.1", "--json", rec)
        assert r.returncode == 0, r.stderr
        a = json.load(open(rec))["attack"]
        assert a["clip_min"] == 0 and a["clip_max"] == 1  # USPS at its loaded scale
        res[kind] = a["results"]
    for f, p in zip(res["fgsm"], res["pgd"]):
        assert p["error"] >= f["error"] and p["loss"] > f["loss"], (f, p)
    # Steps larger than the ball bounce between its faces: a later iterate
    # may be classified right again (here it is, for a few examples), but an
    # example fooled once stays counted, so the error never drops with N.
    errs = []
    for steps in range(1, 9):
        rec = tmp_path / "steps.json"
        r = run("eval", tmp_path / "u.jn", "--dataset", "usps", "--attack", "pgd", "--eps", 0.1, "--steps", steps,
                "--step-size", 0.2, "--json", rec)
        assert r.returncode == 0, r.stderr
        errs.append(json.load(open(rec))["attack"]["results"][0]["error"])
    assert errs == sorted(errs), errs


@pytest.mark.parametrize("args", [
    ["--attack", "cw", "--eps", "0.1"], ["--attack", "fgsm"], ["--eps", "0.1"], ["--steps", "5"],
    ["--attack", "fgsm", "--eps", "-0.1"], ["--attack", "fgsm", "--eps", "abc"],
    ["--attack", "fgsm", "--eps", "0.1,"], ["--attack", "fgsm", "--eps", ",0.1"],
    ["--attack", "fgsm", "--eps", "0,,0.1"], ["--attack", "fgsm", "--eps", "nan"], ["--attack", "fgsm", "--eps", ""],
    ["--attack", "fgsm", "--eps", "0.1", "--steps", "5"], ["--attack", "fgsm", "--eps", "0.1", "--step-size", "0.01"],
    ["--attack", "pgd", "--eps", "0.1", "--steps", "0"], ["--attack", "pgd", "--eps", "0.1", "--steps", "1.5"],
    ["--attack", "pgd", "--eps", "0.1", "--steps", "-2"], ["--attack", "pgd", "--eps", "0.1", "--steps", "100001"],
    ["--attack", "pgd", "--eps", "0.1", "--step-size", "0"], ["--attack", "pgd", "--eps", "0.1", "--step-size", "-1"],
    ["--attack", "pgd", "--eps", "0.1", "--step-size", "inf"], ["--attack", "pgd", "--eps", "0.1", "--step-size", "1x"],
    ["--noise-std", "0,,0.1"],
])
def test_bad_attack_options_exit_2_with_one_line(trained, args):
    r = run("eval", trained / "m.jn", "--test", trained / "test.csv", *args)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr.startswith("jacnet eval: ") and r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


def test_pm1_model_is_attacked_in_its_own_range(tmp_path):
    """A model trained at --input-scale pm1 reads [-1, 1]: the attack clips
    there, so eps 0 gives the clean error (clipping to [0, 1] moved every
    background pixel from -1 to 0 and raised the error at eps 0)."""
    need_usps()
    r = run("train", "--dataset", "usps", "--model", "mlp", "--hidden", 50, "--epochs", 3, "--no-test",
            "--input-scale", "pm1", "--save", tmp_path / "p.jn", "--quiet")
    assert r.returncode == 0, r.stderr
    rec = tmp_path / "p.json"
    r = run("eval", tmp_path / "p.jn", "--dataset", "usps", "--input-scale", "pm1", "--attack", "fgsm",
            "--eps", "0,0.1", "--json", rec)
    assert r.returncode == 0, r.stderr
    out = json.load(open(rec))
    a = out["attack"]
    assert a["clip_min"] == -1 and a["clip_max"] == 1
    assert a["results"][0]["error"] == out["results"][0]["error"]
    assert a["results"][1]["error"] > a["results"][0]["error"]
