/* test_trainer_loop.c - jn_trainer_run pinned, bit for bit, against a
 * hand-written loop on public functions only.
 *
 * The hand loop below is the stream contract of src/train/trainer.c (its head
 * comment, and docs/METHOD.md "The trainer's loop") written out: three
 * generators jn_rng_create_stream(seed, 0 / 1 / 2) for the shuffle, the loss
 * input's noise and the Jacobian input's noise; a shuffle at the start of
 * every epoch; per step t the Jacobian weight every * lambda when
 * t % every == 0 (else 0) and the projection seed
 * seed ^ (0x9e3779b97f4a7c15 * (t + 1)); the penalty at the clean input
 * unless the Jacobian term has noise of its own; the best parameters (by
 * validation error) restored at the end. With one BLAS thread both sides run
 * the same float operations in the same order, so parameters and reported
 * objectives must agree exactly; any change to which noise goes where, which
 * stream or std it uses, the per-step weight or seed, or the shuffling
 * changes bits.
 *
 * What the hand loop knows of an objective it takes from a `recipe` (the
 * public settings), so that the presets of jn_objective_create_model are
 * checked against what jacnet.h says they mean, not against themselves. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D 6
#define H 5
#define K 3
#define MAX_EPOCHS 16

/* The public settings of an objective, as the hand loop sees them. */
typedef struct recipe {
    const char *name;
    jn_noise noise;
    double input_std, jacobian_std;
    double lambda;          /* Jacobian weight */
    unsigned projections;
    unsigned every;         /* penalty_every */
    double l2;
    jn_penalty_target target;
    jn_penalty_form form;
} recipe;

/* How a run is driven: epochs, batch, seed, validation and stopping. */
typedef struct schedule {
    unsigned epochs;
    size_t batch;
    uint64_t seed;
    unsigned stop_after;    /* the epoch callback returns nonzero after this epoch (0: never) */
    unsigned patience;
} schedule;

/* What a run leaves: parameters and the per-epoch reports. */
typedef struct outcome {
    float *params;
    size_t P;
    unsigned epochs;                    /* epochs reported */
    double objective[MAX_EPOCHS];       /* train_objective per epoch */
    double valid_error[MAX_EPOCHS];
    unsigned best_epoch;
    jn_status status;
} outcome;

static jn_dataset *make_data(size_t n, unsigned seed)
{
    float *X = malloc(n * D * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * D, seed, -1.0f, 1.0f);
    /* labels from a fixed nonlinear rule with a little label noise, so that
     * the validation error moves up and down during training */
    for (size_t i = 0; i < n; i++) {
        float s = X[i * D] - X[i * D + 1] + 0.5f * X[i * D + 2] * X[i * D + 3];
        y[i] = s > 0.3f ? 2 : s > -0.3f ? 1 : 0;
        if (i % 7 == 3) y[i] = (y[i] + 1) % K;
    }
    return dataset_from(X, y, n, D, K);
}

static jn_net *make_net(void)
{
    return tiny_net(D, H, K, 17);
}

static jn_optimizer *make_opt(void)
{
    return sgd_optimizer(0.4, 0.5);
}

/* The objective the trainer gets, from the public setters. */
static jn_objective *objective_of(const recipe *r)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, r->lambda, r->projections), JN_OK);
    ck_assert_int_eq(jn_objective_set_noise(obj, r->noise, r->input_std, r->jacobian_std), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, r->every ? r->every : 1), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(obj, r->l2), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_target(obj, r->target), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, r->form), JN_OK);
    /* the trainer derives projection seeds from its own seed, not this one */
    ck_assert_int_eq(jn_objective_set_seed(obj, 987654321), JN_OK);
    return obj;
}

static void outcome_free(outcome *o) { free(o->params); }

/* ---- the hand-written loop ---- */

