/* bench.c - training-step throughput and peak memory of libjacnet.
 *
 *   bench [--threads 1,2] [--rounds 3] [--time 0.3] [--only B1,B2,...] [--width H]
 *       runs every benchmark in its own child process (so each one's peak
 *       resident memory, ru_maxrss from wait4, is its own), `rounds` times,
 *       interleaving benchmarks and thread counts so that a slow spell of the
 *       shared machine hits all of them alike, and prints the best round.
 *   bench --child NAME --threads T [--time S] [--width H]
 *       runs one benchmark in this process and prints one line
 *       "RESULT name threads best_s median_s examples_per_s gflop_per_step"
 *       (bench/compare.py drives the children directly, alternating them
 *       with the PyTorch ones).
 *
 * Benchmarks (random data; H = --width, default 1000):
 *   sgemm  1000 x 1000 x 1000 cblas_sgemm, the BLAS's rate on this machine
 *   sgemmJ the penalty's main product shape (n K) x D x H = 1000 x 784 x H
 *   B1  784-H-10 tanh/sigmoid MSE, batch 100: jn_net_objective + SGD step
 *   B2  B1 + exact Jacobian penalty at Xj = X + N(0, 0.1^2) (jn_corrupt)
 *   B3  784-H-H-10, as B2
 *   B4  B2 with one random projection instead of the exact penalty
 *   B5  forward only, 784-H-10, batch 1000 (jn_net_forward)
 *   idle  nothing but the library loaded and the BLAS started (memory floor)
 */
#define _GNU_SOURCE 1
#include "bench.h"

#include <cblas.h>
#include <jacnet.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAMBDA 0.1
#define NOISE_STD 0.1
#define LR 0.01
#define BLOCKS 5

static const char *const all_names[] = {"sgemm", "sgemmJ", "B1", "B2", "B3", "B4", "B5", "idle"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, jn_status st)
{
    fprintf(stderr, "bench: %s: %s (%s)\n", what, jn_status_str(st), jn_last_error());
    exit(1);
}
#define CHECK(call)                          \
    do {                                     \
        jn_status st_ = (call);              \
        if (st_ != JN_OK) die(#call, st_);   \
    } while (0)

static float *random_floats(jn_rng *rng, size_t count, int binary)
{
    float *v = malloc(count * sizeof *v);
    if (!v) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++) {
        double u = jn_rng_uniform(rng);
        v[i] = binary ? (float)(u < 0.1) : (float)u;
    }
    return v;
}

/* One benchmark's state: a step function over it. */
typedef struct {
    const char *name;
    size_t sizes[4], n_sizes, n;
    int kind;           /* 0 gemm, 1 plain, 2 exact penalty, 3 projection, 4 forward, 5 idle */
    jn_net *net;
    jn_objective *obj;
    jn_optimizer *opt;
    jn_rng *noise;
    float *X, *Xj, *Y, *grad, *F;
    float *A, *B, *C;   /* gemm operands */
    size_t gm, gn, gk;
    double flops;       /* per step, bench/flops.c */
} bench;

static void step(bench *b)
{
    double value;
    switch (b->kind) {
    case 0:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b->gm, (int)b->gn, (int)b->gk, 1.0f, b->A,
                    (int)b->gk, b->B, (int)b->gn, 0.0f, b->C, (int)b->gn);
        return;
    case 1:
        CHECK(jn_net_objective(b->net, b->obj, b->X, NULL, b->Y, b->n, &value, b->grad));
        CHECK(jn_optimizer_step(b->opt, b->net, b->grad));
        return;
    case 2:
    case 3:
        CHECK(jn_corrupt(b->noise, JN_NOISE_GAUSSIAN, NOISE_STD, b->X, b->Xj, b->n * b->sizes[0]));
        CHECK(jn_net_objective(b->net, b->obj, b->X, b->Xj, b->Y, b->n, &value, b->grad));
        CHECK(jn_optimizer_step(b->opt, b->net, b->grad));
        return;
    case 4:
        CHECK(jn_net_forward(b->net, b->X, b->n, b->F));
        return;
    default:
        return;
    }
}

