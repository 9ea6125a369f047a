/* precision.c - which arithmetic the Jacobian penalty's products run in,
 * chosen by measurement: the table of products (products.c) a step passes
 * down.
 *
 * Whether bfloat16 pays depends on more than the CPU family: oneDNN's
 * bfloat16 products ran 3.6-3.9 times OpenBLAS's sgemm rate on Intel's AMX,
 * about 2 times on AMD's Zen 4 and Zen 5 (AVX-512 BF16), slower than float32
 * on Intel's AVX-512 BF16 without AMX, and the step's gain also depends on
 * the shapes, the thread count and the conversions (docs/PERFORMANCE.md).
 * So a request for BF16 or AUTO times the penalty both ways on the call's
 * own network and batch, the first time the process sees that shape, and
 * runs bfloat16 only where it measured at least JN_BF16_MIN_RATIO times
 * faster. Answers are cached per shape for the process, and appended to the
 * file named by JACNET_WISDOM (when set), where later processes read them
 * instead of timing again.
 *
 * Nothing is measured, and the answer is known at once, where
 * JACNET_FORCE_BF16 is set (1: bfloat16 wherever oneDNN can multiply
 * bfloat16 at all; 0: never; both for tests and measurements) or where
 * oneDNN cannot multiply bfloat16 here (not built in, or its probe in
 * dnnl.c failed): float32. JACNET_FAKE_BF16_RATIO=x replaces the measured
 * ratio by x, so that tests run both branches on any machine. */
#define _GNU_SOURCE 1
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"
#include "penalty/penalty.h"
#include "backend/precision.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* bfloat16 runs only where float32 took at least this many times as long:
 * a smaller gain is within the timing noise of a loaded machine, and
 * bfloat16 costs accuracy. */
#define JN_BF16_MIN_RATIO 1.05
/* Timed rounds per precision, after one untimed round (caches, and oneDNN
 * compiling its kernels for the shapes): at least JN_CALIB_ROUNDS, and for
 * a small penalty more, until each precision has run JN_CALIB_SECONDS in
 * all (at most JN_CALIB_MAX_ROUNDS). The fastest round counts: the least
 * disturbed by other work on the machine. */
#define JN_CALIB_ROUNDS 3
#define JN_CALIB_MAX_ROUNDS 20
#define JN_CALIB_SECONDS 0.02

/* JACNET_FORCE_BF16: 1 always, 0 never, otherwise (unset) -1: decide. */
static int forced(void)
{
    const char *s = getenv("JACNET_FORCE_BF16");
    if (s && strcmp(s, "1") == 0) return 1;
    if (s && strcmp(s, "0") == 0) return 0;
    return -1;
}

int jn__precision_resolve(jn_precision want)
{
    /* The environment first: where bfloat16 is refused, a request never
     * even starts oneDNN. */
    if (want != JN_PRECISION_BF16 && want != JN_PRECISION_AUTO) return JN__RUN_FP32;
    int force = forced();
    if (force == 0 || !jn__dnnl_bf16_works()) return JN__RUN_FP32;
    return force == 1 ? JN__RUN_BF16 : JN__RUN_MEASURE;
}

/* ---- the measurements: one list for the process, under one lock ---- */

typedef struct calib {
    struct calib *next;
    double ratio; /* float32 time / bfloat16 time */
    char key[];   /* the shape, as in the wisdom file */
} calib;

/* The lock also serialises the timings, so that two threads calibrating at
 * once do not slow down each other's measurement, and guards the
 * objectives' records. */
static pthread_mutex_t calib_lock = PTHREAD_MUTEX_INITIALIZER;
static calib *calibs;
static unsigned long timings; /* shapes timed (not found), for tests */

/* Room for a shape key: the fields, and up to 20 digits and a comma per
 * width of the deepest network jn_net_create allows. */
#define KEY_MAX (96 + 21 * (JN_MAX_LAYERS + 1))

/* What decides the cost of the penalty both ways: the thread count, whether
 * the gradient is wanted, the form request, batch rows, rows per example
 * and the layer widths, written into key (KEY_MAX bytes). Made on every
 * step of a measured run, so on the stack, not allocated. */
static void shape_key(const jn_net *net, const jn_objective *obj, size_t n, size_t r, int grad, char *key)
{
    int at = snprintf(key, KEY_MAX, "threads=%d grad=%d form=%d n=%zu r=%zu sizes=", jn__threads(), grad,
                      (int)obj->form, n, r);
    for (size_t l = 0; l <= net->layers; l++)
        at += snprintf(key + at, KEY_MAX - (size_t)at, "%s%zu", l ? "," : "", net->sizes[l]);
}

static calib *find(const char *key)
{
    for (calib *c = calibs; c; c = c->next)
        if (!strcmp(c->key, key)) return c;
    return NULL;
}

static calib *add(const char *key, double ratio)
{
    size_t len = strlen(key) + 1;
    calib *c = jn__alloc(sizeof *c + len, 1, "precision choice");
    if (!c) return NULL;
    memcpy(c->key, key, len);
    c->ratio = ratio;
    c->next = calibs;
    calibs = c;
    return c;
}

/* The ratio of key's last line in the wisdom file ("KEY ratio=R"), or 0
 * when there is none (no file, no such line, an unreadable ratio). */
static double wisdom_read(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0.0;
    size_t klen = strlen(key);
    double ratio = 0.0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) || strncmp(line + klen, " ratio=", 7)) continue;
        char *end;
        double r = strtod(line + klen + 7, &end);
        if (end != line + klen + 7 && (*end == '\n' || *end == '\0') && isfinite(r) && r > 0.0) ratio = r;
    }
    fclose(f);
    return ratio;
}

