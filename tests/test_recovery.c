/* test_recovery.c - the trainer's opt-in blow-up recovery
 * (jn_trainer_set_recovery, jn_optimizer_scale_lr) and the epoch report's
 * measured terms (train_loss, train_penalty, train_jacobian_sqnorm,
 * train_error, recoveries). One BLAS thread throughout. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a 10-class task in 16 dimensions: Gaussian clusters ---- */

#define D 16
#define K 10
#define N_TRAIN 1000
#define N_TEST 200

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static float gauss(unsigned *s)
{
    double u = ((lcg(s) & 0xffffff) + 0.5) / 16777216.0, v = ((lcg(s) & 0xffffff) + 0.5) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void clusters(jn_dataset **train, jn_dataset **test)
{
    size_t n = N_TRAIN + N_TEST;
    float *C = malloc(K * D * sizeof *C), *X = malloc(n * D * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    unsigned s = 5;
    for (size_t i = 0; i < K * D; i++) C[i] = gauss(&s);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(lcg(&s) % K);
        for (size_t j = 0; j < D; j++) X[i * D + j] = C[y[i] * D + j] + 0.7f * gauss(&s);
    }
    ck_assert_int_eq(jn_dataset_create(train, X, y, N_TRAIN, D, K, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_create(test, X + N_TRAIN * D, y + N_TRAIN, N_TEST, D, K, 0), JN_OK);
    free(C);
    free(X);
    free(y);
}

/* What every run here trains: the clusters, a 16-32-10 tanh/sigmoid
 * network from jn_net_init(init_seed) and a trainer of `epochs` epochs in
 * minibatches of `batch`; each test adds its objective and optimizer. */
typedef struct fixture {
    jn_dataset *train, *test;
    jn_net *net;
    jn_objective *obj;
    jn_optimizer *opt;
    jn_trainer *t;
} fixture;

static void setup(fixture *f, uint64_t init_seed, unsigned epochs, size_t batch)
{
    const size_t sizes[] = {D, 32, K};
    clusters(&f->train, &f->test);
    f->net = init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, init_seed);
    f->obj = NULL;
    f->opt = NULL;
    f->t = trainer_for(epochs, batch);
}

static jn_status run(fixture *f) { return jn_trainer_run(f->t, f->net, f->obj, f->opt, f->train, NULL); }

static void teardown(fixture *f)
{
    free_run(f->t, f->opt, f->obj, f->net);
    jn_dataset_free(f->train); jn_dataset_free(f->test);
}

typedef struct history {
    unsigned epochs, recoveries;
    double objective[64], lr[64];
    unsigned rec[64];
    jn_net *net;            /* to copy parameters at each epoch's end */
    float *params[64];
} history;

static int remember(const jn_epoch_report *r, void *user)
{
    history *h = user;
    ck_assert(r->epoch >= 1 && r->epoch <= 64);
    unsigned e = r->epoch - 1;
    h->epochs = r->epoch;
    h->objective[e] = r->train_objective;
    h->lr[e] = r->lr;
    h->rec[e] = r->recoveries;
    h->recoveries += r->recoveries;
    if (h->net) {
        size_t P = jn_net_param_count(h->net);
        free(h->params[e]);
        h->params[e] = malloc(P * sizeof(float));
        memcpy(h->params[e], jn_net_params(h->net), P * sizeof(float));
    }
    return 0;
}

static void forget(history *h)
{
    for (int e = 0; e < 64; e++) free(h->params[e]);
}

/* The blow-up of the report (issue 10): plain SGD at lr 1 with a Jacobian
 * weight of 3 and noise 0.1 on the Jacobian's input trains well for about
 * a dozen epochs (training objective ~0.2), then the objective climbs to
 * 1e10 and the sigmoid outputs saturate. Measured over trainer seeds 1-6:
 * without recovery 81-97% test error after 30 epochs, with recovery
 * (factor 3, lr x 0.5) 0-1.5%. */
static void blow_up_setup(fixture *f, uint64_t seed, int recovery, unsigned max_recoveries)
{
    setup(f, 1, 30, 20);
    f->obj = model_objective(JN_MODEL_MLP_NJ, 3.0, 0.1);
    f->opt = sgd_optimizer(1.0, 0.0);
    ck_assert_int_eq(jn_trainer_set_seed(f->t, seed), JN_OK);
    if (recovery) ck_assert_int_eq(jn_trainer_set_recovery(f->t, 3.0, 0.5, max_recoveries), JN_OK);
}

static jn_status blow_up_run(uint64_t seed, int recovery, unsigned max_recoveries, history *h, double *test_error,
                             jn_net **keep)
{
    fixture f;
    blow_up_setup(&f, seed, recovery, max_recoveries);
    h->net = f.net;
    ck_assert_int_eq(jn_trainer_set_epoch_callback(f.t, remember, h), JN_OK);
    jn_status st = run(&f);
    ck_assert_int_eq(jn_net_error_rate(f.net, f.test, test_error), JN_OK);
    if (keep) {
        *keep = f.net;
        f.net = NULL;
    }
    h->net = NULL;
    teardown(&f);
    return st;
}

static void resume_matches(const history *ref, jn_net *whole);

/* Seeds 1 and 2 here (1-6 were measured, above); seed 1's recovered run is
 * then the reference of a stopped and resumed one (one test, so that the
 * runs are not repeated: under valgrind each costs about a minute). */
START_TEST(recovers_from_a_blow_up_and_resumes)
{
    jn_set_threads(1);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        history without = {0}, with = {0};
        double err_without, err_with;
        jn_net *whole = NULL;
        ck_assert_int_eq(blow_up_run(seed, 0, 0, &without, &err_without, NULL), JN_OK);
        jn_status st = blow_up_run(seed, 1, 10, &with, &err_with, &whole);
        ck_assert_msg(st == JN_OK, "seed %d: %s", (int)seed, jn_last_error());
        /* the blow-up itself: a late epoch's objective far above the best */
        double best = INFINITY, worst_late = 0.0;
        for (unsigned e = 0; e < without.epochs; e++) best = fmin(best, without.objective[e]);
        for (unsigned e = 20; e < without.epochs; e++) worst_late = fmax(worst_late, without.objective[e]);
        /* Above the recovery threshold (3x) with margin; how far above depends
         * on the BLAS's summation order (OpenBLAS: >10x, reference: 5.5x). */
        ck_assert_msg(worst_late > 4.0 * best, "seed %d: no blow-up to recover from (best %g, late %g)", (int)seed,
                      best, worst_late);
        ck_assert_msg(err_without > 0.5, "seed %d: without recovery the test error is %g", (int)seed, err_without);
        ck_assert_msg(err_with < 0.05, "seed %d: with recovery the test error is %g", (int)seed, err_with);
        ck_assert_uint_eq(without.recoveries, 0);
        ck_assert_uint_ge(with.recoveries, 1);
        ck_assert_uint_eq(with.epochs, 30);
        /* each recovery halves the rate the reports show */
        unsigned seen = 0;
        for (unsigned e = 0; e < with.epochs; e++) {
            seen += with.rec[e];
            ck_assert_msg(fabs(with.lr[e] - ldexp(1.0, -(int)seen)) < 1e-15, "epoch %u: lr %g after %u recoveries",
                          e + 1, with.lr[e], seen);
        }
        if (seed == 1) resume_matches(&with, whole);
        jn_net_free(whole);
        forget(&without);
        forget(&with);
    }
}
END_TEST

