#!/usr/bin/env python3
"""Train one of the report's models and write its run record (JSON), the
format `jacnet train --json` writes and `python3 -m jacnet.plot` draws.

    record_run.py [--data DIR] [--dataset usps|mnist] [--model nj] [--lambda L]
                  [--std S] [--hidden H] [--epochs N] [--train-count N]
                  [--seed S] -o RECORD.json

DIR holds usps/zip.{train,test}.gz or mnist/ (default $JACNET_DATA, else
./data). The training recipe is the default (SGD lr 0.05, momentum 0.9,
batch 20; docs/METHOD.md). After each epoch, train_loss and train_penalty
are measured on the first 1000 training examples without noise: the mean
loss (Net.mean_loss) and lambda times the mean ||J_F(x)||^2, so for the
noisy models they are the clean parts of train_objective, not its split.
tests/data/record_small.json and docs/figures/records/ were written by it.
"""
import argparse
import json
import sys
import time

import numpy as np

import jacnet

MODELS = ("mlp", "l2", "noise", "jacobian", "nj", "nj-both")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--dataset", choices=("usps", "mnist"), default="usps")
    ap.add_argument("--model", choices=MODELS, default="nj")
    ap.add_argument("--lambda", dest="lam", type=float, default=None,
                    help="the preset's lambda (default 0.01 for the Jacobian models, 1e-4 for l2)")
    ap.add_argument("--std", type=float, default=0.1)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train-count", type=int, default=0, help="use only the first N training examples")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)

    splits = jacnet.usps_splits(a.data) if a.dataset == "usps" else jacnet.mnist_splits(a.data)
    X, y = splits["train"]
    if a.train_count:
        X, y = X[:a.train_count], y[:a.train_count]
    Xv, yv = splits["valid"]
    Xt, yt = splits["test"]
    lam = a.lam
    if lam is None and a.model in jacnet.Objective.MODELS_WITH_LAMBDA:
        lam = 1e-4 if a.model == "l2" else 0.01
    probe_X, probe_Y = X[:1000], np.eye(10, dtype=np.float32)[y[:1000]]
    config = {"dataset": a.dataset, "model": a.model, "lambda": lam, "std": a.std, "hidden": [a.hidden],
              "epochs": a.epochs, "batch": jacnet.RECIPE_BATCH_SIZE, "lr": jacnet.RECIPE_LR,
              "momentum": jacnet.RECIPE_MOMENTUM, "train_count": int(X.shape[0])}
    epochs = []
    t0 = time.time()
    with jacnet.Net([X.shape[1], a.hidden, 10], "tanh", "sigmoid", seed=a.seed) as net, \
            jacnet.Objective.model(a.model, lam, a.std) as obj:

        def on_epoch(r):
            penalty = obj.jacobian * float(np.mean(net.jacobian_sqnorm(probe_X))) if obj.jacobian > 0 else 0.0
            epochs.append({"epoch": r["epoch"], "train_objective": r["train_objective"],
                           "train_loss": net.mean_loss(obj, probe_X, probe_Y), "train_penalty": penalty,
                           "valid_error": r["valid_error"], "seconds": r["seconds"]})
            print("epoch %2d  objective %.5f  valid error %.2f%%" % (r["epoch"], r["train_objective"],
                                                                   100 * r["valid_error"]), file=sys.stderr)

        reports = jacnet.train(net, obj, X, y, epochs=a.epochs, valid=(Xv, yv), seed=a.seed, callback=on_epoch)
        test_error = net.error_rate(Xt, yt)
    record = {"config": config, "library_version": jacnet.VERSION_STRING, "seed": a.seed, "epochs": epochs,
              "best_epoch": reports[-1]["best_epoch"], "test_error": test_error,
              "total_seconds": round(time.time() - t0, 2)}
    with open(a.output, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print("%s: %s, test error %.2f%%" % (a.output, a.model, 100 * test_error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
