/* test_noise.c - the random number generator and the noise samplers.
 *
 * Statistical checks use fixed seeds, so their outcome is deterministic for
 * a build; the thresholds are chosen so that a correct sampler would fail
 * them with probability < 1e-4 (4 standard errors) or 1% (the KS test), and
 * a wrong scale (variance off by 10%), a biased mean or a wrong shape fails
 * them by a wide margin at n = 10^5. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 100000
#define KS_CRIT (1.63 / sqrt((double)N)) /* Kolmogorov-Smirnov, alpha = 1% */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* KS statistic of the sample v (sorted in place) against cdf. */
static double ks_stat(float *v, size_t n, double (*cdf)(double, double), double param)
{
    qsort(v, n, sizeof *v, cmp_float);
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        double F = cdf(v[i], param);
        d = fmax(d, fmax(fabs(F - (double)i / n), fabs((double)(i + 1) / n - F)));
    }
    return d;
}

static double normal_cdf(double x, double std) { return 0.5 * erfc(-x / (std * sqrt(2.0))); }
static double uniform_cdf(double x, double std)
{
    double h = std * sqrt(3.0);
    return x <= -h ? 0.0 : x >= h ? 1.0 : (x + h) / (2.0 * h);
}

/* Sample variance of n normal draws has SE sigma^2 sqrt(2 / (n - 1)). */
static void check_normal_sample(float *v, size_t n, double std, const char *what)
{
    sample_moments m = moments_of(v, 0, 1, n);
    double mean = m.mean, var = m.var;
    double se_mean = std / sqrt((double)n), se_var = std * std * sqrt(2.0 / (n - 1));
    ck_assert_msg(fabs(mean) < 4 * se_mean, "%s: mean %g, SE %g", what, mean, se_mean);
    ck_assert_msg(fabs(var - std * std) < 4 * se_var, "%s: variance %g, want %g (SE %g)", what, var, std * std, se_var);
    double d = ks_stat(v, n, normal_cdf, std);
    if (verbose())
        printf("  %-32s std %-4g mean/SE %+.2f  (var-std^2)/SE %+.2f  KS %.4f (crit %.4f)\n", what, std,
               mean / se_mean, (var - std * std) / se_var, d, KS_CRIT);
    ck_assert_msg(d < KS_CRIT, "%s: KS statistic %g >= %g", what, d, KS_CRIT);
}

START_TEST(gaussian_distribution)
{
    static const double stds[] = {1.0, 0.1, 2.5};
    double std = stds[_i];
    jn_rng *rng = seeded_rng(12345 + (uint64_t)_i);
    float *v = malloc(N * sizeof *v);
    ck_assert_int_eq(jn_rng_gaussian(rng, v, N, std), JN_OK);
    check_normal_sample(v, N, std, "jn_rng_gaussian");
    /* a second call continues the stream: a fresh, also normal sample */
    ck_assert_int_eq(jn_rng_gaussian(rng, v, N, std), JN_OK);
    check_normal_sample(v, N, std, "jn_rng_gaussian (second call)");
    /* lengths that end inside a block of the Box-Muller sampler (gauss.c) */
    ck_assert_int_eq(jn_rng_gaussian(rng, v, 3, std), JN_OK);
    ck_assert_int_eq(jn_rng_gaussian(rng, v, N - 1, std), JN_OK);
    check_normal_sample(v, N - 1, std, "jn_rng_gaussian (odd offset)");
    free(v);
    jn_rng_free(rng);
}
END_TEST

/* A wrong sampler must fail the KS check: uniform draws of the same
 * variance are far from normal at n = 10^5 (guards the test itself). */
START_TEST(ks_check_has_power)
{
    jn_rng *rng = seeded_rng(5);
    float *v = malloc(N * sizeof *v);
    ck_assert_int_eq(jn_rng_uniform_fill(rng, v, N, 1.0), JN_OK);
    ck_assert(ks_stat(v, N, normal_cdf, 1.0) > 3 * KS_CRIT);
    free(v);
    jn_rng_free(rng);
}
END_TEST