/* With no recovery allowed, the first blow-up ends the run with
 * JN_ERR_DIVERGED, and the network holds exactly the parameters of the end
 * of the epoch with the lowest mean objective. */
START_TEST(gives_up_at_the_best_point)
{
    jn_set_threads(1);
    history h = {0};
    double err;
    jn_net *net = NULL;
    jn_status st = blow_up_run(1, 1, 0, &h, &err, &net);
    ck_assert_int_eq(st, JN_ERR_DIVERGED);
    ck_assert_msg(strstr(jn_last_error(), "exceeded 3 x") && strstr(jn_last_error(), "after 0 recoveries"), "%s",
                  jn_last_error());
    ck_assert(h.epochs >= 5 && h.epochs < 30);
    unsigned low = 0;
    for (unsigned e = 1; e < h.epochs; e++)
        if (h.objective[e] < h.objective[low]) low = e;
    char where[64];
    snprintf(where, sizeof where, "end of epoch %u,", low + 1);
    ck_assert_msg(strstr(jn_last_error(), where) != NULL, "%s (lowest mean in epoch %u)", jn_last_error(), low + 1);
    ck_assert(memcmp(jn_net_params(net), h.params[low], jn_net_param_count(net) * sizeof(float)) == 0);
    ck_assert_msg(err < 0.05, "the kept parameters give %g", err);
    jn_net_free(net);
    forget(&h);
}
END_TEST

