/* test_sharding.c - the trainer's gradient hook and sharded runs, without
 * MPI: threads stand in for processes and a barrier-based hook does what
 * libjacnet_mpi's MPI_Allreduce does. A sharded run over 2, 3 or 4
 * "processes" must reach the parameters of the single-process sharded run
 * (same global batch, same per-example noise and projections) up to float
 * rounding; the unsharded default must not change at all. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DIM 5
#define CLASSES 3

/* Three classes by the sign pattern of x0 + x1 and x2 - x3, dim 5. */
static jn_dataset *blobs(size_t n, unsigned seed)
{
    float *X = malloc(n * DIM * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * DIM, seed, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * DIM;
        y[i] = x[0] + x[1] > 0.0f ? 2 : x[2] - x[3] > 0.0f ? 1 : 0;
    }
    return dataset_from(X, y, n, DIM, CLASSES);
}

static jn_net *small_net(void)
{
    const size_t sizes[] = {DIM, 7, 6, CLASSES};
    return init_net(sizes, 4, JN_ACT_TANH, JN_ACT_SIGMOID, 7);
}

/* Every source of randomness the trainer has: noise on both inputs and a
 * projected penalty; l2 and momentum so that steps depend on history. */
static jn_objective *noisy_objective(unsigned projections)
{
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.05, 0.2);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.05, projections), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(obj, 1e-3), JN_OK);
    return obj;
}

/* ---- the hook contract, one process ---- */

typedef struct seen {
    int calls, fail_at;
    float *first_grad;
    size_t count, rows[64];
    double value_out; /* if finite, the hook replaces *value with it */
    int zero_grad;
} seen;

static jn_status watching_hook(float *grad, size_t count, double *value, size_t *batch_rows, void *user)
{
    seen *s = user;
    if (s->calls == s->fail_at) return JN_ERR_IO;
    if (s->calls == 0) {
        s->first_grad = malloc(count * sizeof(float));
        memcpy(s->first_grad, grad, count * sizeof(float));
        s->count = count;
    }
    if (s->calls < 64) s->rows[s->calls] = *batch_rows;
    s->calls++;
    if (!isnan(s->value_out)) *value = s->value_out;
    if (s->zero_grad) memset(grad, 0, count * sizeof(float));
    return JN_OK;
}

static double last_objective;
static int keep_objective(const jn_epoch_report *r, void *user)
{
    last_objective = r->train_objective;
    return 0;
}

START_TEST(hook_sees_the_minibatch_gradient)
{
    /* 30 examples, batch 8: 8 8 8 6. No noise and the exact penalty, so
     * the first minibatch's gradient can be recomputed outside. */
    jn_dataset *tr = blobs(30, 1);
    jn_net *net = small_net(), *copy = NULL;
    ck_assert_int_eq(jn_net_clone(&copy, net), JN_OK);
    jn_objective *obj = model_objective(JN_MODEL_MLP_JACOB, 0.1, 0.0);
    jn_optimizer *opt = sgd_optimizer(0.1, 0.0);
    jn_trainer *t = trainer_for(2, 8);
    ck_assert_int_eq(jn_trainer_set_seed(t, 5), JN_OK);
    seen s = {.fail_at = -1, .value_out = NAN};
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, watching_hook, &s), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    ck_assert_int_eq(s.calls, 8);
    const size_t rows[8] = {8, 8, 8, 6, 8, 8, 8, 6};
    for (int k = 0; k < 8; k++) ck_assert_uint_eq(s.rows[k], rows[k]);

    /* the first minibatch: the trainer's shuffle stream is stream 0 of its seed */
    size_t P = jn_net_param_count(copy), perm[30];
    ck_assert_uint_eq(s.count, P);
    jn_rng *rng = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&rng, 5, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_shuffle(tr, rng, perm), JN_OK);
    float X[8 * DIM], Y[8 * CLASSES], *g = malloc(P * sizeof *g);
    ck_assert_int_eq(jn_dataset_gather(tr, perm, 8, X), JN_OK);
    ck_assert_int_eq(jn_dataset_onehot(tr, perm, 8, Y), JN_OK);
    ck_assert_int_eq(jn_net_objective(copy, obj, X, NULL, Y, 8, NULL, g), JN_OK);
    double norm = 0.0;
    for (size_t i = 0; i < P; i++) {
        ck_assert_msg(s.first_grad[i] == g[i], "grad[%zu]: hook saw %g, recomputed %g", i, s.first_grad[i], g[i]);
        norm += fabs(g[i]);
    }
    ck_assert(norm > 0.0);
    free(g); free(s.first_grad); jn_rng_free(rng);
    jn_trainer_free(t); jn_optimizer_free(opt); jn_objective_free(obj); jn_net_free(net); jn_net_free(copy);
    jn_dataset_free(tr);
}
END_TEST