START_TEST(gaussian_zero_std)
{
    jn_rng *rng = seeded_rng(1);
    float v[100];
    for (int i = 0; i < 100; i++) v[i] = 7.0f;
    ck_assert_int_eq(jn_rng_gaussian(rng, v, 100, 0.0), JN_OK);
    for (int i = 0; i < 100; i++) ck_assert(v[i] == 0.0f);
    jn_rng_free(rng);
}
END_TEST

START_TEST(uniform_fill_distribution)
{
    static const double stds[] = {1.0, 0.3};
    double std = stds[_i], half = std * sqrt(3.0);
    jn_rng *rng = seeded_rng(99 + (uint64_t)_i);
    float *v = malloc(N * sizeof *v);
    ck_assert_int_eq(jn_rng_uniform_fill(rng, v, N, std), JN_OK);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(fabsf(v[i]) <= (float)half, "v[%zu] = %g outside +-%g", i, v[i], half);
        lo = fminf(lo, v[i]);
        hi = fmaxf(hi, v[i]);
    }
    /* the whole support is used */
    ck_assert_msg(lo < -0.999 * half && hi > 0.999 * half, "range [%g, %g] of +-%g", lo, hi, half);
    sample_moments m = moments_of(v, 0, 1, N);
    /* U(-h, h): variance h^2/3 = std^2, fourth moment h^4/5, so the sample
     * variance has SE sqrt((h^4/5 - std^4) / n) = std^2 sqrt(0.8 / n). */
    double se_var = std * std * sqrt(0.8 / N);
    ck_assert_msg(fabs(m.mean) < 4 * std / sqrt((double)N), "mean %g", m.mean);
    ck_assert_msg(fabs(m.var - std * std) < 4 * se_var, "variance %g, want %g", m.var, std * std);
    double d = ks_stat(v, N, uniform_cdf, std);
    ck_assert_msg(d < KS_CRIT, "KS statistic %g", d);
    free(v);
    jn_rng_free(rng);
}
END_TEST

START_TEST(rng_uniform_unit_interval)
{
    jn_rng *rng = seeded_rng(3);
    float *v = malloc(N * sizeof *v);
    double s = 0.0;
    for (size_t i = 0; i < N; i++) {
        double u = jn_rng_uniform(rng);
        ck_assert_msg(u >= 0.0 && u < 1.0, "draw %zu = %.17g", i, u);
        s += u;
        v[i] = (float)(u * 2.0 * sqrt(3.0) - sqrt(3.0)); /* U(-sqrt3, sqrt3): std 1 */
    }
    ck_assert_msg(fabs(s / N - 0.5) < 4 * sqrt(1.0 / 12.0 / N), "mean %g", s / N);
    ck_assert(ks_stat(v, N, uniform_cdf, 1.0) < KS_CRIT);
    /* 64-bit draws: all bits move */
    uint64_t or_ = 0, and_ = ~(uint64_t)0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = jn_rng_next(rng);
        or_ |= x;
        and_ &= x;
    }
    ck_assert(or_ == ~(uint64_t)0 && and_ == 0);
    free(v);
    jn_rng_free(rng);
}
END_TEST

/* ---- jn_corrupt ---- */

START_TEST(mask_fraction_and_survivors)
{
    static const double ps[] = {0.3, 0.05, 0.9};
    double p = ps[_i];
    jn_rng *rng = seeded_rng(7 + (uint64_t)_i);
    float *src = malloc(N * sizeof *src), *dst = malloc(N * sizeof *dst);
    fill_uniform(src, N, 4, 0.5f, 2.0f); /* no zeros in the source */
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_MASK, p, src, dst, N), JN_OK);
    size_t masked = 0;
    for (size_t i = 0; i < N; i++) {
        if (dst[i] == 0.0f) masked++;
        else ck_assert_msg(memcmp(&dst[i], &src[i], sizeof(float)) == 0, "value %zu changed: %g -> %g", i, src[i], dst[i]);
    }
    double frac = (double)masked / N, se = sqrt(p * (1 - p) / N);
    ck_assert_msg(fabs(frac - p) < 4 * se, "masked fraction %g, want %g (SE %g)", frac, p, se);
    free(src);
    free(dst);
    jn_rng_free(rng);
}
END_TEST

