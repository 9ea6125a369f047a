"""e2e.py - end-to-end wall time of one full USPS training run of the
report's MLP + Noise + Jacobian model (nj, 256-1000-10, lambda 0.3, noise
std 0.1, batch 20, SGD lr 0.1, up to 300 epochs, patience 15, seed 1) in
three implementations, one after the other in one invocation:

  a  libjacnet float32: jacnet train --dataset usps --model nj ... --json
  b  the same with --precision bf16 (where bfloat16 measured slower, or
     without oneDNN, it runs float32: the table says so, from the record's
     precision_used)
  c  PyTorch (bench/e2e_torch.py), the same protocol

    /usr/bin/python3 bench/e2e.py [--jacnet build/bin/jacnet] [--threads 2]
        [--max-epochs N] [--only a,b,c] [--out docs/results/e2e] [--data DIR]
        [--torch-omp auto|N]

--max-epochs N caps the runs at N epochs (a quick check that everything
runs; the full protocol is 300 with patience 15, 10-30 minutes in all).
Writes to --out: e2e.csv and e2e.json (one row per implementation), e2e.md
(the table, also printed), and each run's own record and output
(a.json/a.log, ...). The runs stop at different epochs, so seconds per epoch
(the mean of the epochs' own times: minibatches only, validation excluded,
as libjacnet's trainer times them) is the fair comparison; the wall time
(the child process from start to exit, as the driver sees it) is reported
beside it.

PyTorch's threads (see bench/compare.py, torch_configs): OpenBLAS gets T
threads (OPENBLAS_NUM_THREADS) and torch.set_num_threads sizes its OpenMP
pool. With --torch-omp auto and T > 1 the driver first times short runs
(--calibrate-epochs epochs of --calibrate-batches minibatches) with OpenMP
at T and at 1 and keeps the faster setting for the full run, the choice a
PyTorch user tuning for speed would make; --torch-omp N fixes it. (On the
shared and busy 2-core development machine OpenMP 2 + OpenBLAS 2 ran 13x
slower than OpenMP 1 + OpenBLAS 2: the two pools' spinning threads fight for
the cores.)
"""
import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from compare import torch_configs  # noqa: E402

# The protocol (the full run): options of `jacnet train`, and the
# same values under e2e_torch.py's names.
PROTOCOL = {"lambda": 0.3, "noise-std": 0.1, "hidden": 1000, "batch": 20, "lr": 0.1, "epochs": 300,
            "patience": 15, "seed": 1}
NAMES = {"a": "libjacnet fp32", "b": "libjacnet bf16", "c": "PyTorch"}
FIELDS = ["impl", "name", "threads", "precision_asked", "precision_used", "status", "wall_seconds", "run_seconds",
          "epochs", "seconds_per_epoch", "best_epoch", "best_valid_error", "test_error", "torch_omp_threads"]


def protocol_args(epochs):
    args = []
    for k, v in PROTOCOL.items():
        args += ["--" + k, str(epochs if k == "epochs" else v)]
    return args


def machine():
    info = {"platform": platform.platform(), "cpus_online": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        info["cpu"] = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "")
        flags = next((l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), [])
        info["amx_bf16"] = "amx_bf16" in flags
        info["avx512_bf16"] = "avx512_bf16" in flags
    except OSError:
        pass
    return info


