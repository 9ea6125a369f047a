#!/usr/bin/env python3
"""The report's Figures 1 and 2 from the selected models, in two steps so the
pictures can be redrawn from committed numbers alone:

  figures.py data  DATASET   (needs the models and the data: writes CSVs)
      docs/figures/fig2_DATASET.csv: test error (%) against the std of Gaussian
          noise added to the test inputs, 0 to 0.5, for the five selected
          models (jacnet eval, seed 1 of each model, noise seed 1);
      docs/figures/fig1_DATASET.csv: normalized histograms (50 bins on
          [-1, 1]) of the hidden activations on the test set.
  figures.py plot  DATASET   (matplotlib: CSV -> PNG in docs/figures/)
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIG = os.path.join(REPO, "docs", "figures")
MODELS = ["mlp", "l2", "noise", "jacobian", "nj"]
LABELS = {"mlp": "MLP", "l2": "MLP + L2", "noise": "MLP + Noise", "jacobian": "MLP + Jacobian",
          "nj": "MLP + Noise + Jacobian"}
STDS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
BINS = 50


def model_path(ds, m):
    return os.path.join(REPO, "docs", "results", ds, "final", "models", "%s-seed1.jn" % m)


def data(ds):
    jacnet = os.environ.get("JACNET", os.path.join(REPO, "build", "bin", "jacnet"))
    os.makedirs(FIG, exist_ok=True)
    have = [m for m in MODELS if os.path.exists(model_path(ds, m))]
    with open(os.path.join(FIG, "fig2_%s.csv" % ds), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "noise_std", "test_error_percent"])
        for m in have:
            with tempfile.NamedTemporaryFile(suffix=".json") as t:
                subprocess.run([jacnet, "eval", model_path(ds, m), "--dataset", ds, "--noise-std",
                                ",".join(map(str, STDS)), "--seed", "1", "--json", t.name],
                               check=True, stdout=subprocess.DEVNULL)
                for r in json.load(open(t.name))["results"]:
                    w.writerow([m, r["noise_std"], "%.2f" % (100 * r["error"])])
    sys.path.insert(0, os.path.join(REPO, "python"))
    import numpy as np
    import jacnet
    X, _ = (jacnet.mnist_splits if ds.startswith("mnist") else jacnet.usps_splits)(
        **({"binarize": True} if ds == "mnist-binary" else {}))["test"]
    edges = np.linspace(-1, 1, BINS + 1)
    with open(os.path.join(FIG, "fig1_%s.csv" % ds), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "bin_low", "bin_high", "density", "saturated_fraction"])
        for m in have:
            net = jacnet.Net.load(model_path(ds, m))
            h = net.hidden_activations(X, 1).ravel()
            dens, _ = np.histogram(h, bins=edges, density=True)
            sat = float(np.mean(np.abs(h) > 0.99))
            for i in range(BINS):
                w.writerow([m, "%.3f" % edges[i], "%.3f" % edges[i + 1], "%.5f" % dens[i], "%.4f" % sat])
            net.close()
    print("wrote fig1_%s.csv and fig2_%s.csv for %s" % (ds, ds, ", ".join(have)))


def plot(ds):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("figures.py plot needs matplotlib (Debian: apt-get install python3-matplotlib)")
    rows = list(csv.DictReader(open(os.path.join(FIG, "fig2_%s.csv" % ds))))
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in MODELS:
        pts = [(float(r["noise_std"]), float(r["test_error_percent"])) for r in rows if r["model"] == m]
        if pts:
            ax.plot(*zip(*pts), marker="o", ms=3, label=LABELS[m])
    ax.set_xlabel("std of Gaussian noise added to the test inputs")
    ax.set_ylabel("test error (%)")
    ax.set_title("Figure 2 (%s): test error under input noise" % ds)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, "fig2_%s.png" % ds), dpi=110)
    rows = list(csv.DictReader(open(os.path.join(FIG, "fig1_%s.csv" % ds))))
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in MODELS:
        pts = [(0.5 * (float(r["bin_low"]) + float(r["bin_high"])), float(r["density"])) for r in rows
               if r["model"] == m]
        if pts and m in ("mlp", "jacobian", "nj"):
            sat = next(float(r["saturated_fraction"]) for r in rows if r["model"] == m)
            ax.plot(*zip(*pts), label="%s (|h| > 0.99: %.0f%%)" % (LABELS[m], 100 * sat))
    ax.set_xlabel("hidden activation (tanh)")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.set_title("Figure 1 (%s test set): hidden activations" % ds)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, "fig1_%s.png" % ds), dpi=110)
    print("wrote fig1_%s.png and fig2_%s.png" % (ds, ds))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("data", "plot"):
        sys.exit(__doc__)
    (data if sys.argv[1] == "data" else plot)(sys.argv[2])
