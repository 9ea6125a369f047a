/* trainer.c - minibatch training with noise, validation, early stopping
 * (keeping the best parameters), per-epoch / per-batch callbacks,
 * checkpoints (written and read by checkpoint.c) and opt-in recovery from
 * blow-ups. Users who want their own loop call jn_net_objective and
 * jn_optimizer_step directly; this file only strings those pieces together.
 *
 * The whole state of a run lives in a jn__run (run.h), the network and the
 * optimizer, and the loop advances it one minibatch at a time, so a run can
 * stop between any two minibatches, be saved, and go on later exactly as if
 * it had not stopped.
 *
 * The stream contract: a run is reproduced bit for bit (with one BLAS
 * thread) by this loop on public functions, written out in
 * docs/METHOD.md ("The trainer's loop") and pinned by
 * tests/test_trainer_loop.c. With s the trainer's seed:
 *   - three generators, jn_rng_create_stream(s, 0) for shuffling,
 *     (s, 1) for the loss input's noise, (s, 2) for the Jacobian input's;
 *   - every epoch (the first included) starts with one
 *     jn_dataset_shuffle(train, stream 0, perm); minibatch k holds
 *     perm[k b .. k b + m), b = min(batch size, count), the last one short;
 *   - per minibatch, from its clean features X (jn_dataset_gather) and
 *     one-hot targets (jn_dataset_onehot): if the noise kind is not NONE
 *     and input_std > 0, Xloss = jn_corrupt(stream 1, kind, input_std, X);
 *     if the kind is not NONE, jacobian_std > 0 and lambda > 0,
 *     Xjac = jn_corrupt(stream 2, kind, jacobian_std, X) (drawn on every
 *     step, also those where penalty_every skips the penalty). The
 *     objective's Xj is Xjac when drawn, else the clean X when the loss
 *     input is noisy (the penalty never sees the loss term's noise), else
 *     NULL;
 *   - the step counter t runs from 0 across epochs; step t evaluates the
 *     objective with Jacobian weight every * lambda when t % every == 0 and
 *     0 otherwise, and projection seed s ^ (0x9e3779b97f4a7c15 * (t + 1))
 *     (the objective's own seed is not used), then jn_optimizer_step;
 *   - after each epoch, the validation error (jn_net_error_rate); a
 *     strictly lower one saves the parameters; then the epoch callback,
 *     then patience. At the end the saved parameters are restored when a
 *     validation set was given and some epoch finished (also when a callback
 *     stopped the run), unless the run diverged.
 * Sharded runs (jn_trainer_set_sharding) and float targets differ as
 * jacnet.h says; checkpoints and recovery change nothing of the above
 * while they are off. A run over several processes
 * (jn_trainer_set_collective) is this same loop on every process, meeting
 * the others in the sums and broadcasts of the helpers below ("runs over
 * several processes"); there is no second implementation of validation,
 * early stopping, recovery or checkpoints for it. */
#include "data/dataset.h"
#include "net/net.h"
#include "noise/noise.h"
#include "train/objective.h"
#include "base/binio.h"
#include "train/run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

JN_API jn_status jn_trainer_create(jn_trainer **out)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_trainer_create: out is NULL");
    jn_trainer *tr = jn__calloc(1, sizeof *tr, "jn_trainer_create");
    *out = tr;
    if (!tr) return JN_ERR_NOMEM;
    tr->epochs = 10;
    tr->batch = 100;
    tr->seed = 1;
    return JN_OK;
}

JN_API void jn_trainer_free(jn_trainer *tr)
{
    if (!tr) return;
    free(tr->checkpoint);
    free(tr);
}

