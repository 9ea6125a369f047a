#!/usr/bin/env python3
"""Issue 25: the exact Jacobian penalty against its k-projection estimate on
USPS, from the committed records alone: the exact runs are
docs/results/usps/final/MODEL-seedS.json (Table 1), the projected ones
docs/results/usps/projections/MODEL-kK-seedS.json (scripts/repro/
projections.sh). Prints a markdown table (model, k, seeds, test error mean
± sd, validation error, best epoch, seconds per epoch, total seconds;
with docs/results/usps/projections/cost.json, the CPU seconds per epoch
measured by projection_cost.py and the run's epochs times that) and the
runs not finished yet, and draws test error against total time per run,
one marker per k (--plot PNG).

  projections_summary.py [--dataset usps|mnist] [--plot docs/figures/projections_usps.png]
(mnist: the N+J cell, 784-1000-1000-10, from docs/results/mnist/{final,projections}/)
"""
import argparse
import glob
import json
import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FINAL = os.path.join(ROOT, "docs", "results", "usps", "final")
PROJ = os.path.join(ROOT, "docs", "results", "usps", "projections")
MODELS = ("jacobian", "nj")
TITLE = "USPS 256-1000-10"
KS = (1, 2, 4, 0)  # 0: exact
MARKERS = {1: "v", 2: "s", 4: "D", 0: "o"}


def load_runs():
    runs = []
    for model in MODELS:
        for path in sorted(glob.glob(os.path.join(FINAL, "%s-seed*.json" % model))):
            runs.append((model, 0, path))
        for path in sorted(glob.glob(os.path.join(PROJ, "%s-k*-seed*.json" % model))):
            m = re.search(r"-k(\d+)(-l[^-]+)?(-bf16)?(-rec)?-seed", os.path.basename(path))
            runs.append((model, int(m.group(1)), path, (m.group(3) is not None, m.group(4) is not None)))
    out = []
    for model, k, path, *named in runs:  # named: (bf16, recovery) from a projection run's file name
        with open(path) as f:
            r = json.load(f)
        cfg = r["config"]
        asked_bf16, recovery = cfg.get("precision", "fp32") == "bf16", bool(cfg.get("recovery"))
        if (cfg.get("projections", 0) != k or cfg["model"] != model
                or (named and named[0] != (asked_bf16, recovery))):
            raise SystemExit("%s: its config says model %s, projections %s, recovery %s, precision %s" % (
                path, cfg["model"], cfg.get("projections"), cfg.get("recovery", 0), cfg.get("precision", "fp32")))
        out.append({"model": model, "k": k, "lambda": cfg["lambda"], "seed": r["seed"], "path": os.path.relpath(path, ROOT),
                    # --recovery (scripts/repro/projections.sh RECOVERY=1, records MODEL-kK-rec-seedS.json)
                    "recovery": bool(cfg.get("recovery")),
                    "complete": r.get("complete") == 1 and r.get("test_error") is not None,
                    "status": r.get("status"), "test": r.get("test_error"), "valid": r["best_valid_error"],
                    "best_epoch": r["best_epoch"], "epochs_run": r["epochs_run"],
                    # records from before bfloat16 existed have no precision_used: they ran float32
                    "precision": r.get("precision_used", "fp32"),
                    "seconds": r["total_seconds"],
                    # the largest epoch-to-epoch rise of the mean training objective (a blow-up: > 1.3)
                    "jump": max([b["train_objective"] / a["train_objective"]
                                 for a, b in zip(r["epochs"], r["epochs"][1:])] or [1.0]),
                    "blowup": blowup_epoch(r["epochs"]),
                    "objective_at_best": next((e["train_objective"] for e in r["epochs"]
                                               if e.get("epoch") == r["best_epoch"]), None)})
    return out


def blowup_epoch(epochs):
    """The first epoch whose mean training objective is more than twice the lowest before it, or None."""
    low = float("inf")
    for e in epochs:
        if e["train_objective"] > 2 * low:
            return e["epoch"]
        low = min(low, e["train_objective"])
    return None


def load_cost():
    """CPU seconds per epoch from projection_cost.py's files in PROJ (cost.json,
    cost-bf16.json, ...), keyed by (setting, precision): a run is costed only at
    the precision it ran."""
    cost = {}
    for path in sorted(glob.glob(os.path.join(PROJ, "cost*.json"))):
        with open(path) as f:
            for key, c in json.load(f)["per_setting"].items():
                cost[(key, c.get("precision_used", "fp32"))] = c["cpu_per_epoch"]
    return cost or None


def cpu_per_epoch(cost, r):
    """The measured CPU s per epoch of r's setting at r's precision (lambda does not change it); None if not measured."""
    return cost.get(("%s-k%d" % (r["model"], r["k"]), r["precision"])) if cost else None


