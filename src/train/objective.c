/* objective.c - objective handles and jn_net_objective: mean loss plus the
 * Jacobian penalty plus l2 weight decay, and its gradient. */
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"
#include "penalty/penalty.h"
#include "backend/precision.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An objective and its precision record in one allocation (obj first, so
 * that free(obj) frees both). */
typedef struct objective_block {
    jn_objective obj;
    jn__precision_record ran;
} objective_block;

JN_API jn_status jn_objective_create(jn_objective **out, jn_loss loss)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_objective_create: out is NULL");
    *out = NULL;
    if (loss != JN_LOSS_MSE && loss != JN_LOSS_CE)
        return jn__fail(JN_ERR_INVALID, "jn_objective_create: unknown loss %d", (int)loss);
    objective_block *block = jn__calloc(1, sizeof *block, "jn_objective_create");
    if (!block) return JN_ERR_NOMEM;
    jn_objective *obj = &block->obj;
    obj->ran = &block->ran;
    obj->loss = loss;
    obj->target = JN_PENALTY_OUTPUT;
    obj->form = JN_FORM_AUTO;
    obj->every = 1;
    obj->seed = 1;
    obj->noise = JN_NOISE_NONE;
    *out = obj;
    return JN_OK;
}

JN_API void jn_objective_free(jn_objective *obj) { free(obj); }

JN_API jn_status jn_objective_clone(jn_objective **out, const jn_objective *obj)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_objective_clone: out is NULL");
    *out = NULL;
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_clone: obj is NULL");
    objective_block *block = jn__calloc(1, sizeof *block, "jn_objective_clone");
    if (!block) return JN_ERR_NOMEM;
    jn_objective *c = &block->obj;
    *c = *obj;
    c->ran = &block->ran; /* the copy has run nothing yet */
    *out = c;
    return JN_OK;
}

static int weight_ok(double v) { return isfinite(v) && v >= 0.0; }

JN_API jn_status jn_objective_set_l2(jn_objective *obj, double lambda)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_l2: obj is NULL");
    if (!weight_ok(lambda)) return jn__fail(JN_ERR_INVALID, "jn_objective_set_l2: lambda = %g, need finite >= 0", lambda);
    obj->l2 = lambda;
    return JN_OK;
}

JN_API jn_status jn_objective_set_jacobian(jn_objective *obj, double lambda, unsigned projections)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_jacobian: obj is NULL");
    if (!weight_ok(lambda))
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_jacobian: lambda = %g, need finite >= 0", lambda);
    if (projections > 4096)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_jacobian: %u projections, at most 4096", projections);
    obj->jacobian = lambda;
    obj->projections = projections;
    return JN_OK;
}

JN_API jn_status jn_objective_set_penalty_target(jn_objective *obj, jn_penalty_target target)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_target: obj is NULL");
    if (target != JN_PENALTY_OUTPUT && target != JN_PENALTY_LOGITS)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_target: unknown target %d", (int)target);
    obj->target = target;
    return JN_OK;
}

JN_API jn_status jn_objective_set_penalty_form(jn_objective *obj, jn_penalty_form form)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_form: obj is NULL");
    if (form != JN_FORM_AUTO && form != JN_FORM_DIRECT && form != JN_FORM_GRAM)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_form: unknown form %d", (int)form);
    obj->form = form;
    return JN_OK;
}

JN_API jn_status jn_objective_set_penalty_every(jn_objective *obj, unsigned every)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_every: obj is NULL");
    if (every == 0) return jn__fail(JN_ERR_INVALID, "jn_objective_set_penalty_every: every = 0, need >= 1");
    obj->every = every;
    return JN_OK;
}

JN_API jn_status jn_objective_set_loss(jn_objective *obj, jn_loss loss)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_loss: obj is NULL");
    if (loss != JN_LOSS_MSE && loss != JN_LOSS_CE)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_loss: unknown loss %d", (int)loss);
    obj->loss = loss;
    return JN_OK;
}

JN_API jn_status jn_objective_set_seed(jn_objective *obj, uint64_t seed)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_seed: obj is NULL");
    obj->seed = seed;
    return JN_OK;
}

