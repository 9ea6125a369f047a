/* test_oom.c - running out of memory, allocation by allocation (make
 * check-oom; docs/API.md "Out of memory").
 *
 * Built only against the library of build/oom, compiled with
 * -DJN_FAULT_INJECTION (src/base/fault.h) and AddressSanitizer. For each public
 * call that allocates, the k-th allocation is made to fail, for k = 1, 2,
 * ... until the call makes fewer than k allocations and succeeds; once with
 * that one failure only, once with every allocation after it failing too.
 * Every failure must return JN_ERR_NOMEM with a message about memory, set
 * its outputs to NULL, leak nothing (LeakSanitizer, checked after each call
 * and file descriptors counted), and leave every handle it was given
 * unchanged (parameters compared bit for bit) and usable: the same call then
 * succeeds and gives the result of a run that never failed. One BLAS thread,
 * so that "the same result" can mean the same bits. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"
#include "base/fault.h"

#ifndef JN_FAULT_INJECTION
#error "test_oom needs the library built with -DJN_FAULT_INJECTION (make check-oom)"
#endif

#ifdef __SANITIZE_ADDRESS__
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the loop ---- */

typedef struct oom_case {
    const char *name;
    void (*setup)(void);      /* before each attempt (not counted); may be NULL */
    jn_status (*call)(void);  /* the attempt */
    void (*failed)(void);     /* after JN_ERR_NOMEM: outputs NULL, inputs unchanged and usable */
    void (*succeeded)(void);  /* after JN_OK: the result is right; frees it */
    void (*teardown)(void);   /* after each attempt; may be NULL */
} oom_case;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void run_case(const oom_case *c)
{
    int fds0 = count_fds();
    unsigned long allocations = 0, refused = 0, tolerated = 0;
    for (int persistent = 0; persistent < 2; persistent++) {
        for (unsigned long k = 1;; k++) {
            ck_assert_msg(k < 100000, "%s: allocations without end", c->name);
            if (c->setup) c->setup();
            /* A message no allocation failure writes, so a stale one is seen. */
            (void)jn_net_create(NULL, NULL, 0, JN_ACT_TANH, JN_ACT_TANH);
            jn__fault_arm(k, persistent);
            jn_status st = c->call();
            unsigned long calls = jn__fault_calls(), failures = jn__fault_failures();
            jn__fault_arm(0, 0);
            if (failures == 0) {
                /* Fewer than k allocations: nothing failed, so it must work. */
                ck_assert_msg(st == JN_OK, "%s: %s with no failed allocation: %s", c->name, jn_status_str(st),
                              jn_last_error());
                c->succeeded();
                if (c->teardown) c->teardown();
                allocations = calls;
                break;
            }
            if (st == JN_OK) {
                /* The failed allocation was optional (e.g. shrinking a buffer). */
                tolerated++;
                c->succeeded();
            } else {
                const char *msg = jn_last_error();
                ck_assert_msg(st == JN_ERR_NOMEM, "%s: allocation %lu of %lu failed (%s): status %s, want %s: %s",
                              c->name, k, calls, persistent ? "and all after it" : "alone", jn_status_str(st),
                              jn_status_str(JN_ERR_NOMEM), msg);
                ck_assert_msg(strstr(msg, "out is NULL") == NULL && (strstr(msg, "allocate") || strstr(msg, "memory")),
                              "%s: allocation %lu failed: the message '%s' does not say memory ran out", c->name, k,
                              msg);
                c->failed();
                refused++;
            }
            if (c->teardown) c->teardown();
        }
    }
    ck_assert_msg(refused > 0, "%s: no failure was ever returned (does it allocate through alloc.c?)", c->name);
    ck_assert_msg(count_fds() == fds0, "%s: %d file descriptors open before, %d after", c->name, fds0, count_fds());
#ifdef HAVE_LSAN
    ck_assert_msg(__lsan_do_recoverable_leak_check() == 0, "%s leaks memory (LeakSanitizer's report above)",
                  c->name);
#endif
    printf("%-34s %4lu allocations; %4lu failures returned JN_ERR_NOMEM, %lu tolerated\n", c->name, allocations,
           refused, tolerated);
}

/* ---- fixtures, made once before any failure is armed ---- */

