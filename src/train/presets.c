/* presets.c - the report's models by name, and the training recipe's
 * defaults: the one place the CLI (train, sweep) and the Python binding ask,
 * so a name or a default is never written twice (issue 22). The presets'
 * meaning, the objective each configures, is jn_objective_create_model's
 * (objective.c). */
#include "base/base.h"

#include <string.h>

static const struct preset {
    jn_model model;
    const char *name;
    unsigned uses;
} presets[] = {
    {JN_MODEL_MLP, "mlp", 0},
    {JN_MODEL_MLP_L2, "l2", JN_USES_LAMBDA},
    {JN_MODEL_MLP_NOISE, "noise", JN_USES_NOISE},
    {JN_MODEL_MLP_JACOB, "jacobian", JN_USES_LAMBDA},
    {JN_MODEL_MLP_NJ, "nj", JN_USES_LAMBDA | JN_USES_NOISE},
    {JN_MODEL_MLP_NJ_BOTH, "nj-both", JN_USES_LAMBDA | JN_USES_NOISE},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

static const struct preset *find(jn_model model)
{
    for (size_t i = 0; i < N_PRESETS; i++)
        if (presets[i].model == model) return &presets[i];
    return NULL;
}

JN_API const char *jn_model_name(jn_model model)
{
    const struct preset *p = find(model);
    return p ? p->name : NULL;
}

JN_API unsigned jn_model_uses(jn_model model)
{
    const struct preset *p = find(model);
    return p ? p->uses : 0;
}

JN_API jn_status jn_model_from_name(const char *name, jn_model *out)
{
    if (!name || !out) return jn__fail(JN_ERR_INVALID, "jn_model_from_name: %s is NULL", name ? "out" : "name");
    for (size_t i = 0; i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, name)) {
            *out = presets[i].model;
            return JN_OK;
        }
    return jn__fail(JN_ERR_INVALID, "unknown model '%s' (one of mlp, l2, noise, jacobian, nj, nj-both)", name);
}

/* The training recipe of docs/METHOD.md: SGD with momentum on minibatches
 * of 20 (the report's size), early stopping on validation as in the
 * report's protocol (section 8), noise std 0.1 as in its experiments. The
 * Table 1 runs set their own rate (records' commands). */
JN_API double jn_default_value(jn_default which)
{
    switch (which) {
    case JN_DEFAULT_LR: return 0.05;
    case JN_DEFAULT_MOMENTUM: return 0.9;
    case JN_DEFAULT_BATCH: return 20;
    case JN_DEFAULT_EPOCHS: return 100;
    case JN_DEFAULT_PATIENCE: return 15;
    case JN_DEFAULT_NOISE_STD: return 0.1;
    case JN_DEFAULT_HIDDEN: return 1000;
    case JN_DEFAULT_SEED: return 1;
    }
    return 0.0 / 0.0; /* not a jn_default: NaN, never a plausible value */
}
