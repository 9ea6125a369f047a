/* test_collective.c - jn_trainer_set_collective without MPI: threads stand
 * in for processes, and sums and broadcasts made of a barrier do what
 * libjacnet_mpi's MPI_Allreduce and MPI_Bcast do (tests/mpi/ runs the
 * same with MPI). The trainer must then do everything a one-process run
 * does, alike on every "process": float targets validated on shares,
 * a stop asked by one process only, checkpoints written by rank 0 and
 * resumed by all (bit for bit), a failure one process meets alone. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIM 6
#define K 3
#define MAX_RANKS 4

/* ---- the collective: shared slots and a barrier ---- */

typedef struct group {
    unsigned size;
    pthread_barrier_t barrier;
    void *slot[MAX_RANKS];
} group;

typedef struct member member;

/* Every member sums the slots in rank order (so all get the same bits)
 * into scratch, and writes it back only once all have read. */
#define SUM_OF(type)                                                               \
    static jn_status sum_##type##s(type *v, size_t n, void *user)                  \
    {                                                                              \
        member *me = user;                                                         \
        group *g = me->g;                                                          \
        type *total = calloc(n ? n : 1, sizeof *total);                            \
        ck_assert_ptr_nonnull(total);                                              \
        g->slot[me->rank] = v;                                                     \
        pthread_barrier_wait(&g->barrier);                                         \
        for (unsigned r = 0; r < g->size; r++)                                     \
            for (size_t i = 0; i < n; i++) total[i] += ((const type *)g->slot[r])[i]; \
        pthread_barrier_wait(&g->barrier);                                         \
        memcpy(v, total, n * sizeof *total);                                       \
        free(total);                                                               \
        return JN_OK;                                                              \
    }

struct member {
    group *g;
    unsigned rank;
    /* the run */
    const jn_dataset *train, *valid;
    jn_loss loss;
    unsigned epochs, patience, stop_at_batch; /* stop_at_batch: this member's batch callback stops there */
    const char *checkpoint;
    jn_net *net;
    jn_status status;
    char message[512];
    unsigned epochs_seen, best_epoch;
    double valid_score[16], terms[16][4]; /* loss, penalty, ||J||^2, training error */
};

SUM_OF(float)
SUM_OF(double)

static jn_status broadcast(void *buf, size_t bytes, unsigned root, void *user)
{
    member *me = user;
    group *g = me->g;
    g->slot[me->rank] = buf;
    pthread_barrier_wait(&g->barrier);
    if (me->rank != root) memcpy(buf, g->slot[root], bytes);
    pthread_barrier_wait(&g->barrier); /* root's buffer stays until all have copied */
    return JN_OK;
}

/* ---- data and runs ---- */

/* Float targets: K smooth functions of the features, in (0, 1). */
static jn_dataset *regression(size_t n, unsigned seed)
{
    float *X = uniform_floats(n * DIM, seed, -1.0f, 1.0f), *Y = malloc(n * K * sizeof *Y);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++)
            Y[i * K + k] = (float)(0.5 + 0.4 * tanh(X[i * DIM + k] * X[i * DIM + k + 1] + 0.5 * X[i * DIM + 5]));
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, Y, n, DIM, K, 0), JN_OK);
    free(X);
    free(Y);
    return ds;
}

/* Labels: which of the first K features is largest. */
static jn_dataset *labelled(size_t n, unsigned seed)
{
    float *X = malloc(n * DIM * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * DIM, seed, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) {
        y[i] = 0;
        for (int k = 1; k < K; k++)
            if (X[i * DIM + k] > X[i * DIM + y[i]]) y[i] = k;
    }
    return dataset_from(X, y, n, DIM, K);
}

static int on_epoch(const jn_epoch_report *r, void *user)
{
    member *me = user;
    if (r->epoch <= 16) {
        me->valid_score[r->epoch - 1] = r->valid_error;
        double *t = me->terms[r->epoch - 1];
        t[0] = r->train_loss;
        t[1] = r->train_penalty;
        t[2] = r->train_jacobian_sqnorm;
        t[3] = r->train_error;
    }
    me->epochs_seen++;
    me->best_epoch = r->best_epoch;
    return 0;
}