/* A non-finite update (lr 1e30) is a blow-up too: rolled back to the
 * start, the rate scaled to 0.1, and the run goes on to learn. */
START_TEST(recovers_from_divergence)
{
    jn_set_threads(1);
    fixture f;
    setup(&f, 1, 5, 20);
    f.obj = loss_objective(JN_LOSS_MSE);
    f.opt = sgd_optimizer(1e300, 0.5);
    history h = {0};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(f.t, remember, &h), JN_OK);
    /* without recovery: JN_ERR_DIVERGED at the first step */
    ck_assert_int_eq(run(&f), JN_ERR_DIVERGED);
    ck_assert_uint_eq(h.epochs, 0);
    ck_assert_int_eq(jn_trainer_set_recovery(f.t, 3.0, 1e-301, 2), JN_OK);
    ck_assert_msg(run(&f) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(h.epochs, 5);
    ck_assert_uint_eq(h.rec[0], 1);
    ck_assert_uint_eq(h.recoveries, 1);
    ck_assert(fabs(h.lr[0] - 0.1) < 1e-12);
    double err;
    ck_assert_int_eq(jn_net_error_rate(f.net, f.test, &err), JN_OK);
    ck_assert_msg(err < 0.1, "test error %g after the recovery", err);
    teardown(&f);
    forget(&h);
}
END_TEST

/* Recoveries compound: each scales the rate the run has, not the
 * snapshot's. At lr 1e300 every update overflows float, so each attempt
 * diverges: two recoveries (x 0.5 each), then the third divergence gives
 * up with the network at the start and the rate at 1e300 / 4. */
START_TEST(recoveries_compound)
{
    jn_set_threads(1);
    fixture f;
    setup(&f, 1, 3, 20);
    size_t P = jn_net_param_count(f.net);
    float *start = malloc(P * sizeof *start);
    memcpy(start, jn_net_params(f.net), P * sizeof *start);
    f.obj = loss_objective(JN_LOSS_MSE);
    f.opt = sgd_optimizer(1e300, 0.0);
    ck_assert_int_eq(jn_trainer_set_recovery(f.t, 3.0, 0.5, 2), JN_OK);
    ck_assert_int_eq(run(&f), JN_ERR_DIVERGED);
    ck_assert_msg(strstr(jn_last_error(), "after 2 recoveries") != NULL, "%s", jn_last_error());
    ck_assert_msg(jn_optimizer_lr(f.opt) == 0.25e300, "lr %.17g after two recoveries, want 2.5e299",
                  jn_optimizer_lr(f.opt));
    ck_assert(memcmp(jn_net_params(f.net), start, P * sizeof(float)) == 0);
    free(start);
    teardown(&f);
}
END_TEST

/* A run with recovery stopped (mid-epoch, before and after its recovery)
 * and resumed from its checkpoint is the uninterrupted run: the reference
 * level, the snapshot and the scaled rate travel in the checkpoint. */
static int stop_at;
static int stop_after(unsigned epoch, size_t done, size_t total, void *user)
{
    return --*(int *)user == 0;
}

