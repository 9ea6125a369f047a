/* test_objective_get.c - the objective's getters (src/train/objective_get.c):
 * the defaults of jn_objective_create, every setter's value read back (each
 * setting a distinct value, so a getter reading another field fails), every
 * enum value, a refused setter changing nothing, the presets' settings
 * against the table in jacnet.h (written out here, not taken from
 * objective.c), clones, NULL, and a training run leaving the settings alone. */
#include "testutil.h"

#include <limits.h>
#include <math.h>

/* Every setting, as the getters read it. */
typedef struct settings {
    jn_loss loss;
    double l2, jacobian;
    unsigned projections;
    jn_penalty_target target;
    jn_penalty_form form;
    unsigned every;
    uint64_t seed;
    jn_precision precision;
    jn_noise noise;
    double input_std, jacobian_std;
} settings;

static settings read_settings(const jn_objective *obj)
{
    settings s = {jn_objective_loss(obj),           jn_objective_l2(obj),
                  jn_objective_jacobian(obj),       jn_objective_projections(obj),
                  jn_objective_penalty_target(obj), jn_objective_penalty_form(obj),
                  jn_objective_penalty_every(obj),  jn_objective_seed(obj),
                  jn_objective_precision(obj),      jn_objective_noise(obj),
                  jn_objective_input_std(obj),      jn_objective_jacobian_std(obj)};
    return s;
}

/* Exact comparison: a getter returns the stored value, not a computation. */
static void assert_settings(const settings *got, const settings *want, const char *what)
{
    ck_assert_msg(got->loss == want->loss, "%s: loss %d, want %d", what, got->loss, want->loss);
    ck_assert_msg(got->l2 == want->l2, "%s: l2 %g, want %g", what, got->l2, want->l2);
    ck_assert_msg(got->jacobian == want->jacobian, "%s: jacobian %g, want %g", what, got->jacobian, want->jacobian);
    ck_assert_msg(got->projections == want->projections, "%s: projections %u, want %u", what, got->projections,
                  want->projections);
    ck_assert_msg(got->target == want->target, "%s: target %d, want %d", what, got->target, want->target);
    ck_assert_msg(got->form == want->form, "%s: form %d, want %d", what, got->form, want->form);
    ck_assert_msg(got->every == want->every, "%s: every %u, want %u", what, got->every, want->every);
    ck_assert_msg(got->seed == want->seed, "%s: seed %llu, want %llu", what, (unsigned long long)got->seed,
                  (unsigned long long)want->seed);
    ck_assert_msg(got->precision == want->precision, "%s: precision %d, want %d", what, got->precision,
                  want->precision);
    ck_assert_msg(got->noise == want->noise, "%s: noise %d, want %d", what, got->noise, want->noise);
    ck_assert_msg(got->input_std == want->input_std, "%s: input_std %g, want %g", what, got->input_std,
                  want->input_std);
    ck_assert_msg(got->jacobian_std == want->jacobian_std, "%s: jacobian_std %g, want %g", what,
                  got->jacobian_std, want->jacobian_std);
}

/* jn_objective_create's documented start: no penalty, no noise, the
 * penalty every step on the outputs, form AUTO, FP32, seed 1. */
static settings defaults(jn_loss loss)
{
    settings s = {loss, 0.0, 0.0, 0, JN_PENALTY_OUTPUT, JN_FORM_AUTO, 1, 1, JN_PRECISION_FP32, JN_NOISE_NONE,
                  0.0, 0.0};
    return s;
}

/* Distinct from the defaults and from each other, the seed above 2^32. */
static const settings changed = {JN_LOSS_CE, 0.25, 0.5, 3, JN_PENALTY_LOGITS, JN_FORM_GRAM, 4,
                                 0x123456789abcdef0ull, JN_PRECISION_BF16, JN_NOISE_UNIFORM, 0.125, 0.375};

static jn_objective *configured(void)
{
    jn_objective *obj;
    ck_assert_int_eq(jn_objective_create(&obj, changed.loss), JN_OK);
    ck_assert_int_eq(jn_objective_set_l2(obj, changed.l2), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, changed.jacobian, changed.projections), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_target(obj, changed.target), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, changed.form), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, changed.every), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(obj, changed.seed), JN_OK);
    ck_assert_int_eq(jn_objective_set_precision(obj, changed.precision), JN_OK);
    ck_assert_int_eq(jn_objective_set_noise(obj, changed.noise, changed.input_std, changed.jacobian_std), JN_OK);
    return obj;
}

