#!/usr/bin/env python3
"""Issue 25: the CPU cost of a training epoch, exact penalty against k
projections, measured so that a shared machine does not decide it.

The runs' records hold wall-clock seconds, which on this machine (two cores
shared with long background jobs) vary by a factor of 5 between seeds of one
setting (docs/RESULTS.md, "Cost on 2 cores"). Here each setting trains a few
epochs with `jacnet train` (the Table 1 USPS selection, one thread) and the
child's CPU time (user + system, from wait4) is divided by its epochs; the
settings are interleaved over --rounds rounds and the smallest per-epoch
time of each kept (contention only adds time). Written to --json with the
machine (scripts/repro/machine.sh: CPU, BLAS kernel, commit) and printed.

  projection_cost.py [--dataset usps|mnist] [--ks 0,1,2,4] [--models jacobian,nj] [--epochs 3] [--rounds 2]
                     [--precision fp32|bf16|auto] [--json OUT]
(k = 0 is the exact penalty). Needs JACNET_DATA. --dataset mnist trains the
MNIST N+J selection's network (784-1000-1000-10, docs/results/mnist/final/
nj-seed1.json); its epoch is 50 000 examples, so use --epochs 1 --models nj.
--precision is passed to `jacnet train` (bf16: the library's calibration
decides, as for a user; each setting records the precision_used).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from robustness import machine  # noqa: E402  (runs scripts/repro/machine.sh)


HIDDEN = {"usps": "1000", "mnist": "1000x1000"}


def one(jacnet, dataset, model, k, epochs, precision, tmp):
    rec = os.path.join(tmp, "r.json")
    cmd = [jacnet, "train", "--dataset", dataset, "--model", model, "--hidden", HIDDEN[dataset], "--lr", "0.1",
           "--momentum", "0", "--batch", "20", "--epochs", str(epochs), "--patience", "0", "--seed", "1",
           "--threads", "1", "--lambda", "0.3", "--noise-std", "0.1", "--projections", str(k),
           "--precision", precision,
           "--json", rec, "--quiet"]
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=ROOT)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("failed (%d): %s" % (status, " ".join(cmd)))
    wall = time.time() - t0
    with open(rec) as f:
        r = json.load(f)
    ep = r["epochs_run"]
    return {"cpu_per_epoch": (ru.ru_utime + ru.ru_stime) / ep, "wall_per_epoch": wall / ep, "epochs": ep,
            "command": " ".join(["jacnet"] + cmd[1:]), "blas_kernel": r.get("blas_kernel"),
            "precision_used": r.get("precision_used", "fp32")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="usps", choices=sorted(HIDDEN))
    ap.add_argument("--ks", default="0,1,2,4")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"))
    ap.add_argument("--models", default="jacobian,nj")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jacnet", default=os.environ.get("JACNET", os.path.join(ROOT, "build", "bin", "jacnet")))
    ap.add_argument("--json")
    a = ap.parse_args()
    ks = [int(v) for v in a.ks.split(",")]
    models = a.models.split(",")
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            for model in models:
                for k in ks:
                    r = one(a.jacnet, a.dataset, model, k, a.epochs, a.precision, tmp)
                    key = "%s-k%d" % (model, k)
                    print("round %d %s: %.2f s CPU / epoch (%.2f s wall)" % (rnd + 1, key, r["cpu_per_epoch"],
                                                                           r["wall_per_epoch"]), flush=True)
                    if key not in best or r["cpu_per_epoch"] < best[key]["cpu_per_epoch"]:
                        best[key] = r
    print("| model | k | CPU s / epoch | relative to exact |")
    print("|---|---|---|---|")
    for model in models:
        ex = best.get("%s-k0" % model)
        for k in ks:
            r = best["%s-k%d" % (model, k)]
            rel = "%.2f" % (r["cpu_per_epoch"] / ex["cpu_per_epoch"]) if ex else ""
            print("| %s | %s | %.2f | %s |" % (model, "exact" if k == 0 else k, r["cpu_per_epoch"], rel))
    if a.json:
        out = {"dataset": a.dataset, "precision": a.precision, "epochs": a.epochs, "rounds": a.rounds, "per_setting": best,
               "machine": machine(a.jacnet)[0].splitlines(),  # machine.sh's lines: CPU, BLAS kernel, commit
               "note": "CPU seconds (user + system) per epoch of jacnet train at one thread, the smallest over "
                       "the rounds; an epoch includes the validation pass"}
        with open(a.json + ".tmp", "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
