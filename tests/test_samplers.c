/* test_samplers.c - statistics of the samplers that see dependence, not just
 * marginal shape (test_noise.c checks the marginals).
 *
 * gauss.c draws normals in blocks of 512: pair j of a block (j < 256) gives
 * z[j] = r cos(phi) and z[256 + j] = r sin(phi) from one (u, phi). Those two
 * are independent for a correct transform, but a slip that, say, writes the
 * second half as the negation of the first, or reuses a uniform, keeps every
 * marginal normal and breaks only the joint law. So beside mean, variance
 * and fourth moment (overall and per half-block), the tests measure
 * correlations of values and of squares (squares see a shared radius) at
 * lags 1..8 inside a block, at the lags 255, 256, 257 that join the halves
 * of a pair, at 511, 512, 513 across blocks, and between the two members of
 * every pair; the same for the uniform fill and jn_corrupt, between the
 * trainer's three streams, and between seeds.
 *
 * The projection vectors of the penalty (penalty.c: normalised Gaussian
 * vectors from the same block sampler) are read from the network's
 * workspace (this test includes src/net/net.h and links the static
 * library): unit norm, mean 0, E[v v^T] = I/K, E[v_a^4] = 3/(K(K+2)) as on
 * the uniform sphere, and uncorrelated vectors; the unit norm is also seen
 * through the public penalty value of a network whose Jacobian is the
 * identity.
 *
 * Tolerances: 5 standard errors with fixed seeds, so each run is
 * deterministic and a correct sampler stays far from the bound (a
 * statistic beyond 5 SE has probability ~6e-7 under the hypothesis); the
 * slips above move the affected statistic by hundreds of SE. Set
 * JN_TEST_VERBOSE=1 to print the largest |z| of each check. */
#include "testutil.h"

#include "net/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512                 /* gauss.c: 2 * PAIRS values per block */
#define NBLOCKS 2048
#define N (BLOCK * NBLOCKS)       /* 2^20 values */
#define ZMAX 5.0

/* Largest |statistic / SE| seen by a check, for the verbose report. */
static double worst_z;

static void expect_near(double got, double want, double se, const char *what, const char *detail)
{
    double z = (got - want) / se;
    if (fabs(z) > worst_z) worst_z = fabs(z);
    ck_assert_msg(fabs(z) < ZMAX, "%s: %s = %.6g, want %.6g (SE %.2g, %.1f SE off)", what, detail, got, want, se, z);
}

static void report(const char *what)
{
    if (verbose()) printf("  %-40s largest |z| %.2f\n", what, worst_z);
    worst_z = 0.0;
}

/* Pearson correlation of x[i] and y[i], i < n (f applied first: identity or
 * the square, to see dependence through the magnitude). */
static double corr(const float *x, const float *y, size_t n, size_t stride, int square)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i * stride], b = y[i * stride];
        if (square) {
            a *= a;
            b *= b;
        }
        sx += a;
        sy += b;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    double mx = sx / n, my = sy / n;
    return (sxy / n - mx * my) / sqrt((sxx / n - mx * mx) * (syy / n - my * my));
}

/* Mean, variance and (for normals) fourth moment of v[start + k * stride]
 * over count values, against a distribution of variance var and fourth
 * standardized moment kurt. */
static void check_moments(const float *v, size_t start, size_t stride, size_t count, double var, double kurt,
                          const char *what, const char *part)
{
    sample_moments m = moments_of(v, start, stride, count);
    char detail[96];
    snprintf(detail, sizeof detail, "mean (%s)", part);
    expect_near(m.mean, 0.0, sqrt(var / count), what, detail);
    /* Var(x^2) = E x^4 - var^2 = (kurt - 1) var^2 */
    snprintf(detail, sizeof detail, "variance (%s)", part);
    expect_near(m.m2, var, var * sqrt((kurt - 1.0) / count), what, detail);
    if (kurt == 3.0) {
        /* normal: Var(x^4) = E x^8 - (E x^4)^2 = (105 - 9) var^4 */
        snprintf(detail, sizeof detail, "fourth moment (%s)", part);
        expect_near(m.m4, 3.0 * var * var, var * var * sqrt(96.0 / count), what, detail);
    }
}

