/* backward.c - batched backpropagation of dObj/dz_L to every weight. */
#include "internal.h"

#include <cblas.h>
#include <string.h>

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
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)width, (int)fan_in, (int)n, 1.0f, delta,
                    (int)width, in, (int)fan_in, beta, grad + net->w_offset[l - 1], (int)fan_in);
        float *gb = grad + net->b_offset[l - 1];
        if (overwrite) memset(gb, 0, width * sizeof(float));
        for (size_t i = 0; i < n; i++)
            for (size_t h = 0; h < width; h++) gb[h] += delta[i * width + h];
        if (l == 1) break;
        /* delta_{l-1} = (delta_l W_l) * act'(z_{l-1}) [+ penalty adjoint]. */
        float *below = w->delta[l - 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)fan_in, (int)width, 1.0f, delta,
                    (int)width, jn__W(net, l), (int)fan_in, 0.0f, below, (int)fan_in);
        const float *d1 = pass->d1[l - 1];
        size_t cells = n * fan_in;
        if (add_zbar) {
            const float *zbar = w->zbar[l - 1];
            for (size_t i = 0; i < cells; i++) below[i] = below[i] * d1[i] + zbar[i];
        } else {
            for (size_t i = 0; i < cells; i++) below[i] *= d1[i];
        }
    }
}