static void hand_run(const recipe *r, const schedule *sc, const jn_dataset *train, const jn_dataset *valid,
                     outcome *out)
{
    memset(out, 0, sizeof *out);
    jn_net *net = make_net();
    jn_optimizer *opt = make_opt();
    size_t N = jn_dataset_count(train), P = jn_net_param_count(net);
    size_t bs = sc->batch < N ? sc->batch : N, batches = (N + bs - 1) / bs;
    unsigned every = r->every ? r->every : 1;
    jn_rng *shuffle = NULL, *loss_noise = NULL, *jac_noise = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&shuffle, sc->seed, 0), JN_OK);
    ck_assert_int_eq(jn_rng_create_stream(&loss_noise, sc->seed, 1), JN_OK);
    ck_assert_int_eq(jn_rng_create_stream(&jac_noise, sc->seed, 2), JN_OK);
    size_t *perm = malloc(N * sizeof *perm);
    float *X = malloc(bs * D * sizeof *X), *Xloss = malloc(bs * D * sizeof *Xloss);
    float *Xjac = malloc(bs * D * sizeof *Xjac), *Y = malloc(bs * K * sizeof *Y);
    float *grad = malloc(P * sizeof *grad), *best = malloc(P * sizeof *best);
    memcpy(best, jn_net_params(net), P * sizeof *best);
    double best_error = INFINITY;
    unsigned since_best = 0;
    unsigned long t = 0;
    out->status = JN_OK;
    for (unsigned epoch = 1; epoch <= sc->epochs; epoch++) {
        ck_assert_int_eq(jn_dataset_shuffle(train, shuffle, perm), JN_OK);
        double sum = 0.0;
        for (size_t k = 0; k < batches; k++, t++) {
            size_t m = N - k * bs < bs ? N - k * bs : bs;
            const size_t *idx = perm + k * bs;
            ck_assert_int_eq(jn_dataset_gather(train, idx, m, X), JN_OK);
            ck_assert_int_eq(jn_dataset_onehot(train, idx, m, Y), JN_OK);
            const float *xl = X, *xj = NULL;
            if (r->noise != JN_NOISE_NONE && r->input_std > 0.0) {
                ck_assert_int_eq(jn_corrupt(loss_noise, r->noise, r->input_std, X, Xloss, m * D), JN_OK);
                xl = Xloss;
                xj = X; /* the penalty keeps the clean input */
            }
            if (r->noise != JN_NOISE_NONE && r->jacobian_std > 0.0 && r->lambda > 0.0) {
                ck_assert_int_eq(jn_corrupt(jac_noise, r->noise, r->jacobian_std, X, Xjac, m * D), JN_OK);
                xj = Xjac;
            }
            /* this step's objective: weight every * lambda on every every-th
             * step, the step's projection seed */
            jn_objective *step = loss_objective(JN_LOSS_MSE);
            double weight = t % every == 0 ? r->lambda * every : 0.0;
            ck_assert_int_eq(jn_objective_set_jacobian(step, weight, r->projections), JN_OK);
            ck_assert_int_eq(jn_objective_set_l2(step, r->l2), JN_OK);
            ck_assert_int_eq(jn_objective_set_penalty_target(step, r->target), JN_OK);
            ck_assert_int_eq(jn_objective_set_penalty_form(step, r->form), JN_OK);
            ck_assert_int_eq(jn_objective_set_seed(step, sc->seed ^ (0x9e3779b97f4a7c15ULL * (t + 1))), JN_OK);
            double value = 0.0;
            ck_assert_int_eq(jn_net_objective(net, step, xl, xj, Y, m, &value, grad), JN_OK);
            ck_assert_int_eq(jn_optimizer_step(opt, net, grad), JN_OK);
            jn_objective_free(step);
            sum += value;
        }
        out->epochs = epoch;
        out->objective[epoch - 1] = sum / (double)batches;
        out->valid_error[epoch - 1] = -1.0;
        if (valid) {
            double err;
            ck_assert_int_eq(jn_net_error_rate(net, valid, &err), JN_OK);
            out->valid_error[epoch - 1] = err;
            if (err < best_error) {
                best_error = err;
                out->best_epoch = epoch;
                memcpy(best, jn_net_params(net), P * sizeof *best);
                since_best = 0;
            } else {
                since_best++;
            }
        }
        if (sc->stop_after && epoch >= sc->stop_after) {
            out->status = JN_ERR_STOPPED;
            break;
        }
        if (valid && sc->patience && since_best >= sc->patience) break;
    }
    if (valid && out->best_epoch > 0) memcpy(jn_net_params(net), best, P * sizeof *best);
    out->P = P;
    out->params = malloc(P * sizeof *out->params);
    memcpy(out->params, jn_net_params(net), P * sizeof *out->params);
    free(perm); free(X); free(Xloss); free(Xjac); free(Y); free(grad); free(best);
    jn_rng_free(shuffle); jn_rng_free(loss_noise); jn_rng_free(jac_noise);
    jn_optimizer_free(opt);
    jn_net_free(net);
}

