/* test_targets.c - datasets with float targets (regression, auto-encoders):
 * construction and refusals, minibatch targets, jn_net_mean_loss against a
 * hand-written loop over jn_net_forward, and the trainer fitting targets
 * with the mean loss as its validation score. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* call must fail with JN_ERR_INVALID and a message containing needle. */
#define EXPECT_INVALID(call, needle)                                                              \
    do {                                                                                          \
        jn_status st_ = (call);                                                                   \
        ck_assert_msg(st_ == JN_ERR_INVALID, "%s returned %d, want JN_ERR_INVALID", #call, (int)st_); \
        ck_assert_msg(strstr(jn_last_error(), (needle)) != NULL, "%s: message '%s' lacks '%s'",   \
                      #call, jn_last_error(), (needle));                                         \
    } while (0)

enum { D = 5, K = 3 };

/* Targets t = (sin(x0 + x1), x2 * x3, 0.5 x4) / 2 + 0.5, inside (0, 1) so
 * sigmoid outputs can fit them. */
static void make_problem(size_t n, unsigned seed, float **X, float **T)
{
    *X = malloc(n * D * sizeof **X);
    *T = malloc(n * K * sizeof **T);
    ck_assert(*X && *T);
    fill_uniform(*X, n * D, seed, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) {
        const float *x = *X + i * D;
        float *t = *T + i * K;
        t[0] = 0.5f + 0.5f * sinf(x[0] + x[1]) * 0.9f;
        t[1] = 0.5f + 0.5f * x[2] * x[3];
        t[2] = 0.5f + 0.25f * x[4];
    }
}

static jn_net *new_net(jn_act output, uint64_t seed)
{
    const size_t sizes[] = {D, 16, K};
    return init_net(sizes, 3, JN_ACT_TANH, output, seed);
}

/* Mean over rows of sum_k (F - t)^2 (MSE) or -sum_k t log F (CE), in double
 * from jn_net_forward: the reference for jn_net_mean_loss. */
static double reference_loss(jn_net *net, const float *X, const float *T, size_t n, jn_loss loss)
{
    float *F = malloc(n * K * sizeof *F);
    ck_assert_int_eq(jn_net_forward(net, X, n, F), JN_OK);
    double sum = 0.0;
    for (size_t i = 0; i < n * K; i++)
        sum += loss == JN_LOSS_MSE ? ((double)F[i] - T[i]) * ((double)F[i] - T[i]) : -(double)T[i] * log(F[i]);
    free(F);
    return sum / (double)n;
}

START_TEST(create_and_refuse)
{
    float *X, *T;
    make_problem(10, 1, &X, &T);
    jn_dataset *ds = (jn_dataset *)(uintptr_t)1;
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, NULL, 10, D, K, 0), "targets");
    ck_assert_ptr_null(ds);
    EXPECT_INVALID(jn_dataset_create_targets(&ds, NULL, T, 10, D, K, 0), "features");
    EXPECT_INVALID(jn_dataset_create_targets(NULL, X, T, 10, D, K, 0), "out");
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, T, 0, D, K, 0), "examples");
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, T, 10, D, 0, 0), "targets");
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, T, 10, D, K, 4), "flags");
    T[7] = NAN;
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, T, 10, D, K, 0), "targets hold NaN");
    T[7] = 0.25f;
    X[3] = INFINITY;
    EXPECT_INVALID(jn_dataset_create_targets(&ds, X, T, 10, D, K, 0), "features hold NaN");
    X[3] = 0.5f;

    /* Copied: accessors give our values at another address. */
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, T, 10, D, K, 0), JN_OK);
    ck_assert_uint_eq(jn_dataset_count(ds), 10);
    ck_assert_uint_eq(jn_dataset_dim(ds), D);
    ck_assert_uint_eq(jn_dataset_classes(ds), K);
    ck_assert_ptr_null(jn_dataset_labels(ds));
    ck_assert_ptr_ne(jn_dataset_targets(ds), T);
    ck_assert_mem_eq(jn_dataset_targets(ds), T, 10 * K * sizeof *T);
    ck_assert_mem_eq(jn_dataset_features(ds), X, 10 * D * sizeof *X);
    /* Labels-only functions refuse it, naming the way out. */
    float Y[10 * K];
    EXPECT_INVALID(jn_dataset_onehot(ds, NULL, 2, Y), "jn_dataset_gather_targets");
    jn_net *net = new_net(JN_ACT_SIGMOID, 1);
    double err = -1.0;
    EXPECT_INVALID(jn_net_error_rate(net, ds, &err), "jn_net_mean_loss");
    ck_assert(err == -1.0);
    /* A slice keeps its targets. */
    jn_dataset *s = NULL;
    ck_assert_int_eq(jn_dataset_slice(&s, ds, 4, 3), JN_OK);
    ck_assert_ptr_null(jn_dataset_labels(s));
    ck_assert_uint_eq(jn_dataset_classes(s), K);
    ck_assert_mem_eq(jn_dataset_targets(s), T + 4 * K, 3 * K * sizeof *T);
    ck_assert_mem_eq(jn_dataset_features(s), X + 4 * D, 3 * D * sizeof *X);
    jn_dataset_free(s);
    jn_dataset_free(ds);

    /* Borrowed: the very arrays, and targets may be the features. */
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, X, 10, D, D, JN_DATASET_BORROW), JN_OK);
    ck_assert_ptr_eq(jn_dataset_targets(ds), X);
    ck_assert_ptr_eq(jn_dataset_features(ds), X);
    jn_dataset_free(ds);
    jn_net_free(net);
    free(X);
    free(T);
}
END_TEST

