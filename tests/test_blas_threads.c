/* test_blas_threads.c - jn_set_threads and JACNET_THREADS (src/backend/threads.c)
 * and the products split over the library's threads (src/backend/gemm.c).
 *
 * - A count set by jn_set_threads(n) or JACNET_THREADS=n holds the BLAS at
 *   one thread (openblas_get_num_threads() reads 1), gives the library n
 *   threads and turns the split on; with neither, the BLAS keeps its own
 *   default (OPENBLAS_NUM_THREADS, read back unchanged), the library follows
 *   it and the BLAS threads its own products. jn_set_threads accepts any n
 *   in 1..256, whatever the BLAS.
 * - JACNET_THREADS is honoured at the first GEMM-using call, an invalid
 *   value is ignored, and an explicit jn_set_threads wins over it. The
 *   environment is read once per process, so each case runs this program
 *   again as a child (`test_blas_threads --report-threads [n]`) with its own
 *   environment and reads back what the child saw.
 * - The products (jn__sgemm, jn__ssyrk, jn__ssymm_right/left) on awkward
 *   shapes (rows no multiple of the split's 48 or the SYRK's 64, transposes,
 *   beta 0 over a C full of NaN, beta 1, other alpha) equal a double
 *   reference loop within float rounding, and with 2 threads equal those
 *   with 1 bit for bit; so do the objective, its gradient and a short
 *   training run. */
#define _GNU_SOURCE 1
#include "testutil.h"

#include "backend/backend.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char self_path[4096];

/* OpenBLAS's own count, or -1 when the BLAS has no such function. */
static int blas_threads(void)
{
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    return get ? get() : -1;
}

/* ---- child mode: report the BLAS's count, the library's and the split ---- */

static int child_report(int argc, char **argv)
{
    if (argc > 2 && jn_set_threads(atoi(argv[2])) != JN_OK) return 3;
    /* a forward pass is a GEMM-using call: the environment applies here */
    const size_t sizes[] = {4, 3};
    jn_net *net = NULL;
    float X[4] = {0.1f, 0.2f, 0.3f, 0.4f}, F[3];
    if (jn_net_create(&net, sizes, 2, JN_ACT_TANH, JN_ACT_SIGMOID) != JN_OK) return 4;
    if (jn_net_forward(net, X, 1, F) != JN_OK) return 5;
    jn_net_free(net);
    printf("%d %d %d\n", blas_threads(), jn__threads(), jn__gemm_split());
    return 0;
}

typedef struct seen {
    int blas, library, split;
} seen;

/* Run this program as a child with JACNET_THREADS and OPENBLAS_NUM_THREADS
 * set as given (NULL: unset), optionally calling jn_set_threads(set) first;
 * returns what it reports. */
static seen child_threads(const char *jacnet, const char *openblas, const char *set)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (jacnet) setenv("JACNET_THREADS", jacnet, 1);
        else unsetenv("JACNET_THREADS");
        if (openblas) setenv("OPENBLAS_NUM_THREADS", openblas, 1);
        else unsetenv("OPENBLAS_NUM_THREADS");
        unsetenv("OMP_NUM_THREADS");
        unsetenv("GOTO_NUM_THREADS");
        execl(self_path, self_path, "--report-threads", set, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[64] = {0};
    ssize_t got = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (JACNET_THREADS=%s) failed: status %d",
                  jacnet ? jacnet : "(unset)", status);
    seen r = {0, 0, -1};
    ck_assert_msg(got > 0 && sscanf(buf, "%d %d %d", &r.blas, &r.library, &r.split) == 3, "child printed '%s'", buf);
    return r;
}

/* The child saw the BLAS at blas, the library at library, split or not. */
#define EXPECT_CHILD(jacnet, openblas, set, want_blas, want_library, want_split)                                    \
    do {                                                                                                            \
        seen got_ = child_threads(jacnet, openblas, set);                                                           \
        ck_assert_msg(got_.blas == (want_blas) && got_.library == (want_library) && got_.split == (want_split),     \
                      "JACNET_THREADS=%s OPENBLAS_NUM_THREADS=%s jn_set_threads(%s): BLAS %d, library %d, split %d; " \
                      "want %d %d %d",                                                                              \
                      jacnet ? jacnet : "(unset)", openblas, set ? set : "-", got_.blas, got_.library, got_.split,    \
                      want_blas, want_library, want_split);                                                          \
    } while (0)

