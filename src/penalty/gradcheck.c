/* gradcheck.c - a public finite-difference gradient checker, for anyone who
 * extends the library (new activations, losses, penalties). */
#include "base/base.h"
#include "noise/noise.h"
#include "net/net.h"
#include "train/objective.h"

#include <math.h>
#include <stdlib.h>

#define JN_CHECK_PARAMS 64
/* Step: 2^-7 keeps truncation small after Richardson extrapolation while the
 * float32 objective's rounding (~1e-7 relative) stays well below it. */
#define JN_CHECK_STEP 0x1.0p-7

/* A hash of which relu units are on in the last evaluation (0 without relu
 * layers). Differences whose evaluations disagree straddle a kink, where
 * the derivative does not exist, so the checker skips those parameters. */
static uint64_t relu_pattern(const jn_net *net, int two_passes)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int p = 0; p <= two_passes; p++) {
        const jn_pass *pass = &net->work->pass[p];
        for (size_t l = 1; l <= net->layers; l++) {
            jn_act act = l == net->layers ? net->output : net->hidden;
            if (act != JN_ACT_RELU) continue;
            size_t cells = pass->n * net->sizes[l];
            for (size_t i = 0; i < cells; i++) h = (h ^ (uint64_t)(pass->z[l][i] > 0.0f)) * 0x100000001b3ULL;
        }
    }
    return h;
}

/* Central difference of the objective along parameter k with step h, using
 * the float-rounded points actually evaluated; *pattern_changed is set when
 * the two points lie on different sides of a relu kink. */
static jn_status central(jn_net *net, const jn_objective *obj, const float *X, const float *Xj, const float *Y,
                         size_t n, size_t k, double h, double *slope, int *pattern_changed)
{
    int two = Xj && Xj != X && obj->jacobian > 0.0;
    float *p = net->params + k, saved = *p;
    double fp, fm;
    *p = (float)(saved + h);
    double up = *p;
    jn_status st = jn_net_objective(net, obj, X, Xj, Y, n, &fp, NULL);
    uint64_t pat_up = st == JN_OK ? relu_pattern(net, two) : 0;
    *p = (float)(saved - h);
    double down = *p;
    if (st == JN_OK) st = jn_net_objective(net, obj, X, Xj, Y, n, &fm, NULL);
    if (st == JN_OK && relu_pattern(net, two) != pat_up) *pattern_changed = 1;
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
    /* Components are judged against the gradient's own scale, so that the
     * float32 rounding of a tiny component does not read as an error. */
    double scale = 0.0;
    for (size_t k = 0; st == JN_OK && k < net->n_params; k++) scale = fmax(scale, fabs(grad[k]));
    double floor = fmax(1e-2 * scale, 1e-6);
    jn_rng rng;
    jn__rng_seed(&rng, 12345, 0);
    size_t checks = net->n_params < JN_CHECK_PARAMS ? net->n_params : JN_CHECK_PARAMS;
    double worst = 0.0;
    for (size_t c = 0; st == JN_OK && c < checks; c++) {
        size_t k = checks == net->n_params ? c : (size_t)(jn_rng_next(&rng) % net->n_params);
        double d1, d2;
        int kink = 0;
        st = central(net, obj, X, Xj, Y, n, k, JN_CHECK_STEP, &d1, &kink);
        if (st == JN_OK) st = central(net, obj, X, Xj, Y, n, k, 2 * JN_CHECK_STEP, &d2, &kink);
        if (st != JN_OK || kink) continue;
        double fd = (4.0 * d1 - d2) / 3.0; /* Richardson: cancels the h^2 term */
        double err = fabs(fd - grad[k]) / fmax(fabs(fd) + fabs(grad[k]), floor);
        if (err > worst) worst = err;
    }
    free(grad);
    if (st == JN_OK) *max_rel_err = worst;
    return st;
}
