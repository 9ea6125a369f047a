#!/usr/bin/env python3
"""USPS at the files' own scale, [-1, 1], as CSV files for `jacnet train
--train/--valid/--test` (the loader maps USPS to [0, 1]; this keeps the
centred values). Same splits as --dataset usps: the first 5291 training
digits train, the last 2000 validate, zip.test.gz tests. A probe of input
scaling on the validation split (docs/RESULTS.md); nothing in Table 1 uses it.

  usps_pm1.py OUT_DIR        (data from $JACNET_DATA/usps, else ./data/usps)
"""
import gzip
import os
import sys

import numpy as np


def load(path):
    rows = np.loadtxt(gzip.open(path, "rt"))
    return rows[:, 1:], rows[:, 0].astype(int)


def write(path, x, y):
    with open(path, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.4f" % v for v in xi)))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    data = os.path.join(os.environ.get("JACNET_DATA") or "./data", "usps")
    x, y = load(os.path.join(data, "zip.train.gz"))
    xt, yt = load(os.path.join(data, "zip.test.gz"))
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "train.csv"), x[:5291], y[:5291])
    write(os.path.join(out, "valid.csv"), x[5291:], y[5291:])
    write(os.path.join(out, "test.csv"), xt, yt)


if __name__ == "__main__":
    main()
