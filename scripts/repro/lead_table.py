#!/usr/bin/env python3
"""The table docs/RESULTS.md opens with: for each of Table 1's 15 cells the
report's test error, ours (mean +- sd over the seeds run, and how many),
and the difference in units of our sd, from the committed records alone
(table1.py's). With --usps-protocol DIR, a second USPS column from the
protocol search's final records (DIR/final/), the old selection kept beside
it so that the protocol's effect shows.

  lead_table.py [--usps-protocol docs/results/usps/protocol]
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table1 import DATASETS, MODELS, ROOT, mean_sd, records, seed_count  # noqa: E402

# TR 1359, Table 1 (test error %).
REPORT = {
    "mnist": {"mlp": 1.82, "l2": 1.66, "noise": 1.33, "jacobian": 1.31, "nj": 1.19},
    "mnist-binary": {"mlp": 2.01, "l2": 2.20, "noise": 1.7, "jacobian": 1.65, "nj": 1.51},
    "usps": {"mlp": 5.74, "l2": 5.6, "noise": 4.85, "jacobian": 4.85, "nj": 4.6},
}
NAMES = {"mlp": "MLP", "l2": "MLP + L2", "noise": "MLP + Noise", "jacobian": "MLP + Jacobian",
         "nj": "MLP + Noise + Jacobian"}


def seeds_note(recs):
    """'3 seeds', or '3 seeds, 2 in bf16' where some runs took the
    penalty's products in bfloat16 (their records' precision_used)."""
    bf16 = sum(1 for r in recs if r.get("precision_used") == "bf16")
    return seed_count(len(recs)) + (", %d in bf16" % bf16 if bf16 else "")


def cell(final_dir, model, report):
    """'here' and 'difference' cells: mean +- sd (n seeds); (here - report) / sd."""
    recs = list(records(final_dir, model))
    errs = [100 * r["test_error"] for r in recs]
    if not errs:
        return "not run", ""
    mean = statistics.mean(errs)
    diff = "%+.2f pt" % (mean - report)
    if len(errs) == 1:
        diff += ", no sd"
    elif statistics.stdev(errs) > 0:
        diff += " = %+.1f sd" % ((mean - report) / statistics.stdev(errs))
    return mean_sd(errs, seeds_note(recs)), diff


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--usps-protocol", help="the protocol search's folder; its final/ records as their own column")
    args = p.parse_args()
    cols = [(ds, os.path.join(ROOT, ds, "final"), ds) for ds in DATASETS]
    if args.usps_protocol:
        cols.append(("usps", os.path.join(args.usps_protocol, "final"), "usps (report's protocol)"))
    head = "| model |" + "".join(" %s: report | here | difference |" % c[2] for c in cols)
    print(head)
    print("|---|" + "---|---|---|" * len(cols))
    for m in MODELS:
        out = []
        for ds, d, _ in cols:
            here, diff = cell(d, m, REPORT[ds][m])
            out += ["%g" % REPORT[ds][m], here, diff]
        print("| %s | %s |" % (NAMES[m], " | ".join(out)))


if __name__ == "__main__":
    main()