def launch(cmd, env, log_path):
    """Run cmd with its output into log_path; (exit status, wall seconds, load average before and after)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - t0
    return p.returncode, wall, (load0, os.getloadavg()[0])


def summarize(impl, record, wall, threads, asked, omp=None):
    epochs = record.get("epochs", [])
    per_epoch = sum(e["seconds"] for e in epochs) / len(epochs) if epochs else float("nan")
    return {
        "impl": impl, "name": NAMES[impl], "threads": threads, "precision_asked": asked,
        "precision_used": record.get("precision_used", "?"), "status": record.get("status", "?"),
        "wall_seconds": wall, "run_seconds": record.get("total_seconds", float("nan")), "epochs": len(epochs),
        "seconds_per_epoch": per_epoch, "best_epoch": record.get("best_epoch", 0),
        "best_valid_error": record.get("best_valid_error", float("nan")),
        "test_error": record.get("test_error", float("nan")),
        "torch_omp_threads": "" if omp is None else omp,
    }


def run_jacnet(a, impl, env):
    precision = "bf16" if impl == "b" else "fp32"
    rec = os.path.join(a.out, impl + ".json")
    if os.path.exists(rec):
        os.remove(rec)  # a stale record must not pass for this run's
    # Plain SGD as PyTorch's side runs it (the tool's default has momentum).
    cmd = [a.jacnet, "train", "--dataset", "usps", "--model", "nj", "--momentum", "0"] + protocol_args(a.epochs) + [
        "--threads", str(a.threads), "--precision", precision, "--json", rec]
    if a.data:
        cmd += ["--data-dir", a.data]
    print(f"[{impl}] {' '.join(cmd)}", file=sys.stderr, flush=True)
    status, wall, load = launch(cmd, env, os.path.join(a.out, impl + ".log"))
    if status != 0 or not os.path.exists(rec):
        sys.exit(f"e2e: {NAMES[impl]} failed (status {status}); see {os.path.join(a.out, impl + '.log')}")
    with open(rec) as f:
        record = json.load(f)
    row = summarize(impl, record, wall, a.threads, precision)
    row["load_before_after"] = load
    return row


def torch_cmd(a, rec, omp, epochs, max_batches=0):
    cmd = [sys.executable, os.path.join(HERE, "e2e_torch.py"), "--json", rec, "--threads", str(omp)]
    if max_batches:
        cmd += ["--max-batches", str(max_batches)]
    cmd += protocol_args(epochs)  # e2e_torch.py takes jacnet train's option names
    if a.data:
        cmd += ["--data", a.data]
    return cmd


def torch_env(a):
    """PYTHONPATH and JACNET_LIB so that e2e_torch.py loads the data with
    this checkout's binding and library."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "python") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    lib = os.path.join(REPO, "lib", "libjacnet.so")
    if os.path.exists(lib) and "JACNET_LIB" not in env:
        env["JACNET_LIB"] = lib
    return env


def pick_torch_config(a):
    """(environment, OpenMP threads) for the PyTorch run, and the calibration's timings."""
    base = torch_env(a)
    configs = [(dict(base, OPENBLAS_NUM_THREADS=env["OPENBLAS_NUM_THREADS"], OMP_NUM_THREADS=env["OMP_NUM_THREADS"]),
                omp) for env, omp in torch_configs(a.threads)]
    if a.torch_omp != "auto":
        omp = int(a.torch_omp)
        return dict(configs[0][0], OMP_NUM_THREADS=str(omp)), omp, []
    if len(configs) == 1:
        return configs[0][0], configs[0][1], []
    timings = []
    for env, omp in configs:
        rec = os.path.join(a.out, f"c-calibrate-omp{omp}.json")
        status, wall, _ = launch(torch_cmd(a, rec, omp, a.calibrate_epochs, a.calibrate_batches), env,
                                 os.path.join(a.out, f"c-calibrate-omp{omp}.log"))
        if status != 0:
            sys.exit(f"e2e: PyTorch calibration (OpenMP {omp}) failed (status {status})")
        with open(rec) as f:
            # The first epoch carries the warm-up: judge by the fastest.
            best = min(e["seconds"] / e["batches"] for e in json.load(f)["epochs"])
        timings.append({"omp_threads": omp, "best_seconds_per_step": best})
        print(f"[c] calibration: OpenMP {omp} + OpenBLAS {a.threads}: {1e3 * best:.1f} ms per step",
              file=sys.stderr, flush=True)
    fastest = min(range(len(configs)), key=lambda i: timings[i]["best_seconds_per_step"])
    return configs[fastest][0], configs[fastest][1], timings


def run_torch(a):
    env, omp, timings = pick_torch_config(a)
    rec = os.path.join(a.out, "c.json")
    if os.path.exists(rec):
        os.remove(rec)
    cmd = torch_cmd(a, rec, omp, a.epochs)
    print(f"[c] OPENBLAS_NUM_THREADS={env.get('OPENBLAS_NUM_THREADS')} OMP_NUM_THREADS={env.get('OMP_NUM_THREADS')} "
          f"{' '.join(cmd)}", file=sys.stderr, flush=True)
    status, wall, load = launch(cmd, env, os.path.join(a.out, "c.log"))
    if status != 0 or not os.path.exists(rec):
        sys.exit(f"e2e: PyTorch failed (status {status}); see {os.path.join(a.out, 'c.log')}")
    with open(rec) as f:
        record = json.load(f)
    row = summarize("c", record, wall, a.threads, "fp32", omp)
    row["load_before_after"] = load
    row["torch_calibration"] = timings
    row["torch_version"] = record.get("torch_version")
    return row