START_TEST(gather_targets)
{
    float *X, *T;
    make_problem(20, 2, &X, &T);
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, T, 20, D, K, 0), JN_OK);
    const size_t idx[] = {19, 0, 7, 7};
    float Y[4 * K];
    ck_assert_int_eq(jn_dataset_gather_targets(ds, idx, 4, Y), JN_OK);
    for (size_t r = 0; r < 4; r++)
        for (size_t k = 0; k < K; k++) ck_assert(Y[r * K + k] == T[idx[r] * K + k]);
    ck_assert_int_eq(jn_dataset_gather_targets(ds, NULL, 2, Y), JN_OK);
    ck_assert_mem_eq(Y, T, 2 * K * sizeof *T);
    const size_t bad[] = {20};
    EXPECT_INVALID(jn_dataset_gather_targets(ds, bad, 1, Y), "idx[0]");
    EXPECT_INVALID(jn_dataset_gather_targets(ds, NULL, 21, Y), "n = 21");
    EXPECT_INVALID(jn_dataset_gather_targets(ds, idx, 4, NULL), "Y");
    jn_dataset_free(ds);

    /* On a labelled dataset it is the one-hot encoding. */
    int32_t labels[20];
    for (int i = 0; i < 20; i++) labels[i] = (i * 7) % K;
    ck_assert_int_eq(jn_dataset_create(&ds, X, labels, 20, D, K, 0), JN_OK);
    float H[4 * K];
    ck_assert_int_eq(jn_dataset_gather_targets(ds, idx, 4, Y), JN_OK);
    ck_assert_int_eq(jn_dataset_onehot(ds, idx, 4, H), JN_OK);
    ck_assert_mem_eq(Y, H, sizeof H);
    for (size_t r = 0; r < 4; r++)
        for (size_t k = 0; k < K; k++) ck_assert(Y[r * K + k] == (k == (size_t)labels[idx[r]] ? 1.0f : 0.0f));
    jn_dataset_free(ds);
    free(X);
    free(T);
}
END_TEST

/* 600 rows: more than one of jn_net_mean_loss's 256-row chunks, and a
 * partial last chunk. */
