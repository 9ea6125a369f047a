/* test_threads.c - what jacnet.h says may happen in several threads at
 * once ("Threads"), done from 4 threads and compared with the same work
 * done serially, bit for bit (one BLAS thread, so the sums are the same):
 *   - distinct networks, objectives, optimizers, trainers and datasets, each
 *     thread loading its own data file and saving and loading its own model;
 *   - several trainers reading one shared const dataset (train and
 *     validation) and one shared const objective, and one shared const
 *     network read by jn_net_clone, jn_net_get_params and jn_net_save;
 *   - jn_last_error per thread: distinct failures in each thread, each
 *     thread still seeing its own message after all have failed.
 * `make check` runs it as it is; `make check-tsan` (mk/tsan.mk) runs it
 * under ThreadSanitizer, which fails on any data race between the threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { THREADS = 4, EPOCHS = 3, K = 3, ROWS = 60, VALID_ROWS = 20, PROBE = 5 };

static char *tmp;

/* What one thread did: the final parameters, every epoch's mean objective,
 * the Jacobian norms of a few validation rows and the status. */
typedef struct job {
    int id;
    int shared;                    /* 1: use the shared dataset and objective */
    const jn_dataset *train, *valid;
    const jn_objective *obj;
    jn_status st;
    char where[64], err[512];
    float *params;
    size_t n_params;
    double objective[EPOCHS];
    double valid_error[EPOCHS];
    unsigned epochs;
    float sqnorm[PROBE];
    double value, grad_err;        /* jn_net_objective, jn_net_check_gradient */
    uint64_t perm_hash;            /* jn_dataset_shuffle with the thread's own rng */
    float noisy[PROBE];            /* jn_corrupt with it */
} job;

#define FAIL_IF(cond, ...)                                                                          \
    do {                                                                                            \
        if (cond) {                                                                                 \
            snprintf(j->where, sizeof j->where, __VA_ARGS__);                                      \
            snprintf(j->err, sizeof j->err, "%s", jn_last_error());                                \
            goto done;                                                                              \
        }                                                                                           \
    } while (0)

static int on_epoch(const jn_epoch_report *r, void *user)
{
    job *j = user;
    if (j->epochs < EPOCHS) {
        j->objective[j->epochs] = r->train_objective;
        j->valid_error[j->epochs] = r->valid_error;
        j->epochs++;
    }
    return 0;
}

static size_t dim_of(int id) { return 4 + (size_t)id; }

static const char *csv_path(int id)
{
    static char p[THREADS][4096];
    snprintf(p[id], sizeof p[id], "%s/data-%d.csv", tmp, id);
    return p[id];
}

/* Thread id's own data file: ROWS + VALID_ROWS rows of dim_of(id)
 * features, the class a function of the first two. */
static void write_csv(int id)
{
    size_t D = dim_of(id), n = ROWS + VALID_ROWS;
    float *x = malloc(n * D * sizeof(float));
    fill_uniform(x, n * D, 100 + (unsigned)id, 0.0f, 1.0f);
    FILE *f = fopen(csv_path(id), "w");
    ck_assert(f != NULL);
    for (size_t i = 0; i < n; i++) {
        float s = x[i * D] + x[i * D + 1];
        fprintf(f, "%d", s < 0.7f ? 0 : s < 1.3f ? 1 : 2);
        for (size_t d = 0; d < D; d++) fprintf(f, ",%.6f", (double)x[i * D + d]);
        fprintf(f, "\n");
    }
    fclose(f);
    free(x);
}