enum { N = 7, D = 6, K = 3, TRAIN = 43, VALID = 15 };
static const size_t sizes[] = {D, 5, 4, K};
static char *dir;
static jn_net *base, *base_sm; /* sigmoid and softmax outputs, same hidden layers */
static float *base_params;
static size_t P;
static float X[N * D], Xj[N * D], Y[N * K], Ftrain[TRAIN * D], Fvalid[VALID * D];
static int32_t Ltrain[TRAIN], Lvalid[VALID];
static jn_dataset *train_ds, *valid_ds;

static const char *path_in(const char *name)
{
    static char buf[8][4096];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert(f != NULL);
        ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(f), Z_OK);
        return;
    }
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* IDX3 images (count x 2 x 3) and IDX1 labels (i mod 10) at the two paths. */
static void write_idx(const char *img, const char *lab, uint32_t count, int gz)
{
    size_t il = 16 + (size_t)count * 6, ll = 8 + count;
    unsigned char *b = malloc(il), *l = malloc(ll);
    memcpy(b, "\0\0\x08\x03", 4);
    put32(b + 4, count);
    put32(b + 8, 2);
    put32(b + 12, 3);
    for (size_t i = 0; i < (size_t)count * 6; i++) b[16 + i] = (unsigned char)(i * 37 % 256);
    memcpy(l, "\0\0\x08\x01", 4);
    put32(l + 4, count);
    for (uint32_t i = 0; i < count; i++) l[8 + i] = (unsigned char)(i % 10);
    write_file(img, b, il, gz);
    write_file(lab, l, ll, gz);
    free(b);
    free(l);
}

/* USPS text of `lines` digits. */
static char *usps_text(size_t lines, size_t *len)
{
    static const char *v[4] = {"-1", "0", "1", "-0.5"};
    char *t = malloc(lines * 256 * 5 + lines * 4 + 1);
    size_t at = 0;
    for (size_t i = 0; i < lines; i++) {
        at += (size_t)sprintf(t + at, "%zu", i % 10);
        for (int j = 0; j < 256; j++) at += (size_t)sprintf(t + at, " %s", v[(i + (size_t)j) % 4]);
        t[at++] = '\n';
    }
    t[at] = '\0';
    *len = at;
    return t;
}

static const char csv_text[] = "label,a,b,c\n1,0.5,2,3\n0,-1,3,1e-3\n2,4,5,6\n1,1,1,1\n0,0,0,0\n3,7,8,9\n";

static void make_dir(const char *sub)
{
    ck_assert_int_eq(mkdir(path_in(sub), 0700), 0);
}

static void make_files(void)
{
    write_idx(path_in("img.idx"), path_in("lab.idx"), 20, 0);
    write_idx(path_in("img.idx.gz"), path_in("lab.idx.gz"), 20, 1);
    size_t len;
    char *t = usps_text(5, &len);
    write_file(path_in("digits.usps"), t, len, 0);
    write_file(path_in("digits.usps.gz"), t, len, 1);
    free(t);
    write_file(path_in("rows.csv"), csv_text, strlen(csv_text), 0);
    write_file(path_in("rows.csv.gz"), csv_text, strlen(csv_text), 1);
    /* The report's layouts: MNIST training set compressed, test set raw;
     * USPS the other way round. Just over the validation sizes. */
    make_dir("m");
    make_dir("m/mnist");
    write_idx(path_in("m/mnist/train-images-idx3-ubyte.gz"), path_in("m/mnist/train-labels-idx1-ubyte.gz"), 10003, 1);
    write_idx(path_in("m/mnist/t10k-images-idx3-ubyte"), path_in("m/mnist/t10k-labels-idx1-ubyte"), 4, 0);
    make_dir("u");
    make_dir("u/usps");
    t = usps_text(2003, &len);
    write_file(path_in("u/usps/zip.train"), t, len, 0);
    free(t);
    t = usps_text(3, &len);
    write_file(path_in("u/usps/zip.test.gz"), t, len, 1);
    free(t);
}

static jn_net *new_base(jn_act output)
{
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 4, JN_ACT_TANH, output), JN_OK);
    ck_assert_int_eq(jn_net_init(net, 7), JN_OK);
    return net;
}

static jn_net *clone_of(const jn_net *net)
{
    jn_net *c = NULL;
    ck_assert_int_eq(jn_net_clone(&c, net), JN_OK);
    return c;
}

