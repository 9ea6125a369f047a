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
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "penalty/penalty.h"

#include <string.h>

#define JACOBIAN_CHUNK 256

/* Output Jacobians of examples [begin, end). */
typedef struct outjac_job {
    const jn_net *net;
    const jn_pass *pass;
    jn_penalty_target target;
    float *dest;
} outjac_job;

static void outjac_range(void *ctxp, size_t begin, size_t end)
{
    const outjac_job *job = ctxp;
    const jn_net *net = job->net;
    size_t K = net->sizes[net->layers], L = net->layers;
    for (size_t i = begin; i < end; i++) {
        float *O = job->dest + i * K * K;
        memset(O, 0, K * K * sizeof(float));
        if (job->target == JN_PENALTY_LOGITS || net->output == JN_ACT_LINEAR) {
            for (size_t k = 0; k < K; k++) O[k * K + k] = 1.0f;
        } else if (net->output == JN_ACT_SOFTMAX) {
            /* dp_a/dz_b = p_a (delta_ab - p_b) */
            const float *pr = job->pass->a[L] + i * K;
            for (size_t a = 0; a < K; a++) {
                for (size_t b = 0; b < K; b++) O[a * K + b] = -pr[a] * pr[b];
                O[a * K + a] += pr[a];
            }
        } else {
            const float *d1 = job->pass->d1[L] + i * K;
            for (size_t k = 0; k < K; k++) O[k * K + k] = d1[k];
        }
    }
}

void jn__output_jacobians(jn_net *net, int p, jn_penalty_target target, float *dest)
{
    size_t K = net->sizes[net->layers];
    outjac_job job = {net, &net->work->pass[p], target, dest};
    jn__parallel_for(net->work->pass[p].n, 1, K * K, outjac_range, &job);
}

/* T_{l-1} = V_{l-1} D_{l-1} for examples [begin, end): each of an
 * example's r rows scaled by its act'(z) into T, or into its bfloat16 copy
 * T16, or both: T is NULL where T16 is all that is read (the bfloat16
 * products of the direct form), which saves writing 4 bytes a value the
 * step never reads; the copy is the same bits either way. */
typedef struct chain_scale_job {
    const float *V, *d1;
    float *T;
    uint16_t *T16;
    size_t r, width;
} chain_scale_job;

static void chain_scale_range(void *ctxp, size_t begin, size_t end)
{
    const chain_scale_job *job = ctxp;
    size_t r = job->r, width = job->width;
    for (size_t i = begin; i < end; i++) {
        const float *d = job->d1 + i * width;
        for (size_t q = 0; q < r; q++) {
            size_t row = (i * r + q) * width;
            const float *v = job->V + row;
            if (job->T)
                for (size_t h = 0; h < width; h++) job->T[row + h] = v[h] * d[h];
            if (job->T16)
                for (size_t h = 0; h < width; h++) job->T16[row + h] = jn__bf16(v[h] * d[h]);
        }
    }
}

jn_status jn__jacobian_chain(jn_net *net, int p, size_t r, int with_jr, const jn__products *products)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n, nr = n * r, L = net->layers;
    /* The copies the products read (none in float32): the weights', and the
     * seeds'; each lower T_l's is made in the sweep that makes T_l. */
    for (size_t l = 1; l <= L; l++) products->convert(jn__weights_operand(net, products, l), net->sizes[l]);
    products->convert(jn__chain_operand(net, products, L), nr);
    jn_status st = JN_OK;
    for (size_t l = L; l >= 2 && st == JN_OK; l--) {
        size_t width = net->sizes[l], below = net->sizes[l - 1];
        float *V = w->V[l - 1];
        st = products->product(w, 0, 0, nr, below, width, 1.0f, jn__chain_operand(net, products, l),
                               jn__weights_operand(net, products, l), V, below);
        uint16_t *T16 = jn__chain_operand(net, products, l - 1).bf16;
        /* The float32 T_{l-1} is read by float32 products, and T_1 by the
         * Gram form (penalty.c), which has no bfloat16 products. */
        float *T = !T16 || (!with_jr && l - 1 == 1) ? w->T[l - 1] : NULL;
        chain_scale_job job = {V, pass->d1[l - 1], T, T16, r, below};
        if (st == JN_OK) jn__parallel_for(n, 1, (T && T16 ? 4 : 3) * r * below, chain_scale_range, &job);
    }
    if (!with_jr || st != JN_OK) return st;
    size_t D = net->sizes[0], H1 = net->sizes[1];
    return products->product(w, 0, 0, nr, D, H1, 1.0f, jn__chain_operand(net, products, 1),
                             jn__weights_operand(net, products, 1), w->Jr, D);
}

/* Forward m rows and leave their exact output Jacobians in work->Jr. */
static jn_status exact_jacobian(jn_net *net, const float *X, size_t m)
{
    size_t K = net->sizes[net->layers];
    jn_status st = jn__work_reserve(net, m, K);
    if (st == JN_OK) st = jn__forward(net, 0, X, m, 1);
    if (st != JN_OK) return st;
    jn__output_jacobians(net, 0, JN_PENALTY_OUTPUT, net->work->T[net->layers]);
    return jn__jacobian_chain(net, 0, K, 1, &jn__products_fp32);
}

/* Squared norms of the KD-value Jacobians of examples [begin, end), each
 * summed in double in order by one thread. */
typedef struct sqnorm_job {
    const float *Jr;
    float *sq;
    size_t KD;
} sqnorm_job;

static void sqnorm_range(void *ctxp, size_t begin, size_t end)
{
    const sqnorm_job *job = ctxp;
    for (size_t e = begin; e < end; e++) {
        const float *J = job->Jr + e * job->KD;
        double s = 0.0;
        for (size_t j = 0; j < job->KD; j++) s += (double)J[j] * J[j];
        job->sq[e] = (float)s;
    }
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
        if (sq) {
            sqnorm_job job = {Jr, sq + i, KD};
            jn__parallel_for(m, 1, KD, sqnorm_range, &job);
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
