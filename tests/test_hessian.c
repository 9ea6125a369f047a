/* test_hessian.c - jn_net_hessian_sqnorm.
 *
 * The library is float32, so the test carries its own double-precision
 * reference (refnet.c), written the plain way (forward-over-forward: every
 * layer's value, tangent dz/dx and full second-derivative tensor d^2z/dx^2
 * by loops), independent of the library's Gram-matrix form:
 *  - the reference's F and J against jn_net_forward / jn_net_jacobian (so
 *    both describe the same network), and its Hessians against central
 *    differences of its own Jacobian, in double;
 *  - jn_net_hessian_sqnorm against the reference's sum_k ||H_k||_F^2 at
 *    1e-4 relative: depths 0..3 hidden layers, hidden tanh, sigmoid, relu,
 *    linear, outputs sigmoid, softmax, linear, tanh, relu; wider layers;
 *  - 0 exactly for linear networks and relu networks with linear or relu
 *    outputs, whatever the input;
 *  - batches past the internal chunk equal row-by-row calls;
 *  - bad arguments. */
#include "refnet.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Networks and inputs                                                  */
/* ------------------------------------------------------------------ */

/* Glorot weights (x2, so that tanh and sigmoid units bend over [-1, 1];
 * not for linear hidden layers, whose products would saturate the output,
 * where float a(1 - a) loses the digits this test compares) and uniform
 * biases in [-0.5, 0.5]. */
static jn_net *make_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, unsigned seed)
{
    return biased_net(sizes, n_sizes, hidden, output, seed, hidden == JN_ACT_LINEAR ? 1.0f : 2.0f);
}

typedef struct {
    size_t sizes[6], n_sizes;
} arch;
static const arch archs[] = {
    {{5, 3}, 2},             /* no hidden layer */
    {{5, 4, 3}, 3},          /* 1 hidden */
    {{5, 4, 6, 3}, 4},       /* 2 hidden */
    {{4, 5, 3, 4, 3}, 5},    /* 3 hidden */
};
#define N_ARCHS (sizeof archs / sizeof archs[0])
static const jn_act hiddens[] = {JN_ACT_TANH, JN_ACT_SIGMOID, JN_ACT_RELU, JN_ACT_LINEAR};
#define N_HIDDEN (sizeof hiddens / sizeof hiddens[0])
static const jn_act outputs[] = {JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_ACT_LINEAR, JN_ACT_TANH, JN_ACT_RELU};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

static int bends(jn_act a) { return a == JN_ACT_TANH || a == JN_ACT_SIGMOID || a == JN_ACT_SOFTMAX; }

/* ------------------------------------------------------------------ */
/* The reference against differences, the library against the reference */
/* ------------------------------------------------------------------ */

#define FD_H 1e-3
#define REF_FD_TOL 1e-7
#define LIB_TOL 1e-4

/* One case: n inputs; checks reference F, J against the library, the
 * reference H against central differences of the reference J, and the
 * library's squared norms against the reference. Returns the worst
 * relative error of the library. */
