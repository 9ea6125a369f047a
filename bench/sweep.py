"""sweep.py - how the cost of a B2 step (exact Jacobian penalty at noisy
inputs, tanh hidden layers, sigmoid outputs, squared error) grows with the
batch size, the hidden width, the depth and the number of outputs, in
float32 and bfloat16, measured beside the analytical model of
docs/METHOD.md.

    /usr/bin/python3 bench/sweep.py --bench build/bench/bench
        [--threads 2] [--rounds 1] [--time 0.3] [--out docs/perf_sweep.csv]
        [--batches 20,100,500] [--widths 250,500,1000,2000,4000]
        [--depths 1,2,3] [--outputs 10,100] [--precisions fp32,bf16]
        [--max-gflop 400] [--smoke]

Configurations: every batch x width at depth 1 and 10 outputs; every depth
x width and every outputs x width at batch 100 (the report's networks are
784-H-10, 1 to 3 hidden layers); each in every precision. A configuration
whose step needs more than --max-gflop GFLOP is skipped, with a message on
stderr (it is then absent from the CSV). --smoke runs a tiny grid with
short timings to check that the script works: its numbers mean nothing.

Each configuration is one bench child (`bench --child B2 ...`), so its peak
resident memory (ru_maxrss from wait4) is its own. The same run measures
the rates the model needs: cblas_sgemm 1000^3 ("sgemm") and, when libjacnet
has oneDNN, oneDNN's bfloat16 matmul 1000^3 ("sgemmbf16"), and the memory
floor ("idle": the library loaded, the BLAS started).

The model (model_time, model_bytes below):
  time  = float32 GEMM flops / sgemm rate + bfloat16 GEMM flops / bf16 rate
          with the flops of METHOD.md: forward 2n sum s_{l-1} s_l, backward
          2n(2 sum s_{l-1} s_l - D H1), both twice (X and Xj), and the
          penalty 6 n K sum s_{l-1} s_l (direct first layer) or, where
          JN_FORM_AUTO picks the Gram form, 3 H1^2 D + 3 nK H1^2 for the
          first layer's part (float32 even in BF16 mode);
  bytes = the idle floor + the workspace, parameters, gradient, optimizer
          and benchmark buffers, counted from workspace.c's allocations.
The elementwise work is not in the time model: where measured throughput
falls below the model's, that gap is it (and the BLAS's efficiency at that
shape).
"""
import argparse
import csv
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
D = 784
BF16_SPEEDUP_FOR_FORM = 3.5  # penalty.c's JN_BF16_SPEEDUP, for the form choice


def run(cmd, env=None):
    """(best_s, examples_per_s, gflop_per_step, precision_used, peak_mib) of one child."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    line = [l for l in out.splitlines() if l.startswith("RESULT ")]
    if code != 0 or not line:
        sys.exit(f"sweep: {' '.join(cmd)} failed (status {code})")
    f = line[0].split()
    return float(f[3]), float(f[5]), float(f[6]), f[7], ru.ru_maxrss / 1024.0


def sizes_of(width, depth, outputs):
    return [D] + [width] * depth + [outputs]


def macs(s):
    return sum(s[l - 1] * s[l] for l in range(1, len(s)))


def uses_gram(s, n, bf16):
    """penalty.c's use_gram for JN_FORM_AUTO."""
    H, rows = s[1], n * s[-1]
    direct = 6.0 * rows * H * D
    gram = 3.0 * H * H * D + 3.0 * rows * H * H
    if bf16:
        direct /= BF16_SPEEDUP_FOR_FORM
    return 1.1 * gram < direct


def model_flops(s, n, bf16):
    """(float32 GEMM flops, bfloat16 GEMM flops) of one B2 step."""
    m = macs(s)
    fwd = 2.0 * n * m
    bwd = 2.0 * n * (2.0 * m - s[0] * s[1])
    fp32 = 2.0 * (fwd + bwd)
    r = s[-1]
    pen_first_direct = 6.0 * n * r * s[0] * s[1]
    pen_rest = 6.0 * n * r * (m - s[0] * s[1])
    gram = uses_gram(s, n, bf16)
    first = 3.0 * s[1] ** 2 * s[0] + 3.0 * n * r * s[1] ** 2 if gram else pen_first_direct
    if bf16:
        # The chain's first product Jr = T_1 W_1 is not formed in the Gram
        # form; the rest of the chain and its gradient are bfloat16.
        return fp32 + (first if gram else 0.0), pen_rest + (0.0 if gram else first)
    return fp32 + first + pen_rest, 0.0


def model_time(s, n, bf16, sgemm_rate, bf16_rate):
    f32, b16 = model_flops(s, n, bf16)
    return f32 / sgemm_rate + (b16 / bf16_rate if b16 else 0.0)


