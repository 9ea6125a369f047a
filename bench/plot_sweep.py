"""plot_sweep.py - docs/perf_sweep.png from the CSV bench/sweep.py writes:
measured B2 throughput and peak memory (markers, solid float32, dashed
bfloat16) beside the analytical model (thin dotted lines, same colours).

    /usr/bin/python3 bench/plot_sweep.py [--csv docs/perf_sweep.csv] [--png docs/perf_sweep.png]

Panels: examples/s against hidden width for each batch size (depth 1, 10
outputs), for each depth (batch 100, 10 outputs), for each number of
outputs (batch 100, depth 1), and peak resident memory against width for
each batch size (depth 1, 10 outputs).
"""
import argparse
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")


def load(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("batch", "width", "depth", "outputs", "threads"):
            r[k] = int(r[k])
        for k in ("examples_per_s", "peak_mib", "model_examples_per_s", "model_mib"):
            r[k] = float(r[k])
    return rows


def panel(ax, rows, fixed, vary, y, model, title, ylabel):
    """One line per value of `vary` and per precision, against width."""
    colours = ["C0", "C1", "C2", "C3", "C4"]
    values = sorted({r[vary] for r in rows if all(r[k] == v for k, v in fixed.items())})
    for i, v in enumerate(values):
        for prec, style in (("fp32", "o-"), ("bf16", "s--")):
            pts = sorted((r["width"], r[y], r[model], r["precision_used"]) for r in rows
                         if r[vary] == v and r["precision"] == prec and all(r[k] == x for k, x in fixed.items()))
            if not pts:
                continue
            used = pts[0][3]
            label = f"{vary} {v}, {prec}" + ("" if used == prec else f" (ran {used})")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colours[i % 5], label=label)
            ax.plot([p[0] for p in pts], [p[2] for p in pts], ":", color=colours[i % 5], linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width H")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", default=os.path.join(DOCS, "perf_sweep.csv"))
    ap.add_argument("--png", default=None, help="default: the CSV's path with .png")
    a = ap.parse_args()
    rows = load(a.csv)
    png = a.png or os.path.splitext(a.csv)[0] + ".png"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    t = rows[0]["threads"] if rows else 0
    panel(axes[0][0], rows, {"depth": 1, "outputs": 10}, "batch", "examples_per_s", "model_examples_per_s",
          "784-H-10: batch size", "examples / s")
    panel(axes[0][1], rows, {"batch": 100, "outputs": 10}, "depth", "examples_per_s", "model_examples_per_s",
          "batch 100, 10 outputs: hidden layers", "examples / s")
    panel(axes[1][0], rows, {"batch": 100, "depth": 1}, "outputs", "examples_per_s", "model_examples_per_s",
          "784-H-K, batch 100: outputs", "examples / s")
    panel(axes[1][1], rows, {"depth": 1, "outputs": 10}, "batch", "peak_mib", "model_mib",
          "784-H-10: peak resident memory", "MiB")
    fig.suptitle(f"B2 (exact penalty + noise), {t} thread(s): measured (markers) and model (dotted)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print("wrote", png)


if __name__ == "__main__":
    main()