/* ---- the library's trainer ---- */

typedef struct recorder { outcome *out; unsigned stop_after; } recorder;

static int record_epoch(const jn_epoch_report *rep, void *user)
{
    recorder *rc = user;
    ck_assert_uint_lt(rep->epoch, MAX_EPOCHS + 1);
    rc->out->epochs = rep->epoch;
    rc->out->objective[rep->epoch - 1] = rep->train_objective;
    rc->out->valid_error[rep->epoch - 1] = rep->valid_error;
    rc->out->best_epoch = rep->best_epoch;
    return rc->stop_after && rep->epoch >= rc->stop_after;
}

static void trainer_run(const jn_objective *obj, const schedule *sc, const jn_dataset *train, const jn_dataset *valid,
                        outcome *out)
{
    memset(out, 0, sizeof *out);
    jn_net *net = make_net();
    jn_optimizer *opt = make_opt();
    jn_trainer *tr = trainer_for(sc->epochs, sc->batch);
    ck_assert_int_eq(jn_trainer_set_seed(tr, sc->seed), JN_OK);
    ck_assert_int_eq(jn_trainer_set_patience(tr, sc->patience), JN_OK);
    recorder rc = {out, sc->stop_after};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(tr, record_epoch, &rc), JN_OK);
    out->status = jn_trainer_run(tr, net, obj, opt, train, valid);
    out->P = jn_net_param_count(net);
    out->params = malloc(out->P * sizeof *out->params);
    memcpy(out->params, jn_net_params(net), out->P * sizeof *out->params);
    free_run(tr, opt, NULL, net);
}

static int same_params(const outcome *a, const outcome *b)
{
    return a->P == b->P && memcmp(a->params, b->params, a->P * sizeof *a->params) == 0;
}

/* Bit-for-bit agreement of the trainer and the hand loop. */
static void expect_same(const char *what, const outcome *lib, const outcome *hand)
{
    ck_assert_msg(lib->status == hand->status, "%s: trainer returned %s, the hand loop %s", what,
                  jn_status_str(lib->status), jn_status_str(hand->status));
    ck_assert_msg(lib->epochs == hand->epochs, "%s: %u epochs reported, the hand loop ran %u", what, lib->epochs,
                  hand->epochs);
    for (unsigned e = 0; e < hand->epochs; e++) {
        ck_assert_msg(lib->objective[e] == hand->objective[e], "%s: epoch %u objective %.17g, hand loop %.17g",
                      what, e + 1, lib->objective[e], hand->objective[e]);
        ck_assert_msg(lib->valid_error[e] == hand->valid_error[e], "%s: epoch %u validation error %g, hand loop %g",
                      what, e + 1, lib->valid_error[e], hand->valid_error[e]);
    }
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < hand->P; i++)
        if (memcmp(&lib->params[i], &hand->params[i], sizeof(float)) != 0 && differ++ == 0) first = i;
    ck_assert_msg(differ == 0, "%s: %zu of %zu parameters differ from the hand loop (first: [%zu] %.9g vs %.9g)",
                  what, differ, hand->P, first, differ ? lib->params[first] : 0.0,
                  differ ? hand->params[first] : 0.0);
}

