/* bench_form.c - the penalty's two first-layer forms against each other
 * (docs/METHOD.md, "Gram form"): time of one jn_net_objective with value and
 * gradient for 784-H-10, batch 100, exact penalty, Xj != X, with the form
 * forced DIRECT, forced GRAM and left to AUTO, for several H, in one run.
 * Rounds alternate the forms so a slow spell of a shared machine hits all
 * three; the best time of each is printed.
 *
 *   bench_form [threads]      (default 1) */
#include <jacnet.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best seconds per call over calls made for about `budget` seconds. */
static double time_calls(jn_net *net, const jn_objective *obj, const float *X, const float *Xj, const float *Y,
                         size_t n, float *grad, double budget)
{
    double value, best = 1e30;
    jn_net_objective(net, obj, X, Xj, Y, n, &value, grad); /* warm-up: workspace, BLAS threads */
    for (double start = now(); now() - start < budget;) {
        double t0 = now();
        if (jn_net_objective(net, obj, X, Xj, Y, n, &value, grad) != JN_OK) {
            fprintf(stderr, "bench_form: %s\n", jn_last_error());
            exit(1);
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (jn_set_threads(threads) != JN_OK) {
        fprintf(stderr, "bench_form: %s\n", jn_last_error());
        return 1;
    }
    static const size_t widths[] = {250, 500, 750, 1000, 1500};
    static const jn_penalty_form forms[] = {JN_FORM_DIRECT, JN_FORM_GRAM, JN_FORM_AUTO};
    const size_t n = 100, D = 784, K = 10;
    float *X = malloc(n * D * sizeof *X), *Xj = malloc(n * D * sizeof *Xj), *Y = calloc(n * K, sizeof *Y);
    jn_rng *rng = NULL;
    jn_rng_create(&rng, 1);
    jn_rng_uniform_fill(rng, X, n * D, 0.3);
    jn_corrupt(rng, JN_NOISE_GAUSSIAN, 0.1, X, Xj, n * D);
    for (size_t i = 0; i < n; i++) Y[i * K + i % K] = 1.0f;
    printf("784-H-10, batch 100, exact penalty, Xj != X, %d thread(s); best ms per objective+gradient\n", threads);
    printf("%6s %10s %10s %10s %12s\n", "H", "direct", "gram", "auto", "direct/gram");
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        const size_t sizes[] = {D, widths[w], K};
        jn_net *net = NULL;
        jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
        jn_net_init(net, 1);
        float *grad = malloc(jn_net_param_count(net) * sizeof *grad);
        double best[3] = {1e30, 1e30, 1e30};
        for (int round = 0; round < 3; round++)
            for (int f = 0; f < 3; f++) {
                jn_objective *obj = NULL;
                jn_objective_create(&obj, JN_LOSS_MSE);
                jn_objective_set_jacobian(obj, 0.1, 0);
                jn_objective_set_penalty_form(obj, forms[f]);
                double t = time_calls(net, obj, X, Xj, Y, n, grad, 0.3);
                if (t < best[f]) best[f] = t;
                jn_objective_free(obj);
            }
        printf("%6zu %10.2f %10.2f %10.2f %12.2f\n", widths[w], 1e3 * best[0], 1e3 * best[1], 1e3 * best[2],
               best[0] / best[1]);
        free(grad);
        jn_net_free(net);
    }
    jn_rng_free(rng);
    free(X); free(Xj); free(Y);
    return 0;
}
