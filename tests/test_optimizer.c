/* test_optimizer.c - SGD, momentum, Adam, schedules, argument checks and the
 * all-or-nothing step. References are computed here in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A small network: 3 -> 4 -> 2, 26 parameters, Glorot-initialised. */
static jn_net *small_net(size_t hidden_width)
{
    size_t sizes[] = {3, hidden_width, 2};
    return init_net(sizes, 3, JN_ACT_TANH, JN_ACT_LINEAR, 42);
}

static float *copy_params(jn_net *net)
{
    size_t n = jn_net_param_count(net);
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(jn_net_get_params(net, p, n), JN_OK);
    return p;
}

static float *make_grad(size_t n, unsigned seed)
{
    float *g = malloc(n * sizeof *g);
    ck_assert_ptr_nonnull(g);
    fill_uniform(g, n, seed, -1.0f, 1.0f);
    return g;
}

static void assert_error_mentions(const char *word)
{
    ck_assert_msg(strstr(jn_last_error(), word) != NULL, "message \"%s\" does not mention \"%s\"",
                  jn_last_error(), word);
}

START_TEST(sgd_step_is_exact)
{
    jn_net *net = small_net(4);
    size_t n = jn_net_param_count(net);
    float *theta = copy_params(net), *g = make_grad(n, 1);
    const double lr = 0.037;
    jn_optimizer *opt = sgd_optimizer(lr, 0.0);
    ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
    const float *p = jn_net_params(net);
    for (size_t i = 0; i < n; i++) {
        float want = (float)((double)theta[i] - lr * (double)g[i]);
        ck_assert_msg(memcmp(&p[i], &want, sizeof want) == 0, "param %zu: %.9g, want %.9g", i, p[i], want);
    }
    free(theta);
    free(g);
    jn_optimizer_free(opt);
    jn_net_free(net);
}
END_TEST

START_TEST(momentum_two_steps)
{
    jn_net *net = small_net(4);
    size_t n = jn_net_param_count(net);
    float *theta = copy_params(net), *g1 = make_grad(n, 2), *g2 = make_grad(n, 3);
    const double lr = 0.1, mu = 0.9;
    jn_optimizer *opt = sgd_optimizer(lr, mu);
    ck_assert_int_eq(jn_optimizer_step(opt, net, g1), JN_OK);
    ck_assert_int_eq(jn_optimizer_step(opt, net, g2), JN_OK);
    const float *p = jn_net_params(net);
    for (size_t i = 0; i < n; i++) {
        double v1 = -lr * g1[i];
        double th1 = (double)(float)(theta[i] + v1);
        double v2 = mu * v1 - lr * g2[i];
        double th2 = th1 + v2;
        ck_assert_msg(fabs(p[i] - th2) <= 1e-6 * fmax(1.0, fabs(th2)), "param %zu: %.9g, want %.9g", i, p[i],
                      th2);
        /* The momentum must matter: without it the result differs. */
        double plain = th1 - lr * g2[i];
        if (fabs(v1) > 1e-3) ck_assert(fabs(p[i] - plain) > 1e-5);
    }
    free(theta);
    free(g1);
    free(g2);
    jn_optimizer_free(opt);
    jn_net_free(net);
}
END_TEST

START_TEST(adam_first_steps)
{
    jn_net *net = small_net(4);
    size_t n = jn_net_param_count(net);
    float *theta0 = copy_params(net);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    jn_optimizer *opt = NULL;
    ck_assert_int_eq(jn_optimizer_create_adam(&opt, lr, b1, b2, eps), JN_OK);
    double *th = malloc(n * sizeof *th), *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v);
    ck_assert(th && m && v);
    for (size_t i = 0; i < n; i++) th[i] = theta0[i];
    for (int k = 1; k <= 4; k++) {
        float *g = make_grad(n, 10 + (unsigned)k);
        ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
        const float *p = jn_net_params(net);
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
            double mh = m[i] / (1 - pow(b1, k)), vh = v[i] / (1 - pow(b2, k));
            double before = th[i];
            th[i] = th[i] - lr * mh / (sqrt(vh) + eps);
            ck_assert_msg(fabs(p[i] - th[i]) <= 1e-6 * fmax(1.0, fabs(th[i])), "step %d param %zu: %.9g, want %.9g",
                          k, i, p[i], th[i]);
            /* Adam's first step moves every parameter by about lr against
             * the sign of its gradient. */
            if (k == 1 && fabs(g[i]) > 1e-3) {
                ck_assert(fabs(fabs(th[i] - before) - lr) < 1e-6);
                ck_assert((th[i] - before) * g[i] < 0);
            }
            th[i] = p[i]; /* follow the float trajectory */
        }
        free(g);
    }
    free(th);
    free(m);
    free(v);
    free(theta0);
    jn_optimizer_free(opt);
    jn_net_free(net);
}
END_TEST

