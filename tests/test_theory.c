/* test_theory.c - the report's Taylor expansions of noisy objectives
 * (TR 1359, eqs. 14-20), checked by Monte Carlo on small networks in double
 * precision (refnet.c) with fixed seeds. L = sum_k (F_k - y_k)^2 (the
 * library's MSE), g = ||J_F||_F^2, e ~ N(0, sigma^2 I), draws in antithetic
 * pairs (e, -e) with the same standard normals for every sigma.
 *
 *  (a) eq. 14: (E L(x+e) - L(x)) / sigma^2 -> Tr(H_L)/2, Tr(H_L) from
 *      differences of L; standard error < 1% of the prediction at every
 *      sigma (0.1, 0.03, 0.01).
 *  (b) eq. 17: Tr(H_L) = 2 (F-y).Tr(H_F) + 2 ||J_F||^2, in double against
 *      differences of L, and with the library's float F and ||J||^2.
 *  (c) eqs. 18-19: (E g(x+e) - g(x)) / sigma^2 -> ||H_F||^2 + sum_ki J_ki
 *      lap(J_ki) (derivation in docs/THEORY.md). The coefficient of ||H_F||^2
 *      is 1 (the penalty lambda E g(x~) gains lambda sigma^2 ||H_F||^2), not
 *      the report's 2; the test measures it and fails unless it is 1 and
 *      not 2.
 *  (d) eq. 20: (E L(x+e) - L(x) - sigma^2 Tr(H_L)/2) / sigma^4 -> lap^2(L)/8
 *      = sum_ij d_i^2 d_j^2 L / 8 (every Gaussian fourth moment, the
 *      cross terms E e_i^2 e_j^2 = sigma^4 included); within it the
 *      coefficient of ||H_F||^2 is 1/2, not the report's 1/4, and the
 *      diagonal-only sum (no cross terms) does not match.
 * Third and fourth derivatives come from Richardson-extrapolated central
 * differences of the exact J and H. The "sigma -> 0" estimates combine the
 * draws at sigma and 2 sigma per pair, (4 v(sigma) - v(2 sigma)) / 3, which
 * cancels the O(sigma^2) bias. scripts/theory_checks.py is the full version. */
#include "refnet.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

#define MAXD 8
#define MAXK 4

typedef struct {
    const char *name;
    size_t sizes[5], n_sizes;
    jn_act hidden, output;
    unsigned seed;
} net_case;

static const net_case cases[] = {
    {"4-6-2 tanh/sigmoid", {4, 6, 2}, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 1},
    {"5-8-3 tanh/softmax", {5, 8, 3}, 3, JN_ACT_TANH, JN_ACT_SOFTMAX, 2},
    {"4-6-5-2 tanh/sigmoid", {4, 6, 5, 2}, 4, JN_ACT_TANH, JN_ACT_SIGMOID, 3},
};
#define N_CASES (sizeof cases / sizeof cases[0])

typedef struct {
    jn_net *net;
    ref_net r;
    size_t D, K;
    double x[MAXD], y[MAXK];
} setup;

/* Glorot weights x2 (units that bend over [-1, 1]), biases in [-0.5, 0.5],
 * x uniform in [-1, 1], y one-hot on output 0. */
static setup make_setup(const net_case *c)
{
    setup s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(jn_net_create(&s.net, c->sizes, c->n_sizes, c->hidden, c->output), JN_OK);
    ck_assert_int_eq(jn_net_init(s.net, c->seed), JN_OK);
    float *p = jn_net_params(s.net);
    size_t off = 0;
    for (size_t l = 1; l < c->n_sizes; l++) {
        for (size_t j = 0; j < c->sizes[l] * c->sizes[l - 1]; j++) p[off + j] *= 2.0f;
        off += c->sizes[l] * c->sizes[l - 1];
        fill_uniform(p + off, c->sizes[l], c->seed * 7 + (unsigned)l, -0.5f, 0.5f);
        off += c->sizes[l];
    }
    s.r = ref_from(s.net);
    s.D = c->sizes[0];
    s.K = c->sizes[c->n_sizes - 1];
    float xf[MAXD];
    fill_uniform(xf, s.D, c->seed + 100, -1.0f, 1.0f);
    for (size_t j = 0; j < s.D; j++) s.x[j] = xf[j];
    s.y[0] = 1.0;
    return s;
}

