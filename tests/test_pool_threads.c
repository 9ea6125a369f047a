/* test_pool_threads.c - the library's own threads change no result.
 *
 * Every computation is run with jn_set_threads(1) and jn_set_threads(2) and
 * the results compared bit for bit. A count set with jn_set_threads holds
 * the BLAS at one thread and splits every product into row blocks over the
 * library's threads (src/backend/gemm.c), so between the two runs only that split
 * and the elementwise loops' split change. The shapes are chosen so that
 * every threaded loop and product is above the size at which threads.c
 * splits it (worked out per loop in the comments), and one set of shapes
 * (awkward_shapes) has row counts that are no multiple of the split's
 * blocks (16-row multiples) or of the SYRK's band (64), in both penalty forms and in the
 * Hessian. A last test lets the BLAS use 2 threads inside the library's
 * parts too and bounds the difference, which then comes from the BLAS's
 * summation order only (skipped where the BLAS has no thread control). */
#define _GNU_SOURCE 1
#include "testutil.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 64-128-64-10, batch 256, exact penalty: 2560 Jacobian rows, so the
 * chain and penalty sweeps cover 2560 x 128 values, the first layer's dot
 * product 2560 x 64, the bias sums 128 columns x 256 rows; the softmax
 * case has 20 outputs (256 x 20 x 20 output Jacobians). Each is above
 * threads.c's split size, and small enough for valgrind. */
#define D 64
#define H1 128
#define H2 64
#define K 10
#define K_SOFTMAX 20
#define N 256

/* OpenBLAS's thread setter, or NULL for a BLAS without one. */
static void (*blas_threads)(int);

static void find_blas_threads(void)
{
    blas_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
}

/* The library at t threads (the BLAS then held at one), and the BLAS set
 * to blas_t behind its back when it can be. */
static void use_threads(int t, int blas_t)
{
    ck_assert_int_eq(jn_set_threads(t), JN_OK);
    if (blas_threads && blas_t != 1) blas_threads(blas_t);
}

static jn_net *make_net(size_t n_sizes, const size_t *sizes, jn_act hidden, jn_act output)
{
    return init_net(sizes, n_sizes, hidden, output, 3);
}

/* One-hot rows. */
static float *onehot(size_t n, size_t k, unsigned seed)
{
    float *Y = calloc(n * k, sizeof *Y);
    ck_assert_ptr_nonnull(Y);
    for (size_t i = 0; i < n; i++) Y[i * k + (i * 7 + seed) % k] = 1.0f;
    return Y;
}

static void assert_same(const float *a, const float *b, size_t n, const char *what)
{
    size_t diff = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (first == n) first = i;
            diff++;
        }
    ck_assert_msg(diff == 0, "%s: %zu of %zu values differ between 1 and 2 threads (first at %zu: %.9g vs %.9g)",
                  what, diff, n, first, first < n ? a[first] : 0.0, first < n ? b[first] : 0.0);
}

/* value and gradient of obj at t = 1 and t = 2, compared bitwise. */
static void objective_same(jn_net *net, const jn_objective *obj, const float *X, const float *Xj, const float *Y,
                           size_t n, const char *what)
{
    size_t P = jn_net_param_count(net);
    float *g[2];
    double v[2];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        g[t] = malloc(P * sizeof(float));
        ck_assert_ptr_nonnull(g[t]);
        ck_assert_int_eq(jn_net_objective(net, obj, X, Xj, Y, n, &v[t], g[t]), JN_OK);
    }
    ck_assert_msg(memcmp(&v[0], &v[1], sizeof v[0]) == 0, "%s: objective %.17g vs %.17g", what, v[0], v[1]);
    assert_same(g[0], g[1], P, what);
    free(g[0]);
    free(g[1]);
}

START_TEST(objective_exact_penalty)
{
    const size_t sizes[] = {D, H1, H2, K};
    jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
    float *X = uniform_floats(N * D, 1, 0.0f, 1.0f), *Xj = uniform_floats(N * D, 2, 0.0f, 1.0f), *Y = onehot(N, K, 1);
    static const jn_penalty_form forms[] = {JN_FORM_DIRECT, JN_FORM_GRAM};
    for (int f = 0; f < 2; f++) {
        jn_objective *obj = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.3, 0), JN_OK);
        /* l2 over 17k weights: chunks of 16384 summed in order */
        ck_assert_int_eq(jn_objective_set_l2(obj, 1e-3), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_form(obj, forms[f]), JN_OK);
        objective_same(net, obj, X, Xj, Y, N, f ? "exact penalty, Gram form, Xj != X" : "exact penalty, Xj != X");
        objective_same(net, obj, X, NULL, Y, N, "exact penalty, Xj = X");
        jn_objective_free(obj);
    }
    free(X); free(Xj); free(Y);
    jn_net_free(net);
}
END_TEST