static void resume_matches(const history *ref, jn_net *whole)
{
    unsigned rec_epoch = 0;
    for (unsigned e = 0; e < ref->epochs && !rec_epoch; e++)
        if (ref->rec[e]) rec_epoch = e + 1;
    ck_assert_uint_gt(rec_epoch, 3);
    /* The snapshot at the time of the recovery: the epoch of lowest mean
     * before it. Stop after 5 minibatches of epoch rec_epoch (before the
     * blow-up is measured, after 10), when the snapshot is no longer the
     * current state, and once more 60 minibatches later, after the
     * recovery. 50 minibatches an epoch. */
    unsigned low = 0;
    for (unsigned e = 1; e + 1 < rec_epoch; e++)
        if (ref->objective[e] < ref->objective[low]) low = e;
    ck_assert_uint_lt(low + 1, rec_epoch); /* the stop below comes after the snapshot's epoch */
    const int stops[] = {50 * (int)(rec_epoch - 1) + 5, 60};
    char *dir = make_temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/run.jnc", dir);
    jn_status st = JN_ERR_STOPPED;
    int round = 0;
    while (st == JN_ERR_STOPPED) {
        fixture f;
        blow_up_setup(&f, 1, 1, 10);
        ck_assert_int_eq(jn_trainer_set_checkpoint(f.t, path, 1), JN_OK);
        stop_at = round < 2 ? stops[round] : 0;
        if (stop_at) ck_assert_int_eq(jn_trainer_set_batch_callback(f.t, stop_after, &stop_at), JN_OK);
        st = run(&f);
        round++;
        if (st != JN_ERR_STOPPED) {
            ck_assert_msg(st == JN_OK, "%s", jn_last_error());
            ck_assert_int_eq(round, 3);
            size_t bytes = jn_net_param_count(whole) * sizeof(float);
            ck_assert(memcmp(jn_net_params(f.net), jn_net_params(whole), bytes) == 0);
        }
        teardown(&f);
    }
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}

START_TEST(bad_recovery_arguments)
{
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_recovery(NULL, 3.0, 0.5, 1), JN_ERR_INVALID);
    const double bad_factor[] = {1.0, 0.5, -3.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_factor / sizeof bad_factor[0]; i++) {
        ck_assert_int_eq(jn_trainer_set_recovery(t, bad_factor[i], 0.5, 1), JN_ERR_INVALID);
        ck_assert(strstr(jn_last_error(), "factor") != NULL);
    }
    const double bad_scale[] = {0.0, -0.5, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_scale / sizeof bad_scale[0]; i++) {
        ck_assert_int_eq(jn_trainer_set_recovery(t, 3.0, bad_scale[i], 1), JN_ERR_INVALID);
        ck_assert(strstr(jn_last_error(), "lr_scale") != NULL);
    }
    ck_assert_int_eq(jn_trainer_set_recovery(t, 3.0, 1.0, 0), JN_OK);
    ck_assert_int_eq(jn_trainer_set_recovery(t, 0.0, -1.0, 0), JN_OK); /* off; the rest is ignored */
    jn_trainer_free(t);
}
END_TEST

/* jn_optimizer_scale_lr against hand-computed updates: SGD's velocity is
 * scaled with the rate, Adam's moments are not; the schedule goes on. */
