/* test_activation.c - the vectorised tanh and sigmoid kernels against libm in
 * double precision, over the whole float range, through the public API (a
 * 1-1 network with W = 1, b = 0 is the bare activation). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Largest error of act(x) over xs, relative to |exact| but never below
 * FLT_MIN (so denormal outputs are judged on an absolute scale). */
static double worst_error(jn_act act, const float *xs, size_t n, double (*exact)(double), float *worst_x)
{
    const size_t sizes[] = {1, 1};
    const float params[] = {1.0f, 0.0f};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 2, JN_ACT_LINEAR, act), JN_OK);
    ck_assert_int_eq(jn_net_set_params(net, params, 2), JN_OK);
    float *F = malloc(n * sizeof *F);
    ck_assert_int_eq(jn_net_forward(net, xs, n, F), JN_OK);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double want = exact(xs[i]);
        double err = fabs(F[i] - want) / fmax(fabs(want), FLT_MIN);
        if (err > worst) {
            worst = err;
            *worst_x = xs[i];
        }
    }
    free(F);
    jn_net_free(net);
    return worst;
}

static double sigmoid_exact(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Points spread over every binade from 2^-30 to 2^7 and both signs, plus
 * the kernels' switch points and extremes. */
static float *sample_points(size_t *n)
{
    size_t cap = 400000, k = 0;
    float *xs = malloc(cap * sizeof *xs);
    const float special[] = {0.0f, -0.0f, 0.55f, -0.55f, 0.5499999f, 0.5500001f, 9.0f, -9.0f, 87.0f, -87.0f,
                             88.0f, -88.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-40f};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) xs[k++] = special[i];
    for (int e = -30; e < 7; e++)
        for (int j = 0; j < 5000; j++) {
            float m = 1.0f + (float)j / 5000.0f;
            xs[k++] = ldexpf(m, e);
            xs[k++] = -ldexpf(m, e);
        }
    *n = k;
    return xs;
}

START_TEST(tanh_accuracy)
{
    size_t n;
    float *xs = sample_points(&n), at = 0.0f;
    double err = worst_error(JN_ACT_TANH, xs, n, tanh, &at);
    /* a few ulp: 2^-23 is one ulp relative; the measured worst is printed so
     * docs can quote it from `make check` output */
    printf("tanh kernel: worst error %.2f ulp at x = %.9g\n", err / 0x1.0p-23, (double)at);
    ck_assert_msg(err < 4.0 * 0x1.0p-23, "tanh: relative error %g (%.2f ulp) at x = %.9g", err, err / 0x1.0p-23,
                  (double)at);
    free(xs);
}
END_TEST

START_TEST(sigmoid_accuracy)
{
    size_t n;
    float *xs = sample_points(&n), at = 0.0f;
    double err = worst_error(JN_ACT_SIGMOID, xs, n, sigmoid_exact, &at);
    printf("sigmoid kernel: worst error %.2f ulp at x = %.9g\n", err / 0x1.0p-23, (double)at);
    ck_assert_msg(err < 4.0 * 0x1.0p-23, "sigmoid: relative error %g (%.2f ulp) at x = %.9g", err,
                  err / 0x1.0p-23, (double)at);
    free(xs);
}
END_TEST

START_TEST(odd_and_bounded)
{
    size_t n;
    float *xs = sample_points(&n);
    const size_t sizes[] = {1, 1};
    const float params[] = {1.0f, 0.0f};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 2, JN_ACT_LINEAR, JN_ACT_TANH), JN_OK);
    ck_assert_int_eq(jn_net_set_params(net, params, 2), JN_OK);
    float *F = malloc(n * sizeof *F), *G = malloc(n * sizeof *G), *neg = malloc(n * sizeof *neg);
    for (size_t i = 0; i < n; i++) neg[i] = -xs[i];
    ck_assert_int_eq(jn_net_forward(net, xs, n, F), JN_OK);
    ck_assert_int_eq(jn_net_forward(net, neg, n, G), JN_OK);
    /* Count, then assert once: Check's asserts are too slow per point (a
     * busy machine went past the 4 s default timeout). */
    size_t not_odd = 0, unbounded = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        int odd = F[i] == -G[i], bounded = fabsf(F[i]) <= 1.0f;
        not_odd += !odd;
        unbounded += !bounded;
        if ((!odd || !bounded) && first == n) first = i;
    }
    ck_assert_msg(not_odd == 0 && unbounded == 0, "tanh not odd at %zu points, |tanh| > 1 at %zu (first x = %g)",
                  not_odd, unbounded, first < n ? (double)xs[first] : 0.0);
    free(F); free(G); free(neg); free(xs);
    jn_net_free(net);
}
END_TEST

int main(void)
{
    return RUN_TESTS("activation", "kernels", 60, tanh_accuracy, sigmoid_accuracy, odd_and_bounded);
}
