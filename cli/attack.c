/* attack.c - `jacnet eval --attack fgsm|pgd`: the error of a model on
 * inputs moved by at most eps per feature (L-infinity) to raise its loss,
 * with the gradient of the library's jn_net_input_gradient.
 *
 * The loss attacked is squared error on the one-hot labels (the label
 * itself for a single output): the loss every `jacnet train` model was
 * trained with, so the attack climbs the surface training descended.
 *  - FGSM (Goodfellow et al. 2015): x' = clip(x + eps sign(grad)).
 *  - PGD (Madry et al. 2018): a uniform random start in the eps ball, then
 *    `steps` steps x <- clip(proj_ball(x + a sign(grad))). An example counts
 *    as misclassified when any iterate is (the attacker keeps the first
 *    adversarial point it finds): the loss ascended is not the error, and
 *    a later iterate of higher loss may be classified right again. The loss
 *    reported is that of the last iterate, what the ascent reached.
 * clip keeps the inputs in the data's range: [0, 1] for the report's data
 * sets, the loaders' scale; the features' min and max for a --test file. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int attack_parse(const char *kind, const char *eps, const char *steps, const char *step_size, uint64_t seed,
                 attack_spec *a)
{
    memset(a, 0, sizeof *a);
    a->seed = seed;
    if (!kind) {
        if (eps || steps || step_size) return usage_error("eval", "--eps, --steps and --step-size need --attack");
        return 0;
    }
    if (strcmp(kind, "fgsm") && strcmp(kind, "pgd"))
        return usage_error("eval", "--attack '%s': fgsm or pgd", kind);
    a->kind = kind;
    a->pgd = !strcmp(kind, "pgd");
    if (!eps) return usage_error("eval", "--attack %s needs --eps E[,E..]", kind);
    a->n_eps = parse_list(eps, a->eps, (int)(sizeof a->eps / sizeof a->eps[0]));
    if (a->n_eps <= 0) return usage_error("eval", "--eps '%s': a list of numbers >= 0", eps);
    if (!a->pgd && (steps || step_size)) return usage_error("eval", "--steps and --step-size are for --attack pgd");
    uint64_t n = 10;
    if (steps && (parse_u64(steps, &n) || n < 1 || n > 100000))
        return usage_error("eval", "--steps '%s': an integer in [1, 100000]", steps);
    a->steps = (unsigned)n;
    if (step_size && (parse_double(step_size, &a->step_size) || !(a->step_size > 0)))
        return usage_error("eval", "--step-size '%s': a number > 0", step_size);
    return 0;
}

void attack_range(const jn_dataset *ds, int named_dataset, int pm1, attack_spec *a)
{
    a->lo = pm1 ? -1.0f : 0.0f;
    a->hi = 1.0f;
    if (named_dataset) return;
    const float *x = jn_dataset_features(ds);
    size_t cells = jn_dataset_count(ds) * jn_dataset_dim(ds);
    a->lo = a->hi = x[0];
    for (size_t i = 1; i < cells; i++) {
        if (x[i] < a->lo) a->lo = x[i];
        if (x[i] > a->hi) a->hi = x[i];
    }
}

double attack_step(const attack_spec *a, double eps)
{
    /* Madry et al.'s rule: 2.5 eps in all, more than the 2 eps a walk from
     * a random start needs to reach any corner of the ball. */
    return a->step_size > 0 ? a->step_size : 2.5 * eps / a->steps;
}

