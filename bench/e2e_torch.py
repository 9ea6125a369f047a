"""e2e_torch.py - one full USPS training run of the report's MLP + Noise +
Jacobian model in PyTorch: the protocol of
`jacnet train --dataset usps --model nj`, written the fastest way we know a
PyTorch user would write it (bench/e2e.py runs both and compares).

    /usr/bin/python3 bench/e2e_torch.py --json FILE [--threads T] [--epochs 300]
        [--patience 15] [--lambda 0.3] [--noise-std 0.1] [--hidden 1000]
        [--batch 20] [--lr 0.1] [--seed 1] [--data DIR]

The protocol, as libjacnet's trainer runs it (docs/METHOD.md):
  data      USPS from jacnet.usps_splits (DIR/usps, else $JACNET_DATA): the
            7291 training digits of which the last 2000 validate, 2007 test
  network   256-H-10, tanh hidden, sigmoid outputs; Glorot uniform weights,
            zero biases (jn_net_init's law, not its draws)
  objective mean over the minibatch of sum_k (F_k - y_k)^2 + lambda
            ||J_F(x~)||_F^2, x~ = x + N(0, std^2) drawn every step; the loss
            sees the clean x (model nj)
  training  plain SGD, minibatches reshuffled every epoch (the last one
            short), validation error after every epoch, the parameters of the
            lowest one kept, stop after `patience` epochs without a strictly
            lower one, test error of the kept parameters
The penalty is bench_torch.penalty_closed: the exact Jacobian built from the
output side by broadcasting and one batched matmul per layer, differentiated
by autograd (the fastest variant of `make bench-compare`).

torch.set_num_threads(T) sizes torch's OpenMP pool; Debian's torch calls
OpenBLAS for its matrix products, sized by OPENBLAS_NUM_THREADS, which the
caller sets (bench/e2e.py does).

The JSON record has the fields of `jacnet train --json` that bench/e2e.py
reads: epochs[] (epoch, train_objective, valid_error, seconds: the epoch's
minibatches, validation excluded, as libjacnet times them), best_epoch,
best_valid_error, test_error, total_seconds (data loading to test error),
precision_used.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_torch import forward, make_net, penalty_closed  # noqa: E402


def init_like_jacnet(net):
    """jn_net_init's law: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    (Glorot and Bengio; no x4, the hidden units are tanh), biases 0."""
    with torch.no_grad():
        for lin in net:
            torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)


def flat_params(net):
    """The parameters in libjacnet's layout: per layer W (out x in, row-major), then b."""
    return torch.cat([t.detach().reshape(-1) for lin in net for t in (lin.weight, lin.bias)])


def set_flat_params(net, flat):
    """Load a vector in libjacnet's layout (jacnet.Net.params) into net."""
    flat = torch.as_tensor(flat, dtype=torch.float32)
    at = 0
    with torch.no_grad():
        for lin in net:
            for t in (lin.weight, lin.bias):
                t.copy_(flat[at:at + t.numel()].view_as(t))
                at += t.numel()
    if at != flat.numel():
        raise ValueError(f"set_flat_params: {flat.numel()} values, the network has {at}")


def flat_grad(net):
    return torch.cat([t.grad.reshape(-1) for lin in net for t in (lin.weight, lin.bias)])


def objective(net, X, Y, Xj, lam):
    """(value, loss, sqnorm) as tensors: libjacnet's objective of model nj
    for a minibatch, value = loss + lam * sqnorm, with the loss
    (1/n) sum_i sum_k (F_k(X_i) - Y_ik)^2 at the clean inputs and
    sqnorm = (1/n) sum_i ||J_F(Xj_i)||_F^2 at the noisy ones."""
    F, _ = forward(net, X)
    loss = ((F - Y) ** 2).sum() / X.shape[0]
    sqnorm = penalty_closed(net, Xj)
    return loss + lam * sqnorm, loss, sqnorm


def train_step(net, opt, X, Y, Xj, lam):
    """One SGD step on the minibatch; returns the objective's parts before it."""
    opt.zero_grad(set_to_none=True)
    value, loss, sqnorm = objective(net, X, Y, Xj, lam)
    value.backward()
    opt.step()
    return value.detach(), loss.detach(), sqnorm.detach()


def error_rate(net, X, y):
    """Fraction of rows whose largest output is not the label (ties: the first)."""
    with torch.inference_mode():
        F, _ = forward(net, X)
        return (F.argmax(dim=1) != y).sum().item() / y.shape[0]


