#!/usr/bin/env python3
"""Train MLP + Noise + Jacobian (TR 1359's "MLP+N+J") on MNIST through the jacnet binding.

    train.py [--data DIR] [--quick] [--epochs N] [--hidden H] [--lr LR] [--momentum M]
             [--lambda L] [--std S] [--save FILE]

DIR holds mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (default
$JACNET_DATA, else ./data). --quick: the first 5000 training digits, one
epoch. Prints one line per epoch and the test error.
"""
import argparse
import sys

import jacnet


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.01)
    ap.add_argument("--std", type=float, default=0.1)
    ap.add_argument("--patience", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", default=None)
    a = ap.parse_args(argv)

    splits = jacnet.mnist_splits(a.data)
    X, y = splits["train"]
    valid = splits["valid"]
    if a.quick:
        X, y, a.epochs = X[:5000], y[:5000], 1
        valid = (valid[0][:2000], valid[1][:2000])
    Xt, yt = splits["test"]

    with jacnet.Net([X.shape[1], a.hidden, 10], "tanh", "sigmoid") as net, \
            jacnet.Objective.model("nj", a.lam, a.std) as obj:
        net.init(a.seed)
        print("libjacnet %s from %s; %s; %d training digits" % (jacnet.VERSION_STRING, jacnet.LIBRARY_PATH, obj,
                                                                 X.shape[0]))

        def report(r):
            print("epoch %3d  objective %.5f  valid error %.2f%%  (%.1fs)"
                  % (r["epoch"], r["train_objective"], 100 * r["valid_error"], r["seconds"]), flush=True)

        jacnet.train(net, obj, X, y, epochs=a.epochs, batch_size=20, lr=a.lr, momentum=a.momentum, valid=valid,
                     patience=a.patience, seed=a.seed, callback=report)
        print("test error: %.2f%%" % (100 * net.error_rate(Xt, yt)))
        if a.save:
            net.save(a.save)
            print("saved", a.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
