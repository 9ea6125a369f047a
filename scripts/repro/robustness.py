#!/usr/bin/env python3
"""Robustness of the Table 1 models (issue 25, item 3): test error clean,
under Gaussian noise (Figure 2's stds), and under FGSM and PGD attacks
(L-infinity, on the squared error the models were trained with; `jacnet
eval --attack`, see man/jacnet.1), for every MODEL-seedS.jn in a folder.

  robustness.py run DATASET MODELDIR OUTDIR [options]
      For each {mlp,l2,noise,jacobian,nj}-seed*.jn in MODELDIR: one `jacnet
      eval` with the noise stds and FGSM, one per PGD step count; writes
      OUTDIR/MODEL-seedS.json (the eval commands, their records, the model
      file's sha256, the machine: scripts/repro/machine.sh) and
      OUTDIR/robustness.csv. Before a model is used its clean test error is
      checked against its training record (MODELDIR/../MODEL-seedS.json, or
      --records DIR): a model that is not the record's is refused. A record
      already in OUTDIR with the same settings is kept (--force redoes it).
  robustness.py summary OUTDIR        OUTDIR/*.json -> OUTDIR/robustness.csv
  robustness.py table OUTDIR          the markdown tables of docs/RESULTS.md
  robustness.py plot OUTDIR PNG       error against eps (FGSM, PGD) and noise std

robustness.csv, one row per measurement:
  dataset, model, seed, kind (noise | fgsm | pgd), steps (PGD only),
  magnitude (noise: the std, 0 is the clean error; attacks: eps, the
  L-infinity radius in the units of the inputs the model reads, [0, 1] for
  the report's data sets as loaded), error_percent, loss (attacks: the mean
  squared error of the perturbed inputs).

Defaults: eps 0.05, 0.1, 0.2; PGD 10 steps of 2.5 eps / 10 from a seeded
uniform start (seed 1); noise seed 1; one thread, nice 5.
"""
import argparse
import csv
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from figures import LABELS, MODELS, STDS  # noqa: E402  (Figure 2's models, labels and noise levels)

EPS = [0.05, 0.1, 0.2]
CSV_COLUMNS = ["dataset", "model", "seed", "kind", "steps", "magnitude", "error_percent", "loss"]
NAME = re.compile(r"^(%s)-seed(\d+)\.jn$" % "|".join(MODELS))


def num_list(s):
    return [float(v) for v in s.split(",") if v != ""]


def fmt(v):
    return "%g" % v


def rel(path):
    """Paths inside the repository are recorded relative to it."""
    a = os.path.abspath(path)
    return os.path.relpath(a, REPO) if a.startswith(REPO + os.sep) else a


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def machine(jacnet):
    out = subprocess.run(["sh", os.path.join(HERE, "machine.sh"), jacnet], capture_output=True, text=True,
                         cwd=REPO).stdout
    info = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if v:
            info[k.strip()] = v.strip()
    return out, info


def find_models(modeldir):
    found = []
    for p in glob.glob(os.path.join(modeldir, "*.jn")):
        m = NAME.match(os.path.basename(p))
        if m:
            found.append((MODELS.index(m.group(1)), int(m.group(2)), m.group(1), p))
    return [(name, seed, p) for _, seed, name, p in sorted(found)]


def training_record(records_dir, name, seed):
    p = os.path.join(records_dir, "%s-seed%d.json" % (name, seed))
    if not os.path.exists(p):
        return None, None
    try:
        return p, json.load(open(p))
    except ValueError:
        return p, None      # a record being written by a run in progress


def settings(args):
    return {"eps": args.eps, "pgd_steps": args.pgd_steps, "noise_std": args.noise_std, "seed": args.seed,
            "test": rel(args.test) if args.test else None}