def ms(xs, fmt="%.2f", scale=1.0):
    xs = [scale * x for x in xs]
    if len(xs) == 1:
        return fmt % xs[0]
    return (fmt + " ± " + fmt) % (statistics.mean(xs), statistics.stdev(xs))


def label(k, recovery):
    return ("exact" if k == 0 else str(k)) + (" + recovery" if recovery else "")


def table(runs, cost):
    head = ("| model | k | lambda | seeds | precision | test error % | validation error % | best epoch | epochs run | "
            "largest rise of the training objective (x) | blow-up epoch (objective > 2x its lowest) | "
            "training objective at the best epoch | wall s / epoch | wall s total |")
    sep = "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    if cost:
        head += " CPU s / epoch (measured) | CPU s total (epochs x that) |"
        sep += "---|---|"
    lines = [head, sep]
    for model in MODELS:
        for k, rec, lam in sorted({(r["k"], r["recovery"], r["lambda"]) for r in runs if r["model"] == model},
                                  key=lambda t: (KS.index(t[0]), t[1], t[2])):
            rs = [r for r in runs if r["model"] == model and r["k"] == k and r["lambda"] == lam and r["complete"]
                  and r["recovery"] == rec]
            if not rs:
                continue
            precisions = [r["precision"] for r in rs]
            row = "| %s | %s | %g | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                model, label(k, rec), lam, ",".join(str(r["seed"]) for r in rs),
                precisions[0] if len(set(precisions)) == 1 else ",".join(precisions),
                ms([r["test"] for r in rs], scale=100), ms([r["valid"] for r in rs], scale=100),
                ",".join(str(r["best_epoch"]) for r in rs), ",".join(str(r["epochs_run"]) for r in rs),
                ", ".join("%.2f" % r["jump"] for r in rs),
                ", ".join(str(r["blowup"]) if r["blowup"] else "none" for r in rs),
                ", ".join("%.4f" % r["objective_at_best"] if r["objective_at_best"] is not None else "?" for r in rs),
                ms([r["seconds"] / r["epochs_run"] for r in rs], "%.1f"), ms([r["seconds"] for r in rs], "%.0f"))
            if cost:
                costed = [(r, cpu_per_epoch(cost, r)) for r in rs if cpu_per_epoch(cost, r) is not None]
                per_epoch = ", ".join(sorted({"%.2f %s" % (c, r["precision"]) for r, c in costed}))
                totals = [r["epochs_run"] * c for r, c in costed]
                # a mean over runs at different precisions would mean nothing: list them then
                total = (", ".join("%.0f" % t for t in totals) if len({r["precision"] for r, _ in costed}) > 1
                         else ms(totals, "%.0f") if totals else "")
                if costed and len(costed) < len(rs):
                    total += " (seed%s %s only)" % ("s" if len(costed) > 1 else "",
                                                    ",".join(str(r["seed"]) for r, _ in costed))
                row += " %s | %s |" % (per_epoch, total)
            lines.append(row)
    return "\n".join(lines)


def by_seed(runs):
    """Test (validation) error % per seed and k at lambda 0.3: the runs share a seed's initial
    weights, shuffling and noise, so the columns of one row differ by the penalty's estimate alone."""
    lines = ["| model | seed | " + " | ".join("exact" if k == 0 else "k = %d" % k for k in KS) + " |",
             "|---|---|" + "---|" * len(KS)]
    for model in MODELS:
        for seed in sorted({r["seed"] for r in runs if r["model"] == model}):
            cells = []
            for k in KS:
                rs = [r for r in runs if r["model"] == model and r["k"] == k and r["seed"] == seed
                      and r["lambda"] == 0.3 and not r["recovery"]]
                if not rs:
                    cells.append("")
                elif not rs[0]["complete"]:
                    cells.append("running (epoch %d)" % rs[0]["epochs_run"])
                else:
                    cells.append("%.2f (%.2f)%s" % (100 * rs[0]["test"], 100 * rs[0]["valid"],
                                                    " bf16" if rs[0]["precision"] == "bf16" else ""))
            lines.append("| %s | %d | %s |" % (model, seed, " | ".join(cells)))
    return "\n".join(lines)


def paired(runs):
    """Per model and k: the difference from the exact run of the same seed, test and validation
    error in points, mean (and sd with two seeds or more) over the seeds both have."""
    lines = ["| model | k | seeds | test − exact (points) | validation − exact (points) |", "|---|---|---|---|---|"]
    for model in MODELS:
        exact = {r["seed"]: r for r in runs if r["model"] == model and r["k"] == 0 and r["complete"]
                 and not r["recovery"]}
        for k, rec in [(k, False) for k in KS[:-1]] + [(k, True) for k in KS]:  # exact + recovery too
            rs = [r for r in runs if r["model"] == model and r["k"] == k and r["lambda"] == 0.3 and r["complete"]
                  and r["seed"] in exact and r["recovery"] == rec]
            if not rs:
                continue
            dt = [100 * (r["test"] - exact[r["seed"]]["test"]) for r in rs]
            dv = [100 * (r["valid"] - exact[r["seed"]]["valid"]) for r in rs]
            f = lambda xs: ("%+.2f" % xs[0]) if len(xs) == 1 else "%+.2f ± %.2f" % (statistics.mean(xs),
                                                                                   statistics.stdev(xs))
            lines.append("| %s | %s | %s | %s | %s |" % (model, label(k, rec), ",".join(str(r["seed"]) for r in rs),
                                                         f(dt), f(dv)))
    return "\n".join(lines)