/* Take steps with a zero gradient (parameters stay put) to advance t. */
static void advance(jn_optimizer *opt, jn_net *net, unsigned steps)
{
    size_t n = jn_net_param_count(net);
    float *zero = calloc(n, sizeof *zero);
    ck_assert_ptr_nonnull(zero);
    for (unsigned i = 0; i < steps; i++) ck_assert_int_eq(jn_optimizer_step(opt, net, zero), JN_OK);
    free(zero);
}

static void assert_close(double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want) + 1e-300, "lr %.17g, want %.17g", got, want);
}

START_TEST(schedules)
{
    jn_net *net = small_net(4);
    jn_optimizer *opt = NULL;

    /* CONSTANT */
    opt = sgd_optimizer(0.25, 0.5);
    for (unsigned t = 0; t < 5; t++) {
        assert_close(jn_optimizer_lr(opt), 0.25);
        advance(opt, net, 1);
    }
    jn_optimizer_free(opt);

    /* STEP: lr * gamma^floor(t / period) */
    opt = adam_optimizer(0.1);
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_STEP, 0.5, 3), JN_OK);
    const double step_want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
    for (unsigned t = 0; t < 10; t++) {
        assert_close(jn_optimizer_lr(opt), step_want[t]);
        advance(opt, net, 1);
    }
    /* reset forgets the step count */
    jn_optimizer_reset(opt);
    assert_close(jn_optimizer_lr(opt), 0.1);
    jn_optimizer_free(opt);

    /* INVERSE: lr / (1 + gamma * t / period), checked at t = 0, 1, 2, 5, 100 */
    opt = sgd_optimizer(0.2, 0.0);
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_INVERSE, 0.5, 2), JN_OK);
    unsigned at[] = {0, 1, 2, 5, 100}, t = 0;
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        advance(opt, net, at[i] - t);
        t = at[i];
        assert_close(jn_optimizer_lr(opt), 0.2 / (1.0 + 0.5 * t / 2.0));
    }
    /* the schedule's lr is the one a step uses: plain SGD at t = 100 */
    size_t n = jn_net_param_count(net);
    float *theta = copy_params(net), *g = make_grad(n, 5);
    double lr = jn_optimizer_lr(opt);
    ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
    for (size_t i = 0; i < n; i++) {
        float want = (float)((double)theta[i] - lr * (double)g[i]);
        ck_assert(jn_net_params(net)[i] == want);
    }
    free(theta);
    free(g);

    /* switching back to CONSTANT keeps the step count but ignores it */
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_CONSTANT, 1.0, 1), JN_OK);
    assert_close(jn_optimizer_lr(opt), 0.2);
    /* gamma = 0 with STEP: lr for the first period, then 0 */
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_STEP, 0.0, 1000), JN_OK);
    assert_close(jn_optimizer_lr(opt), 0.2);
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_STEP, 0.0, 50), JN_OK);
    ck_assert(jn_optimizer_lr(opt) == 0.0);
    jn_optimizer_free(opt);
    jn_net_free(net);
}
END_TEST

#define EXPECT_BAD(call, word)                                 \
    do {                                                       \
        ck_assert_int_eq((call), JN_ERR_INVALID);              \
        assert_error_mentions(word);                           \
    } while (0)

