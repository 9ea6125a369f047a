/* run.h - the state of one jn_trainer_run between two minibatches, shared
 * by trainer.c (which advances it) and checkpoint.c (which writes it to a
 * file and reads it back: docs/FORMAT.md). Everything a run needs to go on
 * exactly as if it had never stopped is here, in the network and in the
 * optimizer. */
#ifndef JACNET_RUN_H
#define JACNET_RUN_H

#include "noise/noise.h"
#include "train/optimizer.h"

struct jn_trainer {
    unsigned epochs;
    size_t batch;
    unsigned patience;
    uint64_t seed;
    jn_epoch_callback on_epoch;
    void *epoch_user;
    jn_batch_callback on_batch;
    void *batch_user;
    char *checkpoint;          /* NULL: no checkpoints */
    unsigned checkpoint_every; /* epochs; 0: only at the start, on stops and at the end */
    double recovery_factor;    /* 0: no blow-up recovery */
    double recovery_lr_scale;
    unsigned recovery_max;
    jn_gradient_hook hook;             /* NULL: none */
    void *hook_user;
    unsigned shard_rank, shard_size;   /* shard_size 0: not sharded (the default) */
    jn_collective coll;                /* coll.size 0: none (libjacnet_mpi sets one) */
    void *coll_user;
};

/* Sums over the minibatches of the epoch in progress (the epoch report's
 * means are these divided by the minibatch count). */
typedef struct jn__epoch_sums {
    double objective, loss, penalty, sqnorm;
    double seconds;            /* wall time spent in the epoch before a stop */
    uint64_t sqnorm_batches;   /* minibatches where ||J||^2 was computed */
    uint64_t errors, examples; /* misclassified and seen training examples */
} jn__epoch_sums;

typedef struct jn__run {
    /* Position. The epoch in progress is epochs_done + 1; batches_done of
     * its minibatches are done (0: at an epoch boundary, the shuffle for it
     * not drawn yet; all of them: only the epoch's end is left). */
    unsigned epochs_done;
    size_t batches_done;
    uint64_t step;             /* minibatches trained in the run, all epochs */
    /* Early stopping. */
    unsigned best_epoch;       /* 0: none yet */
    double best_valid_error;   /* INFINITY before the first, -1 without validation */
    unsigned since_best;
    float *best;               /* P parameters of best_epoch (or the start) */
    /* Randomness: one stream per consumer, and this epoch's order. */
    jn_rng shuffle, loss_noise, jac_noise;
    size_t *perm;              /* train count entries; valid when batches_done > 0 */
    jn__epoch_sums sums;
    /* Blow-up recovery. */
    double reference;          /* lowest epoch mean objective so far (first: the run's first minibatch
                                  objective), what blow-ups are measured against; < 0: not set yet */
    unsigned recoveries_epoch; /* in the epoch in progress */
    uint64_t recoveries_total; /* in the whole run, against the trainer's maximum */
    float *snap_params;        /* the point of `reference` (NULL without recovery) */
    unsigned snap_epoch;       /* the epoch it ended (0: the start of the run) */
    jn__opt_state snap_opt;    /* its optimizer state; s[] owned here */
    /* Identity of the data, checked when resuming. */
    uint32_t train_crc, valid_crc;
} jn__run;

/* Everything jn_trainer_run was given. */
typedef struct jn__run_args {
    const jn_trainer *tr;
    jn_net *net;
    const jn_objective *obj;
    jn_optimizer *opt;
    const jn_dataset *train, *valid;
} jn__run_args;

/* CRC-32 of a dataset's features (binary32 bits, little-endian) and labels
 * (int32, little-endian) or float targets (binary32): the checkpoint's
 * fingerprint of the data. */
uint32_t jn__dataset_crc(const jn_dataset *ds);

/* Write the run's state to the trainer's checkpoint path, atomically. */
jn_status jn__checkpoint_save(const jn__run_args *a, const jn__run *run);
/* Resume from the trainer's checkpoint path: on JN_OK, *run (whose buffers
 * are allocated by the caller), the network's parameters and the
 * optimizer's state hold the checkpoint's. On failure none of the three is
 * changed that matters: run is the caller's scratch, and the network and
 * optimizer are untouched. `run->snap_params` NULL means no snapshot is
 * wanted; *have_snapshot says whether the file held one. */
jn_status jn__checkpoint_load(const jn__run_args *a, jn__run *run, int *have_snapshot);

#endif
