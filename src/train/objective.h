/* train/objective.h - the objective's settings, a step's varying state, and
 * the objective's value and gradient (objective.c). */
#ifndef JN_OBJECTIVE_H
#define JN_OBJECTIVE_H

#include "net/net.h"

/* ---- objective (objective.c) ---- */
struct jn_objective {
    jn_loss loss;
    double l2;
    double jacobian;
    unsigned projections;
    jn_penalty_target target;
    jn_penalty_form form;
    unsigned every;
    uint64_t seed;
    jn_noise noise;
    double input_std, jacobian_std;
    jn_precision precision;  /* requested; jn__precision_choose says what runs */
    /* What the measured choice took for this objective (precision.c), for
     * its getters: the one part written during a run, under precision.c's
     * lock; each created or cloned objective has its own. */
    struct jn__precision_record *ran;
};
/* What varies from one training step to the next, passed beside the
 * objective so that the objective is never rewritten during a run (and may
 * be shared by threads): the trainer makes one per minibatch. NULL where an
 * internal entry takes one: the objective's own settings, as
 * jn_net_objective computes. */
typedef struct jn__step {
    double jacobian;            /* this step's penalty weight: lambda, every x lambda, or 0 */
    uint64_t seed;              /* seed of this step's random projections */
    /* The dataset index of each row in a sharded run, so that projections
     * are drawn per example (penalty.c) and do not depend on how rows are
     * split over processes; NULL: one stream for the whole batch. */
    const size_t *example_ids;
} jn__step;
typedef struct jn__precision_record {
    size_t n;     /* rows of the largest batch measured for */
    double ratio; /* its float32 time / bfloat16 time; 0: none yet */
} jn__precision_record;

/* Mean loss (obj's loss alone) over the n rows of pass 0, forwarded with
 * derivs >= 1 when want_delta, and, if want_delta, scale x d loss_i/dz_L
 * into work->delta[L] (jn_net_objective: scale 1/n; the input gradient: 1).
 * Rows summed in chunks of 64 in a fixed order. */
double jn__loss_and_delta(jn_net *net, const jn_objective *obj, const float *Y, int want_delta, float scale);

/* The terms of jn_net_objective's value, for the trainer's epoch report. */
typedef struct jn__objective_parts {
    double loss;    /* mean loss term */
    double penalty; /* the Jacobian term, lambda * mean ||J||^2; 0 when off */
    double sqnorm;  /* mean ||J||^2 on Xj (the estimate with projections); -1 when off */
} jn__objective_parts;
/* jn_net_objective, also returning its terms in *parts (may be NULL). The
 * l2 term is *value - loss - penalty. After it returns JN_OK, the network's
 * pass 0 (net->work->pass[0].a[layers]) holds the outputs F(X). */
jn_status jn__net_objective_parts(jn_net *net, const jn_objective *obj, const jn__step *step, const float *X,
                                  const float *Xj, const float *Y, size_t n, double *value, float *grad,
                                  jn__objective_parts *parts);

#endif
