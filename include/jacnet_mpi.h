/*
 * jacnet_mpi.h - libjacnet on MPI: data-parallel training and parallel
 * sweeps. A separate library (libjacnet_mpi, pkg-config jacnet-mpi) so that
 * libjacnet itself never links MPI.
 *
 * Conventions (besides those of jacnet.h):
 *  - Functions marked "collective" must be called by every rank of the
 *    context's communicator, in the same order, with matching arguments.
 *  - A context works on a duplicate of the caller's communicator, so its
 *    messages never mix with the caller's own.
 *  - Failures return a jn_status; jn_mpi_last_error() (per thread) says
 *    what failed, on which rank. A collective call returns the same status
 *    on every rank. A failure that only one rank sees in the middle of a
 *    collective operation (where the others would wait for it forever) ends
 *    the whole job instead: the rank prints "jacnet-mpi: rank R: <message>"
 *    to stderr and calls MPI_Abort. That is the only output of the library.
 *  - MPI errors use the communicator's error handler (by default fatal:
 *    the job ends with MPI's message).
 */
#ifndef JACNET_MPI_H
#define JACNET_MPI_H

#include <mpi.h>
#include <stddef.h>

#include "jacnet.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JN_MPI_VERSION_MAJOR 0
#define JN_MPI_VERSION_MINOR 2
#define JN_MPI_VERSION_PATCH 0
#define JN_MPI_VERSION_NUMBER (JN_MPI_VERSION_MAJOR * 10000 + JN_MPI_VERSION_MINOR * 100 + JN_MPI_VERSION_PATCH)

#if defined(JN_MPI_BUILDING_LIBRARY) && defined(__GNUC__)
#define JN_MPI_API __attribute__((visibility("default")))
#else
#define JN_MPI_API
#endif

/* Deprecated functions (docs/ABI.md) keep working until the next major
 * version; calling one warns unless JN_MPI_ALLOW_DEPRECATED is defined. */
#if defined(__GNUC__) && !defined(JN_MPI_BUILDING_LIBRARY) && !defined(JN_MPI_ALLOW_DEPRECATED)
#define JN_MPI_DEPRECATED(use) __attribute__((deprecated("use " use)))
#else
#define JN_MPI_DEPRECATED(use)
#endif

/* Version of the loaded libjacnet_mpi as JN_MPI_VERSION_NUMBER. */
JN_MPI_API unsigned jn_mpi_version(void);
/* Detail of the last failure of a jn_mpi_ call in this thread ("" if none). */
JN_MPI_API const char *jn_mpi_last_error(void);

typedef struct jn_mpi jn_mpi;

/* A context on a duplicate of comm. Collective; MPI must be initialised. */
JN_MPI_API jn_status jn_mpi_create(jn_mpi **out, MPI_Comm comm);
/* Collective (frees the duplicate communicator). Accepts NULL. */
JN_MPI_API void jn_mpi_free(jn_mpi *mp);
JN_MPI_API int jn_mpi_rank(const jn_mpi *mp);
JN_MPI_API int jn_mpi_size(const jn_mpi *mp);

/* Collective agreement on a local outcome, e.g. after every rank loaded its
 * data: returns JN_OK on every rank if every rank passed JN_OK, else, on
 * every rank, the status of the lowest failing rank, with
 * jn_mpi_last_error() = "rank R: <message>" (message NULL: that rank's
 * jn_last_error()). */
JN_MPI_API jn_status jn_mpi_agree(jn_mpi *mp, jn_status local, const char *message);

/* ---- sharding ---- */

/* The contiguous share [*start, *start + *n) of `count` items that rank
 * `rank` of `size` owns: count / size items, one more for the first
 * count % size ranks (the rule jn_trainer_set_sharding uses for every
 * minibatch). */
JN_MPI_API jn_status jn_mpi_shard_range(size_t count, int rank, int size, size_t *start, size_t *n);
/* This rank's share of ds as a dataset borrowing ds's arrays (ds must
 * outlive it); *out is NULL, with JN_OK, when the share is empty. Local. */
JN_MPI_API jn_status jn_mpi_dataset_shard(const jn_mpi *mp, jn_dataset **out, const jn_dataset *ds);

/* ---- parameters ---- */

/* Collective: rank 0's parameters into every rank's net. The networks must
 * have the same parameter count (checked; JN_ERR_INVALID on every rank). */
JN_MPI_API jn_status jn_mpi_broadcast_net(jn_mpi *mp, jn_net *net);
/* Collective: *equal = 1 if every rank's parameters hash (64-bit FNV-1a of
 * the float bits) to the same value, else 0. */
JN_MPI_API jn_status jn_mpi_nets_equal(jn_mpi *mp, const jn_net *net, int *equal);

/* ---- data-parallel training ---- */

