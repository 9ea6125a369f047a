"""plot_width.py - B2 throughput (exact Jacobian penalty + noise, 784-H-10,
batch 100) against the hidden width H, libjacnet and PyTorch, in one run.

    /usr/bin/python3 bench/plot_width.py --bench build/bench/bench
        [--widths 250,500,1000,2000] [--threads 2] [--rounds 2] [--time 0.3]

For each width and round the libjacnet child and the PyTorch children
(closed form, vmap(jacrev)) run back to back (bench/compare.py's run()); the
best round is kept (for PyTorch, also the best of its two thread settings,
see compare.torch_configs). Writes docs/perf_width.csv and docs/perf_width.png.
"""
import argparse
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import run, torch_configs  # noqa: E402

DOCS = os.path.join(os.path.dirname(HERE), "docs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench")
    ap.add_argument("--widths", default="250,500,1000,2000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--time", type=float, default=0.3)
    a = ap.parse_args()
    widths = [int(w) for w in a.widths.split(",")]
    t = a.threads
    env = torch_configs(t)[0][0]
    who = ["libjacnet", "torch closed", "torch vmap"]
    best = {}
    for rnd in range(a.rounds):
        for w in widths:
            common = ["--time", str(a.time), "--width", str(w)]
            runs = [("libjacnet", [a.bench, "--child", "B2", "--threads", str(t)] + common, env)]
            for v in ("closed", "vmap"):
                for tenv, tt in torch_configs(t):
                    runs.append(("torch " + v, [sys.executable, os.path.join(HERE, "bench_torch.py"), "B2", v,
                                                str(tt)] + common, tenv))
            for k, cmd, e in runs:
                r = run(cmd, e)
                if (k, w) not in best or r[2] > best[(k, w)][2]:
                    best[(k, w)] = r
            print(f"round {rnd + 1}, width {w} done", file=sys.stderr, flush=True)

    os.makedirs(DOCS, exist_ok=True)
    csv_path = os.path.join(DOCS, "perf_width.csv")
    with open(csv_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["width", "threads"] + [k.replace(" ", "_") + "_examples_per_s" for k in who]
                     + ["libjacnet_gflops", "ratio_vs_fastest_torch"])
        for w in widths:
            jn = best[("libjacnet", w)]
            fastest = max(best[(k, w)][2] for k in who[1:])
            out.writerow([w, t] + [f"{best[(k, w)][2]:.1f}" for k in who]
                         + [f"{jn[3] / jn[0]:.1f}", f"{jn[2] / fastest:.2f}"])
    print(open(csv_path).read())

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, m in zip(who, ["o-", "s--", "^--"]):
        ax.plot(widths, [best[(k, w)][2] for w in widths], m, label=k)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(widths)
    ax.set_xticklabels([str(w) for w in widths])
    ax.set_xlabel("hidden width H (784-H-10)")
    ax.set_ylabel("training examples / s")
    ax.set_title(f"B2: exact Jacobian penalty + noise, batch 100, {t} thread(s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = os.path.join(DOCS, "perf_width.png")
    fig.savefig(png, dpi=100)
    print("wrote", csv_path, "and", png)


if __name__ == "__main__":
    main()