START_TEST(hook_decides_the_step)
{
    jn_dataset *tr = blobs(30, 1);
    jn_net *net = small_net();
    size_t P = jn_net_param_count(net);
    float *before = malloc(P * sizeof *before);
    memcpy(before, jn_net_params(net), P * sizeof *before);
    jn_objective *obj = noisy_objective(2);
    jn_optimizer *opt = sgd_optimizer(0.5, 0.5);
    jn_trainer *t = trainer_for(2, 8);
    ck_assert_int_eq(jn_trainer_set_epoch_callback(t, keep_objective, NULL), JN_OK);
    /* the optimizer uses what the hook returns: a zeroed gradient leaves the
     * parameters as they were; the returned value is what the epoch reports */
    seen s = {.fail_at = -1, .value_out = 42.5, .zero_grad = 1};
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, watching_hook, &s), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    ck_assert(memcmp(before, jn_net_params(net), P * sizeof *before) == 0);
    ck_assert(last_objective == 42.5);
    free(s.first_grad);

    /* a failing hook ends the run with its status, at once */
    seen f = {.fail_at = 3, .value_out = NAN};
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, watching_hook, &f), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_ERR_IO);
    ck_assert_int_eq(f.calls, 3);
    ck_assert_msg(strstr(jn_last_error(), "gradient hook") && strstr(jn_last_error(), "step 3"), "%s",
                  jn_last_error());
    free(f.first_grad);

    /* a non-finite mean from the hook is divergence; parameters stay finite
     * and as they were before that step */
    memcpy(before, jn_net_params(net), P * sizeof *before);
    seen d = {.fail_at = -1, .value_out = INFINITY};
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, watching_hook, &d), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_ERR_DIVERGED);
    ck_assert_int_eq(d.calls, 1);
    ck_assert(memcmp(before, jn_net_params(net), P * sizeof *before) == 0);
    free(d.first_grad);

    /* NULL removes the hook: training moves the parameters again */
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, NULL, NULL), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    ck_assert(memcmp(before, jn_net_params(net), P * sizeof *before) != 0);
    ck_assert_int_eq(jn_trainer_set_gradient_hook(NULL, NULL, NULL), JN_ERR_INVALID);
    free_run(t, opt, obj, net);
    free(before); jn_dataset_free(tr);
}
END_TEST

/* ---- sharded runs: threads as processes ---- */

#define MAX_RANKS 4

typedef struct group {
    int size;
    pthread_barrier_t barrier;
    float *slot[MAX_RANKS]; /* m_r g_r of each rank */
    double value[MAX_RANKS];
    size_t rows[MAX_RANKS];
} group;

typedef struct member {
    group *g;
    int rank;
    /* what the thread trains and the result */
    const jn_dataset *train, *valid;
    const jn_objective *obj;
    int adam;
    unsigned epochs, patience;
    size_t batch;
    jn_net *net;
    double objectives[16];
    unsigned epochs_run;
    jn_status status;
} member;

/* Sum m_r g_r over the ranks in rank order (the same order in every
 * thread, so all get the same bits), then divide by sum m_r. */