/* Softmax outputs, cross-entropy, 4 random projections: the seeds and
 * O_bar loops (256 x 20 x 4 x 22 values) and the softmax adjoint. */
START_TEST(objective_projections_softmax)
{
    const size_t sizes[] = {D, H1, K_SOFTMAX};
    jn_net *net = make_net(3, sizes, JN_ACT_SIGMOID, JN_ACT_SOFTMAX);
    float *X = uniform_floats(N * D, 3, 0.0f, 1.0f), *Xj = uniform_floats(N * D, 4, 0.0f, 1.0f);
    float *Y = onehot(N, K_SOFTMAX, 2);
    jn_objective *obj = loss_objective(JN_LOSS_CE);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.5, 4), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(obj, 11), JN_OK);
    objective_same(net, obj, X, Xj, Y, N, "4 projections, softmax, cross-entropy");
    jn_objective_free(obj);
    free(X); free(Xj); free(Y);
    jn_net_free(net);
}
END_TEST

/* No penalty, 2048 rows: the loss sums 32 chunks of 64 rows (x 40 work
 * units each), relu hidden layer (z kept). */
START_TEST(objective_plain_many_rows)
{
    const size_t sizes[] = {D, H1, 10}, n = 2048;
    jn_net *net = make_net(3, sizes, JN_ACT_RELU, JN_ACT_SIGMOID);
    float *X = uniform_floats(n * D, 5, -1.0f, 1.0f), *Y = onehot(n, 10, 3);
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    objective_same(net, obj, X, NULL, Y, n, "plain objective, 2048 rows");
    jn_objective_free(obj);
    free(X); free(Y);
    jn_net_free(net);
}
END_TEST

START_TEST(forward_and_jacobian)
{
    const size_t sizes[] = {D, H1, H2, K};
    jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
    float *X = uniform_floats(N * D, 6, 0.0f, 1.0f);
    float *F[2], *J[2], *sq[2], *Hd[2];
    int32_t lab[2][N];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        F[t] = malloc(N * K * sizeof(float));
        J[t] = malloc(N * K * D * sizeof(float));
        sq[t] = malloc(N * sizeof(float));
        Hd[t] = malloc(N * H1 * sizeof(float));
        ck_assert_int_eq(jn_net_forward(net, X, N, F[t]), JN_OK);
        ck_assert_int_eq(jn_net_hidden(net, X, N, 1, Hd[t]), JN_OK);
        ck_assert_int_eq(jn_net_predict(net, X, N, lab[t]), JN_OK);
        ck_assert_int_eq(jn_net_jacobian(net, X, N, J[t]), JN_OK);
        ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, N, sq[t]), JN_OK);
    }
    assert_same(F[0], F[1], N * K, "forward");
    assert_same(Hd[0], Hd[1], N * H1, "hidden");
    assert_same(J[0], J[1], N * K * D, "Jacobian");
    assert_same(sq[0], sq[1], N, "Jacobian squared norms");
    ck_assert(memcmp(lab[0], lab[1], sizeof lab[0]) == 0);
    for (int t = 0; t < 2; t++) {
        free(F[t]); free(J[t]); free(sq[t]); free(Hd[t]);
    }
    free(X);
    jn_net_free(net);
}
END_TEST

/* Shapes that line up with nothing: 77-203-45-7, 149 rows, so 1043
 * Jacobian rows. The products' fixed row blocks (multiples of 16) leave ragged
 * last parts: the forward GEMMs (149 rows), the backward's dW (203 and 45
 * rows) and delta (149), the chain's and the direct form's (1043 rows).
 * Gram form: G = W_1 W_1^T and A = T_1^T T_1 in 4 SYRK bands of 64 rows
 * (the last 11 rows), U = T_1 G split by rows (1043 x 203, cost 5151 a
 * row), and A W_1 (203 x 77 over 203) split by rows. Hessian: the
 * first-layer block C1 Q11 (896 and 147 rows: chunks of 128 and 21
 * examples, 7 rows each) and the cross products W_1 R^T
 * (203 rows over 77) are split, Q11 is a SYRK of 4 bands. */