START_TEST(bad_arguments)
{
    jn_optimizer *opt = (jn_optimizer *)&opt; /* must be overwritten with NULL */
    const double nan = NAN, inf = INFINITY;

    EXPECT_BAD(jn_optimizer_create_sgd(NULL, 0.1, 0.0), "out");
    const double bad_lr[] = {0.0, -0.1, nan, inf, -inf};
    for (size_t i = 0; i < 5; i++) {
        opt = (jn_optimizer *)&opt;
        EXPECT_BAD(jn_optimizer_create_sgd(&opt, bad_lr[i], 0.0), "lr");
        ck_assert_ptr_null(opt);
        opt = (jn_optimizer *)&opt;
        EXPECT_BAD(jn_optimizer_create_adam(&opt, bad_lr[i], 0.9, 0.999, 1e-8), "lr");
        ck_assert_ptr_null(opt);
    }
    const double bad_unit[] = {-0.1, 1.0, 1.5, nan, inf, -inf};
    for (size_t i = 0; i < 6; i++) {
        EXPECT_BAD(jn_optimizer_create_sgd(&opt, 0.1, bad_unit[i]), "momentum");
        ck_assert_ptr_null(opt);
        EXPECT_BAD(jn_optimizer_create_adam(&opt, 0.1, bad_unit[i], 0.999, 1e-8), "beta1");
        ck_assert_ptr_null(opt);
        EXPECT_BAD(jn_optimizer_create_adam(&opt, 0.1, 0.9, bad_unit[i], 1e-8), "beta2");
        ck_assert_ptr_null(opt);
    }
    const double bad_eps[] = {0.0, -1e-8, nan, inf};
    for (size_t i = 0; i < 4; i++) {
        EXPECT_BAD(jn_optimizer_create_adam(&opt, 0.1, 0.9, 0.999, bad_eps[i]), "eps");
        ck_assert_ptr_null(opt);
    }
    EXPECT_BAD(jn_optimizer_create_adam(NULL, 0.1, 0.9, 0.999, 1e-8), "out");

    /* the boundary values that are allowed */
    opt = sgd_optimizer(1e-30, 0.0);
    jn_optimizer_free(opt);
    ck_assert_int_eq(jn_optimizer_create_adam(&opt, 1.0, 0.0, 0.0, 1e-300), JN_OK);

    /* schedules */
    EXPECT_BAD(jn_optimizer_set_schedule(NULL, JN_SCHEDULE_STEP, 0.5, 1), "opt");
    EXPECT_BAD(jn_optimizer_set_schedule(opt, (jn_schedule)7, 0.5, 1), "schedule");
    EXPECT_BAD(jn_optimizer_set_schedule(opt, (jn_schedule)-1, 0.5, 1), "schedule");
    const double bad_gamma[] = {-0.5, nan, inf};
    for (size_t i = 0; i < 3; i++) EXPECT_BAD(jn_optimizer_set_schedule(opt, JN_SCHEDULE_STEP, bad_gamma[i], 1), "gamma");
    EXPECT_BAD(jn_optimizer_set_schedule(opt, JN_SCHEDULE_INVERSE, 0.5, 0), "period");
    /* a refused schedule leaves the previous one in place */
    assert_close(jn_optimizer_lr(opt), 1.0);

    /* step */
    jn_net *net = small_net(4);
    float *g = make_grad(jn_net_param_count(net), 1);
    EXPECT_BAD(jn_optimizer_step(NULL, net, g), "opt");
    EXPECT_BAD(jn_optimizer_step(opt, NULL, g), "net");
    EXPECT_BAD(jn_optimizer_step(opt, net, NULL), "grad");
    free(g);
    jn_net_free(net);
    jn_optimizer_free(opt);

    /* NULL is harmless where the API says so */
    jn_optimizer_free(NULL);
    jn_optimizer_reset(NULL);
    ck_assert(jn_optimizer_lr(NULL) == 0.0);
}
END_TEST

/* One optimizer of each kind (index 0..2). */
static jn_optimizer *make_opt(int kind, double lr)
{
    jn_optimizer *opt = NULL;
    jn_status st = kind == 0   ? jn_optimizer_create_sgd(&opt, lr, 0.0)
                   : kind == 1 ? jn_optimizer_create_sgd(&opt, lr, 0.9)
                               : jn_optimizer_create_adam(&opt, lr, 0.9, 0.999, 1e-8);
    ck_assert_int_eq(st, JN_OK);
    return opt;
}

START_TEST(nonfinite_grad_refused)
{
    for (int kind = 0; kind < 3; kind++) {
        jn_net *net = small_net(4);
        size_t n = jn_net_param_count(net);
        float *before = copy_params(net), *g = make_grad(n, 7);
        jn_optimizer *opt = make_opt(kind, 0.1);
        const float bad[] = {NAN, INFINITY, -INFINITY};
        for (int b = 0; b < 3; b++) {
            float *gb = make_grad(n, 7);
            gb[n - 1 - (size_t)b] = bad[b];
            ck_assert_int_eq(jn_optimizer_step(opt, net, gb), JN_ERR_INVALID);
            assert_error_mentions("grad");
            ck_assert(memcmp(jn_net_params(net), before, n * sizeof(float)) == 0);
            free(gb);
        }
        /* nothing was consumed: the optimizer is still at step 0 and unbound,
         * so it accepts a network of another size */
        jn_net *other = small_net(6);
        float *g2 = make_grad(jn_net_param_count(other), 8);
        ck_assert_int_eq(jn_optimizer_step(opt, other, g2), JN_OK);
        free(g2);
        jn_net_free(other);
        free(before);
        free(g);
        jn_optimizer_free(opt);
        jn_net_free(net);
    }
}
END_TEST

