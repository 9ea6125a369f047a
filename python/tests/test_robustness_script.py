"""scripts/repro/robustness.py (issue 25, item 3) on two small models trained
here on a CSV data set: one record per model whose numbers are the `jacnet
eval` outputs it ran, the CSV summary and the markdown table read back from
the records, a model whose clean error differs from its training record
refused, and the figure drawn. JACNET_CLI names the binary (make check sets it)."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO

CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")
SCRIPT = os.path.join(REPO, "scripts", "repro", "robustness.py")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")


def data(n, seed):
    """Three overlapping classes in 12 dimensions, values in [0.05, 0.95]."""
    centers = np.random.default_rng(11).uniform(0.35, 0.65, size=(3, 12))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return np.clip(centers[y] + rng.normal(0, 0.12, size=(n, 12)), 0.05, 0.95), y


def write_csv(path, x, y):
    with open(path, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.6f" % v for v in xi)))


def run(*args):
    env = dict(os.environ, JACNET_THREADS="1")
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("robust")
    write_csv(d / "train.csv", *data(600, 0))
    write_csv(d / "test.csv", *data(200, 1))
    (d / "final" / "models").mkdir(parents=True)
    for name, extra in (("mlp", []), ("jacobian", ["--lambda", "0.3"])):
        r = subprocess.run([CLI, "train", "--train", d / "train.csv", "--test", d / "test.csv", "--valid-fraction",
                            "0.2", "--model", name, *extra, "--hidden", "16", "--epochs", "8", "--lr", "0.1",
                            "--threads", "1", "--quiet", "--save", d / "final" / "models" / ("%s-seed1.jn" % name),
                            "--json", d / "final" / ("%s-seed1.json" % name)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    return d


def test_records_summary_table_and_refusal(trained):
    d = trained
    out = d / "robust"
    r = run("run", "ignored", d / "final" / "models", out, "--test", d / "test.csv", "--pgd-steps", "5,20",
            "--noise-std", "0.1,0.3", "--nice", "0", "--jacnet", CLI)
    assert r.returncode == 0, r.stderr
    recs = {m: json.load(open(out / ("%s-seed1.json" % m))) for m in ("mlp", "jacobian")}
    for m, rec in recs.items():
        train = json.load(open(d / "final" / ("%s-seed1.json" % m)))
        assert rec["check"]["same"] and rec["clean_error"] == pytest.approx(train["test_error"], abs=0.5 / 200)
        assert rec["model"] == m and rec["seed"] == 1 and rec["examples"] == 200
        assert [e["command"].split()[:2] for e in rec["evals"]] == [["jacnet", "eval"]] * 3
        assert [p["steps"] for p in rec["pgd"]] == [5, 20]
        assert [x["std"] for x in rec["noise"]["results"]] == [0, 0.1, 0.3]   # 0, the clean error, added
        assert "commit" in rec["machine"] and len(rec["model_sha256"]) == 64
        # The record's numbers are the evals' own.
        fg = rec["evals"][0]["output"]["attack"]
        assert fg["kind"] == "fgsm" and [x["error"] for x in fg["results"]] == [x["error"] for x in rec["fgsm"]["results"]]
        assert rec["pgd"][1]["results"][2]["error"] == rec["evals"][2]["output"]["attack"]["results"][2]["error"]
    rows = list(csv.DictReader(open(out / "robustness.csv")))
    assert len(rows) == 2 * (3 + 3 + 6)
    for m, rec in recs.items():
        mine = [x for x in rows if x["model"] == m]
        clean = next(x for x in mine if x["kind"] == "noise" and float(x["magnitude"]) == 0)
        assert float(clean["error_percent"]) == pytest.approx(100 * rec["clean_error"], abs=0.005)
        pgd20 = [x for x in mine if x["kind"] == "pgd" and x["steps"] == "20"]
        assert [float(x["magnitude"]) for x in pgd20] == [0.05, 0.1, 0.2]
        assert float(pgd20[1]["error_percent"]) == pytest.approx(100 * rec["pgd"][1]["results"][1]["error"], abs=0.005)
    # A second run keeps the records; the table reads them back.
    r = run("run", "ignored", d / "final" / "models", out, "--test", d / "test.csv", "--pgd-steps", "5,20",
            "--noise-std", "0.1,0.3", "--nice", "0", "--jacnet", CLI)
    assert r.returncode == 0 and r.stdout.count("kept") == 2, r.stdout + r.stderr
    t = run("table", out)
    assert t.returncode == 0, t.stderr
    lines = t.stdout.splitlines()
    mlp_row = next(x for x in lines if x.startswith("| MLP | 1 |"))
    assert float(mlp_row.split("|")[3]) == pytest.approx(100 * recs["mlp"]["clean_error"], abs=0.005)
    diff = next(x for x in lines if x.startswith("| MLP + Jacobian | 1 | ") and ("+" in x.split("|")[3] or "-" in x.split("|")[3]))
    want = 100 * (recs["mlp"]["pgd"][0]["results"][0]["error"] - recs["jacobian"]["pgd"][0]["results"][0]["error"])
    assert float(diff.split("|")[7]) == pytest.approx(want, abs=0.011)   # PGD-5 at eps 0.05
    # A model that is not its training record's is refused.
    rec = json.load(open(d / "final" / "mlp-seed1.json"))
    rec["test_error"] += 0.05
    bad = d / "bad"
    bad.mkdir()
    json.dump(rec, open(bad / "mlp-seed1.json", "w"))
    r = run("run", "ignored", d / "final" / "models", d / "robust2", "--test", d / "test.csv", "--models", "mlp",
            "--records", bad, "--nice", "0", "--jacnet", CLI)
    assert r.returncode != 0 and "not that model" in r.stderr


def test_plot(trained, tmp_path):
    pytest.importorskip("matplotlib")
    d = trained
    out = tmp_path / "robust"
    r = run("run", "ignored", d / "final" / "models", out, "--test", d / "test.csv", "--models", "mlp",
            "--noise-std", "0.2", "--nice", "0", "--jacnet", CLI)
    assert r.returncode == 0, r.stderr
    r = run("plot", out, tmp_path / "f.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