JN_API jn_status jn_trainer_set_epochs(jn_trainer *tr, unsigned epochs)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_epochs: tr is NULL");
    if (epochs == 0) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_epochs: epochs = 0");
    tr->epochs = epochs;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_batch_size(jn_trainer *tr, size_t batch)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_batch_size: tr is NULL");
    if (batch == 0 || batch > (1u << 20))
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_batch_size: batch = %zu, need 1..2^20", batch);
    tr->batch = batch;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_patience(jn_trainer *tr, unsigned patience)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_patience: tr is NULL");
    tr->patience = patience;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_seed(jn_trainer *tr, uint64_t seed)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_seed: tr is NULL");
    tr->seed = seed;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_epoch_callback(jn_trainer *tr, jn_epoch_callback cb, void *user)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_epoch_callback: tr is NULL");
    tr->on_epoch = cb;
    tr->epoch_user = user;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_batch_callback(jn_trainer *tr, jn_batch_callback cb, void *user)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_batch_callback: tr is NULL");
    tr->on_batch = cb;
    tr->batch_user = user;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_checkpoint(jn_trainer *tr, const char *path, unsigned every_epochs)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_checkpoint: tr is NULL");
    if (path && !*path) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_checkpoint: path is empty");
    char *copy = NULL;
    if (path) {
        size_t len = strlen(path);
        if (!(copy = jn__alloc(len + 1, 1, "jn_trainer_set_checkpoint"))) return JN_ERR_NOMEM;
        memcpy(copy, path, len + 1);
    }
    free(tr->checkpoint);
    tr->checkpoint = copy;
    tr->checkpoint_every = every_epochs;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_recovery(jn_trainer *tr, double factor, double lr_scale, unsigned max_recoveries)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_recovery: tr is NULL");
    if (factor == 0.0) { /* off: nothing of an earlier setting stays to be read back */
        tr->recovery_factor = tr->recovery_lr_scale = 0.0;
        tr->recovery_max = 0;
        return JN_OK;
    }
    if (!(isfinite(factor) && factor > 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_recovery: factor = %g, need a finite value > 1 (or 0: off)",
                        factor);
    if (!(isfinite(lr_scale) && lr_scale > 0.0 && lr_scale <= 1.0))
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_recovery: lr_scale = %g, need 0 < lr_scale <= 1", lr_scale);
    tr->recovery_factor = factor;
    tr->recovery_lr_scale = lr_scale;
    tr->recovery_max = max_recoveries;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_gradient_hook(jn_trainer *tr, jn_gradient_hook hook, void *user)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_gradient_hook: tr is NULL");
    tr->hook = hook;
    tr->hook_user = user;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_sharding(jn_trainer *tr, unsigned rank, unsigned size)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_sharding: tr is NULL");
    if (size == 0 ? rank != 0 : rank >= size)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_sharding: rank %u of size %u, need rank < size "
                        "(or 0, 0 for no sharding)", rank, size);
    tr->shard_rank = rank;
    tr->shard_size = size;
    return JN_OK;
}

JN_API jn_status jn_trainer_set_collective(jn_trainer *tr, const jn_collective *ops, void *user)
{
    if (!tr) return jn__fail(JN_ERR_INVALID, "jn_trainer_set_collective: tr is NULL");
    if (!ops) {
        memset(&tr->coll, 0, sizeof tr->coll);
        tr->coll_user = NULL;
        return JN_OK;
    }
    if (!ops->sum_floats || !ops->sum_doubles || !ops->broadcast)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_collective: ops->%s is NULL",
                        !ops->sum_floats ? "sum_floats" : !ops->sum_doubles ? "sum_doubles" : "broadcast");
    if (ops->rank >= ops->size)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_set_collective: rank %u of size %u, need rank < size",
                        ops->rank, ops->size);
    tr->coll = *ops;
    tr->coll_user = user;
    return JN_OK;
}

/* ---- runs over several processes (jn_trainer_set_collective) ----
 * Every decision of the run (stop, recover, keep the best, fail) is taken
 * from numbers that are the same on every process, so that all of them
 * take the same path through the loop and meet in the same collective
 * operations; whatever only one process sees is summed or agreed first.
 * A collective of one process never calls its operations, so that its run
 * is the sharded (0, 1) one bit for bit. */

static const jn_collective *collective(const jn_trainer *tr) { return tr->coll.size ? &tr->coll : NULL; }

/* The sharding in force: the collective's, or jn_trainer_set_sharding's. */
static unsigned shard_size(const jn_trainer *tr) { return tr->coll.size ? tr->coll.size : tr->shard_size; }
static unsigned shard_rank(const jn_trainer *tr) { return tr->coll.size ? tr->coll.rank : tr->shard_rank; }

/* The contiguous share [*start, *start + *n) of `count` items of this
 * process: the first count % size processes take one more. */
static void share_of(const jn_trainer *tr, size_t count, size_t *start, size_t *n)
{
    size_t size = shard_size(tr), rk = shard_rank(tr);
    if (size == 0) {
        *start = 0;
        *n = count;
        return;
    }
    size_t base = count / size, extra = count % size;
    *start = rk * base + (rk < extra ? rk : extra);
    *n = base + (rk < extra);
}

/* Every process returns the same outcome: JN_OK when no process failed,
 * else the lowest failing rank's status and message. The message goes
 * round from each rank in turn (only after a failure, so the cost of a
 * loop over the ranks does not matter). */
static jn_status tell_failure(const jn_trainer *tr, jn_status local)
{
    const jn_collective *c = &tr->coll;
    struct {
        int32_t status;
        char text[480];
    } v;
    for (unsigned root = 0; root < c->size; root++) {
        memset(&v, 0, sizeof v);
        if (root == c->rank) {
            v.status = (int32_t)local;
            if (local != JN_OK) snprintf(v.text, sizeof v.text, "%s", jn_last_error());
        }
        jn_status st = c->broadcast(&v, sizeof v, root, tr->coll_user);
        if (st != JN_OK) return st;
        if (v.status != JN_OK) return jn__fail((jn_status)v.status, "rank %u: %s", root, v.text);
    }
    return JN_OK; /* not reached: some rank failed */
}

