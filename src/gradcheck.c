/* gradcheck.c - a public finite-difference gradient checker, for anyone who
 * extends the library (new activations, losses, penalties). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define JN_CHECK_PARAMS 64
/* Step: 2^-7 keeps truncation small after Richardson extrapolation while the
 * float32 objective's rounding (~1e-7 relative) stays well below it. */
#define JN_CHECK_STEP 0x1.0p-7

/* Central difference of the objective along parameter k with step h, using
 * the float-rounded points actually evaluated. */
static jn_status central(jn_net *net, const jn_objective *obj, const float *X, const float *Xj, const float *Y,
                         size_t n, size_t k, double h, double *slope)
{
    float *p = net->params + k, saved = *p;
    double fp, fm;
    *p = (float)(saved + h);
    double up = *p;
    jn_status st = jn_net_objective(net, obj, X, Xj, Y, n, &fp, NULL);
    *p = (float)(saved - h);
    double down = *p;
    if (st == JN_OK) st = jn_net_objective(net, obj, X, Xj, Y, n, &fm, NULL);
    *p = saved;
    if (st == JN_OK) *slope = (fp - fm) / (up - down);
    return st;
}

JN_API jn_status jn_net_check_gradient(jn_net *net, const jn_objective *obj, const float *X, const float *Xj,
                                       const float *Y, size_t n, double *max_rel_err)
{
    if (!max_rel_err) return jn__fail(JN_ERR_INVALID, "jn_net_check_gradient: max_rel_err is NULL");
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_net_check_gradient: net is NULL");
    float *grad = jn__alloc(net->n_params, sizeof *grad, "jn_net_check_gradient");
    if (!grad) return JN_ERR_NOMEM;
    double value;
    jn_status st = jn_net_objective(net, obj, X, Xj, Y, n, &value, grad);
    jn_rng rng;
    jn__rng_seed(&rng, 12345, 0);
    size_t checks = net->n_params < JN_CHECK_PARAMS ? net->n_params : JN_CHECK_PARAMS;
    double worst = 0.0;
    for (size_t c = 0; st == JN_OK && c < checks; c++) {
        size_t k = checks == net->n_params ? c : (size_t)(jn_rng_next(&rng) % net->n_params);
        double d1, d2;
        st = central(net, obj, X, Xj, Y, n, k, JN_CHECK_STEP, &d1);
        if (st == JN_OK) st = central(net, obj, X, Xj, Y, n, k, 2 * JN_CHECK_STEP, &d2);
        if (st != JN_OK) break;
        double fd = (4.0 * d1 - d2) / 3.0; /* Richardson: cancels the h^2 term */
        double err = fabs(fd - grad[k]) / fmax(fabs(fd) + fabs(grad[k]), 1e-3);
        if (err > worst) worst = err;
    }
    free(grad);
    if (st == JN_OK) *max_rel_err = worst;
    return st;
}
