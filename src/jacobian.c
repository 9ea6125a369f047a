/* jacobian.c - the closed-form input Jacobian of the network, for a batch.
 *
 * J(x) = O W_L D_{L-1} W_{L-1} ... D_1 W_1, with D_l = diag(act'(z_l)) and
 * O = dF/dz_L the output layer's Jacobian. It is built from the output side:
 * each example contributes r rows S_i (r x K, S_i = O_i for the exact
 * Jacobian, P_i^T O_i for random projections), stacked into one (n r) x K
 * matrix T_L, and for l = L..2
 *     V_{l-1} = T_l W_l             one GEMM for the whole batch
 *     T_{l-1} = V_{l-1} D_{l-1}     per-example column scaling
 * then Jr = T_1 W_1. Because every W_l is shared by the batch, each step is a
 * single (n r) x width GEMM rather than n small products. */
#include "internal.h"

#include <cblas.h>
#include <string.h>

#define JACOBIAN_CHUNK 256

void jn__output_jacobians(jn_net *net, int p, jn_penalty_target target)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n, K = net->sizes[net->layers], L = net->layers;
    memset(w->O, 0, n * K * K * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float *O = w->O + i * K * K;
        if (target == JN_PENALTY_LOGITS || net->output == JN_ACT_LINEAR) {
            for (size_t k = 0; k < K; k++) O[k * K + k] = 1.0f;
        } else if (net->output == JN_ACT_SOFTMAX) {
            /* dp_a/dz_b = p_a (delta_ab - p_b) */
            const float *pr = pass->a[L] + i * K;
            for (size_t a = 0; a < K; a++) {
                for (size_t b = 0; b < K; b++) O[a * K + b] = -pr[a] * pr[b];
                O[a * K + a] += pr[a];
            }
        } else {
            const float *d1 = pass->d1[L] + i * K;
            for (size_t k = 0; k < K; k++) O[k * K + k] = d1[k];
        }
    }
}

void jn__jacobian_chain(jn_net *net, int p, size_t r, int with_jr)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n, nr = n * r;
    for (size_t l = net->layers; l >= 2; l--) {
        size_t width = net->sizes[l], below = net->sizes[l - 1];
        float *V = w->V[l - 1], *T = w->T[l - 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)below, (int)width, 1.0f, w->T[l],
                    (int)width, jn__W(net, l), (int)below, 0.0f, V, (int)below);
        const float *d1 = pass->d1[l - 1];
        for (size_t i = 0; i < n; i++)
            for (size_t q = 0; q < r; q++) {
                const float *v = V + (i * r + q) * below, *d = d1 + i * below;
                float *t = T + (i * r + q) * below;
                for (size_t h = 0; h < below; h++) t[h] = v[h] * d[h];
            }
    }
    if (!with_jr) return;
    size_t D = net->sizes[0], H1 = net->sizes[1];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)D, (int)H1, 1.0f, w->T[1], (int)H1,
                jn__W(net, 1), (int)D, 0.0f, w->Jr, (int)D);
}

/* Forward m rows and leave their exact output Jacobians in work->Jr. */
static jn_status exact_jacobian(jn_net *net, const float *X, size_t m)
{
    size_t K = net->sizes[net->layers];
    jn_status st = jn__work_reserve(net, m, K);
    if (st == JN_OK) st = jn__forward(net, 0, X, m, 1);
    if (st != JN_OK) return st;
    jn__output_jacobians(net, 0, JN_PENALTY_OUTPUT);
    memcpy(net->work->T[net->layers], net->work->O, m * K * K * sizeof(float));
    jn__jacobian_chain(net, 0, K, 1);
    return JN_OK;
}

/* Exact Jacobians of the n rows of X, JACOBIAN_CHUNK rows at a time so the
 * workspace stays small whatever n is: copied into J (n x K x D) and/or
 * reduced to squared norms in sq (n); either may be NULL. */
static jn_status jacobian_rows(jn_net *net, const float *X, size_t n, float *J, float *sq)
{
    size_t D = net->sizes[0], KD = net->sizes[net->layers] * D;
    for (size_t i = 0; i < n; i += JACOBIAN_CHUNK) {
        size_t m = n - i < JACOBIAN_CHUNK ? n - i : JACOBIAN_CHUNK;
        jn_status st = exact_jacobian(net, X + i * D, m);
        if (st != JN_OK) return st;
        const float *Jr = net->work->Jr;
        if (J) memcpy(J + i * KD, Jr, m * KD * sizeof(float));
        for (size_t e = 0; sq && e < m; e++) {
            double s = 0.0;
            for (size_t j = 0; j < KD; j++) s += (double)Jr[e * KD + j] * Jr[e * KD + j];
            sq[i + e] = (float)s;
        }
    }
    return JN_OK;
}

JN_API jn_status jn_net_jacobian(jn_net *net, const float *X, size_t n, float *J)
{
    if (!net || !J) return jn__fail(JN_ERR_INVALID, "jn_net_jacobian: %s is NULL", net ? "J" : "net");
    jn_status st = jn__check_input(net, X, n, "jn_net_jacobian: X");
    return st == JN_OK ? jacobian_rows(net, X, n, J, NULL) : st;
}

JN_API jn_status jn_net_jacobian_sqnorm(jn_net *net, const float *X, size_t n, float *out)
{
    if (!net || !out) return jn__fail(JN_ERR_INVALID, "jn_net_jacobian_sqnorm: %s is NULL", net ? "out" : "net");
    jn_status st = jn__check_input(net, X, n, "jn_net_jacobian_sqnorm: X");
    return st == JN_OK ? jacobian_rows(net, X, n, NULL, out) : st;
}