static double check_case(jn_net *net, const float *X, size_t n, const char *label)
{
    ref_net r = ref_from(net);
    size_t D = r.sizes[0], K = r.sizes[r.L], KD = K * D, KDD = KD * D;
    float *Fl = malloc(n * K * sizeof *Fl), *Jl = malloc(n * KD * sizeof *Jl), *hs = malloc(n * sizeof *hs);
    double *F = malloc(K * sizeof *F), *J = malloc(KD * sizeof *J), *H = malloc(KDD * sizeof *H);
    double *Jp = malloc(KD * sizeof *Jp), *Jm = malloc(KD * sizeof *Jm), *Jd = malloc(2 * KD * sizeof *Jd);
    double x[64], xp[64];
    ck_assert_int_eq(jn_net_forward(net, X, n, Fl), JN_OK);
    ck_assert_int_eq(jn_net_jacobian(net, X, n, Jl), JN_OK);
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, hs), JN_OK);
    double worst = 0.0, worst_fd = 0.0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < D; j++) x[j] = X[i * D + j];
        double margin;
        ref_eval(&r, x, F, J, H, &margin);
        /* Same network: forward and Jacobian agree with the library's. */
        /* Saturated outputs give tiny Jacobians whose float derivatives
         * (a(1 - a) as a -> 1) carry ~1e-4 relative error: floor 1e-2. */
        double jscale = 1e-2;
        for (size_t t = 0; t < KD; t++) jscale = fmax(jscale, fabs(J[t]));
        double fscale = 1.0;
        for (size_t k = 0; k < K; k++) fscale = fmax(fscale, fabs(F[k]));
        for (size_t k = 0; k < K; k++)
            ck_assert_msg(fabs(Fl[i * K + k] - F[k]) < 1e-5 * fscale, "%s: F differs by %g", label,
                          fabs(Fl[i * K + k] - F[k]));
        for (size_t t = 0; t < KD; t++)
            ck_assert_msg(fabs(Jl[i * KD + t] - J[t]) < 1e-4 * jscale, "%s: J differs by %g of %g", label,
                          fabs(Jl[i * KD + t] - J[t]), jscale);
        /* The reference's Hessian against differences of its Jacobian, with
         * steps that keep every relu unit on its side of the kink. */
        ck_assert_msg(margin > 1e-6, "%s: a relu unit at %g from its kink", label, margin);
        double h = fmin(FD_H, margin / 50);
        double hscale = 1e-3, fd_err = 0.0;
        for (size_t t = 0; t < KDD; t++) hscale = fmax(hscale, fabs(H[t]));
        for (size_t v = 0; v < D; v++) {
            /* Central differences with steps h and 2h, Richardson-combined
             * (4 D(h) - D(2h)) / 3: truncation O(h^4). */
            memcpy(xp, x, D * sizeof *x);
            for (int s = 1; s <= 2; s++) {
                xp[v] = x[v] + s * h;
                ref_eval(&r, xp, NULL, Jp, NULL, NULL);
                xp[v] = x[v] - s * h;
                ref_eval(&r, xp, NULL, Jm, NULL, NULL);
                for (size_t t = 0; t < KD; t++) Jd[(s - 1) * KD + t] = (Jp[t] - Jm[t]) / (2 * s * h);
            }
            for (size_t k = 0; k < K; k++)
                for (size_t u = 0; u < D; u++) {
                    double fd = (4 * Jd[k * D + u] - Jd[KD + k * D + u]) / 3;
                    fd_err = fmax(fd_err, fabs(fd - H[(k * D + u) * D + v]) / hscale);
                }
        }
        worst_fd = fmax(worst_fd, fd_err);
        ck_assert_msg(fd_err < REF_FD_TOL, "%s: reference Hessian vs differences of its Jacobian: %g", label, fd_err);
        double sq = 0.0;
        for (size_t t = 0; t < KDD; t++) sq += H[t] * H[t];
        double err = fabs(hs[i] - sq) / fmax(sq, 1e-6);
        worst = fmax(worst, err);
        ck_assert_msg(err < LIB_TOL, "%s row %zu: library %.9g, reference %.9g (rel err %g)", label, i, hs[i], sq,
                      err);
    }
    if (verbose()) printf("  %-40s ref-vs-FD %.1e  lib-vs-ref %.1e\n", label, worst_fd, worst);
    free(Fl), free(Jl), free(hs), free(F), free(J), free(H), free(Jp), free(Jm), free(Jd);
    ref_free(&r);
    return worst;
}

START_TEST(hessian_matches_reference)
{
    size_t ia = (size_t)_i / (N_HIDDEN * N_OUTPUTS), ih = ((size_t)_i / N_OUTPUTS) % N_HIDDEN,
           io = (size_t)_i % N_OUTPUTS;
    const arch *a = &archs[ia];
    jn_act hid = hiddens[ih], out = outputs[io];
    jn_net *net = make_net(a->sizes, a->n_sizes, hid, out, 40 + (unsigned)_i);
    size_t n = 5, D = a->sizes[0];
    float *X = uniform_floats(n * D, 9 + (unsigned)_i, -1.0f, 1.0f);
    char label[96];
    snprintf(label, sizeof label, "%zu hidden, %s hidden, %s output", a->n_sizes - 2,
             a->n_sizes > 2 ? act_names[hid] : "-", act_names[out]);
    check_case(net, X, n, label);
    /* Where something bends the result must not be zero (a guard against a
     * Hessian that vanishes everywhere). */
    int bent = bends(out) || (a->n_sizes > 2 && bends(hid));
    if (bent) {
        /* Over the batch: a row may lose its curvature to dead relu units. */
        float hs[5];
        double total = 0.0;
        ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, hs), JN_OK);
        for (size_t i = 0; i < n; i++) total += hs[i];
        ck_assert_msg(total > 1e-4, "%s: sum of ||H||^2 = %g", label, total);
    }
    free(X);
    jn_net_free(net);
}
END_TEST

/* Wider layers, so the GEMMs have real shapes and the first layer's block
 * holds many units; D larger than H1 and smaller. */