START_TEST(mean_loss_matches_reference)
{
    size_t n = 600;
    float *X, *T;
    make_problem(n, 3, &X, &T);
    jn_net *net = new_net(JN_ACT_SIGMOID, 3);
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    /* Penalties are set but must not count. */
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 5.0, 0), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(obj, 1.0), JN_OK);
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, T, n, D, K, JN_DATASET_BORROW), JN_OK);
    double got = -1.0, want = reference_loss(net, X, T, n, JN_LOSS_MSE);
    ck_assert_int_eq(jn_net_mean_loss(net, obj, ds, &got), JN_OK);
    ck_assert_msg(fabs(got - want) <= 1e-6 * want, "mean loss %.9g, reference %.9g", got, want);
    ck_assert(want > 0.01);
    jn_dataset_free(ds);

    /* Labelled: the loss against one-hot rows. */
    int32_t *labels = malloc(n * sizeof *labels);
    float *onehot = calloc(n * K, sizeof *onehot);
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % K);
        onehot[i * K + i % K] = 1.0f;
    }
    ck_assert_int_eq(jn_dataset_create(&ds, X, labels, n, D, K, JN_DATASET_BORROW), JN_OK);
    want = reference_loss(net, X, onehot, n, JN_LOSS_MSE);
    ck_assert_int_eq(jn_net_mean_loss(net, obj, ds, &got), JN_OK);
    ck_assert_msg(fabs(got - want) <= 1e-6 * want, "labelled: %.9g vs %.9g", got, want);

    /* Cross-entropy on a softmax network. */
    jn_net *soft = new_net(JN_ACT_SOFTMAX, 4);
    jn_objective *ce = loss_objective(JN_LOSS_CE);
    want = reference_loss(soft, X, onehot, n, JN_LOSS_CE);
    ck_assert_int_eq(jn_net_mean_loss(soft, ce, ds, &got), JN_OK);
    ck_assert_msg(fabs(got - want) <= 1e-6 * want, "CE: %.9g vs %.9g", got, want);
    EXPECT_INVALID(jn_net_mean_loss(net, ce, ds, &got), "softmax");

    /* Refusals. */
    EXPECT_INVALID(jn_net_mean_loss(NULL, obj, ds, &got), "net");
    EXPECT_INVALID(jn_net_mean_loss(net, NULL, ds, &got), "obj");
    EXPECT_INVALID(jn_net_mean_loss(net, obj, NULL, &got), "ds");
    EXPECT_INVALID(jn_net_mean_loss(net, obj, ds, NULL), "loss");
    jn_dataset *wide = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&wide, X, T, n / K, D * K, K, JN_DATASET_BORROW), JN_OK);
    EXPECT_INVALID(jn_net_mean_loss(net, obj, wide, &got), "features");
    jn_dataset_free(wide);

    jn_dataset_free(ds);
    jn_objective_free(ce);
    jn_objective_free(obj);
    jn_net_free(soft);
    jn_net_free(net);
    free(onehot);
    free(labels);
    free(X);
    free(T);
}
END_TEST

/* What the epoch callback checks: the reported validation score is the
 * mean loss of the network at that moment. */
typedef struct watch {
    jn_net *net;
    const jn_objective *obj;
    const jn_dataset *valid;
    unsigned epochs;
    double scores[64];
} watch;

static int check_score(const jn_epoch_report *r, void *user)
{
    watch *w = user;
    double loss = -1.0;
    ck_assert_int_eq(jn_net_mean_loss(w->net, w->obj, w->valid, &loss), JN_OK);
    ck_assert_msg(r->valid_error == loss, "epoch %u: reported %.9g, mean loss %.9g", r->epoch, r->valid_error, loss);
    ck_assert(r->best_valid_error <= r->valid_error);
    w->scores[w->epochs++] = r->valid_error;
    return 0;
}

static jn_trainer *new_trainer(unsigned epochs, uint64_t seed)
{
    jn_trainer *t = trainer_for(epochs, 16);
    ck_assert_int_eq(jn_trainer_set_seed(t, seed), JN_OK);
    return t;
}

