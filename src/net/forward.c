/* forward.c - the batched forward pass: z_l = a_{l-1} W_l^T + b_l, a_l = act(z_l). */
#include "base/base.h"
#include "backend/backend.h"
#include "data/dataset.h"
#include "net/net.h"

#include <string.h>


jn_status jn__check_input(const jn_net *net, const float *X, size_t n, const char *name)
{
    if (!X) return jn__fail(JN_ERR_INVALID, "%s is NULL", name);
    if (n == 0) return jn__fail(JN_ERR_INVALID, "%s: n = 0 rows", name);
    size_t cells;
    if (!jn__mul(n, net->sizes[0], &cells) || cells > JN_MAX_BYTES / sizeof(float))
        return jn__fail(JN_ERR_INVALID, "%s: %zu rows is too many", name, n);
    if (!jn__all_finite(X, cells)) return jn__fail(JN_ERR_INVALID, "%s holds NaN or Inf", name);
    return JN_OK;
}

/* One layer's work on rows [begin, end): before the GEMM, the bias rows
 * (stage 0); after it, keep z, apply the activation, its derivatives. */
typedef struct layer_job {
    int stage;
    jn_act act;
    size_t width;
    const float *b;
    float *z, *a, *d1, *d2;  /* z NULL: not kept; d1 NULL: no derivatives */
} layer_job;

static void layer_rows_range(void *ctxp, size_t begin, size_t end)
{
    const layer_job *job = ctxp;
    size_t width = job->width, off = begin * width, cells = (end - begin) * width;
    float *a = job->a + off;
    if (job->stage == 0) {
        for (size_t i = begin; i < end; i++) memcpy(job->a + i * width, job->b, width * sizeof(float));
        return;
    }
    if (job->z) memcpy(job->z + off, a, cells * sizeof(float));
    jn__act_apply(job->act, a, end - begin, width);
    if (job->d1)
        jn__act_derivs(job->act, job->z ? job->z + off : a, a, cells, job->d1 + off, job->d2 ? job->d2 + off : NULL);
}

jn_status jn__forward(jn_net *net, int p, const float *X, size_t n, int with_derivs)
{
    jn_status st = jn__work_reserve(net, n, 0);
    if (st != JN_OK) return st;
    jn_pass *pass = &net->work->pass[p];
    pass->n = n;
    pass->input = X;
    const float *in = X;
    for (size_t l = 1; l <= net->layers; l++) {
        size_t fan_in = net->sizes[l - 1], width = net->sizes[l];
        jn_act act = l == net->layers ? net->output : net->hidden;
        /* The GEMM writes z_l straight into a_l, which the activation then
         * overwrites in place; z_l is kept (one copy) only where something
         * reads it: the output layer (cross-entropy's logits) and the
         * activations whose derivatives are functions of z (relu, linear).
         * tanh and sigmoid derivatives are functions of a (activation.c).
         * act'' only feeds the Jacobian penalty's gradient (with_derivs 2). */
        int keep_z = l == net->layers || (act != JN_ACT_TANH && act != JN_ACT_SIGMOID);
        int derivs = with_derivs && act != JN_ACT_SOFTMAX;
        layer_job job = {0, act, width, jn__b(net, l), keep_z ? pass->z[l] : NULL, pass->a[l],
                         derivs ? pass->d1[l] : NULL, derivs && with_derivs > 1 ? pass->d2[l] : NULL};
        jn__parallel_for(n, 1, width, layer_rows_range, &job);
        jn__sgemm(0, 1, n, width, fan_in, 1.0f, in, fan_in, jn__W(net, l), fan_in, 1.0f, pass->a[l], width);
        job.stage = 1;
        /* about 4 floats touched per value, more for tanh/sigmoid */
        jn__parallel_for(n, 1, 4 * width, layer_rows_range, &job);
        in = pass->a[l];
    }
    return JN_OK;
}

/* Activations of layer `layer` for the n rows of X into out, JN_CHUNK rows
 * at a time. */
static jn_status layer_rows(jn_net *net, const float *X, size_t n, size_t layer, float *out)
{
    size_t D = net->sizes[0], width = net->sizes[layer];
    for (size_t i = 0; i < n; i += JN_CHUNK) {
        size_t m = n - i < JN_CHUNK ? n - i : JN_CHUNK;
        jn_status st = jn__forward(net, 0, X + i * D, m, 0);
        if (st != JN_OK) return st;
        memcpy(out + i * width, net->work->pass[0].a[layer], m * width * sizeof(float));
    }
    return JN_OK;
}