START_TEST(environment_variable_honoured)
{
    if (blas_threads() < 0) {
        printf("SKIP environment_variable_honoured: the BLAS has no openblas_get_num_threads\n");
        return;
    }
    /* unset: the BLAS's own default stays, the library follows it, no split */
    EXPECT_CHILD(NULL, "1", NULL, 1, 1, 0);
    EXPECT_CHILD(NULL, "2", NULL, 2, 2, 0);
    /* set: the library's count, the BLAS held at one, split */
    EXPECT_CHILD("2", "1", NULL, 1, 2, 1);
    EXPECT_CHILD("2", "2", NULL, 1, 2, 1);
    EXPECT_CHILD("1", "2", NULL, 1, 1, 1);
    /* invalid values count as unset */
    EXPECT_CHILD("0", "2", NULL, 2, 2, 0);
    EXPECT_CHILD("two", "2", NULL, 2, 2, 0);
    EXPECT_CHILD("1x", "2", NULL, 2, 2, 0);
    EXPECT_CHILD("", "2", NULL, 2, 2, 0);
    /* an explicit jn_set_threads before the first GEMM wins, and the
     * environment is not applied over it later */
    EXPECT_CHILD("2", "1", "1", 1, 1, 1);
    EXPECT_CHILD("1", "1", "2", 1, 2, 1);
    /* and holds the BLAS at one where the default was 2 */
    EXPECT_CHILD(NULL, "2", "2", 1, 2, 1);
}
END_TEST

START_TEST(set_threads_holds_the_blas)
{
    /* any BLAS: the library's threads do the work */
    ck_assert_int_eq(jn_set_threads(2), JN_OK);
    ck_assert_int_eq(jn__threads(), 2);
    ck_assert_int_eq(jn__gemm_split(), 1);
    if (blas_threads() >= 0) ck_assert_int_eq(blas_threads(), 1);
    ck_assert_int_eq(jn_set_threads(3), JN_OK);
    ck_assert_int_eq(jn__threads(), 3);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    ck_assert_int_eq(jn__threads(), 1);
    ck_assert_int_eq(jn__gemm_split(), 1);
    if (blas_threads() >= 0) ck_assert_int_eq(blas_threads(), 1);
}
END_TEST

/* ---- products with 1 and 2 threads ---- */

/* Entries that differ bit for bit. */
static size_t bits_differ(const float *a, const float *b, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return count;
}

/* |got - want| within float rounding of a k-term dot product: 1e-5 of the
 * sum of the terms' magnitudes (mag), plus a floor. */
static void expect_close(double got, double want, double mag, const char *what, size_t i, size_t j)
{
    ck_assert_msg(isfinite(got) && fabs(got - want) <= 1e-5 * mag + 1e-6, "%s: C[%zu][%zu] = %.9g, reference %.9g",
                  what, i, j, got, want);
}

typedef struct gemm_case {
    size_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
} gemm_case;

/* C0 + alpha op(A) op(B) (beta 1), alpha op(A) op(B) (beta 0) or with
 * any beta, by a double loop, against jn__sgemm with threads t. */
static void gemm_case_run(const gemm_case *c, float *out[2])
{
    size_t m = c->m, n = c->n, k = c->k;
    size_t lda = c->trans_a ? m : k, ldb = c->trans_b ? k : n;
    float *A = uniform_floats(m * k, 31, -1.0f, 1.0f), *B = uniform_floats(k * n, 32, -1.0f, 1.0f);
    float *C0 = uniform_floats(m * n, 33, -1.0f, 1.0f);
    /* beta 0 must not read C: NaN there would show */
    if (c->beta == 0.0f)
        for (size_t i = 0; i < m * n; i++) C0[i] = NAN;
    char what[128];
    snprintf(what, sizeof what, "%zux%zux%zu%s%s alpha %g beta %g", m, n, k, c->trans_a ? " A^T" : "",
             c->trans_b ? " B^T" : "", (double)c->alpha, (double)c->beta);
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(jn_set_threads(t + 1), JN_OK);
        out[t] = malloc(m * n * sizeof(float));
        memcpy(out[t], C0, m * n * sizeof(float));
        jn__sgemm(c->trans_a, c->trans_b, m, n, k, c->alpha, A, lda, B, ldb, c->beta, out[t], n);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0, mag = 0.0;
            for (size_t p = 0; p < k; p++) {
                double a = c->trans_a ? A[p * lda + i] : A[i * lda + p];
                double b = c->trans_b ? B[j * ldb + p] : B[p * ldb + j];
                sum += a * b;
                mag += fabs(a * b);
            }
            double want = c->alpha * sum, c0 = c->beta == 0.0f ? 0.0 : c->beta * (double)C0[i * n + j];
            expect_close(out[1][i * n + j], want + c0, fabs(c->alpha) * mag + fabs(c0), what, i, j);
        }
    size_t diff = bits_differ(out[0], out[1], m * n);
    ck_assert_msg(diff == 0, "%s: %zu of %zu entries differ between 1 and 2 threads", what, diff, m * n);
    free(A); free(B); free(C0);
    free(out[0]); free(out[1]);
}

