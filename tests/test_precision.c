/* test_precision.c - jn_objective_set_precision: the FP32 default is
 * untouched, BF16 falls back to FP32 where it cannot run, BF16 and AUTO
 * take bfloat16 where it was measured faster (both branches forced with a
 * fake ratio; once per shape; threads; the wisdom file), and the bfloat16
 * penalty (forced with JACNET_FORCE_BF16=1 wherever oneDNN can multiply
 * bfloat16, AMX or not) agrees with float32 and with the float64 oracle
 * within a stated tolerance.
 *
 * Errors are measured on the penalty's own part: the penalty value
 * P = objective(lambda) - objective(0) and the penalty's gradient
 * g(lambda) - g(0), both in float32, since the loss, its gradient and the
 * l2 term stay float32 in BF16 mode and would dilute the error.
 *   value:    |objective_bf16 - objective_fp32| / |P|
 *   gradient: max_i |g_bf16 - g_fp32| / max_i |g_pen,i|
 * Measured here (AVX-512 BF16, oneDNN 2.6; `test_precision --measure`
 * prints every case): value 2e-7 to 6e-4 and gradient 1.3e-3 to 3.4e-3 on
 * the 40- and 50-example cases below, up to 3.9e-3 and 5.7e-3 on the
 * oracle's 4-example cases (fewer products to average the rounding over).
 * The tolerances are about 3 times the worst: 1.2e-2 and 1.7e-2
 * (docs/PERFORMANCE.md).
 *
 * The conversion itself (jn__bf16, src/backend/backend.h; this test includes that
 * header) is checked bit for bit against a reference that picks the nearer
 * of the two bfloat16 neighbours in double, ties to the even one, on every
 * kind of float: exact ties, zeros, subnormals, the largest finite values
 * (which round to infinity), infinities, NaNs, and 10^6 random bit
 * patterns. It needs no oneDNN. So do the products' tables' float32 side
 * and conversions (products_tables); their bfloat16 product is checked
 * where it runs. */
#define _GNU_SOURCE 1
#include "testutil.h"

#include "backend/backend.h"
#include "backend/precision.h"
#include "net/net.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_VALUE 1.2e-2
#define TOL_GRAD 1.7e-2

/* JACNET_FORCE_BF16: 1 always bfloat16, 0 never, -1 unset (the CPU decides). */
static void force(int mode)
{
    if (mode < 0) unsetenv("JACNET_FORCE_BF16");
    else setenv("JACNET_FORCE_BF16", mode ? "1" : "0", 1);
}

/* 1 if the forced bfloat16 path runs in this build on this CPU; says why
 * not otherwise (the tests that need it then pass vacuously). */
static int bf16_runs(void)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_precision(obj, JN_PRECISION_BF16), JN_OK);
    force(1);
    int runs = jn_objective_precision_used(obj) == JN_PRECISION_BF16;
    jn_objective_free(obj);
    if (!runs) {
#ifdef JN_TEST_HAVE_DNNL
        printf("test_precision: built with oneDNN, but its bfloat16 products do not run on this CPU; "
               "bf16 comparisons skipped\n");
#else
        printf("test_precision: built without oneDNN (apt-get install libdnnl-dev); bf16 comparisons skipped\n");
#endif
    }
    return runs;
}

static jn_net *make_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output)
{
    return init_net(sizes, n_sizes, hidden, output, 5);
}

static jn_objective *make_obj(jn_loss loss, double lambda, unsigned projections, jn_penalty_form form, double l2,
                              jn_precision precision)
{
    jn_objective *obj = loss_objective(loss);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, lambda, projections), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, form), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(obj, l2), JN_OK);
    ck_assert_int_eq(jn_objective_set_precision(obj, precision), JN_OK);
    return obj;
}

typedef struct errors {
    double value, grad;
} errors;

static errors worst;  /* over the cases of this process, for --measure */
static int measuring; /* --measure: record, do not assert the tolerances */

/* Objective and gradient with obj's settings in FP32, in BF16, and in FP32
 * without the penalty; the BF16 errors relative to the penalty's part. */