START_TEST(mask_extremes)
{
    jn_rng *rng = seeded_rng(8);
    float src[1000], dst[1000];
    fill_uniform(src, 1000, 4, 0.5f, 2.0f);
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_MASK, 0.0, src, dst, 1000), JN_OK);
    ck_assert(memcmp(src, dst, sizeof src) == 0);
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_MASK, 1.0, src, dst, 1000), JN_OK);
    for (int i = 0; i < 1000; i++) ck_assert(dst[i] == 0.0f);
    jn_rng_free(rng);
}
END_TEST

START_TEST(additive_noise)
{
    jn_rng *rng = seeded_rng(9);
    float *src = uniform_floats(N, 5, -1.0f, 1.0f), *dst = malloc(N * sizeof *dst);
    const double std = 0.1;
    corruption_noise(rng, JN_NOISE_GAUSSIAN, std, src, dst, N);
    /* float rounding of src + noise is ~1e-7, far below the test's scale */
    check_normal_sample(dst, N, std, "jn_corrupt gaussian");
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_UNIFORM, std, src, dst, N), JN_OK);
    double half = std * sqrt(3.0);
    for (size_t i = 0; i < N; i++) {
        dst[i] -= src[i];
        ck_assert_msg(fabs(dst[i]) <= half + 1e-6, "uniform noise %g beyond %g", dst[i], half);
    }
    double var = moments_of(dst, 0, 1, N).var;
    ck_assert_msg(fabs(var - std * std) < 4 * std * std * sqrt(0.8 / N) + 1e-6, "uniform noise variance %g", var);
    ck_assert_msg(ks_stat(dst, N, uniform_cdf, std) < KS_CRIT + 1e-4, "uniform noise KS");
    free(src);
    free(dst);
    jn_rng_free(rng);
}
END_TEST

START_TEST(none_copies)
{
    jn_rng *rng = seeded_rng(10), *ref = seeded_rng(10);
    float src[257], dst[257];
    fill_uniform(src, 257, 6, -5.0f, 5.0f);
    memset(dst, 0xff, sizeof dst);
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_NONE, 0.5, src, dst, 257), JN_OK);
    ck_assert(memcmp(src, dst, sizeof src) == 0);
    ck_assert_int_eq(jn_corrupt(rng, JN_NOISE_NONE, 0.0, dst, dst, 257), JN_OK);
    ck_assert(memcmp(src, dst, sizeof src) == 0);
    /* NONE draws nothing: the generator is where a fresh one is */
    ck_assert(jn_rng_next(rng) == jn_rng_next(ref));
    jn_rng_free(rng);
    jn_rng_free(ref);
}
END_TEST

/* In place (src == dst) gives the same result as out of place for the same
 * generator state, for every kind. */
START_TEST(in_place_equals_out_of_place)
{
    static const jn_noise kinds[] = {JN_NOISE_NONE, JN_NOISE_GAUSSIAN, JN_NOISE_UNIFORM, JN_NOISE_MASK};
    jn_noise kind = kinds[_i];
    jn_rng *a = seeded_rng(11), *b = seeded_rng(11);
    enum { M = 1001 };
    float src[M], out[M], buf[M];
    fill_uniform(src, M, 7, -1.0f, 1.0f);
    memcpy(buf, src, sizeof src);
    ck_assert_int_eq(jn_corrupt(a, kind, 0.4, src, out, M), JN_OK);
    ck_assert_int_eq(jn_corrupt(b, kind, 0.4, buf, buf, M), JN_OK);
    ck_assert(memcmp(out, buf, sizeof out) == 0);
    if (kind != JN_NOISE_NONE) ck_assert(memcmp(out, src, sizeof out) != 0);
    jn_rng_free(a);
    jn_rng_free(b);
}
END_TEST

