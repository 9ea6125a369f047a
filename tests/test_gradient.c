/* test_gradient.c - finite-difference checks of jn_net_objective's gradient.
 *
 * For every parameter k of a small network, the test perturbs
 * jn_net_params(net)[k] by +-h and +-2h, forms central differences with the
 * float-rounded steps actually taken, and Richardson-extrapolates them,
 * fd = (4 D(h) - D(2h)) / 3, which cancels the h^2 truncation term. The
 * analytic gradient passes when
 *     max_k |fd_k - g_k| / max(||g||_inf, 1e-3) < FD_TOL.
 *
 * Threshold. The objective is computed from a float32 forward pass, so each
 * value carries a rounding error of roughly 1e-7 relative; divided by the
 * 2h = 2e-2 step that is ~5e-6 |f| in D(h), ~1e-5 |f| after Richardson
 * (weights 4/3 and 1/3). Truncation after extrapolation is O(h^4) ~ 1e-8
 * times fifth derivatives. With |f| ~ 1 and ||g||_inf ~ 0.01..12 the
 * observed errors are 1e-7..6e-5 over all cases below (OpenBLAS, x86-64;
 * printed with JN_TEST_VERBOSE=1); FD_TOL = 5e-4 leaves ~10x headroom for
 * another BLAS's rounding order, while a wrong term (a missing factor 2, a
 * dropped second derivative, a transposed weight) gives errors of 1e-2 or
 * more.
 *
 * Every configuration with a Jacobian penalty is checked twice: the whole
 * objective, and the penalty part alone (objective with lambda minus the
 * same objective with lambda = 0, analytically and by differences), so that
 * an error in the penalty gradient cannot hide behind a larger loss gradient.
 *
 * Every penalty form (direct, Gram: forced, since AUTO picks the Gram form
 * at these small shapes) x target (outputs, logits) x exact / projected is
 * checked the same way (tcase "forms"), and the two forms against each other
 * on identical inputs and projection seeds.
 *
 * ReLU: the objective has kinks where a pre-activation crosses 0. Rather
 * than tuning inputs, the test skips a parameter when the on/off pattern of
 * any relu unit (hidden layers, and outputs for a relu output layer) at X or
 * Xj differs between the base point and any of the four perturbed points,
 * i.e. when the difference stencil may straddle a kink. If more than a
 * quarter of the parameters would be skipped, the network and data are
 * redrawn (up to 8 draws) before checking, and the check then requires that
 * at most a quarter were skipped. Observed: 0..7 skipped of 39..59. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FD_STEP 1e-2
#define FD_TOL 5e-4

typedef struct config {
    const char *name;
    size_t sizes[5], n_sizes;
    jn_act hidden, output;
    jn_loss loss;
    double lambda_j;     /* Jacobian penalty weight */
    unsigned projections;
    jn_penalty_target target;
    double l2;
    int xj;              /* 0: Xj = NULL, 1: Xj != X, 2: Xj == X (same pointer) */
    int soft_y;          /* targets uniform in [0, 1] even for softmax/CE (rows need not sum to 1) */
} config;

#define S1 {5, 3}, 2
#define S2 {5, 4, 3}, 3
#define S3 {5, 4, 4, 3}, 4
#define OUT JN_PENALTY_OUTPUT
#define LOG JN_PENALTY_LOGITS

/* The hidden x output grid (MSE, one hidden layer), each with and without the
 * penalty, is built in grid_config(); these are the other cases. */
