#!/usr/bin/env python3
"""What the measured precision choice costs and finds (docs/PERFORMANCE.md,
"When it runs: measured"): for each shape, the first objective + gradient
call of an exact-penalty objective asking JN_PRECISION_AUTO (which times the
penalty both ways once), the median of the calls after it, the same in
float32, and what was chosen with the measured float32/bfloat16 ratio. One
thread (jacnet.set_threads(1)); a fresh process per run, so nothing is
remembered from an earlier one (no JACNET_WISDOM).
  bench/precision_calibration.py [--repeat 5]"""
import argparse
import statistics
import time

import numpy as np

import jacnet

SHAPES = [([784, 1000, 10], 100), ([784, 1000, 10], 20), ([256, 1000, 10], 20)]


def timed(net, obj, X, Y, Xj, repeat):
    t0 = time.perf_counter()
    net.objective(obj, X, Y, Xj)
    first = time.perf_counter() - t0
    rest = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        net.objective(obj, X, Y, Xj)
        rest.append(time.perf_counter() - t0)
    return first, statistics.median(rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    jacnet.set_threads(1)
    print("BLAS kernel %s; libjacnet %s" % (jacnet.blas_kernel(), jacnet.VERSION_STRING))
    print("%-14s %5s %12s %12s %12s %6s %7s" % ("sizes", "batch", "first s", "then s", "fp32 s", "ran", "ratio"))
    rng = np.random.default_rng(0)
    for sizes, n in SHAPES:
        X = rng.uniform(0, 1, (n, sizes[0])).astype(np.float32)
        Xj = (X + rng.normal(0, 0.1, X.shape)).astype(np.float32)
        Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], n)]
        with jacnet.Net(sizes).init(1) as net:
            with jacnet.Objective(jacobian=0.1, precision="auto") as auto, jacnet.Objective(jacobian=0.1) as fp32:
                first, then = timed(net, auto, X, Y, Xj, a.repeat)
                _, plain = timed(net, fp32, X, Y, Xj, a.repeat)
                print("%-14s %5d %12.3f %12.4f %12.4f %6s %7.2f" % (
                    "-".join(map(str, sizes)), n, first, then, plain, auto.precision_used, auto.precision_ratio))


if __name__ == "__main__":
    main()