/* A different objective per thread, so the threads exercise different code. */
static jn_status own_objective(int id, jn_objective **out)
{
    jn_status st;
    switch (id % 4) {
    case 0:
        st = jn_objective_create(out, JN_LOSS_MSE);
        if (st == JN_OK) st = jn_objective_set_jacobian(*out, 0.1, 0);
        return st;
    case 1:
        st = jn_objective_create(out, JN_LOSS_CE);
        if (st == JN_OK) st = jn_objective_set_l2(*out, 1e-3);
        if (st == JN_OK) st = jn_objective_set_jacobian(*out, 0.05, 0);
        if (st == JN_OK) st = jn_objective_set_penalty_target(*out, JN_PENALTY_LOGITS);
        return st;
    case 2:
        st = jn_objective_create(out, JN_LOSS_MSE);
        if (st == JN_OK) st = jn_objective_set_jacobian(*out, 0.1, 2);
        if (st == JN_OK) st = jn_objective_set_noise(*out, JN_NOISE_UNIFORM, 0.05, 0.05);
        return st;
    default:
        return jn_objective_create_model(out, JN_MODEL_MLP_NJ_BOTH, 0.1, 0.1);
    }
}

static void *run_job(void *arg)
{
    job *j = arg;
    jn_dataset *all = NULL, *train = NULL, *valid = NULL, *part = NULL;
    jn_rng *rng = NULL;
    jn_objective *obj = NULL;
    jn_net *net = NULL, *back = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    int id = j->id;
    const jn_dataset *tr_ds = j->train, *va_ds = j->valid;
    const jn_objective *use_obj = j->obj;
    if (!j->shared) {
        FAIL_IF((j->st = jn_dataset_load_csv(&all, csv_path(id), 0)) != JN_OK, "load_csv");
        FAIL_IF((j->st = jn_dataset_slice(&train, all, 0, ROWS)) != JN_OK, "slice train");
        FAIL_IF((j->st = jn_dataset_slice(&valid, all, ROWS, VALID_ROWS)) != JN_OK, "slice valid");
        FAIL_IF((j->st = own_objective(id, &obj)) != JN_OK, "objective");
        tr_ds = train;
        va_ds = valid;
        use_obj = obj;
    }
    size_t D = jn_dataset_dim(tr_ds);
    int ce = !j->shared && id % 4 == 1;
    const size_t sizes[] = {D, 5 + (size_t)id, 4, K};
    static const jn_act hidden[] = {JN_ACT_TANH, JN_ACT_SIGMOID, JN_ACT_RELU, JN_ACT_TANH};
    FAIL_IF((j->st = jn_net_create(&net, sizes, 4, hidden[id % 4], ce ? JN_ACT_SOFTMAX : JN_ACT_SIGMOID)) != JN_OK,
            "net_create");
    FAIL_IF((j->st = jn_net_init(net, 40 + (uint64_t)id)) != JN_OK, "init");
    j->st = id % 2 ? jn_optimizer_create_adam(&opt, 0.01, 0.9, 0.999, 1e-8) : jn_optimizer_create_sgd(&opt, 0.2, 0.5);
    FAIL_IF(j->st != JN_OK, "optimizer");
    FAIL_IF((j->st = jn_trainer_create(&tr)) != JN_OK, "trainer");
    jn_trainer_set_epochs(tr, EPOCHS);
    jn_trainer_set_batch_size(tr, 7); /* a short last batch too */
    jn_trainer_set_seed(tr, 7 + (uint64_t)id);
    jn_trainer_set_epoch_callback(tr, on_epoch, j);
    FAIL_IF((j->st = jn_trainer_run(tr, net, use_obj, opt, tr_ds, va_ds)) != JN_OK, "trainer_run");
    j->n_params = jn_net_param_count(net);
    j->params = malloc(j->n_params * sizeof(float));
    FAIL_IF((j->st = jn_net_get_params(net, j->params, j->n_params)) != JN_OK, "get_params");
    FAIL_IF((j->st = jn_net_jacobian_sqnorm(net, jn_dataset_features(va_ds), PROBE, j->sqnorm)) != JN_OK,
            "sqnorm");
    /* The other const readers of the (possibly shared) dataset and
     * objective, on rows gathered in a shuffled order. */
    size_t idx[PROBE], perm[ROWS];
    float Xp[PROBE * 16], Yp[PROBE * K];
    FAIL_IF((j->st = jn_rng_create_stream(&rng, 5, (uint64_t)id)) != JN_OK, "rng");
    FAIL_IF((j->st = jn_dataset_shuffle(tr_ds, rng, perm)) != JN_OK, "shuffle");
    j->perm_hash = 1469598103934665603ULL;
    for (size_t i = 0; i < ROWS; i++) j->perm_hash = (j->perm_hash ^ perm[i]) * 1099511628211ULL;
    for (int i = 0; i < PROBE; i++) idx[i] = perm[i];
    FAIL_IF((j->st = jn_dataset_gather(tr_ds, idx, PROBE, Xp)) != JN_OK, "gather");
    FAIL_IF((j->st = jn_dataset_onehot(tr_ds, idx, PROBE, Yp)) != JN_OK, "onehot");
    FAIL_IF((j->st = jn_dataset_slice(&part, tr_ds, 3, PROBE)) != JN_OK, "slice");
    FAIL_IF(memcmp(jn_dataset_features(part), jn_dataset_features(tr_ds) + 3 * D, PROBE * D * sizeof(float)) != 0,
            "slice differs");
    FAIL_IF((j->st = jn_net_objective(net, use_obj, Xp, NULL, Yp, PROBE, &j->value, NULL)) != JN_OK, "objective");
    FAIL_IF((j->st = jn_net_check_gradient(net, use_obj, Xp, NULL, Yp, PROBE, &j->grad_err)) != JN_OK,
            "check_gradient");
    FAIL_IF(j->grad_err > 1e-2, "gradient check %g", j->grad_err);
    FAIL_IF((j->st = jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.1, Xp, j->noisy, PROBE)) != JN_OK, "corrupt");
    /* Each thread its own model file, read back. */
    char path[4200];
    snprintf(path, sizeof path, "%s/model-%d-%d.jnm", tmp, id, j->shared);
    FAIL_IF((j->st = jn_net_save(net, path)) != JN_OK, "save");
    FAIL_IF((j->st = jn_net_load(&back, path)) != JN_OK, "load");
    float *p = malloc(j->n_params * sizeof(float));
    j->st = jn_net_get_params(back, p, j->n_params);
    int same = j->st == JN_OK && memcmp(p, j->params, j->n_params * sizeof(float)) == 0;
    free(p);
    FAIL_IF(!same, "model file round trip differs");
