/* test_blas_threads.c - jn_set_threads and JACNET_THREADS (src/threads.c).
 *
 * - With 2 BLAS threads the objective, its gradient and a short training
 *   run equal those with 1 thread up to the BLAS's summation order
 *   (tolerance 1e-5 of the largest entry; jacnet.h documents ~1e-7), on
 *   shapes large enough that OpenBLAS really splits its GEMMs.
 * - jn_set_threads(n) reaches the BLAS: openblas_get_num_threads() reads
 *   n back (looked up at run time; with a BLAS without thread control the
 *   library refuses n = 2 and the test checks that instead).
 * - JACNET_THREADS is honoured at the first GEMM-using call, an invalid
 *   value is ignored, and an explicit jn_set_threads wins over it. The
 *   environment is read once per process, so each case runs this program
 *   again as a child (`test_threads --report-threads [n]`) with its own
 *   environment and reads the thread count the child saw. */
#define _GNU_SOURCE 1
#include "testutil.h"

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

/* ---- child mode: report what the BLAS was set to ---- */

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
    printf("%d\n", blas_threads());
    return 0;
}

/* Run this program as a child with JACNET_THREADS and OPENBLAS_NUM_THREADS
 * set as given (NULL: unset), optionally calling jn_set_threads(set) first;
 * returns the thread count it reports. */
static int child_threads(const char *jacnet, const char *openblas, const char *set)
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
    ck_assert_msg(got > 0, "child printed nothing");
    return atoi(buf);
}

START_TEST(environment_variable_honoured)
{
    if (blas_threads() < 0) {
        printf("SKIP environment_variable_honoured: the BLAS has no openblas_get_num_threads\n");
        return;
    }
    /* the BLAS's own default is 1 here; JACNET_THREADS=2 raises it */
    ck_assert_int_eq(child_threads(NULL, "1", NULL), 1);
    ck_assert_int_eq(child_threads("2", "1", NULL), 2);
    /* and lowers it from the BLAS's default of 2 */
    ck_assert_int_eq(child_threads(NULL, "2", NULL), 2);
    ck_assert_int_eq(child_threads("1", "2", NULL), 1);
    /* invalid values leave the BLAS's default */
    ck_assert_int_eq(child_threads("0", "2", NULL), 2);
    ck_assert_int_eq(child_threads("two", "2", NULL), 2);
    ck_assert_int_eq(child_threads("1x", "2", NULL), 2);
    ck_assert_int_eq(child_threads("", "2", NULL), 2);
    /* an explicit jn_set_threads before the first GEMM wins, and the
     * environment is not applied over it later */
    ck_assert_int_eq(child_threads("2", "1", "1"), 1);
    ck_assert_int_eq(child_threads("1", "1", "2"), 2);
}
END_TEST

START_TEST(set_threads_reaches_the_blas)
{
    jn_status st = jn_set_threads(2);
    if (blas_threads() < 0) {
        /* no thread control: 2 is refused, 1 accepted */
        ck_assert_int_eq(st, JN_ERR_INVALID);
        ck_assert_int_eq(jn_set_threads(1), JN_OK);
        return;
    }
    ck_assert_int_eq(st, JN_OK);
    ck_assert_int_eq(blas_threads(), 2);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    ck_assert_int_eq(blas_threads(), 1);
}
END_TEST

/* ---- results with 1 and 2 threads ---- */

#define D 256
#define H 300
#define K 10
#define NB 200

