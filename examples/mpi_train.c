/* mpi_train.c - data-parallel training on MPI with libjacnet_mpi: every
 * rank loads the same data, each takes its share of every minibatch and of
 * the validation set, the sums go through MPI_Allreduce, every rank's
 * trainer decides early stopping alike; rank 0 prints and saves.
 *
 *   mpirun -np 2 mpi_train [--data DIR | --synthetic] [--hidden H] [--epochs N]
 *                          [--batch B] [--lr LR] [--lambda L] [--std S]
 *                          [--projections K] [--patience P] [--seed S]
 *                          [--threads T] [--save FILE] [--quick]
 *
 * Data: USPS from --data DIR, else $JACNET_DATA, else ./data
 * (usps/zip.{train,test}.gz); --synthetic, or no USPS found, trains on a
 * synthetic 256-dimensional problem instead. --quick: 2 epochs. Each rank
 * uses --threads BLAS threads (default 1: ranks are the parallelism). */
#include <jacnet_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct options {
    const char *data, *save;
    size_t hidden, batch;
    unsigned epochs, projections, patience, threads, synthetic;
    double lr, lambda, std;
    uint64_t seed;
} options;

static void usage(int rank)
{
    if (rank == 0)
        fprintf(stderr, "usage: mpi_train [--data DIR | --synthetic] [--hidden H] [--epochs N] [--batch B]\n"
                        "                 [--lr LR] [--lambda L] [--std S] [--projections K] [--patience P]\n"
                        "                 [--seed S] [--threads T] [--save FILE] [--quick]\n");
    MPI_Finalize();
    exit(2);
}

static void parse(int argc, char **argv, options *o, int rank)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--synthetic")) { o->synthetic = 1; continue; }
        if (!strcmp(a, "--quick")) { o->epochs = 2; continue; }
        if (!v) usage(rank);
        i++;
        char *end;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--hidden")) o->hidden = strtoul(v, &end, 10);
        else if (!strcmp(a, "--epochs")) o->epochs = (unsigned)strtoul(v, &end, 10);
        else if (!strcmp(a, "--batch")) o->batch = strtoul(v, &end, 10);
        else if (!strcmp(a, "--lr")) o->lr = strtod(v, &end);
        else if (!strcmp(a, "--lambda")) o->lambda = strtod(v, &end);
        else if (!strcmp(a, "--std")) o->std = strtod(v, &end);
        else if (!strcmp(a, "--projections")) o->projections = (unsigned)strtoul(v, &end, 10);
        else if (!strcmp(a, "--patience")) o->patience = (unsigned)strtoul(v, &end, 10);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, &end, 10);
        else if (!strcmp(a, "--threads")) o->threads = (unsigned)strtoul(v, &end, 10);
        else usage(rank);
        if (strcmp(a, "--data") && strcmp(a, "--save") && *end) usage(rank);
    }
}

/* 256 features in [-1, 1]; the class is the 25-feature block (of 10) with
 * the largest sum: stands in for USPS when it is not there. */
static jn_status synthetic(jn_dataset **out, size_t count, unsigned seed)
{
    float *X = malloc(count * 256 * sizeof *X);
    int32_t *y = malloc(count * sizeof *y);
    if (!X || !y) {
        free(X);
        free(y);
        return JN_ERR_NOMEM;
    }
    unsigned long long s = seed * 6364136223846793005ULL + 1;
    for (size_t i = 0; i < count; i++) {
        float *x = X + i * 256;
        double best = -1e300;
        for (size_t j = 0; j < 256; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (float)((s >> 40) * (2.0 / 16777216.0) - 1.0);
        }
        for (int32_t k = 0; k < 10; k++) {
            double sum = 0.0;
            for (size_t j = 0; j < 25; j++) sum += x[25 * (size_t)k + j];
            if (sum > best) {
                best = sum;
                y[i] = k;
            }
        }
    }
    jn_status st = jn_dataset_create(out, X, y, count, 256, 10, 0);
    free(X);
    free(y);
    return st;
}

