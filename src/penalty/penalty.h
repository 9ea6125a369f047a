/* penalty/penalty.h - the closed-form input Jacobian and the penalty's value
 * and gradient (jacobian.c, penalty.c). */
#ifndef JN_PENALTY_H
#define JN_PENALTY_H

#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"

/* ---- the chain's matrices as operands of a step's products ----
 * Each pairs the float32 matrix with its bfloat16 copy in the workspace
 * (jn__work_reserve_bf16) where `products` reads copies: the one place the
 * penalty looks at which arithmetic it runs in. */
/* W_l (sizes[l] x sizes[l-1]), its copy work->W16[l]. */
static inline jn__operand jn__weights_operand(const jn_net *net, const jn__products *products, size_t l)
{
    jn__operand W = {jn__W(net, l), products->reads_bf16 ? net->work->W16[l] : NULL, net->sizes[l - 1]};
    return W;
}
/* T_l of the chain ((n r) x sizes[l]), its copy work->T16[l]. */
static inline jn__operand jn__chain_operand(const jn_net *net, const jn__products *products, size_t l)
{
    jn__operand T = {net->work->T[l], products->reads_bf16 ? net->work->T16[l] : NULL, net->sizes[l]};
    return T;
}
/* An adjoint of the gradient's products, Jr_bar or a V_bar (values with
 * leading dimension ld), its copy in work->R16, which they share in turn. */
static inline jn__operand jn__adjoint_operand(const jn_net *net, const jn__products *products, const float *values,
                                              size_t ld)
{
    jn__operand A = {values, products->reads_bf16 ? net->work->R16 : NULL, ld};
    return A;
}

/* ---- Jacobian and penalty (jacobian.c) ---- */
/* Output Jacobians O_i = dF/dz_L (K x K per example) of pass p into dest
 * (n x K x K); identity for the logits target. */
void jn__output_jacobians(jn_net *net, int p, jn_penalty_target target, float *dest);
/* With work->T[L] holding the (n r) x K seeds of pass p, fill work->V and
 * work->T down to layer 1 and, if with_jr, work->Jr = T_1 W_1
 * ((n r) x D), the products on `products` (bfloat16: work->W16 and T16
 * filled too; it may then fail, float32 never). */
jn_status jn__jacobian_chain(jn_net *net, int p, size_t r, int with_jr, const jn__products *products);


/* Penalty part of the objective on pass p (already forwarded with derivs 2):
 * returns sum_i weight * penalty_i in *value and, if grad != NULL, writes the
 * adjoints into work->zbar[1..L] and writes (does not add) the direct weight
 * gradients into grad's W blocks, leaving its bias blocks alone. The chain's
 * products run on `products` (bfloat16: jn__work_reserve_bf16 done). */
jn_status jn__penalty(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                      const jn__products *products, double *value, float *grad);

#endif
