/* test_jacobian.c - the input Jacobian and the Jacobian penalty.
 *
 *  - jn_net_jacobian against central differences of jn_net_forward (computed
 *    here, Richardson-extrapolated, float-rounded steps), every output
 *    activation, depths 1..3;
 *  - jn_net_jacobian_sqnorm against the sum of squares of jn_net_jacobian;
 *  - the penalty inside jn_net_objective, isolated as
 *    (objective(lambda) - objective(0)) / lambda = mean sqnorm at Xj, and for
 *    the logits target against the Jacobian of a linear-output twin network;
 *  - degenerate nets (all zero, constant) and closed forms computed here in
 *    double (the report's one-hidden-layer formula; W_L...W_1 for linear nets);
 *  - batch-size independence up to n = 1000 (past the library's internal
 *    chunks of 256 and 512 rows);
 *  - the random-projection estimate: unbiased value and gradient over 10^4
 *    seeds, reproducible for a seed, different across seeds. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The networks: biased_net(..., 1.0f), Glorot weights from jn_net_init and
 * uniform biases in [-0.5, 0.5]. */

/* max |a - b| / max(max|b|, floor) */
static double max_rel(const float *a, const double *b, size_t n, double floor)
{
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    scale = fmax(scale, floor);
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / scale);
    return worst;
}

/* ------------------------------------------------------------------ */
/* Jacobian against differences of the forward pass                    */
/* ------------------------------------------------------------------ */

/* Central differences of jn_net_forward with respect to every input, with
 * the float-rounded steps, Richardson-extrapolated: Jfd is n x K x D. Rows
 * are perturbed one column at a time for the whole batch (rows do not
 * interact). Float forward values carry ~6e-8 relative rounding, i.e.
 * ~5e-6 in a difference over 2h = 2e-2: FD_TOL below is 1e-4. */
#define FD_STEP 1e-2
#define JAC_FD_TOL 1e-4
static void jacobian_fd(jn_net *net, const float *X, size_t n, size_t D, size_t K, double *Jfd)
{
    float *Xp = malloc(n * D * sizeof *Xp), *Fp = malloc(n * K * sizeof *Fp), *Fm = malloc(n * K * sizeof *Fm);
    double *d = malloc(2 * n * K * sizeof *d);
    for (size_t j = 0; j < D; j++) {
        for (int s = 0; s < 2; s++) {
            double h = FD_STEP * (s + 1);
            double up[4096], down[4096];
            ck_assert_uint_le(n, 4096);
            memcpy(Xp, X, n * D * sizeof *Xp);
            for (size_t i = 0; i < n; i++) {
                Xp[i * D + j] = (float)(X[i * D + j] + h);
                up[i] = Xp[i * D + j];
            }
            ck_assert_int_eq(jn_net_forward(net, Xp, n, Fp), JN_OK);
            for (size_t i = 0; i < n; i++) {
                Xp[i * D + j] = (float)(X[i * D + j] - h);
                down[i] = Xp[i * D + j];
            }
            ck_assert_int_eq(jn_net_forward(net, Xp, n, Fm), JN_OK);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < K; k++)
                    d[(s * n + i) * K + k] = ((double)Fp[i * K + k] - Fm[i * K + k]) / (up[i] - down[i]);
        }
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < K; k++)
                Jfd[(i * K + k) * D + j] = (4.0 * d[i * K + k] - d[(n + i) * K + k]) / 3.0;
    }
    free(Xp);
    free(Fp);
    free(Fm);
    free(d);
}

typedef struct {
    size_t sizes[4], n_sizes;
    jn_act hidden;
} arch;
static const arch archs[] = {
    {{5, 3}, 2, JN_ACT_TANH},
    {{5, 4, 3}, 3, JN_ACT_TANH},
    {{5, 4, 4, 3}, 4, JN_ACT_TANH},
    {{5, 4, 3}, 3, JN_ACT_SIGMOID},
    {{5, 6, 4, 3}, 4, JN_ACT_SIGMOID},
    {{5, 4, 3}, 3, JN_ACT_LINEAR},
    {{5, 4, 4, 3}, 4, JN_ACT_LINEAR},
};
#define N_ARCHS (sizeof archs / sizeof archs[0])
static const jn_act outputs[] = {JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_ACT_LINEAR, JN_ACT_TANH, JN_ACT_RELU};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

