/* trainer_get.c - the trainer's getters: each setting as jn_trainer_create
 * and the setters left it, so that a caller or binding reads the library's
 * one copy instead of keeping its own (issue 22). A NULL trainer reads as
 * 0 (a NULL path for the checkpoint). */
#include "train/run.h"

JN_API unsigned jn_trainer_epochs(const jn_trainer *tr) { return tr ? tr->epochs : 0; }

JN_API size_t jn_trainer_batch_size(const jn_trainer *tr) { return tr ? tr->batch : 0; }

JN_API unsigned jn_trainer_patience(const jn_trainer *tr) { return tr ? tr->patience : 0; }

JN_API uint64_t jn_trainer_seed(const jn_trainer *tr) { return tr ? tr->seed : 0; }

JN_API const char *jn_trainer_checkpoint(const jn_trainer *tr, unsigned *every_epochs)
{
    if (every_epochs) *every_epochs = tr && tr->checkpoint ? tr->checkpoint_every : 0;
    return tr ? tr->checkpoint : NULL;
}

JN_API double jn_trainer_recovery(const jn_trainer *tr, double *lr_scale, unsigned *max_recoveries)
{
    if (lr_scale) *lr_scale = tr ? tr->recovery_lr_scale : 0.0;
    if (max_recoveries) *max_recoveries = tr ? tr->recovery_max : 0;
    return tr ? tr->recovery_factor : 0.0;
}

JN_API unsigned jn_trainer_shard_size(const jn_trainer *tr, unsigned *rank)
{
    if (rank) *rank = tr ? tr->shard_rank : 0;
    return tr ? tr->shard_size : 0;
}