done:
    jn_dataset_free(all);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    jn_dataset_free(part);
    jn_rng_free(rng);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_net_free(back);
    jn_optimizer_free(opt);
    jn_trainer_free(tr);
    return NULL;
}

static void expect_ok(const job *j)
{
    ck_assert_msg(j->st == JN_OK, "thread %d: %s: %s: %s", j->id, j->where, jn_status_str(j->st), j->err);
    ck_assert_uint_eq(j->epochs, EPOCHS);
}

static void expect_same(const job *got, const job *want)
{
    expect_ok(got);
    ck_assert_uint_eq(got->n_params, want->n_params);
    for (size_t i = 0; i < want->n_params; i++)
        ck_assert_msg(memcmp(&got->params[i], &want->params[i], sizeof(float)) == 0,
                      "thread %d: parameter %zu = %.9g concurrently, %.9g serially", got->id, i,
                      (double)got->params[i], (double)want->params[i]);
    for (int e = 0; e < EPOCHS; e++) {
        ck_assert_msg(got->objective[e] == want->objective[e], "thread %d epoch %d: objective %.17g vs %.17g",
                      got->id, e + 1, got->objective[e], want->objective[e]);
        ck_assert(got->valid_error[e] == want->valid_error[e]);
    }
    ck_assert(memcmp(got->sqnorm, want->sqnorm, sizeof got->sqnorm) == 0);
    ck_assert(got->value == want->value && got->grad_err == want->grad_err);
    ck_assert(got->perm_hash == want->perm_hash);
    ck_assert(memcmp(got->noisy, want->noisy, sizeof got->noisy) == 0);
}