/* Made by the first test that runs (Check's asserts need a running test). */
static void fixtures(void)
{
    static int ready;
    if (ready) return;
    ready = 1;
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    dir = make_temp_dir();
    ck_assert(dir != NULL);
    make_files();
    base = new_base(JN_ACT_SIGMOID);
    base_sm = new_base(JN_ACT_SOFTMAX);
    P = jn_net_param_count(base);
    base_params = malloc(P * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(base, base_params, P), JN_OK);
    fill_uniform(X, N * D, 1, -1.0f, 1.0f);
    fill_uniform(Xj, N * D, 2, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) Y[i * K + k] = k == i % K ? 1.0f : 0.0f;
    fill_uniform(Ftrain, TRAIN * D, 3, 0.0f, 1.0f);
    fill_uniform(Fvalid, VALID * D, 4, 0.0f, 1.0f);
    for (int i = 0; i < TRAIN; i++) Ltrain[i] = Ftrain[i * D] + Ftrain[i * D + 1] > 1.0f ? 1 + (i % 2) : 0;
    for (int i = 0; i < VALID; i++) Lvalid[i] = Fvalid[i * D] + Fvalid[i * D + 1] > 1.0f ? 1 + (i % 2) : 0;
    ck_assert_int_eq(jn_dataset_create(&train_ds, Ftrain, Ltrain, TRAIN, D, K, JN_DATASET_BORROW), JN_OK);
    ck_assert_int_eq(jn_dataset_create(&valid_ds, Fvalid, Lvalid, VALID, D, K, JN_DATASET_BORROW), JN_OK);
}

/* ---- shared checks ---- */

static void expect_floats(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&got[i], &want[i], sizeof(float)) == 0, "%s[%zu] = %.9g, want %.9g", what, i,
                      (double)got[i], (double)want[i]);
}

static void expect_params(const jn_net *net, const float *want, const char *what)
{
    ck_assert_uint_eq(jn_net_param_count(net), P);
    float *got = malloc(P * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(net, got, P), JN_OK);
    expect_floats(got, want, P, what);
    free(got);
}

static void expect_same_dataset(const jn_dataset *got, const jn_dataset *want)
{
    ck_assert(got != NULL);
    ck_assert_uint_eq(jn_dataset_count(got), jn_dataset_count(want));
    ck_assert_uint_eq(jn_dataset_dim(got), jn_dataset_dim(want));
    ck_assert_uint_eq(jn_dataset_classes(got), jn_dataset_classes(want));
    expect_floats(jn_dataset_features(got), jn_dataset_features(want), jn_dataset_count(want) * jn_dataset_dim(want),
                  "features");
    ck_assert(memcmp(jn_dataset_labels(got), jn_dataset_labels(want), jn_dataset_count(want) * sizeof(int32_t)) == 0);
}

/* ---- constructors ---- */

static jn_net *net_out;
static jn_rng *rng_out;
static jn_objective *obj_out;
static jn_optimizer *opt_out;
static jn_trainer *trainer_out;
static jn_dataset *ds_out, *ds_out2, *ds_out3;

static jn_status call_net_create(void) { return jn_net_create(&net_out, sizes, 4, JN_ACT_TANH, JN_ACT_SIGMOID); }
static void failed_net(void) { ck_assert(net_out == NULL); }
static void ok_net_create(void)
{
    ck_assert_uint_eq(jn_net_param_count(net_out), P);
    jn_net_free(net_out);
    net_out = NULL;
}

static jn_status call_net_clone(void) { return jn_net_clone(&net_out, base); }
static void failed_net_clone(void)
{
    ck_assert(net_out == NULL);
    expect_params(base, base_params, "base after a failed clone");
}
static void ok_net_clone(void)
{
    expect_params(net_out, base_params, "clone");
    jn_net_free(net_out);
    net_out = NULL;
}

static jn_status call_rng_create(void) { return jn_rng_create_stream(&rng_out, 99, 2); }
static void failed_rng(void) { ck_assert(rng_out == NULL); }
static void ok_rng(void)
{
    jn_rng *ref = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&ref, 99, 2), JN_OK);
    ck_assert(jn_rng_next(rng_out) == jn_rng_next(ref));
    jn_rng_free(ref);
    jn_rng_free(rng_out);
    rng_out = NULL;
}