def variance_table():
    """The measured variance against the formula, from projection_variance.py's records
    (variance-train.json: Table 1's seed-1 models; variance-init.json: an untrained network)."""
    lines = ["| model | k | sample Var / formula (mean of batches) | z, Var against formula (per batch) | "
             "z, mean against exact (per batch) | sd / penalty | E‖g_k − g‖² / ‖g‖² | its 99th percentile, max | "
             "projection / sampling noise of the step's gradient |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in ("variance-train.json", "variance-init.json"):
        path = os.path.join(PROJ, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            v = json.load(f)
        for model, r in v["models"].items():
            name = ("untrained " + model[len("init:"):] if model.startswith("init")
                    else model.split("-seed")[0] + " (Table 1, seed 1)")
            for k, sm in r["summary"].items():
                tails = ("%.2f, %.2f" % (sm["grad_rel_err_p99"], sm["grad_rel_err_max"])
                         if "grad_rel_err_p99" in sm and sm["grad_rel_err_p99"] == sm["grad_rel_err_p99"] else "")
                lines.append("| %s | %s | %.3f | %s | %s | %.3f | %.2f | %s | %.2g |" % (
                    name, k, sm["var_over_formula"], " ".join("%+.1f" % z for z in sm["z_var"]),
                    " ".join("%+.1f" % z for z in sm["z_mean"]), sm["rel_sd_value"], sm["grad_rel_var"], tails,
                    sm["proj_over_sampling"]))
    return "\n".join(lines)


def plot(runs, cost, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("wall-clock seconds (recorded; shared machine)", lambda r: r["seconds"])]
    if cost:
        def cpu(r):  # None where r's setting was not measured at r's precision
            c = cpu_per_epoch(cost, r)
            return None if c is None else r["epochs_run"] * c
        panels.append(("CPU seconds (epochs run x measured CPU s / epoch)", cpu))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    colors = {"jacobian": "tab:blue", "nj": "tab:red"}
    for ax, (xlabel, xf) in zip(axes[0], panels):
        for model in MODELS:
            for k, rec, bf16 in [(k, rec, bf16) for k in KS for rec in (False, True) for bf16 in (False, True)]:
                rs = [r for r in runs if r["model"] == model and r["k"] == k and r["complete"]
                      and r["lambda"] == 0.3 and r["recovery"] == rec and (r["precision"] == "bf16") == bf16
                      and xf(r) is not None]
                if not rs:
                    continue
                # a run with --recovery: the same marker, hollow; a bfloat16 run: a star
                ax.scatter([xf(r) for r in rs], [100 * r["test"] for r in rs], marker="*" if bf16 else MARKERS[k],
                           facecolors="none" if rec else colors[model], edgecolors=colors[model],
                           s=80 if bf16 else 45, alpha=0.8,
                           label="%s, %s%s" % (model, label(k, rec) if k == 0 else "k = " + label(k, rec),
                                               " in bf16" if bf16 else ""))
        ax.set_xscale("log")
        ax.set_xlabel(xlabel + " per run")
        ax.set_ylabel("test error %")
        ax.grid(alpha=0.3)
    for ax in axes[0]:  # each panel its own: a panel may lack runs whose cost was not measured
        ax.legend(fontsize=8)
    fig.suptitle(TITLE + ", lambda 0.3: exact penalty against k projections (one marker per run)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plot")
    ap.add_argument("--variance", action="store_true", help="print the variance table only")
    ap.add_argument("--dataset", default="usps", choices=("usps", "mnist"))
    a = ap.parse_args()
    global FINAL, PROJ, MODELS, TITLE
    FINAL = os.path.join(ROOT, "docs", "results", a.dataset, "final")
    PROJ = os.path.join(ROOT, "docs", "results", a.dataset, "projections")
    if a.dataset == "mnist":
        MODELS, TITLE = ("nj",), "MNIST 784-1000-1000-10"
    if a.variance:
        print(variance_table())
        return
    runs = load_runs()
    cost = load_cost()
    print(table(runs, cost))
    print()
    print(by_seed(runs))
    print()
    print(paired(runs))
    pending = [r for r in runs if not r["complete"]]
    if pending:
        print("\nNot finished: " + ", ".join("%s (%s, epoch %d)" % (r["path"], r["status"], r["epochs_run"])
                                             for r in pending))
    if a.plot:
        plot(runs, cost, a.plot)


if __name__ == "__main__":
    main()