START_TEST(overflow_diverges_without_change)
{
    for (int kind = 0; kind < 3; kind++) {
        /* Two identical networks and optimizers; the first also meets a
         * step that overflows, which must leave no trace. */
        jn_net *a = small_net(4), *b = small_net(4);
        size_t n = jn_net_param_count(a);
        jn_optimizer *oa = make_opt(kind, 1e-3), *ob = make_opt(kind, 1e-3);
        float *g1 = make_grad(n, 21), *g2 = make_grad(n, 22);
        ck_assert_int_eq(jn_optimizer_step(oa, a, g1), JN_OK);
        ck_assert_int_eq(jn_optimizer_step(ob, b, g1), JN_OK);

        /* A step whose update exceeds FLT_MAX: a STEP schedule with a huge
         * gamma makes lr 1e-3 * 1e42 at t = 1 (the constructor would refuse
         * no finite lr, but this way the first step stays ordinary). */
        ck_assert_int_eq(jn_optimizer_set_schedule(oa, JN_SCHEDULE_STEP, 1e42, 1), JN_OK);
        float *before = copy_params(a);
        double lr_before = jn_optimizer_lr(oa);
        float *gbig = make_grad(n, 23);
        ck_assert_int_eq(jn_optimizer_step(oa, a, gbig), JN_ERR_DIVERGED);
        assert_error_mentions("non-finite");
        ck_assert(memcmp(jn_net_params(a), before, n * sizeof(float)) == 0);
        ck_assert(jn_optimizer_lr(oa) == lr_before); /* step count unchanged */

        /* Back to the same schedule: both optimizers must now agree bit for
         * bit, i.e. velocity / moments were not touched. */
        ck_assert_int_eq(jn_optimizer_set_schedule(oa, JN_SCHEDULE_CONSTANT, 1.0, 1), JN_OK);
        ck_assert_int_eq(jn_optimizer_step(oa, a, g2), JN_OK);
        ck_assert_int_eq(jn_optimizer_step(ob, b, g2), JN_OK);
        ck_assert(memcmp(jn_net_params(a), jn_net_params(b), n * sizeof(float)) == 0);
        ck_assert_int_eq(jn_optimizer_step(oa, a, g1), JN_OK);
        ck_assert_int_eq(jn_optimizer_step(ob, b, g1), JN_OK);
        ck_assert(memcmp(jn_net_params(a), jn_net_params(b), n * sizeof(float)) == 0);

        free(before);
        free(gbig);
        free(g1);
        free(g2);
        jn_optimizer_free(oa);
        jn_optimizer_free(ob);
        jn_net_free(a);
        jn_net_free(b);
    }
}
END_TEST

START_TEST(single_parameter_overflow)
{
    /* Only parameter 5 leaves the float range; the others would be fine,
     * yet none of them may move. */
    jn_net *net = small_net(4);
    size_t n = jn_net_param_count(net);
    jn_net_params(net)[5] = 3.3e38f;
    float *before = copy_params(net), *g = make_grad(n, 31);
    g[5] = -3e37f;
    jn_optimizer *opt = make_opt(0, 1.0);
    ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_ERR_DIVERGED);
    assert_error_mentions("parameter 5 ");
    ck_assert(memcmp(jn_net_params(net), before, n * sizeof(float)) == 0);
    /* and the optimizer is still usable */
    g[5] = 0.0f;
    ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
    ck_assert(jn_net_params(net)[5] == 3.3e38f);
    free(before);
    free(g);
    jn_optimizer_free(opt);
    jn_net_free(net);
}
END_TEST

