/* hessian.c - sum over outputs of the squared Frobenius norm of the input
 * Hessian, out_i = sum_k ||d^2 F_k / dx^2 (X_i)||_F^2, in closed form.
 *
 * Every z_l is affine in a_{l-1}, so only the activations bend the network:
 *     H_k = sum_l Z_l^T diag(beta_kl * act_l''(z_l)) Z_l      (hidden layers)
 *         + Z_L^T M_k Z_L                                     (output layer)
 * with Z_l = dz_l/dx the forward tangents, beta_kl = dF_k/da_l the reverse
 * adjoints (forward over reverse) and M_k = d^2 F_k / dz_L^2: act''(z_Lk)
 * e_k e_k^T for elementwise outputs, and for softmax, with u_a = e_a - p,
 *     M_k = p_k [ u_k u_k^T - sum_a p_a u_a u_a^T ]
 * (= p_k [u_k u_k^T + p p^T - diag(p)]), so softmax's rows are
 * r_a = u_a^T Z_L with coefficients p_k (delta_ak - p_a). This form keeps
 * every term small where the output saturates (p_k -> 1), where
 * diag(p) and p p^T would cancel in float.
 *
 * Stack all these rows into Y with the coefficients of output k in s_k, so
 * that H_k = Y^T diag(s_k) Y. Then, with G = Y Y^T and o the elementwise
 * product,
 *     ||H_k||_F^2 = tr(diag(s_k) G diag(s_k) G) = s_k^T (G o G) s_k,
 * and no D x D matrix is ever formed. The first layer's rows are W_1 for
 * every example, so its block (W_1 W_1^T) o (W_1 W_1^T) is formed once per
 * call and applied to the whole batch's coefficients by one GEMM; the other
 * rows (deeper tangents, the output layer's) are per example. docs/METHOD.md has the derivation and the flop count. */
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "penalty/penalty.h"

#include <stdlib.h>
#include <string.h>

/* Rows per chunk: bounds the workspace (a few (rows K) x width buffers). */
#define JN_HESS_CHUNK 128

static int curved(jn_act act) { return act == JN_ACT_TANH || act == JN_ACT_SIGMOID || act == JN_ACT_SOFTMAX; }

/* What bends, and the per-example rows beyond the first layer's. */
typedef struct {
    size_t L, D, K, H1;
    int hidden_curved;   /* tanh/sigmoid hidden layers (and L >= 2) */
    int out_curved;      /* tanh/sigmoid/softmax output */
    int softmax;
    int first_curved;    /* layer 1's rows W_1 carry a coefficient */
    size_t n_hidden_rows; /* tangent rows of layers 2..L-1 (hidden_curved) */
    size_t out_row;      /* first output row (Z_L, or softmax's r_a) */
    size_t n_rows;       /* per-example rows N_r */
    size_t max_width;    /* widest layer 1..L-1 (tangent scratch) */
} shape;

static shape shape_of(const jn_net *net)
{
    shape s = {0};
    s.L = net->layers;
    s.D = net->sizes[0];
    s.K = net->sizes[s.L];
    s.H1 = net->sizes[1];
    s.hidden_curved = s.L >= 2 && curved(net->hidden);
    s.out_curved = curved(net->output);
    s.softmax = net->output == JN_ACT_SOFTMAX;
    /* A one-layer net's elementwise output bends along the rows of W_1
     * itself, shared by all examples; softmax's rows r_a never are. */
    s.first_curved = s.hidden_curved || (s.L == 1 && s.out_curved && !s.softmax);
    if (s.hidden_curved)
        for (size_t l = 2; l < s.L; l++) s.n_hidden_rows += net->sizes[l];
    s.out_row = s.n_hidden_rows;
    s.n_rows = s.out_row + (s.out_curved && (s.L >= 2 || s.softmax) ? s.K : 0);
    for (size_t l = 1; l < s.L; l++)
        if (net->sizes[l] > s.max_width) s.max_width = net->sizes[l];
    return s;
}