static jn_status barrier_allreduce(float *grad, size_t count, double *value, size_t *batch_rows, void *user)
{
    member *me = user;
    group *g = me->g;
    float m = (float)*batch_rows;
    for (size_t i = 0; i < count; i++) g->slot[me->rank][i] = grad[i] * m;
    g->value[me->rank] = *value * (double)*batch_rows;
    g->rows[me->rank] = *batch_rows;
    pthread_barrier_wait(&g->barrier);
    size_t rows = 0;
    double v = 0.0;
    for (int r = 0; r < g->size; r++) {
        rows += g->rows[r];
        v += g->value[r];
    }
    for (size_t i = 0; i < count; i++) {
        float sum = 0.0f;
        for (int r = 0; r < g->size; r++) sum += g->slot[r][i];
        grad[i] = sum / (float)rows;
    }
    *value = v / (double)rows;
    *batch_rows = rows;
    pthread_barrier_wait(&g->barrier); /* nobody refills a slot before all have read it */
    return JN_OK;
}

static int log_epoch(const jn_epoch_report *r, void *user)
{
    member *me = user;
    if (r->epoch <= 16) me->objectives[r->epoch - 1] = r->train_objective;
    me->epochs_run = r->epoch;
    return 0;
}

/* Train me->net; g NULL: the single-process sharded reference (0, 1). */
static void *run_member(void *arg)
{
    member *me = arg;
    jn_optimizer *opt = NULL;
    jn_trainer *t = NULL;
    if (me->adam)
        opt = adam_optimizer(0.01);
    else
        opt = sgd_optimizer(0.3, 0.6);
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, me->epochs), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, me->batch), JN_OK);
    ck_assert_int_eq(jn_trainer_set_patience(t, me->patience), JN_OK);
    ck_assert_int_eq(jn_trainer_set_seed(t, 17), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epoch_callback(t, log_epoch, me), JN_OK);
    if (me->g) {
        ck_assert_int_eq(jn_trainer_set_sharding(t, (unsigned)me->rank, (unsigned)me->g->size), JN_OK);
        ck_assert_int_eq(jn_trainer_set_gradient_hook(t, barrier_allreduce, me), JN_OK);
    } else {
        ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 1), JN_OK);
    }
    me->net = small_net();
    me->status = jn_trainer_run(t, me->net, me->obj, opt, me->train, me->valid);
    jn_trainer_free(t);
    jn_optimizer_free(opt);
    return NULL;
}

/* Train with `size` threads; every thread's result goes to out[0..size). */
static void run_group(int size, member *proto, member *out)
{
    group g = {.size = size};
    pthread_t th[MAX_RANKS];
    size_t P = 0;
    {
        jn_net *n = small_net();
        P = jn_net_param_count(n);
        jn_net_free(n);
    }
    ck_assert_int_eq(pthread_barrier_init(&g.barrier, NULL, (unsigned)size), 0);
    for (int r = 0; r < size; r++) {
        g.slot[r] = malloc(P * sizeof(float));
        out[r] = *proto;
        out[r].g = &g;
        out[r].rank = r;
    }
    for (int r = 0; r < size; r++) ck_assert_int_eq(pthread_create(&th[r], NULL, run_member, &out[r]), 0);
    for (int r = 0; r < size; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g.barrier);
    for (int r = 0; r < size; r++) {
        free(g.slot[r]);
        out[r].g = NULL;
    }
}

/* Largest |a - b| / (1 + |b|) over the parameters. */
static double param_gap(const jn_net *a, const jn_net *b)
{
    size_t P = jn_net_param_count(a);
    const float *pa = jn_net_params((jn_net *)a), *pb = jn_net_params((jn_net *)b);
    double worst = 0.0;
    for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs((double)pa[i] - pb[i]) / (1.0 + fabs((double)pb[i])));
    return worst;
}