static jn_status agree(const jn_trainer *tr, jn_status local)
{
    const jn_collective *c = collective(tr);
    if (!c || c->size == 1) return local;
    double failed = local != JN_OK;
    jn_status st = c->sum_doubles(&failed, 1, tr->coll_user);
    if (st != JN_OK) return st;
    return failed > 0 ? tell_failure(tr, local) : JN_OK;
}

/* *flag becomes 1 on every process if it is nonzero on any. */
static jn_status any_of(const jn_trainer *tr, int *flag)
{
    const jn_collective *c = collective(tr);
    if (!c || c->size == 1) return JN_OK;
    double v = *flag != 0;
    jn_status st = c->sum_doubles(&v, 1, tr->coll_user);
    *flag = v > 0;
    return st;
}

/* 64-bit FNV-1a of the parameters' bits. */
static uint64_t params_hash(const jn_net *net)
{
    const unsigned char *p = (const unsigned char *)net->params;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < net->n_params * sizeof(float); i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The step's reduction: the global means of the gradient, the objective
 * and its terms, weighted by every process's rows, and the global counts
 * of rows and misclassified examples; a failure of any process (other
 * than a non-finite objective, which the sums spread) fails all. One
 * process keeps its numbers as they are, bit for bit. */
static jn_status reduce_step(const jn_trainer *tr, float *grad, size_t P, double *value, jn__objective_parts *parts,
                             size_t *rows, size_t *errors, jn_status local)
{
    const jn_collective *c = &tr->coll;
    if (c->size == 1) return local;
    int failed = local != JN_OK && local != JN_ERR_DIVERGED;
    double m = failed ? 0.0 : (double)*rows;
    if (failed) memset(grad, 0, P * sizeof(float));
    if (m > 1.0) {
        float fm = (float)m;
        for (size_t i = 0; i < P; i++) grad[i] *= fm;
    }
    double t[7] = {failed, m, m ? *value * m : 0.0, m ? parts->loss * m : 0.0, m ? parts->penalty * m : 0.0,
                   m ? parts->sqnorm * m : 0.0, (double)*errors};
    jn_status st = c->sum_floats(grad, P, tr->coll_user);
    if (st == JN_OK) st = c->sum_doubles(t, 7, tr->coll_user);
    if (st != JN_OK) return st;
    if (t[0] > 0) return tell_failure(tr, failed ? local : JN_OK);
    float global = (float)t[1];
    for (size_t i = 0; i < P; i++) grad[i] /= global;
    *value = t[2] / t[1];
    parts->loss = t[3] / t[1];
    parts->penalty = t[4] / t[1];
    parts->sqnorm = t[5] / t[1]; /* -1 on every process's rows when not computed */
    *rows = (size_t)t[1];
    *errors = (size_t)t[6];
    return isfinite(*value) ? JN_OK : JN_ERR_DIVERGED;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One minibatch's inputs, targets and gradient. */
typedef struct batch_buffers {
    float *X, *Xloss, *Xjac, *Y, *grad;
} batch_buffers;

static void free_run(jn__run *r, batch_buffers *b)
{
    free(b->X); free(b->Xloss); free(b->Xjac); free(b->Y); free(b->grad);
    free(r->perm); free(r->best); free(r->snap_params);
    free(r->snap_opt.s[0]); free(r->snap_opt.s[1]);
}

/* Allocate everything the run needs up front, so nothing can fail for
 * lack of memory in the middle of an epoch. */
static jn_status alloc_run(const jn__run_args *a, jn__run *r, batch_buffers *b)
{
    const char *what = "jn_trainer_run";
    size_t D = a->net->sizes[0], K = a->net->sizes[a->net->layers], P = a->net->n_params;
    size_t bs = a->tr->batch < a->train->count ? a->tr->batch : a->train->count;
    r->perm = jn__alloc(a->train->count, sizeof *r->perm, what);
    r->best = jn__alloc(P, sizeof(float), what);
    b->X = jn__alloc(bs, D * sizeof(float), what);
    b->Xloss = jn__alloc(bs, D * sizeof(float), what);
    b->Xjac = jn__alloc(bs, D * sizeof(float), what);
    b->Y = jn__alloc(bs, K * sizeof(float), what);
    b->grad = jn__alloc(P, sizeof(float), what);
    int ok = r->perm && r->best && b->X && b->Xloss && b->Xjac && b->Y && b->grad;
    if (ok && a->tr->recovery_factor > 0.0) {
        unsigned vectors = jn__optimizer_vectors(a->opt);
        r->snap_params = jn__alloc(P, sizeof(float), what);
        ok = r->snap_params != NULL;
        for (unsigned k = 0; k < vectors && ok; k++)
            ok = (r->snap_opt.s[k] = jn__alloc(P, sizeof(double), what)) != NULL;
    }
    if (!ok) return JN_ERR_NOMEM;
    /* The workspace too is reserved before the first step (workspace.c), so
     * that running out of memory leaves net and opt as they were. */
    return jn__work_reserve_run(a->net, a->obj, bs, a->valid ? a->valid->count : 0);
}

static jn_status check_run_args(const jn_trainer *tr, const jn_net *net, const jn_objective *obj,
                                const jn_optimizer *opt, const jn_dataset *train, const jn_dataset *valid)
{
    if (!tr || !net || !obj || !opt || !train)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: %s is NULL",
                        !tr ? "tr" : !net ? "net" : !obj ? "obj" : !opt ? "opt" : "train");
    size_t D = net->sizes[0], K = net->sizes[net->layers];
    const jn_dataset *sets[2] = {train, valid};
    for (int s = 0; s < 2; s++) {
        if (!sets[s]) continue;
        if (sets[s]->dim != D)
            return jn__fail(JN_ERR_INVALID, "jn_trainer_run: %s has %zu features, the network takes %zu",
                            s ? "valid" : "train", sets[s]->dim, D);
        if (sets[s]->classes != K)
            return jn__fail(JN_ERR_INVALID, "jn_trainer_run: %s has %zu classes, the network has %zu outputs",
                            s ? "valid" : "train", sets[s]->classes, K);
    }
    /* A network fresh from jn_net_create has all weights 0: its hidden units
     * stay identical through training, which then fails without an error.
     * (Under a collective only rank 0's weights count: they are broadcast.) */
    int any_weight = collective(tr) && tr->coll.rank != 0;
    for (size_t l = 1; l <= net->layers && !any_weight; l++)
        for (size_t i = 0, cells = net->sizes[l] * net->sizes[l - 1]; i < cells && !any_weight; i++)
            any_weight = jn__W(net, l)[i] != 0.0f;
    if (!any_weight)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: every weight of the network is 0 (as jn_net_create leaves "
                        "it); call jn_net_init(net, seed) or jn_net_set_params first");
    if (collective(tr) && tr->shard_size)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: both a collective and sharding are set; the collective "
                        "shards the run itself (jn_trainer_set_sharding(tr, 0, 0))");
    if (tr->shard_size > 1 && !tr->hook && !collective(tr))
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: sharding over %u processes needs a gradient hook to "
                        "combine their gradients", tr->shard_size);
    return JN_OK;
}