START_TEST(scale_lr_updates)
{
    const size_t sizes[] = {1, 1};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 2, JN_ACT_TANH, JN_ACT_LINEAR), JN_OK); /* w, b */
    float *p = jn_net_params(net);
    const float g1[2] = {1.0f, -2.0f}, g2[2] = {0.5f, 4.0f};
    jn_optimizer *sgd = sgd_optimizer(0.1, 0.9);
    ck_assert_int_eq(jn_optimizer_step(sgd, net, g1), JN_OK); /* v = -0.1 g1 */
    ck_assert_int_eq(jn_optimizer_scale_lr(sgd, 0.5), JN_OK); /* lr 0.05, v = -0.05 g1 */
    ck_assert(jn_optimizer_lr(sgd) == 0.05);
    ck_assert_int_eq(jn_optimizer_step(sgd, net, g2), JN_OK); /* v = 0.9 v - 0.05 g2 */
    for (int i = 0; i < 2; i++) {
        double v1 = -0.1 * g1[i], theta1 = (float)v1;
        double v2 = 0.9 * (0.5 * v1) - 0.05 * g2[i];
        ck_assert_msg(p[i] == (float)(theta1 + v2), "SGD parameter %d: %.9g, want %.9g", i, (double)p[i],
                      theta1 + v2);
    }
    /* Adam: after scaling, the step is exactly lr' m^ / (sqrt(v^) + eps) */
    jn_optimizer *adam = NULL;
    p[0] = p[1] = 0.0f;
    adam = adam_optimizer(0.1);
    ck_assert_int_eq(jn_optimizer_step(adam, net, g1), JN_OK);
    float after1[2] = {p[0], p[1]};
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 0.25), JN_OK);
    ck_assert_int_eq(jn_optimizer_step(adam, net, g2), JN_OK);
    for (int i = 0; i < 2; i++) {
        double m = 0.9 * (0.1 * g1[i]) + 0.1 * g2[i], v = 0.999 * (0.001 * g1[i] * g1[i]) + 0.001 * g2[i] * g2[i];
        double step = 0.025 * (m / (1 - 0.81)) / (sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
        ck_assert_msg(p[i] == (float)(after1[i] - step), "Adam parameter %d: %.9g, want %.9g", i, (double)p[i],
                      after1[i] - step);
    }
    /* the schedule position is kept: STEP halves every 2 steps from the new base */
    ck_assert_int_eq(jn_optimizer_set_schedule(adam, JN_SCHEDULE_STEP, 0.5, 2), JN_OK);
    ck_assert(jn_optimizer_lr(adam) == 0.025 * 0.5); /* t = 2 */
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 2.0), JN_OK);
    ck_assert(jn_optimizer_lr(adam) == 0.05 * 0.5);
    /* bad factors, and a product that is no longer a usable rate */
    ck_assert_int_eq(jn_optimizer_scale_lr(NULL, 0.5), JN_ERR_INVALID);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(jn_optimizer_scale_lr(adam, bad[i]), JN_ERR_INVALID);
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 1e-300), JN_OK);            /* lr 5e-302 */
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 1e-300), JN_ERR_INVALID);   /* underflows to 0 */
    ck_assert(strstr(jn_last_error(), "not a finite value > 0") != NULL);
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 1e300), JN_OK);
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 1e300), JN_OK);             /* lr 5e298 */
    ck_assert_int_eq(jn_optimizer_scale_lr(adam, 1e300), JN_ERR_INVALID);    /* overflows */
    ck_assert(jn_optimizer_lr(adam) == 0.05 * 0.5 * 1e-300 * 1e300 * 1e300); /* unchanged by the refusals */
    jn_optimizer_free(sgd);
    jn_optimizer_free(adam);
    jn_net_free(net);
}
END_TEST

/* ---- the epoch report's measured terms ---- */

typedef struct reports {
    unsigned n;
    jn_epoch_report rep[8];
    jn_net *net;
    float *params[8];       /* parameters after each epoch */
} reports;

static int keep_report(const jn_epoch_report *r, void *user)
{
    reports *rs = user;
    ck_assert(rs->n < 8);
    size_t P = jn_net_param_count(rs->net);
    rs->params[rs->n] = malloc(P * sizeof(float));
    memcpy(rs->params[rs->n], jn_net_params(rs->net), P * sizeof(float));
    rs->rep[rs->n++] = *r;
    return 0;
}

/* Independent evaluation at parameters `params` on the whole set X, y:
 * mean sum_k (F - onehot)^2, mean ||J||^2, the l2 term, the error rate. */
