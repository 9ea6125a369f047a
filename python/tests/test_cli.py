"""The `jacnet` command-line tool, run as a user would: training on data
given only as files (CSV, USPS, IDX), records, evaluation under noise,
resumable sweeps, Ctrl-C, and one-line refusals (exit status 2) of bad
options. JACNET_CLI names the binary (make check sets it)."""
import gzip
import json
import os
import re
import signal
import struct
import subprocess
import time

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")


def run(*args, timeout=120):
    # One BLAS thread: these nets are tiny, and on a busy machine a second
    # thread only waits for its share of a core.
    env = dict(os.environ, JACNET_THREADS="1")
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def interrupt_after_first_epoch(*args, env=None):
    """Start `jacnet ARGS`, wait for its first epoch line, press Ctrl-C;
    returns (exit status, stderr)."""
    p = subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    while line and not line.startswith("epoch"):
        line = p.stdout.readline()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def blobs(n, dim=16, classes=3, seed=0):
    """Well separated Gaussian clusters with values in [0, 1]; the centers
    are the same for every seed, so train and test come from one law."""
    centers = np.random.default_rng(12345).uniform(0.2, 0.8, size=(classes, dim))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = np.clip(centers[y] + rng.normal(0, 0.05, size=(n, dim)), 0, 1)
    return x.astype(np.float32), y


def write_csv(path, x, y):
    with open(path, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.6f" % v for v in xi)))


def write_usps(path, x, y):
    """USPS text: label then 256 values in [-1, 1] (x given in [0, 1])."""
    with gzip.open(path, "wt") as f:
        for xi, yi in zip(x, y):
            f.write("%d %s\n" % (yi, " ".join("%.4f" % (2 * v - 1) for v in xi)))


def write_idx(images, labels, x, y, side):
    with open(images, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(x), side, side))
        f.write(np.round(x * 255).astype(np.uint8).tobytes())
    with open(labels, "wb") as f:
        f.write(struct.pack(">II", 0x801, len(y)))
        f.write(np.asarray(y, dtype=np.uint8).tobytes())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    x, y = blobs(600)
    xt, yt = blobs(300, seed=1)
    write_csv(d / "train.csv", x, y)
    write_csv(d / "test.csv", xt, yt)
    return d


def test_train_on_csv_files_writes_record_and_model(files):
    rec, model = files / "r.json", files / "m.jn"
    r = run("train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--test", files / "test.csv",
            "--model", "nj", "--lambda", 0.01, "--hidden", 20, "--epochs", 15, "--lr", 0.2,
            "--json", rec, "--save", model, "--quiet")
    assert r.returncode == 0, r.stderr
    rep = json.load(open(rec))
    assert rep["status"] == "finished" and rep["complete"] == 1
    assert rep["sizes"] == [16, 20, 3]
    assert rep["config"]["model"] == "nj" and rep["config"]["lambda"] == 0.01
    assert len(rep["epochs"]) == rep["epochs_run"] >= 1
    assert 1 <= rep["best_epoch"] <= rep["epochs_run"]
    best = min(e["valid_error"] for e in rep["epochs"])
    assert rep["best_valid_error"] == pytest.approx(best)
    # The clusters are far apart: a working trainer separates them.
    assert rep["test_error"] < 0.05
    # eval of the saved (best-validation) model reproduces the record's test error.
    ev = files / "e.json"
    r = run("eval", model, "--test", files / "test.csv", "--noise-std", "0,0.3", "--json", ev)
    assert r.returncode == 0, r.stderr
    res = json.load(open(ev))["results"]
    assert [p["noise_std"] for p in res] == [0, 0.3]
    assert res[0]["error"] == pytest.approx(rep["test_error"], abs=1e-12)
    assert res[1]["error"] > res[0]["error"]  # heavy noise hurts
    # --curvature: the means of the library's per-example norms.
    r = run("eval", model, "--test", files / "test.csv", "--curvature", "--json", ev)
    assert r.returncode == 0, r.stderr
    got = json.load(open(ev))
    import jacnet
    net = jacnet.Net.load(str(model))
    xt = np.loadtxt(files / "test.csv", delimiter=",", dtype=np.float32)[:, 1:]
    assert got["mean_jacobian_sqnorm"] == pytest.approx(float(np.mean(net.jacobian_sqnorm(xt))), rel=1e-5)
    assert got["mean_hessian_sqnorm"] == pytest.approx(float(np.mean(net.hessian_sqnorm(xt))), rel=1e-5)
    assert got["mean_hessian_sqnorm"] > 0