/* ---- seeds and streams ---- */

START_TEST(same_seed_same_stream)
{
    jn_rng *a = seeded_rng(42), *b = seeded_rng(42), *c = seeded_rng(43);
    float va[1000], vb[1000], vc[1000];
    ck_assert_int_eq(jn_rng_gaussian(a, va, 1000, 1.0), JN_OK);
    ck_assert_int_eq(jn_rng_gaussian(b, vb, 1000, 1.0), JN_OK);
    ck_assert_int_eq(jn_rng_gaussian(c, vc, 1000, 1.0), JN_OK);
    ck_assert(memcmp(va, vb, sizeof va) == 0);
    size_t same = 0;
    for (int i = 0; i < 1000; i++) same += va[i] == vc[i];
    ck_assert_msg(same < 5, "seeds 42 and 43 share %zu of 1000 draws", same);
    for (int i = 0; i < 100; i++) ck_assert(jn_rng_next(a) == jn_rng_next(b));
    /* jn_rng_create(seed) is stream 0 */
    jn_rng *s0 = NULL, *fresh = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&s0, 42, 0), JN_OK);
    fresh = seeded_rng(42);
    for (int i = 0; i < 100; i++) ck_assert(jn_rng_next(s0) == jn_rng_next(fresh));
    jn_rng_free(a);
    jn_rng_free(b);
    jn_rng_free(c);
    jn_rng_free(s0);
    jn_rng_free(fresh);
}
END_TEST

/* Streams of one seed differ from each other and are reproducible; small
 * stream numbers (jump-ahead) and large ones alike. Independence is checked
 * through the sample correlation of paired uniforms (|r| < 4/sqrt(n)). */
START_TEST(streams_differ)
{
    static const uint64_t streams[] = {0, 1, 2, 3, 64, 65, 1000, 65535};
    enum { NS = sizeof streams / sizeof streams[0], M = 20000 };
    double *u = malloc(NS * M * sizeof *u);
    for (int s = 0; s < NS; s++) {
        jn_rng *r = NULL, *again = NULL;
        ck_assert_int_eq(jn_rng_create_stream(&r, 5, streams[s]), JN_OK);
        ck_assert_int_eq(jn_rng_create_stream(&again, 5, streams[s]), JN_OK);
        for (int i = 0; i < M; i++) {
            u[s * M + i] = jn_rng_uniform(r);
            ck_assert(u[s * M + i] == jn_rng_uniform(again));
        }
        jn_rng_free(r);
        jn_rng_free(again);
    }
    /* beyond the documented limit of 2^16 streams: refused, not slow */
    jn_rng *big = (jn_rng *)&big;
    ck_assert_int_eq(jn_rng_create_stream(&big, 5, (uint64_t)1 << 16), JN_ERR_INVALID);
    ck_assert_ptr_null(big);
    for (int s = 0; s < NS; s++)
        for (int t = 0; t < s; t++) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            size_t equal = 0;
            for (int i = 0; i < M; i++) {
                double x = u[s * M + i], y = u[t * M + i];
                equal += x == y;
                sx += x;
                sy += y;
                sxx += x * x;
                syy += y * y;
                sxy += x * y;
            }
            double cov = sxy / M - sx / M * sy / M, r = cov / sqrt((sxx / M - sx * sx / M / M) * (syy / M - sy * sy / M / M));
            ck_assert_msg(equal == 0, "streams %llu and %llu share %zu draws", (unsigned long long)streams[s],
                          (unsigned long long)streams[t], equal);
            ck_assert_msg(fabs(r) < 4.0 / sqrt((double)M), "streams %llu and %llu correlate: r = %g",
                          (unsigned long long)streams[s], (unsigned long long)streams[t], r);
        }
    /* a stream is not merely the seed stream shifted by a few draws */
    jn_rng *s0 = NULL, *s1 = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&s0, 5, 0), JN_OK);
    ck_assert_int_eq(jn_rng_create_stream(&s1, 5, 1), JN_OK);
    uint64_t first1 = jn_rng_next(s1);
    for (int i = 0; i < 100000; i++) ck_assert(jn_rng_next(s0) != first1);
    jn_rng_free(s0);
    jn_rng_free(s1);
    /* the same stream number of different seeds differs */
    jn_rng *a = NULL, *b = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&a, 5, 3), JN_OK);
    ck_assert_int_eq(jn_rng_create_stream(&b, 6, 3), JN_OK);
    ck_assert(jn_rng_next(a) != jn_rng_next(b));
    jn_rng_free(a);
    jn_rng_free(b);
    free(u);
}
END_TEST