START_TEST(trainer_fits_targets)
{
    float *X, *T, *Xv, *Tv;
    make_problem(400, 5, &X, &T);
    make_problem(200, 6, &Xv, &Tv);
    jn_dataset *tr = NULL, *va = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&tr, X, T, 400, D, K, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_create_targets(&va, Xv, Tv, 200, D, K, 0), JN_OK);
    jn_net *net = new_net(JN_ACT_SIGMOID, 11);
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    double before = reference_loss(net, Xv, Tv, 200, JN_LOSS_MSE);
    jn_optimizer *opt = sgd_optimizer(0.5, 0.5);
    jn_trainer *t = new_trainer(30, 3);
    watch w = {.net = net, .obj = obj, .valid = va};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(t, check_score, &w), JN_OK);
    ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, tr, va), JN_OK);
    ck_assert_uint_eq(w.epochs, 30);
    /* The best epoch's parameters are restored: the final loss is the
     * smallest score reported, recomputed independently. */
    double best = INFINITY;
    for (unsigned e = 0; e < w.epochs; e++) best = fmin(best, w.scores[e]);
    double after = reference_loss(net, Xv, Tv, 200, JN_LOSS_MSE);
    ck_assert_msg(fabs(after - best) <= 1e-6 * best, "final %.9g, best reported %.9g", after, best);
    /* Fitting happened: the targets' variance is about 0.03 per output. */
    ck_assert_msg(after < 0.4 * before, "validation loss %.5f -> %.5f", before, after);
    free_run(t, opt, obj, net);
    jn_dataset_free(va); jn_dataset_free(tr); free(X); free(T); free(Xv); free(Tv);
}
END_TEST

/* One-hot float targets train exactly as the labels they encode, with noise
 * and the Jacobian penalty on: the trainer's only difference between the
 * two is where a minibatch's targets come from. */
START_TEST(onehot_targets_train_like_labels)
{
    size_t n = 300;
    float *X, *T;
    make_problem(n, 8, &X, &T);
    int32_t *labels = malloc(n * sizeof *labels);
    float *onehot = calloc(n * K, sizeof *onehot);
    for (size_t i = 0; i < n; i++) {
        labels[i] = X[i * D] + X[i * D + 1] > 0.0f ? 1 : X[i * D + 2] > 0.0f ? 2 : 0;
        onehot[i * K + (size_t)labels[i]] = 1.0f;
    }
    jn_dataset *by_label = NULL, *by_target = NULL;
    ck_assert_int_eq(jn_dataset_create(&by_label, X, labels, n, D, K, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_create_targets(&by_target, X, onehot, n, D, K, 0), JN_OK);
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, 0.05, 0.1);
    jn_net *a = new_net(JN_ACT_SIGMOID, 21), *b = new_net(JN_ACT_SIGMOID, 21);
    jn_dataset *sets[2] = {by_label, by_target};
    jn_net *nets[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        jn_optimizer *opt = sgd_optimizer(0.3, 0.5);
        jn_trainer *t = new_trainer(3, 9);
        ck_assert_int_eq(jn_trainer_run(t, nets[k], obj, opt, sets[k], NULL), JN_OK);
        jn_trainer_free(t);
        jn_optimizer_free(opt);
    }
    size_t P = jn_net_param_count(a);
    ck_assert_mem_eq(jn_net_params(a), jn_net_params(b), P * sizeof(float));
    /* and training moved them */
    jn_net *init = new_net(JN_ACT_SIGMOID, 21);
    ck_assert(memcmp(jn_net_params(a), jn_net_params(init), P * sizeof(float)) != 0);
    jn_net_free(init);
    jn_net_free(a);
    jn_net_free(b);
    jn_objective_free(obj);
    jn_dataset_free(by_target);
    jn_dataset_free(by_label);
    free(onehot); free(labels); free(X); free(T);
}
END_TEST

