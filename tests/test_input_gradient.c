/* test_input_gradient.c - jn_net_input_gradient, the gradient of each
 * example's loss with respect to its input.
 *
 *  - oracle: tests/oracle holds F and J computed independently in float64;
 *    the gradient of the loss follows from them by the chain rule,
 *    sum_k dloss/dF_k J[k][j] (MSE: 2 (F_k - y_k); CE: -y_k / F_k), with no
 *    code of the library involved. Relative 1e-4, as test_oracle.
 *  - differences: central differences in double of the loss of the
 *    double-precision reference network (refnet.c), step 1e-5 (truncation
 *    ~1e-10, rounding ~1e-11 relative), against the float32 gradient at
 *    relative 1e-4 of the largest entry: hidden tanh, sigmoid, relu (rows
 *    whose relu units lie within 1e-3 of a kink are skipped), 0 to 3 hidden
 *    layers, outputs sigmoid, linear, softmax, one output; MSE and CE.
 *  - the convention: out[i] / n is the gradient of jn_net_objective's mean
 *    loss, by differences of the library's own float32 objective.
 *  - zero for a network whose first-layer weights are zero, whatever the
 *    rest (the gradient is delta_1 W_1).
 *  - a batch past the internal chunk equals row-by-row calls.
 *  - bad arguments. */
#include "refnet.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORACLE_TOL 1e-4
#define FD_H 1e-5
#define FD_TOL 1e-4

static const char *const oracle_cases[] = {"nojac", "paper_1h", "paper_1h_l2", "deep_2h", "relu_1h", "softmax_ce"};
#define N_ORACLE (sizeof oracle_cases / sizeof oracle_cases[0])

static jn_objective *objective(jn_loss loss)
{
    return loss_objective(loss);
}

START_TEST(matches_oracle)
{
    oracle_case c;
    ck_assert_msg(oracle_load(&c, oracle_cases[_i]), "cannot load oracle case %s", oracle_cases[_i]);
    size_t D = c.sizes[0], K = c.sizes[c.n_sizes - 1];
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, c.sizes, c.n_sizes, c.hidden, c.output), JN_OK);
    float *p = to_float(c.params, c.n_params), *X = to_float(c.X, c.n * D), *Y = to_float(c.Y, c.n * K);
    ck_assert_int_eq(jn_net_set_params(net, p, c.n_params), JN_OK);
    float *g = malloc(c.n * D * sizeof *g);
    double *want = calloc(c.n * D, sizeof *want), scale = 0.0, worst = 0.0;
    jn_objective *obj = objective(c.loss);
    ck_assert_int_eq(jn_net_input_gradient(net, obj, X, Y, c.n, g), JN_OK);
    for (size_t i = 0; i < c.n; i++)
        for (size_t k = 0; k < K; k++) {
            double f = c.F[i * K + k], y = c.Y[i * K + k];
            double dl = c.loss == JN_LOSS_CE ? -y / f : 2.0 * (f - y);
            for (size_t j = 0; j < D; j++) want[i * D + j] += dl * c.J[(i * K + k) * D + j];
        }
    for (size_t q = 0; q < c.n * D; q++) scale = fmax(scale, fabs(want[q]));
    ck_assert_msg(scale > 1e-3, "%s: the oracle's gradient is too small to judge (%g)", c.name, scale);
    for (size_t q = 0; q < c.n * D; q++) worst = fmax(worst, fabs(g[q] - want[q]) / scale);
    if (verbose()) printf("oracle %-12s max |g - oracle| / max |oracle| = %.2e\n", c.name, worst);
    ck_assert_msg(worst < ORACLE_TOL, "%s: input gradient off the oracle's by %g (relative)", c.name, worst);
    jn_objective_free(obj);
    free(p); free(X); free(Y); free(g); free(want);
    jn_net_free(net);
    oracle_free(&c);
}
END_TEST

typedef struct config {
    const char *name;
    size_t sizes[6], n_sizes;
    jn_act hidden, output;
    jn_loss loss;
} config;

