/* penalty/penalty.h - the closed-form input Jacobian and the penalty's value
 * and gradient (jacobian.c, penalty.c). */
#ifndef JN_PENALTY_H
#define JN_PENALTY_H

#include "net/net.h"
#include "train/objective.h"

/* ---- Jacobian and penalty (jacobian.c) ---- */
/* Output Jacobians O_i = dF/dz_L (K x K per example) of pass p into dest
 * (n x K x K); identity for the logits target. */
void jn__output_jacobians(jn_net *net, int p, jn_penalty_target target, float *dest);
/* With work->T[L] holding the (n r) x K seeds of pass p, fill work->V and
 * work->T down to layer 1 and, if with_jr, work->Jr = T_1 W_1
 * ((n r) x D). bf16: the products in bfloat16 (work->W16 and T16 filled
 * too); may then fail (oneDNN), never in float32. */
jn_status jn__jacobian_chain(jn_net *net, int p, size_t r, int with_jr, int bf16);


/* Penalty part of the objective on pass p (already forwarded with derivs 2):
 * returns sum_i weight * penalty_i in *value and, if grad != NULL, writes the
 * adjoints into work->zbar[1..L] and writes (does not add) the direct weight
 * gradients into grad's W blocks, leaving its bias blocks alone. bf16: the
 * products in bfloat16 (jn__work_reserve_bf16 done). */
jn_status jn__penalty(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight, int bf16,
                      double *value, float *grad);

#endif