JN_API jn_status jn_net_forward(jn_net *net, const float *X, size_t n, float *F)
{
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_net_forward: net is NULL");
    if (!F) return jn__fail(JN_ERR_INVALID, "jn_net_forward: F is NULL");
    jn_status st = jn__check_input(net, X, n, "jn_net_forward: X");
    return st == JN_OK ? layer_rows(net, X, n, net->layers, F) : st;
}

JN_API jn_status jn_net_hidden(jn_net *net, const float *X, size_t n, size_t layer, float *H)
{
    if (!net || !H) return jn__fail(JN_ERR_INVALID, "jn_net_hidden: %s is NULL", net ? "H" : "net");
    if (layer == 0 || layer >= net->layers)
        return jn__fail(JN_ERR_INVALID, "jn_net_hidden: layer %zu, the network has hidden layers 1..%zu", layer,
                        net->layers - 1);
    jn_status st = jn__check_input(net, X, n, "jn_net_hidden: X");
    return st == JN_OK ? layer_rows(net, X, n, layer, H) : st;
}

size_t jn__predicted_class(const float *row, size_t K)
{
    /* One output: a binary classifier thresholded at 0.5. */
    if (K == 1) return row[0] > 0.5f;
    size_t best = 0;
    for (size_t k = 1; k < K; k++)
        if (row[k] > row[best]) best = k;
    return best;
}

JN_API jn_status jn_net_predict(jn_net *net, const float *X, size_t n, int32_t *labels)
{
    if (!net || !labels) return jn__fail(JN_ERR_INVALID, "jn_net_predict: %s is NULL", net ? "labels" : "net");
    jn_status st = jn__check_input(net, X, n, "jn_net_predict: X");
    if (st != JN_OK) return st;
    size_t D = net->sizes[0], K = net->sizes[net->layers];
    for (size_t i = 0; i < n; i += JN_CHUNK) {
        size_t m = n - i < JN_CHUNK ? n - i : JN_CHUNK;
        if ((st = jn__forward(net, 0, X + i * D, m, 0)) != JN_OK) return st;
        const float *F = net->work->pass[0].a[net->layers];
        for (size_t r = 0; r < m; r++) labels[i + r] = (int32_t)jn__predicted_class(F + r * K, K);
    }
    return JN_OK;
}

JN_API jn_status jn_net_error_rate(jn_net *net, const jn_dataset *ds, double *error)
{
    if (!net || !ds || !error)
        return jn__fail(JN_ERR_INVALID, "jn_net_error_rate: %s is NULL", !net ? "net" : !ds ? "ds" : "error");
    size_t D = net->sizes[0], K = net->sizes[net->layers];
    if (!ds->labels)
        return jn__fail(JN_ERR_INVALID, "jn_net_error_rate: the dataset has float targets, so no classes to "
                        "count errors against (jn_net_mean_loss measures it)");
    if (ds->dim != D)
        return jn__fail(JN_ERR_INVALID, "jn_net_error_rate: ds has %zu features, the network takes %zu", ds->dim, D);
    /* One output is a binary classifier (labels 0 and 1). */
    size_t most = K == 1 ? 2 : K;
    if (ds->classes > most)
        return jn__fail(JN_ERR_INVALID, "jn_net_error_rate: ds has %zu classes, the network has %zu output%s",
                        ds->classes, K, K == 1 ? " (0 or 1)" : "s");
    size_t wrong = 0;
    jn_status st = jn__count_errors(net, ds, &wrong);
    if (st == JN_OK) *error = (double)wrong / (double)ds->count;
    return st;
}

jn_status jn__count_errors(jn_net *net, const jn_dataset *ds, size_t *wrong)
{
    /* Chunk by chunk into a buffer on the stack: nothing to allocate, so
     * a trainer's validation cannot fail for lack of memory mid-run. */
    int32_t pred[JN_CHUNK];
    size_t D = net->sizes[0];
    *wrong = 0;
    for (size_t i = 0; i < ds->count; i += JN_CHUNK) {
        size_t m = ds->count - i < JN_CHUNK ? ds->count - i : JN_CHUNK;
        jn_status st = jn_net_predict(net, ds->features + i * D, m, pred);
        if (st != JN_OK) return st;
        for (size_t r = 0; r < m; r++) *wrong += pred[r] != ds->labels[i + r];
    }
    return JN_OK;
}