def load_usps(data_dir):
    """{"train", "valid", "test"} -> (X float32 tensor, y int64 tensor), the
    report's splits through the jacnet binding (the same loader and split as
    `jacnet train --dataset usps`)."""
    try:
        import jacnet
    except ImportError:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
        import jacnet
    splits = jacnet.usps_splits(data_dir)
    return {k: (torch.from_numpy(X).contiguous(), torch.from_numpy(y).long()) for k, (X, y) in splits.items()}


def run(a):
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = load_usps(a.data)
    Xtr, ytr = data["train"]
    Xva, yva = data["valid"]
    Xte, yte = data["test"]
    K = int(max(ytr.max(), yva.max(), yte.max())) + 1
    Ytr = torch.nn.functional.one_hot(ytr, K).float()
    n_train = Xtr.shape[0]
    end = min(n_train, a.max_batches * a.batch) if a.max_batches else n_train

    net = make_net([Xtr.shape[1], a.hidden, K])
    init_like_jacnet(net)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr)

    epochs = []
    best_err, best_epoch, best_params, since_best = float("inf"), 0, None, 0
    status = "finished"
    for epoch in range(1, a.epochs + 1):
        t_epoch = time.perf_counter()
        perm = torch.randperm(n_train)
        sums = torch.zeros(3)
        batches = 0
        for start in range(0, end, a.batch):  # the last minibatch may be short
            idx = perm[start:start + a.batch]
            X, Y = Xtr[idx], Ytr[idx]
            Xj = X + a.noise_std * torch.randn_like(X)
            sums += torch.stack(train_step(net, opt, X, Y, Xj, a.lam))
            batches += 1
        seconds = time.perf_counter() - t_epoch
        value, loss, sqnorm = (sums / batches).tolist()
        pen = a.lam * sqnorm  # the penalty's share of the objective, as libjacnet reports it
        if not math.isfinite(value):
            status = "diverged"
            break
        err = error_rate(net, Xva, yva)
        if err < best_err:
            best_err, best_epoch, since_best = err, epoch, 0
            best_params = flat_params(net).clone()
        else:
            since_best += 1
        epochs.append({"epoch": epoch, "train_objective": value, "train_loss": loss, "train_penalty": pen,
                       "train_jacobian_sqnorm": sqnorm, "valid_error": err, "seconds": seconds,
                       "batches": batches})
        if not a.quiet:
            print(f"epoch {epoch:3d}  objective {value:.5f} (loss {loss:.5f} + penalty {pen:.5f})  "
                  f"||J||^2 {sqnorm:.4g}  valid {100 * err:6.2f}%  best {100 * best_err:6.2f}% "
                  f"(epoch {best_epoch})  {seconds:.1f} s", flush=True)
        if a.patience and since_best >= a.patience:
            break
    test = float("nan")
    if best_params is not None:
        set_flat_params(net, best_params)
        test = error_rate(net, Xte, yte)
        if not a.quiet:
            print(f"test error: {100 * test:.2f}%", flush=True)
    total = time.perf_counter() - t0

    record = {
        "tool": "bench/e2e_torch.py",
        "torch_version": torch.__version__,
        "config": {"dataset": "usps", "model": "nj", "hidden": str(a.hidden), "lr": a.lr, "momentum": 0.0,
                   "lambda": a.lam, "noise_std": a.noise_std, "epochs": a.epochs, "patience": a.patience,
                   "batch": a.batch, "threads": a.threads, "seed": a.seed, "precision": "fp32",
                   "max_batches": a.max_batches},
        "torch_threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "sizes": [Xtr.shape[1], a.hidden, K],
        "split": {k: int(v[0].shape[0]) for k, v in data.items()},
        "epochs": epochs,
        "status": status,
        "epochs_run": len(epochs),
        "precision_used": "fp32",
        "best_epoch": best_epoch,
        "best_valid_error": best_err if best_params is not None else float("nan"),
        "test_error": test,
        "total_seconds": total,
    }
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, a.json)
    return 0 if status == "finished" else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="write the run's record here")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (OpenMP pool)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--patience", type=int, default=15)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.3)
    ap.add_argument("--noise-std", type=float, default=0.1)
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=None, help="directory holding usps/ (else $JACNET_DATA, else ./data)")
    ap.add_argument("--max-batches", type=int, default=0,
                    help="only the first N minibatches of every epoch (timing checks; 0: all)")
    ap.add_argument("--quiet", action="store_true")
    sys.exit(run(ap.parse_args()))


if __name__ == "__main__":
    main()
