/* test_trainer.c - the built-in trainer: it learns, it is reproducible, it
 * keeps the best parameters, it stops on request and on divergence. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two Gaussian-ish blobs in 4 dimensions, labels by the sign of x0 + x1. */
static jn_dataset *blobs(size_t n, unsigned seed)
{
    float *X = malloc(n * 4 * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * 4, seed, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) y[i] = X[i * 4] + X[i * 4 + 1] > 0.0f;
    return dataset_from(X, y, n, 4, 2);
}

static jn_net *small_net(void)
{
    return tiny_net(4, 8, 2, 7);
}

typedef struct log { unsigned epochs; double valid[64]; int stop_after; } log_t;

static int record(const jn_epoch_report *r, void *user)
{
    log_t *lg = user;
    ck_assert_uint_eq(r->epoch, lg->epochs + 1);
    ck_assert(r->valid_error >= 0.0 && r->valid_error <= 1.0);
    ck_assert(isfinite(r->train_objective));
    lg->valid[lg->epochs++] = r->valid_error;
    return lg->stop_after && (int)r->epoch >= lg->stop_after;
}

/* Train the blob problem and return the final network. */
static jn_net *train(const jn_objective *obj, uint64_t seed, unsigned epochs, log_t *lg, jn_status *st)
{
    jn_dataset *tr = blobs(400, 1), *va = blobs(200, 2);
    jn_net *net = small_net();
    jn_optimizer *opt = sgd_optimizer(0.5, 0.5);
    jn_trainer *t = trainer_for(epochs, 16);
    ck_assert_int_eq(jn_trainer_set_seed(t, seed), JN_OK);
    if (lg) ck_assert_int_eq(jn_trainer_set_epoch_callback(t, record, lg), JN_OK);
    *st = jn_trainer_run(t, net, obj, opt, tr, va);
    jn_trainer_free(t);
    jn_optimizer_free(opt);
    jn_dataset_free(tr);
    jn_dataset_free(va);
    return net;
}

START_TEST(learns_the_problem)
{
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ, 0.01, 0.1);
    log_t lg = {0};
    jn_status st;
    jn_net *net = train(obj, 3, 20, &lg, &st);
    ck_assert_int_eq(st, JN_OK);
    ck_assert_uint_eq(lg.epochs, 20);
    jn_dataset *te = blobs(500, 9);
    double err = 1.0;
    ck_assert_int_eq(jn_net_error_rate(net, te, &err), JN_OK);
    ck_assert_msg(err < 0.08, "test error %g after training (chance is 0.5)", err);
    jn_dataset_free(te);
    jn_net_free(net);
    jn_objective_free(obj);
}
END_TEST

START_TEST(same_seed_same_result)
{
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.05, 0.1);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.05, 1), JN_OK); /* projections use per-step seeds */
    jn_status st1, st2, st3;
    jn_net *a = train(obj, 11, 3, NULL, &st1), *b = train(obj, 11, 3, NULL, &st2), *c = train(obj, 12, 3, NULL, &st3);
    ck_assert_int_eq(st1, JN_OK);
    ck_assert_int_eq(st2, JN_OK);
    ck_assert_int_eq(st3, JN_OK);
    size_t P = jn_net_param_count(a);
    ck_assert(memcmp(jn_net_params(a), jn_net_params(b), P * sizeof(float)) == 0);
    ck_assert(memcmp(jn_net_params(a), jn_net_params(c), P * sizeof(float)) != 0);
    jn_net_free(a); jn_net_free(b); jn_net_free(c);
    jn_objective_free(obj);
}
END_TEST

START_TEST(keeps_the_best_parameters)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    log_t lg = {0};
    jn_status st;
    jn_net *net = train(obj, 5, 12, &lg, &st);
    ck_assert_int_eq(st, JN_OK);
    double best = 1.0, final = -1.0;
    for (unsigned e = 0; e < lg.epochs; e++) best = fmin(best, lg.valid[e]);
    jn_dataset *va = blobs(200, 2);
    ck_assert_int_eq(jn_net_error_rate(net, va, &final), JN_OK);
    ck_assert_msg(final == best, "final validation error %g, best seen %g", final, best);
    jn_dataset_free(va);
    jn_net_free(net);
    jn_objective_free(obj);
}
END_TEST

START_TEST(callback_stops)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    log_t lg = {.stop_after = 2};
    jn_status st;
    jn_net *net = train(obj, 5, 10, &lg, &st);
    ck_assert_int_eq(st, JN_ERR_STOPPED);
    ck_assert_uint_eq(lg.epochs, 2);
    ck_assert(strstr(jn_last_error(), "callback") != NULL);
    jn_net_free(net);
    jn_objective_free(obj);
}
END_TEST

