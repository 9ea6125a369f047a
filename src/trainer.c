/* trainer.c - minibatch training with noise, validation, early stopping
 * (keeping the best parameters) and per-epoch / per-batch callbacks. Users
 * who want their own loop call jn_net_objective and jn_optimizer_step
 * directly; this file only strings those pieces together.
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
 *     stopped the run), unless the run diverged. */
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
    return JN_OK;
}

/* One minibatch: noise, objective, step. Returns the objective in *value. */
static jn_status train_batch(jn_net *net, const jn_objective *obj, jn_optimizer *opt, const jn_dataset *train,
                             run_buffers *b, const size_t *idx, size_t m, unsigned long step, uint64_t seed,
                             double *value)
{
    size_t D = net->sizes[0];
    jn_status st = jn_dataset_gather(train, idx, m, b->X);
    if (st == JN_OK) st = jn_dataset_onehot(train, idx, m, b->Y);
    if (st != JN_OK) return st;
    jn_objective local = *obj;
    const float *Xloss = b->X, *Xjac = NULL;
    if (obj->noise != JN_NOISE_NONE && obj->input_std > 0.0) {
        st = jn_corrupt(&b->loss_noise, obj->noise, obj->input_std, b->X, b->Xloss, m * D);
        Xloss = b->Xloss;
        Xjac = b->X; /* the Jacobian term keeps the clean input unless it has noise of its own */
    }
    if (st == JN_OK && obj->noise != JN_NOISE_NONE && obj->jacobian_std > 0.0 && obj->jacobian > 0.0) {
        st = jn_corrupt(&b->jac_noise, obj->noise, obj->jacobian_std, b->X, b->Xjac, m * D);
        Xjac = b->Xjac;
    }
    if (st != JN_OK) return st;
    /* Penalty every k-th step with weight k * lambda keeps its expectation. */
    local.jacobian = step % obj->every == 0 ? obj->jacobian * obj->every : 0.0;
    local.seed = seed ^ (0x9e3779b97f4a7c15ULL * (step + 1));
    st = jn_net_objective(net, &local, Xloss, Xjac, b->Y, m, value, b->grad);
    /* The optimizer already scans the gradient and refuses a non-finite one
     * (as invalid input); only then is the gradient scanned again here, to
     * report it as the divergence it is in a training run. */
    if (st == JN_OK) st = jn_optimizer_step(opt, net, b->grad);
    if (st == JN_ERR_DIVERGED || (st == JN_ERR_INVALID && !jn__all_finite(b->grad, net->n_params)))
        return jn__fail(JN_ERR_DIVERGED, "jn_trainer_run: objective, gradient or update not finite at step %lu; "
                        "the network keeps its last finite parameters", step);
    return st;
}

JN_API jn_status jn_trainer_run(jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                                const jn_dataset *train, const jn_dataset *valid)
{
    jn_status st = check_run_args(tr, net, obj, opt, train, valid);
    if (st != JN_OK) return st;
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
    if (!b.perm || !b.X || !b.Xloss || !b.Xjac || !b.Y || !b.grad || !b.best) {
        free_buffers(&b);
        return JN_ERR_NOMEM;
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
            double value = 0.0;
            st = train_batch(net, obj, opt, train, &b, b.perm + start, m, step, tr->seed, &value);
            sum += value;
            if (st == JN_OK && tr->on_batch && tr->on_batch(epoch, k + 1, batches, tr->batch_user))
                st = jn__fail(JN_ERR_STOPPED, "jn_trainer_run: stopped by the batch callback in epoch %u after "
                              "minibatch %zu", epoch, k + 1);
        }
        if (st != JN_OK) break;
        rep.epoch = epoch;
        rep.train_objective = sum / (double)batches;
        rep.valid_error = -1.0;
        if (valid && (st = jn_net_error_rate(net, valid, &rep.valid_error)) != JN_OK) break;
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
