/* penalty.c - the Jacobian penalty lambda * ||J||_F^2 (exact, or its
 * random-projection estimate) and its gradient, by reverse differentiation
 * of the chain in jacobian.c. With Jr = T_1 W_1 and T_{l-1} = V_{l-1} D_{l-1},
 * V_{l-1} = T_l W_l, the adjoints are
 *     Jr_bar  = 2 c Jr
 *     dW_1   += T_1^T Jr_bar,           T_1_bar = Jr_bar W_1^T
 *     z_l_bar = act''(z_l) * sum_rows(T_l_bar * V_l)      (through D_l)
 *     V_l_bar = T_l_bar D_l
 *     dW_l+1 += T_l+1^T V_l_bar,        T_l+1_bar = V_l_bar W_l+1^T
 * and, at the top, S_bar = T_L_bar gives O_bar and z_L_bar through the output
 * layer's second derivative. The z_bar are then backpropagated by the
 * ordinary backward pass (backward.c) as extra adjoints. docs/METHOD.md has
 * the derivation and flop counts. */
#include "backend/backend.h"
#include "noise/noise.h"
#include "net/net.h"
#include "train/objective.h"
#include "penalty/penalty.h"
#include "backend/precision.h"

#include <math.h>
#include <string.h>

/* sum_j a_j b_j over [begin, end), accumulated in double. A single double
 * accumulator would chain every addition on the previous one (strict IEEE
 * order, no vectorisation: ~4 cycles a value over the 784k values of a
 * 784-1000-10 batch's Jr); eight float lanes over 256-value blocks
 * vectorise, and each lane sums at most 32 products before the block total
 * goes into the double. With scale != NULL, a is also multiplied by *scale
 * in the same sweep, after its products are taken; or, with a16, a16 gets
 * bf16(a * scale) and a stays. */
static double dot_blocks(float *a, const float *b, size_t begin, size_t end, const float *scale, uint16_t *a16)
{
    double total = 0.0;
    size_t i = begin;
    while (i < end) {
        size_t stop = end - i > 256 ? i + 256 : end;
        float acc[8] = {0};
        size_t j = i;
        for (; j + 8 <= stop; j += 8)
            for (int k = 0; k < 8; k++) acc[k] += a[j + k] * b[j + k];
        for (; j < stop; j++) acc[0] += a[j] * b[j];
        if (a16)
            for (j = i; j < stop; j++) a16[j] = jn__bf16(a[j] * *scale);
        else if (scale)
            for (j = i; j < stop; j++) a[j] *= *scale;
        double block = 0.0;
        for (int k = 0; k < 8; k++) block += acc[k];
        total += block;
        i = stop;
    }
    return total;
}

typedef struct dot_job {
    float *a;
    const float *b;
    const float *scale;
    uint16_t *a16;
} dot_job;

static double dot_range(void *ctxp, size_t begin, size_t end)
{
    const dot_job *job = ctxp;
    return dot_blocks(job->a, job->b, begin, end, job->scale, job->a16);
}

/* sum_j a_j b_j over count values, in chunks of 64 blocks summed in a fixed
 * order (threads.c); in the same sweep, when scale is not NULL, a *= *scale
 * or (a16 not NULL) a16 = bf16(a * *scale). */
static double dot_sum(float *a, const float *b, size_t count, const float *scale, uint16_t *a16)
{
    dot_job job = {a, b, scale, a16};
    return jn__parallel_sum(count, 64 * 256, a16 ? 3 : 2, dot_range, &job);
}

/* Gram or direct form for the first layer (jacnet.h, docs/METHOD.md). The
 * flop counts: direct 6 nr H D (Jr, dW_1, T_1_bar as three GEMMs); Gram
 * 3 H^2 D + 3 nr H^2 (W W^T and T^T T by syrk, T G and A W by symm). The
 * Gram side is charged 10% extra because syrk and symm ran about 6% below
 * sgemm's rate in OpenBLAS (`make bench-form`, 784-H-10, batch 100,
 * 1 thread: Gram 2.4x faster at H = 250, 1.5x at 500, 1.1x at 750, 0.87x
 * at 1000). */