START_TEST(divergence_keeps_finite_parameters)
{
    jn_dataset *tr = blobs(100, 1);
    jn_net *net = small_net();
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    jn_optimizer *opt = NULL;
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 1e30, 0), JN_OK); /* overflows float */
    opt = sgd_optimizer(1e30, 0.0);
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    jn_status st = jn_trainer_run(t, net, obj, opt, tr, NULL);
    ck_assert_int_eq(st, JN_ERR_DIVERGED);
    const float *p = jn_net_params(net);
    for (size_t i = 0; i < jn_net_param_count(net); i++) ck_assert(isfinite(p[i]));
    /* a finite objective whose update overflows: refused by the optimizer,
     * reported by the trainer as divergence, parameters untouched */
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.0, 0), JN_OK);
    jn_optimizer_free(opt);
    opt = sgd_optimizer(1e300, 0.0); /* lr * g beyond FLT_MAX */
    float *before = malloc(jn_net_param_count(net) * sizeof *before);
    memcpy(before, p, jn_net_param_count(net) * sizeof *before);
    st = jn_trainer_run(t, net, obj, opt, tr, NULL);
    ck_assert_int_eq(st, JN_ERR_DIVERGED);
    ck_assert(strstr(jn_last_error(), "step 0") != NULL);
    ck_assert(memcmp(before, p, jn_net_param_count(net) * sizeof *before) == 0);
    free_run(t, opt, obj, net);
    free(before); jn_dataset_free(tr);
}
END_TEST

START_TEST(bad_arguments)
{
    jn_dataset *tr = blobs(50, 1);
    jn_net *net = small_net();
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    jn_optimizer *opt = sgd_optimizer(0.1, 0.0);
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_run(NULL, net, obj, opt, tr, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_run(t, NULL, obj, opt, tr, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_run(t, net, NULL, opt, tr, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, NULL, tr, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, NULL, NULL), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_epochs(t, 0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, 0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_epochs(NULL, 3), JN_ERR_INVALID);
    /* a dataset whose width or class count does not fit the network */
    float X[6] = {0};
    int32_t y[2] = {0, 2};
    jn_dataset *wide = NULL, *three = NULL;
    ck_assert_int_eq(jn_dataset_create(&wide, X, y, 2, 3, 3, 0), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, wide, NULL), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "features") != NULL);
    float X4[8] = {0};
    ck_assert_int_eq(jn_dataset_create(&three, X4, y, 2, 4, 3, 0), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, three), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "classes") != NULL);
    ck_assert_int_eq(jn_trainer_create(NULL), JN_ERR_INVALID);
    jn_trainer_free(NULL);
    jn_dataset_free(wide); jn_dataset_free(three);
    jn_trainer_free(t); jn_optimizer_free(opt); jn_objective_free(obj); jn_net_free(net); jn_dataset_free(tr);
}
END_TEST

static int batches_seen;
static int count_batches(unsigned epoch, size_t done, size_t total, void *user)
{
    ck_assert_uint_eq(total, 4); /* 50 examples in batches of 16: 16 16 16 2 */
    ck_assert(done >= 1 && done <= total);
    batches_seen += user == &batches_seen;
    return 0;
}

/* Stops after the 6th minibatch of the run (the 2nd of epoch 2). */
static int stop_in_epoch(unsigned epoch, size_t done, size_t total, void *user)
{
    int *seen = user;
    return ++*seen == 6;
}

START_TEST(batch_callback_and_penalty_every)
{
    jn_dataset *tr = blobs(50, 1);
    jn_net *net = small_net();
    jn_objective *obj = model_objective(JN_MODEL_MLP_JACOB, 0.1, 0.0);
    jn_optimizer *opt = NULL;
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, 3), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, 0), JN_ERR_INVALID);
    opt = adam_optimizer(0.01);
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, 2), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, 16), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_callback(t, count_batches, &batches_seen), JN_OK);
    batches_seen = 0;
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_OK);
    ck_assert_int_eq(batches_seen, 8);
    /* a nonzero return stops at once, mid-epoch */
    int seen = 0;
    ck_assert_int_eq(jn_trainer_set_batch_callback(t, stop_in_epoch, &seen), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, NULL), JN_ERR_STOPPED);
    ck_assert_int_eq(seen, 6);
    ck_assert(strstr(jn_last_error(), "epoch 2 after minibatch 2") != NULL);
    free_run(t, opt, obj, net);
    jn_dataset_free(tr);
}
END_TEST

int main(void)
{
    return RUN_TESTS("trainer", "trainer", 60, learns_the_problem, same_seed_same_result, keeps_the_best_parameters,
                     callback_stops, divergence_keeps_finite_parameters, bad_arguments,
                     batch_callback_and_penalty_every);
}
