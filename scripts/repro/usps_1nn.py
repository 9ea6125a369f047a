#!/usr/bin/env python3
"""A check of the USPS data and splits (docs/RESULTS.md): the test error of
1-nearest-neighbour (Euclidean, pixels in [0, 1]) from all 7291 training
digits and from the first 5291 (our training split). The literature's
figure for all 7291 is about 5.6%. It also compares the files parsed here
with libjacnet's loader (Python binding), which the training runs use.
  PYTHONPATH=python JACNET_LIB=lib/libjacnet.so usps_1nn.py   (data: $JACNET_DATA/usps)
"""
import gzip
import os

import numpy as np


def load(path):
    rows = np.loadtxt(gzip.open(path, "rt"))
    return (rows[:, 1:] + 1) / 2, rows[:, 0].astype(int)


data = os.path.join(os.environ.get("JACNET_DATA") or "./data", "usps")
x, y = load(os.path.join(data, "zip.train.gz"))
xt, yt = load(os.path.join(data, "zip.test.gz"))
import jacnet  # noqa: E402  (after the data: the check above needs only numpy)

for name, (xa, ya) in (("zip.train.gz", (x, y)), ("zip.test.gz", (xt, yt))):
    xl, yl = jacnet.load_usps(os.path.join(data, name))
    print("%s: libjacnet's loader vs this parse: largest pixel difference %.1e, labels equal: %s"
          % (name, np.abs(xl - xa).max(), bool((yl == ya).all())))
for n in (len(x), 5291):
    d = (xt ** 2).sum(1)[:, None] - 2 * xt @ x[:n].T + (x[:n] ** 2).sum(1)[None]
    print("1-NN from the first %d training digits: test error %.2f%%" % (n, 100 * (y[:n][d.argmin(1)] != yt).mean()))
