/* noise/noise.h - the random streams and the block Gaussian sampler (rng.c,
 * gauss.c). */
#ifndef JN_NOISE_H
#define JN_NOISE_H

#include "base/base.h"

/* ---- RNG (rng.c) ---- */
struct jn_rng {
    uint64_t s[4];
};
void jn__rng_seed(jn_rng *rng, uint64_t seed, uint64_t stream);
/* A seed derived from (seed, tag, a, b) by chained splitmix64 steps: the
 * streams of distinct keys are as independent as distinct seeds, at the
 * cost of four hashes instead of jn_rng_create_stream's jumps. */
uint64_t jn__key_seed(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b);
/* out[i] = add[i] + std * N(0, 1) (add may be NULL: 0) for i < n, in
 * blocks of vectorised Box-Muller (gauss.c). */
void jn__normal_fill(jn_rng *rng, float *out, size_t n, float std, const float *add);

#endif