/* ---- the documented generator, re-implemented here ----
 * jacnet.h: "xoshiro256** generator seeded through splitmix64", stream k =
 * "the seed's state advanced by k jumps of 2^128 draws", jn_rng_uniform in
 * [0, 1). This is the published algorithm (Blackman and Vigna), written
 * from its description, to compare jn_rng_next draws bit for bit. */
typedef struct { uint64_t s[4]; } ref_rng;
static uint64_t ref_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t ref_next(ref_rng *r)
{
    uint64_t *s = r->s, out = ref_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return out;
}
static void ref_jump(ref_rng *r)
{
    static const uint64_t J[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL, 0xa9582618e03fc9aaULL,
                                 0x39abdc4529b1661cULL};
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (J[i] & ((uint64_t)1 << b))
                for (int k = 0; k < 4; k++) t[k] ^= r->s[k];
            ref_next(r);
        }
    memcpy(r->s, t, sizeof t);
}
static void ref_seed(ref_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) r->s[k] = ref_splitmix(&x);
    for (uint64_t i = 0; i < stream; i++) ref_jump(r);
}

START_TEST(generator_matches_reference)
{
    static const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefcafef00dULL};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        ref_rng ref;
        ref_seed(&ref, seeds[i], 0);
        jn_rng *r = seeded_rng(seeds[i]);
        for (int k = 0; k < 1000; k++) {
            uint64_t want = ref_next(&ref), got = jn_rng_next(r);
            ck_assert_msg(got == want, "seed %llu draw %d: %016llx, xoshiro256** gives %016llx",
                          (unsigned long long)seeds[i], k, (unsigned long long)got, (unsigned long long)want);
        }
        /* uniform = top 53 bits / 2^53 */
        uint64_t w = ref_next(&ref);
        ck_assert(jn_rng_uniform(r) == (double)(w >> 11) * 0x1.0p-53);
        jn_rng_free(r);
    }
}
END_TEST

/* Stream k is the seed's generator after k jumps, as jacnet.h documents;
 * checked for small and large k (the doc makes no exception). */
START_TEST(streams_are_jumps)
{
    static const uint64_t streams[] = {1, 2, 7, 64, 65, 100, 1000};
    ref_rng ref;
    ref_seed(&ref, 9, 0);
    uint64_t done = 0;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        while (done < streams[i]) {
            ref_jump(&ref);
            done++;
        }
        ref_rng copy = ref;
        jn_rng *r = NULL;
        ck_assert_int_eq(jn_rng_create_stream(&r, 9, streams[i]), JN_OK);
        int bad = -1;
        uint64_t want = 0, got = 0;
        for (int k = 0; k < 16 && bad < 0; k++) {
            want = ref_next(&copy);
            got = jn_rng_next(r);
            if (got != want) bad = k;
        }
        jn_rng_free(r); /* before asserting: no leak under CK_FORK=no */
        ck_assert_msg(bad < 0, "seed 9 stream %llu draw %d: %016llx, %llu jumps give %016llx",
                      (unsigned long long)streams[i], bad, (unsigned long long)got, (unsigned long long)streams[i],
                      (unsigned long long)want);
    }
}
END_TEST