static errors compare(jn_net *net, jn_loss loss, double lambda, unsigned projections, jn_penalty_form form,
                      double l2, const float *X, const float *Xj, const float *Y, size_t n)
{
    size_t P = jn_net_param_count(net);
    float *g[3];
    double v[3];
    const double lambdas[3] = {lambda, lambda, 0.0};
    const jn_precision precs[3] = {JN_PRECISION_FP32, JN_PRECISION_BF16, JN_PRECISION_FP32};
    for (int k = 0; k < 3; k++) {
        jn_objective *obj = make_obj(loss, lambdas[k], projections, form, l2, precs[k]);
        ck_assert_int_eq(jn_objective_precision_used(obj), precs[k]);
        g[k] = malloc(P * sizeof(float));
        ck_assert_int_eq(jn_net_objective(net, obj, X, Xj, Y, n, &v[k], g[k]), JN_OK);
        jn_objective_free(obj);
    }
    double gpen = 0.0, diff = 0.0;
    int differs = 0;
    for (size_t i = 0; i < P; i++) {
        gpen = fmax(gpen, fabs((double)g[0][i] - g[2][i]));
        diff = fmax(diff, fabs((double)g[1][i] - g[0][i]));
        differs |= g[1][i] != g[0][i];
    }
    /* The bfloat16 path really ran: rounding the inputs changes something. */
    ck_assert_msg(differs || v[1] != v[0], "BF16 gave exactly the FP32 result: did it run?");
    ck_assert(gpen > 0.0 && v[0] != v[2]);
    errors e = {fabs(v[1] - v[0]) / fabs(v[0] - v[2]), diff / gpen};
    worst.value = fmax(worst.value, e.value);
    worst.grad = fmax(worst.grad, e.grad);
    for (int k = 0; k < 3; k++) free(g[k]);
    return e;
}

static void check(errors e, const char *what)
{
    if (measuring) {
        printf("  %-12s penalty value %.3g, penalty gradient %.3g\n", what, e.value, e.grad);
        return;
    }
    ck_assert_msg(e.value < TOL_VALUE, "%s: penalty value relative error %.3g (tolerance %g)", what, e.value, TOL_VALUE);
    ck_assert_msg(e.grad < TOL_GRAD, "%s: penalty gradient relative error %.3g (tolerance %g)", what, e.grad, TOL_GRAD);
}

static float *onehot(size_t n, size_t k)
{
    float *Y = calloc(n * k, sizeof *Y);
    for (size_t i = 0; i < n; i++) Y[i * k + (i * 3) % k] = 1.0f;
    return Y;
}

START_TEST(api)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32); /* the default */
    ck_assert_int_eq(jn_objective_set_precision(obj, (jn_precision)7), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "precision"));
    ck_assert_int_eq(jn_objective_set_precision(NULL, JN_PRECISION_BF16), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_precision_used(NULL), JN_PRECISION_FP32);
    ck_assert(jn_objective_precision_ratio(NULL) == 0.0);
    ck_assert(jn_objective_precision_ratio(obj) == 0.0);
    ck_assert_int_eq(JN_PRECISION_AUTO, 2); /* appended: the older values keep their numbers */
    ck_assert_int_eq(jn_objective_set_precision(obj, JN_PRECISION_AUTO), JN_OK);
    ck_assert_int_eq(jn_objective_set_precision(obj, JN_PRECISION_FP32), JN_OK);
    /* forcing never turns an FP32 objective into BF16 */
    force(1);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32);
    /* a clone keeps the request */
    ck_assert_int_eq(jn_objective_set_precision(obj, JN_PRECISION_BF16), JN_OK);
    jn_objective *copy = NULL;
    ck_assert_int_eq(jn_objective_clone(&copy, obj), JN_OK);
    ck_assert_int_eq(jn_objective_precision_used(copy), jn_objective_precision_used(obj));
    force(-1);
    jn_objective_free(copy);
    jn_objective_free(obj);
}
END_TEST

/* ---- the measured choice ----
 * Unforced, BF16 and AUTO time the penalty both ways once per shape and
 * take bfloat16 where it was at least 1.05 times faster. The timings here
 * are real, but JACNET_FAKE_BF16_RATIO replaces their verdict, so that both
 * branches run on any machine whatever its load. Where oneDNN cannot
 * multiply bfloat16 (no oneDNN built in, or a CPU it cannot do it on), the
 * request falls back to FP32 without measuring, and the tests check that. */

static void fake_ratio(const char *ratio)
{
    if (ratio) setenv("JACNET_FAKE_BF16_RATIO", ratio, 1);
    else unsetenv("JACNET_FAKE_BF16_RATIO");
}

/* Whether bf16 can run here (the forced probe), with the environment then
 * left unforced and the process's answers forgotten. */
static int measured_setup(void)
{
    int runs = bf16_runs();
    force(-1);
    jn__precision_forget();
    return runs;
}

/* jn_net_objective with obj on net (a fresh gradient each time); returns
 * the value, the gradient in g (P floats). */
static double eval(jn_net *net, const jn_objective *obj, const float *X, const float *Y, size_t n, float *g)
{
    double v;
    ck_assert_int_eq(jn_net_objective(net, obj, X, NULL, Y, n, &v, g), JN_OK);
    return v;
}

/* The two branches, for a BF16 and an AUTO request: a fake ratio of 2 takes
 * bfloat16 (the same bits as forced BF16), 0.5 refuses it (the same bits as
 * FP32: the calibration's own runs of the penalty leave no trace), and the
 * getters say which ran and the ratio. Loop: 0 BF16 at 2, 1 BF16 at 0.5,
 * 2 AUTO at 2, 3 AUTO at 0.5. */