/* A sharded run gives every example its own noise stream, keyed by the run's
 * seed, the epoch and the example's index in the dataset, so an example's
 * noise does not depend on which process holds it. */
static void corrupt_rows(const jn_trainer *tr, uint64_t tag, unsigned epoch, jn_noise kind, double level,
                         const size_t *idx, size_t m, size_t D, const float *src, float *dst)
{
    for (size_t i = 0; i < m; i++) {
        jn_rng rng;
        jn__rng_seed(&rng, jn__key_seed(tr->seed, tag, epoch, idx[i]), 0);
        jn_corrupt(&rng, kind, level, src + i * D, dst + i * D, D);
    }
}

/* One minibatch (this process's m rows of it when sharded): noise,
 * objective, the collective's sums, gradient hook, step. Returns the
 * objective in *value, its terms in *parts, the rows in *rows and the count
 * of misclassified examples in *errors (measured before the step; no errors
 * for float targets); on this process's rows, or on the whole minibatch
 * under a collective. */
static jn_status train_batch(const jn__run_args *a, batch_buffers *b, jn__run *r, const size_t *idx, size_t m,
                             double *value, jn__objective_parts *parts, size_t *rows, size_t *errors)
{
    jn_net *net = a->net;
    const jn_objective *obj = a->obj;
    const jn_dataset *train = a->train;
    const jn_trainer *tr = a->tr;
    uint64_t step = r->step;
    unsigned epoch = r->epochs_done + 1;
    size_t D = net->sizes[0], K = net->sizes[net->layers], P = net->n_params;
    int sharded = shard_size(tr) > 0;
    jn_status st = JN_OK;
    if (m > 0) st = jn_dataset_gather(train, idx, m, b->X);
    if (st == JN_OK && m > 0) st = jn_dataset_gather_targets(train, idx, m, b->Y);
    if (st != JN_OK) return st;
    const float *Xloss = b->X, *Xjac = NULL;
    if (obj->noise != JN_NOISE_NONE && obj->input_std > 0.0) {
        if (sharded)
            corrupt_rows(tr, 1, epoch, obj->noise, obj->input_std, idx, m, D, b->X, b->Xloss);
        else
            st = jn_corrupt(&r->loss_noise, obj->noise, obj->input_std, b->X, b->Xloss, m * D);
        Xloss = b->Xloss;
        Xjac = b->X; /* the Jacobian term keeps the clean input unless it has noise of its own */
    }
    if (st == JN_OK && obj->noise != JN_NOISE_NONE && obj->jacobian_std > 0.0 && obj->jacobian > 0.0) {
        if (sharded)
            corrupt_rows(tr, 2, epoch, obj->noise, obj->jacobian_std, idx, m, D, b->X, b->Xjac);
        else
            st = jn_corrupt(&r->jac_noise, obj->noise, obj->jacobian_std, b->X, b->Xjac, m * D);
        Xjac = b->Xjac;
    }
    if (st != JN_OK) return st;
    /* What varies per step goes beside the objective, which stays as the
     * caller made it. Penalty every k-th step with weight k * lambda keeps
     * its expectation; a sharded run draws projections per example too. */
    const jn__step this_step = {step % obj->every == 0 ? obj->jacobian * obj->every : 0.0,
                                tr->seed ^ (0x9e3779b97f4a7c15ULL * (step + 1)), sharded ? idx : NULL};
    *errors = 0;
    if (m > 0) {
        st = jn__net_objective_parts(net, obj, &this_step, Xloss, Xjac, b->Y, m, value, b->grad, parts);
    } else {
        /* An empty share still joins the hook's reduction, with weight 0. */
        memset(b->grad, 0, P * sizeof(float));
        *value = 0.0;
        memset(parts, 0, sizeof *parts);
        parts->sqnorm = -1.0;
    }
    if (st == JN_OK && m > 0 && train->labels) {
        /* The loss term's outputs are still in pass 0: the training error
         * costs one argmax per example. */
        const float *F = net->work->pass[0].a[net->layers];
        size_t wrong = 0;
        for (size_t i = 0; i < m; i++) wrong += jn__predicted_class(F + i * K, K) != (size_t)train->labels[idx[i]];
        *errors = wrong;
    }
    *rows = m;
    if (collective(tr)) {
        st = reduce_step(tr, b->grad, P, value, parts, rows, errors, st);
        if (st != JN_OK && st != JN_ERR_DIVERGED) return st;
    }
    if (tr->hook && (st == JN_OK || st == JN_ERR_DIVERGED)) {
        /* A diverged share goes through the hook too, so every process
         * takes part in every reduction and all see the non-finite mean. */
        size_t hook_rows = *rows;
        jn_status hs = tr->hook(b->grad, P, value, &hook_rows, tr->hook_user);
        if (hs != JN_OK)
            return jn__fail(hs, "jn_trainer_run: the gradient hook returned \"%s\" at step %llu", jn_status_str(hs),
                            (unsigned long long)step);
        st = isfinite(*value) ? JN_OK : JN_ERR_DIVERGED;
    }
    /* The optimizer already scans the gradient and refuses a non-finite one
     * (as invalid input); only then is the gradient scanned again here, to
     * report it as the divergence it is in a training run. */
    if (st == JN_OK) st = jn_optimizer_step(a->opt, net, b->grad);
    if (st == JN_ERR_DIVERGED || (st == JN_ERR_INVALID && !jn__all_finite(b->grad, net->n_params)))
        return jn__fail(JN_ERR_DIVERGED, "jn_trainer_run: objective, gradient or update not finite at step %llu; "
                        "the network keeps its last finite parameters", (unsigned long long)step);
    return st;
}

