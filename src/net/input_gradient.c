/* input_gradient.c - the gradient of each example's loss with respect to
 * its input, for adversarial attacks (FGSM, PGD) and saliency: the backward
 * pass of backward.c carried one layer further, dloss_i/dx_i = delta_1 W_1,
 * without the weight gradients. */
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"

/* delta = delta * act'(z), elementwise. */
typedef struct scale_job {
    float *delta;
    const float *d1;
} scale_job;

static void scale_range(void *ctxp, size_t begin, size_t end)
{
    const scale_job *job = ctxp;
    for (size_t i = begin; i < end; i++) job->delta[i] *= job->d1[i];
}

JN_API jn_status jn_net_input_gradient(jn_net *net, const jn_objective *obj, const float *X, const float *Y,
                                       size_t n, float *out)
{
    if (!net || !obj || !Y || !out)
        return jn__fail(JN_ERR_INVALID, "jn_net_input_gradient: %s is NULL",
                        !net ? "net" : !obj ? "obj" : !Y ? "Y" : "out");
    if (obj->loss == JN_LOSS_CE && net->output != JN_ACT_SOFTMAX)
        return jn__fail(JN_ERR_INVALID, "jn_net_input_gradient: cross-entropy needs softmax outputs, the network "
                        "has %s", jn__act_name(net->output));
    jn_status st = jn__check_input(net, X, n, "jn_net_input_gradient: X");
    if (st != JN_OK) return st;
    size_t D = net->sizes[0], K = net->sizes[net->layers], L = net->layers, cells;
    if (!jn__mul(n, K, &cells) || !jn__all_finite(Y, cells))
        return jn__fail(JN_ERR_INVALID, "jn_net_input_gradient: Y holds NaN or Inf");
    /* Chunks bound the scratch whatever n is; each row's gradient depends
     * only on its own row, so the chunking changes nothing. */
    for (size_t i = 0; i < n; i += JN_CHUNK) {
        size_t m = n - i < JN_CHUNK ? n - i : JN_CHUNK;
        if ((st = jn__forward(net, 0, X + i * D, m, 1)) != JN_OK) return st;
        /* Scale 1, not jn_net_objective's 1/n: each row gets the gradient
         * of its own loss, independent of the rows it is batched with. */
        jn__loss_and_delta(net, obj, Y + i * K, 1, 1.0f);
        jn_work *w = net->work;
        const jn_pass *pass = &w->pass[0];
        /* delta_{l-1} = (delta_l W_l) * act'(z_{l-1}), as in jn__backward. */
        for (size_t l = L; l >= 2; l--) {
            size_t fan_in = net->sizes[l - 1], width = net->sizes[l];
            jn__sgemm(0, 0, m, fan_in, width, 1.0f, w->delta[l], width, jn__W(net, l), fan_in, 0.0f, w->delta[l - 1],
                      fan_in);
            scale_job sj = {w->delta[l - 1], pass->d1[l - 1]};
            jn__parallel_for(m * fan_in, 1024, 3, scale_range, &sj);
        }
        /* dloss/dx = delta_1 W_1: the step jn__backward stops before. */
        jn__sgemm(0, 0, m, D, net->sizes[1], 1.0f, w->delta[1], net->sizes[1], jn__W(net, 1), D, 0.0f, out + i * D, D);
    }
    return JN_OK;
}