def test_train_on_idx_and_usps_files(tmp_path):
    x, y = blobs(400, dim=256, classes=10)
    write_usps(tmp_path / "u.gz", x, y)
    r = run("train", "--train", tmp_path / "u.gz", "--valid-fraction", 0.25, "--model", "mlp", "--hidden", 16,
            "--epochs", 3, "--quiet", "--json", tmp_path / "u.json")
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "u.json"))["sizes"] == [256, 16, 10]
    write_idx(tmp_path / "img", tmp_path / "lab", x[:, :196], y, 14)
    spec = "%s,%s" % (tmp_path / "img", tmp_path / "lab")
    r = run("train", "--train", spec, "--valid", spec, "--model", "mlp", "--hidden", 8, "--epochs", 2, "--quiet",
            "--json", tmp_path / "i.json")
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "i.json"))["sizes"] == [196, 8, 10]


@pytest.mark.parametrize("args", [
    ["--epochs", "abc"], ["--epochs", "5x"], ["--epochs", "-3"], ["--lr", "-1"], ["--lr", "0.1x"],
    ["--lr", "nan"], ["--batch", "0"], ["--lambda", "1e"], ["--frobnicate", "1"], ["--hidden", "10,,5"],
    ["--hidden", "0"], ["--model", "mlp", "--noise-std"], ["--model", "resnet"], ["--model", "nj"],
    ["--model", "mlp", "--train", "/nonexistent/file.csv"], ["--model", "mlp", "--train", "/"],
    ["--model", "mlp", "--dataset", "cifar"],
])
def test_bad_options_exit_2_with_one_line(files, args):
    if "--train" not in args and "--dataset" not in args:
        args = ["--train", str(files / "train.csv")] + args
    r = run("train", *args, "--epochs" if "--epochs" not in args else "--quiet", *(["1"] if "--epochs" not in args else []))
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("jacnet"), r.stderr


def test_bad_precision_refused_before_loading():
    # Checked with the other options, before any data is read or object made.
    r = run("train", "--model", "mlp", "--precision", "fp16", "--train", "/nonexistent/file.csv")
    assert r.returncode == 2 and "--precision 'fp16'" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_help_lists_every_option():
    for cmd in ("train", "eval", "sweep"):
        r = run(cmd, "--help")
        assert r.returncode == 0
        assert "--help" in r.stdout and "--threads" in r.stdout
    r = run("train", "--help")
    for opt in ("--dataset", "--data-dir", "--train", "--valid", "--test", "--valid-fraction", "--model", "--hidden",
                "--lr", "--lr-decay", "--momentum", "--epochs", "--patience", "--batch", "--lambda", "--noise-std",
                "--projections", "--seed", "--save", "--json"):
        assert opt + " " in r.stdout, opt
    assert run("frobnicate").returncode == 2


def test_sweep_runs_grid_and_resumes(files, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--train", files / "train.csv", "--valid-fraction", 0.2, "--results", out, "--model",
            "mlp,nj", "--lambda", "0.01,0.1", "--hidden", 10, "--epochs", 3, "--quiet"]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    records = sorted(p for p in os.listdir(out) if p.endswith(".json"))
    # mlp has no lambda: one point; nj: one per lambda.
    assert records == ["mlp_h10_lr0.05_m0.9_seed1.json", "nj_h10_lr0.05_m0.9_l0.01_s0.1_seed1.json",
                       "nj_h10_lr0.05_m0.9_l0.1_s0.1_seed1.json"]
    for p in records:
        rec = json.load(open(out / p))
        assert rec["complete"] == 1 and rec["test_error"] is None  # selection never reads the test set
    mtimes = {p: os.stat(out / p).st_mtime_ns for p in records}
    r = run(*args)
    assert r.returncode == 0
    assert r.stdout.count("done before") == 3
    assert mtimes == {p: os.stat(out / p).st_mtime_ns for p in records}
    assert "selected by validation error" in r.stdout
    summary = open(out / "summary.csv").read().splitlines()
    assert summary[0].startswith("run,model,valid_error_percent") and len(summary) == 4