/* Network, objective, optimizer and trainer: the same on every rank. */
static jn_status setup(const options *o, const size_t *sizes, jn_net **net, jn_objective **obj, jn_optimizer **opt,
                       jn_trainer **tr)
{
    jn_status st = jn_net_create(net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    if (st == JN_OK) st = jn_net_init(*net, o->seed); /* rank 0's is broadcast */
    if (st == JN_OK) st = jn_objective_create_model(obj, JN_MODEL_MLP_NJ, o->lambda, o->std);
    if (st == JN_OK) st = jn_objective_set_jacobian(*obj, o->lambda, o->projections);
    if (st == JN_OK) st = jn_optimizer_create_sgd(opt, o->lr, 0.9);
    if (st == JN_OK) st = jn_trainer_create(tr);
    if (st == JN_OK) st = jn_trainer_set_epochs(*tr, o->epochs);
    if (st == JN_OK) st = jn_trainer_set_batch_size(*tr, o->batch); /* global: split over the ranks */
    if (st == JN_OK) st = jn_trainer_set_seed(*tr, o->seed);
    if (st == JN_OK) st = jn_trainer_set_patience(*tr, o->patience);
    return st;
}

/* Called on every rank, with the same report: rank 0 prints it. */
static int on_epoch(const jn_epoch_report *r, void *user)
{
    if (*(const int *)user != 0) return 0;
    printf("epoch %3u  objective %.5f  valid error %6.2f%%  (best %6.2f%% at %u)  %.2f s\n", r->epoch,
           r->train_objective, 100.0 * r->valid_error, 100.0 * r->best_valid_error, r->best_epoch, r->seconds);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int world_rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    options o = {.hidden = 100, .batch = 100, .epochs = 10, .lr = 0.1, .lambda = 0.05, .std = 0.1, .patience = 5,
                 .threads = 1, .seed = 1};
    parse(argc, argv, &o, world_rank);

    jn_mpi *mp = NULL;
    jn_dataset *train = NULL, *valid = NULL, *test = NULL;
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    int rc = 1;
    jn_status st = jn_mpi_create(&mp, MPI_COMM_WORLD);
    if (st != JN_OK) {
        fprintf(stderr, "mpi_train: %s\n", jn_mpi_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int rank = jn_mpi_rank(mp);

    /* Every rank loads the data; all agree on the outcome before going on,
     * so one rank's missing file stops every rank with its message. */
    const char *source = "USPS";
    st = o.synthetic ? JN_ERR_IO : jn_load_usps(o.data, &train, &valid, &test);
    if (st != JN_OK && !o.data) {
        /* no USPS here and none asked for: the synthetic stand-in */
        source = "synthetic";
        jn_dataset_free(train);
        jn_dataset_free(valid);
        jn_dataset_free(test);
        train = valid = test = NULL;
        st = synthetic(&train, 5000, 1);
        if (st == JN_OK) st = synthetic(&valid, 1000, 2);
        if (st == JN_OK) st = synthetic(&test, 1000, 3);
    }
    if (st == JN_OK) st = jn_set_threads((int)o.threads);
    if ((st = jn_mpi_agree(mp, st, NULL)) != JN_OK) goto fail;

    size_t sizes[3] = {jn_dataset_dim(train), o.hidden, jn_dataset_classes(train)};
    st = setup(&o, sizes, &net, &obj, &opt, &tr);
    /* a local failure (a bad option on one rank) must not leave the others waiting */
    if ((st = jn_mpi_agree(mp, st, NULL)) != JN_OK) goto fail;
    jn_trainer_set_epoch_callback(tr, on_epoch, &rank);

    if (rank == 0)
        printf("%s: %zu train / %zu valid / %zu test, network %zu-%zu-%zu, MLP+NJ lambda %g std %g%s, "
               "global batch %zu over %d ranks (%zu rows each)\n", source, jn_dataset_count(train),
               jn_dataset_count(valid), jn_dataset_count(test), sizes[0], sizes[1], sizes[2], o.lambda, o.std,
               o.projections ? " (projected)" : "", o.batch, jn_mpi_size(mp),
               o.batch / (size_t)jn_mpi_size(mp));
    st = jn_mpi_train(mp, tr, net, obj, opt, train, valid);
    if (st != JN_OK) goto fail;
    if (rank == 0) {
        double err = 0.0;
        st = jn_net_error_rate(net, test, &err);
        if (st == JN_OK) printf("test error: %.2f%%\n", 100.0 * err);
        /* models and checkpoints: rank 0 alone writes (every rank holds the same parameters) */
        if (st == JN_OK && o.save) st = jn_net_save(net, o.save);
        if (st != JN_OK) {
            fprintf(stderr, "mpi_train: %s: %s\n", jn_status_str(st), jn_last_error());
            goto done;
        }
    }
    rc = 0;
    goto done;
fail: /* every rank gets here alike, after an agreement or a collective call */
    if (rank == 0) fprintf(stderr, "mpi_train: %s: %s\n", jn_status_str(st), jn_mpi_last_error());
done:
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    jn_dataset_free(test);
    jn_mpi_free(mp);
    MPI_Finalize();
    return rc;
}
