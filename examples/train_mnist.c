/* train_mnist.c - the main job: train one of the report's models on MNIST
 * and print the test error.
 *
 *   train_mnist [--data DIR] [--model mlp|l2|noise|jacobian|nj|nj-both]
 *               [--hidden H[,H2...]] [--epochs N] [--lr LR] [--momentum M]
 *               [--lambda L] [--std S] [--projections K] [--batch B]
 *               [--seed S] [--threads T] [--binarize] [--save FILE]
 *
 * The data directory is --data, else $JACNET_DATA, else ./data; it holds
 * mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (`make data`). */
#include <jacnet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct options {
    const char *data, *save;
    const char *model;
    size_t hidden[8], n_hidden, batch;
    unsigned epochs, projections, binarize, threads;
    double lr, momentum, lambda, std;
    uint64_t seed;
} options;

static void usage(void)
{
    fprintf(stderr, "usage: train_mnist [--data DIR] [--model mlp|l2|noise|jacobian|nj|nj-both] [--hidden H[,H2..]]\n"
                    "                   [--epochs N] [--lr LR] [--momentum M] [--lambda L] [--std S]\n"
                    "                   [--projections K] [--batch B] [--seed S] [--threads T] [--binarize]\n"
                    "                   [--save FILE]\n");
    exit(2);
}

static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--binarize")) { o->binarize = 1; continue; }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--epochs")) o->epochs = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--lr")) o->lr = strtod(v, NULL);
        else if (!strcmp(a, "--momentum")) o->momentum = strtod(v, NULL);
        else if (!strcmp(a, "--lambda")) o->lambda = strtod(v, NULL);
        else if (!strcmp(a, "--std")) o->std = strtod(v, NULL);
        else if (!strcmp(a, "--projections")) o->projections = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--batch")) o->batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--threads")) o->threads = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--hidden")) {
            o->n_hidden = 0;
            for (char *s = (char *)v; *s && o->n_hidden < 8; s += *s == ',') o->hidden[o->n_hidden++] = strtoul(s, &s, 10);
        } else usage();
    }
    return 0;
}

/* The presets' names are the library's, as in the jacnet tool. */
static jn_model model_of(const char *name)
{
    jn_model m = JN_MODEL_MLP;
    if (jn_model_from_name(name, &m) != JN_OK) {
        fprintf(stderr, "%s\n", jn_last_error());
        usage();
    }
    return m;
}

/* A progress bar on a terminal; nothing when stderr is a file or pipe. */
static int on_batch(unsigned epoch, size_t done, size_t total, void *user)
{
    (void)user;
    if (done % 10 != 0 && done != total) return 0;
    int width = 40, filled = (int)(width * done / total);
    fprintf(stderr, "\repoch %3u [%.*s%*s] %zu/%zu", epoch, filled, "########################################",
            width - filled, "", done, total);
    if (done == total) fprintf(stderr, "\r%*s\r", width + 30, "");
    return 0;
}

static int on_epoch(const jn_epoch_report *r, void *user)
{
    (void)user;
    printf("epoch %3u  objective %.5f  valid error %6.2f%%  (best %6.2f%% at %u)  lr %.4g  %.1f s\n", r->epoch,
           r->train_objective, 100.0 * r->valid_error, 100.0 * r->best_valid_error, r->best_epoch, r->lr, r->seconds);
    fflush(stdout);
    return 0;
}

#define TRY(call)                                                                    \
    do {                                                                             \
        jn_status st_ = (call);                                                      \
        if (st_ != JN_OK) {                                                          \
            fprintf(stderr, "error: %s: %s\n", jn_status_str(st_), jn_last_error()); \
            goto done;                                                               \
        }                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    /* The library's training recipe (jn_default_value), shortened to 5
     * epochs of a 500-wide net so that make demo takes about a minute. */
    options o = {.model = "nj", .hidden = {500}, .n_hidden = 1, .epochs = 5, .lambda = 0.01, .seed = 1,
                 .batch = (size_t)jn_default_value(JN_DEFAULT_BATCH), .lr = jn_default_value(JN_DEFAULT_LR),
                 .momentum = jn_default_value(JN_DEFAULT_MOMENTUM), .std = jn_default_value(JN_DEFAULT_NOISE_STD)};
    parse(argc, argv, &o);
    jn_dataset *train = NULL, *valid = NULL, *test = NULL;
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    int rc = 1;

    if (o.threads) TRY(jn_set_threads((int)o.threads));
    TRY(jn_load_mnist(o.data, o.binarize ? JN_LOAD_BINARIZE : 0, &train, &valid, &test));
    size_t sizes[10] = {jn_dataset_dim(train)};
    for (size_t i = 0; i < o.n_hidden; i++) sizes[1 + i] = o.hidden[i];
    sizes[1 + o.n_hidden] = jn_dataset_classes(train);
    TRY(jn_net_create(&net, sizes, o.n_hidden + 2, JN_ACT_TANH, JN_ACT_SIGMOID));
    TRY(jn_net_init(net, o.seed));
    TRY(jn_objective_create_model(&obj, model_of(o.model), o.lambda, o.std));
    if (o.projections) TRY(jn_objective_set_jacobian(obj, o.lambda, o.projections));
    TRY(jn_optimizer_create_sgd(&opt, o.lr, o.momentum));
    TRY(jn_trainer_create(&tr));
    TRY(jn_trainer_set_epochs(tr, o.epochs));
    TRY(jn_trainer_set_batch_size(tr, o.batch));
    TRY(jn_trainer_set_seed(tr, o.seed));
    TRY(jn_trainer_set_epoch_callback(tr, on_epoch, NULL));
    if (isatty(STDERR_FILENO)) TRY(jn_trainer_set_batch_callback(tr, on_batch, NULL));

    printf("MNIST %zu train / %zu valid / %zu test, network", jn_dataset_count(train), jn_dataset_count(valid),
           jn_dataset_count(test));
    for (size_t i = 0; i < o.n_hidden + 2; i++) printf("%s%zu", i ? "-" : " ", sizes[i]);
    printf(", model %s, lambda %g, noise std %g, lr %g, momentum %g, %u epochs\n", o.model, o.lambda, o.std, o.lr,
           o.momentum, o.epochs);
    TRY(jn_trainer_run(tr, net, obj, opt, train, valid));
    double err;
    TRY(jn_net_error_rate(net, test, &err));
    printf("test error: %.2f%%\n", 100.0 * err);
    if (o.save) TRY(jn_net_save(net, o.save));
    rc = 0;
done:
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    jn_dataset_free(test);
    return rc;
}
