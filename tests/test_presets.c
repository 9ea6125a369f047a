/* test_presets.c - the presets' one table (src/train/presets.c): names round trip,
 * unknown names are refused with the list, and what jn_model_uses says a
 * preset reads is what the objective it configures actually reads: the
 * objective's value moves with lambda (resp. the noise std, through the
 * trainer's draws) exactly for the presets flagged so. The CLI's and
 * Python's lists are checked against this table in python/tests. */
#include "testutil.h"

#include <math.h>
#include <string.h>

START_TEST(names_round_trip)
{
    int count = 0;
    for (int m = JN_MODEL_MLP; jn_model_name((jn_model)m); m++) {
        jn_model back = (jn_model)-1;
        ck_assert_int_eq(jn_model_from_name(jn_model_name((jn_model)m), &back), JN_OK);
        ck_assert_int_eq(back, m);
        count++;
    }
    ck_assert_int_eq(count, JN_MODEL_MLP_NJ_BOTH + 1);
    ck_assert_ptr_null(jn_model_name((jn_model)-1));
    ck_assert_uint_eq(jn_model_uses((jn_model)99), 0);
}
END_TEST

START_TEST(unknown_names_refused)
{
    jn_model m = JN_MODEL_MLP_NJ;
    ck_assert_int_eq(jn_model_from_name("jacob", &m), JN_ERR_INVALID);
    ck_assert_int_eq(m, JN_MODEL_MLP_NJ); /* untouched */
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "'jacob'"));
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "nj-both"));
    ck_assert_int_eq(jn_model_from_name(NULL, &m), JN_ERR_INVALID);
    ck_assert_int_eq(jn_model_from_name("mlp", NULL), JN_ERR_INVALID);
}
END_TEST

static int keep_report(const jn_epoch_report *report, void *user)
{
    *(jn_epoch_report *)user = *report;
    return 0;
}

/* The objective of `model` at (lambda, std) on fixed data, with the noise a
 * trainer would draw: one epoch of one batch, whose objective is measured
 * before its step: the epoch's train_objective. */
static double preset_value(jn_model model, double lambda, double std)
{
    const size_t sizes[] = {6, 5, 3}, n = 16;
    jn_net *net = biased_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 3, 1.0f);
    float X[16 * 6];
    int32_t labels[16];
    fill_uniform(X, n * 6, 5, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i++) labels[i] = (unsigned)(i % 3);
    jn_dataset *ds;
    ck_assert_int_eq(jn_dataset_create(&ds, X, labels, n, 6, 3, 0), JN_OK);
    jn_objective *obj;
    ck_assert_int_eq(jn_objective_create_model(&obj, model, lambda, std), JN_OK);
    jn_optimizer *opt;
    ck_assert_int_eq(jn_optimizer_create_sgd(&opt, 0.1, 0.0), JN_OK);
    jn_trainer *tr = trainer_for(1, n);
    jn_epoch_report rep = {0};
    ck_assert_int_eq(jn_trainer_set_epoch_callback(tr, keep_report, &rep), JN_OK);
    ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, NULL), JN_OK);
    ck_assert_uint_eq(rep.epoch, 1);
    double v = rep.train_objective;
    free_run(tr, opt, obj, net);
    jn_dataset_free(ds);
    return v;
}

START_TEST(uses_is_what_the_objective_reads)
{
    for (int m = JN_MODEL_MLP; jn_model_name((jn_model)m); m++) {
        unsigned uses = jn_model_uses((jn_model)m);
        double base = preset_value((jn_model)m, 0.1, 0.1);
        double other_lambda = preset_value((jn_model)m, 0.5, 0.1);
        double other_std = preset_value((jn_model)m, 0.1, 0.4);
        ck_assert_msg((other_lambda != base) == !!(uses & JN_USES_LAMBDA), "%s: lambda %s the value, uses says %u",
                      jn_model_name((jn_model)m), other_lambda != base ? "changes" : "does not change", uses);
        ck_assert_msg((other_std != base) == !!(uses & JN_USES_NOISE), "%s: std %s the value, uses says %u",
                      jn_model_name((jn_model)m), other_std != base ? "changes" : "does not change", uses);
    }
}
END_TEST

START_TEST(defaults_defined)
{
    for (int d = JN_DEFAULT_LR; d <= JN_DEFAULT_SEED; d++) {
        double v = jn_default_value((jn_default)d);
        ck_assert_msg(isfinite(v) && v >= 0, "default %d = %g", d, v);
    }
    ck_assert(jn_default_value(JN_DEFAULT_BATCH) >= 1 && jn_default_value(JN_DEFAULT_EPOCHS) >= 1);
    ck_assert(isnan(jn_default_value((jn_default)(JN_DEFAULT_SEED + 1))));
}
END_TEST

int main(void)
{
    return RUN_TESTS("presets", "presets", 0, names_round_trip, unknown_names_refused, uses_is_what_the_objective_reads,
                     defaults_defined);
}