def test_sweep_checkpoints_resume_a_stopped_point(tmp_path):
    # With --checkpoints a point stopped mid-run (Ctrl-C, or a killed
    # session) resumes from its last epoch when the sweep is run again, and
    # ends with the model and record of an uninterrupted sweep.
    x, y = blobs(20000, dim=64)
    write_csv(tmp_path / "big.csv", x, y)
    args = ["sweep", "--train", tmp_path / "big.csv", "--valid-fraction", 0.1, "--model", "nj", "--lambda", 0.1,
            "--hidden", 200, "--epochs", 4, "--patience", 0, "--threads", 1, "--checkpoints"]
    r = run(*args, "--results", tmp_path / "whole", "--quiet", timeout=300)
    assert r.returncode == 0, r.stderr
    name = "nj_h200_lr0.05_m0.9_l0.1_s0.1_seed1"
    assert os.path.exists(tmp_path / "whole" / "checkpoints" / (name + ".jnc"))
    stopped = tmp_path / "stopped"
    rc, err = interrupt_after_first_epoch(*args, "--results", stopped, env=dict(os.environ, JACNET_THREADS="1"))
    assert rc == 130, err
    first = json.load(open(stopped / (name + ".json")))
    assert first["status"] == "stopped" and first["complete"] == 0 and 1 <= first["epochs_run"] < 4
    r = run(*args, "--results", stopped, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "resuming from" in r.stdout
    resumed, whole = json.load(open(stopped / (name + ".json"))), json.load(open(tmp_path / "whole" / (name + ".json")))
    assert resumed["complete"] == 1 and resumed["resumed_at_epoch"] == first["epochs_run"] + 1
    untimed = lambda eps: [{k: v for k, v in e.items() if k != "seconds"} for e in eps]  # noqa: E731
    assert untimed(resumed["epochs"]) == untimed(whole["epochs"])
    model = lambda d: open(d / "models" / (name + ".jn"), "rb").read()  # noqa: E731
    assert model(stopped) == model(tmp_path / "whole")


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: the default is one thread either way")
def test_default_threads_give_the_one_thread_model(tmp_path):
    # Without --threads or JACNET_THREADS the tool runs every CPU on the
    # library's pool, whose results do not depend on the count: the model
    # equals --threads 1's bit for bit. (Left to OpenBLAS's own threads, as
    # before, products this size are threaded and the bits differ.)
    x, y = blobs(3000, dim=64)
    write_csv(tmp_path / "t.csv", x, y)
    env = {k: v for k, v in os.environ.items() if k not in ("JACNET_THREADS", "OPENBLAS_NUM_THREADS",
                                                             "OMP_NUM_THREADS")}
    models, used = [], []
    for extra in ([], ["--threads", "1"]):
        model, rec = tmp_path / ("m%d.jn" % len(models)), tmp_path / ("r%d.json" % len(models))
        r = subprocess.run([CLI, "train", "--train", str(tmp_path / "t.csv"), "--valid-fraction", "0.2", "--model",
                            "nj", "--lambda", "0.1", "--hidden", "300", "--batch", "100", "--epochs", "2",
                            "--patience", "0", "--quiet", "--save", str(model), "--json", str(rec), *extra],
                           capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr
        models.append(model.read_bytes())
        used.append(json.load(open(rec))["threads_used"])
    assert models[0] == models[1]
    assert used == [len(os.sched_getaffinity(0)), 1]
    # JACNET_THREADS is the library's to read: the record says null.
    r = subprocess.run([CLI, "train", "--train", str(tmp_path / "t.csv"), "--valid-fraction", "0.2", "--model", "mlp",
                        "--hidden", "10", "--epochs", "1", "--quiet", "--json", str(tmp_path / "e.json")],
                       capture_output=True, text=True, timeout=300, env=dict(env, JACNET_THREADS="1"))
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "e.json"))["threads_used"] is None


