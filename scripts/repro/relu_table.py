#!/usr/bin/env python3
"""The rectifier claim (issue 24, item 3) as one table, from the committed
records alone: for tanh (the USPS protocol's final runs) and ReLU
(usps-relu.sh's stage R3), each model's selected setting, its validation
error at selection (seed 1), and its test error mean +- sd over the seeds;
then what each regularizer gains over the same activation's MLP, in
points, so that "ReLU benefits less from the noise than from the penalty"
can be read off: compare the Noise and Jacobian gains within the ReLU
column, and each with tanh's.

  relu_table.py [--tanh docs/results/usps/protocol] [--relu docs/results/usps/relu]
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table1 import mean_sd, records  # noqa: E402  (the same rule for a complete, tested record)

MODELS = ["mlp", "noise", "jacobian", "nj"]
NAMES = {"mlp": "MLP", "noise": "+ Noise", "jacobian": "+ Jacobian", "nj": "+ Noise + Jacobian"}
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def test_errors(final_dir, model):
    """Test errors % of the complete final records of one model, by seed."""
    return [100 * r["test_error"] for r in records(final_dir, model)]


def setting(cfg):
    """The selected point in words: widths, rate, weight, noise std, scale."""
    parts = [cfg["hidden"], "lr %g" % cfg["lr"]]
    if cfg["model"] in ("jacobian", "nj"):
        parts.append("λ %g" % cfg["lambda"])
    if cfg["model"] in ("noise", "nj"):
        parts.append("σ %g" % cfg["noise_std"])
    parts.append("[-1, 1]" if cfg.get("input_scale") == "pm1" else "[0, 1]")
    return ", ".join(parts)


def column(run_dir):
    """{model: (setting, valid %, [test %])} of one activation's final runs."""
    final_dir = os.path.join(run_dir, "final")
    sel_path = os.path.join(final_dir, "selection.json")
    selection = json.load(open(sel_path)) if os.path.exists(sel_path) else {}
    col = {}
    for m in MODELS:
        if m in selection:
            s = selection[m]
            col[m] = (setting(s["config"]), 100 * s["valid_error"], test_errors(final_dir, m))
    return col


def gain(col, model):
    """Points the model gains over the same activation's MLP (mean test);
    empty for the MLP itself or where either has no test error."""
    mlp = col["mlp"][2] if "mlp" in col else []
    own = col[model][2] if model in col else []
    if model == "mlp" or not mlp or not own:
        return ""
    return "%+.2f" % (statistics.mean(mlp) - statistics.mean(own))


def table(tanh, relu):
    lines = ["| model | tanh: selected | valid | test | gain over MLP | ReLU: selected | valid | test | gain over MLP |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in MODELS:
        cells = []
        for col in (tanh, relu):
            if m in col:
                s, v, t = col[m]
                test = mean_sd(t) if t else "not run"
                cells += [s, "%.2f" % v, test, gain(col, m)]
            else:
                cells += ["not selected yet", "", "", ""]
        lines.append("| %s | %s |" % (NAMES[m], " | ".join(cells)))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tanh", default=os.path.join(REPO, "docs", "results", "usps", "protocol"))
    p.add_argument("--relu", default=os.path.join(REPO, "docs", "results", "usps", "relu"))
    args = p.parse_args()
    print(table(column(args.tanh), column(args.relu)))


if __name__ == "__main__":
    main()