static void free_setup(setup *s)
{
    ref_free(&s->r);
    jn_net_free(s->net);
}

/* ------------------------------------------------------------------ */
/* Exact quantities and differences of them                              */
/* ------------------------------------------------------------------ */

/* A function R^D -> R^m evaluated into out. */
typedef void (*field)(setup *s, const double *x, double *out);

#define FD_H 1e-3

/* sum_j d^2 f/dx_j^2 at x (m values): central second differences with
 * steps h and 2h, Richardson-combined (truncation O(h^4)). If axis_only,
 * out[j] is only the j-th axis term of component j (for sum_i d^4/dx_i^4
 * of a Hessian diagonal); then m = D. */
static void laplacian(setup *s, field f, const double *x, size_t m, int axis_only, double *out)
{
    double f0[64], fp[64], fm[64], xp[MAXD], d[2][64];
    ck_assert_uint_le(m, 64);
    f(s, x, f0);
    memset(out, 0, m * sizeof *out);
    for (size_t j = 0; j < s->D; j++) {
        for (int t = 0; t < 2; t++) {
            double h = FD_H * (t + 1);
            memcpy(xp, x, s->D * sizeof *xp);
            xp[j] = x[j] + h;
            f(s, xp, fp);
            xp[j] = x[j] - h;
            f(s, xp, fm);
            for (size_t c = 0; c < m; c++) d[t][c] = (fp[c] - 2 * f0[c] + fm[c]) / (h * h);
        }
        for (size_t c = 0; c < m; c++)
            if (!axis_only || c == j) out[c] += (4 * d[0][c] - d[1][c]) / 3;
    }
}

static void field_loss(setup *s, const double *x, double *out) { out[0] = ref_loss(&s->r, x, s->y); }

static void field_jacobian(setup *s, const double *x, double *out) { ref_eval(&s->r, x, NULL, out, NULL, NULL); }

/* H_L = 2 sum_k [(F_k - y_k) H_k + J_k J_k^T] (D x D). */
static void loss_hessian(setup *s, const double *x, double *HL)
{
    size_t D = s->D, K = s->K;
    double F[MAXK], J[MAXK * MAXD], H[MAXK * MAXD * MAXD];
    ref_eval(&s->r, x, F, J, H, NULL);
    for (size_t u = 0; u < D; u++)
        for (size_t v = 0; v < D; v++) {
            double t = 0;
            for (size_t k = 0; k < K; k++)
                t += (F[k] - s->y[k]) * H[(k * D + u) * D + v] + J[k * D + u] * J[k * D + v];
            HL[u * D + v] = 2 * t;
        }
}

static void field_trace_loss_hessian(setup *s, const double *x, double *out)
{
    double HL[MAXD * MAXD];
    loss_hessian(s, x, HL);
    out[0] = 0;
    for (size_t u = 0; u < s->D; u++) out[0] += HL[u * s->D + u];
}

static void field_diag_loss_hessian(setup *s, const double *x, double *out)
{
    double HL[MAXD * MAXD];
    loss_hessian(s, x, HL);
    for (size_t u = 0; u < s->D; u++) out[u] = HL[u * s->D + u];
}

/* Tr H_k per output. */
static void field_trace_hessians(setup *s, const double *x, double *out)
{
    double H[MAXK * MAXD * MAXD];
    ref_eval(&s->r, x, NULL, NULL, H, NULL);
    for (size_t k = 0; k < s->K; k++) {
        out[k] = 0;
        for (size_t u = 0; u < s->D; u++) out[k] += H[(k * s->D + u) * s->D + u];
    }
}