/* Deprecated since 0.2: set the trainer's own (jn_trainer_set_patience,
 * jn_trainer_set_epoch_callback), which jn_mpi_train now uses on every
 * rank. Once called, these replace the trainer's for every jn_mpi_train
 * of mp and are cleared from the trainer after it, as they always were:
 * patience as given (0: never stop early; the run ends on a validation
 * score that has not improved for `patience` epochs); the callback is
 * called on rank 0 only, and its nonzero return stops every rank
 * (JN_ERR_STOPPED); NULL removes it. */
JN_MPI_API jn_status jn_mpi_set_patience(jn_mpi *mp, unsigned patience)
    JN_MPI_DEPRECATED("jn_trainer_set_patience");
JN_MPI_API jn_status jn_mpi_set_epoch_callback(jn_mpi *mp, jn_epoch_callback cb, void *user)
    JN_MPI_DEPRECATED("jn_trainer_set_epoch_callback");

/* Collective. Data-parallel jn_trainer_run: jn_trainer_run on every rank
 * with the trainer's collective (jn_trainer_set_collective) made of
 * MPI_Allreduce and MPI_Bcast on mp's communicator, set for the run and
 * removed after it. Every rank passes the same training set and validation
 * set (labels or float targets; checked by hash), network shape,
 * objective, optimizer settings and trainer settings (epochs, global batch
 * size, seed, patience, recovery, checkpoint path). Rank 0's parameters
 * are broadcast first. Every global minibatch is split over the ranks;
 * each step's gradient, objective and terms are summed, weighted by each
 * rank's row count, and divided by the global count, so unequal shares
 * give the global mean. Noise and projections are drawn per example, so
 * the result equals a one-process sharded run (jn_trainer_set_sharding(tr,
 * 0, 1)) with the same settings up to float rounding (exactly, with one
 * rank). Validation (each rank scores its share of `valid`, may be NULL),
 * best parameters, patience, recovery and the epoch report are the
 * trainer's own, from the summed numbers, alike on every rank; the epoch
 * and batch callbacks run on every rank, and a stop asked on any rank
 * stops all. At every epoch end the ranks compare parameter hashes (a
 * mismatch ends the run with JN_ERR_DIVERGED everywhere). A failure one
 * rank meets alone (its objective, memory, a checkpoint it cannot read)
 * ends the run on every rank with that rank's status and message.
 * Checkpoints (jn_trainer_set_checkpoint): rank 0 writes them; to resume,
 * every rank reads the file, so it must be on a file system all ranks
 * share; the run then goes on bit for bit with the same number of ranks
 * (with another number, up to float rounding). tr's sharding must be off
 * and its gradient hook, if any, sees the global mean. Set one BLAS thread
 * per rank (jn_set_threads) when ranks share a node. */
JN_MPI_API jn_status jn_mpi_train(jn_mpi *mp, jn_trainer *tr, jn_net *net, const jn_objective *obj,
                                  jn_optimizer *opt, const jn_dataset *train, const jn_dataset *valid);

/* ---- parallel sweeps ---- */

/* Largest record a grid point may produce, including the final NUL (a
 * JSON record of a run with per-epoch curves fits many times over). Only
 * the bytes used travel. */
#define JN_MPI_RECORD_MAX (1u << 20)

/* Train grid point `index` and write its record (a NUL-terminated string,
 * at most cap bytes including the NUL) into record. On failure return the
 * status, with the message in record (empty: jn_last_error() is used). */
typedef jn_status (*jn_mpi_point_fn)(size_t index, char *record, size_t cap, void *user);
/* Called on rank 0 for every finished point, in order of arrival, with
 * the point's status and its record (or failure message). Return JN_OK,
 * or a failure (e.g. the results file cannot be written) that the sweep
 * then returns after the running points finish. */
typedef jn_status (*jn_mpi_record_fn)(size_t index, jn_status status, const char *record, void *user);

/* Collective. Spread points 0..points-1 over the ranks: those not marked in
 * `done` (rank 0's array of `points` flags, nonzero = already finished, for
 * resuming; NULL: none) are dealt round-robin, the j-th remaining point to
 * rank j % size. Every rank trains whole models, one at a time, with one
 * BLAS thread (jn_set_threads(1), process-wide, left so). Records go to
 * rank 0's `collect` as they arrive; rank 0 also runs its own share and
 * collects between its points. `run` is called on every rank and
 * `collect` only on rank 0 (it may be NULL elsewhere). Returns, on every
 * rank, JN_OK or the first failure by point index (a failed point does not
 * stop the others). */
JN_MPI_API jn_status jn_mpi_sweep(jn_mpi *mp, size_t points, const unsigned char *done, jn_mpi_point_fn run,
                                  void *run_user, jn_mpi_record_fn collect, void *collect_user);

#ifdef __cplusplus
}
#endif
#endif /* JACNET_MPI_H */