START_TEST(measured_choice_both_branches)
{
    int runs = measured_setup();
    int faster = _i % 2 == 0;
    jn_precision want = _i < 2 ? JN_PRECISION_BF16 : JN_PRECISION_AUTO;
    fake_ratio(faster ? "2" : "0.5");
    const size_t sizes[] = {40, 56, 6}, n = 24;
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(n * 40, 31, 0.0f, 1.0f), *Y = onehot(n, 6);
    float *g = malloc(P * sizeof *g), *gf = malloc(P * sizeof *gf), *gb = malloc(P * sizeof *gb);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.3, 0, JN_FORM_DIRECT, 0.0, want);
    jn_objective *fp32 = make_obj(JN_LOSS_MSE, 0.3, 0, JN_FORM_DIRECT, 0.0, JN_PRECISION_FP32);
    /* nothing measured yet */
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32);
    ck_assert(jn_objective_precision_ratio(obj) == 0.0);
    unsigned long timed = jn__precision_timings();
    double v = eval(net, obj, X, Y, n, g);
    double vf = eval(net, fp32, X, Y, n, gf);
    force(1);
    double vb = eval(net, obj, X, Y, n, gb);
    force(-1);
    if (!runs) {
        /* no bfloat16 here: FP32, nothing measured */
        ck_assert_uint_eq(jn__precision_timings(), timed);
        ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32);
        ck_assert(jn_objective_precision_ratio(obj) == 0.0);
        ck_assert(v == vf && memcmp(g, gf, P * sizeof *g) == 0);
    } else {
        ck_assert_uint_eq(jn__precision_timings(), timed + 1);
        ck_assert_int_eq(jn_objective_precision_used(obj), faster ? JN_PRECISION_BF16 : JN_PRECISION_FP32);
        ck_assert(jn_objective_precision_ratio(obj) == (faster ? 2.0 : 0.5));
        ck_assert_msg(vb != vf || memcmp(gb, gf, P * sizeof *g) != 0, "forced BF16 gave the FP32 bits");
        if (faster) ck_assert(v == vb && memcmp(g, gb, P * sizeof *g) == 0);
        else ck_assert(v == vf && memcmp(g, gf, P * sizeof *g) == 0);
    }
    /* FP32 requested: never measured */
    ck_assert(jn_objective_precision_ratio(fp32) == 0.0);
    fake_ratio(NULL);
    free(X); free(Y); free(g); free(gf); free(gb);
    jn_objective_free(obj);
    jn_objective_free(fp32);
    jn_net_free(net);
}
END_TEST

/* One timing per shape and process: the same shape again (from another
 * objective, a clone included) is answered from memory; another batch size
 * is another shape. The getters report the largest batch evaluated (in
 * training, the full minibatch rather than a short last one). */
START_TEST(measured_once_per_shape)
{
    if (!measured_setup()) return;
    const size_t sizes[] = {30, 44, 5};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(32 * 30, 41, 0.0f, 1.0f), *Y = onehot(32, 5), *g = malloc(P * sizeof *g);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_AUTO), *copy = NULL;
    unsigned long timed = jn__precision_timings();
    /* a short batch first (refused), then the full one (taken): the
     * report follows the larger batch either way round */
    fake_ratio("0.25");
    eval(net, obj, X, Y, 7, g);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32);
    fake_ratio("3");
    eval(net, obj, X, Y, 32, g);
    eval(net, obj, X, Y, 32, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 2);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_BF16);
    timed++;
    ck_assert_int_eq(jn_objective_clone(&copy, obj), JN_OK);
    ck_assert(jn_objective_precision_ratio(copy) == 0.0); /* the clone has run nothing */
    fake_ratio("0.25");                                    /* not consulted: answered from memory */
    eval(net, copy, X, Y, 32, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 1);
    ck_assert(jn_objective_precision_ratio(copy) == 3.0);
    /* the short batch again: answered from memory (refused), and the
     * report stays with the larger batch */
    eval(net, obj, X, Y, 7, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 1);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_BF16);
    ck_assert(jn_objective_precision_ratio(obj) == 3.0);
    /* the value-only evaluation is a shape of its own */
    double v;
    ck_assert_int_eq(jn_net_objective(net, obj, X, NULL, Y, 32, &v, NULL), JN_OK);
    ck_assert_uint_eq(jn__precision_timings(), timed + 2);
    fake_ratio(NULL);
    free(X); free(Y); free(g);
    jn_objective_free(copy);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

typedef struct eval_thread {
    jn_net *net;
    const jn_objective *obj;
    const float *X, *Y;
    float *g;
} eval_thread;

static void *eval_main(void *arg)
{
    eval_thread *t = arg;
    double v;
    if (jn_net_objective(t->net, t->obj, t->X, NULL, t->Y, 16, &v, t->g) != JN_OK) return arg;
    return NULL;
}

/* Four threads meeting the same new shape at once, each with its own
 * network: one timing between them, and all take the same answer. */