static int on_batch(unsigned epoch, size_t done, size_t total, void *user)
{
    member *me = user;
    return me->stop_at_batch && (epoch - 1) * total + done == me->stop_at_batch;
}

/* Train me->net (rank 0: initialised; the others all-zero, as jn_net_create
 * leaves them: rank 0's are broadcast). g NULL: the one-process sharded
 * reference (0, 1). */
static void *run_member(void *arg)
{
    member *me = arg;
    const size_t sizes[] = {DIM, 9, K};
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_net_create(&me->net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
    if (me->rank == 0) ck_assert_int_eq(jn_net_init(me->net, 5), JN_OK);
    /* noise on both inputs (per-example streams) and a projected penalty */
    obj = loss_objective(me->loss);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.05, 2), JN_OK);
    ck_assert_int_eq(jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, 0.2, 0.2), JN_OK);
    opt = sgd_optimizer(0.5, 0.5);
    t = trainer_for(me->epochs, 10);
    ck_assert_int_eq(jn_trainer_set_seed(t, 23), JN_OK);
    ck_assert_int_eq(jn_trainer_set_patience(t, me->patience), JN_OK);
    ck_assert_int_eq(jn_trainer_set_recovery(t, 3.0, 0.5, 4), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epoch_callback(t, on_epoch, me), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_callback(t, on_batch, me), JN_OK);
    if (me->checkpoint) ck_assert_int_eq(jn_trainer_set_checkpoint(t, me->checkpoint, 1), JN_OK);
    if (me->g) {
        jn_collective ops = {me->rank, me->g->size, sum_floats, sum_doubles, broadcast};
        ck_assert_int_eq(jn_trainer_set_collective(t, &ops, me), JN_OK);
    } else {
        ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 1), JN_OK);
    }
    me->status = jn_trainer_run(t, me->net, obj, opt, me->train, me->valid);
    snprintf(me->message, sizeof me->message, "%s", jn_last_error());
    free_run(t, opt, obj, NULL);
    return NULL;
}

/* Run `size` members made from proto (patched per rank by `setup`). */
static void run_group(unsigned size, const member *proto, member *out, void (*setup)(member *))
{
    group g = {.size = size};
    pthread_t th[MAX_RANKS];
    ck_assert_int_eq(pthread_barrier_init(&g.barrier, NULL, size), 0);
    for (unsigned r = 0; r < size; r++) {
        out[r] = *proto;
        out[r].g = &g;
        out[r].rank = r;
        if (setup) setup(&out[r]);
    }
    for (unsigned r = 0; r < size; r++) ck_assert_int_eq(pthread_create(&th[r], NULL, run_member, &out[r]), 0);
    for (unsigned r = 0; r < size; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g.barrier);
    for (unsigned r = 0; r < size; r++) out[r].g = NULL;
}

static int same_params(jn_net *a, jn_net *b)
{
    return memcmp(jn_net_params(a), jn_net_params(b), jn_net_param_count(a) * sizeof(float)) == 0;
}

static double gap(jn_net *a, jn_net *b)
{
    double worst = 0.0;
    for (size_t i = 0; i < jn_net_param_count(a); i++)
        worst = fmax(worst, fabs((double)jn_net_params(a)[i] - jn_net_params(b)[i]));
    return worst;
}

/* The epoch reports' training terms, summed over the processes, against
 * the reference's (the training error within one example in `count`). */
static void same_terms(const member *m, const member *ref, size_t count)
{
    for (unsigned e = 0; e < ref->epochs_seen; e++)
        for (int k = 0; k < 4; k++) {
            double a = m->terms[e][k], b = ref->terms[e][k];
            double slack = k == 3 ? 1.01 / (double)count : 1e-6 * fabs(b);
            ck_assert_msg(fabs(a - b) <= slack, "epoch %u, term %d: %.9g, reference %.9g", e + 1, k, a, b);
        }
}

static void free_members(member *m, unsigned n)
{
    for (unsigned r = 0; r < n; r++) jn_net_free(m[r].net);
}

/* ---- tests ---- */