static int use_gram(const jn_net *net, const jn_objective *obj, size_t nr, const jn__products *products)
{
    if (obj->form != JN_FORM_AUTO) return obj->form == JN_FORM_GRAM;
    double H = (double)net->sizes[1], D = (double)net->sizes[0], rows = (double)nr;
    double direct = 6.0 * rows * H * D, gram = 3.0 * H * H * D + 3.0 * rows * H * H;
    /* The direct form's products run on `products` (bfloat16: 3.5 times
     * the sgemm rate, products.c), the Gram form's always in float32. */
    direct /= products->speedup;
    return 1.1 * gram < direct;
}

/* First layer, Gram form: with G = W_1 W_1^T and U = T_1 G,
 *     sum_i ||Jr_i||^2 = sum(U * T_1),   T_1_bar = 2c U,
 *     dW_1 = 2c (T_1^T T_1) W_1,
 * so no (n r) x D matrix is ever formed. Returns the sum; with grad, leaves
 * T_1_bar in work->Tbar[1] and writes dW_1. */
static double first_layer_gram(jn_net *net, size_t nr, float c2, float *grad)
{
    jn_work *w = net->work;
    size_t D = net->sizes[0], H1 = net->sizes[1];
    const float *W1 = jn__W(net, 1), *T1 = w->T[1];
    float *U = w->Tbar[1];
    /* G and A: upper triangles only, which is what the SYMMs read. */
    jn__ssyrk(0, H1, D, 1.0f, W1, D, 0.0f, w->gram_G, H1);
    jn__ssymm_right(nr, H1, 1.0f, w->gram_G, H1, T1, H1, 0.0f, U, H1);
    /* sum(U * T_1), and U becomes T_1_bar = 2c U in the same sweep. */
    double sum = dot_sum(U, T1, nr * H1, grad ? &c2 : NULL, NULL);
    if (!grad) return sum;
    jn__ssyrk(1, H1, nr, 1.0f, T1, H1, 0.0f, w->gram_A, H1);
    jn__ssymm_left(H1, D, c2, w->gram_A, H1, W1, D, 0.0f, grad + net->w_offset[0], D);
    return sum;
}

/* First layer, direct form: Jr = T_1 W_1 (from the chain), then
 * dW_1 = T_1^T Jr_bar and T_1_bar = Jr_bar W_1^T with Jr_bar = 2c Jr. In
 * float32 the factor 2c is the GEMMs' alpha, so Jr is never rescaled;
 * where the products read a bfloat16 copy, it goes into the copy of Jr,
 * made in the sweep that sums ||Jr||^2. */
static jn_status first_layer_direct(jn_net *net, size_t nr, float c2, const jn__products *products, float *grad,
                                    double *sum)
{
    jn_work *w = net->work;
    size_t D = net->sizes[0], H1 = net->sizes[1];
    jn__operand Jr_bar = jn__adjoint_operand(net, products, w->Jr, D);
    uint16_t *copy = grad ? Jr_bar.bf16 : NULL;
    *sum = dot_sum(w->Jr, w->Jr, nr * D, copy ? &c2 : NULL, copy);
    if (!grad) return JN_OK;
    float alpha = Jr_bar.bf16 ? 1.0f : c2;
    jn_status st = products->product(w, 1, 0, H1, D, nr, alpha, jn__chain_operand(net, products, 1), Jr_bar,
                                     grad + net->w_offset[0], D);
    if (st == JN_OK)
        st = products->product(w, 0, 1, nr, H1, D, alpha, Jr_bar, jn__weights_operand(net, products, 1),
                               w->Tbar[1], H1);
    return st;
}

/* Seeds S_i = P_i^T O_i with P_i (K x r) of columns uniform on the unit
 * sphere. K and r are small (outputs, projections), so plain loops, one
 * example per item. */
typedef struct seeds_job {
    jn_work *w;
    size_t K, r;
    float *S;
} seeds_job;

static void seeds_range(void *ctxp, size_t begin, size_t end)
{
    const seeds_job *job = ctxp;
    size_t K = job->K, r = job->r;
    for (size_t i = begin; i < end; i++) {
        float *P = job->w->proj + i * K * r;
        for (size_t q = 0; q < r; q++) {
            double norm = 0.0;
            for (size_t a = 0; a < K; a++) norm += (double)P[a * r + q] * P[a * r + q];
            float inv = (float)(1.0 / sqrt(norm));
            for (size_t a = 0; a < K; a++) P[a * r + q] *= inv;
        }
        const float *O = job->w->O + i * K * K;
        float *S = job->S + i * r * K;
        for (size_t q = 0; q < r; q++)
            for (size_t b = 0; b < K; b++) {
                float s = 0.0f;
                for (size_t a = 0; a < K; a++) s += P[a * r + q] * O[a * K + b];
                S[q * K + b] = s;
            }
    }
}

