/* bench.c - training-step throughput and peak memory of libjacnet.
 *
 *   bench [--threads 1,2] [--rounds 3] [--time 0.3] [--only B1,B2,...] [--width H]
 *       runs every benchmark in its own child process (so each one's peak
 *       resident memory, ru_maxrss from wait4, is its own), `rounds` times,
 *       interleaving benchmarks and thread counts so that a slow spell of the
 *       shared machine hits all of them alike, and prints the best round.
 *   bench --child NAME --threads T [--time S] [--width H] [--depth L]
 *         [--batch n] [--outputs K] [--precision fp32|bf16]
 *       runs one benchmark in this process and prints one line
 *       "RESULT name threads best_s median_s examples_per_s gflop_per_step
 *        precision_used"
 *       (bench/compare.py and bench/sweep.py drive the children directly).
 *
 * Benchmarks (random data; H = --width, default 1000; L hidden layers of
 * width H, K = --outputs outputs, default 10; n = --batch):
 *   sgemm  1000 x 1000 x 1000 cblas_sgemm, the BLAS's rate on this machine
 *          with its own threads (OpenBLAS set to the benchmark's count)
 *   sgemmJ the penalty's main product shape (n K) x D x H = 1000 x 784 x H,
 *          likewise
 *   sgemmbf16  1000 x 1000 x 1000 oneDNN matmul of bfloat16 matrices into
 *          float32 (built when libjacnet has oneDNN: the rate BF16 can reach)
 *   B1  784-H-10 tanh/sigmoid MSE, batch 100: jn_net_objective + SGD step
 *   B2  B1 + exact Jacobian penalty at Xj = X + N(0, 0.1^2) (jn_corrupt)
 *   B2bf16  B2 with jn_objective_set_precision(BF16); the table says
 *          whether it ran in bfloat16 or fell back to float32
 *   B3  784-H-H-10, as B2
 *   B4  B2 with one random projection instead of the exact penalty
 *   B5  forward only, 784-H-10, batch 1000 (jn_net_forward)
 *   idle  nothing but the library loaded and the BLAS started (memory floor)
 * --depth, --batch and --outputs change the B benchmarks' shapes (B3 is
 * depth 2 by default); --precision bf16 asks BF16 of the penalty ones.
 */
#define _GNU_SOURCE 1
#include "bench.h"

#include <cblas.h>
#include <jacnet.h>
#ifdef BENCH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include <dlfcn.h>
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

static const char *const all_names[] = {"sgemm",  "sgemmJ", "sgemmbf16", "B1", "B2",
                                        "B2bf16", "B3",     "B4",        "B5", "idle"};
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

/* Shape options of the B benchmarks (0: the benchmark's default). */
typedef struct {
    size_t width, depth, batch, outputs;
    int bf16;
} shape_opts;

#define MAX_DEPTH 8

/* One benchmark's state: a step function over it. */
typedef struct {
    const char *name;
    size_t sizes[MAX_DEPTH + 2], n_sizes, n;
    int kind;           /* 0 gemm, 1 plain, 2 exact penalty, 3 projection, 4 forward, 5 idle, 6 bf16 gemm */
    jn_net *net;
    jn_objective *obj;
    jn_optimizer *opt;
    jn_rng *noise;
    float *X, *Xj, *Y, *grad, *F;
    float *A, *B, *C;   /* gemm operands */
    size_t gm, gn, gk;
    double flops;       /* per step, bench/flops.c */
    const char *precision; /* what the penalty ran in: "fp32", "bf16", "-" */
#ifdef BENCH_DNNL
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t matmul;
    dnnl_exec_arg_t args[3];
#endif
} bench;

#ifdef BENCH_DNNL
/* A 1000^3 oneDNN matmul, bfloat16 A and B (converted once, outside the
 * timing: the library converts as part of its own work) into float32 C. */
static void dnnl_check(dnnl_status_t s, const char *what)
{
    if (s != dnnl_success) {
        fprintf(stderr, "bench: oneDNN %s failed (%d)\n", what, (int)s);
        exit(1);
    }
}