START_TEST(jacobian_matches_differences)
{
    const arch *a = &archs[_i / N_OUTPUTS];
    jn_act out = outputs[_i % N_OUTPUTS];
    size_t n = 6, D = a->sizes[0], K = a->sizes[a->n_sizes - 1];
    jn_net *net = biased_net(a->sizes, a->n_sizes, a->hidden, out, 20 + (unsigned)_i, 1.0f);
    float *X = malloc(n * D * sizeof *X), *J = malloc(n * K * D * sizeof *J), *F = malloc(n * K * sizeof *F);
    double *Jfd = malloc(n * K * D * sizeof *Jfd);
    fill_uniform(X, n * D, 5 + (unsigned)_i, -1.0f, 1.0f);
    if (out == JN_ACT_RELU) {
        /* Keep every relu output at least 0.5 away from its kink, so that
         * differences (|dz| <= a few times 2e-2 here) never straddle it:
         * z_L is read from a linear-output twin, output biases are shifted so
         * that z >= 0.5 everywhere, and the last output is pushed below -0.5
         * everywhere to test the flat side (zero Jacobian row). */
        jn_net *twin = NULL;
        ck_assert_int_eq(jn_net_create(&twin, a->sizes, a->n_sizes, a->hidden, JN_ACT_LINEAR), JN_OK);
        size_t P = jn_net_param_count(net);
        ck_assert_int_eq(jn_net_set_params(twin, jn_net_params(net), P), JN_OK);
        ck_assert_int_eq(jn_net_forward(twin, X, n, F), JN_OK);
        float *bL = jn_net_params(net) + P - K;
        for (size_t k = 0; k < K; k++) {
            float lo = INFINITY, hi = -INFINITY;
            for (size_t i = 0; i < n; i++) {
                lo = fminf(lo, F[i * K + k]);
                hi = fmaxf(hi, F[i * K + k]);
            }
            if (k + 1 < K) bL[k] += fmaxf(0.0f, 0.5f - lo);
            else bL[k] -= hi + 0.5f;
        }
        jn_net_free(twin);
    }
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    jacobian_fd(net, X, n, D, K, Jfd);
    double err = max_rel(J, Jfd, n * K * D, 1e-3);
    if (verbose())
        printf("  jacobian vs FD  %zu layers hidden %-7s output %-7s  max rel err %.2e\n", a->n_sizes - 1,
               act_names[a->hidden], act_names[out], err);
    double jmax = 0.0;
    for (size_t i = 0; i < n * K * D; i++) jmax = fmax(jmax, fabs(J[i]));
    ck_assert_msg(jmax > 1e-3, "Jacobian is (nearly) all zeros: %g", jmax);
    ck_assert_msg(err < JAC_FD_TOL, "%zu layers, hidden %s, output %s: Jacobian vs differences rel err %g",
                  a->n_sizes - 1, act_names[a->hidden], act_names[out], err);
    free(X);
    free(J);
    free(F);
    free(Jfd);
    jn_net_free(net);
}
END_TEST

/* ReLU hidden units: inputs chosen so that no hidden pre-activation is
 * within 0.05 of 0 (|dz/dx_j| <= sum|W| ~ 3, steps 2e-2 -> |dz| < 0.06), by
 * nudging each hidden bias away from the nearest pre-activation. */
START_TEST(jacobian_relu_hidden)
{
    size_t sizes[] = {5, 6, 3}, n = 1, D = 5, K = 3, H = 6;
    jn_net *net = biased_net(sizes, 3, JN_ACT_RELU, JN_ACT_SIGMOID, 77, 1.0f);
    float X[5], J[15];
    double Jfd[15];
    fill_uniform(X, D, 3, -1.0f, 1.0f);
    float *p = jn_net_params(net);
    const float *W1 = p;
    float *b1 = p + H * D;
    for (size_t h = 0; h < H; h++) {
        double z = b1[h], s = 0.0;
        for (size_t j = 0; j < D; j++) {
            z += (double)W1[h * D + j] * X[j];
            s += fabs(W1[h * D + j]);
        }
        double margin = 2.5 * FD_STEP * s + 0.05;
        if (fabs(z) < margin) b1[h] += (float)(z >= 0 ? margin : -margin);
    }
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    jacobian_fd(net, X, n, D, K, Jfd);
    double err = max_rel(J, Jfd, K * D, 1e-3);
    if (verbose()) printf("  jacobian vs FD  relu hidden  max rel err %.2e\n", err);
    ck_assert_msg(err < JAC_FD_TOL, "relu hidden: rel err %g", err);
    jn_net_free(net);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Squared norms and the penalty inside the objective                  */
/* ------------------------------------------------------------------ */

START_TEST(sqnorm_is_sum_of_squares)
{
    const arch *a = &archs[_i / N_OUTPUTS];
    jn_act out = outputs[_i % N_OUTPUTS];
    size_t n = 37, D = a->sizes[0], K = a->sizes[a->n_sizes - 1];
    jn_net *net = biased_net(a->sizes, a->n_sizes, a->hidden, out, 90 + (unsigned)_i, 1.0f);
    float *X = malloc(n * D * sizeof *X), *J = malloc(n * K * D * sizeof *J), *sq = malloc(n * sizeof *sq);
    fill_uniform(X, n * D, 15 + (unsigned)_i, -2.0f, 2.0f);
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t c = 0; c < K * D; c++) s += (double)J[i * K * D + c] * J[i * K * D + c];
        ck_assert_msg(fabs(sq[i] - s) <= 1e-6 * s + 1e-30, "row %zu: sqnorm %.9g, sum of squares %.9g", i, sq[i], s);
    }
    free(X);
    free(J);
    free(sq);
    jn_net_free(net);
}
END_TEST