/* Float targets, validation on shares, patience: 1 "process" is the
 * sharded reference bit for bit, 3 are within rounding and agree among
 * themselves exactly. */
START_TEST(float_targets_match_one_process)
{
    jn_dataset *train = regression(95, 1), *valid = regression(31, 2);
    member proto = {.train = train, .valid = valid, .loss = JN_LOSS_MSE, .epochs = 8, .patience = 3}, ref = proto;
    run_member(&ref);
    ck_assert_msg(ref.status == JN_OK, "%s", ref.message);
    for (unsigned size = 1; size <= 3; size += 2) {
        member m[MAX_RANKS];
        run_group(size, &proto, m, NULL);
        for (unsigned r = 0; r < size; r++) {
            ck_assert_msg(m[r].status == JN_OK, "rank %u: %s", r, m[r].message);
            ck_assert(same_params(m[r].net, m[0].net));
            ck_assert_uint_eq(m[r].epochs_seen, ref.epochs_seen);
            ck_assert_uint_eq(m[r].best_epoch, ref.best_epoch);
            for (unsigned e = 0; e < ref.epochs_seen; e++)
                ck_assert_msg(fabs(m[r].valid_score[e] - ref.valid_score[e]) <= (size == 1 ? 0.0 : 1e-6 * ref.valid_score[e]),
                              "%u processes, epoch %u: validation %.9g, reference %.9g", size, e + 1,
                              m[r].valid_score[e], ref.valid_score[e]);
            same_terms(&m[r], &ref, 95);
        }
        if (size == 1) ck_assert(same_params(m[0].net, ref.net));
        ck_assert_msg(gap(m[0].net, ref.net) < 1e-5, "%u processes: %g from the reference", size, gap(m[0].net, ref.net));
        free_members(m, size);
    }
    jn_net_free(ref.net);
    jn_dataset_free(train);
    jn_dataset_free(valid);
}
END_TEST

static char ckpt_path[4096];
static void stop_on_rank1(member *m) { m->stop_at_batch = m->rank == 1 ? 13 : 0; }

/* Rank 1 alone stops mid-epoch 2: every rank stops at the same minibatch,
 * rank 0 saves it, and the run resumed (all ranks reading the file) ends
 * where the uninterrupted run ends, bit for bit. */
START_TEST(stop_on_one_rank_then_resume)
{
    char *dir = make_temp_dir();
    snprintf(ckpt_path, sizeof ckpt_path, "%s/run.jnc", dir);
    jn_dataset *train = labelled(100, 3), *valid = labelled(30, 4);
    member proto = {.train = train, .valid = valid, .loss = JN_LOSS_MSE, .epochs = 4}, full[2], part[2], rest[2];
    member ref = proto;
    run_member(&ref);
    run_group(2, &proto, full, NULL);
    for (unsigned r = 0; r < 2; r++) same_terms(&full[r], &ref, 100); /* the training error counted on both shares */
    proto.checkpoint = ckpt_path;
    run_group(2, &proto, part, stop_on_rank1);
    for (unsigned r = 0; r < 2; r++) {
        ck_assert_msg(part[r].status == JN_ERR_STOPPED, "rank %u: %s", r, part[r].message);
        ck_assert_uint_eq(part[r].epochs_seen, 1); /* batch 13 of 10 per epoch: in epoch 2 */
    }
    ck_assert_int_eq(access(ckpt_path, F_OK), 0);
    run_group(2, &proto, rest, NULL);
    for (unsigned r = 0; r < 2; r++) {
        ck_assert_msg(rest[r].status == JN_OK, "rank %u: %s", r, rest[r].message);
        ck_assert_uint_eq(rest[r].epochs_seen, 3); /* epochs 2..4 */
        ck_assert_msg(same_params(rest[r].net, full[r].net), "rank %u: the resumed run differs by %g", r,
                      gap(rest[r].net, full[r].net));
    }
    jn_net_free(ref.net);
    free_members(full, 2);
    free_members(part, 2);
    free_members(rest, 2);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    unlink(ckpt_path);
    rmdir(dir);
    free(dir);
}
END_TEST

