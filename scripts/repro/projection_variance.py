#!/usr/bin/env python3
"""Issue 25: the variance of the k-projection Jacobian penalty, measured
against docs/METHOD.md's formula, and the noise it adds to the gradient.

On a trained model and minibatches of real inputs, for each batch:
  * the exact penalty P = (1/n) sum_i ||J_i||_F^2 (jn_net_objective with
    lambda 1 minus the loss alone) and its parameter gradient g;
  * for k in --ks, the k-projection estimate P_k and its gradient g_k over
    --seeds projection seeds (jn_objective_set_seed: one seed, one draw of
    the n * k vectors; distinct seeds for each batch and k);
  * the formula. The library draws each example's k vectors independently
    (penalty.c: P_i of K x k columns, each normalised, per example) and
    divides the batch sum by n (objective.c: weight lambda / n), so
        Var(P_k) = (1/n^2) sum_i 2 (K tr(A_i^2) - tr(A_i)^2) / (k (K + 2)),
    A_i = J_i J_i^T (K x K, K outputs), from jn_net_jacobian in float64;
  * measured mean and sample variance with standard errors (the variance's
    from the fourth central moment), the z-scores of both against the exact
    value and the formula;
  * the gradient's relative variance E||g_k - g||^2 / ||g||^2 (no closed
    form), and, to put it on the scale SGD sees, the projection noise of
    the whole step's gradient (loss + lambda * penalty) against the
    minibatch-sampling noise of the exact step gradient, E||G_B - G||^2
    over the batches, G the gradient over all --pool examples.

  projection_variance.py MODEL.jn|init:256-1000-10 [...] [--dataset usps|mnist] [--split train] [--batch 20]
      [--batches 5] [--seeds 2000] [--ks 1,2,4] [--lambda 0.3]
      [--noise-std 0] [--json OUT.json]

For an nj model pass --noise-std 0.1: the Jacobian term's inputs are then
x + N(0, 0.1^2), one fixed draw per batch (as in training, where the noise
is drawn per minibatch). Needs JACNET_DATA (USPS, or MNIST with --dataset
mnist) and PYTHONPATH=python.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
import jacnet  # noqa: E402


def formula_var(J, k):
    """Var of the batch-mean k-projection estimate of mean_i ||J_i||^2, and
    the per-example terms summed: (1/n^2) sum_i 2 (K tr A^2 - (tr A)^2) / (k (K+2))."""
    J = np.asarray(J, dtype=np.float64)
    n, K, _ = J.shape
    A = np.einsum("ikd,ild->ikl", J, J)
    tr = np.trace(A, axis1=1, axis2=2)
    tr2 = np.einsum("ikl,ilk->i", A, A)
    return float(np.sum(2.0 * (K * tr2 - tr ** 2) / (k * (K + 2))) / n ** 2)


def moments(x):
    """mean, its standard error, sample variance and its standard error."""
    x = np.asarray(x, dtype=np.float64)
    N = x.size
    m = x.mean()
    var = x.var(ddof=1)
    m4 = np.mean((x - m) ** 4)
    # Var(s^2) = (m4 - (N-3)/(N-1) sigma^4) / N
    se_var = math.sqrt(max(m4 - (N - 3) / (N - 1) * var ** 2, 0.0) / N)
    return m, math.sqrt(var / N), var, se_var


def penalty_and_grad(net, obj, loss_v, loss_g, X, Y, Xj):
    v, g = net.objective(obj, X, Y, Xj)
    return v - loss_v, g.astype(np.float64) - loss_g


def measure_batch(net, X, Y, Xj, ks, seeds, lam, batch_index=0):
    with jacnet.Objective(jacobian=0.0) as o0, jacnet.Objective(jacobian=1.0) as oe:
        lv, lg = net.objective(o0, X, Y, Xj)
        lg = lg.astype(np.float64)
        P, g = penalty_and_grad(net, oe, lv, lg, X, Y, Xj)
    J = net.jacobian(Xj)
    gn2 = float(g @ g)
    step = lg + lam * g  # the exact step gradient on this batch, at lambda
    out = {"n": int(X.shape[0]), "exact_penalty": P, "grad_norm2": gn2,
           "step_grad_norm2": float(step @ step), "ks": {}}
    for k in ks:
        vals, gerr = np.empty(seeds), np.empty(seeds)
        with jacnet.Objective(jacobian=1.0, projections=k) as base:
            for s in range(seeds):
                # distinct seeds for every (k, batch), so that the batches' estimates are independent
                with base.clone(seed=1000003 * k + 100003 * batch_index + s + 1) as ok:
                    pk, gk = penalty_and_grad(net, ok, lv, lg, X, Y, Xj)
                vals[s] = pk
                d = gk - g
                gerr[s] = d @ d
        m, se_m, var, se_var = moments(vals)
        f = formula_var(J, k)
        gm, gse, _, _ = moments(gerr)
        out["ks"][str(k)] = {
            "mean": m, "se_mean": se_m, "z_mean": (m - P) / se_m if se_m > 0 else 0.0,
            "var": var, "se_var": se_var, "formula_var": f,
            "z_var": (var - f) / se_var if se_var > 0 else 0.0,
            "rel_sd_value": math.sqrt(var) / P,
            "grad_rel_var": gm / gn2, "grad_rel_var_se": gse / gn2,
            # projection noise of the step gradient: lambda^2 E||g_k - g||^2
            "step_proj_noise": lam ** 2 * gm,
            # the tails (a single large step is what an SGD run feels)
            "value_max_over_exact": float(vals.max() / P),
            "grad_rel_err_p99": float(np.percentile(gerr, 99) / gn2),
            "grad_rel_err_max": float(gerr.max() / gn2),
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--dataset", default="usps", choices=("usps", "mnist"))
    ap.add_argument("--split", default="train", choices=("train", "valid", "test"))
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--pool", type=int, default=2000, help="examples whose exact step gradient G is the reference")
    ap.add_argument("--seeds", type=int, default=2000)
    ap.add_argument("--ks", default="1,2,4")
    ap.add_argument("--lambda", dest="lam", type=float, default=0.3)
    ap.add_argument("--noise-std", type=float, default=None,
                    help="std of the Jacobian term's input noise (default: 0.1 for a model file named nj*, else 0)")
    ap.add_argument("--data-seed", type=int, default=1)
    ap.add_argument("--json")
    a = ap.parse_args()
    ks = [int(v) for v in a.ks.split(",")]
    jacnet.set_threads(1)
    X, y = (jacnet.usps_splits() if a.dataset == "usps" else jacnet.mnist_splits())[a.split]
    rs = np.random.default_rng(a.data_seed)
    results = {"dataset": a.dataset, "split": a.split, "batch": a.batch, "seeds": a.seeds, "lambda": a.lam, "models": {}}
    for path in a.models:
        name = os.path.basename(path).rsplit(".", 1)[0]
        std = a.noise_std if a.noise_std is not None else (0.1 if name.startswith("nj") else 0.0)
        t0 = time.time()
        if path.startswith("init:"):  # an untrained network, Glorot from seed 1: where training starts
            net = jacnet.Net([int(v) for v in path[5:].split("-")], "tanh", "sigmoid", seed=1)
        else:
            net = jacnet.Net.load(path)
        with net:
            K = net.n_outputs
            pool = rs.choice(X.shape[0], size=min(a.pool, X.shape[0]), replace=False)
            Xp = X[pool]
            Yp = np.eye(K, dtype=np.float32)[y[pool]]
            Xjp = (Xp + rs.normal(0.0, std, Xp.shape).astype(np.float32)) if std > 0 else Xp
            # The reference: the exact step gradient over the whole pool (the
            # objective is a mean over rows, so it is the pool's mean gradient).
            with jacnet.Objective(jacobian=a.lam) as ol:
                _, Gpool = net.objective(ol, Xp, Yp, Xjp)
            Gpool = Gpool.astype(np.float64)
            batches, sampling = [], []
            for b in range(a.batches):
                idx = np.arange(b * a.batch, (b + 1) * a.batch)
                r = measure_batch(net, Xp[idx], Yp[idx], Xjp[idx], ks, a.seeds, a.lam, b)
                batches.append(r)
            # minibatch-sampling noise of the exact step gradient, over many batches of the pool
            with jacnet.Objective(jacobian=a.lam) as ol:
                for b in range(a.pool // a.batch):
                    idx = np.arange(b * a.batch, (b + 1) * a.batch)
                    _, Gb = net.objective(ol, Xp[idx], Yp[idx], Xjp[idx])
                    d = Gb.astype(np.float64) - Gpool
                    sampling.append(d @ d)
            samp = float(np.mean(sampling))
            summary = {}
            for k in ks:
                rk = [bt["ks"][str(k)] for bt in batches]
                summary[str(k)] = {
                    "var_over_formula": float(np.mean([r["var"] / r["formula_var"] for r in rk])),
                    "z_var": [round(r["z_var"], 2) for r in rk],
                    "z_mean": [round(r["z_mean"], 2) for r in rk],
                    "rel_sd_value": float(np.mean([r["rel_sd_value"] for r in rk])),
                    "grad_rel_var": float(np.mean([r["grad_rel_var"] for r in rk])),
                    "proj_over_sampling": float(np.mean([r["step_proj_noise"] for r in rk])) / samp,
                    "grad_rel_err_p99": float(np.mean([r.get("grad_rel_err_p99", np.nan) for r in rk])),
                    "grad_rel_err_max": float(np.max([r.get("grad_rel_err_max", np.nan) for r in rk])),
                }
            results["models"][name] = {"path": path, "noise_std": std, "K": K, "sizes": list(net.sizes),
                                       "sampling_noise": samp, "Gpool_norm2": float(Gpool @ Gpool),
                                       "batches": batches, "summary": summary,
                                       "seconds": time.time() - t0}
        print_table(name, results["models"][name], ks)
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(a.json + ".tmp", a.json)


def print_table(name, r, ks):
    b0 = r["batches"][0]
    print("%s (Jacobian-input noise std %g, %d batches of %d, exact penalty %.4g on the first):"
          % (name, r["noise_std"], len(r["batches"]), b0["n"], b0["exact_penalty"]))
    print("| k | measured Var / formula (mean over batches) | z of Var vs formula, per batch | z of mean vs exact |"
          " sd/penalty | E||g_k-g||^2/||g||^2 | its 99th percentile / max | step: projection / sampling noise |")
    print("|---|---|---|---|---|---|---|---|")
    for k in ks:
        s = r["summary"][str(k)]
        print("| %d | %.3f | %s | %s | %.3f | %.3f | %.2f / %.2f | %.4f |" % (
            k, s["var_over_formula"], " ".join("%+.1f" % z for z in s["z_var"]),
            " ".join("%+.1f" % z for z in s["z_mean"]), s["rel_sd_value"], s["grad_rel_var"],
            s["grad_rel_err_p99"], s["grad_rel_err_max"], s["proj_over_sampling"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