static uint16_t *bf16_copy(const float *v, size_t n)
{
    uint16_t *out = malloc(n * sizeof *out);
    if (!out) exit(1);
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], sizeof b);
        out[i] = (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
    }
    return out;
}

static void setup_bf16_gemm(bench *b)
{
    dnnl_dims_t da = {(dnnl_dim_t)b->gm, (dnnl_dim_t)b->gk}, db = {(dnnl_dim_t)b->gk, (dnnl_dim_t)b->gn},
                dc = {(dnnl_dim_t)b->gm, (dnnl_dim_t)b->gn};
    dnnl_memory_desc_t ma, mb, mc;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd;
    dnnl_memory_t mem[3];
    dnnl_check(dnnl_engine_create(&b->engine, dnnl_cpu, 0), "engine");
    dnnl_check(dnnl_stream_create(&b->stream, b->engine, dnnl_stream_default_flags), "stream");
    dnnl_check(dnnl_memory_desc_init_by_tag(&ma, 2, da, dnnl_bf16, dnnl_ab), "desc");
    dnnl_check(dnnl_memory_desc_init_by_tag(&mb, 2, db, dnnl_bf16, dnnl_ab), "desc");
    dnnl_check(dnnl_memory_desc_init_by_tag(&mc, 2, dc, dnnl_f32, dnnl_ab), "desc");
    dnnl_check(dnnl_matmul_desc_init(&desc, &ma, &mb, NULL, &mc), "matmul desc");
    dnnl_check(dnnl_primitive_desc_create(&pd, &desc, NULL, b->engine, NULL), "primitive desc");
    dnnl_check(dnnl_primitive_create(&b->matmul, pd), "primitive");
    dnnl_primitive_desc_destroy(pd);
    dnnl_check(dnnl_memory_create(&mem[0], &ma, b->engine, bf16_copy(b->A, b->gm * b->gk)), "memory");
    dnnl_check(dnnl_memory_create(&mem[1], &mb, b->engine, bf16_copy(b->B, b->gk * b->gn)), "memory");
    dnnl_check(dnnl_memory_create(&mem[2], &mc, b->engine, b->C), "memory");
    b->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mem[0]};
    b->args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mem[1]};
    b->args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, mem[2]};
}
#endif

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
#ifdef BENCH_DNNL
    case 6:
        dnnl_check(dnnl_primitive_execute(b->matmul, b->stream, 3, b->args), "matmul");
        dnnl_check(dnnl_stream_wait(b->stream), "stream wait");
        return;
#endif
    default:
        return;
    }
}

