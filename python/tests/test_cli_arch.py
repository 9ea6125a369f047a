"""`jacnet train` / `sweep` / `eval` options for the network's units and
loss (--activation, --output, --loss) and the data's scale (--input-scale):
strict refusals, the record's fields, and that the options reach the
library (the model file's activations, the loss and the scale the first
epoch's training loss was computed with)."""
import json
import os

import numpy as np
import pytest

from conftest import load_script
from test_cli import CLI, REPO, blobs, run, write_csv, write_usps

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("arch")
    x, y = blobs(300)
    xt, yt = blobs(150, seed=1)
    write_csv(d / "train.csv", x, y)
    write_csv(d / "test.csv", xt, yt)
    write_csv(d / "wide.csv", x * 2, y)  # features up to 2: not in [0, 1]
    return d


@pytest.mark.parametrize("cmd,args,words", [
    ("train", ["--activation", "softmax"], "--activation 'softmax'"),
    ("train", ["--activation", "linear"], "--activation 'linear'"),
    ("train", ["--activation", "TANH"], "--activation 'TANH'"),
    ("train", ["--output", "relu"], "--output 'relu'"),
    ("train", ["--output", "tanh"], "--output 'tanh'"),
    ("train", ["--loss", "nll"], "--loss 'nll'"),
    ("train", ["--loss", "ce"], "--loss ce needs --output softmax (not sigmoid)"),
    ("train", ["--loss", "ce", "--output", "linear"], "--loss ce needs --output softmax (not linear)"),
    ("train", ["--input-scale", "0255"], "--input-scale '0255'"),
    ("train", ["--input-scale", ""], "--input-scale needs a non-empty value"),
    ("train", ["--activation"], "--activation needs a value"),
    ("sweep", ["--loss", "ce"], "--loss ce needs --output softmax"),
    ("sweep", ["--activation", "elu"], "--activation 'elu'"),
    ("sweep", ["--input-scale", "01,pm2"], "--input-scale 'pm2'"),
    ("sweep", ["--input-scale", "pm1,01,pm1"], "'pm1' given twice"),
    ("sweep", ["--input-scale", "01,"], None),  # strtok drops the empty item: "01" alone is valid
    ("eval", ["--input-scale", "pm2"], "--input-scale 'pm2'"),
])
def test_bad_values_exit_2_with_one_line_before_reading_data(tmp_path, cmd, args, words):
    # The data file does not exist: a refusal that names the option proves
    # the check came first.
    missing = str(tmp_path / "missing.csv")
    if cmd == "train":
        full = ["train", "--model", "mlp", "--train", missing, "--epochs", 1, *args]
    elif cmd == "sweep":
        full = ["sweep", "--results", tmp_path / "out", "--model", "mlp", "--train", missing, "--epochs", 1, *args]
    else:
        full = ["eval", tmp_path / "missing.jn", "--test", missing, *args]
    r = run(*full)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("jacnet"), r.stderr
    if words is None:  # valid options: refused only for the missing file
        assert "missing.csv" in r.stderr, r.stderr
    else:
        assert words in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "out" / "models") or words is None