JN_API jn_status jn_objective_set_noise(jn_objective *obj, jn_noise kind, double input_std, double jacobian_std)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_noise: obj is NULL");
    if (kind != JN_NOISE_NONE && kind != JN_NOISE_GAUSSIAN && kind != JN_NOISE_UNIFORM && kind != JN_NOISE_MASK)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_noise: unknown noise kind %d", (int)kind);
    if (!weight_ok(input_std) || !weight_ok(jacobian_std))
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_noise: levels %g, %g, need finite >= 0", input_std,
                        jacobian_std);
    if (kind == JN_NOISE_MASK && (input_std > 1.0 || jacobian_std > 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_noise: masking probability above 1");
    obj->noise = kind;
    obj->input_std = input_std;
    obj->jacobian_std = jacobian_std;
    return JN_OK;
}

JN_API jn_status jn_objective_create_model(jn_objective **out, jn_model model, double lambda, double std)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_objective_create_model: out is NULL");
    *out = NULL;
    if ((int)model < JN_MODEL_MLP || model > JN_MODEL_MLP_NJ_BOTH)
        return jn__fail(JN_ERR_INVALID, "jn_objective_create_model: unknown model %d", (int)model);
    jn_objective *obj;
    jn_status st = jn_objective_create(&obj, JN_LOSS_MSE);
    if (st != JN_OK) return st;
    switch (model) {
    case JN_MODEL_MLP: break;
    case JN_MODEL_MLP_L2: st = jn_objective_set_l2(obj, lambda); break;
    case JN_MODEL_MLP_NOISE: st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, std, 0.0); break;
    case JN_MODEL_MLP_JACOB: st = jn_objective_set_jacobian(obj, lambda, 0); break;
    case JN_MODEL_MLP_NJ:
        st = jn_objective_set_jacobian(obj, lambda, 0);
        if (st == JN_OK) st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, 0.0, std);
        break;
    case JN_MODEL_MLP_NJ_BOTH:
        st = jn_objective_set_jacobian(obj, lambda, 0);
        if (st == JN_OK) st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, std, std);
        break;
    }
    if (st != JN_OK) {
        jn_objective_free(obj);
        return st;
    }
    *out = obj;
    return JN_OK;
}

/* Loss of rows [begin, end) of pass 0 and, if want_delta, their
 * d loss_i/dz_L times scale into work->delta[L]. */
typedef struct loss_job {
    const jn_net *net;
    const jn_objective *obj;
    const float *Y;
    int want_delta;
    float scale;
} loss_job;

static double loss_range(void *ctxp, size_t begin, size_t end)
{
    const loss_job *job = ctxp;
    const jn_net *net = job->net;
    const jn_work *w = net->work;
    const jn_pass *pass = &w->pass[0];
    size_t K = net->sizes[net->layers], L = net->layers;
    const float *F = pass->a[L], *Z = pass->z[L];
    float *delta = w->delta[L];
    float scale = job->scale;
    int want_delta = job->want_delta;
    double total = 0.0;
    for (size_t i = begin; i < end; i++) {
        const float *f = F + i * K, *y = job->Y + i * K, *z = Z + i * K;
        float *dl = delta + i * K;
        if (job->obj->loss == JN_LOSS_CE) {
            /* -sum y log p with log p = z - logsumexp(z), stable for large z;
             * dObj/dz = p sum(y) - y. */
            float max = z[0];
            for (size_t k = 1; k < K; k++)
                if (z[k] > max) max = z[k];
            double se = 0.0, ysum = 0.0;
            for (size_t k = 0; k < K; k++) se += exp((double)z[k] - max);
            double lse = max + log(se);
            for (size_t k = 0; k < K; k++) {
                total -= (double)y[k] * ((double)z[k] - lse);
                ysum += y[k];
            }
            if (want_delta)
                for (size_t k = 0; k < K; k++) dl[k] = (float)(f[k] * ysum - y[k]) * scale;
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            double e = (double)f[k] - y[k];
            total += e * e;
            dl[k] = (float)(2.0 * e) * scale; /* dObj/dF, turned into dObj/dz below */
        }
        if (!want_delta) continue;
        if (net->output == JN_ACT_SOFTMAX) {
            double dot = 0.0;
            for (size_t k = 0; k < K; k++) dot += (double)dl[k] * f[k];
            for (size_t k = 0; k < K; k++) dl[k] = f[k] * (float)(dl[k] - dot);
        } else {
            const float *d1 = pass->d1[L] + i * K;
            for (size_t k = 0; k < K; k++) dl[k] *= d1[k];
        }
    }
    return total;
}

double jn__loss_and_delta(jn_net *net, const jn_objective *obj, const float *Y, int want_delta, float scale)
{
    size_t n = net->work->pass[0].n, K = net->sizes[net->layers];
    loss_job job = {net, obj, Y, want_delta, scale};
    return jn__parallel_sum(n, 64, 4 * K, loss_range, &job) / (double)n;
}

/* a += b, elementwise. */
typedef struct add_job {
    float *a;
    const float *b;
} add_job;

static void add_range(void *ctxp, size_t begin, size_t end)
{
    const add_job *job = ctxp;
    for (size_t i = begin; i < end; i++) job->a[i] += job->b[i];
}

/* sum W^2 over a weight block and, when g is not NULL, g += two_l2 W. */
typedef struct l2_job {
    const float *W;
    float *g;
    float two_l2;
} l2_job;

static double l2_range(void *ctxp, size_t begin, size_t end)
{
    const l2_job *job = ctxp;
    const float *W = job->W;
    double sq = 0.0;
    for (size_t i = begin; i < end; i++) sq += (double)W[i] * W[i];
    if (job->g)
        for (size_t i = begin; i < end; i++) job->g[i] += job->two_l2 * W[i];
    return sq;
}

