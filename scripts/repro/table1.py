#!/usr/bin/env python3
"""docs/results/table1.csv from the committed records of the selected models
(docs/results/DATASET/final/MODEL-seedS.json, written by `jacnet train`).
Rows whose records are missing are left out and listed on stderr."""
import csv
import glob
import json
import os
import statistics
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "results")
DATASETS = ["mnist", "mnist-binary", "usps"]
# Rows of their own: USPS selected on the report's stated protocol (issue
# 24: widths, layers, rates, input scale), beside the first selection.
EXTRA = [("usps-protocol", os.path.join("usps", "protocol", "final"))]
MODELS = ["mlp", "l2", "noise", "jacobian", "nj"]
COLUMNS = ["dataset", "model", "test_error_percent", "test_error_std", "valid_error_percent", "seeds", "hidden",
           "lr", "lambda", "noise_std", "epochs", "seconds", "command"]


def records(final_dir, model):
    """The complete, tested records of one cell, by seed."""
    recs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(final_dir, model + "-seed*.json")))]
    return [r for r in recs if r.get("complete") and r.get("test_error") is not None]


def seed_count(n):
    return "%d seed%s" % (n, "" if n == 1 else "s")


def mean_sd(errs, note=None):
    """'1.27 ± 0.06 (NOTE)', or '1.25 (NOTE)' for one value: the cell format
    of the lead table and the ReLU table (errs in %). NOTE defaults to the
    seed count ('1 seed', '3 seeds')."""
    if note is None:
        note = seed_count(len(errs))
    if len(errs) == 1:
        return "%.2f (%s)" % (errs[0], note)
    return "%.2f ± %.2f (%s)" % (statistics.mean(errs), statistics.stdev(errs), note)


def main():
    rows, missing = [], []
    for ds, sub_dir in [(d, os.path.join(d, "final")) for d in DATASETS] + EXTRA:
        for m in MODELS:
            recs = records(os.path.join(ROOT, sub_dir), m)
            if not recs:
                missing.append("%s/%s" % (ds, m))
                continue
            test = [100 * r["test_error"] for r in recs]
            cfg = recs[0]["config"]
            uses_lambda = cfg["model"] not in ("mlp", "noise")
            uses_noise = cfg["model"] in ("noise", "nj", "nj-both")
            rows.append({
                "dataset": ds, "model": m if cfg["model"] == m else "%s (%s)" % (m, cfg["model"]),
                "test_error_percent": "%.2f" % statistics.mean(test),
                "test_error_std": "%.2f" % statistics.stdev(test) if len(test) > 1 else "",
                "valid_error_percent": "%.2f" % statistics.mean(100 * r["best_valid_error"] for r in recs),
                "seeds": " ".join(str(r["seed"]) for r in recs), "hidden": cfg["hidden"], "lr": cfg["lr"],
                "lambda": cfg["lambda"] if uses_lambda else "", "noise_std": cfg["noise_std"] if uses_noise else "",
                "epochs": " ".join(str(r["epochs_run"]) for r in recs),
                "seconds": "%.0f" % statistics.mean(r["total_seconds"] for r in recs),
                "command": recs[0]["command"],
            })
    with open(os.path.join(ROOT, "table1.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print("%-13s %-18s %6s %5s  (valid %s)" % (r["dataset"], r["model"], r["test_error_percent"],
                                                 r["test_error_std"], r["valid_error_percent"]))
    if missing:
        print("no records yet: " + ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    main()