def pct(x):
    return "-" if x != x else f"{100 * x:.2f}%"


def table(rows, a):
    quick = " (QUICK CHECK: capped epochs, not the protocol)" if a.epochs < PROTOCOL["epochs"] else ""
    lines = [f"One USPS run, model nj (256-{PROTOCOL['hidden']}-10, lambda {PROTOCOL['lambda']}, noise std "
             f"{PROTOCOL['noise-std']}, batch {PROTOCOL['batch']}, lr {PROTOCOL['lr']}, <= {a.epochs} epochs, "
             f"patience {PROTOCOL['patience']}, seed {PROTOCOL['seed']}), {a.threads} thread(s){quick}", "",
             "| implementation | precision used | wall s | epochs | s / epoch | best epoch | valid error | "
             "test error | vs libjacnet fp32 (s / epoch) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    ref = next((r["seconds_per_epoch"] for r in rows if r["impl"] == "a"), None)
    for r in rows:
        used = r["precision_used"]
        if r["precision_asked"] != used:
            used += f" ({r['precision_asked']} asked: fell back)"
        if r["impl"] == "c":
            used += f", OpenMP {r['torch_omp_threads']} + OpenBLAS {r['threads']}"
        ratio = "-" if not ref else f"{r['seconds_per_epoch'] / ref:.2f}x"
        lines.append(f"| {r['name']} | {used} | {r['wall_seconds']:.1f} | {r['epochs']} | "
                     f"{r['seconds_per_epoch']:.3f} | {r['best_epoch']} | {pct(r['best_valid_error'])} | "
                     f"{pct(r['test_error'])} | {ratio} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jacnet", default=os.path.join(REPO, "build", "bin", "jacnet"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-epochs", type=int, default=None, help="cap every run at N epochs (quick check)")
    ap.add_argument("--only", default="a,b,c", help="which of a (fp32), b (bf16), c (PyTorch)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "results", "e2e"), help="output directory")
    ap.add_argument("--data", default=os.environ.get("JACNET_DATA"), help="directory holding usps/")
    ap.add_argument("--torch-omp", default="auto", help="PyTorch's OpenMP threads: auto or a number")
    ap.add_argument("--calibrate-epochs", type=int, default=2, help="--torch-omp auto: epochs of each timing run")
    ap.add_argument("--calibrate-batches", type=int, default=50, help="--torch-omp auto: minibatches per epoch")
    a = ap.parse_args()
    only = [x for x in a.only.split(",") if x]
    bad = [x for x in only if x not in NAMES]
    if bad or not only:
        ap.error(f"--only: letters among a, b, c (got {a.only!r})")
    a.epochs = min(PROTOCOL["epochs"], a.max_epochs) if a.max_epochs else PROTOCOL["epochs"]
    a.calibrate_epochs = min(a.calibrate_epochs, a.epochs)
    if ("a" in only or "b" in only) and not os.access(a.jacnet, os.X_OK):
        sys.exit(f"e2e: {a.jacnet} is not there (make)")
    os.makedirs(a.out, exist_ok=True)

    # Both implementations get the same thread count from the start (libjacnet
    # through --threads: its own threads, OpenBLAS held at one; PyTorch's
    # OpenBLAS through OPENBLAS_NUM_THREADS).
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
    env.pop("JACNET_THREADS", None)
    rows = []
    for impl in only:
        rows.append(run_torch(a) if impl == "c" else run_jacnet(a, impl, env))

    with open(os.path.join(a.out, "e2e.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    summary = {"protocol": dict(PROTOCOL, epochs=a.epochs), "threads": a.threads, "quick": a.epochs < 300,
               "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "runs": rows}
    with open(os.path.join(a.out, "e2e.json"), "w") as f:
        json.dump(summary, f, indent=1)
    text = table(rows, a)
    with open(os.path.join(a.out, "e2e.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
