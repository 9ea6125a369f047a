#!/usr/bin/env python3
"""scaling_model.py - the data-parallel scaling model of docs/SCALING.md.

Per global minibatch of B examples spread over p nodes of R flop/s each:

    compute   = f B / (p R),   f = flops per example (docs/METHOD.md)
    allreduce = 2 (p-1)/p * 4P / beta + 2 (p-1) alpha      (ring, P floats)

f for a network with M = sum_l s_{l-1} s_l multiply-adds per example,
noise on the Jacobian's input (Xj != X, the report's MLP+NJ), r Jacobian
rows per example (r = K exact, r = k projections): forward and backward at
X and at Xj, 2 * 6M, plus the penalty 6 r M (bench/flops.c), so
f = (12 + 6r) M. Without a penalty f = 6M.

Prints, for each network and penalty, the communication per step and the
per-node batch b* at which the allreduce takes as long as the computation
(efficiency 50%): b* = 8 P R / (f beta) for large p. Data parallelism over
p nodes pays while the per-node batch B/p stays above b*."""

NETS = {"784-1000-10": [784, 1000, 10], "784-1000-1000-10": [784, 1000, 1000, 10]}
LINKS = {"10 Gbit/s": (10e9 / 8, 20e-6), "100 Gbit/s": (100e9 / 8, 3e-6)}  # bytes/s, latency s
# Node rates: one core of the test machine (the B2 rate of docs/PERFORMANCE.md,
# 95 GFLOP/s, 93% of its sgemm), and an assumed 32-core node at 2 TFLOP/s.
NODES = {"1 core (95 GFLOP/s)": 95e9, "32-core node (2 TFLOP/s, assumed)": 2e12}


def shape(sizes):
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    params = macs + sum(sizes[1:])
    return macs, params


def flops_per_example(sizes, r):
    macs, _ = shape(sizes)
    return (12 + 6 * r) * macs if r else 6 * macs


def allreduce_seconds(params, p, beta, alpha):
    return 2 * (p - 1) / p * 4 * params / beta + 2 * (p - 1) * alpha


def main():
    print("| network | P (floats) | allreduce bytes/step/node (ring, large p) | at 10 Gbit/s | at 100 Gbit/s |")
    print("|---|---|---|---|---|")
    for name, sizes in NETS.items():
        _, P = shape(sizes)
        t10 = allreduce_seconds(P, 10**9, *LINKS["10 Gbit/s"][:1], 0)
        t100 = allreduce_seconds(P, 10**9, *LINKS["100 Gbit/s"][:1], 0)
        print(f"| {name} | {P:,} | {8 * P / 1e6:.2f} MB | {1e3 * t10:.2f} ms | {1e3 * t100:.2f} ms |")
    print()
    print("| network | penalty | flop/example | GFLOP per step of 100 | " +
          " | ".join(f"b* {n}, {l}" for n in NODES for l in LINKS) + " |")
    print("|---|---|---|---|" + "---|" * (len(NODES) * len(LINKS)))
    for name, sizes in NETS.items():
        _, P = shape(sizes)
        K = sizes[-1]
        for label, r in (("exact (r = K = 10)", K), ("1 projection", 1), ("none (plain MLP)", 0)):
            f = flops_per_example(sizes, r)
            cells = []
            for R in NODES.values():
                for beta, _ in LINKS.values():
                    cells.append(f"{8 * P * R / (f * beta):.1f}")
            print(f"| {name} | {label} | {f / 1e6:.1f} M | {100 * f / 1e9:.2f} | " + " | ".join(cells) + " |")
    print()
    # Speed-up of one step of global batch B on p nodes, with latency.
    print("Speed-up t(1)/t(p) of a step, global batch B, ring allreduce with latency "
          "(10 Gbit/s: 20 us, 100 Gbit/s: 3 us per message):")
    print()
    ps = [2, 4, 8, 16, 32, 64]
    print("| network, penalty | node | link | B | " + " | ".join(f"p={p}" for p in ps) + " |")
    print("|---|---|---|---|" + "---|" * len(ps))
    for name, sizes in NETS.items():
        _, P = shape(sizes)
        for label, r in (("exact", sizes[-1]), ("1 proj.", 1)):
            f = flops_per_example(sizes, r)
            for node, R in NODES.items():
                for link, (beta, alpha) in LINKS.items():
                    for B in (100, 1000):
                        t1 = f * B / R
                        cells = [f"{t1 / (f * B / (p * R) + allreduce_seconds(P, p, beta, alpha)):.1f}" for p in ps]
                        print(f"| {name}, {label} | {node.split(' (')[0]} | {link} | {B} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