/* ---- blow-up recovery (jacnet.h, jn_trainer_set_recovery) ---- */

static void take_snapshot(const jn__run_args *a, jn__run *r)
{
    size_t P = a->net->n_params;
    memcpy(r->snap_params, a->net->params, P * sizeof(float));
    jn__opt_state now;
    jn__optimizer_state(a->opt, &now);
    r->snap_opt.lr = now.lr;
    r->snap_opt.t = now.t;
    r->snap_opt.n = now.n;
    r->snap_opt.vectors = now.vectors;
    for (unsigned k = 0; k < now.vectors && now.n > 0; k++) memcpy(r->snap_opt.s[k], now.s[k], P * sizeof(double));
}

/* Whether the epoch so far is a blow-up, after a minibatch of objective
 * `value`: the mean of its minibatch objectives against the reference,
 * once enough of them are in that one unlucky minibatch (a few hard
 * examples) cannot pass for a blow-up: 10 and a tenth of the epoch, or
 * all of a shorter one. */
static int blew_up(const jn_trainer *tr, jn__run *r, double value, size_t batches)
{
    if (r->reference < 0.0) {
        r->reference = value; /* the run's first minibatch */
        return 0;
    }
    size_t done = r->batches_done, need = (batches + 9) / 10;
    if (need < 10) need = 10;
    if (done < need && done < batches) return 0;
    return r->sums.objective / (double)done > tr->recovery_factor * r->reference;
}

/* Back to the snapshot with a smaller learning rate, to start the epoch
 * over; or, past the allowed number of recoveries, JN_ERR_DIVERGED with the
 * network at the snapshot. `why` says what was seen. */