START_TEST(param_count_mismatch)
{
    for (int kind = 0; kind < 3; kind++) {
        jn_net *a = small_net(4), *b = small_net(5);
        float *ga = make_grad(jn_net_param_count(a), 1), *gb = make_grad(jn_net_param_count(b), 2);
        jn_optimizer *opt = make_opt(kind, 0.01);
        ck_assert_int_eq(jn_optimizer_step(opt, a, ga), JN_OK);
        float *before = copy_params(b);
        ck_assert_int_eq(jn_optimizer_step(opt, b, gb), JN_ERR_INVALID);
        assert_error_mentions("bound");
        ck_assert(memcmp(jn_net_params(b), before, jn_net_param_count(b) * sizeof(float)) == 0);
        /* the same count is fine (another network of the same shape) */
        jn_net *a2 = small_net(4);
        ck_assert_int_eq(jn_optimizer_step(opt, a2, ga), JN_OK);
        /* reset unbinds */
        jn_optimizer_reset(opt);
        ck_assert_int_eq(jn_optimizer_step(opt, b, gb), JN_OK);
        ck_assert_int_eq(jn_optimizer_step(opt, a, ga), JN_ERR_INVALID);
        free(before);
        free(ga);
        free(gb);
        jn_optimizer_free(opt);
        jn_net_free(a);
        jn_net_free(a2);
        jn_net_free(b);
    }
}
END_TEST

START_TEST(reset_restarts_adam)
{
    /* After reset, Adam's bias correction starts over: the same first step. */
    jn_net *a = small_net(4), *b = small_net(4);
    size_t n = jn_net_param_count(a);
    float *g = make_grad(n, 3), *g0 = make_grad(n, 4);
    jn_optimizer *oa = make_opt(2, 0.01), *ob = make_opt(2, 0.01);
    ck_assert_int_eq(jn_optimizer_step(oa, a, g0), JN_OK);
    ck_assert_int_eq(jn_optimizer_step(oa, a, g0), JN_OK);
    jn_optimizer_reset(oa);
    ck_assert_int_eq(jn_net_set_params(b, jn_net_params(a), n), JN_OK);
    ck_assert_int_eq(jn_optimizer_step(oa, a, g), JN_OK);
    ck_assert_int_eq(jn_optimizer_step(ob, b, g), JN_OK);
    ck_assert(memcmp(jn_net_params(a), jn_net_params(b), n * sizeof(float)) == 0);
    free(g);
    free(g0);
    jn_optimizer_free(oa);
    jn_optimizer_free(ob);
    jn_net_free(a);
    jn_net_free(b);
}
END_TEST

/* Minimise sum (theta - target)^2 with the gradient 2 (theta - target). */
static double minimise_quadratic(jn_optimizer *opt, unsigned steps)
{
    size_t sizes[] = {6, 5, 3};
    jn_net *net = init_net(sizes, 3, JN_ACT_RELU, JN_ACT_SIGMOID, 9);
    size_t n = jn_net_param_count(net);
    float *target = malloc(n * sizeof *target), *g = malloc(n * sizeof *g);
    ck_assert(target && g);
    fill_uniform(target, n, 77, -2.0f, 2.0f);
    float *p = jn_net_params(net);
    for (unsigned s = 0; s < steps; s++) {
        for (size_t i = 0; i < n; i++) g[i] = 2.0f * (p[i] - target[i]);
        ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
    }
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)p[i] - target[i]));
    free(target);
    free(g);
    jn_net_free(net);
    return worst;
}

START_TEST(quadratic_converges)
{
    jn_optimizer *opt = make_opt(0, 0.1);
    double e = minimise_quadratic(opt, 200);
    ck_assert_msg(e < 1e-5, "SGD: max error %g", e);
    jn_optimizer_free(opt);

    opt = make_opt(1, 0.05);
    e = minimise_quadratic(opt, 400);
    ck_assert_msg(e < 1e-5, "momentum: max error %g", e);
    jn_optimizer_free(opt);

    /* Adam's steps are about lr in size whatever the gradient, so it needs a
     * decaying lr to settle. */
    opt = make_opt(2, 0.05);
    ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_INVERSE, 1.0, 100), JN_OK);
    e = minimise_quadratic(opt, 3000);
    ck_assert_msg(e < 1e-3, "Adam: max error %g", e);
    jn_optimizer_free(opt);
}
END_TEST

int main(void)
{
    return RUN_TESTS("optimizer", "core", 60, sgd_step_is_exact, momentum_two_steps, adam_first_steps, schedules,
                     bad_arguments, nonfinite_grad_refused, overflow_diverges_without_change, single_parameter_overflow,
                     param_count_mismatch, reset_restarts_adam, quadratic_converges);
}