/* (objective(lambda) - objective(0)) / lambda = mean_i ||J(Xj_i)||^2, for
 * Xj NULL (= X) and Xj != X, every output, depths 1..3; with the logits
 * target, the norm is that of a twin network with the same parameters and a
 * linear output layer. */
START_TEST(penalty_value_isolated)
{
    const arch *a = &archs[_i / N_OUTPUTS];
    jn_act out = outputs[_i % N_OUTPUTS];
    size_t n = 9, D = a->sizes[0], K = a->sizes[a->n_sizes - 1];
    jn_net *net = biased_net(a->sizes, a->n_sizes, a->hidden, out, 40 + (unsigned)_i, 1.0f);
    jn_net *twin = NULL;
    ck_assert_int_eq(jn_net_create(&twin, a->sizes, a->n_sizes, a->hidden, JN_ACT_LINEAR), JN_OK);
    size_t P = jn_net_param_count(net);
    ck_assert_int_eq(jn_net_set_params(twin, jn_net_params(net), P), JN_OK);
    float *X = malloc(n * D * sizeof *X), *Xj = malloc(n * D * sizeof *Xj), *Y = calloc(n * K, sizeof *Y);
    float *sq = malloc(n * sizeof *sq);
    fill_uniform(X, n * D, 1 + (unsigned)_i, -1.0f, 1.0f);
    fill_uniform(Xj, n * D, 2 + (unsigned)_i, -1.0f, 1.0f);
    fill_uniform(Y, n * K, 3 + (unsigned)_i, 0.0f, 1.0f);
    const double lambda = 0.37;
    jn_objective *o0 = NULL, *o1 = NULL;
    o0 = loss_objective(JN_LOSS_MSE);
    o1 = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(o1, lambda, 0), JN_OK);
    for (int target = 0; target < 2; target++) {
        ck_assert_int_eq(jn_objective_set_penalty_target(o1, target ? JN_PENALTY_LOGITS : JN_PENALTY_OUTPUT), JN_OK);
        jn_net *ref = target ? twin : net;
        for (int xj = 0; xj < 2; xj++) {
            const float *xarg = xj ? Xj : NULL;
            double v0, v1;
            ck_assert_int_eq(jn_net_objective(net, o0, X, xarg, Y, n, &v0, NULL), JN_OK);
            ck_assert_int_eq(jn_net_objective(net, o1, X, xarg, Y, n, &v1, NULL), JN_OK);
            ck_assert_int_eq(jn_net_jacobian_sqnorm(ref, xj ? Xj : X, n, sq), JN_OK);
            double mean = 0.0;
            for (size_t i = 0; i < n; i++) mean += sq[i];
            mean /= (double)n;
            double pen = (v1 - v0) / lambda;
            ck_assert_msg(mean > 1e-4, "degenerate test: mean sqnorm %g", mean);
            ck_assert_msg(fabs(pen - mean) <= 1e-5 * mean + 1e-7 * fabs(v0) / lambda,
                          "%zu layers %s/%s target %s Xj %s: penalty %.9g, mean sqnorm %.9g", a->n_sizes - 1,
                          act_names[a->hidden], act_names[out], target ? "logits" : "output", xj ? "!= X" : "NULL",
                          pen, mean);
        }
    }
    free(X);
    free(Xj);
    free(Y);
    free(sq);
    jn_objective_free(o0);
    jn_objective_free(o1);
    jn_net_free(net);
    jn_net_free(twin);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Degenerate networks and closed forms                                */
/* ------------------------------------------------------------------ */

/* All parameters 0: zero Jacobian, zero penalty, and the penalty adds nothing
 * to the gradient (J is a product of >= 1 weight matrices, and ||J||^2 has
 * zero gradient at W = 0). */