def run_eval(args, model, extra, input_scale):
    cmd = [args.jacnet, "eval", rel(model)]
    cmd += ["--test", rel(args.test)] if args.test else ["--dataset", args.dataset]
    if input_scale != "01":
        cmd += ["--input-scale", input_scale]
    cmd += extra + ["--seed", str(args.seed), "--threads", str(args.threads)]
    tmp = os.path.join(args.outdir, ".eval.tmp.json")
    t0 = time.time()
    r = subprocess.run(["nice", "-n", str(args.nice)] + cmd + ["--json", tmp], capture_output=True, text=True,
                       cwd=REPO)
    if r.returncode != 0:
        sys.exit("robustness.py: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    out = json.load(open(tmp))
    os.remove(tmp)
    shown = ["jacnet" if cmd[0] == args.jacnet else cmd[0]] + cmd[1:]
    return {"command": " ".join(shlex.quote(c) for c in shown), "seconds": round(time.time() - t0, 3),
            "output": out}


def evaluate(args, name, seed, model, mach_info, command):
    records_dir = args.records or os.path.join(os.path.dirname(os.path.abspath(model)), "..")
    rpath, trec = training_record(records_dir, name, seed)
    input_scale = ((trec or {}).get("config") or {}).get("input_scale") or "01"
    # Radii and stds are given in the units of the [0, 1] data for every
    # model, so that the rows compare: a model trained at [-1, 1] reads
    # inputs twice as spread (eval clips it to [-1, 1]), so it is attacked
    # with twice the numbers, and its record gives them back in [0, 1] units.
    u = 2.0 if input_scale == "pm1" else 1.0
    eps = ",".join(fmt(u * e) for e in args.eps)
    evals = [run_eval(args, model, ["--noise-std", ",".join(fmt(u * x) for x in args.noise_std),
                                    "--attack", "fgsm", "--eps", eps], input_scale)]
    for steps in args.pgd_steps:
        evals.append(run_eval(args, model, ["--attack", "pgd", "--eps", eps, "--steps", str(steps)], input_scale))
    first = evals[0]["output"]
    n = first["examples"]
    noise = [{"std": r["noise_std"] / u, "error": r["error"]} for r in first["results"]]
    clean = next(r["error"] for r in noise if r["std"] == 0)
    for e in evals[1:]:
        if e["output"]["results"][0]["error"] != clean:
            sys.exit("robustness.py: %s: two evals disagree on the clean error" % model)
    check = None
    if trec is not None and trec.get("test_error") is not None:
        same = round(clean * n) == round(trec["test_error"] * n)
        check = {"training_record": rel(rpath), "training_test_error": trec["test_error"], "same": same}
        if not same and not args.no_check:
            sys.exit("robustness.py: %s gives %.4f%% clean, its training record %s says %.4f%%: not that model"
                     % (model, 100 * clean, rpath, 100 * trec["test_error"]))
    elif rpath is None:
        print("robustness.py: no training record for %s in %s (not checked)" % (model, records_dir), file=sys.stderr)
    fgsm = first["attack"]
    return {
        "tool": "scripts/repro/robustness.py",
        "command": command,
        "dataset": rel(args.test) if args.test else args.dataset,
        "model": name,
        "label": LABELS[name],
        "seed": seed,
        "model_file": rel(model),
        "model_sha256": sha256(model),
        "check": check,
        "input_scale": input_scale,
        "units": "eps, step sizes and noise stds in units of the [0, 1] data" + (
            " (the model reads [-1, 1]: it was attacked with twice these)" if u != 1 else ""),
        "examples": n,
        "settings": settings(args),
        "clean_error": clean,
        "noise": {"seed": first["seed"], "results": noise},
        "fgsm": {"loss": fgsm["loss"], "clip": [fgsm["clip_min"], fgsm["clip_max"]],
                 "results": [{"eps": r["eps"] / u, "error": r["error"], "loss": r["loss"]} for r in fgsm["results"]]},
        "pgd": [{"steps": e["output"]["attack"]["steps"], "seed": e["output"]["attack"]["seed"],
                 "results": [{"eps": r["eps"] / u, "step_size": r["step_size"] / u, "error": r["error"],
                              "loss": r["loss"]}
                             for r in e["output"]["attack"]["results"]]} for e in evals[1:]],
        "evals": evals,
        "machine": mach_info,
    }


def rows_of(rec):
    """The CSV rows of one record."""
    base = {"dataset": rec["dataset"], "model": rec["model"], "seed": rec["seed"]}
    rows = [dict(base, kind="noise", steps="", magnitude=fmt(r["std"]), error_percent="%.2f" % (100 * r["error"]),
                 loss="") for r in rec["noise"]["results"]]
    rows += [dict(base, kind="fgsm", steps="", magnitude=fmt(r["eps"]), error_percent="%.2f" % (100 * r["error"]),
                  loss="%.6g" % r["loss"]) for r in rec["fgsm"]["results"]]
    for p in rec["pgd"]:
        rows += [dict(base, kind="pgd", steps=p["steps"], magnitude=fmt(r["eps"]),
                      error_percent="%.2f" % (100 * r["error"]), loss="%.6g" % r["loss"]) for r in p["results"]]
    return rows


def load_records(outdir):
    recs = []
    for p in glob.glob(os.path.join(outdir, "*-seed*.json")):
        m = NAME.match(os.path.basename(p)[:-len(".json")] + ".jn")
        if m:
            recs.append(json.load(open(p)))
    return sorted(recs, key=lambda r: (MODELS.index(r["model"]), r["seed"]))


def summary(outdir):
    recs = load_records(outdir)
    path = os.path.join(outdir, "robustness.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CSV_COLUMNS)
        w.writeheader()
        for r in recs:
            w.writerows(rows_of(r))
    return path, len(recs)


def cmd_run(argv):
    ap = argparse.ArgumentParser(prog="robustness.py run")
    ap.add_argument("dataset", help="mnist, mnist-binary or usps")
    ap.add_argument("modeldir")
    ap.add_argument("outdir")
    ap.add_argument("--eps", type=num_list, default=EPS)
    ap.add_argument("--pgd-steps", type=lambda s: [int(v) for v in s.split(",")], default=[10],
                    help="PGD step counts, the first one plotted (default 10)")
    ap.add_argument("--noise-std", type=num_list, default=STDS, help="default: Figure 2's, 0 to 0.5")
    ap.add_argument("--seed", type=int, default=1, help="noise and PGD start seed (default 1)")
    ap.add_argument("--models", default=",".join(MODELS), help="which of %s (default all)" % ",".join(MODELS))
    ap.add_argument("--seeds", default=None, help="which training seeds (default every one found)")
    ap.add_argument("--records", default=None, help="training records (default MODELDIR/..)")
    ap.add_argument("--no-check", action="store_true", help="use a model whose clean error differs from its record")
    ap.add_argument("--test", default=None, help="evaluate this file instead of the data set (tests)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nice", type=int, default=5)
    ap.add_argument("--force", action="store_true", help="redo records already in OUTDIR")
    ap.add_argument("--jacnet", default=os.environ.get("JACNET", os.path.join(REPO, "build", "bin", "jacnet")))
    args = ap.parse_args(argv)
    if 0 not in args.noise_std:
        args.noise_std = [0.0] + args.noise_std
    args.jacnet = os.path.abspath(args.jacnet)
    os.makedirs(args.outdir, exist_ok=True)
    wanted = set(args.models.split(","))
    seeds = None if args.seeds is None else {int(s) for s in args.seeds.split(",")}
    todo = [(n, s, p) for n, s, p in find_models(args.modeldir) if n in wanted and (seeds is None or s in seeds)]
    if not todo:
        sys.exit("robustness.py: no {%s}-seedS.jn in %s" % (",".join(sorted(wanted)), args.modeldir))
    command = " ".join(shlex.quote(a) for a in ["scripts/repro/robustness.py", "run"] + [
        rel(a) if os.path.exists(a) else a for a in argv])
    text, info = machine(args.jacnet)
    with open(os.path.join(args.outdir, "machine.txt"), "a") as f:
        f.write(text + "\n")
    for name, seed, model in todo:
        out = os.path.join(args.outdir, "%s-seed%d.json" % (name, seed))
        if os.path.exists(out) and not args.force:
            old = json.load(open(out))
            if old.get("settings") == settings(args) and old.get("model_sha256") == sha256(model):
                print("%s: kept (same model and settings; --force redoes it)" % rel(out))
                continue
        rec = evaluate(args, name, seed, model, info, command)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rec, f, indent=1)
            f.write("\n")
        os.replace(tmp, out)
        print("%-9s seed %d  clean %5.2f%%  fgsm %s  pgd-%d %s  (%.0f s)" % (
            name, seed, 100 * rec["clean_error"],
            " ".join("%.2f" % (100 * r["error"]) for r in rec["fgsm"]["results"]), rec["pgd"][0]["steps"],
            " ".join("%.2f" % (100 * r["error"]) for r in rec["pgd"][0]["results"]),
            sum(e["seconds"] for e in rec["evals"])))
    path, n = summary(args.outdir)
    print("wrote %s (%d records)" % (rel(path), n))
    return 0


def cmd_table(outdir, out=sys.stdout):
    """Markdown: every record; with several seeds of a model, their mean and
    sd; then the MLP's error minus each model's, paired by seed."""
    import statistics
    recs = load_records(outdir)
    if not recs:
        sys.exit("robustness.py: no records in %s" % outdir)
    eps = [r["eps"] for r in recs[0]["fgsm"]["results"]]
    steps = recs[0]["pgd"][0]["steps"]
    stds = [s for s in (0.1, 0.3, 0.5) if any(r["std"] == s for r in recs[0]["noise"]["results"])]

    def err(res, key, v):
        return next(100 * r["error"] for r in res if r[key] == v)

    cols = (["clean"] + ["FGSM %g" % e for e in eps] + ["PGD-%d %g" % (steps, e) for e in eps]
            + ["noise σ %g" % s for s in stds])

    def header(first):
        head = first + cols
        out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")

    def mean_sd(xs, signed=False):
        f = "%+.2f" if signed else "%.2f"
        if len(xs) == 1:
            return f % xs[0]
        return (f + " ± %.2f") % (statistics.mean(xs), statistics.stdev(xs))

    vals = {}
    header(["model", "seed"])
    for r in recs:
        if r["pgd"][0]["steps"] != steps or [x["eps"] for x in r["fgsm"]["results"]] != eps:
            sys.exit("robustness.py: %s-seed%d was run with other settings" % (r["model"], r["seed"]))
        v = ([r["clean_error"] * 100] + [err(r["fgsm"]["results"], "eps", e) for e in eps]
             + [err(r["pgd"][0]["results"], "eps", e) for e in eps]
             + [err(r["noise"]["results"], "std", s) for s in stds])
        vals[(r["model"], r["seed"])] = v
        out.write("| %s | %d | %s |\n" % (r["label"], r["seed"], " | ".join("%.2f" % x for x in v)))
    models = [m for m in MODELS if any(k[0] == m for k in vals)]
    seeds = {m: sorted(s for k, s in vals if k == m) for m in models}
    if any(len(s) > 1 for s in seeds.values()):
        out.write("\nMean ± sd over seeds:\n\n")
        header(["model", "seeds"])
        for m in models:
            cells = [mean_sd([vals[(m, s)][i] for s in seeds[m]]) for i in range(len(cols))]
            out.write("| %s | %s | %s |\n" % (LABELS[m], ",".join(map(str, seeds[m])), " | ".join(cells)))
    # Points of error the regularized models save against the MLP of the same seed.
    paired = {m: [s for s in seeds[m] if s in seeds.get("mlp", [])] for m in models if m != "mlp"}
    paired = {m: s for m, s in paired.items() if s}
    if paired:
        out.write("\nError of the MLP minus the model's, same seed (points; > 0: the model is more robust%s):\n\n"
                  % ("; mean ± sd over seeds" if any(len(s) > 1 for s in paired.values()) else ""))
        header(["model", "seeds"])
        for m, ss in paired.items():
            cells = [mean_sd([vals[("mlp", s)][i] - vals[(m, s)][i] for s in ss], signed=True)
                     for i in range(len(cols))]
            out.write("| %s | %s | %s |\n" % (LABELS[m], ",".join(map(str, ss)), " | ".join(cells)))
    return 0


def cmd_plot(outdir, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("robustness.py plot needs matplotlib (Debian: apt-get install python3-matplotlib)")
    rows = list(csv.DictReader(open(os.path.join(outdir, "robustness.csv"))))
    if not rows:
        sys.exit("robustness.py: %s/robustness.csv is empty" % outdir)
    ds = rows[0]["dataset"]
    pgd_steps = next(r["steps"] for r in rows if r["kind"] == "pgd")
    seeds = {}
    for r in rows:
        seeds.setdefault(r["model"], set()).add(r["seed"])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = [("fgsm", "", "FGSM", "eps (L-infinity radius)"),
              ("pgd", pgd_steps, "PGD, %s steps" % pgd_steps, "eps (L-infinity radius)"),
              ("noise", "", "Gaussian noise (Figure 2)", "std of Gaussian noise added to the test inputs")]
    import statistics
    for ax, (kind, steps, title, xlabel) in zip(axes, panels):
        for m in MODELS:
            ss = sorted(seeds.get(m, ()), key=int)
            if not ss:
                continue
            curves = []
            for s in ss:
                clean = next(float(r["error_percent"]) for r in rows if r["model"] == m and r["seed"] == s
                             and r["kind"] == "noise" and float(r["magnitude"]) == 0)
                pts = {float(r["magnitude"]): float(r["error_percent"]) for r in rows
                       if r["model"] == m and r["seed"] == s and r["kind"] == kind and r["steps"] == steps}
                if kind != "noise":
                    pts[0.0] = clean
                curves.append(pts)
            xs = sorted(set.intersection(*(set(c) for c in curves)))
            ys = [statistics.mean(c[x] for c in curves) for x in xs]
            if len(ss) > 1:
                sd = [statistics.stdev(c[x] for c in curves) for x in xs]
                ax.errorbar(xs, ys, yerr=sd, marker="o", ms=3, capsize=2,
                            label="%s (mean ± sd, seeds %s)" % (LABELS[m], ",".join(ss)))
            else:
                ax.plot(xs, ys, marker="o", ms=3, label=LABELS[m] + ("" if ss == ["1"] else " (seed %s)" % ss[0]))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error (%)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Robustness (%s test set): error against eps, attacks on the squared error" % ds)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print("wrote %s" % rel(png))
    return 0


def main(argv):
    if len(argv) >= 1 and argv[0] == "run":
        return cmd_run(argv[1:])
    if len(argv) == 2 and argv[0] == "summary":
        path, n = summary(argv[1])
        print("wrote %s (%d records)" % (rel(path), n))
        return 0
    if len(argv) == 2 and argv[0] == "table":
        return cmd_table(argv[1])
    if len(argv) == 3 and argv[0] == "plot":
        return cmd_plot(argv[1], argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
