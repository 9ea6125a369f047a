/* net.c - network handles: architecture, the flat parameter vector, init. */
#include "base/base.h"
#include "noise/noise.h"
#include "net/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


JN_API jn_status jn_net_create(jn_net **out, const size_t *sizes, size_t n_sizes, jn_act hidden,
                               jn_act output)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_net_create: out is NULL");
    *out = NULL;
    if (!sizes) return jn__fail(JN_ERR_INVALID, "jn_net_create: sizes is NULL");
    if (n_sizes < 2 || n_sizes > JN_MAX_LAYERS + 1)
        return jn__fail(JN_ERR_INVALID, "jn_net_create: n_sizes = %zu, need 2..%d", n_sizes,
                        JN_MAX_LAYERS + 1);
    if (!jn__act_valid_hidden(hidden))
        return jn__fail(JN_ERR_INVALID, "jn_net_create: hidden activation %d is not tanh, sigmoid, relu or linear",
                        (int)hidden);
    if (!jn__act_valid_output(output))
        return jn__fail(JN_ERR_INVALID, "jn_net_create: unknown output activation %d", (int)output);
    if (output == JN_ACT_SOFTMAX && sizes[n_sizes - 1] < 2)
        return jn__fail(JN_ERR_INVALID, "jn_net_create: softmax needs at least 2 outputs");
    size_t n_params = 0;
    for (size_t l = 0; l < n_sizes; l++) {
        if (sizes[l] == 0 || sizes[l] > JN_MAX_WIDTH)
            return jn__fail(JN_ERR_INVALID, "jn_net_create: sizes[%zu] = %zu, need 1..%zu", l, sizes[l],
                            JN_MAX_WIDTH);
        if (l > 0) n_params += sizes[l] * sizes[l - 1] + sizes[l]; /* < 2^49 each, no overflow */
    }
    if (n_params > JN_MAX_BYTES / sizeof(float))
        return jn__fail(JN_ERR_INVALID, "jn_net_create: %zu parameters is too many", n_params);

    jn_net *net = jn__calloc(1, sizeof *net, "jn_net_create");
    if (!net) return JN_ERR_NOMEM;
    size_t layers = n_sizes - 1;
    net->layers = layers;
    net->hidden = hidden;
    net->output = output;
    net->n_params = n_params;
    net->sizes = jn__alloc(n_sizes, sizeof *net->sizes, "jn_net_create");
    net->w_offset = jn__alloc(layers, sizeof *net->w_offset, "jn_net_create");
    net->b_offset = jn__alloc(layers, sizeof *net->b_offset, "jn_net_create");
    net->params = jn__calloc(n_params, sizeof *net->params, "jn_net_create parameters");
    if (!net->sizes || !net->w_offset || !net->b_offset || !net->params) {
        jn_net_free(net);
        return JN_ERR_NOMEM;
    }
    memcpy(net->sizes, sizes, n_sizes * sizeof *sizes);
    size_t off = 0;
    for (size_t l = 1; l <= layers; l++) {
        net->w_offset[l - 1] = off;
        off += sizes[l] * sizes[l - 1];
        net->b_offset[l - 1] = off;
        off += sizes[l];
    }
    *out = net;
    return JN_OK;
}

JN_API void jn_net_free(jn_net *net)
{
    if (!net) return;
    jn__work_free(net->work);
    free(net->work);
    free(net->params);
    free(net->sizes);
    free(net->w_offset);
    free(net->b_offset);
    free(net);
}

JN_API jn_status jn_net_clone(jn_net **out, const jn_net *net)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_net_clone: out is NULL");
    *out = NULL;
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_net_clone: net is NULL");
    jn_status st = jn_net_create(out, net->sizes, net->layers + 1, net->hidden, net->output);
    if (st != JN_OK) return st;
    memcpy((*out)->params, net->params, net->n_params * sizeof(float));
    return JN_OK;
}

JN_API size_t jn_net_param_count(const jn_net *net) { return net ? net->n_params : 0; }
JN_API size_t jn_net_layers(const jn_net *net) { return net ? net->layers : 0; }
JN_API size_t jn_net_size(const jn_net *net, size_t index)
{
    return net && index <= net->layers ? net->sizes[index] : 0;
}
JN_API jn_act jn_net_hidden_act(const jn_net *net) { return net ? net->hidden : JN_ACT_TANH; }
JN_API jn_act jn_net_output_act(const jn_net *net) { return net ? net->output : JN_ACT_SIGMOID; }
JN_API float *jn_net_params(jn_net *net) { return net ? net->params : NULL; }

JN_API jn_status jn_net_get_params(const jn_net *net, float *dst, size_t count)
{
    if (!net || !dst) return jn__fail(JN_ERR_INVALID, "jn_net_get_params: %s is NULL", net ? "dst" : "net");
    if (count != net->n_params)
        return jn__fail(JN_ERR_INVALID, "jn_net_get_params: count %zu, the network has %zu parameters", count,
                        net->n_params);
    memcpy(dst, net->params, count * sizeof(float));
    return JN_OK;
}

JN_API jn_status jn_net_set_params(jn_net *net, const float *src, size_t count)
{
    if (!net || !src) return jn__fail(JN_ERR_INVALID, "jn_net_set_params: %s is NULL", net ? "src" : "net");
    if (count != net->n_params)
        return jn__fail(JN_ERR_INVALID, "jn_net_set_params: count %zu, the network has %zu parameters", count,
                        net->n_params);
    if (!jn__all_finite(src, count))
        return jn__fail(JN_ERR_INVALID, "jn_net_set_params: src holds NaN or Inf; network unchanged");
    memcpy(net->params, src, count * sizeof(float));
    return JN_OK;
}

JN_API jn_status jn_net_init(jn_net *net, uint64_t seed)
{
    if (!net) return jn__fail(JN_ERR_INVALID, "jn_net_init: net is NULL");
    jn_rng rng;
    jn__rng_seed(&rng, seed, 0);
    for (size_t l = 1; l <= net->layers; l++) {
        size_t fan_in = net->sizes[l - 1], fan_out = net->sizes[l];
        /* Glorot and Bengio (2010), x4 for sigmoid hidden layers, whose
         * slope at 0 is 1/4. Not for the output layer: there x4 saturates
         * sigmoid outputs at the start, where squared error has almost no
         * gradient. */
        int sigmoid_hidden = l < net->layers && net->hidden == JN_ACT_SIGMOID;
        double a = sqrt(6.0 / (double)(fan_in + fan_out)) * (sigmoid_hidden ? 4.0 : 1.0);
        float *W = net->params + net->w_offset[l - 1];
        for (size_t i = 0; i < fan_in * fan_out; i++) W[i] = (float)((2.0 * jn_rng_uniform(&rng) - 1.0) * a);
        memset(net->params + net->b_offset[l - 1], 0, fan_out * sizeof(float));
    }
    return JN_OK;
}