static jn_status check_args(const jn_net *net, const jn_objective *obj, const float *X, const float *Xj,
                            const float *Y, size_t n)
{
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_net_objective: net is NULL");
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_net_objective: obj is NULL");
    if (!Y) return jn__fail(JN_ERR_INVALID, "jn_net_objective: Y is NULL");
    if (obj->loss == JN_LOSS_CE && net->output != JN_ACT_SOFTMAX)
        return jn__fail(JN_ERR_INVALID, "jn_net_objective: cross-entropy needs softmax outputs, the network has %s",
                        jn__act_name(net->output));
    jn_status st = jn__check_input(net, X, n, "jn_net_objective: X");
    if (st == JN_OK && Xj && Xj != X) st = jn__check_input(net, Xj, n, "jn_net_objective: Xj");
    if (st != JN_OK) return st;
    if (!jn__all_finite(Y, n * net->sizes[net->layers]))
        return jn__fail(JN_ERR_INVALID, "jn_net_objective: Y holds NaN or Inf");
    return JN_OK;
}

JN_API jn_status jn_net_objective(jn_net *net, const jn_objective *obj, const float *X, const float *Xj,
                                  const float *Y, size_t n, double *value, float *grad)
{
    return jn__net_objective_parts(net, obj, NULL, X, Xj, Y, n, value, grad, NULL);
}

jn_status jn__net_objective_parts(jn_net *net, const jn_objective *obj, const jn__step *step, const float *X,
                                  const float *Xj, const float *Y, size_t n, double *value, float *grad,
                                  jn__objective_parts *parts)
{
    jn_status st = check_args(net, obj, X, Xj, Y, n);
    if (st != JN_OK) return st;
    const jn__step own = {obj->jacobian, obj->seed, NULL};
    if (!step) step = &own;
    int penalty = step->jacobian > 0.0;
    int same = !Xj || Xj == X;
    size_t r = penalty ? (obj->projections ? obj->projections : net->sizes[net->layers]) : 0;
    if ((st = jn__work_reserve(net, n, r)) != JN_OK) return st;
    int want = grad != NULL;
    /* Derivatives a pass needs: act' for any backward pass or Jacobian on
     * it, act'' only for the penalty's gradient. */
    int derivs0 = penalty && same ? 1 + want : want;
    if ((st = jn__forward(net, 0, X, n, derivs0)) != JN_OK) return st;
    /* The first writer of each gradient block overwrites it (GEMM beta 0)
     * rather than zeroing the whole vector first: the penalty writes the W
     * blocks, so only the bias blocks need zeros; without a penalty the
     * backward pass writes everything. */
    if (grad && penalty)
        for (size_t l = 1; l <= net->layers; l++)
            memset(grad + net->b_offset[l - 1], 0, net->sizes[l] * sizeof(float));

    double total = jn__loss_and_delta(net, obj, Y, want, (float)(1.0 / (double)n));
    if (parts) {
        parts->loss = total;
        parts->penalty = 0.0;
        parts->sqnorm = -1.0;
    }
    jn_work *w = net->work;
    size_t L = net->layers;
    if (penalty) {
        int p = same ? 0 : 1;
        if (!same && (st = jn__forward(net, 1, Xj, n, 1 + want)) != JN_OK) return st;
        double pen;
        /* The penalty's products in bfloat16 where that was asked for and
         * measured faster on this shape (precision.c), else float32: the
         * table chosen here is the one they run on. */
        const jn__products *products;
        double weight = step->jacobian / (double)n;
        if ((st = jn__precision_choose(net, obj, step, p, weight, grad, &products)) != JN_OK) return st;
        if (products->reads_bf16 && (st = jn__work_reserve_bf16(net)) != JN_OK) return st;
        if ((st = jn__penalty(net, obj, step, p, weight, products, &pen, grad)) != JN_OK) return st;
        if (parts) {
            parts->penalty = pen;
            parts->sqnorm = pen / step->jacobian; /* pen = lambda * mean ||J||^2 */
        }
        total += pen;
        if (want && same) {
            /* One backward pass carries both the loss and penalty adjoints. */
            add_job job = {w->delta[L], w->zbar[L]};
            jn__parallel_for(n * net->sizes[L], 1024, 3, add_range, &job);
            jn__backward(net, 0, 1, 0, grad);
        } else if (want) {
            jn__backward(net, 0, 0, 0, grad);
            memcpy(w->delta[L], w->zbar[L], n * net->sizes[L] * sizeof(float));
            jn__backward(net, 1, 1, 0, grad);
        }
    } else if (want) {
        jn__backward(net, 0, 0, 1, grad);
    }
    if (obj->l2 > 0.0) {
        double sq = 0.0;
        float two_l2 = (float)(2.0 * obj->l2);
        for (size_t l = 1; l <= L; l++) {
            l2_job job = {jn__W(net, l), grad ? grad + net->w_offset[l - 1] : NULL, two_l2};
            sq += jn__parallel_sum(net->sizes[l] * net->sizes[l - 1], 16384, 3, l2_range, &job);
        }
        total += obj->l2 * sq;
    }
    if (value) *value = total;
    if (!isfinite(total)) return jn__fail(JN_ERR_DIVERGED, "jn_net_objective: the objective is %g", total);
    return JN_OK;
}
