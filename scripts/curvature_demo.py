#!/usr/bin/env python3
"""A small demonstration of scripts/curvature_table.py on models trained here.

    scripts/curvature_demo.py [--data DIR] [--out DIR] [--epochs N]

Trains four 256-64-10 tanh/sigmoid networks on USPS (the report's MLP,
+Noise, +Jacobian and +N+J with lambda 0.1, sigma 0.1; SGD lr 0.1, batch
20, seed 1, N epochs, best validation epoch kept), saves them in DIR
(default ./build/curvature-demo) and prints curvature_table.py's table over
the test set. These are not the report's selected models (docs/THEORY.md):
only a check that the tool runs end to end.
"""
import argparse
import os
import sys

import jacnet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import curvature_table  # noqa: E402

MODELS = [("MLP", "mlp"), ("+Noise", "noise"), ("+Jacobian", "jacobian"), ("+N+J", "nj")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default=os.path.join("build", "curvature-demo"))
    ap.add_argument("--epochs", type=int, default=5)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    splits = jacnet.usps_splits(a.data)
    X, y = splits["train"]
    specs = []
    for label, model in MODELS:
        path = os.path.join(a.out, model + ".jn")
        with jacnet.Net([256, 64, 10], "tanh", "sigmoid").init(1) as net, \
                jacnet.Objective.model(model, 0.1 if model in jacnet.Objective.MODELS_WITH_LAMBDA else None, 0.1) as obj:
            jacnet.train(net, obj, X, y, epochs=a.epochs, lr=0.1, batch_size=20, seed=1, valid=splits["valid"])
            net.save(path)
        specs.append("%s=%s" % (label, path))
    data = ["--data", a.data] if a.data else []
    return curvature_table.main(data + specs)


if __name__ == "__main__":
    sys.exit(main())