static void setup(bench *b, const char *name, size_t H)
{
    memset(b, 0, sizeof *b);
    b->name = name;
    jn_rng *rng;
    CHECK(jn_rng_create(&rng, 42));
    if (!strcmp(name, "sgemm") || !strcmp(name, "sgemmJ") || !strcmp(name, "idle")) {
        int idle = !strcmp(name, "idle");
        b->kind = idle ? 5 : 0;
        b->gm = idle ? 1 : 1000;
        b->gn = idle ? 1 : !strcmp(name, "sgemm") ? 1000 : 784;
        b->gk = idle ? 1 : !strcmp(name, "sgemm") ? 1000 : H;
        b->A = random_floats(rng, b->gm * b->gk, 0);
        b->B = random_floats(rng, b->gk * b->gn, 0);
        b->C = random_floats(rng, b->gm * b->gn, 0);
        b->flops = bench_flops_gemm(b->gm, b->gn, b->gk);
        if (idle) {
            step(b);
            b->kind = 0; /* one tiny product starts the BLAS, then time it */
        }
        jn_rng_free(rng);
        return;
    }
    size_t deep = !strcmp(name, "B3");
    b->n_sizes = deep ? 4 : 3;
    b->sizes[0] = 784;
    b->sizes[1] = H;
    b->sizes[2] = deep ? H : 10;
    b->sizes[3] = 10;
    size_t D = 784, K = 10;
    b->n = !strcmp(name, "B5") ? 1000 : 100;
    CHECK(jn_net_create(&b->net, b->sizes, b->n_sizes, JN_ACT_TANH, JN_ACT_SIGMOID));
    CHECK(jn_net_init(b->net, 1));
    CHECK(jn_objective_create(&b->obj, JN_LOSS_MSE));
    CHECK(jn_optimizer_create_sgd(&b->opt, LR, 0.0));
    CHECK(jn_rng_create_stream(&b->noise, 42, 1));
    b->X = random_floats(rng, b->n * D, 0);
    b->Xj = random_floats(rng, b->n * D, 0);
    b->Y = random_floats(rng, b->n * K, 1);
    b->F = random_floats(rng, b->n * K, 0);
    b->grad = random_floats(rng, jn_net_param_count(b->net), 0);
    if (!strcmp(name, "B1")) {
        b->kind = 1;
        b->flops = bench_flops_plain(b->sizes, b->n_sizes, b->n);
    } else if (!strcmp(name, "B4")) {
        b->kind = 3;
        CHECK(jn_objective_set_jacobian(b->obj, LAMBDA, 1));
        b->flops = bench_flops_jacobian(b->sizes, b->n_sizes, b->n, 1);
    } else if (!strcmp(name, "B5")) {
        b->kind = 4;
        b->flops = bench_flops_forward(b->sizes, b->n_sizes, b->n);
    } else {
        b->kind = 2;
        CHECK(jn_objective_set_jacobian(b->obj, LAMBDA, 0));
        b->flops = bench_flops_jacobian(b->sizes, b->n_sizes, b->n, K);
    }
    jn_rng_free(rng);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time BLOCKS blocks of about `block` seconds each; per-step best and median. */
static void measure(bench *b, double block, double *best, double *median)
{
    step(b); /* first call sizes the workspaces and starts the BLAS threads */
    double t0 = now();
    step(b);
    double one = now() - t0;
    long reps = one > 0 ? (long)ceil(block / one) : 1;
    if (reps < 1) reps = 1;
    double per[BLOCKS];
    for (int k = 0; k < BLOCKS; k++) {
        t0 = now();
        for (long i = 0; i < reps; i++) step(b);
        per[k] = (now() - t0) / (double)reps;
    }
    qsort(per, BLOCKS, sizeof per[0], cmp_double);
    *best = per[0];
    *median = per[BLOCKS / 2];
}

static int run_child(const char *name, int threads, double block, size_t H)
{
    CHECK(jn_set_threads(threads));
    bench b;
    setup(&b, name, H);
    double best, median;
    measure(&b, block, &best, &median);
    size_t examples = b.kind == 0 ? 0 : b.n;
    printf("RESULT %s %d %.6g %.6g %.6g %.6g\n", name, threads, best, median,
           examples ? (double)examples / best : 0.0, b.flops * 1e-9);
    fflush(stdout);
    return 0;
}

/* ---- does the thread count change results? ---- */

/* jn_net_objective's value and gradient on the same inputs with 1 and with
 * 2 BLAS threads: the relative difference of the values and the largest
 * gradient difference relative to the gradient's largest magnitude. */
static void threads_diff(const char *name, size_t H)
{
    bench b;
    setup(&b, name, H);
    size_t P = jn_net_param_count(b.net);
    float *g[2];
    double v[2];
    jn_rng *noise;
    CHECK(jn_rng_create(&noise, 7));
    CHECK(jn_corrupt(noise, JN_NOISE_GAUSSIAN, NOISE_STD, b.X, b.Xj, b.n * b.sizes[0]));
    for (int t = 0; t < 2; t++) {
        CHECK(jn_set_threads(t + 1));
        g[t] = malloc(P * sizeof(float));
        if (!g[t]) exit(1);
        CHECK(jn_net_objective(b.net, b.obj, b.X, b.kind == 1 ? NULL : b.Xj, b.Y, b.n, &v[t], g[t]));
    }
    double gmax = 0, dmax = 0;
    size_t same = 0;
    for (size_t i = 0; i < P; i++) {
        gmax = fmax(gmax, fabs(g[0][i]));
        dmax = fmax(dmax, fabs((double)g[0][i] - g[1][i]));
        same += g[0][i] == g[1][i];
    }
    printf("%-3s 1 vs 2 threads: value rel. diff %.2e, max |grad diff| / max |grad| %.2e, "
           "bitwise equal gradient entries %.1f%%\n",
           name, fabs(v[0] - v[1]) / fabs(v[0]), dmax / gmax, 100.0 * (double)same / (double)P);
    free(g[0]);
    free(g[1]);
    jn_rng_free(noise);
}

/* ---- parent: spawn children, collect their lines and peak memory ---- */

typedef struct {
    double best, median, eps, gflop, rss_mib;
    int have;
} result;

static int spawn(const char *self, const char *name, int threads, double block, size_t H, result *out)
{
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char t[16], s[32], w[32];
        snprintf(t, sizeof t, "%d", threads);
        snprintf(s, sizeof s, "%g", block);
        snprintf(w, sizeof w, "%zu", H);
        execl(self, self, "--child", name, "--threads", t, "--time", s, "--width", w, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[512] = {0};
    size_t len = 0;
    ssize_t got;
    while ((got = read(fd[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)got;
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    char rname[32];
    int rthreads;
    result r;
    if (sscanf(buf, "RESULT %31s %d %lf %lf %lf %lf", rname, &rthreads, &r.best, &r.median, &r.eps, &r.gflop) != 6)
        return -1;
    r.rss_mib = (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
    r.have = 1;
    /* Keep the best round's times; memory is the largest seen. */
    if (!out->have || r.best < out->best) {
        double rss = out->have && out->rss_mib > r.rss_mib ? out->rss_mib : r.rss_mib;
        *out = r;
        out->rss_mib = rss;
    } else if (r.rss_mib > out->rss_mib) {
        out->rss_mib = r.rss_mib;
    }
    return 0;
}

static void print_cpu(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                printf("CPU:%s", c ? c + 1 : line);
                break;
            }
        fclose(f);
    }
    printf("online cores: %ld; libjacnet %s\n", sysconf(_SC_NPROCESSORS_ONLN), jn_version_string());
}

int main(int argc, char **argv)
{
    const char *child = NULL, *only = NULL, *thread_list = "1,2";
    int threads = 1, rounds = 3;
    double block = 0.3;
    size_t H = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--child")) child = v;
        else if (!strcmp(a, "--threads")) thread_list = v, threads = atoi(v);
        else if (!strcmp(a, "--rounds")) rounds = atoi(v);
        else if (!strcmp(a, "--time")) block = atof(v);
        else if (!strcmp(a, "--only")) only = v;
        else if (!strcmp(a, "--width")) H = (size_t)atol(v);
        else {
            fprintf(stderr, "bench: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (child) return run_child(child, threads, block, H);

    int tl[8], nt = 0;
    for (const char *p = thread_list; *p && nt < 8;) {
        tl[nt++] = atoi(p);
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    const char *names[N_NAMES];
    size_t nn = 0;
    for (size_t k = 0; k < N_NAMES; k++) {
        if (only) {
            /* whole comma-separated items only */
            size_t len = strlen(all_names[k]);
            const char *p = only;
            int hit = 0;
            while ((p = strstr(p, all_names[k]))) {
                if ((p == only || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) hit = 1;
                p += len;
            }
            if (!hit) continue;
        }
        names[nn++] = all_names[k];
    }
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "bench: cannot find /proc/self/exe\n");
        return 1;
    }
    self[sl] = 0;

    print_cpu();
    printf("hidden width %zu, %d rounds interleaved, best of %d blocks of ~%gs per round; "
           "memory = ru_maxrss of each benchmark's own process\n\n",
           H, rounds, BLOCKS, block);
    result res[N_NAMES][8];
    memset(res, 0, sizeof res);
    for (int round = 0; round < rounds; round++)
        for (size_t k = 0; k < nn; k++)
            for (int t = 0; t < nt; t++)
                if (spawn(self, names[k], tl[t], block, H, &res[k][t]) != 0) {
                    fprintf(stderr, "bench: benchmark %s with %d threads failed\n", names[k], tl[t]);
                    return 1;
                }

    printf("%-7s %3s %12s %11s %11s %9s %8s %9s\n", "bench", "thr", "examples/s", "ms/step", "med ms", "GFLOP/s",
           "%sgemm", "peak MiB");
    for (size_t k = 0; k < nn; k++)
        for (int t = 0; t < nt; t++) {
            result *r = &res[k][t];
            double gfs = r->gflop / r->best;
            double sg = 0;
            for (size_t q = 0; q < nn; q++)
                if (!strcmp(names[q], "sgemm")) sg = res[q][t].gflop / res[q][t].best;
            char eps[32] = "-", pct[16] = "-";
            if (r->eps > 0) snprintf(eps, sizeof eps, "%.0f", r->eps);
            if (sg > 0 && strcmp(names[k], "idle")) snprintf(pct, sizeof pct, "%.0f%%", 100.0 * gfs / sg);
            printf("%-7s %3d %12s %11.3f %11.3f %9.1f %8s %9.1f\n", names[k], tl[t], eps, 1e3 * r->best,
                   1e3 * r->median, strcmp(names[k], "idle") ? gfs : 0.0, pct, r->rss_mib);
        }
    /* The ratio the issue asks for, from the same run. */
    for (int t = 0; t < nt; t++) {
        result *b2 = NULL, *b4 = NULL;
        for (size_t k = 0; k < nn; k++) {
            if (!strcmp(names[k], "B2")) b2 = &res[k][t];
            if (!strcmp(names[k], "B4")) b4 = &res[k][t];
        }
        if (b2 && b4) printf("B4 / B2 throughput, %d thread(s): %.2fx\n", tl[t], b2->best / b4->best);
    }
    printf("\n");
    for (size_t k = 0; k < nn; k++)
        if (!strcmp(names[k], "B1") || !strcmp(names[k], "B2") || !strcmp(names[k], "B3")) threads_diff(names[k], H);
    return 0;
}