START_TEST(zero_weights)
{
    const arch *a = &archs[_i / N_OUTPUTS];
    jn_act out = outputs[_i % N_OUTPUTS];
    size_t n = 5, D = a->sizes[0], K = a->sizes[a->n_sizes - 1];
    jn_net *net = biased_net(a->sizes, a->n_sizes, a->hidden, out, 7, 1.0f);
    size_t P = jn_net_param_count(net);
    float *zeros = calloc(P, sizeof *zeros);
    ck_assert_int_eq(jn_net_set_params(net, zeros, P), JN_OK);
    float *X = malloc(n * D * sizeof *X), *J = malloc(n * K * D * sizeof *J), *sq = malloc(n * sizeof *sq);
    float *Y = calloc(n * K, sizeof *Y), *g0 = malloc(P * sizeof *g0), *g1 = malloc(P * sizeof *g1);
    fill_uniform(X, n * D, 9, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) Y[i * K + i % K] = 1.0f;
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    for (size_t c = 0; c < n * K * D; c++) ck_assert_msg(J[c] == 0.0f, "J[%zu] = %g", c, J[c]);
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
    for (size_t i = 0; i < n; i++) ck_assert(sq[i] == 0.0f);
    for (unsigned proj = 0; proj <= 2; proj += 2) {
        jn_objective *o0 = NULL, *o1 = NULL;
        o0 = loss_objective(JN_LOSS_MSE);
        o1 = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(o1, 2.0, proj), JN_OK);
        double v0, v1;
        ck_assert_int_eq(jn_net_objective(net, o0, X, NULL, Y, n, &v0, g0), JN_OK);
        ck_assert_int_eq(jn_net_objective(net, o1, X, X, Y, n, &v1, g1), JN_OK);
        ck_assert_msg(v1 == v0, "penalty of the zero net: %g", v1 - v0);
        for (size_t k = 0; k < P; k++)
            ck_assert_msg(fabsf(g1[k] - g0[k]) <= 1e-7f * (1.0f + fabsf(g0[k])), "param %zu: %g vs %g", k, g1[k],
                          g0[k]);
        /* and the loss gradient is there (the call did something), except
         * for relu outputs, whose slope at z = 0 is 0 */
        double gmax = 0.0;
        for (size_t k = 0; k < P; k++) gmax = fmax(gmax, fabs(g0[k]));
        if (out != JN_ACT_RELU) ck_assert(gmax > 0.0);
        jn_objective_free(o0);
        jn_objective_free(o1);
    }
    free(zeros);
    free(X);
    free(J);
    free(sq);
    free(Y);
    free(g0);
    free(g1);
    jn_net_free(net);
}
END_TEST

/* W = 0 with non-zero biases: the network is constant, J = 0. */
START_TEST(constant_net)
{
    const arch *a = &archs[_i / N_OUTPUTS];
    jn_act out = outputs[_i % N_OUTPUTS];
    size_t n = 4, D = a->sizes[0], K = a->sizes[a->n_sizes - 1];
    jn_net *net = biased_net(a->sizes, a->n_sizes, a->hidden, out, 8, 1.0f);
    float *p = jn_net_params(net);
    size_t off = 0;
    for (size_t l = 1; l < a->n_sizes; l++) {
        memset(p + off, 0, a->sizes[l] * a->sizes[l - 1] * sizeof *p);
        off += a->sizes[l] * a->sizes[l - 1] + a->sizes[l];
    }
    float *X = malloc(n * D * sizeof *X), *J = malloc(n * K * D * sizeof *J), *F = malloc(n * K * sizeof *F);
    fill_uniform(X, n * D, 10, -1.0f, 1.0f);
    ck_assert_int_eq(jn_net_forward(net, X, n, F), JN_OK);
    for (size_t i = 1; i < n; i++)
        for (size_t k = 0; k < K; k++) ck_assert(F[i * K + k] == F[k]); /* constant indeed */
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    for (size_t c = 0; c < n * K * D; c++) ck_assert_msg(J[c] == 0.0f, "J[%zu] = %g", c, J[c]);
    free(X);
    free(J);
    free(F);
    jn_net_free(net);
}
END_TEST

/* The report's closed form for one hidden layer, in double:
 *   J_ij = s'(o_i) sum_l W2_il W1_lj h'(a_l),  a = W1 x + b1, o = W2 h(a) + b2
 * for hidden tanh or sigmoid and output sigmoid (F(1-F)), tanh (1-F^2) or
 * linear (1). */
