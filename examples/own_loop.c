/* own_loop.c - the Jacobian regularizer linked into someone else's training
 * loop. libjacnet only evaluates the objective and its gradient
 * (jn_net_objective) and draws the noise (jn_corrupt); minibatching and the
 * SGD-with-momentum update on the flat parameter vector (jn_net_params) are
 * this program's own code, as they would be in an existing trainer.
 *
 *   own_loop [--quick] [--epochs N] [--lr LR] [--momentum M] [--lambda L] [--std S] [DATA_DIR]
 *
 * DATA_DIR holds mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 * default $JACNET_DATA, else ./data. --quick trains on the first 5000
 * training digits for one epoch (for CI). Prints the test error. */
#include <jacnet.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        jn_status st_ = (call);                                                            \
        if (st_ != JN_OK) {                                                                \
            fprintf(stderr, "own_loop: %s: %s\n", jn_status_str(st_), jn_last_error());    \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int quick = 0;
    unsigned epochs = 5;
    double lr = 0.05, momentum = 0.9, lambda = 0.01, std = 0.1; /* as train_mnist */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--lr") && i + 1 < argc) lr = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--momentum") && i + 1 < argc) momentum = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--lambda") && i + 1 < argc) lambda = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--std") && i + 1 < argc) std = strtod(argv[++i], NULL);
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "usage: own_loop [--quick] [--epochs N] [--lr LR] [--momentum M] [--lambda L] [--std S]\n"
                            "                [DATA_DIR]\n");
            return 2;
        }
    }
    if (quick) epochs = 1;

    jn_dataset *train_all, *test;
    CHECK(jn_load_mnist(dir, 0, &train_all, NULL, &test)); /* dir NULL: $JACNET_DATA, else ./data */
    jn_dataset *train = train_all;
    if (quick) CHECK(jn_dataset_slice(&train, train_all, 0, 5000));
    size_t N = jn_dataset_count(train), D = jn_dataset_dim(train), K = jn_dataset_classes(train);

    const size_t sizes[] = {D, 500, K};
    jn_net *net;
    CHECK(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID));
    CHECK(jn_net_init(net, 42));
    jn_objective *obj; /* squared error + lambda ||J_F(x~)||^2, exact penalty */
    CHECK(jn_objective_create(&obj, JN_LOSS_MSE));
    CHECK(jn_objective_set_jacobian(obj, lambda, 0));
    jn_rng *rng;
    CHECK(jn_rng_create(&rng, 1));

    size_t P = jn_net_param_count(net), batch = 20;
    float *theta = jn_net_params(net); /* borrowed; our update writes through it */
    float *grad = malloc(P * sizeof *grad), *velocity = calloc(P, sizeof *velocity);
    float *X = malloc(batch * D * sizeof *X), *Xj = malloc(batch * D * sizeof *Xj);
    float *Y = malloc(batch * K * sizeof *Y);
    size_t *perm = malloc(N * sizeof *perm);
    if (!grad || !velocity || !X || !Xj || !Y || !perm) {
        fprintf(stderr, "own_loop: out of memory\n");
        return 1;
    }

    for (unsigned epoch = 1; epoch <= epochs; epoch++) {
        CHECK(jn_dataset_shuffle(train, rng, perm));
        double sum = 0.0;
        size_t batches = 0;
        for (size_t start = 0; start < N; start += batch, batches++) {
            size_t m = N - start < batch ? N - start : batch;
            CHECK(jn_dataset_gather(train, perm + start, m, X));
            CHECK(jn_dataset_onehot(train, perm + start, m, Y));
            /* x~ = x + N(0, std^2) for the Jacobian term; the loss sees clean x */
            CHECK(jn_corrupt(rng, JN_NOISE_GAUSSIAN, std, X, Xj, m * D));
            double value;
            CHECK(jn_net_objective(net, obj, X, Xj, Y, m, &value, grad));
            sum += value;
            /* our own update: v = momentum v - lr g; theta += v */
            for (size_t p = 0; p < P; p++) {
                velocity[p] = (float)(momentum * velocity[p] - lr * grad[p]);
                theta[p] += velocity[p];
            }
        }
        double err;
        CHECK(jn_net_error_rate(net, test, &err));
        printf("epoch %u: mean objective %.5f, test error %.2f%%\n", epoch, sum / (double)batches, 100.0 * err);
    }
    /* we own the finiteness of what we wrote through jn_net_params */
    for (size_t p = 0; p < P; p++)
        if (!isfinite(theta[p])) {
            fprintf(stderr, "own_loop: training diverged\n");
            return 1;
        }
    double err;
    CHECK(jn_net_error_rate(net, test, &err));
    printf("test error: %.2f%% (%zu training digits, %u epoch%s, lambda %g, std %g)\n", 100.0 * err, N, epochs,
           epochs == 1 ? "" : "s", lambda, std);

    free(perm); free(Y); free(Xj); free(X); free(velocity); free(grad);
    jn_rng_free(rng);
    jn_objective_free(obj);
    jn_net_free(net);
    if (train != train_all) jn_dataset_free(train);
    jn_dataset_free(train_all);
    jn_dataset_free(test);
    return 0;
}