static const config extra[] = {
    /* cross-entropy with softmax */
    {"ce_1h", S2, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.0, 0, OUT, 0.0, 0, 0},
    {"ce_1h_jac", S2, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 1, 0},
    {"ce_0h_jac", S1, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 0, 0},
    {"ce_2h_jac_sig", S3, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 1, 0},
    {"ce_soft_targets", S2, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.0, 0, OUT, 0.0, 0, 1},
    {"ce_soft_targets_jac", S3, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 1, 1},
    {"ce_2h_relu_jac", S3, JN_ACT_RELU, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 1, 0},
    /* depths 1, 2, 3 */
    {"depth1_sig", S1, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.0, 0, OUT, 0.0, 0, 0},
    {"depth1_sig_jac", S1, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"depth1_tanh_jac", S1, JN_ACT_TANH, JN_ACT_TANH, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 0, 0},
    {"depth1_lin_jac", S1, JN_ACT_TANH, JN_ACT_LINEAR, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"depth3_tanh", S3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.0, 0, OUT, 0.0, 0, 0},
    {"depth3_tanh_jac", S3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"depth3_sig_jac", S3, JN_ACT_SIGMOID, JN_ACT_TANH, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"depth3_relu_jac", S3, JN_ACT_RELU, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"depth3_lin_jac", S3, JN_ACT_LINEAR, JN_ACT_LINEAR, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 0, 0},
    {"depth3_softmax_jac", S3, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    /* Xj: NULL, distinct, same pointer */
    {"xj_null", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 0, 0},
    {"xj_distinct", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
    {"xj_same_ptr", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 2, 0},
    /* l2 weight decay, alone and with the penalty */
    {"l2", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.0, 0, OUT, 0.05, 0, 0},
    {"l2_jac", S3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.05, 1, 0},
    {"l2_ce", S2, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.0, 0, OUT, 0.05, 0, 0},
    /* penalty on the logits */
    {"logits_sig", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, LOG, 0.0, 1, 0},
    {"logits_softmax_ce", S2, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, LOG, 0.0, 0, 0},
    {"logits_tanh_3", S3, JN_ACT_SIGMOID, JN_ACT_TANH, JN_LOSS_MSE, 0.5, 0, LOG, 0.0, 1, 0},
    {"logits_relu", S2, JN_ACT_RELU, JN_ACT_LINEAR, JN_LOSS_MSE, 0.5, 0, LOG, 0.0, 0, 0},
    /* random projections (fixed seed: a deterministic function of params) */
    {"proj1_1h", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 1, OUT, 0.0, 0, 0},
    {"proj3_1h", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 3, OUT, 0.0, 1, 0},
    {"proj1_0h_softmax", S1, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 1, OUT, 0.0, 1, 0},
    {"proj3_2h_softmax", S3, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_MSE, 0.5, 3, OUT, 0.0, 1, 0},
    {"proj1_2h_tanh", S3, JN_ACT_TANH, JN_ACT_TANH, JN_LOSS_MSE, 0.5, 1, OUT, 0.0, 1, 0},
    {"proj3_logits", S2, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 3, LOG, 0.0, 0, 0},
    {"proj5_relu", S3, JN_ACT_RELU, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 5, OUT, 0.05, 1, 0},
    /* relu output layer (allowed by jn_net_create) */
    {"relu_out_jac", S2, JN_ACT_TANH, JN_ACT_RELU, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0},
};
#define N_EXTRA (sizeof extra / sizeof extra[0])

static const jn_act hiddens[] = {JN_ACT_TANH, JN_ACT_SIGMOID, JN_ACT_RELU, JN_ACT_LINEAR};
static const jn_act outputs[] = {JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_ACT_LINEAR, JN_ACT_TANH};
#define N_GRID (4 * 4 * 2)

/* Grid case i: hidden i/8, output (i/2)%4, penalty off (even) or on (odd,
 * with Xj != X). */
static config grid_config(int i, char *name, size_t len)
{
    config c = {NULL, S2, hiddens[i / 8], outputs[(i / 2) % 4], JN_LOSS_MSE, (i & 1) ? 0.5 : 0.0, 0, OUT, 0.0,
                (i & 1), 0};
    snprintf(name, len, "grid_%s_%s%s", act_names[c.hidden], act_names[c.output], (i & 1) ? "_jac" : "");
    c.name = name;
    return c;
}

/* ---- fixtures ---- */

typedef struct problem {
    config c;
    jn_net *net;
    jn_objective *obj;   /* the configuration */
    jn_objective *obj0;  /* the same with lambda_j = 0 */
    float *X, *Xj, *Y;
    size_t n, D, K, P;
    const float *xj_arg; /* what is passed as Xj */
} problem;

/* form: the penalty form forced on both objectives (AUTO picks the Gram
 * form at every shape of this file). */
static void problem_setup_form(problem *pb, const config *c, unsigned seed, jn_penalty_form form)
{
    memset(pb, 0, sizeof *pb);
    pb->c = *c;
    pb->n = 4;
    pb->D = c->sizes[0];
    pb->K = c->sizes[c->n_sizes - 1];
    /* Non-zero biases, so that bias gradients and offsets are exercised. */
    pb->net = biased_net(c->sizes, c->n_sizes, c->hidden, c->output, seed, 1.0f);
    pb->P = jn_net_param_count(pb->net);
    pb->X = malloc(pb->n * pb->D * sizeof(float));
    pb->Xj = malloc(pb->n * pb->D * sizeof(float));
    pb->Y = calloc(pb->n * pb->K, sizeof(float));
    fill_uniform(pb->X, pb->n * pb->D, seed + 100, -1.0f, 1.0f);
    fill_uniform(pb->Xj, pb->n * pb->D, seed + 200, -0.2f, 0.2f);
    for (size_t i = 0; i < pb->n * pb->D; i++) pb->Xj[i] += pb->X[i];
    if (!c->soft_y && (c->output == JN_ACT_SOFTMAX || c->loss == JN_LOSS_CE)) {
        for (size_t i = 0; i < pb->n; i++) pb->Y[i * pb->K + (i * 7 + seed) % pb->K] = 1.0f;
    } else {
        fill_uniform(pb->Y, pb->n * pb->K, seed + 300, 0.0f, 1.0f);
    }
    pb->xj_arg = c->xj == 0 ? NULL : c->xj == 1 ? pb->Xj : pb->X;
    for (int z = 0; z < 2; z++) {
        jn_objective **o = z ? &pb->obj0 : &pb->obj;
        ck_assert_int_eq(jn_objective_create(o, c->loss), JN_OK);
        ck_assert_int_eq(jn_objective_set_jacobian(*o, z ? 0.0 : c->lambda_j, c->projections), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_target(*o, c->target), JN_OK);
        ck_assert_int_eq(jn_objective_set_l2(*o, c->l2), JN_OK);
        ck_assert_int_eq(jn_objective_set_seed(*o, 77), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_form(*o, form), JN_OK);
    }
}

static void problem_setup(problem *pb, const config *c, unsigned seed)
{
    problem_setup_form(pb, c, seed, JN_FORM_AUTO);
}

static void problem_free(problem *pb)
{
    jn_net_free(pb->net);
    jn_objective_free(pb->obj);
    jn_objective_free(pb->obj0);
    free(pb->X);
    free(pb->Xj);
    free(pb->Y);
}

/* Objective of obj, minus that of sub when sub != NULL. */
static double value_of(problem *pb, const jn_objective *obj, const jn_objective *sub)
{
    double v = 0.0, v0 = 0.0;
    ck_assert_int_eq(jn_net_objective(pb->net, obj, pb->X, pb->xj_arg, pb->Y, pb->n, &v, NULL), JN_OK);
    if (sub) ck_assert_int_eq(jn_net_objective(pb->net, sub, pb->X, pb->xj_arg, pb->Y, pb->n, &v0, NULL), JN_OK);
    return v - v0;
}

/* On/off pattern of every relu unit at X and Xj, into pat (1 byte a unit);
 * returns the number of bytes written. */
static size_t relu_pattern(problem *pb, unsigned char *pat)
{
    size_t w = 0, L = pb->c.n_sizes - 1;
    const float *inputs[2] = {pb->X, pb->Xj};
    for (int s = 0; s < 2; s++) {
        if (pb->c.hidden == JN_ACT_RELU)
            for (size_t l = 1; l < L; l++) {
                size_t cells = pb->n * pb->c.sizes[l];
                float *H = malloc(cells * sizeof *H);
                ck_assert_int_eq(jn_net_hidden(pb->net, inputs[s], pb->n, l, H), JN_OK);
                for (size_t i = 0; i < cells; i++) pat[w++] = H[i] > 0.0f;
                free(H);
            }
        if (pb->c.output == JN_ACT_RELU) {
            float *F = malloc(pb->n * pb->K * sizeof *F);
            ck_assert_int_eq(jn_net_forward(pb->net, inputs[s], pb->n, F), JN_OK);
            for (size_t i = 0; i < pb->n * pb->K; i++) pat[w++] = F[i] > 0.0f;
            free(F);
        }
    }
    return w;
}

static size_t pattern_len(const problem *pb)
{
    size_t units = 0, L = pb->c.n_sizes - 1;
    if (pb->c.hidden == JN_ACT_RELU)
        for (size_t l = 1; l < L; l++) units += pb->c.sizes[l];
    if (pb->c.output == JN_ACT_RELU) units += pb->K;
    return 2 * pb->n * units;
}

/* Richardson-extrapolated central difference of value_of(obj, sub) along
 * parameter k. *kink is set when a relu unit changes state in the stencil. */
static double fd_slope(problem *pb, const jn_objective *obj, const jn_objective *sub, size_t k, int *kink)
{
    float *p = jn_net_params(pb->net) + k;
    const float saved = *p;
    size_t plen = pattern_len(pb);
    unsigned char *base = plen ? malloc(plen) : NULL, *cur = plen ? malloc(plen) : NULL;
    if (plen) relu_pattern(pb, base);
    *kink = 0;
    double d[2];
    for (int s = 0; s < 2; s++) {
        double h = FD_STEP * (s + 1);
        *p = (float)(saved + h);
        double up = *p;
        double fp = value_of(pb, obj, sub);
        if (plen) {
            relu_pattern(pb, cur);
            if (memcmp(base, cur, plen)) *kink = 1;
        }
        *p = (float)(saved - h);
        double down = *p;
        double fm = value_of(pb, obj, sub);
        if (plen) {
            relu_pattern(pb, cur);
            if (memcmp(base, cur, plen)) *kink = 1;
        }
        *p = saved;
        d[s] = (fp - fm) / (up - down);
    }
    free(base);
    free(cur);
    return (4.0 * d[0] - d[1]) / 3.0;
}

/* Check the analytic gradient of obj (minus sub's) against differences for
 * every parameter; returns the relative error. */
static double check_all(problem *pb, const jn_objective *obj, const jn_objective *sub, const char *what)
{
    size_t P = pb->P;
    float *g = malloc(P * sizeof *g), *g0 = malloc(P * sizeof *g0);
    double v = 0.0;
    ck_assert_int_eq(jn_net_objective(pb->net, obj, pb->X, pb->xj_arg, pb->Y, pb->n, &v, g), JN_OK);
    ck_assert_msg(isfinite(v), "%s: objective %g", pb->c.name, v);
    if (sub) {
        ck_assert_int_eq(jn_net_objective(pb->net, sub, pb->X, pb->xj_arg, pb->Y, pb->n, NULL, g0), JN_OK);
        for (size_t k = 0; k < P; k++) g[k] -= g0[k];
    }
    double gmax = 0.0;
    for (size_t k = 0; k < P; k++) gmax = fmax(gmax, fabs(g[k]));
    ck_assert_msg(gmax > 1e-6, "%s (%s): analytic gradient is all zeros (max %g)", pb->c.name, what, gmax);

    double worst = 0.0;
    size_t worst_k = 0, skipped = 0;
    double worst_fd = 0.0;
    for (size_t k = 0; k < P; k++) {
        int kink;
        double fd = fd_slope(pb, obj, sub, k, &kink);
        if (kink) {
            skipped++;
            continue;
        }
        double err = fabs(fd - g[k]) / fmax(gmax, 1e-3);
        if (err > worst) {
            worst = err;
            worst_k = k;
            worst_fd = fd;
        }
    }
    if (verbose())
        printf("  %-24s %-8s |g|inf %.3e  max rel err %.2e (param %zu)  skipped %zu/%zu\n", pb->c.name, what, gmax,
               worst, worst_k, skipped, P);
    ck_assert_msg(skipped * 4 <= P, "%s (%s): %zu of %zu parameters straddle a relu kink", pb->c.name, what, skipped, P);
    ck_assert_msg(worst < FD_TOL, "%s (%s): param %zu: analytic %.9g, differences %.9g, rel err %.3g (|g|inf %.3g)",
                  pb->c.name, what, worst_k, g[worst_k], worst_fd, worst, gmax);
    free(g);
    free(g0);
    return worst;
}

/* Number of parameters whose difference stencil straddles a relu kink. */
static size_t kinked_params(problem *pb)
{
    if (!pattern_len(pb)) return 0;
    size_t count = 0;
    for (size_t k = 0; k < pb->P; k++) {
        int kink;
        (void)fd_slope(pb, pb->obj, NULL, k, &kink);
        count += kink != 0;
    }
    return count;
}

static void run_config_form(const config *c, unsigned seed, jn_penalty_form form)
{
    problem pb;
    problem_setup_form(&pb, c, seed, form);
    /* relu: redraw the network and data (not the library's fault) until at
     * most a quarter of the parameters sit next to a kink */
    for (unsigned attempt = 1; attempt < 8 && kinked_params(&pb) * 4 > pb.P; attempt++) {
        problem_free(&pb);
        problem_setup_form(&pb, c, seed + 1000 * attempt, form);
    }
    check_all(&pb, pb.obj, NULL, "total");
    if (c->lambda_j > 0.0) check_all(&pb, pb.obj, pb.obj0, "penalty");
    problem_free(&pb);
}

static void run_config(const config *c, unsigned seed) { run_config_form(c, seed, JN_FORM_AUTO); }

START_TEST(grid_activations)
{
    char name[64];
    config c = grid_config(_i, name, sizeof name);
    run_config(&c, 7 + 3 * (unsigned)_i);
}
END_TEST

START_TEST(extra_configs)
{
    run_config(&extra[_i], 11 + (unsigned)_i);
}
END_TEST

/* Several random networks of the paper's architecture, so that a single
 * lucky draw cannot hide a wrong term. */
START_TEST(paper_arch_several_seeds)
{
    config c = {"paper_seeds", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 1.0, 0, OUT, 0.01, 1, 0};
    run_config(&c, 1000 + (unsigned)_i);
}
END_TEST

/* The gradient of the projection estimate depends only on the seed: two
 * calls give the same bits, and the difference check passes at two seeds. */
START_TEST(projection_gradient_deterministic)
{
    config c = {"proj_det", S3, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_MSE, 0.5, 2, OUT, 0.0, 1, 0};
    problem pb;
    problem_setup(&pb, &c, 5);
    float *g1 = malloc(pb.P * sizeof *g1), *g2 = malloc(pb.P * sizeof *g2);
    double v1, v2;
    ck_assert_int_eq(jn_net_objective(pb.net, pb.obj, pb.X, pb.Xj, pb.Y, pb.n, &v1, g1), JN_OK);
    ck_assert_int_eq(jn_net_objective(pb.net, pb.obj, pb.X, pb.Xj, pb.Y, pb.n, &v2, g2), JN_OK);
    ck_assert(v1 == v2);
    ck_assert(memcmp(g1, g2, pb.P * sizeof *g1) == 0);
    ck_assert_int_eq(jn_objective_set_seed(pb.obj, 123456), JN_OK);
    check_all(&pb, pb.obj, pb.obj0, "penalty");
    free(g1);
    free(g2);
    problem_free(&pb);
}
END_TEST

/* ---- every penalty form x target x exact/projected ----
 * AUTO picks the Gram form at every shape above, so the direct form would
 * otherwise run only through the oracle's exact output-target cases. Loop
 * index: form (bit 0), target (bit 1), projections (bit 2), output
 * activation (bit 3: sigmoid or softmax), on two hidden layers with
 * Xj != X. Each is checked by differences, and the two forms against each
 * other on the same network, inputs and projection seed. */
static config form_config(int i, jn_penalty_form *form, char *name, size_t len)
{
    *form = (i & 1) ? JN_FORM_GRAM : JN_FORM_DIRECT;
    jn_penalty_target target = (i & 2) ? LOG : OUT;
    unsigned proj = (i & 4) ? 2 : 0;
    jn_act out = (i & 8) ? JN_ACT_SOFTMAX : JN_ACT_SIGMOID;
    config c = {NULL, S3, JN_ACT_TANH, out, JN_LOSS_MSE, 0.5, proj, target, 0.0, 1, 0};
    snprintf(name, len, "form_%s_%s_%s_%s", *form == JN_FORM_GRAM ? "gram" : "direct",
             target == LOG ? "logits" : "output", proj ? "proj2" : "exact", act_names[out]);
    c.name = name;
    return c;
}

START_TEST(forms_targets_projections)
{
    char name[64];
    jn_penalty_form form;
    config c = form_config(_i, &form, name, sizeof name);
    run_config_form(&c, 300 + 5 * (unsigned)(_i >> 1), form); /* the same network for both forms */
}
END_TEST

/* Direct and Gram: the same value and gradient up to float rounding. */
START_TEST(forms_agree)
{
    char name[64];
    jn_penalty_form form;
    config c = form_config(2 * _i, &form, name, sizeof name);
    problem a, b;
    problem_setup_form(&a, &c, 300 + 5 * (unsigned)_i, JN_FORM_DIRECT);
    problem_setup_form(&b, &c, 300 + 5 * (unsigned)_i, JN_FORM_GRAM);
    float *ga = malloc(a.P * sizeof *ga), *gb = malloc(b.P * sizeof *gb);
    double va, vb;
    ck_assert_int_eq(jn_net_objective(a.net, a.obj, a.X, a.xj_arg, a.Y, a.n, &va, ga), JN_OK);
    ck_assert_int_eq(jn_net_objective(b.net, b.obj, b.X, b.xj_arg, b.Y, b.n, &vb, gb), JN_OK);
    ck_assert_msg(fabs(va - vb) <= 1e-5 * fabs(va), "%s: direct %.9g, Gram %.9g", name, va, vb);
    double gmax = 0.0, diff = 0.0;
    for (size_t k = 0; k < a.P; k++) {
        gmax = fmax(gmax, fabs(ga[k]));
        diff = fmax(diff, fabs(ga[k] - gb[k]));
    }
    if (verbose()) printf("  %-36s direct/Gram: value %.2e, gradient %.2e relative\n", name, fabs(va - vb) / fabs(va),
                          diff / gmax);
    ck_assert_msg(diff <= 1e-5 * gmax, "%s: gradients differ by %g (|g|inf %g)", name, diff, gmax);
    free(ga);
    free(gb);
    problem_free(&a);
    problem_free(&b);
}
END_TEST

/* ---- the public checker ---- */

START_TEST(public_checker_small)
{
    static const config cs[] = {
        {"chk_paper", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.01, 1, 0},
        {"chk_ce", S3, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_CE, 0.5, 0, OUT, 0.0, 0, 0},
        {"chk_proj", S2, JN_ACT_TANH, JN_ACT_TANH, JN_LOSS_MSE, 0.5, 2, LOG, 0.0, 1, 0},
        {"chk_lin", S3, JN_ACT_LINEAR, JN_ACT_LINEAR, JN_LOSS_MSE, 0.5, 0, OUT, 0.1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        problem pb;
        problem_setup(&pb, &cs[i], 40 + (unsigned)i);
        float *before = malloc(pb.P * sizeof *before);
        ck_assert_int_eq(jn_net_get_params(pb.net, before, pb.P), JN_OK);
        double err = -1.0;
        ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, pb.X, pb.xj_arg, pb.Y, pb.n, &err), JN_OK);
        if (verbose()) printf("  %-24s jn_net_check_gradient %.2e\n", cs[i].name, err);
        ck_assert_msg(err >= 0.0 && err < 1e-2, "%s: jn_net_check_gradient reports %g", cs[i].name, err);
        /* the network is left unchanged, bit for bit */
        ck_assert(memcmp(before, jn_net_params(pb.net), pb.P * sizeof *before) == 0);
        free(before);
        problem_free(&pb);
    }
}
END_TEST

/* More than 64 parameters: the checker samples; still small error. */
START_TEST(public_checker_large)
{
    config c = {"chk_big", {12, 10, 4}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.3, 0, OUT, 0.0, 1, 0};
    problem pb;
    problem_setup(&pb, &c, 9);
    ck_assert_uint_gt(pb.P, 64);
    double err = -1.0;
    ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, pb.X, pb.Xj, pb.Y, pb.n, &err), JN_OK);
    if (verbose()) printf("  %-24s jn_net_check_gradient %.2e\n", c.name, err);
    ck_assert_msg(err >= 0.0 && err < 1e-2, "jn_net_check_gradient reports %g", err);
    problem_free(&pb);
}
END_TEST