START_TEST(closed_form_one_hidden)
{
    static const jn_act hid[] = {JN_ACT_TANH, JN_ACT_SIGMOID};
    static const jn_act outs[] = {JN_ACT_SIGMOID, JN_ACT_TANH, JN_ACT_LINEAR};
    jn_act hidden = hid[_i / 3], out = outs[_i % 3];
    enum { D = 7, H = 5, K = 4, N = 8 };
    size_t sizes[] = {D, H, K};
    jn_net *net = biased_net(sizes, 3, hidden, out, 300 + (unsigned)_i, 1.0f);
    const float *p = jn_net_params(net);
    const float *W1 = p, *b1 = p + H * D, *W2 = b1 + H, *b2 = W2 + K * H;
    float X[N * D], J[N * K * D];
    double Jc[N * K * D];
    fill_uniform(X, N * D, 31, -1.5f, 1.5f);
    for (size_t i = 0; i < N; i++) {
        double hv[H], hd[H];
        for (size_t l = 0; l < H; l++) {
            double z = b1[l];
            for (size_t j = 0; j < D; j++) z += (double)W1[l * D + j] * X[i * D + j];
            if (hidden == JN_ACT_TANH) {
                hv[l] = tanh(z);
                hd[l] = 1.0 - hv[l] * hv[l];
            } else {
                hv[l] = 1.0 / (1.0 + exp(-z));
                hd[l] = hv[l] * (1.0 - hv[l]);
            }
        }
        for (size_t k = 0; k < K; k++) {
            double o = b2[k];
            for (size_t l = 0; l < H; l++) o += (double)W2[k * H + l] * hv[l];
            double sd;
            if (out == JN_ACT_SIGMOID) {
                double F = 1.0 / (1.0 + exp(-o));
                sd = F * (1.0 - F);
            } else if (out == JN_ACT_TANH) {
                double F = tanh(o);
                sd = 1.0 - F * F;
            } else {
                sd = 1.0;
            }
            for (size_t j = 0; j < D; j++) {
                double s = 0.0;
                for (size_t l = 0; l < H; l++) s += (double)W2[k * H + l] * W1[l * D + j] * hd[l];
                Jc[(i * K + k) * D + j] = sd * s;
            }
        }
    }
    ck_assert_int_eq(jn_net_jacobian(net, X, N, J), JN_OK);
    double err = max_rel(J, Jc, N * K * D, 1e-3);
    if (verbose())
        printf("  closed form     hidden %-7s output %-7s  max rel err %.2e\n", act_names[hidden], act_names[out], err);
    ck_assert_msg(err < 1e-5, "hidden %s output %s: closed form rel err %g", act_names[hidden], act_names[out], err);
    jn_net_free(net);
}
END_TEST

