/* optimizer.c - first-order optimizers (SGD with momentum, Adam) and
 * learning-rate schedules, applied to a network's flat parameter vector.
 *
 * Arithmetic: every update is computed in double from the float parameters
 * and gradient and rounded to float once, so plain SGD gives exactly
 * (float)(theta - lr * g). The optimizer state (velocity, moments) is kept in
 * double: g^2 of any finite float fits in a double, so Adam's second moment
 * cannot overflow from a finite gradient, and long runs do not accumulate
 * float rounding in the moments.
 *
 * A step is transactional: the new parameters and the new state go to scratch
 * buffers first; only if every value is finite are they committed (parameters
 * copied, state buffers swapped). The state is not bound to a network, only
 * to a parameter count, so one optimizer can follow a network that is
 * replaced by a clone, and gradients may come from anywhere (e.g. reduced
 * across processes) as long as they have the same flat layout. */
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "train/optimizer.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JN__OPT_SGD, JN__OPT_ADAM } jn__opt_kind;

struct jn_optimizer {
    jn__opt_kind kind;
    double lr0;            /* learning rate given at creation */
    double lr;             /* base learning rate, before the schedule: lr0
                              times every jn_optimizer_scale_lr factor */
    double momentum;       /* SGD */
    double beta1, beta2;   /* Adam */
    double eps;
    jn_schedule schedule;
    double gamma;
    unsigned long period;
    uint64_t t;            /* steps taken since creation or reset */
    size_t n;              /* bound parameter count; 0 = not yet bound */
    /* State and its scratch twin (swapped on commit); NULL when unused:
     * SGD without momentum has no state at all. s0 is the SGD velocity or
     * Adam's first moment, s1 Adam's second moment. */
    double *s0, *s1, *s0_new, *s1_new;
    float *theta_new;      /* candidate parameters */
};

static int finite_pos(double x) { return isfinite(x) && x > 0.0; }

static jn_status opt_new(jn_optimizer **out, jn__opt_kind kind, double lr, const char *fn)
{
    jn_optimizer *opt = jn__calloc(1, sizeof *opt, fn);
    if (!opt) return JN_ERR_NOMEM;
    opt->kind = kind;
    opt->lr0 = lr;
    opt->lr = lr;
    opt->schedule = JN_SCHEDULE_CONSTANT;
    opt->gamma = 1.0;
    opt->period = 1;
    *out = opt;
    return JN_OK;
}

JN_API jn_status jn_optimizer_create_sgd(jn_optimizer **out, double lr, double momentum)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_sgd: out is NULL");
    *out = NULL;
    if (!finite_pos(lr))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_sgd: lr = %g, need a finite value > 0", lr);
    /* momentum 1 would never forget a gradient (v does not decay). */
    if (!(momentum >= 0.0 && momentum < 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_sgd: momentum = %g, need 0 <= momentum < 1",
                        momentum);
    jn_status st = opt_new(out, JN__OPT_SGD, lr, "jn_optimizer_create_sgd");
    if (st == JN_OK) (*out)->momentum = momentum;
    return st;
}