/* Buffers of one call, sized for chunks of m rows. */
typedef struct {
    float *Q11;   /* (W_1 W_1^T) o (W_1 W_1^T), H1 x H1 */
    float *C1;    /* first-layer coefficients, (m K) x H1 */
    float *A;     /* C1 Q11, (m K) x H1 */
    float *Chid;  /* coefficients of layers 2..L-1, per example K x n_hidden_rows */
    float *beta;  /* dF/da_l of one layer, (m K) x width */
    float *R;     /* per-example rows, n_rows x D */
    float *Y;     /* a row-scaled tangent, max_width x D */
    float *G1r;   /* W_1 R^T, then squared, H1 x n_rows */
    float *Grr;   /* R R^T, then squared, n_rows x n_rows */
    float *S;     /* per-example coefficients, K x n_rows */
    float *U;     /* K x n_rows products */
} buffers;

static void free_buffers(buffers *b)
{
    free(b->Q11), free(b->C1), free(b->A), free(b->Chid), free(b->beta);
    free(b->R), free(b->Y), free(b->G1r), free(b->Grr), free(b->S), free(b->U);
}

/* count = a * b * c floats, or NULL (with the error recorded). */
static float *alloc3(size_t a, size_t b, size_t c, const char *what)
{
    size_t ab;
    if (!jn__mul(a, b, &ab)) {
        jn__fail(JN_ERR_INVALID, "%s: %zu x %zu x %zu is too large", what, a, b, c);
        return NULL;
    }
    return jn__alloc(ab, c * sizeof(float), what);
}

static jn_status alloc_buffers(const shape *s, size_t m, buffers *b)
{
    const char *what = "jn_net_hessian_sqnorm";
    size_t mK = m * s->K, Nr = s->n_rows, H1 = s->H1;
    memset(b, 0, sizeof *b);
    int ok = 1;
    if (s->first_curved)
        ok = (b->Q11 = alloc3(H1, H1, 1, what)) && (b->C1 = alloc3(mK, H1, 1, what)) &&
             (b->A = alloc3(mK, H1, 1, what));
    if (ok && s->hidden_curved)
        ok = (b->beta = alloc3(mK, s->max_width, 1, what)) &&
             (!s->n_hidden_rows || (b->Chid = alloc3(mK, s->n_hidden_rows, 1, what)));
    if (ok && Nr) {
        ok = (b->R = alloc3(Nr, s->D, 1, what)) && (b->Grr = alloc3(Nr, Nr, 1, what)) &&
             (b->S = alloc3(s->K, Nr, 1, what)) && (b->U = alloc3(s->K, Nr, 1, what)) &&
             (!s->first_curved || (b->G1r = alloc3(H1, Nr, 1, what))) &&
             (!s->n_hidden_rows || (b->Y = alloc3(s->max_width, s->D, 1, what)));
    }
    if (!ok) {
        free_buffers(b);
        return JN_ERR_NOMEM;
    }
    return JN_OK;
}

/* A symmetric n x n matrix held in its upper triangle: fill the lower one
 * and square every entry (G -> G o G). */
static void symmetrize_and_square(float *G, size_t n)
{
    for (size_t a = 0; a < n; a++) {
        G[a * n + a] *= G[a * n + a];
        for (size_t b = a + 1; b < n; b++) {
            float g = G[a * n + b] * G[a * n + b];
            G[a * n + b] = g;
            G[b * n + a] = g;
        }
    }
}

/* sum_j a_j b_j in double. */
static double dot(const float *a, const float *b, size_t count)
{
    double s = 0.0;
    for (size_t j = 0; j < count; j++) s += (double)a[j] * b[j];
    return s;
}

/* The coefficients of the chunk's m rows (pass 0 forwarded with second
 * derivatives, work->V[l] = dz_L/da_l from identity seeds, work->O = dF/dz_L):
 * first-layer coefficients into C1 and those of layers 2..L-1 into Chid
 * (per example K x n_hidden_rows). Hidden layer l: beta_kl * act''(z_l) with
 * beta_l = O V_l (dF/da_l). A one-layer net with an elementwise output:
 * act''(z_k) on row k of W_1. */