static void compare(const recipe *r, const schedule *sc, int with_valid)
{
    jn_dataset *train = make_data(53, 1), *valid = with_valid ? make_data(40, 2) : NULL;
    jn_objective *obj = objective_of(r);
    outcome lib, hand;
    trainer_run(obj, sc, train, valid, &lib);
    hand_run(r, sc, train, valid, &hand);
    expect_same(r->name, &lib, &hand);
    outcome_free(&lib);
    outcome_free(&hand);
    jn_objective_free(obj);
    jn_dataset_free(train);
    jn_dataset_free(valid);
}

static void setup_threads(void) { ck_assert_int_eq(jn_set_threads(1), JN_OK); }

/* 53 examples in batches of 8: 7 steps an epoch, the last of 5 examples. */
static const schedule three_epochs = {3, 8, 1234, 0, 0};

#define G JN_NOISE_GAUSSIAN
#define OUT JN_PENALTY_OUTPUT
#define LOG JN_PENALTY_LOGITS
#define AUTO JN_FORM_AUTO

/* Each a distinct part of the contract; stds differ between the two inputs
 * wherever both are noisy, so swapping the stds or the streams changes bits. */
static const recipe recipes[] = {
    {"plain", JN_NOISE_NONE, 0.0, 0.0, 0.0, 0, 1, 0.0, OUT, AUTO},
    {"loss noise only", G, 0.3, 0.0, 0.0, 0, 1, 0.0, OUT, AUTO},
    {"loss noise, clean penalty", G, 0.3, 0.0, 0.2, 0, 1, 0.0, OUT, AUTO},
    {"jacobian noise only", G, 0.0, 0.25, 0.2, 0, 1, 0.0, OUT, AUTO},
    {"both noises", G, 0.3, 0.15, 0.2, 0, 1, 0.0, OUT, AUTO},
    {"both noises, penalty every 3", G, 0.3, 0.15, 0.2, 0, 3, 0.0, OUT, AUTO},
    {"jacobian noise, penalty every 2", G, 0.0, 0.25, 0.3, 0, 2, 0.0, OUT, AUTO},
    {"projections", JN_NOISE_NONE, 0.0, 0.0, 0.3, 1, 1, 0.0, OUT, AUTO},
    {"projections, both noises", G, 0.3, 0.15, 0.3, 2, 1, 0.0, OUT, JN_FORM_DIRECT},
    {"projections every 2, logits", G, 0.0, 0.2, 0.3, 1, 2, 0.0, LOG, JN_FORM_GRAM},
    {"uniform noise", JN_NOISE_UNIFORM, 0.3, 0.15, 0.2, 0, 1, 0.0, OUT, AUTO},
    {"masking noise", JN_NOISE_MASK, 0.2, 0.1, 0.2, 0, 1, 0.0, OUT, AUTO},
    {"l2 and penalty", G, 0.1, 0.2, 0.1, 0, 1, 0.01, OUT, AUTO},
};
#define N_RECIPES (sizeof recipes / sizeof recipes[0])

START_TEST(matches_hand_loop)
{
    compare(&recipes[_i], &three_epochs, 0);
}
END_TEST

/* With a validation set (errors per epoch, best parameters restored at the
 * end of a full run). */
START_TEST(matches_hand_loop_with_validation)
{
    schedule sc = {5, 8, 99, 0, 0};
    compare(&recipes[_i], &sc, 1);
}
END_TEST

/* Guards on the comparison itself: the hand loop with a plausible slip
 * differs from the trainer, so agreement above means something. */