static jn_status recover(const jn__run_args *a, jn__run *r, const char *why)
{
    const jn_trainer *tr = a->tr;
    unsigned epoch = r->epochs_done + 1;
    jn__opt_state now, back = r->snap_opt;
    jn__optimizer_state(a->opt, &now);
    back.lr = now.lr; /* the rate goes down from where it is, recovery after recovery */
    jn_status st = jn__optimizer_set_state(a->opt, &back);
    if (st != JN_OK) return st;
    memcpy(a->net->params, r->snap_params, a->net->n_params * sizeof(float));
    if (r->recoveries_total >= tr->recovery_max)
        return jn__fail(JN_ERR_DIVERGED,
                        "jn_trainer_run: %s in epoch %u, after %llu recoveries (at most %u); the network holds the "
                        "parameters of the end of epoch %u, where the objective was lowest",
                        why, epoch, (unsigned long long)r->recoveries_total, tr->recovery_max, r->snap_epoch);
    if ((st = jn_optimizer_scale_lr(a->opt, tr->recovery_lr_scale)) != JN_OK)
        return jn__fail(JN_ERR_DIVERGED, "jn_trainer_run: %s in epoch %u; cannot lower the learning rate further "
                        "(%g); the network holds the parameters of the end of epoch %u, where the objective "
                        "was lowest", why, epoch, now.lr, r->snap_epoch);
    r->recoveries_epoch++;
    r->recoveries_total++;
    r->batches_done = 0; /* the epoch starts over */
    return JN_OK;
}

/* ---- the loop ---- */

/* A new pass over the data: its order, and empty sums. */
static void begin_epoch(const jn__run_args *a, jn__run *r)
{
    jn_dataset_shuffle(a->train, &r->shuffle, r->perm);
    double seconds = r->sums.seconds; /* a restarted epoch keeps its time */
    memset(&r->sums, 0, sizeof r->sums);
    r->sums.seconds = seconds;
}

/* The epoch's end: this process's share of the validation score (all of
 * it without a collective), summed over the processes; and under a
 * collective, whether every process still holds rank 0's parameters. */
static jn_status score_epoch(const jn__run_args *a, unsigned epoch, double *valid_sum)
{
    const jn_trainer *tr = a->tr;
    const jn_collective *c = collective(tr);
    jn_status st = JN_OK;
    *valid_sum = 0.0;
    if (a->valid) {
        jn_dataset share = *a->valid; /* a view of this process's rows */
        size_t start = 0, K = share.classes;
        if (c) share_of(tr, a->valid->count, &start, &share.count);
        share.features += start * share.dim;
        if (share.labels) share.labels += start;
        if (share.targets) share.targets += start * K;
        if (share.count) st = jn__validation_sum(a->net, a->obj, &share, valid_sum);
    }
    if (!c || c->size == 1) return st;
    uint64_t mine = params_hash(a->net), first = mine;
    jn_status cs = c->broadcast(&first, sizeof first, 0, tr->coll_user);
    double t[3] = {st == JN_OK ? *valid_sum : 0.0, st != JN_OK, first != mine};
    if (cs == JN_OK) cs = c->sum_doubles(t, 3, tr->coll_user);
    if (cs != JN_OK) return cs;
    if (t[1] > 0) return tell_failure(tr, st);
    if (t[2] > 0)
        return jn__fail(JN_ERR_DIVERGED, "jn_trainer_run: the processes' parameters differ after epoch %u (%g of "
                        "%u differ from rank 0's, by hash): changed outside the run on some process, or the sums "
                        "gave processes different bits", epoch, t[2], c->size);
    *valid_sum = t[0];
    return JN_OK;
}