def model_bytes(s, n, bf16, gram):
    """Bytes the B2 child allocates beyond the idle floor (workspace.c,
    bench.c), all float32 unless said."""
    L, K = len(s) - 1, s[-1]
    S = sum(s[1:])                       # sum of the layer widths
    P = sum(s[l - 1] * s[l] + s[l] for l in range(1, L + 1))
    r, nr = K, n * K
    floats = 0
    floats += 2 * 4 * n * S              # two passes: z, a, act', act''
    floats += 2 * n * S                  # delta, zbar
    floats += 3 * nr * S                 # T, T_bar, V
    floats += nr * D                     # Jr
    floats += n * K * K + n * K * r      # O, projections
    if gram:
        floats += 2 * s[1] * s[1]        # W1 W1^T, T1^T T1
    floats += 3 * P                      # parameters, gradient, SGD's candidate
    floats += 2 * n * D + 2 * n * K      # bench: X, Xj, Y, F
    halves = 0
    if bf16:
        halves += macs(s) + nr * S + nr * max(s)  # W16, T16, R16
    return 4 * floats + 2 * halves


def configs(a):
    base_n, base_depth, base_k = 100, 1, 10
    out = []
    for n in a.batches:
        for w in a.widths:
            out.append((n, w, base_depth, base_k))
    for d in a.depths:
        for w in a.widths:
            out.append((base_n, w, d, base_k))
    for k in a.outputs:
        for w in a.widths:
            out.append((base_n, w, base_depth, k))
    seen, unique = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def ints(text):
    return [int(v) for v in text.split(",") if v]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--time", type=float, default=0.3)
    ap.add_argument("--out", default=os.path.join(DOCS, "perf_sweep.csv"))
    ap.add_argument("--batches", type=ints, default=[20, 100, 500])
    ap.add_argument("--widths", type=ints, default=[250, 500, 1000, 2000, 4000])
    ap.add_argument("--depths", type=ints, default=[1, 2, 3])
    ap.add_argument("--outputs", type=ints, default=[10, 100])
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--max-gflop", type=float, default=400.0)
    ap.add_argument("--smoke", action="store_true", help="tiny grid, short timings: checks the script only")
    a = ap.parse_args()
    if a.smoke:
        a.batches, a.widths, a.depths, a.outputs = [20], [64, 128], [1, 2], [10]
        a.time, a.rounds = 0.01, 1
    precisions = [p for p in a.precisions.split(",") if p]
    t = str(a.threads)
    common = ["--threads", t, "--time", str(a.time)]

    # Rates and memory floor, same run.
    sg = run([a.bench, "--child", "sgemm"] + common)
    sgemm_rate = sg[2] * 1e9 / sg[0]
    bf16_rate = None
    try:
        bf = run([a.bench, "--child", "sgemmbf16"] + common)
        bf16_rate = bf[2] * 1e9 / bf[0]
    except SystemExit:
        print("sweep: no sgemmbf16 (libjacnet without oneDNN): BF16 modelled as float32", file=sys.stderr)
    idle_mib = run([a.bench, "--child", "idle"] + common)[4]

    rows, best = [], {}
    for rnd in range(a.rounds):
        for n, w, d, k in configs(a):
            s = sizes_of(w, d, k)
            for prec in precisions:
                bf16 = prec == "bf16"
                f32, b16 = model_flops(s, n, bf16)
                if (f32 + b16) * 1e-9 > a.max_gflop:
                    if rnd == 0:
                        print(f"sweep: skipped batch {n} width {w} depth {d} outputs {k} {prec}: "
                              f"{(f32 + b16) * 1e-9:.0f} GFLOP a step > --max-gflop", file=sys.stderr)
                    continue
                cmd = [a.bench, "--child", "B2", "--width", str(w), "--depth", str(d), "--batch", str(n),
                       "--outputs", str(k), "--precision", prec] + common
                r = run(cmd)
                key = (n, w, d, k, prec)
                if key not in best or r[0] < best[key][0]:
                    best[key] = r
                print(f"round {rnd + 1}: batch {n} width {w} depth {d} outputs {k} {prec}: "
                      f"{r[1]:.0f} examples/s, {r[4]:.0f} MiB ({r[3]})", file=sys.stderr, flush=True)

    for (n, w, d, k, prec), (best_s, eps, gflop, used, mib) in best.items():
        s = sizes_of(w, d, k)
        bf16 = used == "bf16"
        rate16 = bf16_rate if bf16_rate else sgemm_rate
        t_model = model_time(s, n, bf16, sgemm_rate, rate16)
        gram = uses_gram(s, n, bf16)
        rows.append([n, w, d, k, prec, used, a.threads, f"{eps:.1f}", f"{1e3 * best_s:.3f}", f"{gflop:.3f}",
                     f"{gflop / best_s:.1f}", f"{mib:.1f}", f"{n / t_model:.1f}",
                     f"{idle_mib + model_bytes(s, n, bf16, gram) / 2 ** 20:.1f}", "gram" if gram else "direct",
                     f"{sgemm_rate * 1e-9:.1f}", f"{bf16_rate * 1e-9:.1f}" if bf16_rate else ""])

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["batch", "width", "depth", "outputs", "precision", "precision_used", "threads",
                      "examples_per_s", "ms_per_step", "gflop_per_step_direct", "gflops_direct", "peak_mib",
                      "model_examples_per_s", "model_mib", "first_layer_form", "sgemm_gflops", "bf16_gflops"])
        out.writerows(rows)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
