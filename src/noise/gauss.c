/* gauss.c - blocks of standard normal draws, written to vectorise.
 *
 * Box-Muller: with u uniform on (0, 1) and phi uniform on [-pi, pi),
 * sqrt(-2 ln u) (cos phi, sin phi) are two independent N(0, 1) values.
 * One 64-bit draw of the generator gives both uniforms (32 bits each), so
 * the smallest u is 2^-33 and |z| <= 6.76: the tail cut off has
 * probability about 1e-11. ln, sin and cos are short polynomials (errors
 * near 1e-7, far below what noise for training needs), so the whole
 * transform runs as SIMD code instead of libm calls; the polar method it
 * replaces spent most of a noisy training step's non-GEMM time in log(). */
#include "backend/backend.h"
#include "noise/noise.h"

#include <math.h>
#include <string.h>

#define PAIRS 256

/* ln u for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(s), s = (m - 1)/(m + 1), |s| < 0.172, by its series to
 * s^9 (truncation < 3e-10). */
static inline float log_poly(float u)
{
    union { float f; int32_t i; } b = {.f = u};
    int32_t e = ((b.i >> 23) & 0xff) - 127;
    b.i = (b.i & 0x007fffff) | 0x3f800000; /* m in [1, 2) */
    float m = b.f;
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    e += big;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float lnm = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
    return (float)e * 0.693147181f + lnm;
}

/* sin and cos of x in [-pi/2, pi/2] by Taylor series to degree 11 and 12
 * (truncation < 6e-8). */
static inline float sin_poly(float x)
{
    float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 6 + x2 * (1.0f / 120 + x2 * (-1.0f / 5040 + x2 * (1.0f / 362880 +
           x2 * (-1.0f / 39916800))))));
}
static inline float cos_poly(float x)
{
    float x2 = x * x;
    return 1.0f + x2 * (-1.0f / 2 + x2 * (1.0f / 24 + x2 * (-1.0f / 720 + x2 * (1.0f / 40320 +
           x2 * (-1.0f / 3628800 + x2 * (1.0f / 479001600))))));
}

/* 2 * PAIRS standard normals into z from PAIRS 64-bit draws: the high 32
 * bits give the radius's uniform, the low 32 bits the angle's. */
static void transform_block(const uint64_t *draws, float *z)
{
    float u[PAIRS], t[PAIRS];
    for (size_t j = 0; j < PAIRS; j++) {
        uint64_t k = draws[j];
        u[j] = ((float)(uint32_t)(k >> 32) + 0.5f) * 0x1.0p-32f;    /* (0, 1] */
        t[j] = ((float)(uint32_t)k + 0.5f) * 0x1.0p-32f - 0.5f;      /* [-1/2, 1/2] */
    }
    for (size_t j = 0; j < PAIRS; j++) {
        /* phi = 2 pi t = 2 h with h = pi t in [-pi/2, pi/2]: double angles. */
        float h = 3.14159265f * t[j], s = sin_poly(h), c = cos_poly(h);
        float r = sqrtf(-2.0f * log_poly(u[j]));
        z[j] = r * (1.0f - 2.0f * s * s);      /* r cos phi */
        z[PAIRS + j] = r * (2.0f * s * c);     /* r sin phi */
    }
}

/* out[0..m) = add + std z (add may be NULL). */
static void emit(float *out, const float *add, const float *z, size_t m, float std)
{
    if (add)
        for (size_t j = 0; j < m; j++) out[j] = add[j] + std * z[j];
    else
        for (size_t j = 0; j < m; j++) out[j] = std * z[j];
}

/* The parallel path: the whole blocks' draws were stored in out itself
 * (PAIRS 8-byte draws take the 2 PAIRS floats the block will hold), so each
 * block is transformed in place, by whichever thread. */
typedef struct fill_job {
    float *out;
    const float *add;
    float std;
} fill_job;

static void fill_range(void *ctxp, size_t begin, size_t end)
{
    const fill_job *job = ctxp;
    uint64_t draws[PAIRS];
    float z[2 * PAIRS];
    for (size_t b = begin; b < end; b++) {
        float *out = job->out + b * 2 * PAIRS;
        memcpy(draws, out, sizeof draws);
        transform_block(draws, z);
        emit(out, job->add ? job->add + b * 2 * PAIRS : NULL, z, 2 * PAIRS, job->std);
    }
}

static int overlap(const float *a, const float *b, size_t n)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b, bytes = n * sizeof(float);
    return x < y + bytes && y < x + bytes;
}

/* Draws are taken from the generator in order, one block of PAIRS at a
 * time (the last block whole too), so the values do not depend on n's
 * split or the thread count: only the transform runs in parallel. */
void jn__normal_fill(jn_rng *rng, float *out, size_t n, float std, const float *add)
{
    size_t blocks = n / (2 * PAIRS), done = 0;
    uint64_t draws[PAIRS];
    float z[2 * PAIRS];
    /* In place needs out distinct from add (jn_corrupt allows src == dst). */
    if (blocks > 1 && !(add && overlap(out, add, n))) {
        for (size_t b = 0; b < blocks; b++) {
            for (size_t j = 0; j < PAIRS; j++) draws[j] = jn_rng_next(rng);
            memcpy(out + b * 2 * PAIRS, draws, sizeof draws);
        }
        fill_job job = {out, add, std};
        jn__parallel_for(blocks, 1, 2 * PAIRS * 8, fill_range, &job);
        done = blocks * 2 * PAIRS;
    }
    for (size_t i = done; i < n; i += 2 * PAIRS) {
        size_t m = n - i < 2 * PAIRS ? n - i : 2 * PAIRS;
        for (size_t j = 0; j < PAIRS; j++) draws[j] = jn_rng_next(rng);
        transform_block(draws, z);
        emit(out + i, add ? add + i : NULL, z, m, std);
    }
}