/* The jobs serially in this thread, then the same jobs in THREADS threads. */
static void serial_then_concurrent(job *serial, job *conc)
{
    for (int t = 0; t < THREADS; t++) {
        run_job(&serial[t]);
        expect_ok(&serial[t]);
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) ck_assert_int_eq(pthread_create(&th[t], NULL, run_job, &conc[t]), 0);
    for (int t = 0; t < THREADS; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < THREADS; t++) expect_same(&conc[t], &serial[t]);
    /* The threads did different work (or the comparison proves little). */
    for (int t = 1; t < THREADS; t++)
        ck_assert(serial[t].n_params != serial[0].n_params ||
                  memcmp(serial[t].params, serial[0].params, serial[0].n_params * sizeof(float)) != 0);
    for (int t = 0; t < THREADS; t++) {
        free(serial[t].params);
        free(conc[t].params);
    }
}

START_TEST(distinct_handles)
{
    job serial[THREADS] = {0}, conc[THREADS] = {0};
    for (int t = 0; t < THREADS; t++) {
        write_csv(t);
        serial[t].id = conc[t].id = t;
    }
    serial_then_concurrent(serial, conc);
}
END_TEST

START_TEST(shared_const_dataset_and_objective)
{
    enum { D = 6 };
    float x[(ROWS + VALID_ROWS) * D];
    int32_t y[ROWS + VALID_ROWS];
    fill_uniform(x, sizeof x / sizeof x[0], 9, 0.0f, 1.0f);
    for (int i = 0; i < ROWS + VALID_ROWS; i++) y[i] = (x[i * D] > 0.5f) + (x[i * D + 1] > 0.5f);
    jn_dataset *train = NULL, *valid = NULL;
    jn_objective *obj = NULL;
    ck_assert_int_eq(jn_dataset_create(&train, x, y, ROWS, D, K, 0), JN_OK);
    /* Borrowed arrays may be shared as well: nobody writes them. */
    ck_assert_int_eq(jn_dataset_create(&valid, x + ROWS * D, y + ROWS, VALID_ROWS, D, K, JN_DATASET_BORROW), JN_OK);
    obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.1, 0.1);
    job serial[THREADS] = {0}, conc[THREADS] = {0};
    for (int t = 0; t < THREADS; t++) {
        job j = {.id = t, .shared = 1, .train = train, .valid = valid, .obj = obj};
        serial[t] = conc[t] = j;
    }
    serial_then_concurrent(serial, conc);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    jn_objective_free(obj);
}
END_TEST

/* ---- one shared const network: only the const functions ---- */

static const jn_net *shared_net;
static float *shared_want;
static size_t shared_count;

static void *read_shared_net(void *arg)
{
    intptr_t id = (intptr_t)arg;
    intptr_t bad = 0;
    for (int round = 0; round < 20 && !bad; round++) {
        float *p = malloc(shared_count * sizeof(float));
        jn_net *copy = NULL;
        bad = jn_net_get_params(shared_net, p, shared_count) != JN_OK ||
              memcmp(p, shared_want, shared_count * sizeof(float)) != 0 || jn_net_clone(&copy, shared_net) != JN_OK ||
              jn_net_param_count(copy) != shared_count || jn_net_size(shared_net, 1) != 8 ||
              jn_net_layers(shared_net) != 2 || jn_net_hidden_act(shared_net) != JN_ACT_TANH ||
              jn_net_output_act(shared_net) != JN_ACT_SIGMOID || jn_net_param_count(shared_net) != shared_count;
        char path[4200];
        snprintf(path, sizeof path, "%s/shared-%d.jnm", tmp, (int)id);
        bad = bad || jn_net_save(shared_net, path) != JN_OK;
        jn_net_free(copy);
        free(p);
    }
    return (void *)bad;
}