/* Fill the epoch report from the run, after the epoch's minibatches. */
static jn_status finish_epoch(const jn__run_args *a, jn__run *r, size_t batches, double seconds,
                              jn_epoch_report *rep)
{
    const jn__epoch_sums *sum = &r->sums;
    memset(rep, 0, sizeof *rep);
    rep->epoch = r->epochs_done + 1;
    rep->train_objective = sum->objective / (double)batches;
    rep->train_loss = sum->loss / (double)batches;
    rep->train_penalty = sum->penalty / (double)batches;
    rep->train_jacobian_sqnorm = sum->sqnorm_batches ? sum->sqnorm / (double)sum->sqnorm_batches : -1.0;
    rep->train_error = sum->examples ? (double)sum->errors / (double)sum->examples : -1.0;
    rep->recoveries = r->recoveries_epoch;
    rep->valid_error = -1.0;
    double valid_sum = 0.0;
    jn_status st = score_epoch(a, rep->epoch, &valid_sum);
    if (st != JN_OK) return st;
    if (a->valid) {
        rep->valid_error = valid_sum / (double)a->valid->count;
        if (rep->valid_error < r->best_valid_error) {
            r->best_valid_error = rep->valid_error;
            r->best_epoch = rep->epoch;
            memcpy(r->best, a->net->params, a->net->n_params * sizeof(float));
            r->since_best = 0;
        } else {
            r->since_best++;
        }
    } else {
        r->since_best++;
    }
    rep->best_valid_error = r->best_valid_error;
    rep->best_epoch = r->best_epoch;
    rep->seconds = seconds;
    rep->lr = jn_optimizer_lr(a->opt);
    /* The epoch is accepted: the run is now at the next boundary. */
    r->epochs_done = rep->epoch;
    r->batches_done = 0;
    r->recoveries_epoch = 0;
    memset(&r->sums, 0, sizeof r->sums);
    /* The snapshot is the point of the lowest epoch mean so far: a run
     * that creeps upwards over several epochs (no single jump) is still
     * caught, and rolled back to parameters that were really good. */
    if (r->snap_params && rep->train_objective < r->reference) {
        take_snapshot(a, r);
        r->snap_epoch = rep->epoch;
        r->reference = rep->train_objective;
    }
    return JN_OK;
}

/* Run the epoch in progress from where the run stands to its end (JN_OK),
 * or until a callback stops it (JN_ERR_STOPPED) or a failure. */
static jn_status run_epoch(const jn__run_args *a, jn__run *r, batch_buffers *b)
{
    const jn_trainer *tr = a->tr;
    size_t count = a->train->count, bs = tr->batch < count ? tr->batch : count;
    size_t batches = (count + bs - 1) / bs;
    unsigned epoch = r->epochs_done + 1;
    int recovery = r->snap_params != NULL;
    double t0 = now_seconds();
    jn_status st = JN_OK;
    for (;;) {
        if (r->batches_done == 0) begin_epoch(a, r);
        int restart = 0;
        for (size_t k = r->batches_done; k < batches && !restart; k++) {
            size_t start = k * bs, m = count - start < bs ? count - start : bs, from, rows = 0;
            share_of(tr, m, &from, &m); /* this process's rows of the global minibatch */
            start += from;
            double value = 0.0;
            size_t errors = 0;
            jn__objective_parts parts;
            st = train_batch(a, b, r, r->perm + start, m, &value, &parts, &rows, &errors);
            r->step++;
            if (st == JN_OK) {
                jn__epoch_sums *sum = &r->sums;
                sum->objective += value;
                sum->loss += parts.loss;
                sum->penalty += parts.penalty;
                if (parts.sqnorm >= 0.0) {
                    sum->sqnorm += parts.sqnorm;
                    sum->sqnorm_batches++;
                }
                sum->errors += errors;
                if (a->train->labels) sum->examples += rows;
                r->batches_done = k + 1;
            }
            if (recovery && (st == JN_ERR_DIVERGED || (st == JN_OK && blew_up(tr, r, value, batches)))) {
                char why[160];
                if (st == JN_ERR_DIVERGED)
                    snprintf(why, sizeof why, "a non-finite objective, gradient or update at step %llu",
                             (unsigned long long)(r->step - 1));
                else
                    snprintf(why, sizeof why, "the mean objective of %zu minibatches, %g, exceeded %g x %g",
                             r->batches_done, r->sums.objective / (double)r->batches_done, tr->recovery_factor,
                             r->reference);
                if ((st = recover(a, r, why)) != JN_OK) break;
                restart = 1;
                continue;
            }
            if (st != JN_OK) break;
            int stop = tr->on_batch && tr->on_batch(epoch, k + 1, batches, tr->batch_user);
            if ((st = any_of(tr, &stop)) != JN_OK) break;
            if (stop) {
                st = jn__fail(JN_ERR_STOPPED, "jn_trainer_run: stopped by the batch callback in epoch %u after "
                              "minibatch %zu", epoch, k + 1);
                break;
            }
        }
        if (st != JN_OK) break;
        if (restart) continue;
        break;
    }
    double seconds = r->sums.seconds + (now_seconds() - t0);
    if (st != JN_OK) {
        r->sums.seconds = seconds; /* a stop mid-epoch: the time so far goes into the checkpoint */
        return st;
    }
    jn_epoch_report rep;
    if ((st = finish_epoch(a, r, batches, seconds, &rep)) != JN_OK) return st;
    int stop = tr->on_epoch && tr->on_epoch(&rep, tr->epoch_user);
    if ((st = any_of(tr, &stop)) != JN_OK) return st;
    if (stop)
        st = jn__fail(JN_ERR_STOPPED, "jn_trainer_run: stopped by the epoch callback after epoch %u", epoch);
    return st;
}

/* Write the checkpoint: under a collective rank 0 alone writes (every
 * process holds the same state), and every process learns how it went. */