static jn_status call_objective_create(void) { return jn_objective_create(&obj_out, JN_LOSS_CE); }
static jn_status call_objective_model(void) { return jn_objective_create_model(&obj_out, JN_MODEL_MLP_NJ, 0.1, 0.1); }
static void failed_objective(void) { ck_assert(obj_out == NULL); }
static void ok_objective(void)
{
    ck_assert(obj_out != NULL);
    jn_objective_free(obj_out);
    obj_out = NULL;
}

static jn_objective *obj_src;
static jn_status call_objective_clone(void) { return jn_objective_clone(&obj_out, obj_src); }
static void ok_objective_clone(void)
{
    /* The clone computes what the original does. */
    double a, b;
    jn_net *n1 = clone_of(base), *n2 = clone_of(base);
    ck_assert_int_eq(jn_net_objective(n1, obj_src, X, NULL, Y, N, &a, NULL), JN_OK);
    ck_assert_int_eq(jn_net_objective(n2, obj_out, X, NULL, Y, N, &b, NULL), JN_OK);
    ck_assert(a == b);
    jn_net_free(n1);
    jn_net_free(n2);
    ok_objective();
}

static jn_status call_sgd(void) { return jn_optimizer_create_sgd(&opt_out, 0.1, 0.9); }
static jn_status call_adam(void) { return jn_optimizer_create_adam(&opt_out, 0.01, 0.9, 0.999, 1e-8); }
static void failed_opt(void) { ck_assert(opt_out == NULL); }
static void ok_opt(void)
{
    ck_assert(opt_out != NULL);
    jn_optimizer_free(opt_out);
    opt_out = NULL;
}

static jn_status call_trainer_create(void) { return jn_trainer_create(&trainer_out); }
static void failed_trainer(void) { ck_assert(trainer_out == NULL); }
static void ok_trainer(void)
{
    ck_assert(trainer_out != NULL);
    jn_trainer_free(trainer_out);
    trainer_out = NULL;
}