/* Everything the predictions need at s->x. */
typedef struct {
    double L, j2, h2, trHk[MAXK], r[MAXK];
    double trHL_fd;     /* Tr H_L from differences of L */
    double trHL_exact;  /* the same from the exact H_L */
    double JlapJ;       /* sum_ki J_ki lap(J_ki) */
    double lap2L;       /* sum_ij d_i^2 d_j^2 L */
    double lap2F[MAXK]; /* lap^2 F_k */
    double diag4L;      /* sum_i d_i^4 L */
    double HL[MAXD * MAXD];
} theory;

static theory theory_at(setup *s)
{
    theory t;
    memset(&t, 0, sizeof t);
    size_t D = s->D, K = s->K;
    double F[MAXK], J[MAXK * MAXD], H[MAXK * MAXD * MAXD], lapJ[MAXK * MAXD], diag4[MAXD];
    ref_eval(&s->r, s->x, F, J, H, NULL);
    t.L = ref_loss(&s->r, s->x, s->y);
    for (size_t c = 0; c < K * D; c++) t.j2 += J[c] * J[c];
    for (size_t c = 0; c < K * D * D; c++) t.h2 += H[c] * H[c];
    for (size_t k = 0; k < K; k++) {
        t.r[k] = F[k] - s->y[k];
        for (size_t u = 0; u < D; u++) t.trHk[k] += H[(k * D + u) * D + u];
    }
    laplacian(s, field_loss, s->x, 1, 0, &t.trHL_fd);
    field_trace_loss_hessian(s, s->x, &t.trHL_exact);
    laplacian(s, field_jacobian, s->x, K * D, 0, lapJ);
    for (size_t c = 0; c < K * D; c++) t.JlapJ += J[c] * lapJ[c];
    laplacian(s, field_trace_loss_hessian, s->x, 1, 0, &t.lap2L);
    laplacian(s, field_trace_hessians, s->x, K, 0, t.lap2F);
    laplacian(s, field_diag_loss_hessian, s->x, D, 1, diag4);
    for (size_t u = 0; u < D; u++) t.diag4L += diag4[u];
    loss_hessian(s, s->x, t.HL);
    return t;
}

/* ------------------------------------------------------------------ */
/* Monte Carlo                                                           */
/* ------------------------------------------------------------------ */

#define TWO_PI 6.283185307179586

