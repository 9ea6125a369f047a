/* rng.c - xoshiro256** seeded through splitmix64, with jump-ahead streams so
 * that every consumer of randomness can own an independent stream. */
#include "base/base.h"
#include "noise/noise.h"

#include <stdlib.h>

/* Each stream costs one 256-draw jump per index; 2^16 bounds that to
 * ~10 ms while leaving far more streams than any run uses. */
#define JN_RNG_MAX_STREAMS 65536u

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(jn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Advance by 2^128 draws (the generator's published jump polynomial). */
static void jump(jn_rng *r)
{
    static const uint64_t poly[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                    0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (poly[i] & ((uint64_t)1 << b))
                for (int k = 0; k < 4; k++) t[k] ^= r->s[k];
            next(r);
        }
    for (int k = 0; k < 4; k++) r->s[k] = t[k];
}

void jn__rng_seed(jn_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) rng->s[k] = splitmix64(&x);
    /* Each jump costs 256 draws, so stream s costs ~s microseconds: cheap
     * for the handful of streams a training run uses. */
    for (uint64_t i = 0; i < stream; i++) jump(rng);
}

uint64_t jn__key_seed(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ tag;
    x = splitmix64(&x) ^ a;
    x = splitmix64(&x) ^ b;
    return splitmix64(&x);
}

JN_API jn_status jn_rng_create_stream(jn_rng **out, uint64_t seed, uint64_t stream)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_rng_create: out is NULL");
    *out = NULL;
    if (stream >= JN_RNG_MAX_STREAMS)
        return jn__fail(JN_ERR_INVALID, "jn_rng_create_stream: stream %llu, need < %u", (unsigned long long)stream,
                        (unsigned)JN_RNG_MAX_STREAMS);
    jn_rng *r = jn__alloc(1, sizeof *r, "jn_rng_create");
    if (!r) return JN_ERR_NOMEM;
    jn__rng_seed(r, seed, stream);
    *out = r;
    return JN_OK;
}

JN_API jn_status jn_rng_create(jn_rng **out, uint64_t seed) { return jn_rng_create_stream(out, seed, 0); }

JN_API void jn_rng_free(jn_rng *rng) { free(rng); }

JN_API uint64_t jn_rng_next(jn_rng *rng) { return rng ? next(rng) : 0; }

JN_API double jn_rng_uniform(jn_rng *rng)
{
    /* 53 random bits -> [0, 1). */
    return rng ? (double)(next(rng) >> 11) * 0x1.0p-53 : 0.0;
}