START_TEST(measured_threadsafe)
{
    if (!measured_setup()) return;
    fake_ratio("2");
    enum { T = 4 };
    const size_t sizes[] = {24, 36, 4};
    float *X = uniform_floats(16 * 24, 51, 0.0f, 1.0f), *Y = onehot(16, 4);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_BF16);
    eval_thread t[T];
    pthread_t tid[T];
    unsigned long timed = jn__precision_timings();
    for (int i = 0; i < T; i++) {
        t[i] = (eval_thread){make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), obj, X, Y, NULL};
        t[i].g = malloc(jn_net_param_count(t[i].net) * sizeof(float));
    }
    for (int i = 0; i < T; i++) ck_assert_int_eq(pthread_create(&tid[i], NULL, eval_main, &t[i]), 0);
    for (int i = 0; i < T; i++) {
        void *failed;
        ck_assert_int_eq(pthread_join(tid[i], &failed), 0);
        ck_assert_msg(failed == NULL, "thread %d: %s", i, jn_last_error());
    }
    ck_assert_uint_eq(jn__precision_timings(), timed + 1);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_BF16);
    /* same network weights, same answer: the same bits in every thread */
    for (int i = 1; i < T; i++)
        ck_assert(memcmp(t[i].g, t[0].g, jn_net_param_count(t[0].net) * sizeof(float)) == 0);
    for (int i = 0; i < T; i++) {
        free(t[i].g);
        jn_net_free(t[i].net);
    }
    fake_ratio(NULL);
    free(X); free(Y);
    jn_objective_free(obj);
}
END_TEST

/* JACNET_WISDOM: a measurement is appended to the file, and a process that
 * has not measured the shape (here: after forgetting) takes the file's
 * answer instead of timing; lines it cannot read are ignored. */
START_TEST(measured_wisdom_file)
{
    if (!measured_setup()) return;
    char *dir = make_temp_dir(), path[4096];
    snprintf(path, sizeof path, "%s/wisdom", dir);
    setenv("JACNET_WISDOM", path, 1);
    const size_t sizes[] = {20, 28, 3};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(12 * 20, 61, 0.0f, 1.0f), *Y = onehot(12, 3), *g = malloc(P * sizeof *g);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_AUTO);
    unsigned long timed = jn__precision_timings();
    fake_ratio("1.5");
    eval(net, obj, X, Y, 12, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 1);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024], key[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_null(fgets(key, sizeof key, f)); /* one line */
    fclose(f);
    ck_assert_msg(strstr(line, "sizes=20,28,3 ratio=1.5000\n") && strstr(line, "n=12 "), "wisdom line: %s", line);
    /* a new process, in effect: the file's answer, no timing; the last
     * readable line of a shape wins */
    jn__precision_forget();
    fake_ratio("0.5");
    *strstr(line, " ratio=") = '\0';
    f = fopen(path, "a");
    fprintf(f, "garbage\n%s ratio=0.8\n%s ratio=nonsense\n%s ratio=-1\n", line, line, line);
    fclose(f);
    jn_objective *again = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_AUTO);
    eval(net, again, X, Y, 12, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 1);
    ck_assert(jn_objective_precision_ratio(again) == 0.8);
    ck_assert_int_eq(jn_objective_precision_used(again), JN_PRECISION_FP32);
    /* an unreadable file is no answer: timed */
    jn__precision_forget();
    setenv("JACNET_WISDOM", dir, 1); /* a directory */
    eval(net, again, X, Y, 12, g);
    ck_assert_uint_eq(jn__precision_timings(), timed + 2);
    unsetenv("JACNET_WISDOM");
    fake_ratio(NULL);
    remove(path);
    remove(dir);
    free(dir); free(X); free(Y); free(g);
    jn_objective_free(obj);
    jn_objective_free(again);
    jn_net_free(net);
}
END_TEST

/* JACNET_FORCE_BF16 decides without measuring: 0 FP32, 1 BF16. */
START_TEST(forced_is_not_measured)
{
    int runs = measured_setup();
    fake_ratio("2");
    const size_t sizes[] = {18, 22, 3};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(10 * 18, 71, 0.0f, 1.0f), *Y = onehot(10, 3), *g = malloc(P * sizeof *g);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_AUTO);
    unsigned long timed = jn__precision_timings();
    for (int mode = 0; mode < 2; mode++) {
        force(mode);
        eval(net, obj, X, Y, 10, g);
        ck_assert_int_eq(jn_objective_precision_used(obj), mode && runs ? JN_PRECISION_BF16 : JN_PRECISION_FP32);
        ck_assert(jn_objective_precision_ratio(obj) == 0.0);
    }
    ck_assert_uint_eq(jn__precision_timings(), timed);
    force(-1);
    fake_ratio(NULL);
    free(X); free(Y); free(g);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

/* Where BF16 does not run (JACNET_FORCE_BF16=0 here; also without oneDNN
 * or on a CPU where it does not pay), a BF16 objective gives exactly the
 * FP32 results. */