START_TEST(awkward_shapes)
{
    enum { AD = 77, AH1 = 203, AH2 = 45, AK = 7, AN = 149 };
    const size_t sizes[] = {AD, AH1, AH2, AK};
    jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
    float *X = uniform_floats(AN * AD, 21, 0.0f, 1.0f), *Xj = uniform_floats(AN * AD, 22, 0.0f, 1.0f);
    float *Y = onehot(AN, AK, 4);
    static const jn_penalty_form forms[] = {JN_FORM_DIRECT, JN_FORM_GRAM};
    for (int f = 0; f < 2; f++) {
        jn_objective *obj = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.3, 0), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_form(obj, forms[f]), JN_OK);
        objective_same(net, obj, X, Xj, Y, AN, f ? "77-203-45-7, Gram form" : "77-203-45-7, direct form");
        jn_objective_free(obj);
    }
    float *F[2], *Hs[2], *sq[2];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        F[t] = malloc(AN * AK * sizeof(float));
        Hs[t] = malloc(AN * sizeof(float));
        sq[t] = malloc(AN * sizeof(float));
        ck_assert_int_eq(jn_net_forward(net, X, AN, F[t]), JN_OK);
        ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, AN, sq[t]), JN_OK);
        ck_assert_int_eq(jn_net_hessian_sqnorm(net, X, AN, Hs[t]), JN_OK);
    }
    assert_same(F[0], F[1], AN * AK, "77-203-45-7 forward");
    assert_same(sq[0], sq[1], AN, "77-203-45-7 Jacobian squared norms");
    assert_same(Hs[0], Hs[1], AN, "77-203-45-7 Hessian squared norms");
    /* the Hessian norms are not all zero (or the comparison proves little) */
    ck_assert(Hs[0][0] > 0.0f && Hs[0][AN - 1] > 0.0f);
    for (int t = 0; t < 2; t++) {
        free(F[t]); free(Hs[t]); free(sq[t]);
    }
    free(X); free(Xj); free(Y);
    jn_net_free(net);
}
END_TEST

/* SGD with momentum and Adam over 17k parameters, three steps each. */
START_TEST(optimizer_steps)
{
    const size_t sizes[] = {D, H1, H2, K};
    for (int kind = 0; kind < 2; kind++) {
        float *p[2];
        size_t P = 0;
        for (int t = 0; t < 2; t++) {
            use_threads(t + 1, 1);
            jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
            P = jn_net_param_count(net);
            float *g = uniform_floats(P, 9, -1.0f, 1.0f);
            jn_optimizer *opt = NULL;
            if (kind == 0) opt = sgd_optimizer(0.1, 0.9);
            else opt = adam_optimizer(1e-3);
            for (int s = 0; s < 3; s++) {
                ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_OK);
                g[s] = -g[s] * 0.5f;
            }
            p[t] = malloc(P * sizeof(float));
            ck_assert_int_eq(jn_net_get_params(net, p[t], P), JN_OK);
            jn_optimizer_free(opt);
            jn_net_free(net);
            free(g);
        }
        assert_same(p[0], p[1], P, kind ? "Adam" : "SGD with momentum");
        free(p[0]);
        free(p[1]);
    }
}
END_TEST

/* A step that overflows one parameter reports the same (first) index with
 * either thread count. */
START_TEST(optimizer_first_bad_index)
{
    const size_t sizes[] = {D, H1, H2, K};
    char msg[2][256];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
        size_t P = jn_net_param_count(net);
        float *g = calloc(P, sizeof *g);
        g[P - 5] = 3e38f; /* in the last part */
        g[P / 4] = -3e38f; /* in the first part: the one reported */
        jn_optimizer *opt = sgd_optimizer(10.0, 0.0);
        ck_assert_int_eq(jn_optimizer_step(opt, net, g), JN_ERR_DIVERGED);
        snprintf(msg[t], sizeof msg[t], "%s", jn_last_error());
        char want[64];
        snprintf(want, sizeof want, "parameter %zu ", P / 4);
        ck_assert_msg(strstr(msg[t], want), "message '%s' lacks '%s'", msg[t], want);
        jn_optimizer_free(opt);
        jn_net_free(net);
        free(g);
    }
    ck_assert_str_eq(msg[0], msg[1]);
}
END_TEST

/* Gaussian noise: the same draws whatever the thread count, and whether
 * the output is a separate buffer (transformed in place by blocks, in
 * parallel) or the input itself (serial); 300001 values = 585 whole blocks
 * of 512 plus a partial one. */