/* Float rounding of the reduction order (m_r g_r summed, then divided)
 * against the one GEMM of the whole batch: measured below 1e-7 after these
 * runs; a wrong shard, weight or noise stream moves parameters by > 1e-2. */
#define TOLERANCE 2e-5

static void check_shards_match(unsigned projections, int adam, const jn_dataset *valid, unsigned patience)
{
    jn_set_threads(1);
    /* 33 examples in batches of 8: 8 8 8 8 1, so the last minibatch leaves
     * ranks with no rows, and the others split 8 unevenly over 3 ranks. */
    jn_dataset *tr = blobs(33, 3);
    jn_objective *obj = noisy_objective(projections);
    member proto = {.train = tr, .valid = valid, .obj = obj, .adam = adam, .epochs = 6, .patience = patience,
                    .batch = 8};
    member ref = proto;
    run_member(&ref);
    ck_assert_int_eq(ref.status, JN_OK);
    /* the reference really trained: it moved far from the initial net */
    jn_net *init = small_net();
    double moved = param_gap(ref.net, init);
    ck_assert_msg(moved > 100 * TOLERANCE, "training moved the parameters by only %g", moved);
    jn_net_free(init);
    for (int size = 2; size <= MAX_RANKS; size++) {
        member out[MAX_RANKS];
        run_group(size, &proto, out);
        for (int r = 0; r < size; r++) {
            ck_assert_int_eq(out[r].status, JN_OK);
            ck_assert_uint_eq(out[r].epochs_run, ref.epochs_run);
            double gap = param_gap(out[r].net, ref.net);
            ck_assert_msg(gap < TOLERANCE, "%d ranks, rank %d: parameters differ from one process by %g", size, r,
                          gap);
            for (unsigned e = 0; e < ref.epochs_run; e++)
                ck_assert_msg(fabs(out[r].objectives[e] - ref.objectives[e]) < TOLERANCE * (1 + ref.objectives[e]),
                              "%d ranks, epoch %u: objective %.9g, one process %.9g", size, e + 1,
                              out[r].objectives[e], ref.objectives[e]);
            /* every rank holds the same parameters, bit for bit */
            ck_assert(memcmp(jn_net_params(out[r].net), jn_net_params(out[0].net),
                             jn_net_param_count(ref.net) * sizeof(float)) == 0);
        }
        for (int r = 0; r < size; r++) jn_net_free(out[r].net);
    }
    jn_net_free(ref.net);
    jn_objective_free(obj);
    jn_dataset_free(tr);
}

START_TEST(shards_match_one_process_exact_penalty)
{
    check_shards_match(0, 0, NULL, 0);
}
END_TEST

START_TEST(shards_match_one_process_projections)
{
    check_shards_match(2, 1, NULL, 0);
}
END_TEST

START_TEST(shards_match_one_process_early_stopping)
{
    jn_dataset *va = blobs(40, 9);
    check_shards_match(1, 0, va, 2);
    jn_dataset_free(va);
}
END_TEST

/* Same seed, sharded over one process: noise comes from per-example streams,
 * so results differ from the default run whenever there is noise; without
 * any noise or projections the two runs are the same computation. */
static jn_net *run_one(const jn_objective *obj, int sharding)
{
    jn_dataset *tr = blobs(33, 3);
    jn_optimizer *opt = sgd_optimizer(0.3, 0.6);
    jn_trainer *t = trainer_for(3, 8);
    if (sharding == 1) ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 1), JN_OK);
    if (sharding == 2) {
        /* turned on, then off again: the default */
        ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 1), JN_OK);
        ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 0), JN_OK);
    }
    jn_net *net = small_net();
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    jn_trainer_free(t); jn_optimizer_free(opt); jn_dataset_free(tr);
    return net;
}