START_TEST(fallback_is_fp32)
{
    force(0);
    const size_t sizes[] = {30, 40, 5};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    jn_objective *f = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_FP32);
    jn_objective *b = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_AUTO, 0.0, JN_PRECISION_BF16);
    ck_assert_int_eq(jn_objective_precision_used(b), JN_PRECISION_FP32);
    size_t n = 16, P = jn_net_param_count(net);
    float *X = uniform_floats(n * 30, 1, 0.0f, 1.0f), *Xj = uniform_floats(n * 30, 2, 0.0f, 1.0f), *Y = onehot(n, 5);
    float *g1 = malloc(P * sizeof *g1), *g2 = malloc(P * sizeof *g2);
    double v1, v2;
    ck_assert_int_eq(jn_net_objective(net, f, X, Xj, Y, n, &v1, g1), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, b, X, Xj, Y, n, &v2, g2), JN_OK);
    ck_assert(v1 == v2);
    ck_assert(memcmp(g1, g2, P * sizeof *g1) == 0);
    free(X); free(Xj); free(Y); free(g1); free(g2);
    jn_objective_free(f);
    jn_objective_free(b);
    jn_net_free(net);
    force(-1);
}
END_TEST

/* Forced BF16 against FP32, over the code paths: one and two hidden layers,
 * direct and Gram first layer, exact and projected, Xj = X and Xj != X,
 * sigmoid + MSE and softmax + cross-entropy, l2 on. */
START_TEST(bf16_against_fp32)
{
    if (!bf16_runs()) return;
    size_t n = 40;
    struct {
        size_t sizes[4], n_sizes;
        jn_act hidden, output;
        jn_loss loss;
        unsigned projections;
        jn_penalty_form form;
        int same;
    } cases[] = {
        {{64, 96, 10}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0, JN_FORM_DIRECT, 0},
        {{64, 96, 10}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0, JN_FORM_DIRECT, 1},
        {{64, 96, 10}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0, JN_FORM_GRAM, 0},
        {{64, 80, 48, 10}, 4, JN_ACT_TANH, JN_ACT_SIGMOID, JN_LOSS_MSE, 0, JN_FORM_DIRECT, 0},
        {{64, 80, 48, 10}, 4, JN_ACT_SIGMOID, JN_ACT_SIGMOID, JN_LOSS_MSE, 3, JN_FORM_DIRECT, 0},
        {{64, 96, 10}, 3, JN_ACT_RELU, JN_ACT_SOFTMAX, JN_LOSS_CE, 0, JN_FORM_DIRECT, 0},
        {{64, 96, 10}, 3, JN_ACT_TANH, JN_ACT_SOFTMAX, JN_LOSS_CE, 2, JN_FORM_AUTO, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        jn_net *net = make_net(cases[c].sizes, cases[c].n_sizes, cases[c].hidden, cases[c].output);
        size_t D = cases[c].sizes[0], K = cases[c].sizes[cases[c].n_sizes - 1];
        float *X = uniform_floats(n * D, 10 + (unsigned)c, 0.0f, 1.0f);
        float *Xj = uniform_floats(n * D, 20 + (unsigned)c, 0.0f, 1.0f);
        float *Y = onehot(n, K);
        errors e = compare(net, cases[c].loss, 0.3, cases[c].projections, cases[c].form, 1e-3, X,
                           cases[c].same ? NULL : Xj, Y, n);
        char what[64];
        snprintf(what, sizeof what, "case %zu", c);
        check(e, what);
        free(X); free(Xj); free(Y);
        jn_net_free(net);
    }
    force(-1);
}
END_TEST

/* The benchmark's shape (784-1000-10, batch 100, exact penalty at noisy
 * inputs), scaled to 784-500-10 and batch 50 to keep the test short on
 * CPUs without AMX, where oneDNN's bfloat16 is slow. */
START_TEST(bf16_mnist_shape)
{
    if (!bf16_runs()) return;
    const size_t sizes[] = {784, 500, 10}, n = 50;
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    float *X = uniform_floats(n * 784, 3, 0.0f, 1.0f), *Xj = malloc(n * 784 * sizeof *Xj), *Y = onehot(n, 10);
    jn_rng *rng = seeded_rng(4);
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.1, X, Xj, n * 784), JN_OK);
    check(compare(net, JN_LOSS_MSE, 0.1, 0, JN_FORM_DIRECT, 0.0, X, Xj, Y, n), "784-500-10");
    jn_rng_free(rng);
    free(X); free(Xj); free(Y);
    jn_net_free(net);
    force(-1);
}
END_TEST

/* The float64 oracle cases with the penalty forced to BF16: objective and
 * gradient against the oracle. The oracle gives no separate penalty, so the
 * errors are taken relative to the FP32 penalty part (FP32 matches the
 * oracle to 1e-4, test_oracle.c) plus that 1e-4 allowance. */
