/* noise.c - samplers that fill caller buffers and corrupt batches. */
#include "base/base.h"
#include "noise/noise.h"

#include <math.h>
#include <string.h>

static int level_ok(double v) { return isfinite(v) && v >= 0.0; }

JN_API jn_status jn_rng_gaussian(jn_rng *rng, float *out, size_t n, double std)
{
    if (!rng || !out) return jn__fail(JN_ERR_INVALID, "jn_rng_gaussian: %s is NULL", rng ? "out" : "rng");
    if (!level_ok(std)) return jn__fail(JN_ERR_INVALID, "jn_rng_gaussian: std = %g", std);
    jn__normal_fill(rng, out, n, (float)std, NULL);
    return JN_OK;
}

JN_API jn_status jn_rng_uniform_fill(jn_rng *rng, float *out, size_t n, double std)
{
    if (!rng || !out) return jn__fail(JN_ERR_INVALID, "jn_rng_uniform_fill: %s is NULL", rng ? "out" : "rng");
    if (!level_ok(std)) return jn__fail(JN_ERR_INVALID, "jn_rng_uniform_fill: std = %g", std);
    double half = std * sqrt(3.0); /* U(-h, h) has variance h^2 / 3 */
    for (size_t i = 0; i < n; i++) out[i] = (float)((2.0 * jn_rng_uniform(rng) - 1.0) * half);
    return JN_OK;
}

JN_API jn_status jn_corrupt(jn_rng *rng, jn_noise kind, double level, const float *src, float *dst, size_t n)
{
    if (!rng || !src || !dst)
        return jn__fail(JN_ERR_INVALID, "jn_corrupt: %s is NULL", !rng ? "rng" : !src ? "src" : "dst");
    if (!level_ok(level)) return jn__fail(JN_ERR_INVALID, "jn_corrupt: level = %g", level);
    switch (kind) {
    case JN_NOISE_NONE:
        if (dst != src) memmove(dst, src, n * sizeof *dst);
        return JN_OK;
    case JN_NOISE_GAUSSIAN:
        jn__normal_fill(rng, dst, n, (float)level, src);
        return JN_OK;
    case JN_NOISE_UNIFORM: {
        double half = level * sqrt(3.0);
        for (size_t i = 0; i < n; i++) dst[i] = src[i] + (float)((2.0 * jn_rng_uniform(rng) - 1.0) * half);
        return JN_OK;
    }
    case JN_NOISE_MASK:
        if (level > 1.0) return jn__fail(JN_ERR_INVALID, "jn_corrupt: masking probability %g > 1", level);
        for (size_t i = 0; i < n; i++) dst[i] = jn_rng_uniform(rng) < level ? 0.0f : src[i];
        return JN_OK;
    }
    return jn__fail(JN_ERR_INVALID, "jn_corrupt: unknown noise kind %d", (int)kind);
}