static void setup(bench *b, const char *name, const shape_opts *o)
{
    memset(b, 0, sizeof *b);
    b->name = name;
    b->precision = "-";
    size_t H = o->width;
    jn_rng *rng;
    CHECK(jn_rng_create(&rng, 42));
    if (!strncmp(name, "sgemm", 5) || !strcmp(name, "idle")) {
        int idle = !strcmp(name, "idle"), J = !strcmp(name, "sgemmJ");
        b->kind = idle ? 5 : !strcmp(name, "sgemmbf16") ? 6 : 0;
        b->gm = idle ? 1 : 1000;
        b->gn = idle ? 1 : J ? 784 : 1000;
        b->gk = idle ? 1 : J ? H : 1000;
        b->A = random_floats(rng, b->gm * b->gk, 0);
        b->B = random_floats(rng, b->gk * b->gn, 0);
        b->C = random_floats(rng, b->gm * b->gn, 0);
        b->flops = bench_flops_gemm(b->gm, b->gn, b->gk);
        if (b->kind == 6) {
#ifdef BENCH_DNNL
            setup_bf16_gemm(b);
            b->precision = "bf16";
#else
            fprintf(stderr, "bench: sgemmbf16 needs libjacnet built with oneDNN\n");
            exit(1);
#endif
        }
        if (idle) {
            step(b);
            b->kind = 0; /* one tiny product starts the BLAS, then time it */
        }
        jn_rng_free(rng);
        return;
    }
    size_t depth = o->depth ? o->depth : !strcmp(name, "B3") ? 2 : 1;
    size_t D = 784, K = o->outputs ? o->outputs : 10;
    if (depth > MAX_DEPTH) {
        fprintf(stderr, "bench: depth %zu, at most %d\n", depth, MAX_DEPTH);
        exit(2);
    }
    b->n_sizes = depth + 2;
    b->sizes[0] = D;
    for (size_t l = 1; l <= depth; l++) b->sizes[l] = H;
    b->sizes[depth + 1] = K;
    b->n = o->batch ? o->batch : !strcmp(name, "B5") ? 1000 : 100;
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
    if (b->kind == 2 || b->kind == 3) {
        if (o->bf16 || !strcmp(name, "B2bf16")) CHECK(jn_objective_set_precision(b->obj, JN_PRECISION_BF16));
        b->precision = jn_objective_precision_used(b->obj) == JN_PRECISION_BF16 ? "bf16" : "fp32";
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

/* The baselines time OpenBLAS's own threaded sgemm at the benchmark's
 * thread count. jn_set_threads(t) holds the BLAS at one thread (the library
 * splits its products over its own t threads instead), so without this the
 * sgemm rate would be one core's and %sgemm inflated at t > 1. Looked up at
 * run time: a BLAS without the function runs as built. */
static void blas_own_threads(int threads)
{
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set) set(threads);
}

static int run_child(const char *name, int threads, double block, const shape_opts *o)
{
    CHECK(jn_set_threads(threads));
    bench b;
    setup(&b, name, o);
    if (!strcmp(name, "sgemm") || !strcmp(name, "sgemmJ")) blas_own_threads(threads);
    double best, median;
    measure(&b, block, &best, &median);
    /* A BF16 request is decided by timing in its first step (precision.c). */
    if (b.kind == 2 || b.kind == 3)
        b.precision = jn_objective_precision_used(b.obj) == JN_PRECISION_BF16 ? "bf16" : "fp32";
    size_t examples = b.kind == 0 || b.kind == 6 ? 0 : b.n;
    printf("RESULT %s %d %.6g %.6g %.6g %.6g %s\n", name, threads, best, median,
           examples ? (double)examples / best : 0.0, b.flops * 1e-9, b.precision);
    fflush(stdout);
    return 0;
}

/* ---- does the thread count change results? ---- */

/* jn_net_objective's value and gradient on the same inputs with 1 and with
 * 2 threads (jn_set_threads: the library's, the BLAS held at one): the relative difference of the values and the largest
 * gradient difference relative to the gradient's largest magnitude. */
static void threads_diff(const char *name, const shape_opts *o)
{
    bench b;
    setup(&b, name, o);
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
    char precision[8];
    int have;
} result;

static int spawn(const char *self, const char *name, int threads, double block, const shape_opts *o, result *out)
{
    size_t H = o->width;
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char t[16], s[32], w[32], d[32], n[32], k[32];
        snprintf(t, sizeof t, "%d", threads);
        /* A row runs the threads it prints: oneDNN's OpenMP pool too (the
         * sgemmbf16 row calls oneDNN directly, without the library's
         * omp_set_num_threads; left alone it ran on every core). */
        setenv("OMP_NUM_THREADS", t, 1);
        /* oneDNN's idle threads sleep, as the jacnet tool and the Python
         * binding have them do (cli/wait_policy.c), unless the caller chose. */
        setenv("OMP_WAIT_POLICY", "passive", 0);
        snprintf(s, sizeof s, "%g", block);
        snprintf(w, sizeof w, "%zu", H);
        snprintf(d, sizeof d, "%zu", o->depth);
        snprintf(n, sizeof n, "%zu", o->batch);
        snprintf(k, sizeof k, "%zu", o->outputs);
        execl(self, self, "--child", name, "--threads", t, "--time", s, "--width", w, "--depth", d, "--batch", n,
              "--outputs", k, "--precision", o->bf16 ? "bf16" : "fp32", (char *)NULL);
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
    if (sscanf(buf, "RESULT %31s %d %lf %lf %lf %lf %7s", rname, &rthreads, &r.best, &r.median, &r.eps, &r.gflop,
               r.precision) != 7)
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
    printf("online cores: %ld; libjacnet %s; BLAS kernel %s\n", sysconf(_SC_NPROCESSORS_ONLN), jn_version_string(),
           jn_blas_kernel());
#ifdef BENCH_DNNL
    /* The instruction set oneDNN dispatches to (its bf16 rows' speed depends
     * on it: AMX, AVX-512 BF16, or an emulation). */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const char *isa_name = isa == dnnl_cpu_isa_avx512_core_amx    ? "avx512_core_amx"
                           : isa == dnnl_cpu_isa_avx512_core_bf16 ? "avx512_core_bf16"
                           : isa == dnnl_cpu_isa_avx512_core_vnni ? "avx512_core_vnni"
                           : isa == dnnl_cpu_isa_avx512_core      ? "avx512_core"
                           : isa == dnnl_cpu_isa_avx2             ? "avx2"
                                                                  : "other";
    printf("oneDNN ISA: %s (0x%x)\n", isa_name, (unsigned)isa);
    const char *policy = getenv("OMP_WAIT_POLICY");
    printf("OpenMP wait policy: %s\n", policy ? policy : "passive (the tool's and the binding's default)");
#endif
}

int main(int argc, char **argv)
{
    const char *child = NULL, *only = NULL, *thread_list = "1,2";
    int threads = 1, rounds = 3;
    double block = 0.3;
    shape_opts o = {1000, 0, 0, 0, 0};
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
        else if (!strcmp(a, "--width")) o.width = (size_t)atol(v);
        else if (!strcmp(a, "--depth")) o.depth = (size_t)atol(v);
        else if (!strcmp(a, "--batch")) o.batch = (size_t)atol(v);
        else if (!strcmp(a, "--outputs")) o.outputs = (size_t)atol(v);
        else if (!strcmp(a, "--precision") && (!strcmp(v, "fp32") || !strcmp(v, "bf16"))) o.bf16 = !strcmp(v, "bf16");
        else {
            fprintf(stderr, "bench: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (child) return run_child(child, threads, block, &o);

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
#ifndef BENCH_DNNL
        if (!strcmp(all_names[k], "sgemmbf16")) continue; /* libjacnet without oneDNN */
#endif
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
           o.width, rounds, BLOCKS, block);
    result res[N_NAMES][8];
    memset(res, 0, sizeof res);
    for (int round = 0; round < rounds; round++)
        for (size_t k = 0; k < nn; k++)
            for (int t = 0; t < nt; t++)
                if (spawn(self, names[k], tl[t], block, &o, &res[k][t]) != 0) {
                    fprintf(stderr, "bench: benchmark %s with %d threads failed\n", names[k], tl[t]);
                    return 1;
                }

    printf("%-9s %3s %12s %11s %11s %9s %8s %9s %5s\n", "bench", "thr", "examples/s", "ms/step", "med ms",
           "GFLOP/s", "%sgemm", "peak MiB", "prec");
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
            printf("%-9s %3d %12s %11.3f %11.3f %9.1f %8s %9.1f %5s\n", names[k], tl[t], eps, 1e3 * r->best,
                   1e3 * r->median, strcmp(names[k], "idle") ? gfs : 0.0, pct, r->rss_mib, r->precision);
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
    for (int t = 0; t < nt; t++) {
        result *b2 = NULL, *bf = NULL;
        for (size_t k = 0; k < nn; k++) {
            if (!strcmp(names[k], "B2")) b2 = &res[k][t];
            if (!strcmp(names[k], "B2bf16")) bf = &res[k][t];
        }
        if (!b2 || !bf) continue;
        if (!strcmp(bf->precision, "bf16"))
            printf("B2bf16 / B2 throughput, %d thread(s): %.2fx\n", tl[t], b2->best / bf->best);
        else
            printf("B2bf16, %d thread(s): BF16 fell back to FP32 (no oneDNN bfloat16, or measured slower here; "
                   "JACNET_FORCE_BF16=1 forces the bfloat16 path)\n", tl[t]);
    }
    printf("\n");
    for (size_t k = 0; k < nn; k++)
        if (!strcmp(names[k], "B1") || !strcmp(names[k], "B2") || !strcmp(names[k], "B3")) threads_diff(names[k], &o);
    return 0;
}