JN_API jn_status jn_optimizer_create_adam(jn_optimizer **out, double lr, double beta1, double beta2,
                                          double eps)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_adam: out is NULL");
    *out = NULL;
    if (!finite_pos(lr))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_adam: lr = %g, need a finite value > 0", lr);
    /* beta = 1 would make the bias correction 1 - beta^t zero. */
    if (!(beta1 >= 0.0 && beta1 < 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_adam: beta1 = %g, need 0 <= beta1 < 1", beta1);
    if (!(beta2 >= 0.0 && beta2 < 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_adam: beta2 = %g, need 0 <= beta2 < 1", beta2);
    if (!finite_pos(eps))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_create_adam: eps = %g, need a finite value > 0", eps);
    jn_status st = opt_new(out, JN__OPT_ADAM, lr, "jn_optimizer_create_adam");
    if (st == JN_OK) {
        (*out)->beta1 = beta1;
        (*out)->beta2 = beta2;
        (*out)->eps = eps;
    }
    return st;
}

static void free_state(jn_optimizer *opt)
{
    free(opt->s0);
    free(opt->s1);
    free(opt->s0_new);
    free(opt->s1_new);
    free(opt->theta_new);
    opt->s0 = opt->s1 = opt->s0_new = opt->s1_new = NULL;
    opt->theta_new = NULL;
    opt->n = 0;
}

JN_API void jn_optimizer_free(jn_optimizer *opt)
{
    if (!opt) return;
    free_state(opt);
    free(opt);
}

JN_API jn_status jn_optimizer_set_schedule(jn_optimizer *opt, jn_schedule schedule, double gamma,
                                           unsigned long period)
{
    if (!opt) return jn__fail(JN_ERR_INVALID, "jn_optimizer_set_schedule: opt is NULL");
    if (schedule != JN_SCHEDULE_CONSTANT && schedule != JN_SCHEDULE_STEP && schedule != JN_SCHEDULE_INVERSE)
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_set_schedule: schedule = %d is not CONSTANT, STEP or INVERSE",
                        (int)schedule);
    /* Checked for every schedule, CONSTANT included, so a bad value is
     * reported where it is written rather than when the schedule changes. */
    if (!(isfinite(gamma) && gamma >= 0.0))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_set_schedule: gamma = %g, need a finite value >= 0", gamma);
    if (period < 1)
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_set_schedule: period = %lu, need >= 1", period);
    opt->schedule = schedule;
    opt->gamma = gamma;
    opt->period = period;
    return JN_OK;
}

static double lr_at(const jn_optimizer *opt, uint64_t t)
{
    switch (opt->schedule) {
    case JN_SCHEDULE_STEP:
        return opt->lr * pow(opt->gamma, (double)(t / opt->period));
    case JN_SCHEDULE_INVERSE:
        return opt->lr / (1.0 + opt->gamma * ((double)t / (double)opt->period));
    case JN_SCHEDULE_CONSTANT:
    default:
        return opt->lr;
    }
}

JN_API double jn_optimizer_lr(const jn_optimizer *opt) { return opt ? lr_at(opt, opt->t) : 0.0; }

JN_API jn_status jn_optimizer_scale_lr(jn_optimizer *opt, double factor)
{
    if (!opt) return jn__fail(JN_ERR_INVALID, "jn_optimizer_scale_lr: opt is NULL");
    if (!finite_pos(factor))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_scale_lr: factor = %g, need a finite value > 0", factor);
    double lr = opt->lr * factor;
    if (!finite_pos(lr))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_scale_lr: lr %g times %g is %g, not a finite value > 0",
                        opt->lr, factor, lr);
    opt->lr = lr;
    /* SGD's velocity is a sum of past lr * gradient terms: scaled with the
     * rate, the next steps move at the new rate at once instead of
     * coasting on momentum gathered at the old one. Adam's moments do not
     * depend on the rate. */
    if (opt->kind == JN__OPT_SGD && opt->s0)
        for (size_t i = 0; i < opt->n; i++) opt->s0[i] *= factor;
    return JN_OK;
}

JN_API void jn_optimizer_reset(jn_optimizer *opt)
{
    if (!opt) return;
    /* Dropping the state also drops the binding, so a reset optimizer can be
     * reused on a network of another size. */
    free_state(opt);
    opt->t = 0;
}

/* Allocate zeroed state for n parameters; on failure the optimizer stays
 * unbound. */
static jn_status bind(jn_optimizer *opt, size_t n)
{
    const char *what = "jn_optimizer_step state";
    int two = opt->kind == JN__OPT_ADAM;
    int one = two || opt->momentum > 0.0;
    opt->theta_new = jn__alloc(n, sizeof(float), what);
    if (one) {
        opt->s0 = jn__calloc(n, sizeof(double), what);
        opt->s0_new = jn__alloc(n, sizeof(double), what);
    }
    if (two) {
        opt->s1 = jn__calloc(n, sizeof(double), what);
        opt->s1_new = jn__alloc(n, sizeof(double), what);
    }
    if (!opt->theta_new || (one && (!opt->s0 || !opt->s0_new)) || (two && (!opt->s1 || !opt->s1_new))) {
        /* jn__alloc has recorded which allocation failed. */
        free_state(opt);
        return JN_ERR_NOMEM;
    }
    opt->n = n;
    return JN_OK;
}

/* One step's constants, and the lowest index of a non-finite new
 * parameter found so far (n if none). */
typedef struct step_job {
    jn_optimizer *opt;
    const float *theta, *g;
    double lr, c1, c2;
    _Atomic size_t first_bad;
} step_job;

static void lower_bad(step_job *job, size_t i)
{
    size_t cur = atomic_load(&job->first_bad);
    while (i < cur && !atomic_compare_exchange_weak(&job->first_bad, &cur, i)) {
    }
}

/* The candidate update of parameters [begin, end). The loops have no
 * branches so that they vectorise; finiteness is checked afterwards on the
 * new parameters of the same range, while they are still in cache. That
 * suffices: with a finite gradient and finite state, the state (velocity,
 * moments) can only become non-finite through a term that also makes the
 * float parameter overflow. */
static void step_range(void *ctxp, size_t begin, size_t end)
{
    step_job *job = ctxp;
    jn_optimizer *opt = job->opt;
    const float *theta = job->theta, *g = job->g;
    double lr = job->lr;
    if (opt->kind == JN__OPT_SGD && opt->momentum == 0.0) {
        for (size_t i = begin; i < end; i++) opt->theta_new[i] = (float)((double)theta[i] - lr * (double)g[i]);
    } else if (opt->kind == JN__OPT_SGD) {
        double mu = opt->momentum;
        for (size_t i = begin; i < end; i++) {
            double v = mu * opt->s0[i] - lr * (double)g[i];
            opt->s0_new[i] = v;
            opt->theta_new[i] = (float)((double)theta[i] + v);
        }
    } else {
        /* Kingma and Ba (2015), Algorithm 1, with step k = t + 1. */
        double b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, c1 = job->c1, c2 = job->c2;
        for (size_t i = begin; i < end; i++) {
            double gi = (double)g[i];
            double m = b1 * opt->s0[i] + (1.0 - b1) * gi;
            double v = b2 * opt->s1[i] + (1.0 - b2) * gi * gi;
            opt->s0_new[i] = m;
            opt->s1_new[i] = v;
            opt->theta_new[i] = (float)((double)theta[i] - lr * (m / c1) / (sqrt(v / c2) + eps));
        }
    }
    if (jn__all_finite(opt->theta_new + begin, end - begin)) return;
    size_t bad = begin;
    while (isfinite(opt->theta_new[bad])) bad++;
    lower_bad(job, bad);
}

/* The candidate update into the scratch buffers; returns the index of the
 * first non-finite parameter, or n if all are finite. */
static size_t compute(jn_optimizer *opt, const float *theta, const float *g)
{
    size_t n = opt->n;
    step_job job = {opt, theta, g, lr_at(opt, opt->t), 1.0, 1.0, n};
    if (opt->kind == JN__OPT_ADAM) {
        double k = (double)opt->t + 1.0;
        job.c1 = 1.0 - pow(opt->beta1, k);
        job.c2 = 1.0 - pow(opt->beta2, k);
    }
    jn__parallel_for(n, 1024, 4, step_range, &job);
    return atomic_load(&job.first_bad);
}

/* dst = src, n floats. */
typedef struct copy_job {
    float *dst;
    const float *src;
} copy_job;

static void copy_range(void *ctxp, size_t begin, size_t end)
{
    const copy_job *job = ctxp;
    memcpy(job->dst + begin, job->src + begin, (end - begin) * sizeof(float));
}

static void swap(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

JN_API jn_status jn_optimizer_step(jn_optimizer *opt, jn_net *net, const float *grad)
{
    if (!opt) return jn__fail(JN_ERR_INVALID, "jn_optimizer_step: opt is NULL");
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_optimizer_step: net is NULL");
    if (!grad) return jn__fail(JN_ERR_INVALID, "jn_optimizer_step: grad is NULL");
    if (opt->n != 0 && opt->n != net->n_params)
        return jn__fail(JN_ERR_INVALID,
                        "jn_optimizer_step: the network has %zu parameters, the optimizer is bound to %zu "
                        "(call jn_optimizer_reset to rebind)",
                        net->n_params, opt->n);
    /* Checked before binding, so a refused first step leaves the optimizer
     * unbound and allocates nothing. */
    if (!jn__all_finite(grad, net->n_params))
        return jn__fail(JN_ERR_INVALID, "jn_optimizer_step: grad holds NaN or Inf; network unchanged");
    if (opt->n == 0) {
        jn_status st = bind(opt, net->n_params);
        if (st != JN_OK) return st;
    }
    size_t bad = compute(opt, net->params, grad);
    if (bad != opt->n)
        return jn__fail(JN_ERR_DIVERGED,
                        "jn_optimizer_step: step %llu would make parameter %zu non-finite (lr %g); "
                        "network and optimizer unchanged",
                        (unsigned long long)opt->t, bad, lr_at(opt, opt->t));
    copy_job copy = {net->params, opt->theta_new};
    jn__parallel_for(opt->n, 1024, 2, copy_range, &copy);
    if (opt->s0) swap(&opt->s0, &opt->s0_new);
    if (opt->s1) swap(&opt->s1, &opt->s1_new);
    opt->t++;
    return JN_OK;
}

/* ------------------------------------------------------------------ */
/* State access for checkpoints and the trainer's rollback (train/optimizer.h) */
/* ------------------------------------------------------------------ */

void jn__optimizer_config(const jn_optimizer *opt, jn__opt_config *cfg)
{
    cfg->kind = opt->kind == JN__OPT_ADAM ? 1u : 0u;
    cfg->lr0 = opt->lr0;
    cfg->momentum = opt->momentum;
    cfg->beta1 = opt->beta1;
    cfg->beta2 = opt->beta2;
    cfg->eps = opt->eps;
    cfg->schedule = (uint32_t)opt->schedule;
    cfg->gamma = opt->gamma;
    cfg->period = opt->period;
}

unsigned jn__optimizer_vectors(const jn_optimizer *opt)
{
    if (opt->kind == JN__OPT_ADAM) return 2;
    return opt->momentum > 0.0 ? 1 : 0;
}

void jn__optimizer_state(const jn_optimizer *opt, jn__opt_state *st)
{
    st->lr = opt->lr;
    st->t = opt->t;
    st->n = opt->n;
    st->vectors = jn__optimizer_vectors(opt);
    st->s[0] = opt->s0;
    st->s[1] = opt->s1;
}

jn_status jn__optimizer_set_state(jn_optimizer *opt, const jn__opt_state *st)
{
    unsigned vectors = jn__optimizer_vectors(opt);
    if (st->vectors != vectors)
        return jn__fail(JN_ERR_INVALID, "optimizer state with %u state vectors, this optimizer has %u", st->vectors,
                        vectors);
    if (st->n != 0 && opt->n != 0 && opt->n != st->n)
        return jn__fail(JN_ERR_INVALID,
                        "optimizer state for %zu parameters, the optimizer is bound to %zu "
                        "(call jn_optimizer_reset to rebind)",
                        st->n, opt->n);
    if (st->n == 0) {
        free_state(opt); /* what a fresh optimizer has: no binding, zero state */
    } else if (opt->n == 0) {
        jn_status status = bind(opt, st->n);
        if (status != JN_OK) return status;
    }
    double *dst[2] = {opt->s0, opt->s1};
    for (unsigned k = 0; k < vectors && st->n != 0; k++)
        if (dst[k] != st->s[k]) memcpy(dst[k], st->s[k], st->n * sizeof(double));
    opt->lr = st->lr;
    opt->t = st->t;
    return JN_OK;
}