static const char *const oracle_cases[] = {"paper_1h", "paper_1h_l2", "deep_2h", "relu_1h", "softmax_ce"};

START_TEST(bf16_oracle)
{
    if (!bf16_runs()) return;
    oracle_case c;
    ck_assert_msg(oracle_load(&c, oracle_cases[_i]), "cannot load oracle case %s", oracle_cases[_i]);
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, c.sizes, c.n_sizes, c.hidden, c.output), JN_OK);
    float *p = to_float(c.params, c.n_params);
    ck_assert_int_eq(jn_net_set_params(net, p, c.n_params), JN_OK);
    size_t D = c.sizes[0], K = c.sizes[c.n_sizes - 1];
    float *X = to_float(c.X, c.n * D), *Y = to_float(c.Y, c.n * K), *Xj = c.Xj ? to_float(c.Xj, c.n * D) : NULL;
    /* float32 errors first, through the same comparison as above */
    check(compare(net, c.loss, c.lambda_jacobian, 0, JN_FORM_DIRECT, c.lambda_l2, X, Xj, Y, c.n), c.name);
    /* then the BF16 result itself against the float64 numbers */
    jn_objective *b = make_obj(c.loss, c.lambda_jacobian, 0, JN_FORM_AUTO, c.lambda_l2, JN_PRECISION_BF16);
    jn_objective *z = make_obj(c.loss, 0.0, 0, JN_FORM_AUTO, c.lambda_l2, JN_PRECISION_FP32);
    float *g = malloc(c.n_params * sizeof *g), *g0 = malloc(c.n_params * sizeof *g0);
    double v, v0;
    ck_assert_int_eq(jn_net_objective(net, b, X, Xj, Y, c.n, &v, g), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, z, X, Xj, Y, c.n, &v0, g0), JN_OK);
    double pen = fabs(c.objective - v0), gpen = 0.0, gmax = 0.0, diff = 0.0;
    for (size_t i = 0; i < c.n_params; i++) {
        gpen = fmax(gpen, fabs(c.grad[i] - g0[i]));
        gmax = fmax(gmax, fabs(c.grad[i]));
        diff = fmax(diff, fabs(g[i] - c.grad[i]));
    }
    ck_assert_msg(fabs(v - c.objective) < TOL_VALUE * pen + 1e-4 * fabs(c.objective),
                  "%s: BF16 objective %.9g, oracle %.9g (penalty %.3g)", c.name, v, c.objective, pen);
    ck_assert_msg(diff < TOL_GRAD * gpen + 1e-4 * gmax, "%s: BF16 gradient off the oracle by %.3g (penalty part %.3g)",
                  c.name, diff, gpen);
    free(g); free(g0); free(X); free(Y); free(Xj); free(p);
    jn_objective_free(b);
    jn_objective_free(z);
    jn_net_free(net);
    oracle_free(&c);
    force(-1);
}
END_TEST

/* A short training run in BF16: it trains (objective falls) and stays
 * finite; the trainer passes the precision through, and its calls reach
 * the objective's record (measured, with a fake ratio of 2: bfloat16). */
START_TEST(bf16_trains)
{
    if (!measured_setup()) return;
    fake_ratio("2");
    size_t n = 400, D = 20;
    float *X = uniform_floats(n * D, 8, -1.0f, 1.0f);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = X[i * D] + X[i * D + 1] > 0.0f;
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create(&ds, X, y, n, D, 2, 0), JN_OK);
    const size_t sizes[] = {20, 32, 2};
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ, 0.05, 0.1);
    ck_assert_int_eq(jn_objective_set_precision(obj, JN_PRECISION_BF16), JN_OK);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_FP32); /* nothing measured yet */
    jn_optimizer *opt = sgd_optimizer(0.2, 0.5);
    jn_trainer *tr = trainer_for(15, 20);
    ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, NULL), JN_OK);
    double err;
    ck_assert_int_eq(jn_net_error_rate(net, ds, &err), JN_OK);
    ck_assert_msg(err < 0.1, "training error %g after 15 epochs in BF16", err);
    ck_assert_int_eq(jn_objective_precision_used(obj), JN_PRECISION_BF16);
    ck_assert(jn_objective_precision_ratio(obj) == 2.0);
    fake_ratio(NULL);
    free_run(tr, opt, obj, net);
    jn_dataset_free(ds); free(X); free(y);
    force(-1);
}
END_TEST

/* A network's first BF16 call on a small batch, then a larger one: the
 * bfloat16 copies grow with the Jacobian rows (they once kept the first
 * call's depth, and the larger batch wrote past them). The result matches
 * a network that saw the large batch first. */
