/* checkpoint.c - a training run's state in a file, and back (layout:
 * docs/FORMAT.md, "Checkpoint files").
 *
 * A checkpoint holds, inside a frame of its own, the run's identity (what
 * it must match to be resumed: trainer seed and batch size, data sizes and
 * CRCs, objective and optimizer settings), two complete model files
 * (current and best parameters, written by model_file.c, whose
 * architecture is part of the identity), the position and counters, the
 * three random streams, the optimizer state and, when a run stops
 * mid-epoch, the epoch's shuffle; with blow-up recovery, its snapshot. Writing goes through the
 * atomic save of binio.c. Reading takes the whole file into memory, checks
 * the CRC before looking at any field (so a damaged file is JN_ERR_FORMAT,
 * never a confusing mismatch), parses into scratch space and changes the
 * network and optimizer only once everything has been read and checked. */
#include "binio.h"
#include "model_file.h"
#include "reader.h"
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const unsigned char MAGIC[8] = {0x89, 'J', 'N', 'C', '\r', '\n', 0x1a, '\n'};
#define CHECKPOINT_VERSION 1u

/* ------------------------------------------------------------------ */
/* Data fingerprint                                                    */
/* ------------------------------------------------------------------ */

/* The CRC of n 4-byte values (float bits or int32) as little-endian bytes,
 * the order a file would hold them in, so that it does not depend on the
 * host. On a little-endian host those are the bytes in memory: 0.18 s
 * for MNIST's training set instead of 0.58 s through the conversion (same
 * CRC; measured on a busy 2-core machine). */
static unsigned long crc_le32(unsigned long crc, const void *values, size_t n)
{
    const uint32_t one = 1;
    if (*(const unsigned char *)&one == 1) return jn__crc(crc, values, 4 * n);
    const unsigned char *src = values;
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
        for (size_t j = 0; j < k; j++, i++) {
            uint32_t v;
            memcpy(&v, src + 4 * i, 4);
            jn__put_u32(buf + 4 * j, v);
        }
        crc = jn__crc(crc, buf, 4 * k);
    }
    return crc;
}