static const config configs[] = {
    {"tanh_sigmoid", {5, 4, 3}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"sigmoid_sigmoid", {6, 5, 4}, 3, JN_ACT_SIGMOID, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"tanh_linear", {5, 4, 3}, 3, JN_ACT_TANH, JN_ACT_LINEAR, JN_LOSS_MSE},
    {"no_hidden", {5, 3}, 2, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"one_output", {4, 5, 1}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"2h_tanh_sigmoid", {5, 4, 6, 3}, 4, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"2h_sigmoid_softmax_mse", {5, 4, 6, 3}, 4, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_MSE},
    {"2h_relu_sigmoid", {5, 7, 6, 3}, 4, JN_ACT_RELU, JN_ACT_SIGMOID, JN_LOSS_MSE},
    {"3h_tanh_tanh", {4, 5, 3, 4, 3}, 5, JN_ACT_TANH, JN_ACT_TANH, JN_LOSS_MSE},
    {"ce_1h", {5, 4, 3}, 3, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE},
    {"ce_2h_sigmoid", {5, 4, 6, 4}, 4, JN_ACT_SIGMOID, JN_ACT_SOFTMAX, JN_LOSS_CE},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])
#define ROWS 7

/* The loss of one example in double, from the reference network. */
static double ref_example_loss(ref_net *r, jn_loss loss, const double *x, const double *y)
{
    if (loss == JN_LOSS_MSE) return ref_loss(r, x, y);
    double F[REF_MAX_OUTPUTS], s = 0.0;
    ref_eval(r, x, F, NULL, NULL, NULL);
    for (size_t k = 0; k < r->sizes[r->L]; k++) s -= y[k] * log(F[k]);
    return s;
}

/* Inputs uniform in [-1, 1); targets uniform in [0, 1) for MSE, one-hot
 * for CE. */
static void draw_data(const config *c, unsigned seed, float *X, float *Y)
{
    size_t D = c->sizes[0], K = c->sizes[c->n_sizes - 1];
    fill_uniform(X, ROWS * D, seed, -1.0f, 1.0f);
    if (c->loss == JN_LOSS_MSE) {
        fill_uniform(Y, ROWS * K, seed + 1, 0.0f, 1.0f);
        return;
    }
    memset(Y, 0, ROWS * K * sizeof *Y);
    for (size_t i = 0; i < ROWS; i++) Y[i * K + (i * 5 + seed) % K] = 1.0f;
}

START_TEST(matches_differences)
{
    const config *c = &configs[_i];
    size_t D = c->sizes[0], K = c->sizes[c->n_sizes - 1];
    jn_net *net = biased_net(c->sizes, c->n_sizes, c->hidden, c->output, 7 + (unsigned)_i, 1.5f);
    ref_net r = ref_from(net);
    float X[ROWS * 8], Y[ROWS * 8], g[ROWS * 8];
    draw_data(c, 11 + (unsigned)_i, X, Y);
    jn_objective *obj = objective(c->loss);
    ck_assert_int_eq(jn_net_input_gradient(net, obj, X, Y, ROWS, g), JN_OK);
    double fd[ROWS * 8], scale = 0.0, worst = 0.0;
    int checked[ROWS];
    size_t skipped = 0;
    for (size_t i = 0; i < ROWS; i++) {
        double x[8], y[8], margin = INFINITY;
        for (size_t j = 0; j < D; j++) x[j] = X[i * D + j];
        for (size_t k = 0; k < K; k++) y[k] = Y[i * K + k];
        ref_eval(&r, x, NULL, NULL, NULL, &margin);
        /* A relu unit within 1e-3 of its kink may switch inside the
         * stencil (or in float32 against double). */
        checked[i] = margin > 1e-3;
        skipped += !checked[i];
        for (size_t j = 0; j < D; j++) {
            double keep = x[j];
            x[j] = keep + FD_H;
            double up = ref_example_loss(&r, c->loss, x, y);
            x[j] = keep - FD_H;
            double down = ref_example_loss(&r, c->loss, x, y);
            x[j] = keep;
            fd[i * D + j] = (up - down) / (2.0 * FD_H);
            if (checked[i]) scale = fmax(scale, fabs(fd[i * D + j]));
        }
    }
    ck_assert_msg(skipped <= ROWS / 2, "%s: %zu of %d rows near a relu kink", c->name, skipped, ROWS);
    ck_assert_msg(scale > 1e-3, "%s: gradient too small to judge (%g)", c->name, scale);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; checked[i] && j < D; j++) worst = fmax(worst, fabs(g[i * D + j] - fd[i * D + j]) / scale);
    if (verbose()) printf("fd %-24s max |g - fd| / max |fd| = %.2e (%zu rows skipped)\n", c->name, worst, skipped);
    ck_assert_msg(worst < FD_TOL, "%s: input gradient off the differences by %g (relative)", c->name, worst);
    jn_objective_free(obj);
    ref_free(&r);
    jn_net_free(net);
}
END_TEST

