/* sweep.c - parallel sweeps give the serial sweep's records (test (b) of
 * issue 14). A grid of 4 points (2 widths x 2 Jacobian weights), each a
 * short training run whose record holds its final objective, validation
 * error and a hash of its parameters' bits.
 *
 *   sweep OUT serial       one process trains the points in order
 *   sweep OUT mpi          jn_mpi_sweep over the job's ranks
 *   sweep OUT resume       jn_mpi_sweep with points 0 and 2 marked done
 *   sweep OUT fail         point 2 fails; the others are still recorded
 *   sweep OUT slow0        as mpi, but rank 0 sleeps 0.3 s before each of
 *                          its points, so that the others' records arrive
 *                          while it trains (they must be counted once)
 *
 * Rank 0 writes the records it gets, sorted by point, one a line, to OUT;
 * tests/mpi/run.sh compares the files. Each rank also counts the points it
 * trained: rank 0 checks the round-robin deal (the j-th remaining point on
 * rank j % size). */
#include "mpitest.h"

#include <time.h>

#define POINTS 4

static const size_t widths[2] = {6, 12};
static const double lambdas[2] = {0.0, 0.1};

typedef struct sweep_data {
    const jn_dataset *train, *valid;
    int fail_point; /* -1: none */
    int slow;       /* sleep before each point */
    int trained;    /* points this rank trained */
} sweep_data;

static jn_status train_point(size_t index, char *record, size_t cap, void *user)
{
    sweep_data *d = user;
    d->trained++;
    if (d->slow) {
        struct timespec pause = {0, 300000000};
        nanosleep(&pause, NULL);
    }
    if ((int)index == d->fail_point) {
        snprintf(record, cap, "planted failure at point %zu", index);
        return JN_ERR_IO;
    }
    size_t hidden = widths[index / 2];
    double lambda = lambdas[index % 2];
    size_t sizes[3] = {8, hidden, 3};
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    CHECK_OK(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID));
    CHECK_OK(jn_net_init(net, 3));
    CHECK_OK(jn_objective_create_model(&obj, JN_MODEL_MLP_NJ, lambda, 0.1));
    CHECK_OK(jn_optimizer_create_sgd(&opt, 0.3, 0.5));
    CHECK_OK(jn_trainer_create(&tr));
    CHECK_OK(jn_trainer_set_epochs(tr, 5));
    CHECK_OK(jn_trainer_set_batch_size(tr, 16));
    CHECK_OK(jn_trainer_set_seed(tr, 21 + index));
    CHECK_OK(jn_trainer_run(tr, net, obj, opt, d->train, d->valid));
    double err = -1.0, value = 0.0;
    CHECK_OK(jn_net_error_rate(net, d->valid, &err));
    float *X = malloc(jn_dataset_count(d->train) * 8 * sizeof *X);
    float *Y = malloc(jn_dataset_count(d->train) * 3 * sizeof *Y);
    CHECK_OK(jn_dataset_gather(d->train, NULL, jn_dataset_count(d->train), X));
    CHECK_OK(jn_dataset_onehot(d->train, NULL, jn_dataset_count(d->train), Y));
    CHECK_OK(jn_net_objective(net, obj, X, NULL, Y, jn_dataset_count(d->train), &value, NULL));
    snprintf(record, cap, "point=%zu hidden=%zu lambda=%g objective=%.9g valid_error=%.6f params=%016llx", index,
             hidden, lambda, value, err, params_fnv(net));
    free(X);
    free(Y);
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    return JN_OK;
}

typedef struct collected {
    char text[POINTS][512];
    jn_status status[POINTS];
    int seen[POINTS];
} collected;

static jn_status keep_record(size_t index, jn_status status, const char *record, void *user)
{
    collected *c = user;
    CHECK(index < POINTS && !c->seen[index], "point %zu delivered twice or out of range", index);
    c->seen[index] = 1;
    c->status[index] = status;
    snprintf(c->text[index], sizeof c->text[index], "%s", record);
    return JN_OK;
}

static void write_records(const char *path, const collected *c)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    for (int i = 0; i < POINTS; i++)
        if (c->seen[i]) fprintf(f, "%s%s\n", c->status[i] == JN_OK ? "" : "FAILED ", c->text[i]);
    fclose(f);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    CHECK(argc == 3, "usage: sweep OUT serial|mpi|resume|fail|slow0");
    const char *mode = argv[2];
    jn_set_threads(1);
    jn_dataset *train = synthetic(150, 8, 3, 5), *valid = synthetic(60, 8, 3, 6);
    sweep_data d = {.train = train, .valid = valid, .fail_point = strcmp(mode, "fail") == 0 ? 2 : -1};
    collected c = {0};
    int rank = world_rank(), size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    d.slow = strcmp(mode, "slow0") == 0 && rank == 0;

    if (strcmp(mode, "serial") == 0) {
        CHECK(size == 1, "serial mode runs on one process");
        char *record = malloc(JN_MPI_RECORD_MAX);
        for (size_t i = 0; i < POINTS; i++) {
            jn_status st = train_point(i, record, JN_MPI_RECORD_MAX, &d);
            keep_record(i, st, record, &c);
        }
        free(record);
    } else {
        jn_mpi *mp = NULL;
        CHECK_OK(jn_mpi_create(&mp, MPI_COMM_WORLD));
        unsigned char done[POINTS] = {0};
        if (strcmp(mode, "resume") == 0) done[0] = done[2] = 1;
        jn_status st = jn_mpi_sweep(mp, POINTS, rank == 0 ? done : NULL, train_point, &d,
                                    rank == 0 ? keep_record : NULL, &c);
        if (d.fail_point >= 0) {
            CHECK(st == JN_ERR_IO, "a failed point gave %s", jn_status_str(st));
            CHECK(strstr(jn_mpi_last_error(), "point 2 failed: planted failure") != NULL, "message: %s",
                  jn_mpi_last_error());
        } else {
            CHECK(st == JN_OK, "%s", jn_mpi_last_error());
        }
        /* the deal: the j-th remaining point to rank j % size */
        int remaining = strcmp(mode, "resume") == 0 ? 2 : POINTS;
        int expect = remaining / size + (rank < remaining % size);
        int all_ok = 0, ok = d.trained == expect;
        MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        CHECK(all_ok, "rank %d trained %d points, expected %d", rank, d.trained, expect);
        jn_mpi_free(mp);
    }
    if (rank == 0) write_records(argv[1], &c);
    jn_dataset_free(train);
    jn_dataset_free(valid);
    MPI_Finalize();
    return 0;
}