static void coefficients(jn_net *net, const shape *s, size_t m, buffers *b)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[0];
    size_t K = s->K;
    if (s->L == 1) {
        if (!s->first_curved) return;
        memset(b->C1, 0, m * K * K * sizeof(float));
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < K; k++) b->C1[(i * K + k) * K + k] = pass->d2[1][i * K + k];
        return;
    }
    if (!s->hidden_curved) return;
    size_t row = 0; /* column offset of layer l in Chid */
    for (size_t l = 1; l < s->L; l++) {
        size_t width = net->sizes[l];
        /* beta_i = O_i V_i: (K x K)(K x width) for each example. */
        for (size_t i = 0; i < m; i++)
            jn__sgemm(0, 0, K, width, K, 1.0f, w->O + i * K * K, K, w->V[l] + i * K * width, width, 0.0f,
                      b->beta + i * K * width, width);
        for (size_t i = 0; i < m; i++) {
            const float *d2 = pass->d2[l] + i * width;
            for (size_t k = 0; k < K; k++) {
                const float *beta = b->beta + (i * K + k) * width;
                float *c = l == 1 ? b->C1 + (i * K + k) * width
                                  : b->Chid + (i * K + k) * s->n_hidden_rows + row;
                for (size_t h = 0; h < width; h++) c[h] = beta[h] * d2[h];
            }
        }
        if (l >= 2) row += width;
    }
}

/* Per-example rows R (n_rows x D) and their coefficients S (K x n_rows) of
 * example i of the chunk: the tangents Z_2..Z_{L-1} (forward:
 * Z_l = W_l diag(act'(z_{l-1})) Z_{l-1}, Z_1 = W_1), then Z_L (the logit
 * Jacobian, from work->Jr) or softmax's r_a = u_a^T Z_L. */
static void example_rows(jn_net *net, const shape *s, size_t i, buffers *b)
{
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[0];
    size_t D = s->D, K = s->K, Nr = s->n_rows;
    memset(b->S, 0, K * Nr * sizeof(float));
    /* Hidden tangents. */
    const float *prev = jn__W(net, 1);
    float *rows = b->R;
    for (size_t l = 2; s->hidden_curved && l < s->L; l++) {
        size_t width = net->sizes[l], below = net->sizes[l - 1];
        const float *d1 = pass->d1[l - 1] + i * below;
        for (size_t h = 0; h < below; h++)
            for (size_t j = 0; j < D; j++) b->Y[h * D + j] = d1[h] * prev[h * D + j];
        jn__sgemm(0, 0, width, D, below, 1.0f, jn__W(net, l), below, b->Y, D, 0.0f, rows, D);
        prev = rows;
        rows += width * D;
    }
    for (size_t k = 0; k < K && s->n_hidden_rows; k++)
        memcpy(b->S + k * Nr, b->Chid + (i * K + k) * s->n_hidden_rows, s->n_hidden_rows * sizeof(float));
    /* Z_L: the logit Jacobian (W_1 itself for one layer). */
    const float *ZL = s->L == 1 ? jn__W(net, 1) : w->Jr + i * K * D;
    float *out_rows = b->R + s->out_row * D;
    if (s->softmax) {
        /* r_a = Z_L[a] - p^T Z_L, formed as sum_{b != a} p_b (Z_L[a] - Z_L[b])
         * and 1 - p_a as sum_{b != a} p_b: no cancellation as p_a -> 1. */
        const float *p = pass->a[s->L] + i * K;
        for (size_t a = 0; a < K; a++) {
            float *r = out_rows + a * D;
            double rest = 0.0;
            memset(r, 0, D * sizeof(float));
            for (size_t c = 0; c < K; c++) {
                if (c == a) continue;
                rest += p[c];
                for (size_t j = 0; j < D; j++) r[j] += p[c] * (ZL[a * D + j] - ZL[c * D + j]);
            }
            for (size_t k = 0; k < K; k++) b->S[k * Nr + s->out_row + a] = k == a ? p[k] * (float)rest : -p[k] * p[a];
        }
    } else if (s->L >= 2 && s->out_curved) {
        memcpy(out_rows, ZL, K * D * sizeof(float));
        for (size_t k = 0; k < K; k++) b->S[k * Nr + s->out_row + k] = pass->d2[s->L][i * K + k];
    }
}

