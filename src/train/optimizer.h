/* train/optimizer.h - the optimizers' state, for checkpoints and rollback
 * (optimizer.c). */
#ifndef JN_OPTIMIZER_H
#define JN_OPTIMIZER_H

#include "base/base.h"

/* ---- optimizer state (optimizer.c), for checkpoints and rollback ---- */
/* What the optimizer was created and configured with. */
typedef struct jn__opt_config {
    uint32_t kind;          /* 0 SGD, 1 Adam */
    double lr0;             /* learning rate given at creation */
    double momentum, beta1, beta2, eps;
    uint32_t schedule;      /* jn_schedule */
    double gamma;
    uint64_t period;
} jn__opt_config;
/* What steps (and jn_optimizer_scale_lr) change. */
typedef struct jn__opt_state {
    double lr;              /* base learning rate now */
    uint64_t t;             /* steps taken */
    size_t n;               /* bound parameter count; 0 = unbound */
    unsigned vectors;       /* state vectors of n doubles: 0 plain SGD, 1 momentum (velocity), 2 Adam (m, v) */
    double *s[2];
} jn__opt_state;
void jn__optimizer_config(const jn_optimizer *opt, jn__opt_config *cfg);
/* Number of state vectors this optimizer keeps once bound. */
unsigned jn__optimizer_vectors(const jn_optimizer *opt);
/* opt's state; s[] are borrowed (NULL while unbound). */
void jn__optimizer_state(const jn_optimizer *opt, jn__opt_state *st);
/* Make opt's state a copy of st (st->vectors must match): lr, t, and the
 * binding (n = 0 unbinds, as a fresh optimizer) with its vectors. Binds an
 * unbound optimizer (JN_ERR_NOMEM leaves it unchanged); JN_ERR_INVALID
 * when it is bound to another count or the vectors differ. */
jn_status jn__optimizer_set_state(jn_optimizer *opt, const jn__opt_state *st);

#endif