START_TEST(constructors)
{
    fixtures();
    const oom_case cases[] = {
        {"jn_net_create", NULL, call_net_create, failed_net, ok_net_create, NULL},
        {"jn_net_clone", NULL, call_net_clone, failed_net_clone, ok_net_clone, NULL},
        {"jn_rng_create_stream", NULL, call_rng_create, failed_rng, ok_rng, NULL},
        {"jn_objective_create", NULL, call_objective_create, failed_objective, ok_objective, NULL},
        {"jn_objective_create_model", NULL, call_objective_model, failed_objective, ok_objective, NULL},
        {"jn_objective_clone", NULL, call_objective_clone, failed_objective, ok_objective_clone, NULL},
        {"jn_optimizer_create_sgd", NULL, call_sgd, failed_opt, ok_opt, NULL},
        {"jn_optimizer_create_adam", NULL, call_adam, failed_opt, ok_opt, NULL},
        {"jn_trainer_create", NULL, call_trainer_create, failed_trainer, ok_trainer, NULL},
    };
    ck_assert_int_eq(jn_objective_create_model(&obj_src, JN_MODEL_MLP_NJ_BOTH, 0.2, 0.05), JN_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    jn_objective_free(obj_src);
}
END_TEST

/* ---- computations on a network: the network is a fresh clone each time,
 * so its workspace is allocated inside the call ---- */

typedef enum { F_FORWARD, F_HIDDEN, F_PREDICT, F_JACOBIAN, F_SQNORM, F_ERROR_RATE } eval_kind;
static eval_kind eval;
static jn_net *work_net;
static float eval_out[N * K * D], eval_ref[N * K * D];
static size_t eval_len;

static jn_status eval_call(jn_net *net, float *out)
{
    switch (eval) {
    case F_FORWARD: return jn_net_forward(net, X, N, out);
    case F_HIDDEN: return jn_net_hidden(net, X, N, 2, out);
    case F_PREDICT: return jn_net_predict(net, X, N, (int32_t *)out);
    case F_JACOBIAN: return jn_net_jacobian(net, X, N, out);
    case F_SQNORM: return jn_net_jacobian_sqnorm(net, X, N, out);
    case F_ERROR_RATE: {
        double e;
        jn_status st = jn_net_error_rate(net, valid_ds, &e);
        out[0] = (float)e;
        return st;
    }
    }
    return JN_ERR_INVALID;
}

static void setup_work_net(void) { work_net = clone_of(base); }
static void teardown_work_net(void)
{
    jn_net_free(work_net);
    work_net = NULL;
}
static jn_status call_eval(void) { return eval_call(work_net, eval_out); }
static void ok_eval(void) { expect_floats(eval_out, eval_ref, eval_len, "output"); }
static void failed_eval(void)
{
    expect_params(work_net, base_params, "network after a failed call");
    ck_assert_int_eq(eval_call(work_net, eval_out), JN_OK);
    ok_eval();
}

START_TEST(evaluations)
{
    fixtures();
    static const struct {
        eval_kind kind;
        const char *name;
        size_t len;
    } kinds[] = {{F_FORWARD, "jn_net_forward", N * K},   {F_HIDDEN, "jn_net_hidden", N * 4},
                 {F_PREDICT, "jn_net_predict", N},       {F_JACOBIAN, "jn_net_jacobian", N * K * D},
                 {F_SQNORM, "jn_net_jacobian_sqnorm", N}, {F_ERROR_RATE, "jn_net_error_rate", 1}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        eval = kinds[i].kind;
        eval_len = kinds[i].len;
        jn_net *ref = clone_of(base);
        ck_assert_int_eq(eval_call(ref, eval_ref), JN_OK);
        jn_net_free(ref);
        oom_case c = {kinds[i].name, setup_work_net, call_eval, failed_eval, ok_eval, teardown_work_net};
        run_case(&c);
    }
}
END_TEST

/* jn_net_objective and jn_net_check_gradient, objective by objective. */
static jn_objective *cur_obj;
static const jn_net *cur_base;
static const float *cur_Xj;
static double value_out, value_ref;
static float *grad_out, *grad_ref;

static void setup_obj_net(void) { work_net = clone_of(cur_base); }
static jn_status call_objective(void)
{
    return jn_net_objective(work_net, cur_obj, X, cur_Xj, Y, N, &value_out, grad_out);
}
static void ok_objective_value(void)
{
    ck_assert_msg(value_out == value_ref, "objective %.17g, want %.17g", value_out, value_ref);
    expect_floats(grad_out, grad_ref, P, "grad");
}
static void failed_objective_value(void)
{
    float *want = malloc(P * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(cur_base, want, P), JN_OK);
    expect_params(work_net, want, "network after a failed jn_net_objective");
    free(want);
    ck_assert_int_eq(call_objective(), JN_OK);
    ok_objective_value();
}

static jn_status call_check_gradient(void)
{
    return jn_net_check_gradient(work_net, cur_obj, X, cur_Xj, Y, N, &value_out);
}
static void ok_check_gradient(void) { ck_assert(value_out == value_ref); }
static void failed_check_gradient(void)
{
    expect_params(work_net, base_params, "network after a failed gradient check");
    ck_assert_int_eq(call_check_gradient(), JN_OK);
    ok_check_gradient();
}

START_TEST(objectives)
{
    fixtures();
    grad_out = malloc(P * sizeof(float));
    grad_ref = malloc(P * sizeof(float));
    static const struct {
        const char *name;
        jn_loss loss;
        double l2, jacobian;
        unsigned projections;
        jn_penalty_form form;
        int softmax, with_xj;
        jn_precision precision;
    } objs[] = {
        {"jn_net_objective mse", JN_LOSS_MSE, 0.0, 0.0, 0, JN_FORM_AUTO, 0, 0, JN_PRECISION_FP32},
        {"jn_net_objective +J direct", JN_LOSS_MSE, 0.0, 0.1, 0, JN_FORM_DIRECT, 0, 0, JN_PRECISION_FP32},
        {"jn_net_objective +J gram, Xj", JN_LOSS_MSE, 0.0, 0.1, 0, JN_FORM_GRAM, 0, 1, JN_PRECISION_FP32},
        {"jn_net_objective +J projected", JN_LOSS_MSE, 0.0, 0.1, 2, JN_FORM_AUTO, 0, 1, JN_PRECISION_FP32},
        {"jn_net_objective ce+l2+J", JN_LOSS_CE, 0.01, 0.1, 0, JN_FORM_AUTO, 1, 0, JN_PRECISION_FP32},
        /* the measured choice (a fake ratio: bfloat16 where oneDNN has it) */
        {"jn_net_objective +J auto precision", JN_LOSS_MSE, 0.0, 0.1, 0, JN_FORM_DIRECT, 0, 0, JN_PRECISION_AUTO},
    };
    setenv("JACNET_FAKE_BF16_RATIO", "2", 1);
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        ck_assert_int_eq(jn_objective_create(&cur_obj, objs[i].loss), JN_OK);
        ck_assert_int_eq(jn_objective_set_l2(cur_obj, objs[i].l2), JN_OK);
        ck_assert_int_eq(jn_objective_set_jacobian(cur_obj, objs[i].jacobian, objs[i].projections), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_form(cur_obj, objs[i].form), JN_OK);
        ck_assert_int_eq(jn_objective_set_precision(cur_obj, objs[i].precision), JN_OK);
        cur_base = objs[i].softmax ? base_sm : base;
        cur_Xj = objs[i].with_xj ? Xj : NULL;
        jn_net *ref = clone_of(cur_base);
        ck_assert_int_eq(jn_net_objective(ref, cur_obj, X, cur_Xj, Y, N, &value_ref, grad_ref), JN_OK);
        jn_net_free(ref);
        oom_case c = {objs[i].name, setup_obj_net, call_objective, failed_objective_value, ok_objective_value,
                      teardown_work_net};
        run_case(&c);
        jn_objective_free(cur_obj);
    }
    /* The gradient checker, on the penalised objective. */
    ck_assert_int_eq(jn_objective_create(&cur_obj, JN_LOSS_MSE), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(cur_obj, 0.1, 0), JN_OK);
    cur_base = base;
    cur_Xj = Xj;
    jn_net *ref = clone_of(base);
    ck_assert_int_eq(jn_net_check_gradient(ref, cur_obj, X, Xj, Y, N, &value_ref), JN_OK);
    jn_net_free(ref);
    oom_case c = {"jn_net_check_gradient", setup_obj_net, call_check_gradient, failed_check_gradient,
                  ok_check_gradient, teardown_work_net};
    run_case(&c);
    jn_objective_free(cur_obj);
    free(grad_out);
    free(grad_ref);
}
END_TEST