uint32_t jn__dataset_crc(const jn_dataset *ds)
{
    _Static_assert(sizeof(float) == 4 && sizeof(int32_t) == 4, "4-byte features and labels");
    unsigned long crc = crc_le32(crc32(0L, Z_NULL, 0), ds->features, ds->count * ds->dim);
    return (uint32_t)crc_le32(crc, ds->labels, ds->count);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

typedef struct ckpt_out {
    const jn__run_args *a;
    const jn__run *run;
    unsigned char *model, *best; /* model-file images */
    size_t model_len, best_len;
    int with_snapshot;
} ckpt_out;

static void put_opt_state(jn__sink *s, const jn__opt_state *st)
{
    jn__sink_f64(s, st->lr);
    jn__sink_u64(s, st->t);
    jn__sink_u64(s, st->n);
    jn__sink_u32(s, st->vectors);
    for (unsigned k = 0; k < st->vectors && st->n > 0; k++) jn__sink_f64s(s, st->s[k], st->n);
}

static void put_rng(jn__sink *s, const jn_rng *r)
{
    for (int k = 0; k < 4; k++) jn__sink_u64(s, r->s[k]);
}

static void encode(const void *ctx, jn__sink *s)
{
    const ckpt_out *o = ctx;
    const jn__run_args *a = o->a;
    const jn__run *run = o->run;
    const jn_objective *obj = a->obj;
    unsigned char head[12];
    memcpy(head, MAGIC, 8);
    jn__put_u32(head + 8, CHECKPOINT_VERSION);
    jn__sink_write(s, head, 12);
    /* identity */
    jn__sink_u64(s, a->tr->seed);
    jn__sink_u64(s, a->tr->batch);
    jn__sink_u64(s, a->train->count);
    jn__sink_u64(s, a->train->dim);
    jn__sink_u64(s, a->train->classes);
    jn__sink_u32(s, run->train_crc);
    jn__sink_u64(s, a->valid ? a->valid->count : 0);
    jn__sink_u32(s, a->valid ? run->valid_crc : 0);
    jn__sink_u32(s, (uint32_t)obj->loss);
    jn__sink_f64(s, obj->l2);
    jn__sink_f64(s, obj->jacobian);
    jn__sink_u32(s, obj->projections);
    jn__sink_u32(s, (uint32_t)obj->target);
    jn__sink_u32(s, (uint32_t)obj->form);
    jn__sink_u32(s, obj->every);
    jn__sink_u32(s, (uint32_t)obj->noise);
    jn__sink_f64(s, obj->input_std);
    jn__sink_f64(s, obj->jacobian_std);
    jn__opt_config cfg;
    jn__optimizer_config(a->opt, &cfg);
    jn__sink_u32(s, cfg.kind);
    jn__sink_f64(s, cfg.lr0);
    jn__sink_f64(s, cfg.momentum);
    jn__sink_f64(s, cfg.beta1);
    jn__sink_f64(s, cfg.beta2);
    jn__sink_f64(s, cfg.eps);
    jn__sink_u32(s, cfg.schedule);
    jn__sink_f64(s, cfg.gamma);
    jn__sink_u64(s, cfg.period);
    /* networks: the architecture is part of the identity */
    jn__sink_u64(s, o->model_len);
    jn__sink_write(s, o->model, o->model_len);
    jn__sink_u64(s, o->best_len);
    jn__sink_write(s, o->best, o->best_len);
    /* progress */
    jn__sink_u32(s, run->epochs_done);
    jn__sink_u64(s, run->batches_done);
    jn__sink_u64(s, run->step);
    jn__sink_u32(s, run->best_epoch);
    jn__sink_f64(s, run->best_valid_error);
    jn__sink_u32(s, run->since_best);
    put_rng(s, &run->shuffle);
    put_rng(s, &run->loss_noise);
    put_rng(s, &run->jac_noise);
    const jn__epoch_sums *sum = &run->sums;
    jn__sink_f64(s, sum->objective);
    jn__sink_f64(s, sum->loss);
    jn__sink_f64(s, sum->penalty);
    jn__sink_f64(s, sum->sqnorm);
    jn__sink_f64(s, sum->seconds);
    jn__sink_u64(s, sum->sqnorm_batches);
    jn__sink_u64(s, sum->errors);
    jn__sink_u64(s, sum->examples);
    jn__sink_f64(s, run->reference);
    jn__sink_u32(s, run->recoveries_epoch);
    jn__sink_u64(s, run->recoveries_total);
    jn__opt_state ost;
    jn__optimizer_state(a->opt, &ost);
    put_opt_state(s, &ost);
    /* the epoch in progress */
    if (run->batches_done > 0)
        for (size_t i = 0; i < a->train->count; i++) jn__sink_u64(s, run->perm[i]);
    jn__sink_u32(s, (uint32_t)o->with_snapshot);
    if (o->with_snapshot) {
        jn__sink_u32(s, run->snap_epoch);
        jn__sink_f32s(s, run->snap_params, a->net->n_params);
        put_opt_state(s, &run->snap_opt);
    }
    jn__sink_crc(s);
}

jn_status jn__checkpoint_save(const jn__run_args *a, const jn__run *run)
{
    ckpt_out o = {.a = a, .run = run, .with_snapshot = run->snap_params != NULL};
    jn_status st = jn__net_image(a->net, a->net->params, &o.model, &o.model_len);
    if (st == JN_OK) st = jn__net_image(a->net, run->best, &o.best, &o.best_len);
    if (st == JN_OK) st = jn__save_atomic(a->tr->checkpoint, "jn_trainer_run: checkpoint", encode, &o);
    free(o.model);
    free(o.best);
    return st;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

static jn_status same_u64(const jn__run_args *a, const char *what, uint64_t file, uint64_t mine)
{
    if (file == mine) return JN_OK;
    return jn__fail(JN_ERR_INVALID, "jn_trainer_run: checkpoint %s was written with %s %llu, this run has %llu",
                    a->tr->checkpoint, what, (unsigned long long)file, (unsigned long long)mine);
}

static jn_status same_f64(const jn__run_args *a, const char *what, double file, double mine)
{
    /* Bit equality: the run must be the same one, not a close one. */
    if (memcmp(&file, &mine, sizeof file) == 0) return JN_OK;
    return jn__fail(JN_ERR_INVALID, "jn_trainer_run: checkpoint %s was written with %s %.17g, this run has %.17g",
                    a->tr->checkpoint, what, file, mine);
}

static jn_status read_u32(jn__source *s, uint32_t *v) { return jn__src_u32(s, v, "checkpoint fields"); }
static jn_status read_u64(jn__source *s, uint64_t *v) { return jn__src_u64(s, v, "checkpoint fields"); }
static jn_status read_f64(jn__source *s, double *v) { return jn__src_f64(s, v, "checkpoint fields"); }

/* The run's identity, field by field against this run. */
static jn_status check_identity(const jn__run_args *a, jn__source *s, const jn__run *run)
{
    uint64_t u[5];
    uint32_t crc;
    jn_status st = JN_OK;
    for (int k = 0; k < 5 && st == JN_OK; k++) st = read_u64(s, &u[k]);
    if (st == JN_OK) st = read_u32(s, &crc);
    if (st != JN_OK) return st;
    if ((st = same_u64(a, "trainer seed", u[0], a->tr->seed)) != JN_OK) return st;
    if ((st = same_u64(a, "batch size", u[1], a->tr->batch)) != JN_OK) return st;
    if ((st = same_u64(a, "training examples", u[2], a->train->count)) != JN_OK) return st;
    if ((st = same_u64(a, "features", u[3], a->train->dim)) != JN_OK) return st;
    if ((st = same_u64(a, "classes", u[4], a->train->classes)) != JN_OK) return st;
    if (crc != run->train_crc)
        return jn__fail(JN_ERR_INVALID,
                        "jn_trainer_run: checkpoint %s was written for other training data (CRC-32 0x%08x, "
                        "this run's 0x%08x)",
                        a->tr->checkpoint, (unsigned)crc, (unsigned)run->train_crc);
    uint64_t valid_count;
    if ((st = read_u64(s, &valid_count)) != JN_OK || (st = read_u32(s, &crc)) != JN_OK) return st;
    if ((st = same_u64(a, "validation examples", valid_count, a->valid ? a->valid->count : 0)) != JN_OK)
        return st;
    if (a->valid && crc != run->valid_crc)
        return jn__fail(JN_ERR_INVALID,
                        "jn_trainer_run: checkpoint %s was written for other validation data (CRC-32 0x%08x, "
                        "this run's 0x%08x)",
                        a->tr->checkpoint, (unsigned)crc, (unsigned)run->valid_crc);

    const jn_objective *obj = a->obj;
    uint32_t loss, projections, target, form, every, noise;
    double l2, jacobian, input_std, jacobian_std;
    if ((st = read_u32(s, &loss)) || (st = read_f64(s, &l2)) || (st = read_f64(s, &jacobian)) ||
        (st = read_u32(s, &projections)) || (st = read_u32(s, &target)) || (st = read_u32(s, &form)) ||
        (st = read_u32(s, &every)) || (st = read_u32(s, &noise)) || (st = read_f64(s, &input_std)) ||
        (st = read_f64(s, &jacobian_std)))
        return st;
    if ((st = same_u64(a, "objective loss", loss, (uint64_t)obj->loss)) ||
        (st = same_f64(a, "objective l2", l2, obj->l2)) ||
        (st = same_f64(a, "objective Jacobian weight", jacobian, obj->jacobian)) ||
        (st = same_u64(a, "objective projections", projections, obj->projections)) ||
        (st = same_u64(a, "objective penalty target", target, (uint64_t)obj->target)) ||
        (st = same_u64(a, "objective penalty form", form, (uint64_t)obj->form)) ||
        (st = same_u64(a, "objective penalty every", every, obj->every)) ||
        (st = same_u64(a, "objective noise kind", noise, (uint64_t)obj->noise)) ||
        (st = same_f64(a, "objective input noise", input_std, obj->input_std)) ||
        (st = same_f64(a, "objective Jacobian-input noise", jacobian_std, obj->jacobian_std)))
        return st;

    jn__opt_config f, mine;
    jn__optimizer_config(a->opt, &mine);
    if ((st = read_u32(s, &f.kind)) || (st = read_f64(s, &f.lr0)) || (st = read_f64(s, &f.momentum)) ||
        (st = read_f64(s, &f.beta1)) || (st = read_f64(s, &f.beta2)) || (st = read_f64(s, &f.eps)) ||
        (st = read_u32(s, &f.schedule)) || (st = read_f64(s, &f.gamma)) || (st = read_u64(s, &f.period)))
        return st;
    if (f.kind != mine.kind)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: checkpoint %s was written with %s, this run uses %s",
                        a->tr->checkpoint, f.kind ? "Adam" : "SGD", mine.kind ? "Adam" : "SGD");
    if ((st = same_f64(a, "optimizer lr (as created)", f.lr0, mine.lr0)) ||
        (st = same_f64(a, "optimizer momentum", f.momentum, mine.momentum)) ||
        (st = same_f64(a, "optimizer beta1", f.beta1, mine.beta1)) ||
        (st = same_f64(a, "optimizer beta2", f.beta2, mine.beta2)) ||
        (st = same_f64(a, "optimizer eps", f.eps, mine.eps)) ||
        (st = same_u64(a, "optimizer schedule", f.schedule, mine.schedule)) ||
        (st = same_f64(a, "optimizer schedule gamma", f.gamma, mine.gamma)) ||
        (st = same_u64(a, "optimizer schedule period", f.period, mine.period)))
        return st;
    return JN_OK;
}

static jn_status read_rng(jn__source *s, jn_rng *r)
{
    jn_status st = JN_OK;
    for (int k = 0; k < 4 && st == JN_OK; k++) st = read_u64(s, &r->s[k]);
    return st;
}

/* An optimizer state for P parameters with `vectors` vectors; the vectors
 * go into dst[] (allocated by the caller), or are skipped when dst is
 * NULL. */
static jn_status read_opt_state(jn__source *s, size_t P, unsigned vectors, jn__opt_state *st, double *const *dst)
{
    uint64_t t, n;
    uint32_t v;
    double lr;
    uint64_t at = s->pos;
    jn_status status;
    if ((status = read_f64(s, &lr)) || (status = read_u64(s, &t)) || (status = read_u64(s, &n)) ||
        (status = read_u32(s, &v)))
        return status;
    if (v != vectors || (n != 0 && n != P) || !(isfinite(lr) && lr > 0.0))
        return jn__src_error(s, at, "optimizer state (lr %g, %llu parameters, %u vectors) does not fit "
                             "this optimizer (%zu parameters, %u vectors)",
                             lr, (unsigned long long)n, (unsigned)v, P, vectors);
    st->lr = lr;
    st->t = t;
    st->n = (size_t)n;
    st->vectors = v;
    for (unsigned k = 0; k < v && n > 0; k++) {
        if (dst) {
            if ((status = jn__src_f64s(s, dst[k], P, "optimizer state")) != JN_OK) return status;
        } else {
            if (8 * (uint64_t)P > s->len - s->pos)
                return jn__src_error(s, s->pos, "file ends inside the optimizer state (truncated)");
            s->pos += 8 * (uint64_t)P;
        }
        st->s[k] = dst ? dst[k] : NULL;
    }
    return JN_OK;
}

/* An embedded model file, parsed; it must have net's architecture. */
static jn_status read_model(const jn__run_args *a, jn__source *s, const char *label, jn_net **out)
{
    uint64_t len;
    jn_status st = read_u64(s, &len);
    if (st != JN_OK) return st;
    if (len > s->len - s->pos) return jn__src_error(s, s->pos, "file ends inside the %s (truncated)", label);
    char name[512];
    snprintf(name, sizeof name, "%s (%s)", s->name, label);
    st = jn__net_load_memory(out, s->mem + s->pos, (size_t)len, name);
    if (st != JN_OK) return st;
    s->pos += len;
    const jn_net *f = *out, *net = a->net;
    int same = f->layers == net->layers && f->hidden == net->hidden && f->output == net->output;
    for (size_t l = 0; same && l <= net->layers; l++) same = f->sizes[l] == net->sizes[l];
    if (same) return JN_OK;
    char have[256], want[256];
    size_t ph = 0, pw = 0;
    for (size_t l = 0; l <= f->layers && ph < sizeof have; l++)
        ph += (size_t)snprintf(have + ph, sizeof have - ph, l ? "-%zu" : "%zu", f->sizes[l]);
    for (size_t l = 0; l <= net->layers && pw < sizeof want; l++)
        pw += (size_t)snprintf(want + pw, sizeof want - pw, l ? "-%zu" : "%zu", net->sizes[l]);
    st = jn__fail(JN_ERR_INVALID,
                  "jn_trainer_run: checkpoint %s holds a %s network (%s, %s); this network is %s (%s, %s)",
                  a->tr->checkpoint, have, jn__act_name(f->hidden), jn__act_name(f->output), want,
                  jn__act_name(net->hidden), jn__act_name(net->output));
    jn_net_free(*out);
    *out = NULL;
    return st;
}

/* Everything after the identity, into run and scratch buffers: the two
 * networks (whose architecture must be this network's), the position and
 * counters, the optimizer state, the shuffle and the snapshot. */
static jn_status parse_state(const jn__run_args *a, jn__source *s, jn__run *run, jn__opt_state *ost,
                             double *const *ost_buf, jn_net **model, int *have_snapshot)
{
    size_t P = a->net->n_params, count = a->train->count;
    unsigned vectors = jn__optimizer_vectors(a->opt);
    uint32_t epochs_done, best_epoch, since_best, rec_epoch, snap;
    uint64_t batches_done, at = s->pos;
    jn_status st;
    if ((st = read_model(a, s, "current parameters", model)) != JN_OK) return st;
    jn_net *best = NULL;
    if ((st = read_model(a, s, "best parameters", &best)) != JN_OK) return st;
    memcpy(run->best, best->params, P * sizeof(float));
    jn_net_free(best);
    at = s->pos;
    if ((st = read_u32(s, &epochs_done)) || (st = read_u64(s, &batches_done)) || (st = read_u64(s, &run->step)) ||
        (st = read_u32(s, &best_epoch)) || (st = read_f64(s, &run->best_valid_error)) ||
        (st = read_u32(s, &since_best)))
        return st;
    size_t bs = a->tr->batch < count ? a->tr->batch : count;
    size_t batches = (count + bs - 1) / bs;
    if (batches_done > batches || best_epoch > epochs_done)
        return jn__src_error(s, at, "position (%u epochs and %llu of %zu minibatches done, best epoch %u) "
                             "is impossible", (unsigned)epochs_done, (unsigned long long)batches_done, batches,
                             (unsigned)best_epoch);
    run->epochs_done = epochs_done;
    run->batches_done = (size_t)batches_done;
    run->best_epoch = best_epoch;
    run->since_best = since_best;
    if ((st = read_rng(s, &run->shuffle)) || (st = read_rng(s, &run->loss_noise)) ||
        (st = read_rng(s, &run->jac_noise)))
        return st;
    jn__epoch_sums *sum = &run->sums;
    if ((st = read_f64(s, &sum->objective)) || (st = read_f64(s, &sum->loss)) || (st = read_f64(s, &sum->penalty)) ||
        (st = read_f64(s, &sum->sqnorm)) || (st = read_f64(s, &sum->seconds)) ||
        (st = read_u64(s, &sum->sqnorm_batches)) || (st = read_u64(s, &sum->errors)) ||
        (st = read_u64(s, &sum->examples)))
        return st;
    if ((st = read_f64(s, &run->reference)) || (st = read_u32(s, &rec_epoch)) ||
        (st = read_u64(s, &run->recoveries_total)))
        return st;
    run->recoveries_epoch = rec_epoch;
    if ((st = read_opt_state(s, P, vectors, ost, ost_buf)) != JN_OK) return st;
    for (size_t i = 0; i < count && run->batches_done > 0; i++) {
        uint64_t v;
        at = s->pos;
        if ((st = read_u64(s, &v)) != JN_OK) return st;
        if (v >= count) return jn__src_error(s, at, "shuffle entry %zu is %llu, beyond %zu examples", i,
                                             (unsigned long long)v, count);
        run->perm[i] = (size_t)v;
    }
    at = s->pos;
    if ((st = read_u32(s, &snap)) != JN_OK) return st;
    if (snap > 1) return jn__src_error(s, at, "snapshot flag %u, need 0 or 1", (unsigned)snap);
    *have_snapshot = snap && run->snap_params;
    if (snap && run->snap_params) {
        uint32_t snap_epoch;
        at = s->pos;
        if ((st = read_u32(s, &snap_epoch)) != JN_OK) return st;
        if (snap_epoch > epochs_done)
            return jn__src_error(s, at, "snapshot of epoch %u, after the %u epochs done", (unsigned)snap_epoch,
                                 (unsigned)epochs_done);
        run->snap_epoch = snap_epoch;
        if ((st = jn__src_f32s(s, run->snap_params, P, "snapshot parameters")) != JN_OK) return st;
        if ((st = read_opt_state(s, P, vectors, &run->snap_opt, run->snap_opt.s)) != JN_OK) return st;
    } else if (snap) {
        if (4 + 4 * (uint64_t)P > s->len - s->pos)
            return jn__src_error(s, s->pos, "file ends inside the snapshot (truncated)");
        s->pos += 4 + 4 * (uint64_t)P;
        jn__opt_state skip;
        if ((st = read_opt_state(s, P, vectors, &skip, NULL)) != JN_OK) return st;
    }
    if (s->pos != s->len)
        return jn__src_error(s, s->pos, "%llu bytes of unexpected data before the checksum",
                             (unsigned long long)(s->len - s->pos));
    return JN_OK;
}

jn_status jn__checkpoint_load(const jn__run_args *a, jn__run *run, int *have_snapshot)
{
    const char *path = a->tr->checkpoint;
    *have_snapshot = 0;
    jn__blob blob;
    jn_status st = jn__read_file(path, JN_MAX_BYTES, &blob);
    if (st != JN_OK) return st;
    jn__source s = {.mem = blob.data, .len = blob.len, .crc = crc32(0L, Z_NULL, 0), .name = path};
    jn_net *model = NULL;
    double *ost_buf[2] = {NULL, NULL};
    jn__opt_state ost = {0};
    size_t P = a->net->n_params;
    unsigned vectors = jn__optimizer_vectors(a->opt);

    if (blob.len < 16 || memcmp(blob.data, MAGIC, 8) != 0) {
        st = jn__src_error(&s, 0, "not a libjacnet checkpoint (bad magic number or shorter than 16 bytes)");
        goto done;
    }
    uint32_t version = jn__get_u32(blob.data + 8);
    if (version != CHECKPOINT_VERSION) {
        st = jn__src_error(&s, 8, "unsupported checkpoint version %u", (unsigned)version);
        goto done;
    }
    /* The CRC first: a damaged or truncated file must be JN_ERR_FORMAT,
     * whatever field the damage happens to hit. */
    uint32_t stored = jn__get_u32(blob.data + blob.len - 4);
    uint32_t computed = (uint32_t)jn__crc(crc32(0L, Z_NULL, 0), blob.data, blob.len - 4);
    if (stored != computed) {
        st = jn__src_error(&s, blob.len - 4,
                           "CRC-32 mismatch (stored 0x%08x, computed 0x%08x): the checkpoint is damaged or "
                           "truncated",
                           (unsigned)stored, (unsigned)computed);
        goto done;
    }
    s.len = blob.len - 4;
    s.pos = 12;
    if ((st = check_identity(a, &s, run)) != JN_OK) goto done;
    for (unsigned k = 0; k < vectors; k++)
        if (!(ost_buf[k] = jn__alloc(P, sizeof(double), "jn_trainer_run: checkpoint"))) {
            st = JN_ERR_NOMEM;
            goto done;
        }
    if ((st = parse_state(a, &s, run, &ost, ost_buf, &model, have_snapshot)) != JN_OK) goto done;
    /* Commit: the optimizer first (binding it may fail), then the
     * parameters. */
    if ((st = jn__optimizer_set_state(a->opt, &ost)) != JN_OK) goto done;
    memcpy(a->net->params, model->params, P * sizeof(float));
done:
    jn_net_free(model);
    free(ost_buf[0]);
    free(ost_buf[1]);
    jn__blob_free(&blob);
    return st;
}