START_TEST(public_checker_bad_args)
{
    config c = {"chk_bad", S2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0.5, 0, OUT, 0.0, 1, 0};
    problem pb;
    problem_setup(&pb, &c, 2);
    double err = 42.0;
    ck_assert_int_eq(jn_net_check_gradient(NULL, pb.obj, pb.X, pb.Xj, pb.Y, pb.n, &err), JN_ERR_INVALID);
    ck_assert_str_ne(jn_last_error(), "");
    ck_assert_int_eq(jn_net_check_gradient(pb.net, NULL, pb.X, pb.Xj, pb.Y, pb.n, &err), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, NULL, pb.Xj, pb.Y, pb.n, &err), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, pb.X, pb.Xj, NULL, pb.n, &err), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, pb.X, pb.Xj, pb.Y, 0, &err), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_check_gradient(pb.net, pb.obj, pb.X, pb.Xj, pb.Y, pb.n, NULL), JN_ERR_INVALID);
    ck_assert_str_ne(jn_last_error(), "");
    ck_assert(err == 42.0); /* not written on failure */
    problem_free(&pb);
}
END_TEST

static Suite *gradient_suite(void)
{
    Suite *s = suite_create("gradient");
    ADD_CASE(s, "finite_differences", 60, LOOP(grid_activations, N_GRID), LOOP(extra_configs, (int)N_EXTRA),
             LOOP(paper_arch_several_seeds, 5), ONCE(projection_gradient_deterministic));
    ADD_CASE(s, "forms", 60, LOOP(forms_targets_projections, 16), LOOP(forms_agree, 8));
    ADD_CASE(s, "public_checker", 0, ONCE(public_checker_small), ONCE(public_checker_large),
             ONCE(public_checker_bad_args));
    return s;
}

int main(void) { return run_suite(gradient_suite()); }
