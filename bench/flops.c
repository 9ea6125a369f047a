/* flops.c - analytical flop counts of the benchmarked steps, from
 * docs/METHOD.md. Only the matrix products are counted (2 flops per
 * multiply-add); the elementwise work (activations, scalings, the loss, the
 * optimizer update) is O(n r width) or O(params), below 1% of the total for
 * the benchmarked shapes, and leaving it out keeps "achieved GFLOP/s"
 * comparable with the sgemm rate. */
#include "bench.h"

/* sum_l sizes[l-1] * sizes[l]: the multiply-adds of one example through
 * every weight matrix. */
static double macs(const size_t *sizes, size_t n_sizes)
{
    double s = 0.0;
    for (size_t l = 1; l < n_sizes; l++) s += (double)sizes[l - 1] * (double)sizes[l];
    return s;
}

/* Forward pass: z_l = a_{l-1} W_l^T, one GEMM per layer, so
 * 2 n sum_l sizes[l-1] sizes[l]  (D-H-K: 2n(DH + HK)). */
double bench_flops_forward(const size_t *sizes, size_t n_sizes, size_t n)
{
    return 2.0 * (double)n * macs(sizes, n_sizes);
}

/* Backward pass: dW_l = delta_l^T a_{l-1} for every layer, and
 * delta_{l-1} = delta_l W_l for l >= 2 (nothing is propagated into the
 * input): 2n sum_l s_{l-1} s_l + 2n sum_{l>=2} s_{l-1} s_l
 * (D-H-K: 2n(DH + 2HK), as METHOD.md). */
double bench_flops_backward(const size_t *sizes, size_t n_sizes, size_t n)
{
    return 2.0 * (double)n * (2.0 * macs(sizes, n_sizes) - (double)sizes[0] * (double)sizes[1]);
}

/* Penalty value and gradient with r Jacobian rows per example (r = K exact,
 * r = projections). The chain (jacobian.c) does V_{l-1} = T_l W_l for
 * l = L..2 and Jr = T_1 W_1: one (n r) x s_l x s_{l-1} product per layer,
 * 2 n r sum_l s_{l-1} s_l. Its reverse (penalty.c) does, per layer, the
 * weight gradient T_l^T V_bar and the adjoint V_bar W_l^T, twice that.
 * Total 6 n r sum_l s_{l-1} s_l (D-H-K exact: 6nK(HD + KH), METHOD.md's
 * "about 6 n K H D"). */
double bench_flops_penalty(const size_t *sizes, size_t n_sizes, size_t n, size_t r)
{
    return 6.0 * (double)n * (double)r * macs(sizes, n_sizes);
}

/* B1: plain objective = forward + backward on X. */
double bench_flops_plain(const size_t *sizes, size_t n_sizes, size_t n)
{
    return bench_flops_forward(sizes, n_sizes, n) + bench_flops_backward(sizes, n_sizes, n);
}

/* B2, B3, B4: Xj != X, so besides the loss's forward and backward on X the
 * step needs a forward and a backward pass at Xj (the backward carries the
 * penalty's adjoints z_bar to every layer), plus the penalty. */
double bench_flops_jacobian(const size_t *sizes, size_t n_sizes, size_t n, size_t r)
{
    return 2.0 * bench_flops_plain(sizes, n_sizes, n) + bench_flops_penalty(sizes, n_sizes, n, r);
}

/* sgemm of an m x k by k x n product. */
double bench_flops_gemm(size_t m, size_t n, size_t k) { return 2.0 * (double)m * (double)n * (double)k; }