/* ---- the optimizer's first step binds its state ---- */

static jn_optimizer *work_opt;
static float *step_grad, *after1, *after2;

static void setup_step(void)
{
    work_net = clone_of(base);
    ck_assert_int_eq(jn_optimizer_create_adam(&work_opt, 0.01, 0.9, 0.999, 1e-8), JN_OK);
}
static void teardown_step(void)
{
    teardown_work_net();
    jn_optimizer_free(work_opt);
    work_opt = NULL;
}
static jn_status call_step(void) { return jn_optimizer_step(work_opt, work_net, step_grad); }
static void ok_step(void)
{
    expect_params(work_net, after1, "after one step");
    /* A second step shows the moments the first one stored. */
    ck_assert_int_eq(jn_optimizer_step(work_opt, work_net, step_grad), JN_OK);
    expect_params(work_net, after2, "after two steps");
}
static void failed_step(void)
{
    expect_params(work_net, base_params, "network after a failed step");
    ck_assert_int_eq(call_step(), JN_OK);
    ok_step();
}

START_TEST(optimizer_step)
{
    fixtures();
    step_grad = malloc(P * sizeof(float));
    after1 = malloc(P * sizeof(float));
    after2 = malloc(P * sizeof(float));
    fill_uniform(step_grad, P, 5, -1.0f, 1.0f);
    setup_step();
    ck_assert_int_eq(call_step(), JN_OK);
    ck_assert_int_eq(jn_net_get_params(work_net, after1, P), JN_OK);
    ck_assert_int_eq(call_step(), JN_OK);
    ck_assert_int_eq(jn_net_get_params(work_net, after2, P), JN_OK);
    teardown_step();
    oom_case c = {"jn_optimizer_step (adam)", setup_step, call_step, failed_step, ok_step, teardown_step};
    run_case(&c);
    free(step_grad);
    free(after1);
    free(after2);
}
END_TEST

/* ---- the trainer: a failure leaves net and optimizer as they were, so
 * running again gives the result of a run that never failed ---- */

static jn_objective *train_obj;
static jn_trainer *work_tr;
static float *trained_ref;

static void setup_train(void)
{
    setup_step(); /* a fresh clone of base and a fresh Adam */
    ck_assert_int_eq(jn_trainer_create(&work_tr), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(work_tr, 2), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(work_tr, 8), JN_OK);
    ck_assert_int_eq(jn_trainer_set_seed(work_tr, 3), JN_OK);
}
static void teardown_train(void)
{
    teardown_step();
    jn_trainer_free(work_tr);
    work_tr = NULL;
}
static jn_status call_train(void) { return jn_trainer_run(work_tr, work_net, train_obj, work_opt, train_ds, valid_ds); }
static void ok_train(void) { expect_params(work_net, trained_ref, "trained network"); }
static void failed_train(void)
{
    expect_params(work_net, base_params, "network after a failed run");
    ck_assert_int_eq(call_train(), JN_OK);
    ok_train();
}

