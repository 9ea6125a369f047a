#!/usr/bin/env python3
"""Retrain all 15 cells of Table 1 with their committed selected settings
(seed 1), two runs at a time, and print each cell's test error beside the
committed one and the total wall time (issue 23: make table1-retrain).

Each cell's configuration is read from its committed record
(docs/results/DATASET/final/MODEL-seed1.json), so nothing is selected here.
Every run has a checkpoint and a record in OUT: run the command again after
an interruption and finished cells are skipped, stopped ones resume. The
precision is a choice (--precision auto: bfloat16 where the library measures
it faster, docs/PERFORMANCE.md); the check is then that each error lies
within the committed seeds' range widened by one standard deviation, or
within 0.1 points of a one-seed cell. The wall time is summed over every
invocation (OUT/wall.json), so an interrupted run resumed later, even in
another session, reports its whole total.

  table1_retrain.py [--out build/table1-retrain] [--jobs 2] [--precision fp32|bf16|auto]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from final import train_args  # noqa: E402  (one way to turn a record into a command)

DATASETS = ["mnist", "mnist-binary", "usps"]
MODELS = ["mlp", "l2", "noise", "jacobian", "nj"]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "results")


def committed(dataset, model):
    """(seed-1 record, test errors % of every committed seed)."""
    final = os.path.join(RESULTS, dataset, "final")
    errors = []
    for name in sorted(os.listdir(final)):
        if name.startswith(model + "-seed") and name.endswith(".json"):
            rec = json.load(open(os.path.join(final, name)))
            if rec.get("test_error") is not None:
                errors.append(100 * rec["test_error"])
    return json.load(open(os.path.join(final, model + "-seed1.json"))), errors


class Ledger:
    """The wall time of every invocation that trained (OUT/wall.json), so
    that a run interrupted and resumed, possibly in another session, still
    reports its total: the sum of the invocations' times."""

    def __init__(self, path):
        self.path = path
        self.entries = json.load(open(path))["invocations"] if os.path.exists(path) else []

    def add(self, seconds, jobs):
        self.entries.append({"ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "seconds": round(seconds, 1), "jobs": jobs})
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path + ".tmp", "w") as f:
            json.dump({"invocations": self.entries}, f, indent=1)
        os.replace(self.path + ".tmp", self.path)

    def total(self):
        return sum(e["seconds"] for e in self.entries)


def run_cell(args, rec, dataset, model):
    out = os.path.join(args.out, dataset)
    os.makedirs(os.path.join(out, "models"), exist_ok=True)
    argv = train_args(rec["config"], dataset, 1, out, model)
    record = argv[-1]
    if os.path.exists(record) and json.load(open(record)).get("complete"):
        return dataset, model, "done before"
    argv += ["--checkpoint", os.path.join(out, model + "-seed1.jnc"), "--precision", args.precision, "--quiet"]
    t0 = time.time()
    r = subprocess.run([args.jacnet] + argv, capture_output=True, text=True)
    if r.returncode != 0:
        return dataset, model, "FAILED (%d): %s" % (r.returncode, r.stderr.strip().splitlines()[-1:])
    return dataset, model, "%.0f s" % (time.time() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build/table1-retrain")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (each runs one thread)")
    p.add_argument("--precision", default="auto", choices=["fp32", "bf16", "auto"])
    p.add_argument("--jacnet", default=os.environ.get("JACNET", "build/bin/jacnet"))
    args = p.parse_args()
    cells = [(d, m) for d in DATASETS for m in MODELS]
    records = {c: committed(*c) for c in cells}
    t0 = time.time()
    ledger = Ledger(os.path.join(args.out, "wall.json"))
    # Longest cells first (MNIST's regularized ones take an hour or more),
    # so the two slots end close together.
    order = sorted(cells, key=lambda c: -(records[c][0].get("total_seconds") or 0))
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for dataset, model, how in pool.map(lambda c: run_cell(args, records[c][0], *c), order):
                print("%-13s %-9s %s" % (dataset, model, how), flush=True)
    finally:
        # Kept even when interrupted, so a run resumed later adds up.
        ledger.add(time.time() - t0, args.jobs)
    print("\n%-13s %-9s %9s %11s %15s %5s %10s" % ("dataset", "model", "test %", "committed", "committed seeds",
                                                  "ok", "precision"))
    failed = []
    for dataset, model in cells:
        rec_path = os.path.join(args.out, dataset, model + "-seed1.json")
        now = json.load(open(rec_path)) if os.path.exists(rec_path) else {}
        errors = records[(dataset, model)][1]
        if now.get("test_error") is None:
            failed.append("%s %s" % (dataset, model))
            print("%-13s %-9s %9s" % (dataset, model, "missing"))
            continue
        e = 100 * now["test_error"]
        if len(errors) > 1:
            sd = statistics.stdev(errors)
            ok = min(errors) - sd <= e <= max(errors) + sd
        else:
            ok = abs(e - errors[0]) <= 0.1
        if not ok:
            failed.append("%s %s" % (dataset, model))
        print("%-13s %-9s %9.2f %11.2f %15s %5s %10s" % (dataset, model, e, errors[0], "%.2f-%.2f (%d)" % (
            min(errors), max(errors), len(errors)), "yes" if ok else "NO", now.get("precision_used", "?")))
    total = ledger.total()
    print("wall time: this invocation %.0f s; all %d invocations %.0f s (%.2f h), %d runs at a time (%s)" % (
        ledger.entries[-1]["seconds"], len(ledger.entries), total, total / 3600, args.jobs, ledger.path))
    if failed:
        sys.exit("table1-retrain: outside the committed spread or missing: " + ", ".join(failed))


if __name__ == "__main__":
    main()