static void projection_seeds(jn_net *net, const jn__step *step, size_t n, size_t r)
{
    jn_work *w = net->work;
    size_t K = net->sizes[net->layers];
    jn_rng rng;
    jn__rng_seed(&rng, step->seed, 0);
    /* Normalised Gaussian vectors are uniform on the sphere; all n K r
     * draws come from the one block sampler the noise uses (gauss.c): one
     * stream for the batch, or with example_ids (sharded training) one
     * stream per example, keyed by its dataset index. */
    if (!step->example_ids) {
        jn__normal_fill(&rng, w->proj, n * K * r, 1.0f, NULL);
    } else {
        for (size_t i = 0; i < n; i++) {
            jn__rng_seed(&rng, jn__key_seed(step->seed, 3, 0, step->example_ids[i]), 0);
            jn__normal_fill(&rng, w->proj + i * K * r, K * r, 1.0f, NULL);
        }
    }
    seeds_job job = {w, K, r, w->T[net->layers]};
    jn__parallel_for(n, 1, K * r * (K + 2), seeds_range, &job);
}

/* O_bar = P S_bar for the projections, one example per item. */
typedef struct obar_job {
    jn_work *w;
    const float *Sbar;
    size_t K, r;
} obar_job;

static void obar_range(void *ctxp, size_t begin, size_t end)
{
    const obar_job *job = ctxp;
    size_t K = job->K, r = job->r;
    for (size_t i = begin; i < end; i++) {
        const float *P = job->w->proj + i * K * r, *Sb = job->Sbar + i * r * K;
        float *Ob = job->w->O + i * K * K;
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++) {
                float s = 0.0f;
                for (size_t q = 0; q < r; q++) s += P[a * r + q] * Sb[q * K + b];
                Ob[a * K + b] = s;
            }
    }
}

/* z_L_bar from O_bar (n x K x K) through the output activation, one
 * example per item. */
typedef struct outadj_job {
    const jn_net *net;
    const jn_pass *pass;
    const float *Obar;
    float *zbar;
} outadj_job;

static void outadj_range(void *ctxp, size_t begin, size_t end)
{
    const outadj_job *job = ctxp;
    const jn_net *net = job->net;
    size_t K = net->sizes[net->layers], L = net->layers;
    for (size_t i = begin; i < end; i++) {
        const float *Ob = job->Obar + i * K * K;
        float *zb = job->zbar + i * K;
        if (net->output == JN_ACT_SOFTMAX) {
            /* O_ab = p_a delta_ab - p_a p_b, so
             * p_bar_m = Ob_mm - sum_b Ob_mb p_b - sum_a Ob_am p_a,
             * then z_bar = p * (p_bar - <p, p_bar>). */
            const float *pr = job->pass->a[L] + i * K;
            double dot = 0.0;
            for (size_t m = 0; m < K; m++) {
                double row = 0.0, col = 0.0;
                for (size_t b = 0; b < K; b++) {
                    row += (double)Ob[m * K + b] * pr[b];
                    col += (double)Ob[b * K + m] * pr[b];
                }
                zb[m] = (float)(Ob[m * K + m] - row - col);
                dot += (double)zb[m] * pr[m];
            }
            for (size_t m = 0; m < K; m++) zb[m] = pr[m] * (float)(zb[m] - dot);
        } else {
            const float *d2 = job->pass->d2[L] + i * K;
            for (size_t k = 0; k < K; k++) zb[k] = Ob[k * K + k] * d2[k];
        }
    }
}

static void output_adjoint(jn_net *net, int p, jn_penalty_target target, const float *Obar)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n, K = net->sizes[net->layers], L = net->layers;
    if (target == JN_PENALTY_LOGITS || net->output == JN_ACT_LINEAR) {
        memset(w->zbar[L], 0, n * K * sizeof(float)); /* O is constant */
        return;
    }
    outadj_job job = {net, pass, Obar, w->zbar[L]};
    jn__parallel_for(n, 1, 3 * K * K, outadj_range, &job);
}

