#!/usr/bin/env python3
"""Curvature of trained models: mean ||J_F||^2 and ||H_F||^2 over a data set.

    scripts/curvature_table.py [--dataset usps|mnist|mnist-binary] [--data DIR]
                               [--split test|valid|train] [--limit N]
                               [--json FILE] MODEL.jn [NAME=MODEL.jn ...]

For each model file (jn_net_save / `jacnet train --save`), prints one row of
a markdown table: the architecture, the classification error on the split,
and the means over its examples of ||J_F(x)||_F^2 (Net.jacobian_sqnorm) and
of ||H_F(x)||^2 = sum_k ||d^2 F_k/dx^2||_F^2 (Net.hessian_sqnorm), each with
its standard error and median. NAME=PATH labels a row (default: the file
name). --limit takes the first N examples of the split (deep, wide models
cost ~0.1 s an example: docs/METHOD.md). Data come from DIR (default
$JACNET_DATA, else ./data) as in jacnet.usps_splits / mnist_splits.
Progress goes to stderr when it is a terminal; the table to stdout.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import jacnet

CHUNK = 256


def load_split(dataset, data_dir, split):
    if dataset == "usps":
        return jacnet.usps_splits(data_dir)[split]
    if dataset in ("mnist", "mnist-binary"):
        return jacnet.mnist_splits(data_dir, binarize=dataset == "mnist-binary")[split]
    raise ValueError("dataset: %r, one of usps, mnist, mnist-binary" % (dataset,))


def _stats(v):
    v = np.asarray(v, dtype=np.float64)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0,
            "median": float(np.median(v))}


def curvature(net, X, y, progress=None):
    """{"n", "error", "jacobian": stats, "hessian": stats, "seconds"} of net on rows X (labels y)."""
    if X.shape[1] != net.n_inputs:
        raise ValueError("the model takes %d inputs, the data have %d" % (net.n_inputs, X.shape[1]))
    t0 = time.time()
    j2, h2 = np.empty(len(X)), np.empty(len(X))
    for start in range(0, len(X), CHUNK):
        rows = X[start:start + CHUNK]
        j2[start:start + len(rows)] = net.jacobian_sqnorm(rows)
        h2[start:start + len(rows)] = net.hessian_sqnorm(rows)
        if progress:
            progress(start + len(rows), len(X))
    return {"n": int(len(X)), "error": float(net.error_rate(X, y)), "jacobian": _stats(j2),
            "hessian": _stats(h2), "seconds": time.time() - t0}


def markdown(rows, title):
    out = [title, "",
           "| model | architecture | error | mean ‖J_F‖² ± SE | median ‖J_F‖² | mean ‖H_F‖² ± SE | median ‖H_F‖² |"
           " seconds |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %.2f%% | %.4g ± %.2g | %.4g | %.4g ± %.2g | %.4g | %.0f |" % (
            r["name"], r["architecture"], 100 * r["error"], r["jacobian"]["mean"], r["jacobian"]["se"],
            r["jacobian"]["median"], r["hessian"]["mean"], r["hessian"]["se"], r["hessian"]["median"],
            r["seconds"]))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model files, optionally NAME=PATH")
    ap.add_argument("--dataset", default="usps", choices=["usps", "mnist", "mnist-binary"])
    ap.add_argument("--data", default=None, help="data directory (default $JACNET_DATA, else ./data)")
    ap.add_argument("--split", default="test", choices=["test", "valid", "train"])
    ap.add_argument("--limit", type=int, default=0, help="use only the first N examples (0: all)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON here")
    a = ap.parse_args(argv)

    X, y = load_split(a.dataset, a.data, a.split)
    if a.limit > 0:
        X, y = X[:a.limit], y[:a.limit]
    tty = sys.stderr.isatty()
    rows = []
    for spec in a.models:
        name, path = spec.split("=", 1) if "=" in spec and not os.path.exists(spec) else (None, spec)
        name = name or os.path.basename(path)
        with jacnet.Net.load(path) as net:
            progress = (lambda done, total: print("\r%s: %d/%d" % (name, done, total), end="", file=sys.stderr)) \
                if tty else None
            r = curvature(net, X, y, progress)
            if tty:
                print(file=sys.stderr)
            r.update(name=name, path=path, architecture="%s %s/%s" % ("-".join(map(str, net.sizes)), net.hidden,
                                                                       net.output))
            rows.append(r)
    title = "Curvature over the %s %s set (%d examples): `%s`" % (
        a.dataset, a.split, len(X), " ".join(["scripts/curvature_table.py"] + (argv if argv is not None
                                                                                else sys.argv[1:])))
    print(markdown(rows, title))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"dataset": a.dataset, "split": a.split, "examples": int(len(X)), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