START_TEST(gemm_one_and_two_threads)
{
    static const gemm_case cases[] = {
        {37, 53, 29, 1, 0, 1.0f, 1.0f},     /* small: one call */
        {37, 53, 29, 0, 1, 0.5f, 0.0f},
        {301, 77, 203, 0, 1, 1.0f, 1.0f},   /* 301 rows: parts of 144 and 157 */
        {301, 77, 203, 1, 0, 1.0f, 1.0f},   /* transposed A: the offset is a column */
        {301, 77, 203, 1, 1, -2.0f, 0.0f},
        {149, 203, 77, 0, 0, 1.0f, 0.0f},   /* 149 rows: 96 and 53 */
        {1043, 45, 203, 1, 0, 0.25f, 0.5f}, /* many rows, few columns */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *out[2];
        gemm_case_run(&cases[c], out);
    }
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
}
END_TEST

/* Upper triangle of op(A) op(A)^T (SYRK, 203 x 203 = 4 bands, the last of
 * 11 rows) and both SYMMs, each against a double loop and bit for bit
 * between 1 and 2 threads. */
START_TEST(syrk_symm_one_and_two_threads)
{
    enum { N = 203, KD = 77, M = 1043 };
    float *W = uniform_floats(N * KD, 41, -1.0f, 1.0f), *T = uniform_floats(M * N, 42, -1.0f, 1.0f);
    float *B = uniform_floats(N * KD, 43, -1.0f, 1.0f);
    float *G[2], *A[2], *U[2], *dW[2];
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(jn_set_threads(t + 1), JN_OK);
        G[t] = malloc(N * N * sizeof(float));
        A[t] = malloc(N * N * sizeof(float));
        U[t] = malloc(M * N * sizeof(float));
        dW[t] = malloc(N * KD * sizeof(float));
        for (size_t i = 0; i < (size_t)N * N; i++) G[t][i] = A[t][i] = NAN; /* beta 0 reads nothing */
        jn__ssyrk(0, N, KD, 1.0f, W, KD, 0.0f, G[t], N);   /* W W^T */
        jn__ssyrk(1, N, M, 0.5f, T, N, 0.0f, A[t], N);     /* 0.5 T^T T */
        jn__ssymm_right(M, N, 1.0f, G[t], N, T, N, 0.0f, U[t], N); /* T G */
        jn__ssymm_left(N, KD, 3.0f, A[t], N, B, KD, 0.0f, dW[t], KD); /* 3 A B */
    }
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    double *Gd = calloc((size_t)N * N, sizeof(double)), *Gm = calloc((size_t)N * N, sizeof(double));
    double *Ad = calloc((size_t)N * N, sizeof(double)), *Am = calloc((size_t)N * N, sizeof(double));
    for (size_t i = 0; i < N; i++)
        for (size_t j = i; j < N; j++) {
            for (size_t p = 0; p < KD; p++) {
                double g = (double)W[i * KD + p] * W[j * KD + p];
                Gd[i * N + j] += g;
                Gm[i * N + j] += fabs(g);
            }
            for (size_t p = 0; p < M; p++) {
                double a = 0.5 * T[p * N + i] * T[p * N + j];
                Ad[i * N + j] += a;
                Am[i * N + j] += fabs(a);
            }
            expect_close(G[1][i * N + j], Gd[i * N + j], Gm[i * N + j], "SYRK W W^T", i, j);
            expect_close(A[1][i * N + j], Ad[i * N + j], Am[i * N + j], "SYRK T^T T", i, j);
            ck_assert(memcmp(&G[0][i * N + j], &G[1][i * N + j], sizeof(float)) == 0);
            ck_assert(memcmp(&A[0][i * N + j], &A[1][i * N + j], sizeof(float)) == 0);
        }
    /* the SYMMs read the upper triangle, mirrored */
#define SYM(X, a, b) ((a) <= (b) ? X[(a) * N + (b)] : X[(b) * N + (a)])
    for (size_t r = 0; r < M; r++)
        for (size_t j = 0; j < N; j++) {
            double sum = 0.0, mag = 0.0;
            for (size_t p = 0; p < N; p++) {
                double u = (double)T[r * N + p] * SYM(G[1], p, j);
                sum += u;
                mag += fabs(u);
            }
            expect_close(U[1][r * N + j], sum, mag, "SYMM T G", r, j);
        }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < KD; j++) {
            double sum = 0.0, mag = 0.0;
            for (size_t p = 0; p < N; p++) {
                double u = 3.0 * SYM(A[1], i, p) * B[p * KD + j];
                sum += u;
                mag += fabs(u);
            }
            expect_close(dW[1][i * KD + j], sum, mag, "SYMM 3 A B", i, j);
        }