def test_ctrl_c_stops_cleanly_keeping_the_best_model(files, tmp_path):
    x, y = blobs(20000, dim=64)
    write_csv(tmp_path / "big.csv", x, y)
    rec, model = tmp_path / "r.json", tmp_path / "m.jn"
    rc, err = interrupt_after_first_epoch("train", "--train", tmp_path / "big.csv", "--valid-fraction", "0.1",
                                          "--model", "jacobian", "--lambda", "0.1", "--hidden", "200", "--epochs",
                                          "1000", "--batch", "20", "--json", rec, "--save", model)
    assert rc == 130, err
    rep = json.load(open(rec))
    assert rep["status"] == "stopped" and rep["complete"] == 0 and rep["epochs_run"] >= 1
    assert os.path.getsize(model) > 0


def test_checkpoint_resume_equals_uninterrupted_run(files, tmp_path):
    base = ["train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "nj", "--lambda", 0.05,
            "--hidden", 12, "--patience", 0, "--quiet", "--threads", 1]
    r = run(*base, "--epochs", 5, "--save", tmp_path / "whole.jn", "--json", tmp_path / "whole.json")
    assert r.returncode == 0, r.stderr
    ck = tmp_path / "run.jnc"
    r = run(*base, "--epochs", 2, "--checkpoint", ck, "--save", tmp_path / "a.jn")
    assert r.returncode == 0, r.stderr
    r = run(*base, "--epochs", 5, "--checkpoint", ck, "--save", tmp_path / "b.jn", "--json", tmp_path / "b.json")
    assert r.returncode == 0, r.stderr
    assert open(tmp_path / "b.jn", "rb").read() == open(tmp_path / "whole.jn", "rb").read()
    resumed, whole = json.load(open(tmp_path / "b.json")), json.load(open(tmp_path / "whole.json"))
    assert resumed["first_epoch"] == 3 and [e["epoch"] for e in resumed["epochs"]] == [3, 4, 5]
    # Every field but the wall time matches the uninterrupted run's epochs 3-5.
    untimed = lambda eps: [{k: v for k, v in e.items() if k != "seconds"} for e in eps]  # noqa: E731
    assert untimed(resumed["epochs"]) == untimed(whole["epochs"][2:])
    # The per-epoch terms: loss + penalty = objective (no l2), ||J||^2 measured, training error in [0, 1].
    for e in whole["epochs"]:
        assert e["train_loss"] + e["train_penalty"] == pytest.approx(e["train_objective"], rel=1e-9)
        assert e["train_penalty"] == pytest.approx(0.05 * e["train_jacobian_sqnorm"], rel=1e-6)
        assert 0 <= e["train_error"] <= 1 and e["recoveries"] == 0
    assert whole["precision_used"] == "fp32"


def test_resumed_record_lists_the_whole_run(files, tmp_path):
    # A run stopped after 2 epochs and resumed to 5 rewrites its record: the
    # new one joins the earlier record's epochs 1-2 to its own 3-5.
    base = ["train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "nj", "--lambda", 0.05,
            "--hidden", 12, "--patience", 0, "--quiet", "--threads", 1]
    r = run(*base, "--epochs", 5, "--json", tmp_path / "whole.json")
    assert r.returncode == 0, r.stderr
    ck, rec = tmp_path / "run.jnc", tmp_path / "run.json"
    r = run(*base, "--epochs", 2, "--checkpoint", ck, "--json", rec)
    assert r.returncode == 0, r.stderr
    first = json.load(open(rec))
    r = run(*base, "--epochs", 5, "--checkpoint", ck, "--json", rec)
    assert r.returncode == 0, r.stderr
    joined, whole = json.load(open(rec)), json.load(open(tmp_path / "whole.json"))
    untimed = lambda eps: [{k: v for k, v in e.items() if k != "seconds"} for e in eps]  # noqa: E731
    assert untimed(joined["epochs"]) == untimed(whole["epochs"])
    assert joined["epochs"][:2] == first["epochs"]  # the earlier epochs verbatim, seconds included
    assert joined["first_epoch"] == 1 and joined["resumed_at_epoch"] == 3 and joined["epochs_run"] == 5
    assert joined["best_epoch"] == whole["best_epoch"] and joined["test_error"] == whole["test_error"]
    assert joined["total_seconds"] > first["total_seconds"]
    # Resumed again with nothing left to run, the record keeps every epoch.
    r = run(*base, "--epochs", 5, "--checkpoint", ck, "--json", rec)
    assert r.returncode == 0, r.stderr
    again = json.load(open(rec))
    assert again["epochs"] == joined["epochs"] and again["best_epoch"] == whole["best_epoch"]
    # A record of another run (not this checkpoint's) is not joined.
    other = tmp_path / "other.jnc"
    r = run(*base, "--epochs", 2, "--checkpoint", other, "--json", tmp_path / "o.json")
    assert r.returncode == 0, r.stderr
    r = run(*base, "--epochs", 3, "--checkpoint", other, "--json", rec)
    assert r.returncode == 0, r.stderr
    alone = json.load(open(rec))
    assert [e["epoch"] for e in alone["epochs"]] == [3] and alone["first_epoch"] == 3