START_TEST(shared_const_network)
{
    jn_net *net = tiny_net(5, 8, 2, 3);
    shared_net = net;
    shared_count = jn_net_param_count(net);
    shared_want = malloc(shared_count * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(net, shared_want, shared_count), JN_OK);
    pthread_t th[THREADS];
    for (intptr_t t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, read_shared_net, (void *)t), 0);
    for (int t = 0; t < THREADS; t++) {
        void *bad;
        ck_assert_int_eq(pthread_join(th[t], &bad), 0);
        ck_assert_msg(bad == NULL, "thread %d: a const call on the shared network failed or read wrong values", t);
    }
    /* Every thread's file holds the network. */
    for (int t = 0; t < THREADS; t++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/shared-%d.jnm", tmp, t);
        jn_net *back = NULL;
        ck_assert_int_eq(jn_net_load(&back, path), JN_OK);
        float *p = malloc(shared_count * sizeof(float));
        ck_assert_int_eq(jn_net_get_params(back, p, shared_count), JN_OK);
        ck_assert(memcmp(p, shared_want, shared_count * sizeof(float)) == 0);
        free(p);
        jn_net_free(back);
    }
    free(shared_want);
    jn_net_free(net);
}
END_TEST

/* ---- jn_last_error is per thread ---- */

static pthread_barrier_t all_failed, all_checked;

typedef struct err_job {
    int id;
    int rounds_ok;
    char got[512], want[64];
} err_job;

/* A failure naming something only this thread uses: a missing file with
 * the thread's number, or a layer width of 0 at the thread's index. */
static jn_status fail_distinctly(int id, int round, char *token, size_t size)
{
    if (id % 2 == 0) {
        char path[4200];
        snprintf(token, size, "missing-t%d-r%d", id, round);
        snprintf(path, sizeof path, "%s/%s.csv", tmp, token);
        jn_dataset *ds = NULL;
        return jn_dataset_load_csv(&ds, path, 0);
    }
    size_t sizes[THREADS + 1] = {3, 3, 3, 3, 3};
    sizes[id] = 0;
    snprintf(token, size, "sizes[%d] = 0", id);
    jn_net *net = NULL;
    return jn_net_create(&net, sizes, THREADS + 1, JN_ACT_TANH, JN_ACT_TANH);
}

static void *error_job(void *arg)
{
    err_job *e = arg;
    for (int round = 0; round < 50; round++) {
        jn_status st = fail_distinctly(e->id, round, e->want, sizeof e->want);
        /* Wait until every thread has written its message, then read ours. */
        pthread_barrier_wait(&all_failed);
        snprintf(e->got, sizeof e->got, "%s", jn_last_error());
        if (st != JN_OK && strstr(e->got, e->want)) e->rounds_ok++;
        pthread_barrier_wait(&all_checked);
    }
    return NULL;
}

START_TEST(last_error_per_thread)
{
    /* The main thread's own message must survive the others' failures too. */
    jn_rng *r = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&r, 1, 1u << 20), JN_ERR_INVALID);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", jn_last_error());
    ck_assert(strstr(mine, "stream") != NULL);
    ck_assert_int_eq(pthread_barrier_init(&all_failed, NULL, THREADS), 0);
    ck_assert_int_eq(pthread_barrier_init(&all_checked, NULL, THREADS), 0);
    err_job jobs[THREADS] = {{0}};
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t].id = t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, error_job, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < THREADS; t++)
        ck_assert_msg(jobs[t].rounds_ok == 50, "thread %d saw its own message in %d of 50 rounds (last: '%s', want '%s')",
                      t, jobs[t].rounds_ok, jobs[t].got, jobs[t].want);
    ck_assert_str_eq(jn_last_error(), mine);
    pthread_barrier_destroy(&all_failed);
    pthread_barrier_destroy(&all_checked);
}
END_TEST

int main(void)
{
    if (!(tmp = make_temp_dir())) return 1;
    /* One BLAS thread: the same sums serially and concurrently. */
    if (jn_set_threads(1) != JN_OK) {
        fprintf(stderr, "jn_set_threads(1): %s\n", jn_last_error());
        return 1;
    }
    int rc = RUN_TESTS("threads", "threads", 300, distinct_handles, shared_const_dataset_and_objective,
                       shared_const_network, last_error_per_thread);
    remove_temp_dir(tmp);
    return rc;
}