/* Correlations of values and squares at the lags that matter for blocks of
 * 512 made of two halves of 256 (SE 1/sqrt(pairs) for independent values). */
static void check_lags(const float *v, size_t n, const char *what)
{
    static const size_t lags[] = {1, 2, 3, 4, 5, 6, 7, 8, 255, 256, 257, 511, 512, 513, 1024};
    char detail[64];
    for (size_t i = 0; i < sizeof lags / sizeof lags[0]; i++) {
        size_t lag = lags[i], pairs = n - lag;
        for (int sq = 0; sq < 2; sq++) {
            snprintf(detail, sizeof detail, "correlation%s at lag %zu", sq ? " of squares" : "", lag);
            expect_near(corr(v, v + lag, pairs, 1, sq), 0.0, 1.0 / sqrt((double)pairs), what, detail);
        }
    }
}

/* The two members of every Box-Muller pair: z[b*512 + j] and
 * z[b*512 + 256 + j]. */
static void check_pairs(const float *v, size_t n, const char *what)
{
    size_t count = n / 2;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    for (size_t blk = 0; blk < n / BLOCK; blk++)
        for (size_t j = 0; j < BLOCK / 2; j++) {
            a[blk * BLOCK / 2 + j] = v[blk * BLOCK + j];
            b[blk * BLOCK / 2 + j] = v[blk * BLOCK + BLOCK / 2 + j];
        }
    double se = 1.0 / sqrt((double)count);
    expect_near(corr(a, b, count, 1, 0), 0.0, se, what, "correlation within Box-Muller pairs");
    expect_near(corr(a, b, count, 1, 1), 0.0, se, what, "correlation of squares within pairs");
    /* independence of the signs: each quadrant holds a quarter */
    size_t q[4] = {0};
    for (size_t i = 0; i < count; i++) q[(a[i] > 0) * 2 + (b[i] > 0)]++;
    for (int k = 0; k < 4; k++)
        expect_near((double)q[k] / count, 0.25, sqrt(0.25 * 0.75 / count), what, "quadrant share of pairs");
    free(a);
    free(b);
}

/* Moments overall and for each half of the blocks. */
static void check_normal_stream(const float *v, size_t n, double std, const char *what)
{
    check_moments(v, 0, 1, n, std * std, 3.0, what, "all");
    /* first and second halves of every block, by position */
    float *half = malloc(n / 2 * sizeof *half);
    for (int h = 0; h < 2; h++) {
        for (size_t blk = 0; blk < n / BLOCK; blk++)
            memcpy(half + blk * BLOCK / 2, v + blk * BLOCK + h * BLOCK / 2, BLOCK / 2 * sizeof *half);
        check_moments(half, 0, 1, n / 2, std * std, 3.0, what, h ? "second half-blocks" : "first half-blocks");
    }
    free(half);
    check_lags(v, n, what);
    check_pairs(v, n, what);
    report(what);
}

START_TEST(gaussian_dependence)
{
    static const double stds[] = {1.0, 0.25};
    jn_rng *rng = seeded_rng(2024 + (uint64_t)_i);
    float *v = malloc(N * sizeof *v);
    ck_assert_int_eq(jn_rng_gaussian(rng, v, N, stds[_i]), JN_OK);
    check_normal_stream(v, N, stds[_i], "jn_rng_gaussian");
    free(v);
    jn_rng_free(rng);
}
END_TEST

/* Calls of a length that is not a multiple of the block: each call starts a
 * fresh block, so the pairs lie at the same offsets inside each call. */