#undef SYM
    ck_assert_uint_eq(bits_differ(U[0], U[1], (size_t)M * N), 0);
    ck_assert_uint_eq(bits_differ(dW[0], dW[1], (size_t)N * KD), 0);
    for (int t = 0; t < 2; t++) {
        free(G[t]); free(A[t]); free(U[t]); free(dW[t]);
    }
    free(Gd); free(Gm); free(Ad); free(Am);
    free(W); free(T); free(B);
}
END_TEST

/* ---- the objective and training with 1 and 2 threads ---- */

#define D 256
#define H 300
#define K 10
#define NB 200

static void objective_with(int threads, jn_penalty_form form, jn_net *net, const jn_objective *obj, const float *X,
                           const float *Xj, const float *Y, double *value, float *grad)
{
    ck_assert_int_eq(jn_set_threads(threads), JN_OK);
    if (blas_threads() >= 0) ck_assert_int_eq(blas_threads(), 1);
    jn_objective *o = NULL;
    ck_assert_int_eq(jn_objective_clone(&o, obj), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(o, form), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, o, X, Xj, Y, NB, value, grad), JN_OK);
    jn_objective_free(o);
}

/* 256-300-10 with 200 rows and the exact penalty (2000 Jacobian rows), in
 * both forms: every product is split at 2 threads, with ragged parts. */
START_TEST(two_threads_match_one)
{
    jn_net *net = tiny_net(D, H, K, 3);
    size_t P = jn_net_param_count(net);
    float *X = uniform_floats(NB * D, 1, 0.0f, 1.0f), *Xj = malloc(NB * D * sizeof *Xj), *Y = calloc(NB * K, sizeof *Y);
    fill_uniform(Xj, NB * D, 2, 0.0f, 1.0f);
    for (size_t i = 0; i < NB; i++) Y[i * K + i % K] = 1.0f;
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ, 0.1, 0.1);
    float *g1 = malloc(P * sizeof *g1), *g2 = malloc(P * sizeof *g2);
    static const jn_penalty_form forms[] = {JN_FORM_DIRECT, JN_FORM_GRAM};
    for (int f = 0; f < 2; f++) {
        double v1, v2;
        objective_with(1, forms[f], net, obj, X, Xj, Y, &v1, g1);
        objective_with(2, forms[f], net, obj, X, Xj, Y, &v2, g2);
        ck_assert_msg(v1 == v2, "form %d: value %.17g (1 thread), %.17g (2)", (int)forms[f], v1, v2);
        size_t diff = bits_differ(g1, g2, P);
        ck_assert_msg(diff == 0, "form %d: %zu of %zu gradient entries differ", (int)forms[f], diff, P);
    }
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    free(g1); free(g2); free(X); free(Xj); free(Y);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

/* A few trainer steps: the same parameters, bit for bit. */
static float *train_with(int threads, size_t *P)
{
    ck_assert_int_eq(jn_set_threads(threads), JN_OK);
    enum { N = 400 };
    float *X = malloc(N * D * sizeof *X);
    int32_t *y = malloc(N * sizeof *y);
    fill_uniform(X, N * D, 5, 0.0f, 1.0f);
    for (size_t i = 0; i < N; i++) y[i] = (int32_t)(i % K);
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create(&ds, X, y, N, D, K, 0), JN_OK);
    jn_net *net = tiny_net(D, H, K, 4);
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.05, 0.1);
    jn_optimizer *opt = sgd_optimizer(0.05, 0.0);
    jn_trainer *tr = trainer_for(1, 100);
    ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, NULL), JN_OK);
    *P = jn_net_param_count(net);
    float *p = malloc(*P * sizeof *p);
    memcpy(p, jn_net_params(net), *P * sizeof *p);
    free_run(tr, opt, obj, net);
    jn_dataset_free(ds); free(X); free(y);
    return p;
}

START_TEST(training_two_threads_match_one)
{
    size_t P;
    float *one = train_with(1, &P), *two = train_with(2, &P);
    size_t diff = bits_differ(one, two, P);
    ck_assert_msg(diff == 0, "parameters after 4 steps: %zu of %zu differ", diff, P);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    free(one);
    free(two);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--report-threads")) return child_report(argc, argv);
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0) {
        printf("test_blas_threads: cannot read /proc/self/exe\n");
        return 1;
    }
    self_path[len] = 0;
    Suite *s = suite_create("blas_threads");
    ADD_CASE(s, "threads", 60, ONCE(set_threads_holds_the_blas), ONCE(environment_variable_honoured),
             ONCE(gemm_one_and_two_threads), ONCE(syrk_symm_one_and_two_threads), ONCE(two_threads_match_one),
             ONCE(training_two_threads_match_one));
    return run_suite(s);
}
