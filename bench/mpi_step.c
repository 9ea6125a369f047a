/* mpi_step.c - time data-parallel training steps (docs/SCALING.md).
 *
 *   mpirun -np R mpi_step [--sizes 784,1000,10] [--batch B] [--steps S]
 *                         [--projections K] [--rounds N]
 *
 * Trains one epoch of S global minibatches of B synthetic examples
 * (MLP+NJ: noise on the Jacobian's input, so Xj != X, as the report's
 * models) with jn_mpi_train, N times, and prints on rank 0 the best
 * milliseconds per step and per step-equivalent of an MNIST epoch (50000
 * examples), then times MPI_Allreduce of the P-float gradient alone (the
 * communication part of a step). Threads per rank: JACNET_THREADS. */
#include <jacnet_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, jn_status st)
{
    fprintf(stderr, "mpi_step: %s: %s: %s / %s\n", what, jn_status_str(st), jn_last_error(), jn_mpi_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}
#define TRY(call)                                 \
    do {                                          \
        jn_status st_ = (call);                   \
        if (st_ != JN_OK) die(#call, st_);        \
    } while (0)

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    size_t sizes[8] = {784, 1000, 10}, n_sizes = 3, batch = 100, steps = 20;
    unsigned projections = 0, rounds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--sizes")) {
            n_sizes = 0;
            for (char *s = (char *)v; *s && n_sizes < 8; s += *s == ',') sizes[n_sizes++] = strtoul(s, &s, 10);
        } else if (!strcmp(a, "--batch")) batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--steps")) steps = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--projections")) projections = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--rounds")) rounds = (unsigned)strtoul(v, NULL, 10);
        else die("unknown option", JN_ERR_INVALID);
    }
    jn_mpi *mp = NULL;
    TRY(jn_mpi_create(&mp, MPI_COMM_WORLD));
    size_t D = sizes[0], K = sizes[n_sizes - 1], count = batch * steps;
    float *X = malloc(count * D * sizeof *X);
    int32_t *y = malloc(count * sizeof *y);
    unsigned long long s = 1;
    for (size_t i = 0; i < count * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = (float)((s >> 40) * (1.0 / 16777216.0));
    }
    for (size_t i = 0; i < count; i++) y[i] = (int32_t)(i % K);
    jn_dataset *train = NULL;
    TRY(jn_dataset_create(&train, X, y, count, D, K, 0));
    free(X);
    free(y);
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    TRY(jn_net_create(&net, sizes, n_sizes, JN_ACT_TANH, JN_ACT_SIGMOID));
    TRY(jn_net_init(net, 1));
    TRY(jn_objective_create_model(&obj, JN_MODEL_MLP_NJ, 0.01, 0.1));
    TRY(jn_objective_set_jacobian(obj, 0.01, projections));
    TRY(jn_optimizer_create_sgd(&opt, 0.01, 0.9));
    TRY(jn_trainer_create(&tr));
    TRY(jn_trainer_set_epochs(tr, 1));
    TRY(jn_trainer_set_batch_size(tr, batch));

    /* Wall time (the slowest rank's) and CPU time of the busiest rank, best
     * of the rounds: on a shared machine the minimum is the least disturbed
     * round. CPU time includes MPI's busy-waiting in the reductions. */
    double best = 1e300, best_cpu = 1e300;
    for (unsigned r = 0; r < rounds; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime(), c0 = cpu_seconds();
        TRY(jn_mpi_train(mp, tr, net, obj, opt, train, NULL));
        double tc[2] = {MPI_Wtime() - t0, cpu_seconds() - c0};
        MPI_Allreduce(MPI_IN_PLACE, tc, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (tc[0] < best) best = tc[0];
        if (tc[1] < best_cpu) best_cpu = tc[1];
    }
    /* The communication alone: the gradient's allreduce, as the hook does it. */
    size_t P = jn_net_param_count(net);
    float *g = calloc(P, sizeof *g);
    double comm = 1e300;
    for (int r = 0; r < 10; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, g, (int)P, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t = MPI_Wtime() - t0;
        if (t < comm) comm = t;
    }
    if (jn_mpi_rank(mp) == 0) {
        char shape[64] = "";
        for (size_t l = 0; l < n_sizes; l++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%zu", l ? "-" : "", sizes[l]);
        printf("%-17s %-5s batch %4zu ranks %d P %8zu  wall ms/step %7.1f  cpu ms/step %7.1f  "
               "MNIST epoch s %6.1f  allreduce ms %5.2f\n", shape, projections ? "proj" : "exact", batch,
               jn_mpi_size(mp), P, 1e3 * best / (double)steps, 1e3 * best_cpu / (double)steps,
               best / (double)steps * 50000.0 / (double)batch, 1e3 * comm);
    }
    free(g);
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    jn_dataset_free(train);
    jn_mpi_free(mp);
    MPI_Finalize();
    return 0;
}