/* splitmix64 and Box-Muller in double: the test's own normal draws. */
static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void normals(uint64_t *state, double *g, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((splitmix(state) >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
        double u2 = (splitmix(state) >> 11) / 9007199254740992.0;
        double rad = sqrt(-2 * log(u1));
        g[i] = rad * cos(TWO_PI * u2);
        if (i + 1 < n) g[i + 1] = rad * sin(TWO_PI * u2);
    }
}

#define N_SIGMAS 4
static const double sigmas[N_SIGMAS] = {0.1, 0.03, 0.02, 0.01}; /* last two: the Richardson pair */

enum { M2, MJ, M4, N_EST };

/* mean and standard error of each estimate per sigma; index N_SIGMAS: the
 * sigma -> 0 combination (4 v(0.01) - v(0.02)) / 3 per draw. MJ only
 * when asked for (with_jacobian). */
typedef struct {
    double mean[N_SIGMAS + 1][N_EST], se[N_SIGMAS + 1][N_EST];
} mc_result;

static mc_result monte_carlo(setup *s, const theory *t, size_t pairs, uint64_t seed, int with_jacobian)
{
    size_t D = s->D, K = s->K;
    double sum[N_SIGMAS + 1][N_EST] = {{0}}, sum2[N_SIGMAS + 1][N_EST] = {{0}};
    double g[MAXD], xp[MAXD], xm[MAXD], Jp[MAXK * MAXD], Jm[MAXK * MAXD];
    double J0[MAXK * MAXD], g0 = 0;
    ref_eval(&s->r, s->x, NULL, J0, NULL, NULL);
    for (size_t c = 0; c < K * D; c++) g0 += J0[c] * J0[c];
    uint64_t state = seed;
    for (size_t p = 0; p < pairs; p++) {
        normals(&state, g, D);
        double quad = 0; /* (1/2) g^T H_L g */
        for (size_t u = 0; u < D; u++)
            for (size_t v = 0; v < D; v++) quad += 0.5 * g[u] * t->HL[u * D + v] * g[v];
        double val[N_SIGMAS + 1][N_EST];
        for (int si = 0; si < N_SIGMAS; si++) {
            double sg = sigmas[si];
            for (size_t j = 0; j < D; j++) {
                xp[j] = s->x[j] + sg * g[j];
                xm[j] = s->x[j] - sg * g[j];
            }
            double pair_L = 0.5 * (ref_loss(&s->r, xp, s->y) + ref_loss(&s->r, xm, s->y)) - t->L;
            double gp = 0, gm = 0;
            if (with_jacobian) {
                ref_eval(&s->r, xp, NULL, Jp, NULL, NULL);
                ref_eval(&s->r, xm, NULL, Jm, NULL, NULL);
                for (size_t c = 0; c < K * D; c++) {
                    gp += Jp[c] * Jp[c];
                    gm += Jm[c] * Jm[c];
                }
            }
            val[si][M2] = pair_L / (sg * sg);
            val[si][MJ] = (0.5 * (gp + gm) - g0) / (sg * sg);
            val[si][M4] = (pair_L - sg * sg * quad) / (sg * sg * sg * sg);
        }
        for (int e = 0; e < N_EST; e++) val[N_SIGMAS][e] = (4 * val[N_SIGMAS - 1][e] - val[N_SIGMAS - 2][e]) / 3;
        for (int si = 0; si <= N_SIGMAS; si++)
            for (int e = 0; e < N_EST; e++) {
                sum[si][e] += val[si][e];
                sum2[si][e] += val[si][e] * val[si][e];
            }
    }
    mc_result res;
    for (int si = 0; si <= N_SIGMAS; si++)
        for (int e = 0; e < N_EST; e++) {
            double mean = sum[si][e] / (double)pairs;
            double var = fmax(sum2[si][e] / (double)pairs - mean * mean, 0);
            res.mean[si][e] = mean;
            res.se[si][e] = sqrt(var / (double)pairs);
        }
    return res;
}

#define PAIRS 40000

/* ------------------------------------------------------------------ */
/* (a) eq. 14                                                            */
/* ------------------------------------------------------------------ */

START_TEST(eq14_second_order_of_input_noise)
{
    setup s = make_setup(&cases[_i]);
    theory t = theory_at(&s);
    mc_result mc = monte_carlo(&s, &t, PAIRS, 11 + (uint64_t)_i, 0);
    double pred = t.trHL_fd / 2;
    for (int si = 0; si < N_SIGMAS; si++) {
        double m = mc.mean[si][M2], se = mc.se[si][M2];
        /* Next order: + sigma^2 lap^2(L) / 8. */
        double pred4 = pred + sigmas[si] * sigmas[si] * t.lap2L / 8;
        if (verbose())
            printf("  (a) %-22s sigma %-5g  m2 %9.5f +- %.5f  Tr(H_L)/2 %9.5f  ratio %.4f  with sigma^2 term %9.5f\n",
                   cases[_i].name, sigmas[si], m, se, pred, m / pred, pred4);
        ck_assert_msg(se < 0.01 * fabs(pred), "%s sigma %g: standard error %g is not < 1%% of %g", cases[_i].name,
                      sigmas[si], se, pred);
        if (sigmas[si] <= 0.03)
            ck_assert_msg(fabs(m - pred4) < 4 * se, "%s sigma %g: m2 %g, predicted %g (+- %g)", cases[_i].name,
                          sigmas[si], m, pred4, se);
    }
    /* sigma = 0.01: the limit itself, within 4 standard errors. */
    double m = mc.mean[N_SIGMAS - 1][M2], se = mc.se[N_SIGMAS - 1][M2];
    ck_assert_msg(fabs(m - pred) < 4 * se, "%s: m2(0.01) %g vs Tr(H_L)/2 %g (se %g)", cases[_i].name, m, pred, se);
    free_setup(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* (b) eq. 17                                                            */
/* ------------------------------------------------------------------ */

START_TEST(eq17_trace_of_loss_hessian)
{
    setup s = make_setup(&cases[_i]);
    size_t D = s.D, K = s.K;
    for (int point = 0; point < 3; point++) {
        float xf[MAXD], Ff[MAXK], j2f;
        fill_uniform(xf, D, 300 + (unsigned)(_i * 10 + point), -1.0f, 1.0f);
        for (size_t j = 0; j < D; j++) s.x[j] = xf[j];
        for (size_t k = 0; k < K; k++) s.y[k] = (double)((k + (size_t)point) % 2);
        theory t = theory_at(&s);
        double rhs = 2 * t.j2;
        for (size_t k = 0; k < K; k++) rhs += 2 * t.r[k] * t.trHk[k];
        double err = fabs(rhs - t.trHL_fd) / fmax(fabs(t.trHL_fd), 1e-3);
        /* The same with the library's float32 F and ||J||^2. */
        ck_assert_int_eq(jn_net_forward(s.net, xf, 1, Ff), JN_OK);
        ck_assert_int_eq(jn_net_jacobian_sqnorm(s.net, xf, 1, &j2f), JN_OK);
        double rhs_f = 2 * (double)j2f;
        for (size_t k = 0; k < K; k++) rhs_f += 2 * ((double)Ff[k] - s.y[k]) * t.trHk[k];
        double err_f = fabs(rhs_f - t.trHL_fd) / fmax(fabs(t.trHL_fd), 1e-3);
        if (verbose())
            printf("  (b) %-22s point %d  Tr H_L (differences) %12.8f  eq. 17 %12.8f (rel %.1e), "
                   "with float F, ||J||^2: rel %.1e\n",
                   cases[_i].name, point, t.trHL_fd, rhs, err, err_f);
        ck_assert_msg(err < 1e-7, "%s: eq. 17 %g vs Tr H_L %g", cases[_i].name, rhs, t.trHL_fd);
        ck_assert_msg(err_f < 1e-5, "%s: eq. 17 with float F, J: %g vs %g", cases[_i].name, rhs_f, t.trHL_fd);
        ck_assert_msg(fabs(t.trHL_fd) > 1e-2, "%s: degenerate point", cases[_i].name);
    }
    free_setup(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* (c) eqs. 18-19                                                        */
/* ------------------------------------------------------------------ */

START_TEST(eq19_noise_on_jacobian_input)
{
    setup s = make_setup(&cases[_i]);
    theory t = theory_at(&s);
    mc_result mc = monte_carlo(&s, &t, PAIRS, 21 + (uint64_t)_i, 1);
    /* The library's ||H_F||^2 is the one used here. */
    float xf[MAXD], h2f;
    for (size_t j = 0; j < s.D; j++) xf[j] = (float)s.x[j];
    ck_assert_int_eq(jn_net_hessian_sqnorm(s.net, xf, 1, &h2f), JN_OK);
    ck_assert_msg(fabs(h2f - t.h2) < 1e-4 * t.h2, "library ||H||^2 %g, reference %g", h2f, t.h2);
    double pred = t.h2 + t.JlapJ;
    double m = mc.mean[N_SIGMAS][MJ], se = mc.se[N_SIGMAS][MJ];
    double coef = (m - t.JlapJ) / t.h2, coef_se = se / t.h2;
    if (verbose()) {
        for (int si = 0; si < N_SIGMAS; si++)
            printf("  (c) %-22s sigma %-5g  mJ %10.5f +- %.5f\n", cases[_i].name, sigmas[si], mc.mean[si][MJ],
                   mc.se[si][MJ]);
        printf("  (c) %-22s sigma->0  mJ %10.5f +- %.5f  ||H||^2 + sum J lapJ %10.5f (||H||^2 %.5f, sum J lapJ "
               "%.5f; report 2||H||^2 %.5f)  coefficient of ||H||^2: %.4f +- %.4f\n",
               cases[_i].name, m, se, pred, t.h2, t.JlapJ, 2 * t.h2, coef, coef_se);
    }
    ck_assert_msg(fabs(m - pred) < 4 * se, "%s: mJ %g vs %g (se %g)", cases[_i].name, m, pred, se);
    ck_assert_msg(fabs(coef - 1) < 4 * coef_se, "%s: coefficient of ||H||^2 %g +- %g, derived 1", cases[_i].name,
                  coef, coef_se);
    ck_assert_msg(fabs(coef - 2) > 6 * coef_se, "%s: coefficient %g +- %g does not tell 1 from 2", cases[_i].name,
                  coef, coef_se);
    free_setup(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* (d) eq. 20                                                            */
/* ------------------------------------------------------------------ */

START_TEST(eq20_fourth_order_of_input_noise)
{
    setup s = make_setup(&cases[_i]);
    theory t = theory_at(&s);
    mc_result mc = monte_carlo(&s, &t, PAIRS, 31 + (uint64_t)_i, 0);
    double pred = t.lap2L / 8, diag_only = t.diag4L / 8;
    double m = mc.mean[N_SIGMAS][M4], se = mc.se[N_SIGMAS][M4];
    /* lap^2(L)/8 = ||H||^2/2 + sum_k (Tr H_k)^2/4 + sum J lapJ + sum_k r_k lap^2 F_k / 4 */
    double other = t.JlapJ;
    for (size_t k = 0; k < s.K; k++) other += t.trHk[k] * t.trHk[k] / 4 + t.r[k] * t.lap2F[k] / 4;
    double decomposition = t.h2 / 2 + other;
    double coef = (m - other) / t.h2, coef_se = se / t.h2;
    if (verbose()) {
        for (int si = 0; si < N_SIGMAS; si++)
            printf("  (d) %-22s sigma %-5g  m4 %10.5f +- %.5f\n", cases[_i].name, sigmas[si], mc.mean[si][M4],
                   mc.se[si][M4]);
        printf("  (d) %-22s sigma->0  m4 %10.5f +- %.5f  lap^2 L/8 %10.5f (decomposed %10.5f)  diagonal only "
               "%10.5f  report ||H||^2/4 %.5f  coefficient of ||H||^2: %.4f +- %.4f\n",
               cases[_i].name, m, se, pred, decomposition, diag_only, t.h2 / 4, coef, coef_se);
    }
    ck_assert_msg(fabs(decomposition - pred) < 1e-5 * fmax(fabs(pred), 1), "%s: decomposition %g vs %g",
                  cases[_i].name, decomposition, pred);
    ck_assert_msg(fabs(m - pred) < 4 * se, "%s: m4 %g vs lap^2 L/8 %g (se %g)", cases[_i].name, m, pred, se);
    ck_assert_msg(fabs(m - diag_only) > 6 * se, "%s: the diagonal-only sum %g is not excluded (m4 %g +- %g)",
                  cases[_i].name, diag_only, m, se);
    ck_assert_msg(fabs(coef - 0.5) < 4 * coef_se, "%s: coefficient of ||H||^2 %g +- %g, derived 1/2",
                  cases[_i].name, coef, coef_se);
    ck_assert_msg(fabs(coef - 0.25) > 6 * coef_se, "%s: coefficient %g +- %g does not tell 1/2 from 1/4",
                  cases[_i].name, coef, coef_se);
    free_setup(&s);
}
END_TEST

static Suite *theory_suite(void)
{
    Suite *s = suite_create("theory");
    ADD_CASE(s, "theory", 60, LOOP(eq14_second_order_of_input_noise, (int)N_CASES),
             LOOP(eq17_trace_of_loss_hessian, (int)N_CASES), LOOP(eq19_noise_on_jacobian_input, (int)N_CASES),
             LOOP(eq20_fourth_order_of_input_noise, (int)N_CASES));
    return s;
}

int main(void) { return run_suite(theory_suite()); }