def test_bad_checkpoint_is_refused(files, tmp_path):
    ck = tmp_path / "bad.jnc"
    ck.write_bytes(b"not a checkpoint at all")
    r = run("train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "mlp", "--hidden", 5,
            "--epochs", 2, "--checkpoint", ck, "--quiet")
    assert r.returncode == 1 and "not a libjacnet checkpoint" in r.stderr, r.stderr
    assert ck.read_bytes() == b"not a checkpoint at all"
    # The message says how to go on: the file is left as it is.
    assert r.stderr.startswith("jacnet train: --checkpoint %s: " % ck), r.stderr
    assert "delete it (or give another --checkpoint) to start afresh" in r.stderr, r.stderr


def test_refused_resume_leaves_the_record_untouched(files, tmp_path):
    # A finished run, then the same checkpoint with another --noise-std: the
    # resume is refused (exit 1) and the finished run's record stays as it was.
    ck, rec = tmp_path / "run.jnc", tmp_path / "run.json"
    base = ["train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "nj", "--lambda", 0.1,
            "--hidden", 5, "--epochs", 3, "--checkpoint", ck, "--json", rec, "--quiet"]
    r = run(*base)
    assert r.returncode == 0, r.stderr
    before = rec.read_bytes()
    r = run(*base, "--noise-std", 0.2)
    assert r.returncode == 1, r.stderr
    assert rec.read_bytes() == before
    # The floats as the user wrote them; no C function names.
    assert "noise 0.1, this run has 0.2" in r.stderr and "jn_" not in r.stderr, r.stderr
    assert "resume with the options the run was started with, or delete it" in r.stderr, r.stderr
    assert json.loads(before)["status"] == "finished"


def kill_after_epochs(n, *args):
    """Start `jacnet ARGS`, wait for its n-th epoch line, SIGKILL it."""
    p = subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, JACNET_THREADS="1"))
    seen = 0
    while seen < n:
        line = p.stdout.readline()
        assert line, p.communicate()[1]
        seen += line.startswith("epoch")
    p.kill()
    p.communicate(timeout=60)
    return p.returncode


def test_record_is_written_after_every_epoch(tmp_path):
    # A run killed outright (no chance to write at the end) has its record up
    # to its last epoch; resumed from the checkpoint, the record is the whole run.
    x, y = blobs(6000, dim=32)
    write_csv(tmp_path / "t.csv", x, y)
    ck, rec = tmp_path / "run.jnc", tmp_path / "run.json"
    args = ["train", "--train", tmp_path / "t.csv", "--valid-fraction", 0.1, "--model", "nj", "--lambda", 0.1,
            "--hidden", 30, "--patience", 0, "--checkpoint", ck, "--json", rec]
    assert kill_after_epochs(2, *args, "--epochs", 1000) == -signal.SIGKILL
    killed = json.load(open(rec))
    assert killed["status"] == "running" and killed["complete"] == 0
    assert killed["epochs_run"] >= 2 and [e["epoch"] for e in killed["epochs"]] == list(range(1, killed["epochs_run"] + 1))
    last = killed["epochs_run"]
    r = run(*args, "--epochs", last + 2, "--quiet")
    assert r.returncode == 0, r.stderr
    whole = json.load(open(rec))
    assert whole["status"] == "finished" and [e["epoch"] for e in whole["epochs"]] == list(range(1, last + 3))
    assert whole["first_epoch"] == 1


