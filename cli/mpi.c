/* mpi.c - `jacnet train --mpi` and `jacnet sweep --mpi` under mpirun, on
 * libjacnet_mpi (jacnet_mpi.h, docs/SCALING.md). Compiled with MPI only in
 * builds with JACNET_WITH_MPI (mk/cli.mk); otherwise it only refuses --mpi.
 *
 * Every rank runs the same command line, so options, grids and usage errors
 * are the same everywhere; whatever a rank may see alone (a file it cannot
 * read, memory) is agreed on before the ranks depend on each other. Rank 0
 * prints and writes the files. The other ranks' output goes to /dev/null,
 * except their stderr while jn_mpi_train or jn_mpi_sweep runs: a failure
 * there that only one rank sees ends the job with that rank's message. */
#include "cli.h"

#include <string.h>

/* Is --mpi among the arguments? (Before parsing: MPI must start first so
 * that only rank 0 reports usage errors.) */
static int wants_mpi(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--mpi")) return 1;
    return 0;
}

#ifndef JACNET_WITH_MPI

int mpi_start(const char *command, int argc, char **argv)
{
    if (!wants_mpi(argc, argv)) return 0;
    fprintf(stderr, "jacnet %s: this jacnet was built without MPI (make MPI=1)\n", command);
    return EXIT_USAGE;
}

int mpi_rank(void) { return 0; }
const char *cli_error(jn_status st) { (void)st; return jn_last_error(); }
int mpi_agree_load(const char *command, int rc, data_sets *data) { return rc; }
void mpi_train_config(train_config *c) {}
int mpi_train_finish(int rc) { return rc; }

jn_status mpi_train(const train_config *c, jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                    const jn_dataset *train, const jn_dataset *valid, jn_epoch_callback on_epoch, void *user)
{
    return JN_ERR_INVALID; /* unreachable: mpi_start refused --mpi */
}

jn_status mpi_sweep(size_t points, const unsigned char *done, cli_point_fn run, cli_record_fn collect, void *user)
{
    return JN_ERR_INVALID;
}

#else

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <jacnet_mpi.h>

/* The job's context and what the steps of `train --mpi` have reached. */
static struct {
    jn_mpi *mp;
    int rank;
    int null_fd, stderr_fd;  /* ranks other than 0: /dev/null and the real stderr */
    int load_agreed, load_ok; /* mpi_agree_load ran, and every rank loaded */
    int train_reached;        /* this rank entered mpi_train */
    int mpi_failed;           /* the last jn_mpi_ call failed: cli_error shows its message */
    jn_status last_status;    /* the last failure cli_error was asked about */
} job = {.null_fd = -1, .stderr_fd = -1};

static void finish_job(void)
{
    fflush(stdout);
    fflush(stderr);
    jn_mpi_free(job.mp);
    job.mp = NULL;
    MPI_Finalize();
}

/* Ranks other than 0: stderr to /dev/null (quiet) or back (loud). */
static void quiet_stderr(int quiet)
{
    if (job.rank == 0 || job.null_fd < 0) return;
    fflush(stderr);
    dup2(quiet ? job.null_fd : job.stderr_fd, STDERR_FILENO);
}

int mpi_start(const char *command, int argc, char **argv)
{
    if (!wants_mpi(argc, argv) || job.mp) return 0;
    MPI_Init(&argc, &argv);
    atexit(finish_job);
    jn_status st = jn_mpi_create(&job.mp, MPI_COMM_WORLD);
    if (st != JN_OK) {
        fprintf(stderr, "jacnet %s: %s\n", command, jn_mpi_last_error());
        MPI_Abort(MPI_COMM_WORLD, EXIT_RUN);
    }
    job.rank = jn_mpi_rank(job.mp);
    if (job.rank != 0) {
        fflush(stdout);
        job.null_fd = open("/dev/null", O_WRONLY);
        job.stderr_fd = dup(STDERR_FILENO);
        if (job.null_fd >= 0 && job.stderr_fd >= 0) {
            dup2(job.null_fd, STDOUT_FILENO);
            quiet_stderr(1);
        } else {
            job.null_fd = -1; /* keep every output rather than lose the real stderr */
        }
    }
    return 0;
}

int mpi_rank(void) { return job.rank; }

const char *cli_error(jn_status st)
{
    job.last_status = st;
    if (job.mpi_failed) {
        job.mpi_failed = 0;
        return jn_mpi_last_error();
    }
    return jn_last_error();
}

int mpi_agree_load(const char *command, int rc, data_sets *data)
{
    job.load_agreed = 1;
    /* The message of the lowest failing rank, then the worst status. */
    jn_status st = jn_mpi_agree(job.mp, rc ? JN_ERR_IO : JN_OK, rc ? jn_last_error() : NULL);
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    job.load_ok = worst == 0;
    if (st != JN_OK && rc == 0) {
        /* This rank loaded what another could not: it has not said why. */
        if (job.rank == 0) fprintf(stderr, "jacnet %s: cannot load the data on %s\n", command, jn_mpi_last_error());
        data_free(data);
    }
    return worst;
}

void mpi_train_config(train_config *c)
{
    if (c->threads == 0) c->threads = 1; /* ranks, not BLAS threads, share the node */
    if (job.rank != 0) {
        c->quiet = 1;
        c->json = NULL;
        c->save = NULL;
        c->no_test = 1;
    }
}

jn_status mpi_train(const train_config *c, jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                    const jn_dataset *train, const jn_dataset *valid, jn_epoch_callback on_epoch, void *user)
{
    (void)on_epoch, (void)user; /* tr has them */
    job.train_reached = 1;
    /* Meets mpi_train_finish on a rank that failed since loading. */
    jn_status st = jn_mpi_agree(job.mp, JN_OK, NULL);
    if (st == JN_OK) {
        /* tr carries patience, callbacks and checkpoint as in a serial run:
         * the trainer does them on every rank (rank 0 alone prints, writes
         * the record and the checkpoint). */
        quiet_stderr(0);
        st = jn_mpi_train(job.mp, tr, net, obj, opt, train, valid);
        quiet_stderr(1);
    }
    job.mpi_failed = st != JN_OK && st != JN_ERR_STOPPED; /* a stop prints no detail */
    return st;
}

int mpi_train_finish(int rc)
{
    if (job.load_agreed && job.load_ok && !job.train_reached) {
        /* This rank failed before mpi_train (and said why on its stderr,
         * quiet unless it is rank 0); the others wait there. */
        jn_status st = job.last_status != JN_OK ? job.last_status : JN_ERR_INVALID;
        jn_mpi_agree(job.mp, st, jn_last_error());
        job.train_reached = 1;
    }
    return rc;
}

jn_status mpi_sweep(size_t points, const unsigned char *done, cli_point_fn run, cli_record_fn collect, void *user)
{
    quiet_stderr(0);
    jn_status st = jn_mpi_sweep(job.mp, points, done, run, user, job.rank == 0 ? collect : NULL, user);
    quiet_stderr(1);
    job.mpi_failed = st != JN_OK;
    return st;
}

#endif