/* Linear hidden and output layers: J = W_L ... W_1 for every x. */
START_TEST(linear_net_product_of_weights)
{
    const arch *a = &archs[5 + _i]; /* the two linear architectures */
    ck_assert_int_eq(a->hidden, JN_ACT_LINEAR);
    size_t n = 3, D = a->sizes[0], K = a->sizes[a->n_sizes - 1], L = a->n_sizes - 1;
    jn_net *net = biased_net(a->sizes, a->n_sizes, JN_ACT_LINEAR, JN_ACT_LINEAR, 12, 1.0f);
    const float *p = jn_net_params(net);
    /* M = W_1 (H1 x D), then M = W_l M */
    double *M = malloc(16 * D * sizeof *M), *T = malloc(16 * D * sizeof *T);
    size_t rows = a->sizes[1];
    for (size_t c = 0; c < rows * D; c++) M[c] = p[c];
    size_t off = a->sizes[1] * D + a->sizes[1];
    for (size_t l = 2; l <= L; l++) {
        const float *W = p + off;
        size_t out = a->sizes[l], in = a->sizes[l - 1];
        for (size_t r = 0; r < out; r++)
            for (size_t j = 0; j < D; j++) {
                double s = 0.0;
                for (size_t m = 0; m < in; m++) s += (double)W[r * in + m] * M[m * D + j];
                T[r * D + j] = s;
            }
        memcpy(M, T, out * D * sizeof *M);
        rows = out;
        off += out * in + out;
    }
    ck_assert_uint_eq(rows, K);
    float *X = uniform_floats(n * D, 4, -3.0f, 3.0f), *J = malloc(n * K * D * sizeof *J);
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    for (size_t i = 0; i < n; i++) {
        double err = max_rel(J + i * K * D, M, K * D, 1e-3);
        ck_assert_msg(err < 1e-6, "row %zu: J vs W_L..W_1 rel err %g", i, err);
    }
    free(M);
    free(T);
    free(X);
    free(J);
    jn_net_free(net);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Batch-size independence                                             */
/* ------------------------------------------------------------------ */

/* n rows at once vs one row per call, for n = 7, 256, 257, 513 and 1000
 * (the library works in chunks of 256 rows for Jacobians and 512 for the
 * forward pass). A different GEMM shape may round differently, hence the
 * 1e-6 relative tolerance rather than bit equality. */
START_TEST(batch_size_independence)
{
    static const size_t ns[] = {7, 256, 257, 513, 1000};
    size_t n = ns[_i];
    size_t sizes[] = {6, 5, 4, 3}, D = 6, K = 3;
    jn_net *net = biased_net(sizes, 4, JN_ACT_TANH, JN_ACT_SOFTMAX, 55, 1.0f);
    float *X = malloc(n * D * sizeof *X), *J = malloc(n * K * D * sizeof *J), *sq = malloc(n * sizeof *sq);
    float *F = malloc(n * K * sizeof *F);
    fill_uniform(X, n * D, 66, -1.0f, 1.0f);
    ck_assert_int_eq(jn_net_jacobian(net, X, n, J), JN_OK);
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
    ck_assert_int_eq(jn_net_forward(net, X, n, F), JN_OK);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float J1[18], sq1, F1[3];
        ck_assert_int_eq(jn_net_jacobian(net, X + i * D, 1, J1), JN_OK);
        ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X + i * D, 1, &sq1), JN_OK);
        ck_assert_int_eq(jn_net_forward(net, X + i * D, 1, F1), JN_OK);
        double scale = 0.0;
        for (size_t c = 0; c < K * D; c++) scale = fmax(scale, fabs(J1[c]));
        for (size_t c = 0; c < K * D; c++) {
            double e = fabs(J[i * K * D + c] - J1[c]) / fmax(scale, 1e-6);
            worst = fmax(worst, e);
            ck_assert_msg(e < 1e-6, "n = %zu, row %zu, entry %zu: batch %.9g, alone %.9g", n, i, c,
                          J[i * K * D + c], J1[c]);
        }
        ck_assert_msg(fabs(sq[i] - sq1) <= 1e-6 * sq1, "n = %zu row %zu: sqnorm %.9g vs %.9g", n, i, sq[i], sq1);
        for (size_t k = 0; k < K; k++)
            ck_assert_msg(fabsf(F[i * K + k] - F1[k]) <= 1e-6f, "n = %zu row %zu: F %.9g vs %.9g", n, i, F[i * K + k],
                          F1[k]);
    }
    if (verbose()) printf("  batch n = %-5zu  max rel diff to row-by-row %.2e\n", n, worst);
    free(X);
    free(J);
    free(sq);
    free(F);
    jn_net_free(net);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Random projections                                                  */
/* ------------------------------------------------------------------ */

/* The estimate (K/k) sum_p ||v_p^T J||^2 is unbiased for ||J||^2, and so is
 * its gradient. Over S = 10^4 seeds: the sample mean of the penalty value
 * lies within 3 sample standard errors of the exact value, and for every
 * gradient component c, |mean_c - exact_c| < 4 SE_c. With ~40 components a
 * per-component 3-SE rule would fail by chance ~10% of the time; 4 SE has a
 * two-sided tail of 6e-5, i.e. < 3e-3 over all components (Bonferroni). The
 * seeds are fixed, so the outcome is deterministic for a given build.
 * Components whose estimate does not vary with the seed (SE = 0) must equal
 * the exact value to float rounding. The loss and l2 parts are removed by
 * subtracting the objective with lambda = 0. */