/* Through D_m for examples [begin, end): z_m_bar = act''(z_m) * sum over
 * the example's r rows of T_m_bar * V_m, and T_m_bar becomes
 * V_m_bar = T_m_bar D_m in the same sweep; where the products read the
 * bfloat16 copy, only the copy gets V_m_bar (the float32 one would never
 * be read: the same bits, 4 bytes a value fewer written). */
typedef struct through_job {
    float *Tb, *zb;
    const float *V, *d1, *d2;
    size_t r, width;
    uint16_t *Vbar16; /* bf16 copy of V_bar, or NULL */
} through_job;

static void through_range(void *ctxp, size_t begin, size_t end)
{
    const through_job *job = ctxp;
    size_t r = job->r, width = job->width;
    for (size_t i = begin; i < end; i++) {
        float *zrow = job->zb + i * width;
        const float *d1row = job->d1 + i * width, *d2row = job->d2 + i * width;
        memset(zrow, 0, width * sizeof(float));
        for (size_t q = 0; q < r; q++) {
            float *tb = job->Tb + (i * r + q) * width;
            const float *v = job->V + (i * r + q) * width;
            if (job->Vbar16) {
                uint16_t *vb = job->Vbar16 + (i * r + q) * width;
                for (size_t h = 0; h < width; h++) {
                    zrow[h] += tb[h] * v[h];
                    vb[h] = jn__bf16(tb[h] * d1row[h]);
                }
            } else {
                for (size_t h = 0; h < width; h++) {
                    zrow[h] += tb[h] * v[h];
                    tb[h] *= d1row[h]; /* T_bar becomes V_bar */
                }
            }
        }
        for (size_t h = 0; h < width; h++) zrow[h] *= d2row[h];
    }
}

jn_status jn__penalty(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                      const jn__products *products, double *value, float *grad)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n, K = net->sizes[net->layers], L = net->layers;
    size_t r = obj->projections ? obj->projections : K;
    double scale = obj->projections ? (double)K / (double)r : 1.0;
    size_t nr = n * r;

    /* Exact: the seeds are the output Jacobians, written in place. */
    jn__output_jacobians(net, p, obj->target, obj->projections ? w->O : w->T[L]);
    if (obj->projections) projection_seeds(net, step, n, r);
    int gram = use_gram(net, obj, nr, products);
    jn_status st = gram ? jn__work_reserve_gram(net) : JN_OK;
    if (st == JN_OK) st = jn__jacobian_chain(net, p, r, !gram, products);
    if (st != JN_OK) return st;

    /* Each weight block is written once, first of all contributions
     * (jn_net_objective backpropagates afterwards), so GEMM beta is 0 and
     * the caller need not zero the weight gradients. The Gram form's
     * products stay float32 (oneDNN has no syrk/symm). */
    float c2 = (float)(2.0 * weight * scale);
    double sum;
    if (gram)
        sum = first_layer_gram(net, nr, c2, grad);
    else if ((st = first_layer_direct(net, nr, c2, products, grad, &sum)) != JN_OK)
        return st;
    *value = weight * scale * sum;
    if (!grad) return JN_OK;
    for (size_t m = 1; m < L; m++) {
        size_t width = net->sizes[m], above = net->sizes[m + 1];
        float *Tb = w->Tbar[m];
        /* T_m_bar becomes V_m_bar in the sweep: in place, or only in the
         * bfloat16 copy where the products read that. */
        jn__operand V_bar = jn__adjoint_operand(net, products, Tb, width);
        through_job job = {Tb, w->zbar[m], w->V[m], pass->d1[m], pass->d2[m], r, width, V_bar.bf16};
        jn__parallel_for(n, 1, 4 * r * width, through_range, &job);
        st = products->product(w, 1, 0, above, width, nr, 1.0f, jn__chain_operand(net, products, m + 1), V_bar,
                               grad + net->w_offset[m], width);
        if (st == JN_OK)
            st = products->product(w, 0, 1, nr, above, width, 1.0f, V_bar, jn__weights_operand(net, products, m + 1),
                                   w->Tbar[m + 1], above);
        if (st != JN_OK) return st;
    }
    /* S_bar = T_L_bar; O_bar = S_bar (exact) or P S_bar (projections). */
    const float *Sbar = w->Tbar[L];
    if (obj->projections) {
        obar_job job = {w, Sbar, K, r};
        jn__parallel_for(n, 1, 2 * K * K * r, obar_range, &job);
    }
    output_adjoint(net, p, obj->target, obj->projections ? w->O : Sbar);
    return JN_OK;
}