START_TEST(trainer)
{
    fixtures();
    ck_assert_int_eq(jn_objective_create_model(&train_obj, JN_MODEL_MLP_NJ_BOTH, 0.1, 0.1), JN_OK);
    trained_ref = malloc(P * sizeof(float));
    setup_train();
    ck_assert_int_eq(call_train(), JN_OK);
    ck_assert_int_eq(jn_net_get_params(work_net, trained_ref, P), JN_OK);
    teardown_train();
    /* Training must have moved the parameters, or "unchanged" proves nothing. */
    ck_assert(memcmp(trained_ref, base_params, P * sizeof(float)) != 0);
    oom_case c = {"jn_trainer_run", setup_train, call_train, failed_train, ok_train, teardown_train};
    run_case(&c);
    free(trained_ref);
    jn_objective_free(train_obj);
}
END_TEST

/* ---- model files ---- */

static unsigned char *prev_bytes;
static size_t prev_len;
static int entries_before;

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    ck_assert(d != NULL);
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void setup_save(void)
{
    /* A previous model at the path, which a failed save must leave intact. */
    jn_net *prev = clone_of(base);
    ck_assert_int_eq(jn_net_init(prev, 99), JN_OK);
    ck_assert_int_eq(jn_net_save(prev, path_in("model.jnm")), JN_OK);
    jn_net_free(prev);
    free(prev_bytes);
    prev_bytes = read_all(path_in("model.jnm"), &prev_len);
    entries_before = count_entries(dir);
}
static jn_status call_save(void) { return jn_net_save(base, path_in("model.jnm")); }
static void ok_save(void)
{
    jn_net *back = NULL;
    ck_assert_int_eq(jn_net_load(&back, path_in("model.jnm")), JN_OK);
    expect_params(back, base_params, "saved and loaded");
    jn_net_free(back);
}
static void failed_save(void)
{
    size_t len;
    unsigned char *now = read_all(path_in("model.jnm"), &len);
    ck_assert_msg(len == prev_len && memcmp(now, prev_bytes, len) == 0, "a failed save changed the previous file");
    free(now);
    ck_assert_int_eq(count_entries(dir), entries_before); /* no temporary file left */
    expect_params(base, base_params, "saved network");
    ck_assert_int_eq(call_save(), JN_OK);
    ok_save();
}

static jn_status call_load(void) { return jn_net_load(&net_out, path_in("saved.jnm")); }
static void ok_load(void)
{
    expect_params(net_out, base_params, "loaded");
    jn_net_free(net_out);
    net_out = NULL;
}

START_TEST(model_files)
{
    fixtures();
    oom_case save = {"jn_net_save", setup_save, call_save, failed_save, ok_save, NULL};
    run_case(&save);
    free(prev_bytes);
    prev_bytes = NULL;
    ck_assert_int_eq(jn_net_save(base, path_in("saved.jnm")), JN_OK);
    oom_case load = {"jn_net_load", NULL, call_load, failed_net, ok_load, NULL};
    run_case(&load);
}
END_TEST

/* ---- datasets and loaders ---- */

static jn_dataset *ref_ds, *ref_ds2, *ref_ds3;
static const char *load_a, *load_b;
typedef enum { L_IDX, L_USPS, L_CSV, L_MNIST, L_USPS_SPLITS, L_CREATE, L_BORROW, L_SLICE } load_kind;
static load_kind lkind;

static jn_status load_into(jn_dataset **a, jn_dataset **b, jn_dataset **c)
{
    switch (lkind) {
    case L_IDX: return jn_dataset_load_idx(a, load_a, load_b, 0);
    case L_USPS: return jn_dataset_load_usps(a, load_a);
    case L_CSV: return jn_dataset_load_csv(a, load_a, 0);
    case L_MNIST: return jn_load_mnist(load_a, 0, a, b, c);
    case L_USPS_SPLITS: return jn_load_usps(load_a, a, b, c);
    case L_CREATE: return jn_dataset_create(a, Ftrain, Ltrain, TRAIN, D, K, 0);
    case L_BORROW: return jn_dataset_create(a, Ftrain, Ltrain, TRAIN, D, K, JN_DATASET_BORROW);
    case L_SLICE: return jn_dataset_slice(a, train_ds, 5, 30);
    }
    return JN_ERR_INVALID;
}

