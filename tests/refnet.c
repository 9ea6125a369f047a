/* refnet.c - double-precision reference network for the tests (refnet.h). */
#include "refnet.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ref_net ref_from(jn_net *net)
{
    ref_net r;
    memset(&r, 0, sizeof r);
    r.L = jn_net_layers(net);
    ck_assert_uint_le(r.L, REF_MAX_LAYERS);
    ck_assert_uint_le(jn_net_size(net, r.L), REF_MAX_OUTPUTS);
    for (size_t l = 0; l <= r.L; l++) {
        r.sizes[l] = jn_net_size(net, l);
        if (r.sizes[l] > r.max_width) r.max_width = r.sizes[l];
    }
    r.hidden = jn_net_hidden_act(net);
    r.output = jn_net_output_act(net);
    size_t P = jn_net_param_count(net), D = r.sizes[0], W = r.max_width;
    float *p = malloc(P * sizeof *p);
    r.params = malloc(P * sizeof *r.params);
    /* a, z: W; At, Zt: W x D; As, Zs: W x D x D */
    r.scratch = malloc(2 * W * (1 + D + D * D) * sizeof *r.scratch);
    ck_assert(p && r.params && r.scratch);
    ck_assert_int_eq(jn_net_get_params(net, p, P), JN_OK);
    for (size_t i = 0; i < P; i++) r.params[i] = p[i];
    free(p);
    return r;
}

void ref_free(ref_net *r)
{
    free(r->params);
    free(r->scratch);
    r->params = r->scratch = NULL;
}

/* act, act', act'' at z (not softmax). */
static void act3(jn_act act, double z, double *v, double *d1, double *d2)
{
    switch (act) {
    case JN_ACT_TANH: {
        double t = tanh(z);
        *v = t, *d1 = 1 - t * t, *d2 = -2 * t * (1 - t * t);
        break;
    }
    case JN_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-z));
        *v = s, *d1 = s * (1 - s), *d2 = s * (1 - s) * (1 - 2 * s);
        break;
    }
    case JN_ACT_RELU:
        *v = z > 0 ? z : 0, *d1 = z > 0, *d2 = 0;
        break;
    default:
        *v = z, *d1 = 1, *d2 = 0;
        break;
    }
}

/* Carries the activation a, its tangent At = da/dx and (when second) its
 * second derivative As = d2a/dx2 through the layers:
 *   z = W a + b,  Zt = W At,  Zs = W As   (per unit, over the input axes)
 *   elementwise:  At = act' Zt,  As = act'' Zt Zt^T + act' Zs
 *   softmax:      At = P Zt,  As = P Zs + sum_mq M_kmq Zt_m Zt_q^T
 * with P = dp/dz and M_kmq = d2p_k/dz_m dz_q. */
void ref_eval(ref_net *r, const double *x, double *F, double *J, double *H, double *min_relu_margin)
{
    size_t D = r->sizes[0], W = r->max_width, DD = D * D;
    int second = H != NULL, tangent = J != NULL || H != NULL;
    double *a = r->scratch, *z = a + W, *At = z + W, *Zt = At + W * D, *As = Zt + W * D, *Zs = As + W * DD;
    memcpy(a, x, D * sizeof *a);
    if (tangent) {
        memset(At, 0, D * D * sizeof *At);
        for (size_t j = 0; j < D; j++) At[j * D + j] = 1;
    }
    if (second) memset(As, 0, D * DD * sizeof *As);
    if (min_relu_margin) *min_relu_margin = INFINITY;
    const double *p = r->params;
    for (size_t l = 1; l <= r->L; l++) {
        size_t in = r->sizes[l - 1], out = r->sizes[l];
        const double *Wl = p, *b = p + out * in;
        p += out * in + out;
        jn_act act = l == r->L ? r->output : r->hidden;
        for (size_t h = 0; h < out; h++) {
            z[h] = b[h];
            if (tangent) memset(Zt + h * D, 0, D * sizeof *Zt);
            if (second) memset(Zs + h * DD, 0, DD * sizeof *Zs);
            for (size_t j = 0; j < in; j++) {
                double w = Wl[h * in + j];
                z[h] += w * a[j];
                for (size_t t = 0; tangent && t < D; t++) Zt[h * D + t] += w * At[j * D + t];
                for (size_t t = 0; second && t < DD; t++) Zs[h * DD + t] += w * As[j * DD + t];
            }
        }
        if (act == JN_ACT_SOFTMAX) {
            double mx = z[0], sum = 0;
            for (size_t h = 1; h < out; h++) mx = fmax(mx, z[h]);
            for (size_t h = 0; h < out; h++) sum += exp(z[h] - mx);
            for (size_t k = 0; k < out; k++) a[k] = exp(z[k] - mx) / sum;
            for (size_t k = 0; tangent && k < out; k++) {
                for (size_t t = 0; t < D; t++) {
                    double s = 0;
                    for (size_t m = 0; m < out; m++) s += a[k] * ((k == m) - a[m]) * Zt[m * D + t];
                    At[k * D + t] = s;
                }
                for (size_t u = 0; second && u < D; u++)
                    for (size_t v = 0; v < D; v++) {
                        double s = 0;
                        for (size_t m = 0; m < out; m++) {
                            s += a[k] * ((k == m) - a[m]) * Zs[m * DD + u * D + v];
                            for (size_t q = 0; q < out; q++)
                                s += a[k] * (((k == m) - a[m]) * ((k == q) - a[q]) - a[m] * ((m == q) - a[q])) *
                                     Zt[m * D + u] * Zt[q * D + v];
                        }
                        As[k * DD + u * D + v] = s;
                    }
            }
        } else {
            for (size_t h = 0; h < out; h++) {
                double v, d1, d2;
                act3(act, z[h], &v, &d1, &d2);
                if (act == JN_ACT_RELU && min_relu_margin) *min_relu_margin = fmin(*min_relu_margin, fabs(z[h]));
                a[h] = v;
                for (size_t t = 0; tangent && t < D; t++) At[h * D + t] = d1 * Zt[h * D + t];
                for (size_t u = 0; second && u < D; u++)
                    for (size_t w = 0; w < D; w++)
                        As[h * DD + u * D + w] = d2 * Zt[h * D + u] * Zt[h * D + w] + d1 * Zs[h * DD + u * D + w];
            }
        }
    }
    size_t K = r->sizes[r->L];
    if (F) memcpy(F, a, K * sizeof *F);
    if (J) memcpy(J, At, K * D * sizeof *J);
    if (H) memcpy(H, As, K * DD * sizeof *H);
}

double ref_loss(ref_net *r, const double *x, const double *y)
{
    double F[REF_MAX_OUTPUTS], s = 0.0; /* K checked by ref_from (no check call here: it is hot) */
    ref_eval(r, x, F, NULL, NULL, NULL);
    for (size_t k = 0; k < r->sizes[r->L]; k++) s += (F[k] - y[k]) * (F[k] - y[k]);
    return s;
}