START_TEST(gaussian_short_calls)
{
    jn_rng *rng = seeded_rng(77);
    enum { CALL = 300, CALLS = 4000 };
    float *v = malloc((size_t)CALL * CALLS * sizeof *v);
    for (size_t c = 0; c < CALLS; c++) ck_assert_int_eq(jn_rng_gaussian(rng, v + c * CALL, CALL, 1.0), JN_OK);
    size_t n = (size_t)CALL * CALLS;
    check_moments(v, 0, 1, n, 1.0, 3.0, "short calls", "all");
    /* value j of every call (j < 44 is paired with 256 + j of the same call) */
    float *a = malloc(CALLS * sizeof *a), *b = malloc(CALLS * sizeof *b);
    for (size_t j = 0; j < 44; j++) {
        for (size_t c = 0; c < CALLS; c++) {
            a[c] = v[c * CALL + j];
            b[c] = v[c * CALL + 256 + j];
        }
        double se = 1.0 / sqrt((double)CALLS);
        expect_near(corr(a, b, CALLS, 1, 0), 0.0, se, "short calls", "pair correlation");
        expect_near(corr(a, b, CALLS, 1, 1), 0.0, se, "short calls", "pair correlation of squares");
        /* consecutive calls draw fresh uniforms */
        expect_near(corr(a, a + 1, CALLS - 1, 1, 0), 0.0, 1.0 / sqrt(CALLS - 1.0), "short calls",
                    "correlation between calls");
    }
    check_lags(v, n, "short calls");
    report("jn_rng_gaussian, 300 at a time");
    free(a);
    free(b);
    free(v);
    jn_rng_free(rng);
}
END_TEST

/* jn_corrupt: dst - src is the noise, with the same law. */
START_TEST(corrupt_gaussian_dependence)
{
    jn_rng *rng = seeded_rng(31337);
    float *src = uniform_floats(N, 3, -2.0f, 2.0f), *dst = malloc(N * sizeof *dst);
    corruption_noise(rng, JN_NOISE_GAUSSIAN, 0.5, src, dst, N);
    check_normal_stream(dst, N, 0.5, "jn_corrupt gaussian");
    free(src);
    free(dst);
    jn_rng_free(rng);
}
END_TEST

/* The uniform fill and uniform corruption: variance std^2, kurtosis 9/5,
 * range +-std sqrt(3), no correlation at any lag. */
START_TEST(uniform_dependence)
{
    const double std = 0.7, half = std * sqrt(3.0);
    jn_rng *rng = seeded_rng(4242);
    float *v = malloc(N * sizeof *v), *src = malloc(N * sizeof *src);
    for (int kind = 0; kind < 2; kind++) {
        const char *what = kind ? "jn_corrupt uniform" : "jn_rng_uniform_fill";
        if (kind) {
            fill_uniform(src, N, 9, -1.0f, 1.0f);
            corruption_noise(rng, JN_NOISE_UNIFORM, std, src, v, N);
        } else {
            ck_assert_int_eq(jn_rng_uniform_fill(rng, v, N, std), JN_OK);
        }
        size_t outside = 0;
        for (size_t i = 0; i < N; i++) outside += fabs(v[i]) > half * (1 + 1e-6) + 1e-6;
        ck_assert_msg(outside == 0, "%s: %zu values outside +-%g", what, outside, half);
        check_moments(v, 0, 1, N, std * std, 9.0 / 5.0, what, "all");
        check_lags(v, N, what);
        report(what);
    }
    free(v);
    free(src);
    jn_rng_free(rng);
}
END_TEST

/* Cross-correlation of two normal samples at lags -2..2, values and squares. */
static void check_independent(const float *a, const float *b, size_t n, const char *what)
{
    double se = 1.0 / sqrt((double)(n - 2));
    char detail[64];
    for (int lag = -2; lag <= 2; lag++)
        for (int sq = 0; sq < 2; sq++) {
            const float *x = lag >= 0 ? a : a - lag, *y = lag >= 0 ? b + lag : b;
            snprintf(detail, sizeof detail, "cross-correlation%s at lag %d", sq ? " of squares" : "", lag);
            expect_near(corr(x, y, n - 2, 1, sq), 0.0, se, what, detail);
        }
}

/* The trainer's three streams of one seed (shuffle, loss noise, Jacobian
 * noise) and the same stream of neighbouring seeds are independent. */
START_TEST(streams_independent)
{
    enum { M = 1 << 18 };
    float *s[3];
    for (int k = 0; k < 3; k++) {
        jn_rng *r = NULL;
        ck_assert_int_eq(jn_rng_create_stream(&r, 1234, (uint64_t)k), JN_OK);
        s[k] = malloc(M * sizeof *s[k]);
        ck_assert_int_eq(jn_rng_gaussian(r, s[k], M, 1.0), JN_OK);
        jn_rng_free(r);
    }
    check_independent(s[0], s[1], M, "streams 0 and 1");
    check_independent(s[0], s[2], M, "streams 0 and 2");
    check_independent(s[1], s[2], M, "streams 1 and 2");
    jn_rng *r = NULL;
    ck_assert_int_eq(jn_rng_create_stream(&r, 1235, 1), JN_OK);
    ck_assert_int_eq(jn_rng_gaussian(r, s[0], M, 1.0), JN_OK);
    jn_rng_free(r);
    check_independent(s[0], s[1], M, "seeds 1234 and 1235, stream 1");
    report("streams");
    for (int k = 0; k < 3; k++) free(s[k]);
}
END_TEST