/* One line appended with one write() on O_APPEND, so that processes sharing
 * the file do not interleave their lines. Failures are ignored: the file
 * only saves later processes a measurement. */
static void wisdom_write(const char *path, const char *key, double ratio)
{
    char line[1024];
    int len = snprintf(line, sizeof line, "%s ratio=%.4f\n", key, ratio);
    if (len <= 0 || (size_t)len >= sizeof line) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t done = write(fd, line, (size_t)len);
    (void)done;
    close(fd);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* float32 time / bfloat16 time of the penalty on pass p as the caller is
 * about to compute it. The penalty only reads the passes and overwrites
 * what it writes (jn__penalty), so these runs leave nothing behind that the
 * caller's own run does not replace: the result is the same as without
 * them. Rounds alternate the two precisions, so that a change of load
 * falls on both. */
static jn_status measure(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                         float *grad, double *ratio)
{
    double best[2] = {INFINITY, INFINITY}, total[2] = {0.0, 0.0}, value;
    for (int round = 0; round <= JN_CALIB_MAX_ROUNDS; round++) {
        for (int bf16 = 0; bf16 < 2; bf16++) {
            double t0 = seconds();
            jn_status st = jn__penalty(net, obj, step, p, weight, jn__products_for(bf16), &value, grad);
            if (st != JN_OK) return st;
            double t = seconds() - t0;
            if (round == 0) continue;
            total[bf16] += t;
            if (t < best[bf16]) best[bf16] = t;
        }
        if (round >= JN_CALIB_ROUNDS && total[0] >= JN_CALIB_SECONDS && total[1] >= JN_CALIB_SECONDS) break;
    }
    *ratio = best[1] > 0.0 ? best[0] / best[1] : 1.0;
    const char *fake = getenv("JACNET_FAKE_BF16_RATIO");
    if (fake && *fake) {
        char *end;
        double r = strtod(fake, &end);
        if (*end == '\0' && isfinite(r) && r > 0.0) *ratio = r;
    }
    return JN_OK;
}

/* Record the choice for obj's getters: the largest batch so far, which in
 * training is the full minibatch rather than a short last one. Under the
 * lock. */
static void record(const jn_objective *obj, size_t n, double ratio)
{
    jn__precision_record *rec = obj->ran;
    if (!rec || n < rec->n) return;
    rec->n = n;
    rec->ratio = ratio;
}

jn_status jn__precision_choose(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                               float *grad, const jn__products **products)
{
    int how = jn__precision_resolve(obj->precision);
    *products = jn__products_for(how == JN__RUN_BF16);
    if (how != JN__RUN_MEASURE) return JN_OK;
    jn_status st = jn__work_reserve_bf16(net);
    if (st != JN_OK) return st;
    size_t n = net->work->pass[p].n, r = obj->projections ? obj->projections : net->sizes[net->layers];
    char key[KEY_MAX];
    shape_key(net, obj, n, r, grad != NULL, key);
    pthread_mutex_lock(&calib_lock);
    calib *c = find(key);
    double ratio = c ? c->ratio : 0.0;
    if (!c) { /* a shape new to the process: the wisdom file, else a timing */
        const char *wisdom = getenv("JACNET_WISDOM");
        if (wisdom && *wisdom) ratio = wisdom_read(wisdom, key);
        if (ratio == 0.0) {
            st = measure(net, obj, step, p, weight, grad, &ratio);
            timings++;
            if (st == JN_OK && wisdom && *wisdom) wisdom_write(wisdom, key, ratio);
        }
        if (st == JN_OK && !add(key, ratio)) st = JN_ERR_NOMEM;
    }
    if (st == JN_OK) {
        record(obj, n, ratio);
        *products = jn__products_for(ratio >= JN_BF16_MIN_RATIO);
    }
    pthread_mutex_unlock(&calib_lock);
    return st;
}

unsigned long jn__precision_timings(void)
{
    pthread_mutex_lock(&calib_lock);
    unsigned long t = timings;
    pthread_mutex_unlock(&calib_lock);
    return t;
}

void jn__precision_forget(void)
{
    pthread_mutex_lock(&calib_lock);
    while (calibs) {
        calib *next = calibs->next;
        free(calibs);
        calibs = next;
    }
    pthread_mutex_unlock(&calib_lock);
}

JN_API jn_status jn_objective_set_precision(jn_objective *obj, jn_precision precision)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_precision: obj is NULL");
    if (precision != JN_PRECISION_FP32 && precision != JN_PRECISION_BF16 && precision != JN_PRECISION_AUTO)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_precision: unknown precision %d", (int)precision);
    obj->precision = precision;
    return JN_OK;
}

/* The measured ratio behind obj's choice, or 0 where nothing was measured
 * (yet, or at all). */
static double measured_ratio(const jn_objective *obj)
{
    if (!obj || !obj->ran || jn__precision_resolve(obj->precision) != JN__RUN_MEASURE) return 0.0;
    pthread_mutex_lock(&calib_lock);
    double ratio = obj->ran->ratio;
    pthread_mutex_unlock(&calib_lock);
    return ratio;
}

JN_API jn_precision jn_objective_precision_used(const jn_objective *obj)
{
    if (!obj) return JN_PRECISION_FP32;
    int how = jn__precision_resolve(obj->precision);
    if (how != JN__RUN_MEASURE) return how == JN__RUN_BF16 ? JN_PRECISION_BF16 : JN_PRECISION_FP32;
    return measured_ratio(obj) >= JN_BF16_MIN_RATIO ? JN_PRECISION_BF16 : JN_PRECISION_FP32;
}

JN_API double jn_objective_precision_ratio(const jn_objective *obj) { return measured_ratio(obj); }