static int has_splits(void) { return lkind == L_MNIST || lkind == L_USPS_SPLITS; }
static jn_status call_load_ds(void)
{
    return has_splits() ? load_into(&ds_out, &ds_out2, &ds_out3) : load_into(&ds_out, NULL, NULL);
}
static void free_outs(void)
{
    jn_dataset_free(ds_out);
    jn_dataset_free(ds_out2);
    jn_dataset_free(ds_out3);
    ds_out = ds_out2 = ds_out3 = NULL;
}
static void ok_load_ds(void)
{
    expect_same_dataset(ds_out, ref_ds);
    if (has_splits()) {
        expect_same_dataset(ds_out2, ref_ds2);
        expect_same_dataset(ds_out3, ref_ds3);
    }
    free_outs();
}
static void failed_load_ds(void)
{
    ck_assert(ds_out == NULL && ds_out2 == NULL && ds_out3 == NULL);
    if (lkind == L_SLICE) { /* the sliced dataset is untouched and usable */
        ck_assert_uint_eq(jn_dataset_count(train_ds), TRAIN);
        ck_assert(jn_dataset_features(train_ds) == Ftrain);
    }
}

START_TEST(loaders)
{
    fixtures();
    static const struct {
        load_kind kind;
        const char *name, *a, *b;
    } loads[] = {
        {L_IDX, "jn_dataset_load_idx raw", "img.idx", "lab.idx"},
        {L_IDX, "jn_dataset_load_idx gzip", "img.idx.gz", "lab.idx.gz"},
        {L_USPS, "jn_dataset_load_usps raw", "digits.usps", NULL},
        {L_USPS, "jn_dataset_load_usps gzip", "digits.usps.gz", NULL},
        {L_CSV, "jn_dataset_load_csv raw", "rows.csv", NULL},
        {L_CSV, "jn_dataset_load_csv gzip", "rows.csv.gz", NULL},
        {L_MNIST, "jn_load_mnist", "m", NULL},
        {L_USPS_SPLITS, "jn_load_usps", "u", NULL},
        {L_CREATE, "jn_dataset_create (copy)", NULL, NULL},
        {L_BORROW, "jn_dataset_create (borrow)", NULL, NULL},
        {L_SLICE, "jn_dataset_slice", NULL, NULL},
    };
    char a[4096], b[4096];
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        lkind = loads[i].kind;
        if (loads[i].a) snprintf(a, sizeof a, "%s", path_in(loads[i].a));
        if (loads[i].b) snprintf(b, sizeof b, "%s", path_in(loads[i].b));
        load_a = a;
        load_b = b;
        jn_status st = has_splits() ? load_into(&ref_ds, &ref_ds2, &ref_ds3) : load_into(&ref_ds, NULL, NULL);
        ck_assert_msg(st == JN_OK, "%s: %s", loads[i].name, jn_last_error());
        oom_case c = {loads[i].name, NULL, call_load_ds, failed_load_ds, ok_load_ds, NULL};
        run_case(&c);
        jn_dataset_free(ref_ds);
        jn_dataset_free(ref_ds2);
        jn_dataset_free(ref_ds3);
        ref_ds = ref_ds2 = ref_ds3 = NULL;
    }
}
END_TEST

static int remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return -1;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        if (d) closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

int main(void)
{
    Suite *s = suite_create("oom");
    const struct {
        const char *name;
        const TTest *test;
    } tests[] = {{"constructors", constructors}, {"evaluations", evaluations}, {"objectives", objectives},
                 {"optimizer_step", optimizer_step}, {"trainer", trainer}, {"model_files", model_files},
                 {"loaders", loaders}};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, tests[i].test);
        suite_add_tcase(s, tc);
    }
    /* One process: the fixtures above and LeakSanitizer's view of it. */
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    jn_dataset_free(train_ds);
    jn_dataset_free(valid_ds);
    jn_net_free(base);
    jn_net_free(base_sm);
    free(base_params);
    if (dir) remove_tree(dir);
    free(dir);
    return failed == 0 ? 0 : 1;
}