static float clip(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static float sign(float g) { return g > 0 ? 1.0f : g < 0 ? -1.0f : 0.0f; }

/* Rows per round: the buffers stay small whatever the data set. */
enum { ROWS = 256 };

int attack_eval(jn_net *net, const jn_dataset *ds, const attack_spec *a, double eps, double *error, double *loss)
{
    size_t n = jn_dataset_count(ds), D = jn_dataset_dim(ds), K = jn_net_size(net, jn_net_layers(net));
    const float *X = jn_dataset_features(ds);
    const int32_t *labels = jn_dataset_labels(ds);
    float *x = malloc(ROWS * D * sizeof *x), *g = malloc(ROWS * D * sizeof *g), *Y = malloc(ROWS * K * sizeof *Y);
    int32_t pred[ROWS];
    unsigned char fooled[ROWS];
    jn_objective *obj = NULL;
    jn_rng *rng = NULL;
    if (!x || !g || !Y) {
        fprintf(stderr, "jacnet eval: out of memory\n");
        free(x), free(g), free(Y);
        return EXIT_RUN;
    }
    jn_status st = jn_objective_create(&obj, JN_LOSS_MSE);
    /* Every eps starts from the same seed: the random starts differ only
     * in scale, as the noise levels of eval's --noise-std. */
    if (st == JN_OK && a->pgd) st = jn_rng_create(&rng, a->seed);
    float e = (float)eps, step = (float)attack_step(a, eps);
    size_t wrong = 0;
    double loss_sum = 0.0;
    for (size_t i0 = 0; i0 < n && st == JN_OK; i0 += ROWS) {
        size_t m = n - i0 < ROWS ? n - i0 : ROWS;
        const float *x0 = X + i0 * D;
        memset(Y, 0, m * K * sizeof *Y);
        for (size_t r = 0; r < m; r++) {
            if (K == 1) Y[r] = (float)labels[i0 + r];
            else Y[r * K + (size_t)labels[i0 + r]] = 1.0f;
        }
        if (!a->pgd) {
            st = jn_net_input_gradient(net, obj, x0, Y, m, g);
            for (size_t q = 0; st == JN_OK && q < m * D; q++) x[q] = clip(x0[q] + e * sign(g[q]), a->lo, a->hi);
        } else {
            for (size_t q = 0; q < m * D; q++)
                x[q] = clip(x0[q] + e * (float)(2.0 * jn_rng_uniform(rng) - 1.0), a->lo, a->hi);
            st = jn_net_predict(net, x, m, pred);
            for (size_t r = 0; st == JN_OK && r < m; r++) fooled[r] = pred[r] != labels[i0 + r];
            for (unsigned t = 0; st == JN_OK && t < a->steps; t++) {
                if ((st = jn_net_input_gradient(net, obj, x, Y, m, g)) != JN_OK) break;
                for (size_t q = 0; q < m * D; q++) {
                    /* Into the eps ball around x0, then into the data's range. */
                    float v = x[q] + step * sign(g[q]);
                    x[q] = clip(clip(v, x0[q] - e, x0[q] + e), a->lo, a->hi);
                }
                st = jn_net_predict(net, x, m, pred);
                for (size_t r = 0; st == JN_OK && r < m; r++) fooled[r] |= pred[r] != labels[i0 + r];
            }
        }
        double mean = 0.0;
        if (st == JN_OK && !a->pgd) {
            st = jn_net_predict(net, x, m, pred);
            for (size_t r = 0; st == JN_OK && r < m; r++) fooled[r] = pred[r] != labels[i0 + r];
        }
        if (st == JN_OK) st = jn_net_objective(net, obj, x, NULL, Y, m, &mean, NULL);
        for (size_t r = 0; st == JN_OK && r < m; r++) wrong += fooled[r];
        loss_sum += mean * (double)m;
    }
    if (st == JN_OK) {
        *error = (double)wrong / (double)n;
        *loss = loss_sum / (double)n;
    } else {
        fprintf(stderr, "jacnet eval: --attack %s at eps %g: %s\n", a->kind, eps, cli_plain_error(jn_last_error()));
    }
    jn_rng_free(rng);
    jn_objective_free(obj);
    free(x);
    free(g);
    free(Y);
    return st == JN_OK ? 0 : EXIT_RUN;
}

void attack_record(json_out *j, const attack_spec *a, const double *error, const double *loss)
{
    json_key(j, "attack");
    json_open(j, '{');
    json_str(j, "kind", a->kind);
    json_str(j, "loss", "mse");
    json_num(j, "clip_min", a->lo);
    json_num(j, "clip_max", a->hi);
    if (a->pgd) {
        json_int(j, "steps", a->steps);
        json_int(j, "seed", (long long)a->seed);
    }
    json_key(j, "results");
    json_open(j, '[');
    for (int e = 0; e < a->n_eps; e++) {
        json_key(j, NULL);
        json_open(j, '{');
        json_num(j, "eps", a->eps[e]);
        if (a->pgd) json_num(j, "step_size", attack_step(a, a->eps[e]));
        json_num(j, "error", error[e]);
        json_num(j, "loss", loss[e]);
        json_close(j, '}');
    }
    json_close(j, ']');
    json_close(j, '}');
}
