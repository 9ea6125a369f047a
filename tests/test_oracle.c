/* test_oracle.c - libjacnet against tests/oracle: forward values,
 * Jacobians, their squared norms, the objective and its gradient, all
 * computed independently in float64, with the penalty in the direct and the
 * Gram form; and the objective with the penalty on the outputs or on the
 * logits (derived from the oracle's F and J) at X. Tolerance: relative
 * 1e-4. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const cases[] = {"nojac", "paper_1h", "paper_1h_l2", "deep_2h", "relu_1h", "softmax_ce"};
#define N_CASES (sizeof cases / sizeof cases[0])
#define TOL 1e-4

/* Largest |got - want| / max(|want|, floor) over n values, with the floor
 * a small fraction of the array's largest magnitude so near-zero entries are
 * judged on the array's scale rather than their own. */
static double worst_rel(const float *got, const double *want, size_t n)
{
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, rel_diff(got[i], want[i], 1e-3 * scale + 1e-12));
    return worst;
}

static jn_net *net_for(const oracle_case *c)
{
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, c->sizes, c->n_sizes, c->hidden, c->output), JN_OK);
    ck_assert_uint_eq(jn_net_param_count(net), c->n_params);
    float *p = to_float(c->params, c->n_params);
    ck_assert_int_eq(jn_net_set_params(net, p, c->n_params), JN_OK);
    free(p);
    return net;
}

START_TEST(forward_matches)
{
    oracle_case c;
    ck_assert_msg(oracle_load(&c, cases[_i]), "cannot load oracle case %s", cases[_i]);
    jn_net *net = net_for(&c);
    size_t K = c.sizes[c.n_sizes - 1];
    float *X = to_float(c.X, c.n * c.sizes[0]), *F = malloc(c.n * K * sizeof *F);
    ck_assert_int_eq(jn_net_forward(net, X, c.n, F), JN_OK);
    double err = worst_rel(F, c.F, c.n * K);
    ck_assert_msg(err < TOL, "%s: forward relative error %g", c.name, err);
    free(X); free(F);
    jn_net_free(net);
    oracle_free(&c);
}
END_TEST

START_TEST(jacobian_matches)
{
    oracle_case c;
    ck_assert_msg(oracle_load(&c, cases[_i]), "cannot load oracle case %s", cases[_i]);
    ck_assert_msg(c.J && c.jacobian_sqnorm, "%s lacks J", c.name);
    jn_net *net = net_for(&c);
    size_t D = c.sizes[0], K = c.sizes[c.n_sizes - 1];
    float *X = to_float(c.X, c.n * D), *J = malloc(c.n * K * D * sizeof *J), *sq = malloc(c.n * sizeof *sq);
    ck_assert_int_eq(jn_net_jacobian(net, X, c.n, J), JN_OK);
    double err = worst_rel(J, c.J, c.n * K * D);
    ck_assert_msg(err < TOL, "%s: Jacobian relative error %g", c.name, err);
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, c.n, sq), JN_OK);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_msg(rel_diff(sq[i], c.jacobian_sqnorm[i], 1e-12) < TOL, "%s: sqnorm[%zu] = %g, oracle %g", c.name,
                      i, sq[i], c.jacobian_sqnorm[i]);
    free(X); free(J); free(sq);
    jn_net_free(net);
    oracle_free(&c);
}
END_TEST

/* Loop index: case * 3 + form, so every case runs with the penalty form
 * chosen automatically, forced direct and forced Gram. */
START_TEST(objective_and_gradient_match)
{
    static const jn_penalty_form forms[] = {JN_FORM_AUTO, JN_FORM_DIRECT, JN_FORM_GRAM};
    oracle_case c;
    const char *name = cases[_i / 3];
    jn_penalty_form form = forms[_i % 3];
    ck_assert_msg(oracle_load(&c, name), "cannot load oracle case %s", name);
    jn_net *net = net_for(&c);
    size_t D = c.sizes[0], K = c.sizes[c.n_sizes - 1];
    jn_objective *obj = loss_objective(c.loss);
    ck_assert_int_eq(jn_objective_set_l2(obj, c.lambda_l2), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, c.lambda_jacobian, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, form), JN_OK);
    float *X = to_float(c.X, c.n * D), *Y = to_float(c.Y, c.n * K);
    float *Xj = c.Xj ? to_float(c.Xj, c.n * D) : NULL;
    float *g = malloc(c.n_params * sizeof *g);
    double value = 0.0;
    ck_assert_int_eq(jn_net_objective(net, obj, X, Xj, Y, c.n, &value, g), JN_OK);
    ck_assert_msg(rel_diff(value, c.objective, 1e-12) < TOL, "%s form %d: objective %.9g, oracle %.9g", c.name,
                  (int)form, value, c.objective);
    double err = worst_rel(g, c.grad, c.n_params);
    ck_assert_msg(err < TOL, "%s form %d: gradient relative error %g", c.name, (int)form, err);
    /* value alone and gradient alone agree with the joint call */
    double v2 = 0.0;
    ck_assert_int_eq(jn_net_objective(net, obj, X, Xj, Y, c.n, &v2, NULL), JN_OK);
    ck_assert(v2 == value);
    free(X); free(Y); free(Xj); free(g);
    jn_objective_free(obj);
    jn_net_free(net);
    oracle_free(&c);
}
END_TEST

