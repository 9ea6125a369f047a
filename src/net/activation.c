/* activation.c - every activation's value and first and second derivatives,
 * in one table, so the forward pass, backprop and the Jacobian code cannot
 * disagree about them. Each entry works on whole blocks: plain loops the
 * compiler vectorises, rather than a call per element. */
#include "net/net.h"

#include <math.h>

/* Vectorisable tanh and sigmoid for whole blocks. libm's tanhf costs about
 * as much per element as the GEMM that feeds it, and GCC cannot vectorise a
 * libm call without -ffast-math, so the forward pass uses these instead:
 * straight-line code the compiler turns into SIMD, accurate to a few ulp.
 *
 * exp_poly(y) = 2^k e^r with k = round(y / ln 2) and |r| <= ln(2)/2, e^r
 * by its Taylor series to degree 7 (truncation < 4e-9 relative); the
 * power of two is built directly in the exponent bits. y must lie in
 * [-87, 88] so that 2^k is a normal float. */
static inline float exp_poly(float y)
{
    const float log2e = 1.44269504f, ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f;
    float kf = y * log2e;
    kf = kf + (kf >= 0.0f ? 0.5f : -0.5f);
    int32_t k = (int32_t)kf;
    float r = (y - (float)k * ln2_hi) - (float)k * ln2_lo;
    float p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    union { int32_t i; float f; } two_k = {.i = (k + 127) << 23};
    return p * two_k.f;
}

/* tanh: near 0 its odd Taylor series through x^15 (error < 3e-8 relative
 * for |x| < 0.55, where 1 - 2/(e^2x + 1) would cancel); elsewhere
 * 1 - 2/(e^{2|x|} + 1) with the sign restored. Beyond |x| = 9, tanh is 1
 * in float. NaN stays NaN. */
static void tanh_block(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = v[i], ax = fabsf(x), x2 = x * x;
        float series = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835 +
                       x2 * (-1382.0f / 155925 + x2 * (21844.0f / 6081075 + x2 * (-929569.0f / 638512875))))))));
        float e = exp_poly(2.0f * (ax < 9.0f ? ax : 9.0f));
        float far = copysignf(1.0f - 2.0f / (e + 1.0f), x);
        float t = ax < 0.55f ? series : far;
        v[i] = x == x ? t : x;
    }
}

/* sigmoid: e^-|z| computed once serves both signs, 1/(1 + e) for z >= 0 and
 * e/(1 + e) for z < 0, so nothing overflows. Below z = -87, e^-|z| leaves
 * exp_poly's range: it is formed as (e^-|z|/2)^2, which underflows
 * gradually through the denormals to 0 as float arithmetic should. */
static void sigmoid_block(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float z = v[i], az = fabsf(z);
        float h = exp_poly(-0.5f * (az < 174.0f ? az : 174.0f));
        float e = az < 87.0f ? exp_poly(-az) : h * h; /* denormal, then 0, via the square */
        float inv = 1.0f / (1.0f + e);
        float s = z >= 0.0f ? inv : e * inv;
        v[i] = z == z ? s : z;
    }
}

/* Derivatives from the value a (tanh, sigmoid) or from z (relu, linear),
 * whichever is exact and cheapest. d2 may be NULL. */
static void tanh_derivs(const float *z, const float *a, size_t n, float *d1, float *d2)
{
    for (size_t i = 0; i < n; i++) d1[i] = 1.0f - a[i] * a[i];
    if (d2)
        for (size_t i = 0; i < n; i++) d2[i] = -2.0f * a[i] * (1.0f - a[i] * a[i]);
}

static void sigmoid_derivs(const float *z, const float *a, size_t n, float *d1, float *d2)
{
    for (size_t i = 0; i < n; i++) d1[i] = a[i] * (1.0f - a[i]);
    if (d2)
        for (size_t i = 0; i < n; i++) d2[i] = a[i] * (1.0f - a[i]) * (1.0f - 2.0f * a[i]);
}

static void relu_block(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = v[i] > 0.0f ? v[i] : (v[i] == v[i] ? 0.0f : v[i]);
}

static void relu_derivs(const float *z, const float *a, size_t n, float *d1, float *d2)
{
    for (size_t i = 0; i < n; i++) d1[i] = z[i] > 0.0f ? 1.0f : 0.0f;
    if (d2)
        for (size_t i = 0; i < n; i++) d2[i] = 0.0f;
}

static void linear_block(float *v, size_t n) { (void)v, (void)n; }

static void linear_derivs(const float *z, const float *a, size_t n, float *d1, float *d2)
{
    for (size_t i = 0; i < n; i++) d1[i] = 1.0f;
    if (d2)
        for (size_t i = 0; i < n; i++) d2[i] = 0.0f;
}

static const struct {
    const char *name;
    void (*apply)(float *v, size_t n); /* in place: z -> act(z) */
    void (*derivs)(const float *z, const float *a, size_t n, float *d1, float *d2);
} table[] = {
    [JN_ACT_TANH] = {"tanh", tanh_block, tanh_derivs},
    [JN_ACT_SIGMOID] = {"sigmoid", sigmoid_block, sigmoid_derivs},
    [JN_ACT_RELU] = {"relu", relu_block, relu_derivs},
    [JN_ACT_LINEAR] = {"linear", linear_block, linear_derivs},
    [JN_ACT_SOFTMAX] = {"softmax", NULL, NULL}, /* per row: softmax_rows and the Jacobian code */
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
    if (act == JN_ACT_SOFTMAX) softmax_rows(z_to_a, n, width);
    else table[act].apply(z_to_a, n * width);
}

void jn__act_derivs(jn_act act, const float *z, const float *a, size_t count, float *d1, float *d2)
{
    table[act].derivs(z, a, count, d1, d2);
}
