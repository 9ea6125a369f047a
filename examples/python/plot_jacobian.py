#!/usr/bin/env python3
"""Plot one digit's Jacobian rows dF_k/dx (k = 0..9) as 28x28 images.

    plot_jacobian.py [--model FILE | --data DIR [--epochs N]] [--index I] [--out FILE.png]

With --model, loads a network saved by train.py --save (or jn_net_save);
otherwise trains MLP+N+J briefly (first 5000 digits) on MNIST from DIR
(default $JACNET_DATA, else ./data). Writes the PNG (default jacobian.png):
the digit, then one panel per output unit, red positive, blue negative.
"""
import argparse
import sys

import numpy as np

import jacnet


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--index", type=int, default=0, help="test digit to explain")
    ap.add_argument("--out", default="jacobian.png")
    a = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = jacnet.mnist_splits(a.data)
    Xt, yt = splits["test"]
    if a.model:
        net = jacnet.Net.load(a.model)
    else:
        X, y = splits["train"]
        net = jacnet.Net([784, 500, 10]).init(1)
        with jacnet.Objective.model("nj", 0.01, 0.1) as obj:
            jacnet.train(net, obj, X[:5000], y[:5000], epochs=a.epochs, lr=0.1, momentum=0.0)
    with net:
        x = Xt[a.index]
        J = net.jacobian(x)[0]            # K x 784
        F = net.forward(x)[0]
    lim = float(np.abs(J).max()) or 1.0
    fig, axes = plt.subplots(1, 11, figsize=(16.5, 2.0))
    axes[0].imshow(x.reshape(28, 28), cmap="gray_r")
    axes[0].set_title("digit %d" % yt[a.index], fontsize=9)
    for k in range(10):
        axes[k + 1].imshow(J[k].reshape(28, 28), cmap="bwr", vmin=-lim, vmax=lim)
        axes[k + 1].set_title("dF%d/dx  F=%.2f" % (k, F[k]), fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Jacobian rows, ||J||_F^2 = %.3g" % float((J.astype(np.float64) ** 2).sum()), fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out, dpi=80)
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