def test_record_has_the_defaults_the_report_uses(data, tmp_path):
    r = run("train", "--train", data / "train.csv", "--valid-fraction", 0.2, "--model", "mlp", "--hidden", 8,
            "--epochs", 1, "--quiet", "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    cfg = json.load(open(tmp_path / "r.json"))["config"]
    assert (cfg["activation"], cfg["output"], cfg["loss"], cfg["input_scale"]) == ("tanh", "sigmoid", "mse", "01")


def first_epoch_loss(data, tmp_path, *args):
    """Train one epoch at a learning rate too small to move the weights, so
    the epoch's mean training loss is the loss of the initial network."""
    rec = tmp_path / "first.json"
    r = run("train", "--train", data / "train.csv", "--model", "mlp", "--hidden", 8, "--epochs", 1, "--lr", 1e-12,
            "--seed", 7, "--quiet", "--json", rec, *args)
    assert r.returncode == 0, r.stderr
    rep = json.load(open(rec))
    return rep["epochs"][0]["train_loss"], rep["config"]


@pytest.mark.parametrize("act,out,loss,scale", [
    ("tanh", "sigmoid", "mse", "01"), ("relu", "softmax", "ce", "01"), ("sigmoid", "linear", "mse", "pm1"),
    ("relu", "softmax", "mse", "pm1"), ("tanh", "softmax", "ce", "pm1"),
])
def test_options_reach_the_library(data, tmp_path, act, out, loss, scale):
    import jacnet
    got, cfg = first_epoch_loss(data, tmp_path, "--activation", act, "--output", out, "--loss", loss,
                                "--input-scale", scale)
    assert (cfg["activation"], cfg["output"], cfg["loss"], cfg["input_scale"]) == (act, out, loss, scale)
    raw = np.loadtxt(data / "train.csv", delimiter=",", dtype=np.float32)
    x, y = raw[:, 1:], raw[:, 0].astype(int)
    if scale == "pm1":
        x = 2 * x - 1
    net = jacnet.Net([16, 8, 3], hidden=act, output=out, seed=7)  # the CLI's net: same seed, same weights
    want = net.mean_loss(jacnet.Objective(loss=loss), x, y)
    assert got == pytest.approx(want, rel=1e-4)
    # The other loss, or the other scale, gives another value: the check can fail.
    others = [net.mean_loss(jacnet.Objective(loss=loss), (x + 1) / 2 if scale == "pm1" else 2 * x - 1, y)]
    if out == "softmax":
        others.append(net.mean_loss(jacnet.Objective(loss="mse" if loss == "ce" else "ce"), x, y))
    for other in others:
        assert abs(other - want) > 1e-3 * abs(want)


def test_relu_ce_model_trains_and_is_saved_as_such(data, tmp_path):
    import jacnet
    rec, model = tmp_path / "r.json", tmp_path / "m.jn"
    r = run("train", "--train", data / "train.csv", "--valid-fraction", 0.2, "--test", data / "test.csv",
            "--model", "jacobian", "--lambda", 0.01, "--activation", "relu", "--output", "softmax", "--loss", "ce",
            "--hidden", 20, "--epochs", 15, "--lr", 0.1, "--json", rec, "--save", model, "--quiet")
    assert r.returncode == 0, r.stderr
    rep = json.load(open(rec))
    assert rep["status"] == "finished"
    assert rep["test_error"] < 0.05  # well separated clusters
    # The Jacobian model keeps its penalty under the cross-entropy loss.
    assert all(e["train_penalty"] > 0 for e in rep["epochs"])
    net = jacnet.Net.load(str(model))
    assert (net.hidden_act, net.output_act) == ("relu", "softmax")
    # eval at the scale it was trained at reproduces the record's test error.
    r = run("eval", model, "--test", data / "test.csv", "--json", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "e.json"))["results"][0]["error"] == pytest.approx(rep["test_error"], abs=1e-12)


def test_pm1_refuses_features_outside_0_1(data, tmp_path):
    r = run("train", "--train", data / "wide.csv", "--valid-fraction", 0.2, "--model", "mlp", "--epochs", 1,
            "--input-scale", "pm1", "--quiet")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "maps [0, 1] to [-1, 1]" in r.stderr and "training" in r.stderr


def test_pm1_usps_file_is_the_files_own_values(tmp_path):
    # USPS files hold [-1, 1]; the loader maps them to [0, 1] and pm1 maps
    # them back: eval of a model at pm1 sees the written values (to float
    # rounding), checked through the error of a saved net.
    import jacnet
    x, y = blobs(200, dim=256, classes=10)
    write_usps(tmp_path / "u.gz", x, y)
    net = jacnet.Net([256, 12, 10], seed=3)
    net.save(str(tmp_path / "n.jn"))
    written = np.round(2 * x - 1, 4)  # as write_usps prints them
    for scale, feats in (("pm1", written), ("01", (written + 1) / 2)):
        r = run("eval", tmp_path / "n.jn", "--test", tmp_path / "u.gz", "--input-scale", scale, "--json",
                tmp_path / "e.json")
        assert r.returncode == 0, r.stderr
        res = json.load(open(tmp_path / "e.json"))
        assert res["input_scale"] == scale
        assert res["results"][0]["error"] == pytest.approx(net.error_rate(feats, y), abs=1e-12)