@pytest.mark.parametrize("which", ["--test", "--valid"])
def test_data_that_does_not_fit_is_refused_before_training(files, tmp_path, which):
    # The network is made from --train (16 features, 3 classes): a file of
    # another width, or with labels it has no output for, is refused before
    # the first epoch, in the user's terms, with nothing written.
    x, y = blobs(60, dim=5)
    write_csv(tmp_path / "narrow.csv", x, y)
    x, y = blobs(60, dim=16, classes=8)
    write_csv(tmp_path / "eight.csv", x, y)
    for name, want in (("narrow.csv", ": 5 features, the network takes 16"),
                       ("eight.csv", ": labels up to 7, the network has 3 outputs")):
        rec, model = tmp_path / "r.json", tmp_path / "m.jn"
        r = run("train", "--train", files / "train.csv", which, tmp_path / name, "--model", "mlp", "--hidden", 5,
                "--epochs", 50, "--patience", 0, "--json", rec, "--save", model)
        assert r.returncode == 2, r.stderr
        assert "%s %s%s" % (which, tmp_path / name, want) in r.stderr, r.stderr
        assert "jn_" not in r.stderr and "ds " not in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert "epoch" not in r.stdout and not rec.exists() and not model.exists()


@pytest.mark.parametrize("option", ["--json", "--save", "--checkpoint"])
def test_unwritable_outputs_are_refused_before_training(files, tmp_path, option):
    for path, why in ((tmp_path / "no" / "such" / "dir" / "f", "cannot write there"), (tmp_path, "is a directory")):
        r = run("train", "--train", files / "train.csv", "--model", "mlp", "--hidden", 5, "--epochs", 50,
                "--patience", 0, option, path)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("jacnet train: %s %s: %s" % (option, path, why)), r.stderr
        assert "epoch" not in r.stdout
    assert os.listdir(tmp_path) == []  # the probe left nothing


def test_progress_on_a_terminal_one_line_per_epoch_otherwise(tmp_path):
    # On a terminal (stderr), a line redrawn within the epoch: examples per
    # second, the epoch's and the run's time left (a range with patience:
    # best epoch + patience at the soonest, --epochs at the latest).
    import pty
    x, y = blobs(3000, dim=32)
    write_csv(tmp_path / "t.csv", x, y)
    args = [CLI, "train", "--train", str(tmp_path / "t.csv"), "--valid-fraction", "0.2", "--model", "nj",
            "--lambda", "0.1", "--hidden", "40", "--epochs", "6", "--patience", "3"]
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, text=True, env=dict(os.environ, JACNET_THREADS="1"))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = p.communicate(timeout=120)[0]
    os.close(master)
    assert p.returncode == 0
    term = b"".join(chunks).decode()
    assert "\r" in term and " ex/s" in term and "epoch ETA " in term and "run ETA " in term, term
    # After the first epoch the run's time left is a range (epoch 1 + patience 3 < 6).
    assert re.search(r"epoch 2/6 .* run ETA \d\d:\d\d-\d\d:\d\d", term), term
    epochs = sum(ln.startswith("epoch ") for ln in out.splitlines())
    assert epochs >= 4
    # Not on a terminal: one line per epoch, no progress line.
    r = run(*args[1:])
    assert r.returncode == 0 and "\r" not in r.stderr and "ex/s" not in r.stderr
    assert sum(ln.startswith("epoch ") for ln in r.stdout.splitlines()) == epochs


def test_quiet_still_prints_the_result(files):
    r = run("train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--test", files / "test.csv", "--model",
            "mlp", "--hidden", 5, "--epochs", 2, "--quiet")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"test error: \d+\.\d\d%\n", r.stdout), r.stdout


