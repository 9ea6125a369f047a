/* backward.c - batched backpropagation of dObj/dz_L to every weight. */
#include "backend/backend.h"
#include "net/net.h"

#include <string.h>

/* Column sums of delta (n x width) into the bias gradient, for the columns
 * [begin, end): each column is summed over the rows in order, by one
 * thread, so the split between threads does not change any sum. */
typedef struct bias_job {
    const float *delta;
    float *gb;
    size_t n, width;
    int overwrite;
} bias_job;

static void bias_range(void *ctxp, size_t begin, size_t end)
{
    const bias_job *job = ctxp;
    float *gb = job->gb;
    if (job->overwrite) memset(gb + begin, 0, (end - begin) * sizeof(float));
    for (size_t i = 0; i < job->n; i++) {
        const float *row = job->delta + i * job->width;
        for (size_t h = begin; h < end; h++) gb[h] += row[h];
    }
}

/* below = below * act'(z) [+ zbar], elementwise. */
typedef struct scale_job {
    float *below;
    const float *d1, *zbar;
} scale_job;

static void scale_range(void *ctxp, size_t begin, size_t end)
{
    const scale_job *job = ctxp;
    float *below = job->below;
    const float *d1 = job->d1, *zbar = job->zbar;
    if (zbar)
        for (size_t i = begin; i < end; i++) below[i] = below[i] * d1[i] + zbar[i];
    else
        for (size_t i = begin; i < end; i++) below[i] *= d1[i];
}

void jn__backward(jn_net *net, int p, int add_zbar, int overwrite, float *grad)
{
    /* Overwriting (GEMM beta 0) saves the caller zeroing the whole gradient
     * first: one pass over 4 bytes a parameter, a few % of a plain step. */
    float beta = overwrite ? 0.0f : 1.0f;
    jn_work *w = net->work;
    jn_pass *pass = &w->pass[p];
    size_t n = pass->n;
    for (size_t l = net->layers; l >= 1; l--) {
        size_t fan_in = net->sizes[l - 1], width = net->sizes[l];
        const float *delta = w->delta[l];
        const float *in = l == 1 ? pass->input : pass->a[l - 1];
        /* dW_l += delta_l^T a_{l-1};  db_l += column sums of delta_l. */
        jn__sgemm(1, 0, width, fan_in, n, 1.0f, delta, width, in, fan_in, beta, grad + net->w_offset[l - 1], fan_in);
        bias_job bj = {delta, grad + net->b_offset[l - 1], n, width, overwrite};
        jn__parallel_for(width, 16, n, bias_range, &bj);
        if (l == 1) break;
        /* delta_{l-1} = (delta_l W_l) * act'(z_{l-1}) [+ penalty adjoint]. */
        float *below = w->delta[l - 1];
        jn__sgemm(0, 0, n, fan_in, width, 1.0f, delta, width, jn__W(net, l), fan_in, 0.0f, below, fan_in);
        scale_job sj = {below, pass->d1[l - 1], add_zbar ? w->zbar[l - 1] : NULL};
        jn__parallel_for(n * fan_in, 1024, 3, scale_range, &sj);
    }
}