#define N_SEEDS 10000
static void projection_unbiased(unsigned k, jn_act out, jn_penalty_target target)
{
    size_t sizes[] = {5, 4, 3}, D = 5, K = 3, n = 4;
    jn_net *net = biased_net(sizes, 3, JN_ACT_TANH, out, 17, 1.0f);
    size_t P = jn_net_param_count(net);
    float X[20], Xj[20], Y[12];
    fill_uniform(X, n * D, 1, -1.0f, 1.0f);
    fill_uniform(Xj, n * D, 2, -1.0f, 1.0f);
    fill_uniform(Y, n * K, 3, 0.0f, 1.0f);
    const double lambda = 1.0;
    jn_objective *o0 = NULL, *ex = NULL, *pr = NULL;
    o0 = loss_objective(JN_LOSS_MSE);
    ex = loss_objective(JN_LOSS_MSE);
    pr = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(ex, lambda, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(pr, lambda, k), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_target(ex, target), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_target(pr, target), JN_OK);
    float *g0 = malloc(P * sizeof *g0), *ge = malloc(P * sizeof *ge), *g = malloc(P * sizeof *g);
    double *gs = calloc(P, sizeof *gs), *gs2 = calloc(P, sizeof *gs2);
    double v0, ve;
    ck_assert_int_eq(jn_net_objective(net, o0, X, Xj, Y, n, &v0, g0), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, ex, X, Xj, Y, n, &ve, ge), JN_OK);
    double exact = ve - v0;
    ck_assert(exact > 1e-3);
    double s = 0.0, s2 = 0.0;
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++) {
        double v;
        ck_assert_int_eq(jn_objective_set_seed(pr, seed * 0x9E3779B97F4A7C15ULL), JN_OK);
        ck_assert_int_eq(jn_net_objective(net, pr, X, Xj, Y, n, &v, g), JN_OK);
        double pen = v - v0;
        s += pen;
        s2 += pen * pen;
        for (size_t c = 0; c < P; c++) {
            double d = (double)g[c] - g0[c];
            gs[c] += d;
            gs2[c] += d * d;
        }
    }
    double mean = s / N_SEEDS, var = (s2 - N_SEEDS * mean * mean) / (N_SEEDS - 1), se = sqrt(var / N_SEEDS);
    double z = (mean - exact) / se;
    double zmax = 0.0, chi = 0.0;
    size_t cmax = 0, nvar = 0;
    double gscale = 0.0;
    for (size_t c = 0; c < P; c++) gscale = fmax(gscale, fabs((double)ge[c] - g0[c]));
    ck_assert(gscale > 1e-3);
    for (size_t c = 0; c < P; c++) {
        double gm = gs[c] / N_SEEDS, gv = (gs2[c] - N_SEEDS * gm * gm) / (N_SEEDS - 1);
        double gse = sqrt(fmax(gv, 0.0) / N_SEEDS), gex = (double)ge[c] - g0[c];
        if (gse < 1e-7 * gscale) {
            ck_assert_msg(fabs(gm - gex) <= 1e-5 * gscale, "k = %u component %zu: constant estimate %g, exact %g", k,
                          c, gm, gex);
            continue;
        }
        double zc = (gm - gex) / gse;
        chi += zc * zc;
        nvar++;
        if (fabs(zc) > fabs(zmax)) {
            zmax = zc;
            cmax = c;
        }
    }
    if (verbose())
        printf("  projections k = %u output %-7s target %-6s: exact %.6f mean %.6f SE %.2e (rel SE %.1e) z = %+.2f;"
               " gradient max |z| = %.2f (param %zu), sum z^2 = %.1f over %zu components\n",
               k, act_names[out], target ? "logits" : "output", exact, mean, se, se / exact, z, fabs(zmax), cmax,
               chi, nvar);
    ck_assert_msg(fabs(z) < 3.0, "k = %u: mean penalty %.9g, exact %.9g, SE %.3g (z = %.2f)", k, mean, exact, se, z);
    ck_assert_msg(fabs(zmax) < 4.0, "k = %u: gradient component %zu z = %.2f", k, cmax, zmax);
    /* sanity: the estimate does vary with the seed */
    ck_assert_msg(se > 1e-6 * exact, "k = %u: the estimate does not depend on the seed (SE %g)", k, se);
    free(g0);
    free(ge);
    free(g);
    free(gs);
    free(gs2);
    jn_objective_free(o0);
    jn_objective_free(ex);
    jn_objective_free(pr);
    jn_net_free(net);
}

START_TEST(projection_unbiased_k1) { projection_unbiased(1, JN_ACT_SIGMOID, JN_PENALTY_OUTPUT); }
END_TEST
START_TEST(projection_unbiased_k3) { projection_unbiased(3, JN_ACT_SIGMOID, JN_PENALTY_OUTPUT); }
END_TEST
START_TEST(projection_unbiased_softmax_k1) { projection_unbiased(1, JN_ACT_SOFTMAX, JN_PENALTY_OUTPUT); }
END_TEST
START_TEST(projection_unbiased_logits_k3) { projection_unbiased(3, JN_ACT_TANH, JN_PENALTY_LOGITS); }
END_TEST