START_TEST(bf16_batch_grows)
{
    if (!bf16_runs()) return;
    const size_t sizes[] = {30, 40, 5}, big = 64;
    jn_net *net = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), *fresh = make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(big * 30, 81, 0.0f, 1.0f), *Y = onehot(big, 5);
    float *g = malloc(P * sizeof *g), *gf = malloc(P * sizeof *gf);
    jn_objective *obj = make_obj(JN_LOSS_MSE, 0.2, 0, JN_FORM_DIRECT, 0.0, JN_PRECISION_BF16);
    eval(net, obj, X, Y, 4, g);
    double v = eval(net, obj, X, Y, big, g), vf = eval(fresh, obj, X, Y, big, gf);
    ck_assert(v == vf && memcmp(g, gf, P * sizeof *g) == 0);
    free(X); free(Y); free(g); free(gf);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_net_free(fresh);
    force(-1);
}
END_TEST

/* ---- float32 -> bfloat16 rounding ---- */

static float bits_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* The bfloat16 nearest to the float with bits b: of the neighbour towards
 * zero (b's top 16 bits) and the next one away from zero, the nearer in
 * exact double arithmetic, the even one on a tie. A NaN stays a NaN of the
 * same sign. */
static uint16_t ref_bf16(uint32_t b)
{
    if ((b & 0x7fffffffu) > 0x7f800000u) return 0; /* NaN: checked apart */
    if ((b & 0x7fffffffu) == 0x7f800000u) return (uint16_t)(b >> 16); /* infinity is exact */
    uint32_t lo = b & 0xffff0000u, hi = lo + 0x10000u;
    double x = bits_float(b), dl = fabs(x - (double)bits_float(lo));
    /* Past the largest finite bfloat16 the next one up is infinity: round
     * as if it were 2^128, as IEEE rounding does. */
    double up = (hi & 0x7fffffffu) == 0x7f800000u ? copysign(ldexp(1.0, 128), x) : (double)bits_float(hi);
    double dh = fabs(up - x);
    if (dl < dh || (dl == dh && ((lo >> 16) & 1u) == 0)) return (uint16_t)(lo >> 16);
    return (uint16_t)(hi >> 16);
}

static void check_bf16_got(uint32_t b, uint16_t got)
{
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        ck_assert_msg((got & 0x7f80u) == 0x7f80u && (got & 0x7fu) != 0 && (got >> 15) == (b >> 31),
                      "NaN 0x%08x became 0x%04x, not a NaN of the same sign", (unsigned)b, (unsigned)got);
        return;
    }
    uint16_t want = ref_bf16(b);
    ck_assert_msg(got == want, "bf16(0x%08x = %.9g) = 0x%04x, nearest (ties to even) is 0x%04x", (unsigned)b,
                  (double)bits_float(b), (unsigned)got, (unsigned)want);
}

static void check_bf16(uint32_t b) { check_bf16_got(b, jn__bf16(bits_float(b))); }

static const uint32_t special_cases[] = {
    0x00000000u, 0x80000000u,             /* zeros */
    0x3f800000u, 0x3f808000u, 0x3f818000u, /* 1, ties to even down and up */
    0xbf808000u, 0xbf818000u,             /* the same ties, negative */
    0x3f808001u, 0x3f807fffu,             /* just above and below a tie */
    0x00000001u, 0x00008000u, 0x00018000u, 0x007fffffu, /* subnormals, ties among them */
    0x7f7f7fffu, 0x7f7f8000u, 0x7f7fffffu, 0xff7fffffu, /* largest finite: stays, or rounds to inf */
    0x7f800000u, 0xff800000u,             /* infinities */
    0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7f810000u, 0xff800001u, /* NaNs, quiet and signalling */
};

START_TEST(bf16_rounding)
{
    for (size_t i = 0; i < sizeof special_cases / sizeof special_cases[0]; i++) check_bf16(special_cases[i]);
    /* Exactly half-way, at every exponent, with an even and an odd bfloat16
     * below: the ties are where a rounding slip hides. */
    for (uint32_t e = 0; e < 255; e++) {
        check_bf16((e << 23) | 0x8000u);
        check_bf16((e << 23) | 0x18000u);
        check_bf16(0x80000000u | (e << 23) | 0x18000u);
    }
    uint64_t s = 0x9e3779b97f4a7c15ull; /* xorshift64: fixed patterns */
    for (int i = 0; i < 1000000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        check_bf16((uint32_t)(s >> 32));
    }
}
END_TEST

/* The library's own conversion loop (products.c, compiled with the
 * vectoriser: Makefile) rounds as the reference does, lane by lane: the
 * special values at every offset of a vector, then fixed random patterns. */
START_TEST(bf16_convert_loop)
{
    enum { COUNT = 1 << 16 };
    static float src[COUNT];
    static uint32_t bits[COUNT];
    static uint16_t dst[COUNT];
    size_t nspecial = sizeof special_cases / sizeof special_cases[0], i = 0;
    for (size_t shift = 0; shift < 16; shift++)
        for (size_t c = 0; c < nspecial; c++) bits[i++] = special_cases[(c + shift) % nspecial];
    uint64_t s = 0x2545f4914f6cdd1dull;
    for (; i < COUNT; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        bits[i] = (uint32_t)(s >> 32);
    }
    for (i = 0; i < COUNT; i++) src[i] = bits_float(bits[i]);
    jn__operand m = {src, dst, 256};
    jn__products_bf16.convert(m, COUNT / 256);
    for (i = 0; i < COUNT; i++) check_bf16_got(bits[i], dst[i]);
}
END_TEST