START_TEST(create_defaults)
{
    for (int loss = JN_LOSS_MSE; loss <= JN_LOSS_CE; loss++) {
        jn_objective *obj;
        ck_assert_int_eq(jn_objective_create(&obj, (jn_loss)loss), JN_OK);
        settings got = read_settings(obj), want = defaults((jn_loss)loss);
        assert_settings(&got, &want, "jn_objective_create");
        jn_objective_free(obj);
    }
}
END_TEST

START_TEST(setters_read_back)
{
    jn_objective *obj = configured();
    settings got = read_settings(obj);
    assert_settings(&got, &changed, "after the setters");
    jn_objective_free(obj);
}
END_TEST

START_TEST(every_enum_value_reads_back)
{
    jn_objective *obj;
    ck_assert_int_eq(jn_objective_create(&obj, JN_LOSS_MSE), JN_OK);
    for (int t = JN_PENALTY_OUTPUT; t <= JN_PENALTY_LOGITS; t++) {
        ck_assert_int_eq(jn_objective_set_penalty_target(obj, (jn_penalty_target)t), JN_OK);
        ck_assert_int_eq(jn_objective_penalty_target(obj), t);
    }
    for (int f = JN_FORM_AUTO; f <= JN_FORM_GRAM; f++) {
        ck_assert_int_eq(jn_objective_set_penalty_form(obj, (jn_penalty_form)f), JN_OK);
        ck_assert_int_eq(jn_objective_penalty_form(obj), f);
    }
    for (int p = JN_PRECISION_FP32; p <= JN_PRECISION_AUTO; p++) {
        ck_assert_int_eq(jn_objective_set_precision(obj, (jn_precision)p), JN_OK);
        ck_assert_int_eq(jn_objective_precision(obj), p);
    }
    for (int k = JN_NOISE_NONE; k <= JN_NOISE_MASK; k++) {
        ck_assert_int_eq(jn_objective_set_noise(obj, (jn_noise)k, 0.5, 0.75), JN_OK);
        ck_assert_int_eq(jn_objective_noise(obj), k);
    }
    /* The largest values the setters take. */
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 2.0, 4096), JN_OK);
    ck_assert_uint_eq(jn_objective_projections(obj), 4096);
    ck_assert_int_eq(jn_objective_set_seed(obj, UINT64_MAX), JN_OK);
    ck_assert(jn_objective_seed(obj) == UINT64_MAX);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, UINT_MAX), JN_OK);
    ck_assert_uint_eq(jn_objective_penalty_every(obj), UINT_MAX);
    jn_objective_free(obj);
}
END_TEST

START_TEST(refused_setter_changes_nothing)
{
    jn_objective *obj = configured();
    ck_assert_int_eq(jn_objective_set_l2(obj, -1.0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 1.0, 4097), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, NAN, 1), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_penalty_target(obj, (jn_penalty_target)2), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_penalty_form(obj, (jn_penalty_form)3), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, 0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_precision(obj, (jn_precision)3), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, 0.1, -0.1), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_set_noise(obj, JN_NOISE_MASK, 1.5, 0.1), JN_ERR_INVALID);
    settings got = read_settings(obj);
    assert_settings(&got, &changed, "after refused setters");
    jn_objective_free(obj);
}
END_TEST

/* jacnet.h's jn_model table: lambda is the l2 weight of MLP_L2 and the
 * Jacobian weight of JACOB/NJ/NJ_BOTH; std the Gaussian noise on the loss
 * input (NOISE, NJ_BOTH) and on the Jacobian input (NJ, NJ_BOTH). */
START_TEST(presets_read_back)
{
    const double lambda = 0.3, std = 0.2;
    const struct {
        jn_model model;
        double l2, jacobian;
        jn_noise noise;
        double input_std, jacobian_std;
    } table[] = {
        {JN_MODEL_MLP, 0, 0, JN_NOISE_NONE, 0, 0},
        {JN_MODEL_MLP_L2, lambda, 0, JN_NOISE_NONE, 0, 0},
        {JN_MODEL_MLP_NOISE, 0, 0, JN_NOISE_GAUSSIAN, std, 0},
        {JN_MODEL_MLP_JACOB, 0, lambda, JN_NOISE_NONE, 0, 0},
        {JN_MODEL_MLP_NJ, 0, lambda, JN_NOISE_GAUSSIAN, 0, std},
        {JN_MODEL_MLP_NJ_BOTH, 0, lambda, JN_NOISE_GAUSSIAN, std, std},
    };
    size_t count = 0;
    for (int m = JN_MODEL_MLP; jn_model_name((jn_model)m); m++) count++;
    ck_assert_uint_eq(count, sizeof table / sizeof table[0]); /* a new preset needs a row here */
    for (size_t i = 0; i < count; i++) {
        jn_objective *obj;
        ck_assert_int_eq(jn_objective_create_model(&obj, table[i].model, lambda, std), JN_OK);
        settings want = defaults(JN_LOSS_MSE);
        want.l2 = table[i].l2;
        want.jacobian = table[i].jacobian;
        want.noise = table[i].noise;
        want.input_std = table[i].input_std;
        want.jacobian_std = table[i].jacobian_std;
        settings got = read_settings(obj);
        assert_settings(&got, &want, jn_model_name(table[i].model));
        jn_objective_free(obj);
    }
}
END_TEST