START_TEST(projection_seed_reproducible)
{
    size_t sizes[] = {5, 4, 3}, D = 5, K = 3, n = 6;
    jn_net *net = biased_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 18, 1.0f);
    size_t P = jn_net_param_count(net);
    float X[30], Y[18];
    fill_uniform(X, n * D, 1, -1.0f, 1.0f);
    fill_uniform(Y, n * K, 3, 0.0f, 1.0f);
    float *ga = malloc(P * sizeof *ga), *gb = malloc(P * sizeof *gb);
    for (unsigned k = 1; k <= 3; k += 2) {
        jn_objective *a = NULL, *b = NULL;
        a = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(a, 1.0, k), JN_OK);
        ck_assert_int_eq(jn_objective_set_seed(a, 2024), JN_OK);
        ck_assert_int_eq(jn_objective_clone(&b, a), JN_OK);
        double va, vb;
        ck_assert_int_eq(jn_net_objective(net, a, X, NULL, Y, n, &va, ga), JN_OK);
        ck_assert_int_eq(jn_net_objective(net, b, X, NULL, Y, n, &vb, gb), JN_OK);
        ck_assert(memcmp(&va, &vb, sizeof va) == 0);
        ck_assert(memcmp(ga, gb, P * sizeof *ga) == 0);
        /* again with the same handle, after another seed was used */
        ck_assert_int_eq(jn_objective_set_seed(b, 7), JN_OK);
        ck_assert_int_eq(jn_net_objective(net, b, X, NULL, Y, n, &vb, gb), JN_OK);
        ck_assert_msg(vb != va, "k = %u: seeds 2024 and 7 give the same value %.17g", k, va);
        ck_assert(memcmp(ga, gb, P * sizeof *ga) != 0);
        ck_assert_int_eq(jn_objective_set_seed(b, 2024), JN_OK);
        ck_assert_int_eq(jn_net_objective(net, b, X, NULL, Y, n, &vb, gb), JN_OK);
        ck_assert(memcmp(&va, &vb, sizeof va) == 0);
        ck_assert(memcmp(ga, gb, P * sizeof *ga) == 0);
        /* several seeds: all distinct values */
        double seen[8];
        for (int s = 0; s < 8; s++) {
            ck_assert_int_eq(jn_objective_set_seed(b, 100 + (uint64_t)s), JN_OK);
            ck_assert_int_eq(jn_net_objective(net, b, X, NULL, Y, n, &seen[s], NULL), JN_OK);
            for (int t = 0; t < s; t++) ck_assert_msg(seen[t] != seen[s], "seeds %d and %d agree", 100 + t, 100 + s);
        }
        jn_objective_free(a);
        jn_objective_free(b);
    }
    free(ga);
    free(gb);
    jn_net_free(net);
}
END_TEST

/* Exact penalty (projections = 0) does not depend on the seed. */
START_TEST(exact_penalty_ignores_seed)
{
    size_t sizes[] = {5, 4, 3}, D = 5, K = 3, n = 6;
    jn_net *net = biased_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 19, 1.0f);
    float X[30], Y[18];
    fill_uniform(X, n * D, 1, -1.0f, 1.0f);
    fill_uniform(Y, n * K, 3, 0.0f, 1.0f);
    jn_objective *o = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(o, 1.0, 0), JN_OK);
    double v1, v2;
    ck_assert_int_eq(jn_objective_set_seed(o, 1), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, o, X, NULL, Y, n, &v1, NULL), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(o, 99), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, o, X, NULL, Y, n, &v2, NULL), JN_OK);
    ck_assert(v1 == v2);
    jn_objective_free(o);
    jn_net_free(net);
}
END_TEST

static Suite *jacobian_suite(void)
{
    Suite *s = suite_create("jacobian");
    ADD_CASE(s, "jacobian", 0, LOOP(jacobian_matches_differences, (int)(N_ARCHS * N_OUTPUTS)),
             ONCE(jacobian_relu_hidden), LOOP(sqnorm_is_sum_of_squares, (int)(N_ARCHS * N_OUTPUTS)),
             LOOP(penalty_value_isolated, (int)(N_ARCHS * N_OUTPUTS)), LOOP(zero_weights, (int)(N_ARCHS * N_OUTPUTS)),
             LOOP(constant_net, (int)(N_ARCHS * N_OUTPUTS)), LOOP(closed_form_one_hidden, 6),
             LOOP(linear_net_product_of_weights, 2), LOOP(batch_size_independence, 5));
    ADD_CASE(s, "projections", 120, ONCE(projection_unbiased_k1), ONCE(projection_unbiased_k3),
             ONCE(projection_unbiased_softmax_k1), ONCE(projection_unbiased_logits_k3),
             ONCE(projection_seed_reproducible), ONCE(exact_penalty_ignores_seed));
    return s;
}

int main(void) { return run_suite(jacobian_suite()); }