START_TEST(noise_draws)
{
    size_t n = 300001;
    float *src = uniform_floats(n, 12, -1.0f, 1.0f), *out[2], *inplace = malloc(n * sizeof(float)), *plain[2];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        jn_rng *rng = seeded_rng(99);
        out[t] = malloc(n * sizeof(float));
        ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.25, src, out[t], n), JN_OK);
        plain[t] = malloc(n * sizeof(float));
        ck_assert_int_eq(jn_rng_gaussian(rng, plain[t], n, 2.0), JN_OK);
        jn_rng_free(rng);
    }
    assert_same(out[0], out[1], n, "jn_corrupt");
    assert_same(plain[0], plain[1], n, "jn_rng_gaussian");
    /* the serial in-place path gives the very same values */
    jn_rng *rng = seeded_rng(99);
    memcpy(inplace, src, n * sizeof(float));
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.25, inplace, inplace, n), JN_OK);
    assert_same(out[0], inplace, n, "jn_corrupt in place");
    /* and the generator has advanced by the same number of draws */
    ck_assert_int_eq(jn_rng_gaussian(rng, inplace, n, 2.0), JN_OK);
    assert_same(plain[0], inplace, n, "draws after jn_corrupt in place");
    jn_rng_free(rng);
    for (int t = 0; t < 2; t++) {
        free(out[t]);
        free(plain[t]);
    }
    free(src);
    free(inplace);
}
END_TEST

/* A short training run (noise on both inputs, exact penalty, momentum):
 * the same final parameters. */
START_TEST(trainer_run)
{
    size_t n = 600;
    float *X = uniform_floats(n * D, 13, 0.0f, 1.0f);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)((X[i * D] + X[i * D + 1]) * 5.0f) % 10;
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create(&ds, X, y, n, D, 10, 0), JN_OK);
    const size_t sizes[] = {D, H1, 10};
    float *p[2];
    size_t P = 0;
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, 1);
        jn_net *net = make_net(3, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
        P = jn_net_param_count(net);
        jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.1, 0.1);
        jn_optimizer *opt = sgd_optimizer(0.1, 0.5);
        jn_trainer *tr = trainer_for(2, 200);
        ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, NULL), JN_OK);
        p[t] = malloc(P * sizeof(float));
        ck_assert_int_eq(jn_net_get_params(net, p[t], P), JN_OK);
        free_run(tr, opt, obj, net);
    }
    assert_same(p[0], p[1], P, "trained parameters");
    free(p[0]); free(p[1]);
    free(X); free(y);
    jn_dataset_free(ds);
}
END_TEST

/* With the BLAS set to 2 threads as well (by the application, after
 * jn_set_threads), results may differ by the BLAS's summation order only: a few float32 ulps (docs/PERFORMANCE.md measured
 * about 2e-7 of the largest gradient entry); 1e-5 leaves room. */
START_TEST(blas_threads_bounded)
{
    if (!blas_threads) {
        printf("blas_threads_bounded: the BLAS has no thread control; skipped\n");
        return;
    }
    const size_t sizes[] = {D, H1, H2, K};
    jn_net *net = make_net(4, sizes, JN_ACT_TANH, JN_ACT_SIGMOID);
    float *X = uniform_floats(N * D, 1, 0.0f, 1.0f), *Xj = uniform_floats(N * D, 2, 0.0f, 1.0f), *Y = onehot(N, K, 1);
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.3, 0), JN_OK);
    size_t P = jn_net_param_count(net);
    float *g[2];
    double v[2];
    for (int t = 0; t < 2; t++) {
        use_threads(t + 1, t + 1);
        g[t] = malloc(P * sizeof(float));
        ck_assert_int_eq(jn_net_objective(net, obj, X, Xj, Y, N, &v[t], g[t]), JN_OK);
    }
    double gmax = 0.0, dmax = 0.0;
    for (size_t i = 0; i < P; i++) {
        gmax = fmax(gmax, fabs(g[0][i]));
        dmax = fmax(dmax, fabs((double)g[0][i] - g[1][i]));
    }
    ck_assert_msg(fabs(v[0] - v[1]) <= 1e-6 * fabs(v[0]), "objective %.17g vs %.17g", v[0], v[1]);
    ck_assert_msg(dmax <= 1e-5 * gmax, "gradient differs by %g of its largest entry", dmax / gmax);
    free(g[0]); free(g[1]);
    free(X); free(Xj); free(Y);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("pool_threads");
    /* make check-tsan runs this case alone: the BLAS stays at one thread. */
    ADD_CASE(s, "same results", 120, ONCE(objective_exact_penalty), ONCE(objective_projections_softmax),
             ONCE(objective_plain_many_rows), ONCE(forward_and_jacobian), ONCE(awkward_shapes), ONCE(optimizer_steps),
             ONCE(optimizer_first_bad_index), ONCE(noise_draws), ONCE(trainer_run));
    ADD_CASE(s, "BLAS threads", 120, ONCE(blas_threads_bounded));
    return s;
}

int main(void)
{
    find_blas_threads();
    return run_suite(threads_suite());
}