def test_help_shows_no_nan_default_and_version_help():
    for cmd in ("train", "eval", "sweep"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "nan" not in r.stdout.lower(), r.stdout
    line = [ln for ln in run("train", "--help").stdout.splitlines() if "--lambda" in ln][0]
    assert "(default" not in line and "required by those" in line, line
    r = run("version", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: jacnet version\n"), r.stdout
    assert r.stdout.splitlines()[-1] == run("version").stdout.strip() and re.fullmatch(r"jacnet \d+\.\d+\.\d+\n",
                                                                                        run("version").stdout)
    r = run("version", "--frobnicate")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr


def test_eval_of_a_checkpoint_says_how_to_get_a_model(files, tmp_path):
    ck, model = tmp_path / "run.jnc", tmp_path / "m.jn"
    args = ["train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "mlp", "--hidden", 5,
            "--epochs", 2, "--checkpoint", ck, "--quiet"]
    assert run(*args).returncode == 0
    r = run("eval", ck, "--test", files / "test.csv")
    assert r.returncode == 1 and "is a training checkpoint" in r.stderr and "--save MODEL.jn" in r.stderr, r.stderr
    # The advice works: the same command with --save writes the model without training again.
    r = run(*args[:-1], "--save", model)
    assert r.returncode == 0 and "resuming from" in r.stdout, r.stderr
    assert not [ln for ln in r.stdout.splitlines() if ln.startswith("epoch")], r.stdout
    assert run("eval", model, "--test", files / "test.csv").returncode == 0


def test_plot_needs_an_interpreter_that_can_draw_checked_before_training(files, tmp_path):
    import sys
    # An interpreter without its site packages: no numpy, no matplotlib.
    bare = tmp_path / "bare-python"
    bare.write_text("#!/bin/sh\nexec %s -S \"$@\"\n" % sys.executable)
    bare.chmod(0o755)
    rec, png = tmp_path / "r.json", tmp_path / "c.png"
    args = [CLI, "train", "--train", str(files / "train.csv"), "--valid-fraction", "0.2", "--model", "mlp",
            "--hidden", "5", "--epochs", "3", "--json", str(rec), "--plot", str(png)]
    import jacnet  # its directory on the path: not the site packages, which -S leaves out
    env = dict(os.environ, JACNET_THREADS="1", JACNET_PYTHON=str(bare),
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(jacnet.__file__))))
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2, r.stderr
    assert "JACNET_PYTHON=%s cannot draw (No module named" % bare in r.stderr, r.stderr
    assert "epoch" not in r.stdout and not rec.exists() and not png.exists()
    # A picture path that cannot be written is refused too.
    r = subprocess.run(args[:-1] + [str(tmp_path / "no" / "c.png")], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 2 and "--plot %s: cannot write there" % (tmp_path / "no" / "c.png") in r.stderr, r.stderr
    # One that can draw (this one, with the package on its path) draws.
    pytest.importorskip("matplotlib")
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=dict(env, JACNET_PYTHON=sys.executable))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_numbers_printed_as_written_and_sweep_checks_valid(files, tmp_path):
    r = run("train", "--train", files / "train.csv", "--model", "nj", "--lambda", "0.123456789", "--lr", "0.05",
            "--hidden", 3, "--epochs", 1)
    assert r.returncode == 0, r.stderr
    assert "lambda 0.123456789, noise std 0.1, lr 0.05," in r.stdout, r.stdout
    # sweep refuses a --valid file of another width before any point runs.
    x, y = blobs(60, dim=5)
    write_csv(tmp_path / "narrow.csv", x, y)
    r = run("sweep", "--train", files / "train.csv", "--valid", tmp_path / "narrow.csv", "--results", tmp_path / "s",
            "--model", "mlp", "--hidden", 3, "--epochs", 1)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "jacnet sweep: --valid %s: 5 features, the network takes 16 (the width of --train %s)\n" % (
        tmp_path / "narrow.csv", files / "train.csv")
    assert not [f for f in os.listdir(tmp_path / "s") if f.endswith(".json")]


