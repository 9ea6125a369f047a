/* activation.c - every activation's value and first and second derivatives,
 * in one table, so the forward pass, backprop and the Jacobian code cannot
 * disagree about them. */
#include "internal.h"

#include <math.h>

/* Derivatives are taken from z (relu, linear) or from the value a (tanh,
 * sigmoid), whichever is exact and cheapest. */
typedef float (*act_fn)(float z);
typedef float (*deriv_fn)(float z, float a);

static float tanh_f(float z) { return tanhf(z); }
static float tanh_d1(float z, float a) { return 1.0f - a * a; }
static float tanh_d2(float z, float a) { return -2.0f * a * (1.0f - a * a); }

static float sigmoid_f(float z)
{
    /* Two branches keep exp from overflowing for large |z|. */
    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}
static float sigmoid_d1(float z, float a) { return a * (1.0f - a); }
static float sigmoid_d2(float z, float a) { return a * (1.0f - a) * (1.0f - 2.0f * a); }

static float relu_f(float z) { return z > 0.0f ? z : 0.0f; }
static float relu_d1(float z, float a) { return z > 0.0f ? 1.0f : 0.0f; }
static float zero_d2(float z, float a) { return 0.0f; }

static float linear_f(float z) { return z; }
static float linear_d1(float z, float a) { return 1.0f; }

static const struct {
    const char *name;
    act_fn f;
    deriv_fn d1, d2;
} table[] = {
    [JN_ACT_TANH] = {"tanh", tanh_f, tanh_d1, tanh_d2},
    [JN_ACT_SIGMOID] = {"sigmoid", sigmoid_f, sigmoid_d1, sigmoid_d2},
    [JN_ACT_RELU] = {"relu", relu_f, relu_d1, zero_d2},
    [JN_ACT_LINEAR] = {"linear", linear_f, linear_d1, zero_d2},
    [JN_ACT_SOFTMAX] = {"softmax", NULL, NULL, NULL},
};

int jn__act_valid_hidden(jn_act act)
{
    return act == JN_ACT_TANH || act == JN_ACT_SIGMOID || act == JN_ACT_RELU || act == JN_ACT_LINEAR;
}

int jn__act_valid_output(jn_act act) { return jn__act_valid_hidden(act) || act == JN_ACT_SOFTMAX; }

const char *jn__act_name(jn_act act) { return jn__act_valid_output(act) ? table[act].name : "?"; }

static void softmax_rows(float *z, size_t n, size_t width)
{
    for (size_t i = 0; i < n; i++) {
        float *row = z + i * width;
        float max = row[0];
        for (size_t k = 1; k < width; k++)
            if (row[k] > max) max = row[k];
        double sum = 0.0;
        for (size_t k = 0; k < width; k++) {
            row[k] = expf(row[k] - max);
            sum += row[k];
        }
        float inv = (float)(1.0 / sum);
        for (size_t k = 0; k < width; k++) row[k] *= inv;
    }
}

void jn__act_apply(jn_act act, float *z_to_a, size_t n, size_t width)
{
    size_t count = n * width;
    switch (act) {
    case JN_ACT_SOFTMAX: softmax_rows(z_to_a, n, width); return;
    case JN_ACT_LINEAR: return;
    case JN_ACT_TANH:
        for (size_t i = 0; i < count; i++) z_to_a[i] = tanhf(z_to_a[i]);
        return;
    case JN_ACT_RELU:
        for (size_t i = 0; i < count; i++) z_to_a[i] = relu_f(z_to_a[i]);
        return;
    default:
        for (size_t i = 0; i < count; i++) z_to_a[i] = table[act].f(z_to_a[i]);
        return;
    }
}

void jn__act_derivs(jn_act act, const float *z, const float *a, size_t count, float *d1, float *d2)
{
    deriv_fn f1 = table[act].d1, f2 = table[act].d2;
    for (size_t i = 0; i < count; i++) d1[i] = f1(z[i], a[i]);
    if (d2)
        for (size_t i = 0; i < count; i++) d2[i] = f2(z[i], a[i]);
}