/* The loss of a preset changed: the loss reads back, the preset's penalty
 * and noise stay; an unknown loss is refused and changes nothing. */
START_TEST(set_loss_keeps_the_preset)
{
    jn_objective *obj;
    ck_assert_int_eq(jn_objective_create_model(&obj, JN_MODEL_MLP_NJ, 0.3, 0.2), JN_OK);
    ck_assert_int_eq(jn_objective_loss(obj), JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_loss(obj, JN_LOSS_CE), JN_OK);
    ck_assert_int_eq(jn_objective_loss(obj), JN_LOSS_CE);
    ck_assert(jn_objective_jacobian(obj) == 0.3 && jn_objective_jacobian_std(obj) == 0.2);
    ck_assert_int_eq(jn_objective_noise(obj), JN_NOISE_GAUSSIAN);
    ck_assert_int_eq(jn_objective_set_loss(obj, (jn_loss)7), JN_ERR_INVALID);
    ck_assert_int_eq(jn_objective_loss(obj), JN_LOSS_CE);
    ck_assert_int_eq(jn_objective_set_loss(NULL, JN_LOSS_MSE), JN_ERR_INVALID);
    jn_objective_free(obj);
}
END_TEST

START_TEST(clone_copies_and_is_independent)
{
    jn_objective *obj = configured(), *copy;
    ck_assert_int_eq(jn_objective_clone(&copy, obj), JN_OK);
    settings got = read_settings(copy);
    assert_settings(&got, &changed, "clone");
    /* Changing either leaves the other as it was. */
    ck_assert_int_eq(jn_objective_set_l2(obj, 1.0), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(copy, 7), JN_OK);
    got = read_settings(copy);
    settings want = changed;
    want.seed = 7;
    assert_settings(&got, &want, "clone after changes");
    ck_assert(jn_objective_l2(obj) == 1.0 && jn_objective_seed(obj) == changed.seed);
    jn_objective_free(copy);
    jn_objective_free(obj);
}
END_TEST

START_TEST(null_reads_as_zero)
{
    settings got = read_settings(NULL), want = {0};
    assert_settings(&got, &want, "NULL");
}
END_TEST

/* The trainer works on per-step copies (penalty every k, a projection seed
 * per step, the noise it draws): the caller's objective reads the same
 * after a run. */
START_TEST(training_leaves_settings_alone)
{
    const size_t sizes[] = {4, 5, 3}, n = 12;
    jn_net *net = init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 2);
    float X[12 * 4];
    int32_t labels[12];
    fill_uniform(X, n * 4, 9, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(i % 3);
    jn_dataset *ds;
    ck_assert_int_eq(jn_dataset_create(&ds, X, labels, n, 4, 3, 0), JN_OK);
    jn_objective *obj;
    ck_assert_int_eq(jn_objective_create(&obj, JN_LOSS_MSE), JN_OK);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 0.1, 2), JN_OK);
    ck_assert_int_eq(jn_objective_set_penalty_every(obj, 2), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(obj, 99), JN_OK);
    ck_assert_int_eq(jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, 0.1, 0.2), JN_OK);
    settings before = read_settings(obj);
    jn_optimizer *opt;
    ck_assert_int_eq(jn_optimizer_create_sgd(&opt, 0.1, 0.0), JN_OK);
    jn_trainer *tr = trainer_for(2, 4);
    ck_assert_int_eq(jn_trainer_run(tr, net, obj, opt, ds, ds), JN_OK);
    settings after = read_settings(obj);
    assert_settings(&after, &before, "after jn_trainer_run");
    free_run(tr, opt, obj, net);
    jn_dataset_free(ds);
}
END_TEST

int main(void)
{
    return RUN_TESTS("objective_get", "objective_get", 0, create_defaults, setters_read_back,
                     every_enum_value_reads_back, refused_setter_changes_nothing, presets_read_back,
                     set_loss_keeps_the_preset, clone_copies_and_is_independent, null_reads_as_zero,
                     training_leaves_settings_alone);
}