static void evaluate(jn_net *net, const float *params, const jn_dataset *ds, double l2, double *loss,
                     double *sqnorm, double *decay, double *error)
{
    size_t n = jn_dataset_count(ds), P = jn_net_param_count(net);
    memcpy(jn_net_params(net), params, P * sizeof(float));
    const float *X = jn_dataset_features(ds);
    const int32_t *y = jn_dataset_labels(ds);
    float *F = malloc(n * K * sizeof *F), *sq = malloc(n * sizeof *sq);
    int32_t *pred = malloc(n * sizeof *pred);
    ck_assert_int_eq(jn_net_forward(net, X, n, F), JN_OK);
    ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
    ck_assert_int_eq(jn_net_predict(net, X, n, pred), JN_OK);
    double l = 0.0, s = 0.0;
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < K; k++) {
            double e = F[i * K + k] - (y[i] == (int32_t)k ? 1.0 : 0.0);
            l += e * e;
        }
        s += sq[i];
        wrong += pred[i] != y[i];
    }
    /* weights only: W1 (32 x 16) then b1 (32), W2 (10 x 32) then b2 (10) */
    double w = 0.0;
    for (size_t i = 0; i < 32 * D; i++) w += (double)params[i] * params[i];
    for (size_t i = 32 * D + 32; i < 32 * D + 32 + K * 32; i++) w += (double)params[i] * params[i];
    *loss = l / (double)n;
    *sqnorm = s / (double)n;
    *decay = l2 * w;
    *error = (double)wrong / (double)n;
    free(F); free(sq); free(pred);
}

/* One minibatch an epoch (the whole training set), no noise: the report's
 * terms for epoch e are the objective's terms at the parameters after
 * epoch e - 1, computed here from jn_net_forward, jn_net_jacobian_sqnorm
 * and jn_net_predict. With the penalty every 2nd step, even epochs have no
 * penalty (and no ||J||^2: -1). */
START_TEST(report_terms_are_measured)
{
    jn_set_threads(1);
    const size_t sizes[] = {D, 32, K};
    for (int every = 1; every <= 2; every++) {
        fixture f;
        setup(&f, 4, 4, N_TRAIN);
        jn_net *probe = NULL;
        ck_assert_int_eq(jn_net_create(&probe, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
        size_t P = jn_net_param_count(f.net);
        float *start = malloc(P * sizeof *start);
        memcpy(start, jn_net_params(f.net), P * sizeof *start);
        const double lambda = 0.2, l2 = 0.001;
        f.obj = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(f.obj, lambda, 0), JN_OK);
        ck_assert_int_eq(jn_objective_set_l2(f.obj, l2), JN_OK);
        ck_assert_int_eq(jn_objective_set_penalty_every(f.obj, (unsigned)every), JN_OK);
        f.opt = sgd_optimizer(0.5, 0.0);
        reports rs = {.net = f.net};
        ck_assert_int_eq(jn_trainer_set_epoch_callback(f.t, keep_report, &rs), JN_OK);
        ck_assert_int_eq(run(&f), JN_OK);
        ck_assert_uint_eq(rs.n, 4);
        for (unsigned e = 0; e < 4; e++) {
            const jn_epoch_report *r = &rs.rep[e];
            double loss, sqnorm, decay, error;
            evaluate(probe, e ? rs.params[e - 1] : start, f.train, l2, &loss, &sqnorm, &decay, &error);
            int with_penalty = e % (unsigned)every == 0;
            ck_assert_msg(rel_diff(r->train_loss, loss, 1e-6) < 1e-5, "every %d epoch %u: loss %.9g, want %.9g", every,
                          e + 1, r->train_loss, loss);
            if (with_penalty) {
                ck_assert_msg(rel_diff(r->train_jacobian_sqnorm, sqnorm, 1e-6) < 1e-4, "epoch %u: ||J||^2 %.9g, want %.9g",
                              e + 1, r->train_jacobian_sqnorm, sqnorm);
                ck_assert_msg(rel_diff(r->train_penalty, every * lambda * sqnorm, 1e-6) < 1e-4,
                              "epoch %u: penalty %.9g, want %.9g", e + 1, r->train_penalty, every * lambda * sqnorm);
            } else {
                ck_assert(r->train_jacobian_sqnorm == -1.0);
                ck_assert(r->train_penalty == 0.0);
            }
            ck_assert_msg(rel_diff(r->train_objective - r->train_loss - r->train_penalty, decay, 1e-9) < 1e-4,
                          "epoch %u: objective - loss - penalty = %.9g, the l2 term is %.9g", e + 1,
                          r->train_objective - r->train_loss - r->train_penalty, decay);
            /* the same examples, in another order and batching of the GEMMs:
             * allow one tie broken the other way */
            ck_assert_msg(fabs(r->train_error - error) <= 1.0 / N_TRAIN, "epoch %u: training error %g, want %g", e + 1,
                          r->train_error, error);
            ck_assert_uint_eq(r->recoveries, 0);
        }
        for (unsigned e = 0; e < 4; e++) free(rs.params[e]);
        free(start);
        jn_net_free(probe);
        teardown(&f);
    }
}
END_TEST

/* The Jacobian norm is the mean over the minibatches that computed it:
 * with the penalty every 2nd step and 34 minibatches an epoch, 17 have it,
 * and their mean penalty over all 34 is 2 lambda (sum ||J||^2) / 34 =
 * lambda x the mean ||J||^2 over the 17. */
START_TEST(report_sqnorm_over_penalised_minibatches)
{
    jn_set_threads(1);
    fixture f;
    setup(&f, 4, 2, 30); /* 34 minibatches */
    const double lambda = 0.2;
    f.obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(f.obj, lambda, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_every(f.obj, 2), JN_OK);
    f.opt = sgd_optimizer(0.1, 0.0);
    reports rs = {.net = f.net};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(f.t, keep_report, &rs), JN_OK);
    ck_assert_int_eq(run(&f), JN_OK);
    ck_assert_uint_eq(rs.n, 2);
    for (unsigned e = 0; e < 2; e++) {
        const jn_epoch_report *r = &rs.rep[e];
        ck_assert(r->train_jacobian_sqnorm > 0.0);
        ck_assert_msg(rel_diff(r->train_penalty, lambda * r->train_jacobian_sqnorm, 1e-12) < 1e-6,
                      "epoch %u: penalty %.9g, lambda x mean ||J||^2 = %.9g", e + 1, r->train_penalty,
                      lambda * r->train_jacobian_sqnorm);
        free(rs.params[e]);
    }
    teardown(&f);
}
END_TEST