/* An auto-encoder (targets = inputs): the Jacobian penalty makes the map
 * contractive, so its mean ||J||^2 ends far below the unpenalised one. */
START_TEST(autoencoder_penalty_contracts)
{
    size_t n = 400;
    float *X, *T;
    make_problem(n, 12, &X, &T);
    for (size_t i = 0; i < n * D; i++) X[i] = 0.5f + 0.4f * X[i]; /* into (0, 1) for sigmoid outputs */
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create_targets(&ds, X, X, n, D, D, JN_DATASET_BORROW), JN_OK);
    const size_t sizes[] = {D, 4, D};
    double mean_sq[2];
    double lambdas[2] = {0.0, 0.1};
    for (int k = 0; k < 2; k++) {
        jn_net *net = init_net(sizes, 3, JN_ACT_SIGMOID, JN_ACT_SIGMOID, 5);
        jn_objective *obj = loss_objective(JN_LOSS_MSE);
        ck_assert_int_eq(jn_objective_set_jacobian(obj, lambdas[k], 0), JN_OK);
        jn_optimizer *opt = sgd_optimizer(0.5, 0.9);
        jn_trainer *t = new_trainer(40, 1);
        ck_assert_int_eq(jn_trainer_run(t, net, obj, opt, ds, NULL), JN_OK);
        float *sq = malloc(n * sizeof *sq);
        ck_assert_int_eq(jn_net_jacobian_sqnorm(net, X, n, sq), JN_OK);
        mean_sq[k] = 0.0;
        for (size_t i = 0; i < n; i++) mean_sq[k] += sq[i] / (double)n;
        free_run(t, opt, obj, net);
        free(sq);
    }
    ck_assert_msg(mean_sq[1] < 0.5 * mean_sq[0], "mean ||J||^2: %.4f without, %.4f with the penalty", mean_sq[0],
                  mean_sq[1]);
    jn_dataset_free(ds);
    free(X); free(T);
}
END_TEST

/* A checkpoint fingerprints the targets too: a run on other targets (same
 * features, one value changed) is refused, not resumed. (The data CRC once
 * read the NULL labels of a targets dataset, which zlib takes as "start",
 * so every targets dataset had CRC 0.) */
START_TEST(checkpoint_knows_the_targets)
{
    float *X, *T;
    make_problem(64, 8, &X, &T);
    char *dir = make_temp_dir(), path[4096];
    snprintf(path, sizeof path, "%s/run.jnc", dir);
    for (int other = 0; other < 2; other++) {
        if (other) T[5] += 0.25f;
        jn_dataset *tr = NULL;
        ck_assert_int_eq(jn_dataset_create_targets(&tr, X, T, 64, D, K, JN_DATASET_BORROW), JN_OK);
        jn_net *net = new_net(JN_ACT_SIGMOID, 2);
        jn_objective *obj = loss_objective(JN_LOSS_MSE);
        jn_optimizer *opt = sgd_optimizer(0.5, 0.0);
        jn_trainer *t = new_trainer(1 + (unsigned)other, 3);
        ck_assert_int_eq(jn_trainer_set_checkpoint(t, path, 1), JN_OK);
        jn_status st = jn_trainer_run(t, net, obj, opt, tr, NULL);
        if (!other) ck_assert_int_eq(st, JN_OK);
        else ck_assert_msg(st == JN_ERR_INVALID && strstr(jn_last_error(), "other training data"), "%s: %s",
                           jn_status_str(st), jn_last_error());
        free_run(t, opt, obj, net);
        jn_dataset_free(tr);
    }
    unlink(path);
    rmdir(dir);
    free(dir);
    free(X); free(T);
}
END_TEST

int main(void)
{
    return RUN_TESTS("targets", "targets", 60, create_and_refuse, gather_targets, mean_loss_matches_reference,
                     trainer_fits_targets, onehot_targets_train_like_labels, autoencoder_penalty_contracts,
                     checkpoint_knows_the_targets);
}