/* ---- projection vectors ---- */

/* A one-layer linear network K -> K: with W = I its Jacobian is I, so each
 * projection gives ||v^T J||^2 = ||v||^2. */
static jn_net *identity_net(size_t K)
{
    const size_t sizes[] = {K, K};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 2, JN_ACT_LINEAR, JN_ACT_LINEAR), JN_OK);
    float *p = jn_net_params(net);
    memset(p, 0, jn_net_param_count(net) * sizeof *p);
    for (size_t k = 0; k < K; k++) p[k * K + k] = 1.0f;
    return net;
}

/* The vectors of one call (n examples, r projections, K outputs) as drawn
 * by the library: work->proj holds, per example, P (K x r), column q the
 * vector v_q. */
static void draw_vectors(jn_net *net, size_t K, size_t n, unsigned r, uint64_t seed, double *out_value)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, 1.0, r), JN_OK);
    ck_assert_int_eq(jn_objective_set_seed(obj, seed), JN_OK);
    float *X = uniform_floats(n * K, (unsigned)seed, -1.0f, 1.0f);
    /* Y = X: the loss is 0, the objective is the penalty alone */
    ck_assert_int_eq(jn_net_objective(net, obj, X, NULL, X, n, out_value, NULL), JN_OK);
    free(X);
    jn_objective_free(obj);
}

/* Through the public value: with J = I the estimate (K/r) sum_q ||v_q||^2
 * is K for unit vectors, for every seed. */
START_TEST(projection_unit_norm_public)
{
    const size_t K = 10, n = 32;
    jn_net *net = identity_net(K);
    for (uint64_t seed = 1; seed <= 50; seed++) {
        double value = 0.0;
        draw_vectors(net, K, n, 3, seed, &value);
        ck_assert_msg(fabs(value - (double)K) < 1e-5 * K, "seed %llu: penalty %.9g with J = I, want K = %zu",
                      (unsigned long long)seed, value, K);
    }
    jn_net_free(net);
}
END_TEST