static double max_abs(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void objective_with(int threads, jn_penalty_form form, jn_net *net, const jn_objective *obj, const float *X,
                           const float *Xj, const float *Y, double *value, float *grad)
{
    ck_assert_int_eq(jn_set_threads(threads), JN_OK);
    ck_assert_int_eq(blas_threads() < 0 ? threads : blas_threads(), threads);
    jn_objective *o = NULL;
    ck_assert_int_eq(jn_objective_clone(&o, obj), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(o, form), JN_OK);
    ck_assert_int_eq(jn_net_objective(net, o, X, Xj, Y, NB, value, grad), JN_OK);
    jn_objective_free(o);
}

START_TEST(two_threads_match_one)
{
    if (jn_set_threads(2) != JN_OK) {
        printf("SKIP two_threads_match_one: the BLAS has no thread control\n");
        return;
    }
    const size_t sizes[] = {D, H, K};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
    ck_assert_int_eq(jn_net_init(net, 3), JN_OK);
    size_t P = jn_net_param_count(net);
    float *X = malloc(NB * D * sizeof *X), *Xj = malloc(NB * D * sizeof *Xj), *Y = calloc(NB * K, sizeof *Y);
    fill_uniform(X, NB * D, 1, 0.0f, 1.0f);
    fill_uniform(Xj, NB * D, 2, 0.0f, 1.0f);
    for (size_t i = 0; i < NB; i++) Y[i * K + i % K] = 1.0f;
    jn_objective *obj = NULL;
    ck_assert_int_eq(jn_objective_create_model(&obj, JN_MODEL_MLP_NJ, 0.1, 0.1), JN_OK);
    float *g1 = malloc(P * sizeof *g1), *g2 = malloc(P * sizeof *g2);
    static const jn_penalty_form forms[] = {JN_FORM_DIRECT, JN_FORM_GRAM};
    for (int f = 0; f < 2; f++) {
        double v1, v2;
        objective_with(1, forms[f], net, obj, X, Xj, Y, &v1, g1);
        objective_with(2, forms[f], net, obj, X, Xj, Y, &v2, g2);
        double scale = max_abs(g1, P), diff = max_diff(g1, g2, P);
        if (getenv("JN_TEST_VERBOSE"))
            printf("  form %d: value differs by %.2e relative, gradient by %.2e of its largest entry\n", (int)forms[f],
                   fabs(v1 - v2) / fabs(v1), diff / scale);
        ck_assert_msg(fabs(v1 - v2) <= 1e-5 * fabs(v1), "form %d: value %.9g (1 thread), %.9g (2)", (int)forms[f], v1,
                      v2);
        ck_assert_msg(scale > 0.0 && diff <= 1e-5 * scale, "form %d: gradients differ by %g, largest entry %g",
                      (int)forms[f], diff, scale);
    }
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    free(g1); free(g2); free(X); free(Xj); free(Y);
    jn_objective_free(obj);
    jn_net_free(net);
}
END_TEST

/* A few trainer steps: the draws do not depend on the thread count, so the
 * parameters agree up to rounding, and repeating a thread count repeats the
 * parameters. */
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
    const size_t sizes[] = {D, H, K};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
    ck_assert_int_eq(jn_net_init(net, 4), JN_OK);
    jn_objective *obj = NULL;
    ck_assert_int_eq(jn_objective_create_model(&obj, JN_MODEL_MLP_NJ_BOTH, 0.05, 0.1), JN_OK);
    jn_optimizer *opt = NULL;
    ck_assert_int_eq(jn_optimizer_create_sgd(&opt, 0.05, 0.0), JN_OK);
    jn_trainer *tr = NULL;
    ck_assert_int_eq(jn_trainer_create(&tr), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(tr, 1), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(tr, 100), JN_OK);
    ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, NULL), JN_OK);
    *P = jn_net_param_count(net);
    float *p = malloc(*P * sizeof *p);
    memcpy(p, jn_net_params(net), *P * sizeof *p);
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_dataset_free(ds);
    free(X);
    free(y);
    return p;
}

START_TEST(training_two_threads_match_one)
{
    if (jn_set_threads(2) != JN_OK) {
        printf("SKIP training_two_threads_match_one: the BLAS has no thread control\n");
        return;
    }
    size_t P;
    float *one = train_with(1, &P), *two = train_with(2, &P), *again = train_with(2, &P);
    double scale = max_abs(one, P), diff = max_diff(one, two, P);
    ck_assert_msg(diff <= 1e-5 * scale, "parameters after 4 steps differ by %g (largest %g)", diff, scale);
    ck_assert(memcmp(two, again, P * sizeof *two) == 0);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    free(one);
    free(two);
    free(again);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--report-threads")) return child_report(argc, argv);
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0) {
        printf("test_threads: cannot read /proc/self/exe\n");
        return 1;
    }
    self_path[len] = 0;
    Suite *s = suite_create("blas_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, set_threads_reaches_the_blas);
    tcase_add_test(tc, environment_variable_honoured);
    tcase_add_test(tc, two_threads_match_one);
    tcase_add_test(tc, training_two_threads_match_one);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