static jn_status save_checkpoint(const jn__run_args *a, const jn__run *r)
{
    const jn_trainer *tr = a->tr;
    jn_status st = !collective(tr) || tr->coll.rank == 0 ? jn__checkpoint_save(a, r) : JN_OK;
    return agree(tr, st);
}

/* Resume from the checkpoint file if it exists; else write the starting
 * state there (which also finds a bad path before any training). Under a
 * collective every process reads the file. */
static jn_status open_checkpoint(const jn__run_args *a, jn__run *r, int *have_snapshot)
{
    const jn_trainer *tr = a->tr;
    const char *path = tr->checkpoint;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    jn_status st = JN_OK;
    if (!exists && errno != ENOENT) {
        char eb[128];
        jn__errtext(errno, eb, sizeof eb);
        st = jn__fail(JN_ERR_IO, "jn_trainer_run: checkpoint %s: %s", path, eb);
    }
    const jn_collective *c = collective(tr);
    if (c && c->size > 1) {
        /* All processes must resume, or none. The sum also keeps rank 0
         * from writing the file before every process has looked. */
        double t[2] = {exists, st != JN_OK};
        jn_status cs = c->sum_doubles(t, 2, tr->coll_user);
        if (cs != JN_OK) return cs;
        if (t[1] > 0) return tell_failure(tr, st);
        if (t[0] > 0 && t[0] < c->size)
            return jn__fail(JN_ERR_IO, "jn_trainer_run: checkpoint %s exists for %g of the %u processes; they "
                            "need one file that all of them see (a shared file system)", path, t[0], c->size);
    } else if (st != JN_OK) {
        return st;
    }
    if (exists) return agree(tr, jn__checkpoint_load(a, r, have_snapshot));
    return save_checkpoint(a, r);
}

JN_API jn_status jn_trainer_run(jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                                const jn_dataset *train, const jn_dataset *valid)
{
    jn_status st = check_run_args(tr, net, obj, opt, train, valid);
    if (!tr) return st;
    batch_buffers b = {0};
    jn__run_args a = {tr, net, obj, opt, train, valid};
    jn__run r = {0};
    if (st == JN_OK) st = alloc_run(&a, &r, &b);
    /* Every process starts, or none; and from rank 0's parameters. */
    if ((st = agree(tr, st)) == JN_OK && collective(tr) && tr->coll.size > 1)
        st = tr->coll.broadcast(net->params, net->n_params * sizeof(float), 0, tr->coll_user);
    if (st != JN_OK) {
        free_run(&r, &b);
        return st;
    }
    /* One independent stream per consumer of randomness. */
    jn__rng_seed(&r.shuffle, tr->seed, 0);
    jn__rng_seed(&r.loss_noise, tr->seed, 1);
    jn__rng_seed(&r.jac_noise, tr->seed, 2);
    memcpy(r.best, net->params, net->n_params * sizeof(float));
    r.best_valid_error = valid ? INFINITY : -1.0;
    r.reference = -1.0;

    /* The start is the first snapshot (a resumed run replaces it below). */
    if (r.snap_params) take_snapshot(&a, &r);

    int have_snapshot = 0, saved = 0;
    if (tr->checkpoint) {
        r.train_crc = jn__dataset_crc(train);
        r.valid_crc = valid ? jn__dataset_crc(valid) : 0;
        if ((st = open_checkpoint(&a, &r, &have_snapshot)) != JN_OK) {
            /* Nothing has changed yet: the network and optimizer are as given. */
            free_run(&r, &b);
            return st;
        }
        saved = 1;
    }
    if (r.snap_params && !have_snapshot && r.epochs_done + r.batches_done > 0) {
        take_snapshot(&a, &r); /* where a checkpoint written without recovery resumes */
        r.snap_epoch = r.epochs_done;
    }

    while (st == JN_OK) {
        if (r.epochs_done >= tr->epochs) break;
        if (valid && tr->patience && r.since_best >= tr->patience && r.batches_done == 0) break;
        st = run_epoch(&a, &r, &b);
        saved = 0;
        int periodic = st == JN_OK && tr->checkpoint_every && r.epochs_done % tr->checkpoint_every == 0;
        if (tr->checkpoint && (periodic || st == JN_ERR_STOPPED)) {
            jn_status cs = save_checkpoint(&a, &r);
            if (cs != JN_OK) st = cs;
            saved = cs == JN_OK;
        }
    }
    /* The end of the run is a checkpoint too, so a later run with more
     * epochs (or more patience) continues it. */
    if (st == JN_OK && tr->checkpoint && !saved) st = save_checkpoint(&a, &r);
    /* Early stopping keeps the best parameters; on divergence the network
     * stays at its last finite ones. */
    if (valid && r.best_epoch > 0 && st != JN_ERR_DIVERGED) memcpy(net->params, r.best, net->n_params * sizeof(float));
    free_run(&r, &b);
    return st;
}