START_TEST(hessian_wider)
{
    static const struct {
        size_t sizes[5], n_sizes;
        jn_act hidden, output;
    } cases[] = {
        {{12, 30, 7}, 3, JN_ACT_TANH, JN_ACT_SOFTMAX},
        {{20, 9, 14, 6}, 4, JN_ACT_SIGMOID, JN_ACT_SIGMOID},
        {{8, 25, 20, 10, 5}, 5, JN_ACT_TANH, JN_ACT_LINEAR},
        {{10, 16, 12, 4}, 4, JN_ACT_RELU, JN_ACT_SOFTMAX},
    };
    jn_net *net = make_net(cases[_i].sizes, cases[_i].n_sizes, cases[_i].hidden, cases[_i].output, 90 + (unsigned)_i);
    size_t n = 3, D = cases[_i].sizes[0];
    float *X = uniform_floats(n * D, 4 + (unsigned)_i, -1.0f, 1.0f);
    char label[64];
    snprintf(label, sizeof label, "wider case %d", _i);
    check_case(net, X, n, label);
    free(X);
    jn_net_free(net);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Properties                                                           */
/* ------------------------------------------------------------------ */

/* A linear network is affine and a relu network with linear or relu
 * outputs is piecewise linear: every second derivative is 0. */
START_TEST(piecewise_linear_nets_have_zero_hessian)
{
    static const struct {
        jn_act hidden, output;
    } cases[] = {{JN_ACT_LINEAR, JN_ACT_LINEAR}, {JN_ACT_RELU, JN_ACT_LINEAR}, {JN_ACT_RELU, JN_ACT_RELU},
                 {JN_ACT_LINEAR, JN_ACT_RELU}};
    size_t sizes[] = {6, 7, 5, 4}, n = 50;
    jn_net *net = make_net(sizes, 4, cases[_i].hidden, cases[_i].output, 5 + (unsigned)_i);
    float *X = uniform_floats(n * 6, 17, -3.0f, 3.0f), hs[50];
    for (size_t i = 0; i < n; i++) hs[i] = -1.0f;
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, hs), JN_OK);
    for (size_t i = 0; i < n; i++) ck_assert_msg(hs[i] == 0.0f, "row %zu: %g", i, hs[i]);
    /* The Jacobian of the same net is not zero: the zero is the Hessian's. */
    float sq[50];
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += sq[i];
    ck_assert_msg(total > 1e-3, "Jacobian vanishes too: %g", total);
    free(X);
    jn_net_free(net);
}
END_TEST

/* ||H||^2 scales as c^2 for F -> c F: a linear output layer scaled by c. */
START_TEST(output_scaling)
{
    size_t sizes[] = {5, 6, 3}, n = 4;
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_LINEAR, 3);
    float X[20], a[4], b[4];
    fill_uniform(X, 20, 2, -1.0f, 1.0f);
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, a), JN_OK);
    float *p = jn_net_params(net);
    for (size_t j = 5 * 6 + 6; j < jn_net_param_count(net); j++) p[j] *= 3.0f;
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, b), JN_OK);
    for (size_t i = 0; i < n; i++) ck_assert_msg(fabs(b[i] / a[i] - 9.0) < 1e-5, "ratio %g", b[i] / a[i]);
    jn_net_free(net);
}
END_TEST

/* 300 rows (past the internal chunk of 128) equal 300 one-row calls. */
START_TEST(batch_equals_rows)
{
    size_t sizes[] = {6, 9, 7, 4}, n = 300;
    jn_act outs[] = {JN_ACT_SOFTMAX, JN_ACT_SIGMOID};
    jn_net *net = make_net(sizes, 4, JN_ACT_TANH, outs[_i], 8);
    float *X = uniform_floats(n * 6, 23, -1.0f, 1.0f), *all = malloc(n * sizeof *all);
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, n, all), JN_OK);
    for (size_t i = 0; i < n; i++) {
        float one;
        ck_assert_int_eq(jn_net_hessian_sqnorm(net, X + i * 6, 1, &one), JN_OK);
        ck_assert_msg(fabsf(one - all[i]) <= 1e-5f * fabsf(one), "row %zu: %g vs %g", i, one, all[i]);
    }
    free(X);
    free(all);
    jn_net_free(net);
}
END_TEST

START_TEST(bad_arguments)
{
    size_t sizes[] = {3, 4, 2};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 1);
    float X[6] = {0}, out[2];
    ck_assert_int_eq(jn_net_hessian_sqnorm(NULL, X, 2, out), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "net"));
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, NULL, 2, out), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "X"));
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, 2, NULL), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "out"));
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, 0, out), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "n = 0"));
    X[4] = NAN;
    ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, 2, out), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "NaN"));
    jn_net_free(net);
}
END_TEST

static Suite *hessian_suite(void)
{
    Suite *s = suite_create("hessian");
    ADD_CASE(s, "hessian", 60, LOOP(hessian_matches_reference, (int)(N_ARCHS * N_HIDDEN * N_OUTPUTS)),
             LOOP(hessian_wider, 4), LOOP(piecewise_linear_nets_have_zero_hessian, 4), ONCE(output_scaling),
             LOOP(batch_equals_rows, 2), ONCE(bad_arguments));
    return s;
}

int main(void) { return run_suite(hessian_suite()); }