/* The penalty on the logits z_L, exactly, from the oracle's numbers: with
 * sigmoid outputs dF_k/dx = F_k (1 - F_k) dz_k/dx, so the logits' Jacobian
 * is the oracle's J with row k divided by F_k (1 - F_k). Xj = NULL puts the
 * penalty at X, where the oracle's J is; the output target is checked there
 * too. Loop index: case * 4 + target * 2 + form (direct, Gram). */
static const char *const sigmoid_cases[] = {"paper_1h", "paper_1h_l2", "deep_2h", "relu_1h"};
#define N_SIGMOID_CASES (sizeof sigmoid_cases / sizeof sigmoid_cases[0])

START_TEST(penalty_targets_at_x_match)
{
    const char *name = sigmoid_cases[_i / 4];
    jn_penalty_target target = (_i / 2) % 2 ? JN_PENALTY_LOGITS : JN_PENALTY_OUTPUT;
    jn_penalty_form form = _i % 2 ? JN_FORM_GRAM : JN_FORM_DIRECT;
    oracle_case c;
    ck_assert_msg(oracle_load(&c, name), "cannot load oracle case %s", name);
    ck_assert(c.output == JN_ACT_SIGMOID && c.loss == JN_LOSS_MSE && c.lambda_jacobian > 0.0);
    size_t D = c.sizes[0], K = c.sizes[c.n_sizes - 1];
    /* the objective from the oracle's F, J and parameters, in double */
    double loss = 0.0, pen = 0.0, sq = 0.0;
    for (size_t i = 0; i < c.n * K; i++) loss += (c.F[i] - c.Y[i]) * (c.F[i] - c.Y[i]);
    for (size_t i = 0; i < c.n; i++)
        for (size_t k = 0; k < K; k++) {
            double f = c.F[i * K + k], scale = target == JN_PENALTY_LOGITS ? 1.0 / (f * (1.0 - f)) : 1.0;
            for (size_t j = 0; j < D; j++) {
                double v = c.J[(i * K + k) * D + j] * scale;
                pen += v * v;
            }
        }
    size_t off = 0;
    for (size_t l = 1; l < c.n_sizes; l++) {
        for (size_t w = 0; w < c.sizes[l] * c.sizes[l - 1]; w++) sq += c.params[off + w] * c.params[off + w];
        off += c.sizes[l] * c.sizes[l - 1] + c.sizes[l];
    }
    double want = loss / c.n + c.lambda_jacobian * pen / c.n + c.lambda_l2 * sq;
    jn_net *net = net_for(&c);
    jn_objective *obj = loss_objective(c.loss);
    ck_assert_int_eq(jn_objective_set_l2(obj, c.lambda_l2), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, c.lambda_jacobian, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_target(obj, target), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, form), JN_OK);
    float *X = to_float(c.X, c.n * D), *Y = to_float(c.Y, c.n * K);
    double value = 0.0, fd_err = 1.0;
    ck_assert_int_eq(jn_net_objective(net, obj, X, NULL, Y, c.n, &value, NULL), JN_OK);
    ck_assert_msg(rel_diff(value, want, 1e-12) < TOL, "%s target %d form %d: objective %.9g, from the oracle %.9g",
                  c.name, (int)target, (int)form, value, want);
    /* its gradient by differences (no oracle gradient at X) */
    ck_assert_int_eq(jn_net_check_gradient(net, obj, X, NULL, Y, c.n, &fd_err), JN_OK);
    ck_assert_msg(fd_err < 1e-2, "%s target %d form %d: gradient check %g", c.name, (int)target, (int)form, fd_err);
    free(X); free(Y);
    jn_objective_free(obj);
    jn_net_free(net);
    oracle_free(&c);
}
END_TEST

static Suite *oracle_suite(void)
{
    Suite *s = suite_create("oracle");
    ADD_CASE(s, "cases", 0, LOOP(forward_matches, N_CASES), LOOP(jacobian_matches, N_CASES),
             LOOP(objective_and_gradient_match, 3 * N_CASES), LOOP(penalty_targets_at_x_match, 4 * N_SIGMOID_CASES));
    return s;
}

int main(void) { return run_suite(oracle_suite()); }
