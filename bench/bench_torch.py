"""bench_torch.py - the benchmarks of bench/bench.c written in PyTorch, the
fastest way we know a PyTorch user would write them.

    /usr/bin/python3 bench/bench_torch.py NAME VARIANT THREADS [--time S] [--width H]

prints one line, "RESULT name/variant threads best_s median_s examples_per_s 0",
in bench/bench.c's format (bench/compare.py runs it in a child process per
benchmark and reads its peak memory). Variants:

  B1, B5    nn       nn.Linear layers; B1 with torch.optim.SGD, B5 under
                     torch.inference_mode()
  B2, B3    closed   the closed-form Jacobian J = O W_L D_{L-1} ... D_1 W_1
                     built with broadcasting and one batched matmul per
                     layer, its squared norm differentiated by autograd
            vmap     functorch vmap(jacrev(f)) per example, autograd on top
  B4        closed   one random projection v: v^T J by the same closed form
                     (a vector-Jacobian product), autograd on top
            dblback  v^T J by autograd.grad(F, x, v, create_graph=True)
                     (double backpropagation)

The objective is the one libjacnet computes: mean over the batch of
sum_k (F_k - y_k)^2 + lambda ||J_F(Xj)||_F^2, Xj = X + N(0, 0.1^2) drawn
every step, SGD lr 0.01; tanh hidden layers, sigmoid outputs, float32.
"""
import argparse
import statistics
import time

import torch

LAMBDA = 0.1
NOISE_STD = 0.1
LR = 0.01
BLOCKS = 5


def make_net(sizes):
    layers = [torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    return torch.nn.ModuleList(layers)


def forward(net, x):
    """Outputs F and the hidden activations (kept for the closed form)."""
    hs = []
    a = x
    for i, lin in enumerate(net):
        z = lin(a)
        if i + 1 < len(net):
            a = torch.tanh(z)
            hs.append(a)
        else:
            a = torch.sigmoid(z)
    return a, hs


def closed_form_seed(net, F, hs, seed):
    """(n, r, width) rows of v^T J from the output side, as jacobian.c:
    seed (n, r, K) times O = diag(F(1-F)), then for each layer down
    T <- (T @ W_l) * (1 - h^2); returns T @ W_1 (n, r, D)."""
    T = seed * (F * (1 - F)).unsqueeze(1)
    for l in range(len(net) - 1, 0, -1):
        T = torch.matmul(T, net[l].weight) * (1 - hs[l - 1] ** 2).unsqueeze(1)
    return torch.matmul(T, net[0].weight)


def penalty_closed(net, xj):
    F, hs = forward(net, xj)
    n, K = F.shape
    # The exact Jacobian: the seed is the identity, so O itself starts the chain.
    T = torch.diag_embed(F * (1 - F))
    for l in range(len(net) - 1, 0, -1):
        T = torch.matmul(T, net[l].weight) * (1 - hs[l - 1] ** 2).unsqueeze(1)
    J = torch.matmul(T, net[0].weight)
    return (J * J).sum() / n


def penalty_vmap(net, xj, vmap, jacrev):
    def single(x):
        return forward(net, x)[0]

    J = vmap(jacrev(single))(xj)
    return (J * J).sum() / xj.shape[0]


def projection_seed(n, K):
    v = torch.randn(n, 1, K)
    return v / v.norm(dim=2, keepdim=True)


def penalty_proj_closed(net, xj):
    F, hs = forward(net, xj)
    n, K = F.shape
    Jv = closed_form_seed(net, F, hs, projection_seed(n, K))
    return K * (Jv * Jv).sum() / n


def penalty_proj_dblback(net, xj):
    xj = xj.detach().requires_grad_(True)
    F, _ = forward(net, xj)
    n, K = F.shape
    v = projection_seed(n, K).squeeze(1)
    (Jv,) = torch.autograd.grad(F, xj, v, create_graph=True)
    return K * (Jv * Jv).sum() / n


def build(name, variant, H):
    torch.manual_seed(42)
    deep = name == "B3"
    sizes = [784, H, H, 10] if deep else [784, H, 10]
    n = 1000 if name == "B5" else 100
    net = make_net(sizes)
    X = torch.rand(n, 784)
    Y = (torch.rand(n, 10) < 0.1).float()
    opt = torch.optim.SGD(net.parameters(), lr=LR)

    if name == "B5":
        def step():
            with torch.inference_mode():
                forward(net, X)
        return step, n

    if name in ("B2", "B3"):
        if variant == "closed":
            pen = penalty_closed
        else:
            try:
                from torch.func import vmap, jacrev
            except ImportError:
                from functorch import vmap, jacrev
            pen = lambda net_, xj: penalty_vmap(net_, xj, vmap, jacrev)  # noqa: E731
    elif name == "B4":
        pen = penalty_proj_closed if variant == "closed" else penalty_proj_dblback
    else:
        pen = None

    def step():
        opt.zero_grad(set_to_none=True)
        F, _ = forward(net, X)
        loss = ((F - Y) ** 2).sum() / n
        if pen is not None:
            xj = X + NOISE_STD * torch.randn_like(X)
            loss = loss + LAMBDA * pen(net, xj)
        loss.backward()
        opt.step()

    return step, n


def measure(step, block):
    step()
    t0 = time.perf_counter()
    step()
    one = time.perf_counter() - t0
    reps = max(1, int(block / one + 0.999))
    per = []
    for _ in range(BLOCKS):
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        per.append((time.perf_counter() - t0) / reps)
    return min(per), statistics.median(per)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("variant")
    ap.add_argument("threads", type=int)
    ap.add_argument("--time", type=float, default=0.3)
    ap.add_argument("--width", type=int, default=1000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    step, n = build(a.name, a.variant, a.width)
    best, median = measure(step, a.time)
    print(f"RESULT {a.name}/{a.variant} {a.threads} {best:.6g} {median:.6g} {n / best:.6g} 0", flush=True)


if __name__ == "__main__":
    main()
