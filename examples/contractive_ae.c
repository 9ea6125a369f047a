/* contractive_ae.c - a one-hidden-layer auto-encoder on MNIST trained with
 * libjacnet's Jacobian penalty: targets = inputs (a dataset with float
 * targets, jn_dataset_create_targets), sigmoid hidden and output units,
 * squared error + lambda ||J_F(x)||_F^2.
 *
 *   contractive_ae [--quick] [--data DIR] [--train N] [--test N] [--hidden H]
 *                  [--epochs E] [--lambda L] [--projections K] [--lr LR]
 *                  [--momentum M] [--batch B] [--seed S]
 *
 * DIR holds mnist/ (default $JACNET_DATA, else ./data). The penalty is on the
 * Jacobian of the whole reconstruction x -> F(x), a 784 x 784 matrix per
 * digit, estimated from K random projections per example (default 16;
 * --projections 0 is exact and about 50 times slower). Rifai et al.'s
 * contractive auto-encoder penalises the encoder's Jacobian dh/dx instead
 * (docs/METHOD.md, "Float targets"). The trainer validates on the test
 * slice's mean reconstruction loss (no error rate without classes).
 *
 * Prints the reconstruction loss (sum of squares per digit) and the mean
 * ||J_F(x)||^2 on the test slice before and after training; exits 1 unless
 * training lowered the reconstruction loss. --quick (CI): 1000 training
 * and 200 test digits, 1 epoch, 32 hidden units. */
#include <jacnet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(call)                                                                          \
    do {                                                                                   \
        jn_status st_ = (call);                                                            \
        if (st_ != JN_OK) {                                                                \
            fprintf(stderr, "contractive_ae: %s: %s\n", jn_status_str(st_), jn_last_error()); \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

typedef struct options {
    const char *data;
    size_t train, test, hidden, batch;
    unsigned epochs, projections;
    double lambda, lr, momentum;
    unsigned long seed;
} options;

static void usage(void)
{
    fprintf(stderr, "usage: contractive_ae [--quick] [--data DIR] [--train N] [--test N] [--hidden H] [--epochs E]\n"
                    "                      [--lambda L] [--projections K] [--lr LR] [--momentum M] [--batch B]\n"
                    "                      [--seed S]\n");
    exit(2);
}

static double number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        fprintf(stderr, "contractive_ae: '%s' is not a number\n", s);
        exit(2);
    }
    return v;
}

static void parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick")) {
            o->train = 1000;
            o->test = 200;
            o->epochs = 1;
            o->hidden = 32;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--train")) o->train = (size_t)number(v);
        else if (!strcmp(a, "--test")) o->test = (size_t)number(v);
        else if (!strcmp(a, "--hidden")) o->hidden = (size_t)number(v);
        else if (!strcmp(a, "--epochs")) o->epochs = (unsigned)number(v);
        else if (!strcmp(a, "--lambda")) o->lambda = number(v);
        else if (!strcmp(a, "--projections")) o->projections = (unsigned)number(v);
        else if (!strcmp(a, "--lr")) o->lr = number(v);
        else if (!strcmp(a, "--momentum")) o->momentum = number(v);
        else if (!strcmp(a, "--batch")) o->batch = (size_t)number(v);
        else if (!strcmp(a, "--seed")) o->seed = (unsigned long)number(v);
        else usage();
    }
}

/* A targets dataset whose targets are its own features, borrowing both from
 * the first n examples of ds. */
static jn_dataset *autoencoding(const jn_dataset *ds, size_t n)
{
    if (n > jn_dataset_count(ds)) n = jn_dataset_count(ds);
    const float *X = jn_dataset_features(ds);
    size_t D = jn_dataset_dim(ds);
    jn_dataset *out;
    TRY(jn_dataset_create_targets(&out, X, X, n, D, D, JN_DATASET_BORROW));
    return out;
}

/* Mean ||J_F(x)||^2 (exact) over the first n rows of ds. */
static double mean_jacobian_sqnorm(jn_net *net, const jn_dataset *ds, size_t n)
{
    float *sq = malloc(n * sizeof *sq);
    if (!sq) exit(1);
    TRY(jn_net_jacobian_sqnorm(net, jn_dataset_features(ds), n, sq));
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += sq[i];
    free(sq);
    return sum / (double)n;
}

static int on_epoch(const jn_epoch_report *r, void *user)
{
    (void)user;
    printf("epoch %2u  objective %.4f  test reconstruction loss %.4f  %.1f s\n", r->epoch, r->train_objective,
           r->valid_error, r->seconds);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    options o = {.train = 10000, .test = 2000, .hidden = 200, .batch = 20, .epochs = 10, .projections = 16,
                 .lambda = 0.1, .lr = 0.05, .momentum = 0.9, .seed = 1};
    parse(argc, argv, &o);

    jn_dataset *mnist_train, *mnist_test;
    TRY(jn_load_mnist(o.data, 0, &mnist_train, NULL, &mnist_test));
    jn_dataset *train = autoencoding(mnist_train, o.train), *test = autoencoding(mnist_test, o.test);
    size_t D = jn_dataset_dim(train), n_probe = jn_dataset_count(test) < 100 ? jn_dataset_count(test) : 100;

    const size_t sizes[] = {D, o.hidden, D};
    jn_net *net;
    TRY(jn_net_create(&net, sizes, 3, JN_ACT_SIGMOID, JN_ACT_SIGMOID));
    TRY(jn_net_init(net, o.seed));
    jn_objective *obj;
    TRY(jn_objective_create(&obj, JN_LOSS_MSE));
    TRY(jn_objective_set_jacobian(obj, o.lambda, o.projections));
    jn_optimizer *opt;
    TRY(jn_optimizer_create_sgd(&opt, o.lr, o.momentum));
    jn_trainer *tr;
    TRY(jn_trainer_create(&tr));
    TRY(jn_trainer_set_epochs(tr, o.epochs));
    TRY(jn_trainer_set_batch_size(tr, o.batch));
    TRY(jn_trainer_set_seed(tr, o.seed));
    TRY(jn_trainer_set_epoch_callback(tr, on_epoch, NULL));

    double loss0, loss1;
    TRY(jn_net_mean_loss(net, obj, test, &loss0));
    double jac0 = mean_jacobian_sqnorm(net, test, n_probe);
    printf("%zu-%zu-%zu sigmoid auto-encoder, lambda %g (%u projections), %zu training and %zu test digits\n", D,
           o.hidden, D, o.lambda, o.projections, jn_dataset_count(train), jn_dataset_count(test));
    printf("before: test reconstruction loss %.4f, mean ||J_F||^2 %.3f\n", loss0, jac0);
    TRY(jn_trainer_run(tr, net, obj, opt, train, test));
    TRY(jn_net_mean_loss(net, obj, test, &loss1));
    double jac1 = mean_jacobian_sqnorm(net, test, n_probe);
    printf("after:  test reconstruction loss %.4f, mean ||J_F||^2 %.3f (on %zu test digits)\n", loss1, jac1,
           n_probe);

    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_dataset_free(test);
    jn_dataset_free(train);
    jn_dataset_free(mnist_test);
    jn_dataset_free(mnist_train);
    if (!(loss1 < loss0)) {
        fprintf(stderr, "contractive_ae: the reconstruction loss did not fall (%.4f -> %.4f)\n", loss0, loss1);
        return 1;
    }
    return 0;
}