/* Rank 1 resumes from a file rank 0 does not see: refused on both. */
static char other_path[4096];
static void rank1_other_file(member *m) { m->checkpoint = m->rank == 1 ? other_path : ckpt_path; }

START_TEST(checkpoint_seen_by_some_is_refused)
{
    char *dir = make_temp_dir();
    snprintf(ckpt_path, sizeof ckpt_path, "%s/missing.jnc", dir);
    snprintf(other_path, sizeof other_path, "%s/present.jnc", dir);
    jn_dataset *train = labelled(40, 5);
    member proto = {.train = train, .loss = JN_LOSS_MSE, .epochs = 1, .checkpoint = other_path}, one = proto, m[2];
    run_member(&one); /* writes present.jnc */
    ck_assert_msg(one.status == JN_OK, "%s", one.message);
    run_group(2, &proto, m, rank1_other_file);
    for (unsigned r = 0; r < 2; r++) {
        ck_assert_int_eq(m[r].status, JN_ERR_IO);
        ck_assert_msg(strstr(m[r].message, "exists for 1 of the 2 processes"), "%s", m[r].message);
    }
    ck_assert_int_ne(access(ckpt_path, F_OK), 0); /* rank 0 wrote nothing */
    jn_net_free(one.net);
    free_members(m, 2);
    jn_dataset_free(train);
    unlink(other_path);
    rmdir(dir);
    free(dir);
}
END_TEST

/* Rank 1's objective does not fit its network (cross-entropy needs softmax
 * outputs): it fails at its first step, and rank 0, in the step's sums,
 * fails with it, with rank 1's message. */
static void rank1_bad_loss(member *m) { m->loss = m->rank == 1 ? JN_LOSS_CE : JN_LOSS_MSE; }

START_TEST(failure_on_one_rank_fails_all)
{
    jn_dataset *train = labelled(40, 6);
    member proto = {.train = train, .loss = JN_LOSS_MSE, .epochs = 2}, m[2];
    run_group(2, &proto, m, rank1_bad_loss);
    for (unsigned r = 0; r < 2; r++) {
        ck_assert_int_eq(m[r].status, JN_ERR_INVALID);
        ck_assert_msg(!strncmp(m[r].message, "rank 1: ", 8) && strstr(m[r].message, "softmax"), "%s", m[r].message);
    }
    free_members(m, 2);
    jn_dataset_free(train);
}
END_TEST

START_TEST(collective_arguments)
{
    jn_trainer *t = trainer_for(1, 10);
    member me = {0};
    jn_collective ops = {2, 2, sum_floats, sum_doubles, broadcast};
    ck_assert_int_eq(jn_trainer_set_collective(NULL, &ops, &me), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_collective(t, &ops, &me), JN_ERR_INVALID); /* rank 2 of 2 */
    ops.rank = 0;
    ops.size = 1; /* one process: the operations are never called */
    ops.broadcast = NULL;
    ck_assert_int_eq(jn_trainer_set_collective(t, &ops, &me), JN_ERR_INVALID);
    ops.broadcast = broadcast;
    ck_assert_int_eq(jn_trainer_set_collective(t, &ops, &me), JN_OK);
    /* the collective shards the run: sharding set too is a mistake */
    ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 2), JN_OK);
    jn_dataset *train = labelled(20, 7);
    const size_t sizes[] = {DIM, 4, K};
    jn_net *net = init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 1);
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    jn_optimizer *opt = sgd_optimizer(0.1, 0.0);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, train, NULL), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "both a collective and sharding") != NULL);
    ck_assert_int_eq(jn_trainer_set_collective(t, NULL, NULL), JN_OK); /* off again */
    ck_assert_int_eq(jn_trainer_set_sharding(t, 0, 0), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, train, NULL), JN_OK);
    free_run(t, opt, obj, net);
    jn_dataset_free(train);
}
END_TEST

int main(void)
{
    return RUN_TESTS("collective", "collective", 60, float_targets_match_one_process, stop_on_one_rank_then_resume,
                     checkpoint_seen_by_some_is_refused, failure_on_one_rank_fails_all, collective_arguments);
}
