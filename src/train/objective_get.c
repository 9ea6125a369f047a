/* objective_get.c - the objective's getters: each setting as the setters
 * (or jn_objective_create, _create_model, _clone) left it, so that a binding
 * reads the library's one copy instead of keeping its own (issue 22). A NULL
 * objective reads as 0, the first value of each enum. */
#include "train/objective.h"

JN_API jn_loss jn_objective_loss(const jn_objective *obj) { return obj ? obj->loss : JN_LOSS_MSE; }

JN_API double jn_objective_l2(const jn_objective *obj) { return obj ? obj->l2 : 0.0; }

JN_API double jn_objective_jacobian(const jn_objective *obj) { return obj ? obj->jacobian : 0.0; }

JN_API unsigned jn_objective_projections(const jn_objective *obj) { return obj ? obj->projections : 0; }

JN_API jn_penalty_target jn_objective_penalty_target(const jn_objective *obj)
{
    return obj ? obj->target : JN_PENALTY_OUTPUT;
}

JN_API jn_penalty_form jn_objective_penalty_form(const jn_objective *obj)
{
    return obj ? obj->form : JN_FORM_AUTO;
}

JN_API unsigned jn_objective_penalty_every(const jn_objective *obj) { return obj ? obj->every : 0; }

JN_API uint64_t jn_objective_seed(const jn_objective *obj) { return obj ? obj->seed : 0; }

JN_API jn_precision jn_objective_precision(const jn_objective *obj)
{
    return obj ? obj->precision : JN_PRECISION_FP32;
}

JN_API jn_noise jn_objective_noise(const jn_objective *obj) { return obj ? obj->noise : JN_NOISE_NONE; }

JN_API double jn_objective_input_std(const jn_objective *obj) { return obj ? obj->input_std : 0.0; }

JN_API double jn_objective_jacobian_std(const jn_objective *obj) { return obj ? obj->jacobian_std : 0.0; }
