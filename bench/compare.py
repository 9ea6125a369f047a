"""compare.py - libjacnet against PyTorch on the same training steps, in one run.

    /usr/bin/python3 bench/compare.py --bench build/bench/bench [--rounds 3]
        [--threads 1,2] [--only B1,B2,...] [--time 0.3] [--width 1000]

Every (benchmark, threads) pair runs `rounds` times; within a round the
libjacnet child and the PyTorch children of one benchmark run back to back,
so a slow spell of the shared machine falls on both sides alike. Each child
is its own process, so the peak resident memory (ru_maxrss from wait4) is
that benchmark's own. The best round of each is kept and the ratios
libjacnet / fastest PyTorch variant are printed.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# PyTorch variants of each benchmark (bench/bench_torch.py).
VARIANTS = {
    "B1": ["nn"],
    "B2": ["closed", "vmap"],
    "B3": ["closed", "vmap"],
    "B4": ["closed", "dblback"],
    "B5": ["nn"],
}
# The targets: libjacnet / fastest PyTorch.
TARGETS = {"B1": 1.3, "B2": 2.5, "B3": 2.0}


def run(cmd, env):
    """(best_s, median_s, examples_per_s, gflop, peak_mib) of one child."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    line = [l for l in out.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not line:
        sys.exit(f"compare: {' '.join(cmd)} failed (status {p.returncode})")
    f = line[0].split()
    return float(f[3]), float(f[4]), float(f[5]), float(f[6]), ru.ru_maxrss / 1024.0


def torch_configs(t):
    """(environment, torch.set_num_threads argument) pairs to try for t
    threads. torch.set_num_threads sizes torch's OpenMP pool; Debian's torch
    calls OpenBLAS (libblas.so.3), which has its own pthreads pool sized by
    OPENBLAS_NUM_THREADS. With both pools at t, idle OpenMP threads spin
    while OpenBLAS works and the two fight for the cores, so for t > 1 we
    also try OpenMP at 1 with OpenBLAS at t, and keep whichever is faster:
    the fastest setting a PyTorch user could pick."""
    base = dict(os.environ)
    base.pop("JACNET_THREADS", None)
    out = [(dict(base, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t)), t)]
    if t > 1:
        out.append((dict(base, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS="1"), 1))
    return out


def keep_best(table, key, r):
    old = table.get(key)
    if old is None or r[0] < old[0]:
        table[key] = r if old is None else r[:4] + (max(r[4], old[4]),)
    else:
        table[key] = old[:4] + (max(r[4], old[4]),)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", default="B1,B2,B3,B4,B5")
    ap.add_argument("--time", type=float, default=0.3)
    ap.add_argument("--width", type=int, default=1000)
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    names = [n for n in a.only.split(",") if n in VARIANTS]
    common = ["--time", str(a.time), "--width", str(a.width)]

    res = {}
    for rnd in range(a.rounds):
        for t in threads:
            env = torch_configs(t)[0][0]
            for name in names + ["sgemm"]:
                keep_best(res, ("jn", name, t),
                          run([a.bench, "--child", name, "--threads", str(t)] + common, env))
                if name == "sgemm":
                    continue
                for v in VARIANTS[name]:
                    for tenv, tt in torch_configs(t):
                        keep_best(res, ("torch/" + v, name, t),
                                  run([sys.executable, os.path.join(HERE, "bench_torch.py"), name, v, str(tt)]
                                      + common, tenv))
            print(f"round {rnd + 1}/{a.rounds}, {t} thread(s) done", file=sys.stderr, flush=True)

    print(f"hidden width {a.width}; best of {a.rounds} alternating rounds; examples/s (peak MiB); "
          "PyTorch with more than 1 thread: best of OpenMP+OpenBLAS at t and OpenMP 1 + OpenBLAS t")
    print(f"{'bench':6} {'thr':>3} {'libjacnet':>18} {'PyTorch variants':>46} {'ratio':>7} {'target':>7}")
    for name in names:
        for t in threads:
            jn = res[("jn", name, t)]
            tv = [(v, res[("torch/" + v, name, t)]) for v in VARIANTS[name]]
            fastest = max(r[2] for _, r in tv)
            ratio = jn[2] / fastest
            tcol = "  ".join(f"{v} {r[2]:.0f} ({r[4]:.0f})" for v, r in tv)
            target = TARGETS.get(name)
            mark = "" if target is None else (f">={target}x " + ("met" if ratio >= target else "MISSED"))
            print(f"{name:6} {t:3d} {jn[2]:10.0f} ({jn[4]:4.0f})  {tcol:>46} {ratio:6.2f}x {mark}")
    for t in threads:
        sg = res[("jn", "sgemm", t)]
        sg_rate = sg[3] / sg[0]
        line = f"{t} thread(s): sgemm 1000^3 {sg_rate:.1f} GFLOP/s"
        if ("jn", "B2", t) in res:
            b2 = res[("jn", "B2", t)]
            line += f"; B2 {b2[3] / b2[0]:.1f} GFLOP/s = {100 * b2[3] / b2[0] / sg_rate:.0f}% of sgemm"
            if ("jn", "B4", t) in res:
                line += f"; B4/B2 throughput {b2[0] / res[('jn', 'B4', t)][0]:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