/* Without a Jacobian term: nothing is computed for it (-1, 0), the loss is
 * the whole objective; over several minibatches the training error is the
 * count of mistakes over the epoch. */
START_TEST(report_without_penalty)
{
    jn_set_threads(1);
    fixture f;
    setup(&f, 4, 3, 30); /* 34 minibatches, the last of 10 */
    f.obj = model_objective(JN_MODEL_MLP_NOISE, 0.0, 0.3);
    f.opt = sgd_optimizer(0.5, 0.5);
    reports rs = {.net = f.net};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(f.t, keep_report, &rs), JN_OK);
    ck_assert_int_eq(run(&f), JN_OK);
    for (unsigned e = 0; e < 3; e++) {
        const jn_epoch_report *r = &rs.rep[e];
        ck_assert(r->train_jacobian_sqnorm == -1.0 && r->train_penalty == 0.0);
        ck_assert(r->train_loss == r->train_objective);
        /* a count of mistakes out of 1000: a multiple of 1/1000 */
        double count = r->train_error * N_TRAIN;
        ck_assert_msg(fabs(count - round(count)) < 1e-9 && r->train_error >= 0.0 && r->train_error <= 1.0, "%g",
                      r->train_error);
        free(rs.params[e]);
    }
    /* it learns: the first epoch makes more mistakes than the last */
    ck_assert(rs.rep[0].train_error > rs.rep[2].train_error);
    teardown(&f);
}
END_TEST

int main(void)
{
    return RUN_TESTS("recovery", "recovery", 300, recovers_from_a_blow_up_and_resumes, gives_up_at_the_best_point,
                     recovers_from_divergence, recoveries_compound, bad_recovery_arguments, scale_lr_updates,
                     report_terms_are_measured, report_sqnorm_over_penalised_minibatches, report_without_penalty);
}