/* out[i] / n = d(mean loss of jn_net_objective)/dX[i]: differences of the
 * library's float32 objective, steps 2^-7 and 2^-6 combined by Richardson
 * extrapolation (as jn_net_check_gradient), with a penalty and l2 on the
 * objective that jn_net_input_gradient must ignore (they are switched off
 * for the differences: the function's contract is the loss term alone). */
START_TEST(is_the_objective_loss_gradient)
{
    const config *c = &configs[_i == 0 ? 5 : 10]; /* 2 hidden MSE, and CE */
    size_t D = c->sizes[0], K = c->sizes[c->n_sizes - 1];
    jn_net *net = biased_net(c->sizes, c->n_sizes, c->hidden, c->output, 3, 1.5f);
    float X[ROWS * 8], Y[ROWS * 8], g[ROWS * 8];
    draw_data(c, 5, X, Y);
    jn_objective *with_penalty = objective(c->loss), *plain = objective(c->loss);
    ck_assert_int_eq(jn_objective_set_jacobian(with_penalty, 0.5, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(with_penalty, 0.1), JN_OK);
    ck_assert_int_eq(jn_net_input_gradient(net, with_penalty, X, Y, ROWS, g), JN_OK);
    double fd[ROWS * 8], scale = 0.0, worst = 0.0;
    for (size_t q = 0; q < ROWS * D; q++) {
        double d[2];
        for (int s = 0; s < 2; s++) {
            float keep = X[q], h = s ? 0x1p-6f : 0x1p-7f;
            double up, down;
            X[q] = keep + h;
            ck_assert_int_eq(jn_net_objective(net, plain, X, NULL, Y, ROWS, &up, NULL), JN_OK);
            X[q] = keep - h;
            ck_assert_int_eq(jn_net_objective(net, plain, X, NULL, Y, ROWS, &down, NULL), JN_OK);
            X[q] = keep;
            d[s] = (up - down) / (2.0 * h);
        }
        fd[q] = (4.0 * d[0] - d[1]) / 3.0 * ROWS; /* per example: times n */
        scale = fmax(scale, fabs(fd[q]));
    }
    for (size_t q = 0; q < ROWS * D; q++) worst = fmax(worst, fabs(g[q] - fd[q]) / scale);
    if (verbose()) printf("objective %-17s max |g - n dObj/dX| / max = %.2e\n", c->name, worst);
    ck_assert_msg(worst < 1e-3, "%s: out differs from n x the objective's input gradient by %g", c->name, worst);
    (void)K;
    jn_objective_free(with_penalty);
    jn_objective_free(plain);
    jn_net_free(net);
}
END_TEST

/* With W_1 = 0 the outputs do not depend on the input: the gradient is
 * exactly zero, whatever the biases, deeper weights and targets. */
START_TEST(zero_first_layer_gives_zero)
{
    const config *c = &configs[_i == 0 ? 5 : 10];
    size_t D = c->sizes[0], H1 = c->sizes[1];
    jn_net *net = biased_net(c->sizes, c->n_sizes, c->hidden, c->output, 9, 1.5f);
    memset(jn_net_params(net), 0, H1 * D * sizeof(float)); /* W_1 comes first in the layout */
    float X[ROWS * 8], Y[ROWS * 8], g[ROWS * 8];
    draw_data(c, 13, X, Y);
    jn_objective *obj = objective(c->loss);
    for (size_t q = 0; q < ROWS * D; q++) g[q] = 1.0f;
    ck_assert_int_eq(jn_net_input_gradient(net, obj, X, Y, ROWS, g), JN_OK);
    for (size_t q = 0; q < ROWS * D; q++) ck_assert_msg(g[q] == 0.0f, "%s: g[%zu] = %g", c->name, q, g[q]);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

/* 1100 rows cross the internal chunk of 512 twice: every row's gradient
 * equals that of a call on the row alone. */
START_TEST(batch_equals_rows)
{
    const size_t sizes[] = {6, 5, 4, 3}, n = 1100, D = 6, K = 3;
    jn_net *net = biased_net(sizes, 4, JN_ACT_TANH, JN_ACT_SIGMOID, 21, 1.5f);
    float *X = uniform_floats(n * D, 4, -1.0f, 1.0f), *Y = malloc(n * K * sizeof *Y), *g = malloc(n * D * sizeof *g);
    fill_uniform(Y, n * K, 5, 0.0f, 1.0f);
    jn_objective *obj = objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_net_input_gradient(net, obj, X, Y, n, g), JN_OK);
    for (size_t i = 0; i < n; i++) {
        float one[6];
        ck_assert_int_eq(jn_net_input_gradient(net, obj, X + i * D, Y + i * K, 1, one), JN_OK);
        for (size_t j = 0; j < D; j++)
            ck_assert_msg(fabsf(one[j] - g[i * D + j]) <= 1e-6f * (1.0f + fabsf(one[j])),
                          "row %zu: %g in the batch, %g alone", i, g[i * D + j], one[j]);
    }
    jn_objective_free(obj);
    free(X); free(Y); free(g);
    jn_net_free(net);
}
END_TEST

START_TEST(bad_arguments)
{
    const size_t sizes[] = {3, 4, 2};
    jn_net *net = init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 1);
    jn_objective *mse = objective(JN_LOSS_MSE), *ce = objective(JN_LOSS_CE);
    float X[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, Y[4] = {1, 0, 0, 1}, g[6];
    ck_assert_int_eq(jn_net_input_gradient(NULL, mse, X, Y, 2, g), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_input_gradient(net, NULL, X, Y, 2, g), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_input_gradient(net, mse, NULL, Y, 2, g), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, NULL, 2, g), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, Y, 2, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, Y, 0, g), JN_ERR_INVALID);
    /* Cross-entropy needs softmax outputs; the message says so. */
    ck_assert_int_eq(jn_net_input_gradient(net, ce, X, Y, 2, g), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "softmax"));
    X[4] = NAN;
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, Y, 2, g), JN_ERR_INVALID);
    X[4] = 0.5f;
    Y[3] = INFINITY;
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, Y, 2, g), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "Y"));
    Y[3] = 1.0f;
    ck_assert_int_eq(jn_net_input_gradient(net, mse, X, Y, 2, g), JN_OK);
    jn_objective_free(mse);
    jn_objective_free(ce);
    jn_net_free(net);
}
END_TEST

static Suite *input_gradient_suite(void)
{
    Suite *s = suite_create("input_gradient");
    ADD_CASE(s, "input_gradient", 60, LOOP(matches_oracle, (int)N_ORACLE), LOOP(matches_differences, (int)N_CONFIGS),
             LOOP(is_the_objective_loss_gradient, 2), LOOP(zero_first_layer_gives_zero, 2), ONCE(batch_equals_rows),
             ONCE(bad_arguments));
    return s;
}

int main(void) { return run_suite(input_gradient_suite()); }