START_TEST(hand_loop_slips_are_seen)
{
    jn_dataset *train = make_data(53, 1);
    static const recipe both = {"both", G, 0.3, 0.15, 0.2, 0, 1, 0.0, OUT, AUTO};
    jn_objective *obj = objective_of(&both);
    outcome lib, slip;
    trainer_run(obj, &three_epochs, train, NULL, &lib);
    /* stds swapped between the two inputs */
    recipe swapped = both;
    swapped.input_std = both.jacobian_std;
    swapped.jacobian_std = both.input_std;
    hand_run(&swapped, &three_epochs, train, NULL, &slip);
    ck_assert_msg(!same_params(&lib, &slip), "swapping the stds changes nothing");
    outcome_free(&slip);
    /* another seed */
    schedule other = three_epochs;
    other.seed++;
    hand_run(&both, &other, train, NULL, &slip);
    ck_assert_msg(!same_params(&lib, &slip), "the seed changes nothing");
    outcome_free(&slip);
    /* penalty every step instead of every 3rd with weight 3 lambda */
    static const recipe every3 = {"every3", G, 0.3, 0.15, 0.2, 0, 3, 0.0, OUT, AUTO};
    jn_objective *obj3 = objective_of(&every3);
    outcome lib3;
    trainer_run(obj3, &three_epochs, train, NULL, &lib3);
    hand_run(&both, &three_epochs, train, NULL, &slip);
    ck_assert_msg(!same_params(&lib3, &slip), "penalty_every changes nothing");
    outcome_free(&slip);
    outcome_free(&lib3);
    outcome_free(&lib);
    jn_objective_free(obj3);
    jn_objective_free(obj);
    jn_dataset_free(train);
}
END_TEST

/* Every preset of jn_objective_create_model against what jacnet.h says it
 * is: noise on the loss input (MLP_NOISE), on the Jacobian input (MLP_NJ),
 * on both with independent draws (MLP_NJ_BOTH), none otherwise. */
START_TEST(presets_place_their_noise)
{
    const double lambda = 0.2, std = 0.3;
    static const jn_model models[] = {JN_MODEL_MLP, JN_MODEL_MLP_L2, JN_MODEL_MLP_NOISE, JN_MODEL_MLP_JACOB,
                                      JN_MODEL_MLP_NJ, JN_MODEL_MLP_NJ_BOTH};
    recipe want[6] = {
        {"MLP", JN_NOISE_NONE, 0.0, 0.0, 0.0, 0, 1, 0.0, OUT, AUTO},
        {"MLP_L2", JN_NOISE_NONE, 0.0, 0.0, 0.0, 0, 1, lambda, OUT, AUTO},
        {"MLP_NOISE", G, std, 0.0, 0.0, 0, 1, 0.0, OUT, AUTO},
        {"MLP_JACOB", JN_NOISE_NONE, 0.0, 0.0, lambda, 0, 1, 0.0, OUT, AUTO},
        {"MLP_NJ", G, 0.0, std, lambda, 0, 1, 0.0, OUT, AUTO},
        {"MLP_NJ_BOTH", G, std, std, lambda, 0, 1, 0.0, OUT, AUTO},
    };
    jn_dataset *train = make_data(53, 1);
    jn_objective *obj = model_objective(models[_i], lambda, std);
    outcome lib, hand;
    trainer_run(obj, &three_epochs, train, NULL, &lib);
    hand_run(&want[_i], &three_epochs, train, NULL, &hand);
    expect_same(want[_i].name, &lib, &hand);
    outcome_free(&hand);
    /* and not what a neighbouring preset would be: the noise moved to the
     * other input differs */
    if (models[_i] == JN_MODEL_MLP_NOISE || models[_i] == JN_MODEL_MLP_NJ) {
        recipe moved = want[_i];
        moved.input_std = want[_i].jacobian_std;
        moved.jacobian_std = want[_i].input_std;
        moved.lambda = lambda;
        hand_run(&moved, &three_epochs, train, NULL, &hand);
        ck_assert_msg(!same_params(&lib, &hand), "%s: moving the noise changes nothing", want[_i].name);
        outcome_free(&hand);
    }
    outcome_free(&lib);
    jn_objective_free(obj);
    jn_dataset_free(train);
}
END_TEST

/* An epoch callback that stops the run after an epoch that was not the best:
 * the trainer returns JN_ERR_STOPPED with the best epoch's parameters. The
 * stopping epoch is chosen from a full hand run so that the best epoch lies
 * strictly before it. */
