/* fail.c - a rank that fails ends the whole job, with a message, instead
 * of leaving the others waiting (test (c) of issue 14). Run with 2 ranks;
 * tests/mpi/run.sh checks the exit status, the message and the time.
 *
 *   fail DIR badfile       rank 1 loads a file that does not exist: every
 *                          rank learns it through jn_mpi_agree, prints the
 *                          message and exits 1
 *   fail DIR abort         rank 1 calls abort() in the middle of training:
 *                          mpirun ends the job
 *   fail DIR objective     rank 1's objective does not fit the network, so
 *                          only it fails, at its first step, while rank 0
 *                          waits in the reduction: the step's sums tell
 *                          rank 0, and both return rank 1's failure (exit 1)
 *   fail DIR otherdata     rank 1 trains on different data: jn_mpi_train
 *                          refuses on every rank (exit 1)
 *   fail DIR diverge       the learning rate overflows: every rank returns
 *                          JN_ERR_DIVERGED at the same step (exit 0 when all
 *                          agree; no hang)
 *   fail DIR drift         rank 0's epoch callback changes one parameter
 *                          after epoch 1: the hash check after epoch 2 ends
 *                          the run with JN_ERR_DIVERGED on every rank (exit 0)
 */
#include "mpitest.h"

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

static void abort_now(int sig) { abort(); }

/* The epoch callback in "drift" mode (on every rank): rank 0 nudges one
 * parameter. */
static int nudge(const jn_epoch_report *r, void *user)
{
    if (r->epoch == 1 && world_rank() == 0) jn_net_params(user)[0] += 1e-3f;
    return 0;
}
static int drift; /* drift mode: train() installs nudge */

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    for (int i = 0; i < 40; i++) fprintf(f, "%d,%g,%g,%g\n", i % 2, 0.1 * i, 1.0 - 0.02 * i, 0.5);
    fclose(f);
}

/* Train a small net on ds for `epochs`; returns the status of jn_mpi_train. */
static jn_status train(jn_mpi *mp, const jn_dataset *ds, jn_loss loss, double lr, unsigned epochs)
{
    size_t sizes[3] = {jn_dataset_dim(ds), 32, jn_dataset_classes(ds)};
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    CHECK_OK(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID));
    CHECK_OK(jn_net_init(net, 1));
    CHECK_OK(jn_objective_create(&obj, loss));
    CHECK_OK(jn_objective_set_jacobian(obj, 0.1, 0));
    CHECK_OK(jn_optimizer_create_sgd(&opt, lr, 0.0));
    CHECK_OK(jn_trainer_create(&tr));
    CHECK_OK(jn_trainer_set_epochs(tr, epochs));
    CHECK_OK(jn_trainer_set_batch_size(tr, 8));
    if (drift) CHECK_OK(jn_trainer_set_epoch_callback(tr, nudge, net));
    jn_status st = jn_mpi_train(mp, tr, net, obj, opt, ds, NULL);
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    return st;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    CHECK(argc == 3, "usage: fail DIR badfile|abort|objective|otherdata|diverge");
    const char *mode = argv[2];
    jn_set_threads(1);
    jn_mpi *mp = NULL;
    CHECK_OK(jn_mpi_create(&mp, MPI_COMM_WORLD));
    int rank = jn_mpi_rank(mp);
    int code = 0;

    if (strcmp(mode, "badfile") == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/train.csv", argv[1]);
        if (rank == 0) write_csv(path);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 1) snprintf(path, sizeof path, "%s/missing.csv", argv[1]);
        jn_dataset *ds = NULL;
        jn_status st = jn_mpi_agree(mp, jn_dataset_load_csv(&ds, path, 0), NULL);
        if (st != JN_OK) {
            fprintf(stderr, "fail: rank %d: loading the data failed: %s\n", rank, jn_mpi_last_error());
            code = 1;
        }
        jn_dataset_free(ds);
    } else if (strcmp(mode, "abort") == 0) {
        jn_dataset *ds = synthetic(4000, 64, 4, 1);
        if (rank == 1) {
            /* 1.5 s in, well inside the (long) training run */
            signal(SIGALRM, abort_now);
            struct itimerval t = {.it_value = {.tv_sec = 1, .tv_usec = 500000}};
            setitimer(ITIMER_REAL, &t, NULL);
        }
        train(mp, ds, JN_LOSS_MSE, 0.1, 100000);
        CHECK(0, "training survived the abort of rank 1");
    } else if (strcmp(mode, "objective") == 0) {
        jn_dataset *ds = synthetic(200, 16, 4, 1);
        /* cross-entropy needs softmax outputs; the network has sigmoid ones */
        jn_status st = train(mp, ds, rank == 1 ? JN_LOSS_CE : JN_LOSS_MSE, 0.1, 100000);
        /* the step's sums carry rank 1's failure to rank 0, which would
         * otherwise wait for it in the reduction forever */
        CHECK(st == JN_ERR_INVALID, "rank 1's bad objective gave %s", jn_status_str(st));
        fprintf(stderr, "fail: rank %d: %s\n", rank, jn_mpi_last_error());
        jn_dataset_free(ds);
        code = 1;
    } else if (strcmp(mode, "otherdata") == 0) {
        jn_dataset *ds = synthetic(200, 16, 4, rank == 1 ? 2 : 1);
        jn_status st = train(mp, ds, JN_LOSS_MSE, 0.1, 3);
        CHECK(st == JN_ERR_INVALID, "different data gave %s", jn_status_str(st));
        fprintf(stderr, "fail: rank %d: %s\n", rank, jn_mpi_last_error());
        jn_dataset_free(ds);
        code = 1;
    } else if (strcmp(mode, "diverge") == 0) {
        jn_dataset *ds = synthetic(200, 16, 4, 1);
        jn_status st = train(mp, ds, JN_LOSS_MSE, 1e300, 3);
        CHECK(st == JN_ERR_DIVERGED, "an overflowing step gave %s: %s", jn_status_str(st), jn_mpi_last_error());
        CHECK(strstr(jn_mpi_last_error(), "step 0") != NULL, "%s", jn_mpi_last_error());
        if (rank == 0) printf("diverge: every rank returned: %s\n", jn_mpi_last_error());
        jn_dataset_free(ds);
    } else if (strcmp(mode, "drift") == 0) {
        jn_dataset *ds = synthetic(200, 16, 4, 1);
        drift = 1;
        jn_status st = train(mp, ds, JN_LOSS_MSE, 0.1, 5);
        CHECK(st == JN_ERR_DIVERGED, "drifted parameters gave %s: %s", jn_status_str(st), jn_mpi_last_error());
        CHECK(strstr(jn_mpi_last_error(), "differ after epoch 2") != NULL, "%s", jn_mpi_last_error());
        if (rank == 0) printf("drift: every rank returned: %s\n", jn_mpi_last_error());
        jn_dataset_free(ds);
    } else {
        CHECK(0, "unknown mode %s", mode);
    }
    jn_mpi_free(mp);
    MPI_Finalize();
    return code;
}