def test_sweep_point_record_is_written_after_every_epoch(tmp_path):
    # As for train: a sweep killed mid-point leaves that point's record up to
    # its last epoch (not complete); run again with --checkpoints, the point
    # resumes and its record lists the whole run.
    x, y = blobs(6000, dim=32)
    write_csv(tmp_path / "t.csv", x, y)
    out = tmp_path / "s"
    args = ["sweep", "--train", tmp_path / "t.csv", "--valid-fraction", 0.1, "--model", "nj", "--lambda", 0.1,
            "--hidden", 30, "--patience", 0, "--checkpoints", "--results", out]
    assert kill_after_epochs(2, *args, "--epochs", 1000) == -signal.SIGKILL
    rec = out / "nj_h30_lr0.05_m0.9_l0.1_s0.1_seed1.json"
    killed = json.load(open(rec))
    assert killed["status"] == "running" and killed["complete"] == 0 and killed["epochs_run"] >= 2
    last = killed["epochs_run"]
    r = run(*args, "--epochs", last + 1, "--quiet")
    assert r.returncode == 0, r.stderr
    whole = json.load(open(rec))
    assert whole["complete"] == 1 and [e["epoch"] for e in whole["epochs"]] == list(range(1, last + 2))


def test_unreadable_input_message_names_file_and_option(files):
    r = run("train", "--train", files / "train.csv", "--test", "/nonexistent/t.csv", "--model", "mlp")
    assert r.returncode == 2
    assert r.stderr == "jacnet: cannot load /nonexistent/t.csv (--test): cannot open '/nonexistent/t.csv': " \
                       "No such file or directory\n", r.stderr


def test_eval_refuses_data_that_do_not_fit_the_model(files, tmp_path):
    model = tmp_path / "m.jn"
    r = run("train", "--train", files / "train.csv", "--model", "mlp", "--hidden", 5, "--epochs", 1, "--quiet",
            "--save", model)
    assert r.returncode == 0, r.stderr
    x, y = blobs(60, dim=5)
    write_csv(tmp_path / "narrow.csv", x, y)
    x, y = blobs(60, dim=16, classes=8)
    write_csv(tmp_path / "eight.csv", x, y)
    for name, want in (("narrow.csv", "5 features, %s takes 16" % model),
                       ("eight.csv", "labels up to 7, %s has 3 outputs" % model)):
        r = run("eval", model, "--test", tmp_path / name)
        assert r.returncode == 2 and r.stderr == "jacnet eval: --test %s: %s\n" % (tmp_path / name, want), r.stderr




def test_precision_auto_records_the_measurement(files, tmp_path, monkeypatch):
    # --precision auto: the library times the penalty both ways and takes
    # bfloat16 only where it was faster; the fake ratio stands in for the
    # timings' verdict, so both branches run anywhere. The record says what
    # ran and the ratio measured (null where nothing was measured: no
    # oneDNN bfloat16 here, which the forced run shows).
    base = ["train", "--train", files / "train.csv", "--valid-fraction", 0.2, "--model", "nj", "--lambda", 0.05,
            "--hidden", 8, "--epochs", 1, "--patience", 0, "--quiet"]
    monkeypatch.setenv("JACNET_FORCE_BF16", "1")
    r = run(*base, "--precision", "bf16", "--json", tmp_path / "forced.json")
    assert r.returncode == 0, r.stderr
    forced = json.load(open(tmp_path / "forced.json"))
    assert forced["precision_ratio"] is None  # forced: not measured
    available = forced["precision_used"] == "bf16"
    monkeypatch.delenv("JACNET_FORCE_BF16")
    for ratio, used in ((2.0, "bf16"), (0.5, "fp32")):
        monkeypatch.setenv("JACNET_FAKE_BF16_RATIO", str(ratio))
        rec = tmp_path / ("auto%g.json" % ratio)
        r = run(*base, "--precision", "auto", "--json", rec)
        assert r.returncode == 0, r.stderr
        got = json.load(open(rec))
        assert got["config"]["precision"] == "auto"
        if available:
            assert got["precision_used"] == used and got["precision_ratio"] == ratio
        else:
            assert got["precision_used"] == "fp32" and got["precision_ratio"] is None
