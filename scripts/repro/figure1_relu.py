#!/usr/bin/env python3
"""Figure 1 for rectifier networks (issue 24, item 3).

The report's Figure 1 shows tanh units pushed into saturation (|h| near 1,
where tanh' is 0) by the Jacobian penalty. A ReLU unit has no saturation at
both ends: its derivative is 0 where it is off (h = 0) and 1 where it is on,
so the penalty can only shrink ||J|| by turning units off or by smaller
weights. The right picture is therefore how many units are off: for each
test digit, the fraction of hidden units at exactly 0, as a histogram per
model, with the mean in the legend; and the density of the values of the
units that are on.

  figure1_relu.py data DIR    DIR/final/models/MODEL-seed1.jn (usps-relu.sh)
      -> docs/figures/fig1_usps_relu.csv
  figure1_relu.py plot        -> docs/figures/fig1_usps_relu.png
"""
import csv
import json
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIG = os.path.join(REPO, "docs", "figures")
CSV = os.path.join(FIG, "fig1_usps_relu.csv")
MODELS = ["mlp", "noise", "jacobian", "nj"]
LABELS = {"mlp": "MLP", "noise": "MLP + Noise", "jacobian": "MLP + Jacobian", "nj": "MLP + Noise + Jacobian"}
BINS = 40


def data(d):
    sys.path.insert(0, os.path.join(REPO, "python"))
    import numpy as np
    import jacnet
    X, _ = jacnet.usps_splits()["test"]
    os.makedirs(FIG, exist_ok=True)
    with open(CSV, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "kind", "bin_low", "bin_high", "density", "mean_fraction_off"])
        for m in MODELS:
            path = os.path.join(d, "final", "models", "%s-seed1.jn" % m)
            if not os.path.exists(path):
                continue
            rec = json.load(open(os.path.join(d, "final", "%s-seed1.json" % m)))
            # The model saw its inputs at the scale it was trained at.
            Xm = 2 * X - 1 if rec["config"].get("input_scale", "01") == "pm1" else X
            net = jacnet.Net.load(path)
            h = np.asarray(net.hidden_activations(Xm, 1))
            net.close()
            off = np.mean(h == 0, axis=1)
            mean_off = float(np.mean(off))
            dens, edges = np.histogram(off, bins=BINS, range=(0, 1), density=True)
            for i in range(BINS):
                w.writerow([m, "fraction_off", "%.3f" % edges[i], "%.3f" % edges[i + 1], "%.5f" % dens[i],
                            "%.4f" % mean_off])
            on = h[h > 0]
            top = float(np.quantile(on, 0.999)) if on.size else 1.0
            dens, edges = np.histogram(on, bins=BINS, range=(0, top), density=True)
            for i in range(BINS):
                w.writerow([m, "value_on", "%.4f" % edges[i], "%.4f" % edges[i + 1], "%.5f" % dens[i],
                            "%.4f" % mean_off])
    print("wrote " + CSV)


def plot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(CSV)))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for m in MODELS:
        off = [r for r in rows if r["model"] == m and r["kind"] == "fraction_off"]
        on = [r for r in rows if r["model"] == m and r["kind"] == "value_on"]
        if not off:
            continue
        mid = lambda r: 0.5 * (float(r["bin_low"]) + float(r["bin_high"]))  # noqa: E731
        a.plot([mid(r) for r in off], [float(r["density"]) for r in off],
               label="%s (mean %.0f%% off)" % (LABELS[m], 100 * float(off[0]["mean_fraction_off"])))
        b.plot([mid(r) for r in on], [float(r["density"]) for r in on], label=LABELS[m])
    a.set_xlabel("fraction of the hidden units at 0 (per test digit)")
    a.set_ylabel("density")
    a.legend(fontsize=8)
    b.set_xlabel("value of a unit that is on (h > 0)")
    b.set_yscale("log")
    b.legend(fontsize=8)
    fig.suptitle("Figure 1 for ReLU hidden units (USPS test set)")
    fig.tight_layout()
    fig.savefig(CSV[:-4] + ".png", dpi=110)
    print("wrote " + CSV[:-4] + ".png")


if __name__ == "__main__":
    if sys.argv[1:2] == ["data"] and len(sys.argv) == 3:
        data(sys.argv[2])
    elif sys.argv[1:] == ["plot"]:
        plot()
    else:
        sys.exit(__doc__)
