/* trainer.c - minibatch training with noise, validation, early stopping
 * (keeping the best parameters) and per-epoch / per-batch callbacks. Users
 * who want their own loop call jn_net_objective and jn_optimizer_step
 * directly; this file only strings those pieces together. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jn_trainer {
    unsigned epochs;
    size_t batch;
    unsigned patience;
    uint64_t seed;
    jn_epoch_callback on_epoch;
    void *epoch_user;
    jn_batch_callback on_batch;
    void *batch_user;
    jn_gradient_hook hook;
    void *hook_user;
    unsigned shard_rank, shard_size; /* shard_size 0: not sharded (the default) */
};

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

JN_API void jn_trainer_free(jn_trainer *tr) { free(tr); }

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

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything one run allocates, freed in one place. */
typedef struct run_buffers {
    size_t *perm;
    float *X, *Xloss, *Xjac, *Y, *grad, *best;
    jn_rng shuffle, loss_noise, jac_noise;
} run_buffers;

static void free_buffers(run_buffers *b)
{
    free(b->perm); free(b->X); free(b->Xloss); free(b->Xjac); free(b->Y); free(b->grad); free(b->best);
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
     * stay identical through training, which then fails without an error. */
    int any_weight = 0;
    for (size_t l = 1; l <= net->layers && !any_weight; l++)
        for (size_t i = 0, cells = net->sizes[l] * net->sizes[l - 1]; i < cells && !any_weight; i++)
            any_weight = jn__W(net, l)[i] != 0.0f;
    if (!any_weight)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: every weight of the network is 0 (as jn_net_create leaves "
                        "it); call jn_net_init(net, seed) or jn_net_set_params first");
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
 * objective, gradient hook, step. Returns the objective in *value. */
static jn_status train_batch(const jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                             const jn_dataset *train, run_buffers *b, const size_t *idx, size_t m,
                             unsigned epoch, unsigned long step, double *value)
{
    size_t D = net->sizes[0], P = net->n_params;
    int sharded = tr->shard_size > 0;
    jn_status st = JN_OK;
    if (m > 0) st = jn_dataset_gather(train, idx, m, b->X);
    if (st == JN_OK && m > 0) st = jn_dataset_gather_targets(train, idx, m, b->Y);
    if (st != JN_OK) return st;
    jn_objective local = *obj;
    const float *Xloss = b->X, *Xjac = NULL;
    if (obj->noise != JN_NOISE_NONE && obj->input_std > 0.0) {
        if (sharded)
            corrupt_rows(tr, 1, epoch, obj->noise, obj->input_std, idx, m, D, b->X, b->Xloss);
        else
            st = jn_corrupt(&b->loss_noise, obj->noise, obj->input_std, b->X, b->Xloss, m * D);
        Xloss = b->Xloss;
        Xjac = b->X; /* the Jacobian term keeps the clean input unless it has noise of its own */
    }
    if (st == JN_OK && obj->noise != JN_NOISE_NONE && obj->jacobian_std > 0.0 && obj->jacobian > 0.0) {
        if (sharded)
            corrupt_rows(tr, 2, epoch, obj->noise, obj->jacobian_std, idx, m, D, b->X, b->Xjac);
        else
            st = jn_corrupt(&b->jac_noise, obj->noise, obj->jacobian_std, b->X, b->Xjac, m * D);
        Xjac = b->Xjac;
    }
    if (st != JN_OK) return st;
    /* Penalty every k-th step with weight k * lambda keeps its expectation. */
    local.jacobian = step % obj->every == 0 ? obj->jacobian * obj->every : 0.0;
    local.seed = tr->seed ^ (0x9e3779b97f4a7c15ULL * (step + 1));
    if (sharded) local.example_ids = idx; /* projections per example too */
    if (m > 0) {
        st = jn_net_objective(net, &local, Xloss, Xjac, b->Y, m, value, b->grad);
    } else {
        /* An empty share still joins the hook's reduction, with weight 0. */
        memset(b->grad, 0, P * sizeof(float));
        *value = 0.0;
    }
    if (tr->hook && (st == JN_OK || st == JN_ERR_DIVERGED)) {
        /* A diverged share goes through the hook too, so every process
         * takes part in every reduction and all see the non-finite mean. */
        size_t rows = m;
        jn_status hs = tr->hook(b->grad, P, value, &rows, tr->hook_user);
        if (hs != JN_OK)
            return jn__fail(hs, "jn_trainer_run: the gradient hook returned \"%s\" at step %lu", jn_status_str(hs),
                            step);
        st = isfinite(*value) ? JN_OK : JN_ERR_DIVERGED;
    }
    /* The optimizer already scans the gradient and refuses a non-finite one
     * (as invalid input); only then is the gradient scanned again here, to
     * report it as the divergence it is in a training run. */
    if (st == JN_OK) st = jn_optimizer_step(opt, net, b->grad);
    if (st == JN_ERR_DIVERGED || (st == JN_ERR_INVALID && !jn__all_finite(b->grad, P)))
        return jn__fail(JN_ERR_DIVERGED, "jn_trainer_run: objective, gradient or update not finite at step %lu; "
                        "the network keeps its last finite parameters", step);
    return st;
}

JN_API jn_status jn_trainer_run(jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                                const jn_dataset *train, const jn_dataset *valid)
{
    jn_status st = check_run_args(tr, net, obj, opt, train, valid);
    if (st != JN_OK) return st;
    if (tr->shard_size > 1 && !tr->hook)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: sharding over %u processes needs a gradient hook to "
                        "combine their gradients", tr->shard_size);
    size_t D = net->sizes[0], K = net->sizes[net->layers], P = net->n_params;
    size_t bs = tr->batch < train->count ? tr->batch : train->count;
    run_buffers b = {0};
    b.perm = jn__alloc(train->count, sizeof *b.perm, "jn_trainer_run");
    b.X = jn__alloc(bs, D * sizeof(float), "jn_trainer_run");
    b.Xloss = jn__alloc(bs, D * sizeof(float), "jn_trainer_run");
    b.Xjac = jn__alloc(bs, D * sizeof(float), "jn_trainer_run");
    b.Y = jn__alloc(bs, K * sizeof(float), "jn_trainer_run");
    b.grad = jn__alloc(P, sizeof(float), "jn_trainer_run");
    b.best = jn__alloc(P, sizeof(float), "jn_trainer_run");
    /* The workspace too is reserved before the first step (workspace.c), so
     * that running out of memory leaves net and opt as they were. */
    st = !b.perm || !b.X || !b.Xloss || !b.Xjac || !b.Y || !b.grad || !b.best
             ? JN_ERR_NOMEM
             : jn__work_reserve_run(net, obj, bs, valid ? valid->count : 0);
    if (st != JN_OK) {
        free_buffers(&b);
        return st;
    }
    /* One independent stream per consumer of randomness. */
    jn__rng_seed(&b.shuffle, tr->seed, 0);
    jn__rng_seed(&b.loss_noise, tr->seed, 1);
    jn__rng_seed(&b.jac_noise, tr->seed, 2);
    memcpy(b.best, net->params, P * sizeof(float));

    jn_epoch_report rep = {0};
    rep.best_valid_error = valid ? INFINITY : -1.0;
    unsigned long step = 0;
    unsigned since_best = 0;
    size_t batches = (train->count + bs - 1) / bs;
    for (unsigned epoch = 1; epoch <= tr->epochs && st == JN_OK; epoch++) {
        double t0 = now_seconds(), sum = 0.0;
        jn_dataset_shuffle(train, &b.shuffle, b.perm);
        for (size_t k = 0; k < batches && st == JN_OK; k++, step++) {
            size_t start = k * bs, m = train->count - start < bs ? train->count - start : bs;
            if (tr->shard_size > 0) {
                /* This process's contiguous share of the global minibatch:
                 * the first m % size processes take one row more. */
                size_t base = m / tr->shard_size, extra = m % tr->shard_size, r = tr->shard_rank;
                start += r * base + (r < extra ? r : extra);
                m = base + (r < extra);
            }
            double value = 0.0;
            st = train_batch(tr, net, obj, opt, train, &b, b.perm + start, m, epoch, step, &value);
            sum += value;
            if (st == JN_OK && tr->on_batch && tr->on_batch(epoch, k + 1, batches, tr->batch_user))
                st = jn__fail(JN_ERR_STOPPED, "jn_trainer_run: stopped by the batch callback in epoch %u after "
                              "minibatch %zu", epoch, k + 1);
        }
        if (st != JN_OK) break;
        rep.epoch = epoch;
        rep.train_objective = sum / (double)batches;
        rep.valid_error = -1.0;
        if (valid && (st = jn__validation_score(net, obj, valid, &rep.valid_error)) != JN_OK) break;
        if (valid && rep.valid_error < rep.best_valid_error) {
            rep.best_valid_error = rep.valid_error;
            rep.best_epoch = epoch;
            memcpy(b.best, net->params, P * sizeof(float));
            since_best = 0;
        } else {
            since_best++;
        }
        rep.seconds = now_seconds() - t0;
        rep.lr = jn_optimizer_lr(opt);
        if (tr->on_epoch && tr->on_epoch(&rep, tr->epoch_user))
            st = jn__fail(JN_ERR_STOPPED, "jn_trainer_run: stopped by the epoch callback after epoch %u", epoch);
        if (valid && tr->patience && since_best >= tr->patience) break;
    }
    /* Early stopping keeps the best parameters; on divergence the network
     * stays at its last finite ones. */
    if (valid && rep.best_epoch > 0 && st != JN_ERR_DIVERGED) memcpy(net->params, b.best, P * sizeof(float));
    free_buffers(&b);
    return st;
}