/* ---- bad arguments ---- */

#define EXPECT_INVALID(call, needle)                                                            \
    do {                                                                                        \
        ck_assert_int_eq((call), JN_ERR_INVALID);                                               \
        ck_assert_msg(jn_last_error()[0] != '\0', "empty jn_last_error after %s", #call);        \
        ck_assert_msg(strstr(jn_last_error(), (needle)) != NULL, "%s: message '%s' lacks '%s'", \
                      #call, jn_last_error(), (needle));                                       \
    } while (0)

START_TEST(bad_arguments)
{
    jn_rng *rng = seeded_rng(1);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[8];
    EXPECT_INVALID(jn_rng_create(NULL, 1), "out");
    EXPECT_INVALID(jn_rng_create_stream(NULL, 1, 2), "out");
    EXPECT_INVALID(jn_rng_gaussian(NULL, v, 8, 1.0), "rng");
    EXPECT_INVALID(jn_rng_gaussian(rng, NULL, 8, 1.0), "out");
    EXPECT_INVALID(jn_rng_gaussian(rng, v, 8, -1.0), "std");
    EXPECT_INVALID(jn_rng_gaussian(rng, v, 8, NAN), "std");
    EXPECT_INVALID(jn_rng_gaussian(rng, v, 8, INFINITY), "std");
    EXPECT_INVALID(jn_rng_uniform_fill(NULL, v, 8, 1.0), "rng");
    EXPECT_INVALID(jn_rng_uniform_fill(rng, NULL, 8, 1.0), "out");
    EXPECT_INVALID(jn_rng_uniform_fill(rng, v, 8, -0.5), "std");
    EXPECT_INVALID(jn_rng_uniform_fill(rng, v, 8, NAN), "std");
    EXPECT_INVALID(jn_corrupt(NULL, JN_NOISE_GAUSSIAN, 0.1, v, w, 8), "rng");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.1, NULL, w, 8), "src");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.1, v, NULL, 8), "dst");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_GAUSSIAN, -0.1, v, w, 8), "level");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_UNIFORM, NAN, v, w, 8), "level");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_MASK, 1.5, v, w, 8), "1");
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_MASK, -0.5, v, w, 8), "level");
    EXPECT_INVALID(jn_corrupt(rng, (jn_noise)42, 0.1, v, w, 8), "42");
    EXPECT_INVALID(jn_corrupt(rng, (jn_noise)-1, 0.1, v, w, 8), "kind");
    /* the failed in-place mask left the data alone */
    float copy[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_INVALID(jn_corrupt(rng, JN_NOISE_MASK, 2.0, v, v, 8), "1");
    ck_assert(memcmp(v, copy, sizeof v) == 0);
    jn_rng_free(NULL); /* accepted */
    jn_rng_free(rng);
}
END_TEST

static Suite *noise_suite(void)
{
    Suite *s = suite_create("noise");
    ADD_CASE(s, "samplers", 60, LOOP(gaussian_distribution, 3), ONCE(ks_check_has_power), ONCE(gaussian_zero_std),
             LOOP(uniform_fill_distribution, 2), ONCE(rng_uniform_unit_interval), LOOP(mask_fraction_and_survivors, 3),
             ONCE(mask_extremes), ONCE(additive_noise), ONCE(none_copies), LOOP(in_place_equals_out_of_place, 4),
             ONCE(same_seed_same_stream), ONCE(streams_differ), ONCE(generator_matches_reference),
             ONCE(streams_are_jumps), ONCE(bad_arguments));
    return s;
}

int main(void) { return run_suite(noise_suite()); }