/* The products' tables (src/backend/products.c). float32's product is
 * jn__sgemm's, bit for bit, for any transposition and alpha, reads no copy
 * and never reads C; its convert touches nothing. bfloat16's convert writes
 * jn__bf16 of every value, and its product (where it runs) agrees bit for
 * bit with float32's on small integers, which bfloat16 holds exactly and
 * float32 sums in any order without rounding (alpha 0.5 is exact too). */
START_TEST(products_tables)
{
    ck_assert_ptr_eq(jn__products_for(0), &jn__products_fp32);
    ck_assert_ptr_eq(jn__products_for(1), &jn__products_bf16);
    ck_assert_str_eq(jn__products_fp32.name, "float32");
    ck_assert_str_eq(jn__products_bf16.name, "bfloat16");
    ck_assert(!jn__products_fp32.reads_bf16 && jn__products_bf16.reads_bf16);
    ck_assert(jn__products_fp32.speedup == 1.0);
    enum { M = 37, N = 29, K = 23 };
    static float A[M * K], B[K * N], C[M * N], want[M * N];
    static uint16_t A16[M * K], B16[K * N];
    jn_work w;
    memset(&w, 0, sizeof w);
    fill_uniform(A, M * K, 1, -1.0f, 1.0f);
    fill_uniform(B, K * N, 2, -1.0f, 1.0f);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            size_t lda = ta ? M : K, ldb = tb ? K : N;
            jn__operand a = {A, NULL, lda}, b = {B, NULL, ldb};
            jn__sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.0f, want, N);
            for (size_t i = 0; i < M * N; i++) C[i] = NAN; /* beta 0: never read */
            ck_assert_int_eq(jn__products_fp32.product(&w, ta, tb, M, N, K, 0.75f, a, b, C, N), JN_OK);
            ck_assert_mem_eq(C, want, sizeof C);
        }
    memset(A16, 0xab, sizeof A16);
    jn__operand a = {A, A16, K};
    jn__products_fp32.convert(a, M);
    for (size_t i = 0; i < M * K; i++) ck_assert_uint_eq(A16[i], 0xabab);
    jn__products_bf16.convert(a, M);
    for (size_t i = 0; i < M * K; i++) ck_assert_uint_eq(A16[i], jn__bf16(A[i]));
    int runs = bf16_runs();
    force(-1);
    if (!runs) return;
    for (size_t i = 0; i < M * K; i++) A[i] = (float)((int)(i % 7) - 3);
    for (size_t i = 0; i < K * N; i++) B[i] = (float)((int)(i % 5) - 2);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            size_t lda = ta ? M : K, ldb = tb ? K : N;
            jn__operand a2 = {A, A16, lda}, b2 = {B, B16, ldb};
            jn__products_bf16.convert(a2, ta ? K : M);
            jn__products_bf16.convert(b2, tb ? N : K);
            jn__sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.0f, want, N);
            for (size_t i = 0; i < M * N; i++) C[i] = NAN;
            ck_assert_int_eq(jn__products_bf16.product(&w, ta, tb, M, N, K, 0.5f, a2, b2, C, N), JN_OK);
            ck_assert_mem_eq(C, want, sizeof C);
        }
    jn__dnnl_free(w.dnnl);
}
END_TEST

static Suite *precision_suite(void)
{
    Suite *s = suite_create("precision");
    ADD_CASE(s, "bf16", 120, ONCE(api), ONCE(bf16_rounding), ONCE(bf16_convert_loop), ONCE(products_tables),
             ONCE(fallback_is_fp32), LOOP(measured_choice_both_branches, 4), ONCE(measured_once_per_shape),
             ONCE(measured_threadsafe), ONCE(measured_wisdom_file), ONCE(forced_is_not_measured),
             ONCE(bf16_against_fp32), ONCE(bf16_mnist_shape),
             LOOP(bf16_oracle, sizeof oracle_cases / sizeof oracle_cases[0]), ONCE(bf16_trains),
             ONCE(bf16_batch_grows));
    return s;
}

int main(int argc, char **argv)
{
    /* `test_precision --measure`: the worst errors over all comparisons, for
     * docs/PERFORMANCE.md; nothing is asserted against the tolerances. */
    if (argc > 1 && !strcmp(argv[1], "--measure")) {
        setenv("CK_FORK", "no", 1);
        measuring = 1;
        int rc = run_suite(precision_suite());
        printf("worst BF16 errors over the cases: penalty value %.3g, penalty gradient %.3g\n", worst.value,
               worst.grad);
        return rc;
    }
    return run_suite(precision_suite());
}