def test_sweep_input_scale_is_a_grid_dimension(data, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--train", data / "train.csv", "--valid-fraction", 0.2, "--results", out, "--model", "mlp",
            "--hidden", 8, "--epochs", 2, "--input-scale", "01,pm1", "--quiet"]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    records = sorted(p for p in os.listdir(out) if p.endswith(".json"))
    # The report's scale keeps the names of earlier sweeps; pm1 is named.
    assert records == ["mlp_h8_lr0.05_m0.9_pm1_seed1.json", "mlp_h8_lr0.05_m0.9_seed1.json"]
    scales = {p: json.load(open(out / p))["config"]["input_scale"] for p in records}
    assert scales == {"mlp_h8_lr0.05_m0.9_pm1_seed1.json": "pm1", "mlp_h8_lr0.05_m0.9_seed1.json": "01"}
    # Each point trains on its own scale: the same net at lr 1e-12 would
    # show it; here the two runs' first-epoch losses differ.
    loss = [json.load(open(out / p))["epochs"][0]["train_loss"] for p in records]
    assert loss[0] != loss[1]
    # A sweep with other units names its runs apart, in the same folder.
    r = run(*args[:-3], "--activation", "relu", "--output", "softmax", "--loss", "ce", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "mlp_h8_lr0.05_m0.9_relu_softmax_ce_seed1.json" in os.listdir(out)
    assert r.stdout.count("done before") == 0
    cfg = json.load(open(out / "mlp_h8_lr0.05_m0.9_relu_softmax_ce_seed1.json"))["config"]
    assert (cfg["activation"], cfg["output"], cfg["loss"]) == ("relu", "softmax", "ce")


def test_help_lists_the_options():
    for cmd, opts in (("train", ("--activation", "--output", "--loss", "--input-scale")),
                      ("sweep", ("--activation", "--output", "--loss", "--input-scale")), ("eval", ("--input-scale",))):
        r = run(cmd, "--help")
        assert r.returncode == 0
        for opt in opts:
            assert opt + " " in r.stdout, (cmd, opt)


def test_final_py_breaks_ties_toward_the_smaller_net(tmp_path):
    final = load_script("final")

    def rec(name, valid, sizes):
        with open(tmp_path / (name + ".json"), "w") as f:
            json.dump({"complete": 1, "best_valid_error": valid, "sizes": sizes, "config": {"model": "mlp"}}, f)

    rec("mlp_h1000x1000_lr0.1_pm1_seed1", 0.036, [256, 1000, 1000, 10])  # first by name
    rec("mlp_h700_lr0.1_pm1_seed1", 0.036, [256, 700, 10])
    rec("mlp_h400_lr0.1_seed1", 0.037, [256, 400, 10])
    assert final.selected(str(tmp_path))["mlp"][1] == "mlp_h700_lr0.1_pm1_seed1"
    rec("mlp_h400_lr0.1_seed1", 0.0355, [256, 400, 10])  # lower error wins whatever the size
    assert final.selected(str(tmp_path))["mlp"][1] == "mlp_h400_lr0.1_seed1"


def test_final_py_passes_the_settings_on():
    # final.py retrains and evaluates a selected sweep run from its record's
    # config: a run selected at pm1 (or with ReLU units) must be retrained
    # and tested as such, and older records (no such keys) as before.
    final = load_script("final")
    cfg = {"model": "mlp", "hidden": "400", "lr": 0.1, "batch": 20, "epochs": 200, "patience": 15, "lr_decay": 0,
           "momentum": 0, "activation": "relu", "output": "softmax", "loss": "ce", "input_scale": "pm1"}
    a = final.train_args(cfg, "usps", 2, "/tmp/o", "mlp")
    joined = " ".join(a)
    assert "--activation relu --output softmax --loss ce --input-scale pm1" in joined
    assert a[-4:-2] == ["--save", "/tmp/o/models/mlp-seed2.jn"]  # promote() reads a[-3]
    old = {k: v for k, v in cfg.items() if k not in ("activation", "output", "loss", "input_scale")}
    assert not any(x in " ".join(final.train_args(old, "usps", 2, "/tmp/o", "mlp"))
                   for x in ("--activation", "--output", "--loss", "--input-scale"))
    assert final.arch_args(cfg, ("input_scale",)) == ["--input-scale", "pm1"]


@pytest.mark.parametrize("model,obj", [("jacobian", dict(jacobian=0.1)), ("l2", dict(l2=0.1)), ("mlp", {})])
def test_cross_entropy_models_keep_their_penalty(data, tmp_path, model, obj):
    # With --loss ce the tool builds the preset's objective itself (the
    # library's presets are MSE): the first epoch's objective at lr 1e-12 is
    # the Python binding's CE objective with the same penalty, on the
    # initial net (15 equal batches: their mean is the mean over the data).
    import jacnet
    args = ["--activation", "relu", "--output", "softmax", "--loss", "ce", "--model", model]
    if model != "mlp":
        args += ["--lambda", 0.1]
    rec = tmp_path / "ce.json"
    r = run("train", "--train", data / "train.csv", "--hidden", 8, "--epochs", 1, "--lr", 1e-12, "--seed", 7,
            "--quiet", "--json", rec, *args)
    assert r.returncode == 0, r.stderr
    got = json.load(open(rec))["epochs"][0]["train_objective"]
    raw = np.loadtxt(data / "train.csv", delimiter=",", dtype=np.float32)
    x, y = raw[:, 1:], raw[:, 0].astype(int)
    net = jacnet.Net([16, 8, 3], hidden="relu", output="softmax", seed=7)
    want, _ = net.objective(jacnet.Objective("ce", **obj), x, np.eye(3, dtype=np.float32)[y])
    assert got == pytest.approx(want, rel=1e-4)
    if obj:  # the penalty is a visible part of it
        plain, _ = net.objective(jacnet.Objective("ce"), x, np.eye(3, dtype=np.float32)[y])
        assert abs(want - plain) > 1e-3 * want