START_TEST(callback_stop_restores_best)
{
    static const recipe r = {"stop", G, 0.3, 0.15, 0.2, 0, 1, 0.0, OUT, AUTO};
    schedule sc = {MAX_EPOCHS, 8, 5, 0, 0};
    jn_dataset *train = make_data(53, 1), *valid = make_data(40, 2);
    outcome full;
    hand_run(&r, &sc, train, valid, &full);
    unsigned stop = 0;
    double best = INFINITY;
    unsigned best_epoch = 0;
    for (unsigned e = 1; e <= full.epochs && !stop; e++) {
        if (full.valid_error[e - 1] < best) {
            best = full.valid_error[e - 1];
            best_epoch = e;
        } else if (best_epoch >= 2) {
            stop = e; /* not the best, and the best is not the first epoch */
        }
    }
    outcome_free(&full);
    ck_assert_msg(stop > 0, "no epoch after a best one in %u epochs: pick another seed", sc.epochs);
    sc.stop_after = stop;
    jn_objective *obj = objective_of(&r);
    outcome lib, hand, last;
    trainer_run(obj, &sc, train, valid, &lib);
    hand_run(&r, &sc, train, valid, &hand);
    ck_assert_int_eq(lib.status, JN_ERR_STOPPED);
    ck_assert_uint_eq(lib.epochs, stop);
    ck_assert_uint_eq(lib.best_epoch, best_epoch);
    expect_same("stopped by the epoch callback", &lib, &hand);
    /* the parameters at the stop differ from the restored ones */
    schedule no_valid = sc;
    hand_run(&r, &no_valid, train, NULL, &last);
    ck_assert_msg(!same_params(&last, &lib), "the restored parameters are those of the last epoch");
    outcome_free(&last);
    /* patience stops the same way, also restoring */
    sc.stop_after = 0;
    sc.patience = 1;
    outcome_free(&lib);
    outcome_free(&hand);
    trainer_run(obj, &sc, train, valid, &lib);
    hand_run(&r, &sc, train, valid, &hand);
    ck_assert_int_eq(lib.status, JN_OK);
    ck_assert_uint_lt(lib.epochs, MAX_EPOCHS);
    expect_same("stopped by patience", &lib, &hand);
    outcome_free(&lib);
    outcome_free(&hand);
    jn_objective_free(obj);
    jn_dataset_free(train);
    jn_dataset_free(valid);
}
END_TEST

/* Shuffling: stream 0 gives a new permutation at each call, and the
 * trainer draws one every epoch (a run that reused the first epoch's order
 * would differ from the hand loop). */
START_TEST(shuffles_every_epoch)
{
    static const recipe r = {"plain", JN_NOISE_NONE, 0.0, 0.0, 0.0, 0, 1, 0.0, OUT, AUTO};
    jn_dataset *train = make_data(53, 1);
    jn_rng *s = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&s, three_epochs.seed, 0), JN_OK);
    size_t p1[53], p2[53];
    ck_assert_int_eq(jn_dataset_shuffle(train, s, p1), JN_OK);
    ck_assert_int_eq(jn_dataset_shuffle(train, s, p2), JN_OK);
    ck_assert_msg(memcmp(p1, p2, sizeof p1) != 0, "two shuffles of stream 0 agree");
    jn_rng_free(s);
    compare(&r, &three_epochs, 0);
    jn_dataset_free(train);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_loop");
    TCase *tc = tcase_create("hand_loop");
    tcase_add_checked_fixture(tc, setup_threads, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, matches_hand_loop, 0, (int)N_RECIPES);
    tcase_add_loop_test(tc, matches_hand_loop_with_validation, 0, (int)N_RECIPES);
    tcase_add_test(tc, hand_loop_slips_are_seen);
    tcase_add_loop_test(tc, presets_place_their_noise, 0, 6);
    tcase_add_test(tc, callback_stop_restores_best);
    tcase_add_test(tc, shuffles_every_epoch);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