/* out[0..m) for the m rows of X. */
static jn_status hessian_chunk(jn_net *net, const shape *s, const float *X, size_t m, buffers *b, float *out)
{
    size_t K = s->K, D = s->D, H1 = s->H1, Nr = s->n_rows, L = s->L;
    jn_status st = jn__work_reserve(net, m, K);
    if (st == JN_OK) st = jn__forward(net, 0, X, m, 2);
    if (st != JN_OK) return st;
    jn_work *w = net->work;
    if (L >= 2) {
        /* Identity seeds: the chain gives V_l = dz_L/da_l and Jr = dz_L/dx. */
        float *T = w->T[L];
        memset(T, 0, m * K * K * sizeof(float));
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < K; k++) T[(i * K + k) * K + k] = 1.0f;
        jn__jacobian_chain(net, 0, K, s->out_curved, &jn__products_fp32);
        jn__output_jacobians(net, 0, JN_PENALTY_OUTPUT, w->O);
    }
    coefficients(net, s, m, b);
    /* First-layer block for the whole chunk: A = C1 Q11. */
    if (s->first_curved)
        jn__sgemm(0, 0, m * K, H1, H1, 1.0f, b->C1, H1, b->Q11, H1, 0.0f, b->A, H1);
    for (size_t i = 0; i < m; i++) {
        double total = s->first_curved ? dot(b->A + i * K * H1, b->C1 + i * K * H1, K * H1) : 0.0;
        if (Nr) {
            example_rows(net, s, i, b);
            if (s->first_curved) {
                /* Cross block: 2 sum_k c1_k^T ((W_1 R^T) o (W_1 R^T)) s_k. */
                jn__sgemm(0, 1, H1, Nr, D, 1.0f, jn__W(net, 1), D, b->R, D, 0.0f, b->G1r, Nr);
                for (size_t j = 0; j < H1 * Nr; j++) b->G1r[j] *= b->G1r[j];
                jn__sgemm(0, 0, K, Nr, H1, 1.0f, b->C1 + i * K * H1, H1, b->G1r, Nr, 0.0f, b->U, Nr);
                total += 2.0 * dot(b->U, b->S, K * Nr);
            }
            jn__ssyrk(0, Nr, D, 1.0f, b->R, D, 0.0f, b->Grr, Nr);
            symmetrize_and_square(b->Grr, Nr);
            jn__sgemm(0, 0, K, Nr, Nr, 1.0f, b->S, Nr, b->Grr, Nr, 0.0f, b->U, Nr);
            total += dot(b->U, b->S, K * Nr);
        }
        /* A sum of squares: negative only through float rounding. */
        out[i] = total > 0.0 ? (float)total : 0.0f;
    }
    return JN_OK;
}

JN_API jn_status jn_net_hessian_sqnorm(jn_net *net, const float *X, size_t n, float *out)
{
    if (!net || !out) return jn__fail(JN_ERR_INVALID, "jn_net_hessian_sqnorm: %s is NULL", net ? "out" : "net");
    jn_status st = jn__check_input(net, X, n, "jn_net_hessian_sqnorm: X");
    if (st != JN_OK) return st;
    shape s = shape_of(net);
    if (!s.first_curved && !s.n_rows) {
        /* Piecewise-linear network (relu/linear throughout): zero a.e. */
        memset(out, 0, n * sizeof *out);
        return JN_OK;
    }
    size_t chunk = n < JN_HESS_CHUNK ? n : JN_HESS_CHUNK;
    buffers b;
    if ((st = alloc_buffers(&s, chunk, &b)) != JN_OK) return st;
    if (s.first_curved) {
        size_t D = s.D, H1 = s.H1;
        jn__ssyrk(0, H1, D, 1.0f, jn__W(net, 1), D, 0.0f, b.Q11, H1);
        symmetrize_and_square(b.Q11, H1);
    }
    for (size_t i = 0; i < n && st == JN_OK; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        st = hessian_chunk(net, &s, X + i * s.D, m, &b, out + i);
    }
    free_buffers(&b);
    return st;
}