START_TEST(sharding_off_is_the_default)
{
    jn_objective *noisy = noisy_objective(2), *clean = NULL;
    clean = model_objective(JN_MODEL_MLP_JACOB, 0.05, 0.0);
    jn_net *plain = run_one(noisy, 0), *off = run_one(noisy, 2), *one = run_one(noisy, 1);
    size_t bytes = jn_net_param_count(plain) * sizeof(float);
    ck_assert(memcmp(jn_net_params(plain), jn_net_params(off), bytes) == 0);
    ck_assert_msg(param_gap(plain, one) > 1e-3, "per-example streams gave the default run's noise");
    jn_net *c0 = run_one(clean, 0), *c1 = run_one(clean, 1);
    ck_assert(memcmp(jn_net_params(c0), jn_net_params(c1), bytes) == 0);
    jn_net_free(plain); jn_net_free(off); jn_net_free(one); jn_net_free(c0); jn_net_free(c1);
    jn_objective_free(noisy); jn_objective_free(clean);
}
END_TEST

/* Records the gradient of the first two steps, then zeroes every gradient
 * so the parameters never move. */
typedef struct two_steps { int calls; float *g[2]; } two_steps;

static jn_status freeze_hook(float *grad, size_t count, double *value, size_t *batch_rows, void *user)
{
    two_steps *t = user;
    if (t->calls < 2) {
        t->g[t->calls] = malloc(count * sizeof(float));
        memcpy(t->g[t->calls], grad, count * sizeof(float));
    }
    t->calls++;
    memset(grad, 0, count * sizeof(float));
    return JN_OK;
}

/* Largest |a - b| over max |b|. */
static double grad_gap(const float *a, const float *b, size_t n)
{
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

/* Sharded runs draw new projection vectors every step: two steps on the same
 * rows (the batch is the whole set) with the same parameters differ in
 * their projected gradients, but not in the exact ones. */
static double second_step_change(unsigned projections)
{
    jn_dataset *tr = blobs(12, 4);
    jn_net *net = small_net();
    jn_objective *obj = model_objective(JN_MODEL_MLP_JACOB, 0.5, 0.0);
    jn_optimizer *opt = NULL;
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.5, projections), JN_OK);
    opt = sgd_optimizer(0.1, 0.0);
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, 2), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, 12), JN_OK);
    ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 1), JN_OK);
    two_steps rec = {0};
    ck_assert_int_eq(jn_trainer_set_gradient_hook(t, freeze_hook, &rec), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    ck_assert_int_eq(rec.calls, 2);
    double gap = grad_gap(rec.g[1], rec.g[0], jn_net_param_count(net));
    free_run(t, opt, obj, net);
    free(rec.g[0]); free(rec.g[1]); jn_dataset_free(tr);
    return gap;
}

START_TEST(sharded_projections_change_every_step)
{
    double exact = second_step_change(0), projected = second_step_change(1);
    ck_assert_msg(exact < 1e-5, "exact penalty: the same rows and parameters gave gradients %g apart", exact);
    ck_assert_msg(projected > 1e-2, "1 projection: the second step's gradient is within %g of the first's; "
                  "are the projection vectors drawn anew each step?", projected);
}
END_TEST

START_TEST(sharding_arguments)
{
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_sharding(NULL, 0, 1), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_sharding(t, 2, 2), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "rank 2 of size 2") != NULL);
    ck_assert_int_eq(jn_trainer_set_sharding(t, 1, 0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_sharding(t, 3, 4), JN_OK);
    /* more than one process without a hook would step on partial gradients */
    jn_dataset *tr = blobs(20, 1);
    jn_net *net = small_net();
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    jn_optimizer *opt = sgd_optimizer(0.1, 0.0);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "gradient hook") != NULL);
    free_run(t, opt, obj, net);
    jn_dataset_free(tr);
}
END_TEST

int main(void)
{
    return RUN_TESTS("sharding", "sharding", 60, hook_sees_the_minibatch_gradient, hook_decides_the_step,
                     shards_match_one_process_exact_penalty, shards_match_one_process_projections,
                     shards_match_one_process_early_stopping, sharding_off_is_the_default,
                     sharded_projections_change_every_step, sharding_arguments);
}