/* The vectors themselves, from many seeds: uniform on the sphere. */
START_TEST(projection_vectors_on_sphere)
{
    const size_t K = 6, n = 100;
    const unsigned r = 3;
    enum { SEEDS = 200 };
    jn_net *net = identity_net(K);
    size_t count = 0, total = (size_t)SEEDS * n * r;
    double *V = malloc(total * K * sizeof *V); /* one vector a row */
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        double value;
        draw_vectors(net, K, n, r, 1000 + seed, &value);
        const float *proj = net->work->proj;
        for (size_t i = 0; i < n; i++)
            for (size_t q = 0; q < r; q++, count++) {
                double norm = 0.0;
                for (size_t a = 0; a < K; a++) {
                    double x = proj[i * K * r + a * r + q];
                    V[count * K + a] = x;
                    norm += x * x;
                }
                ck_assert_msg(fabs(norm - 1.0) < 1e-5, "vector %zu has squared norm %.9g", count, norm);
            }
    }
    const char *what = "projection vectors";
    double Kd = (double)K;
    /* mean 0 (Var v_a = 1/K) */
    for (size_t a = 0; a < K; a++) {
        double s = 0.0;
        for (size_t c = 0; c < total; c++) s += V[c * K + a];
        expect_near(s / total, 0.0, sqrt(1.0 / Kd / total), what, "mean of a coordinate");
    }
    /* E[v v^T] = I/K: Var(v_a^2) = 3/(K(K+2)) - 1/K^2, Var(v_a v_b) = 1/(K(K+2)) */
    for (size_t a = 0; a < K; a++)
        for (size_t b = a; b < K; b++) {
            double s = 0.0;
            for (size_t c = 0; c < total; c++) s += V[c * K + a] * V[c * K + b];
            double var = a == b ? 3.0 / (Kd * (Kd + 2)) - 1.0 / (Kd * Kd) : 1.0 / (Kd * (Kd + 2));
            expect_near(s / total, a == b ? 1.0 / Kd : 0.0, sqrt(var / total), what,
                        a == b ? "E[v_a^2]" : "E[v_a v_b]");
        }
    /* fourth moment of the sphere: E[v_a^4] = 3/(K(K+2)), Var = E v^8 - that^2,
     * E v_a^8 = 105/(K(K+2)(K+4)(K+6)) */
    for (size_t a = 0; a < K; a++) {
        double s = 0.0;
        for (size_t c = 0; c < total; c++) s += pow(V[c * K + a], 4);
        double m4 = 3.0 / (Kd * (Kd + 2)), m8 = 105.0 / (Kd * (Kd + 2) * (Kd + 4) * (Kd + 6));
        expect_near(s / total, m4, sqrt((m8 - m4 * m4) / total), what, "E[v_a^4]");
    }
    /* the r vectors of one example, and the same slot of consecutive
     * examples, are independent: <v, w> has mean 0 and E<v, w>^2 = 1/K */
    size_t pairs = 0;
    double s1 = 0.0, s2 = 0.0, t1 = 0.0, t2 = 0.0;
    for (size_t c = 0; c + 1 < total; c++) {
        double d = 0.0;
        for (size_t a = 0; a < K; a++) d += V[c * K + a] * V[(c + 1) * K + a];
        if ((c + 1) % r) {
            s1 += d;
            s2 += d * d;
            pairs++;
        }
        if (c + r < total) {
            double e = 0.0;
            for (size_t a = 0; a < K; a++) e += V[c * K + a] * V[(c + r) * K + a];
            t1 += e;
            t2 += e * e;
        }
    }
    /* <v, w> for independent uniform v, w: E = 0, E<v,w>^2 = 1/K,
     * E<v,w>^4 = 3/(K(K+2)) */
    double var2 = 3.0 / (Kd * (Kd + 2)) - 1.0 / (Kd * Kd);
    expect_near(s1 / pairs, 0.0, sqrt(1.0 / Kd / pairs), what, "<v_q, v_q+1> of one example");
    expect_near(s2 / pairs, 1.0 / Kd, sqrt(var2 / pairs), what, "<v_q, v_q+1>^2 of one example");
    size_t across = total - r;
    expect_near(t1 / across, 0.0, sqrt(1.0 / Kd / across), what, "<v, v'> of consecutive examples");
    expect_near(t2 / across, 1.0 / Kd, sqrt(var2 / across), what, "<v, v'>^2 of consecutive examples");
    report(what);
    free(V);
    jn_net_free(net);
}
END_TEST

/* Different seeds give different vectors (the trainer's per-step seeds rely
 * on it), the same seed the same. */
START_TEST(projection_vectors_follow_the_seed)
{
    const size_t K = 5, n = 4;
    jn_net *net = identity_net(K);
    size_t cells = n * K * 2;
    float *a = malloc(cells * sizeof *a), *b = malloc(cells * sizeof *b);
    double value;
    draw_vectors(net, K, n, 2, 11, &value);
    memcpy(a, net->work->proj, cells * sizeof *a);
    draw_vectors(net, K, n, 2, 12, &value);
    memcpy(b, net->work->proj, cells * sizeof *b);
    size_t same = 0;
    for (size_t i = 0; i < cells; i++) same += a[i] == b[i];
    ck_assert_msg(same == 0, "seeds 11 and 12 share %zu of %zu coordinates", same, cells);
    draw_vectors(net, K, n, 2, 11, &value);
    ck_assert(memcmp(a, net->work->proj, cells * sizeof *a) == 0);
    free(a);
    free(b);
    jn_net_free(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("samplers");
    ADD_CASE(s, "samplers", 60, LOOP(gaussian_dependence, 2), ONCE(gaussian_short_calls),
             ONCE(corrupt_gaussian_dependence), ONCE(uniform_dependence), ONCE(streams_independent),
             ONCE(projection_unit_norm_public), ONCE(projection_vectors_on_sphere),
             ONCE(projection_vectors_follow_the_seed));
    return run_suite(s);
}
