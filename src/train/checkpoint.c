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
#include "data/dataset.h"
#include "net/net.h"
#include "noise/noise.h"
#include "train/objective.h"
#include "base/binio.h"
#include "net/model_file.h"
#include "data/reader.h"
#include "train/run.h"

#include <math.h>
#include <stddef.h>
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
    /* The labels, or the float targets (zlib would take a NULL pointer for
     * "start over" and give 0 for any data). */
    if (ds->labels) return (uint32_t)crc_le32(crc, ds->labels, ds->count);
    return (uint32_t)crc_le32(crc, ds->targets, ds->count * ds->classes);
}

/* ------------------------------------------------------------------ */
/* Field tables                                                        */
/* ------------------------------------------------------------------ */

/* Runs of fixed-width fields of one struct, in file order: the writer, the
 * reader and the identity check's messages all walk the same table, so
 * they cannot drift apart. In memory a field is an unsigned integer of 4
 * or 8 bytes (unsigned, an enum, uint32_t, uint64_t, size_t), a double or
 * a jn_rng; in the file a u32 or u64 (an f64 is its bits as a u64; a
 * stream is its four state words as u64s; a CRC is a u32 that a mismatch
 * names as other data). */
typedef enum { U32, U64, F64, RNG, CRC } field_type;

typedef struct field {
    size_t offset, size; /* of the member */
    field_type type;     /* in the file */
    const char *name;    /* in messages */
} field;

#define FIELD(type, member, file_type, name) {offsetof(type, member), sizeof(((type *)0)->member), file_type, name}
#define COUNT(table) (sizeof(table) / sizeof(table)[0])

/* The run's data and trainer settings, gathered from the run's arguments
 * (the validation fields are 0 without a validation set). */
typedef struct identity {
    uint64_t seed, batch, count, dim, classes, valid_count;
    uint32_t train_crc, valid_crc;
} identity;

/* What must match for a run to resume (docs/FORMAT.md, offsets 12-67). */
static const field IDENTITY[] = {
    FIELD(identity, seed, U64, "trainer seed"),
    FIELD(identity, batch, U64, "batch size"),
    FIELD(identity, count, U64, "training examples"),
    FIELD(identity, dim, U64, "features"),
    FIELD(identity, classes, U64, "classes"),
    FIELD(identity, train_crc, CRC, "training data"),
    FIELD(identity, valid_count, U64, "validation examples"),
    FIELD(identity, valid_crc, CRC, "validation data"),
};

/* Offsets 68-123. */
static const field OBJECTIVE[] = {
    FIELD(jn_objective, loss, U32, "objective loss"),
    FIELD(jn_objective, l2, F64, "objective l2"),
    FIELD(jn_objective, jacobian, F64, "objective Jacobian weight"),
    FIELD(jn_objective, projections, U32, "objective projections"),
    FIELD(jn_objective, target, U32, "objective penalty target"),
    FIELD(jn_objective, form, U32, "objective penalty form"),
    FIELD(jn_objective, every, U32, "objective penalty every"),
    FIELD(jn_objective, noise, U32, "objective noise kind"),
    FIELD(jn_objective, input_std, F64, "objective input noise"),
    FIELD(jn_objective, jacobian_std, F64, "objective Jacobian-input noise"),
};

/* Offsets 124-187. The kind comes first: a mismatch there is said as SGD
 * against Adam. */
static const field OPT_CONFIG[] = {
    FIELD(jn__opt_config, kind, U32, "optimizer kind"),
    FIELD(jn__opt_config, lr0, F64, "optimizer lr (as created)"),
    FIELD(jn__opt_config, momentum, F64, "optimizer momentum"),
    FIELD(jn__opt_config, beta1, F64, "optimizer beta1"),
    FIELD(jn__opt_config, beta2, F64, "optimizer beta2"),
    FIELD(jn__opt_config, eps, F64, "optimizer eps"),
    FIELD(jn__opt_config, schedule, U32, "optimizer schedule"),
    FIELD(jn__opt_config, gamma, F64, "optimizer schedule gamma"),
    FIELD(jn__opt_config, period, U64, "optimizer schedule period"),
};

/* The run's progress (offsets B to B + 36), checked once read. */
static const field POSITION[] = {
    FIELD(jn__run, epochs_done, U32, "epochs done"),
    FIELD(jn__run, batches_done, U64, "minibatches done"),
    FIELD(jn__run, step, U64, "step counter"),
    FIELD(jn__run, best_epoch, U32, "best epoch"),
    FIELD(jn__run, best_valid_error, F64, "best validation error"),
    FIELD(jn__run, since_best, U32, "epochs since the best"),
};

/* The random streams, the epoch's sums and the recovery counters (B + 36
 * to B + 216). */
static const field COUNTERS[] = {
    FIELD(jn__run, shuffle, RNG, "shuffle stream"),
    FIELD(jn__run, loss_noise, RNG, "loss-input noise stream"),
    FIELD(jn__run, jac_noise, RNG, "Jacobian-input noise stream"),
    FIELD(jn__run, sums.objective, F64, "objective sum"),
    FIELD(jn__run, sums.loss, F64, "loss sum"),
    FIELD(jn__run, sums.penalty, F64, "penalty sum"),
    FIELD(jn__run, sums.sqnorm, F64, "squared norm sum"),
    FIELD(jn__run, sums.seconds, F64, "seconds"),
    FIELD(jn__run, sums.sqnorm_batches, U64, "minibatches with a squared norm"),
    FIELD(jn__run, sums.errors, U64, "misclassified examples"),
    FIELD(jn__run, sums.examples, U64, "examples seen"),
    FIELD(jn__run, reference, F64, "recovery reference"),
    FIELD(jn__run, recoveries_epoch, U32, "recoveries in the epoch"),
    FIELD(jn__run, recoveries_total, U64, "recoveries in the run"),
};

/* The head of an optimizer state (its vectors follow it). */
static const field OPT_STATE[] = {
    FIELD(jn__opt_state, lr, F64, "optimizer state lr"),
    FIELD(jn__opt_state, t, U64, "optimizer state steps"),
    FIELD(jn__opt_state, n, U64, "optimizer state parameters"),
    FIELD(jn__opt_state, vectors, U32, "optimizer state vectors"),
};

static identity identity_of(const jn__run_args *a, const jn__run *run)
{
    identity id = {.seed = a->tr->seed,
                   .batch = a->tr->batch,
                   .count = a->train->count,
                   .dim = a->train->dim,
                   .classes = a->train->classes,
                   .valid_count = a->valid ? a->valid->count : 0,
                   .train_crc = run->train_crc,
                   .valid_crc = a->valid ? run->valid_crc : 0};
    return id;
}

/* An integer member of 4 or 8 bytes (or a double's bits), widened. */
static uint64_t get_bits(const void *base, const field *f)
{
    const unsigned char *p = (const unsigned char *)base + f->offset;
    if (f->size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Bytes of a field other than a stream in the file. */
static size_t file_width(const field *f) { return f->type == U32 || f->type == CRC ? 4 : 8; }

/* 0 when v does not fit the member (a u64 in a 4-byte size_t). */
static int set_bits(void *base, const field *f, uint64_t v)
{
    unsigned char *p = (unsigned char *)base + f->offset;
    if (f->size == 8) {
        memcpy(p, &v, 8);
        return 1;
    }
    uint32_t v32 = (uint32_t)v;
    memcpy(p, &v32, 4);
    return v32 == v;
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

static void put_fields(jn__sink *s, const void *base, const field *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == RNG) {
            const jn_rng *r = (const jn_rng *)((const unsigned char *)base + t[i].offset);
            for (int k = 0; k < 4; k++) jn__sink_u64(s, r->s[k]);
        } else {
            jn__sink_le(s, get_bits(base, &t[i]), file_width(&t[i]));
        }
    }
}

static void put_opt_state(jn__sink *s, const jn__opt_state *st)
{
    put_fields(s, st, OPT_STATE, COUNT(OPT_STATE));
    for (unsigned k = 0; k < st->vectors && st->n > 0; k++) jn__sink_f64s(s, st->s[k], st->n);
}

static void encode(const void *ctx, jn__sink *s)
{
    const ckpt_out *o = ctx;
    const jn__run_args *a = o->a;
    const jn__run *run = o->run;
    unsigned char head[12];
    memcpy(head, MAGIC, 8);
    jn__put_u32(head + 8, CHECKPOINT_VERSION);
    jn__sink_write(s, head, 12);
    identity id = identity_of(a, run);
    put_fields(s, &id, IDENTITY, COUNT(IDENTITY));
    put_fields(s, a->obj, OBJECTIVE, COUNT(OBJECTIVE));
    jn__opt_config cfg;
    jn__optimizer_config(a->opt, &cfg);
    put_fields(s, &cfg, OPT_CONFIG, COUNT(OPT_CONFIG));
    /* networks: the architecture is part of the identity */
    jn__sink_u64(s, o->model_len);
    jn__sink_write(s, o->model, o->model_len);
    jn__sink_u64(s, o->best_len);
    jn__sink_write(s, o->best, o->best_len);
    /* progress */
    put_fields(s, run, POSITION, COUNT(POSITION));
    put_fields(s, run, COUNTERS, COUNT(COUNTERS));
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

/* v in the fewest digits that read back as v: 0.1 as the user wrote it,
 * not 0.10000000000000001; two different doubles still print differently. */
static const char *shortest(char buf[32], double v)
{
    for (int digits = 1; digits < 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return buf;
    }
    snprintf(buf, 32, "%.17g", v);
    return buf;
}

/* Each field of the table, the file's against this run's, in order. */
static jn_status same_fields(const jn__run_args *a, const field *t, size_t n, const void *file, const void *mine)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t f = get_bits(file, &t[i]), m = get_bits(mine, &t[i]);
        /* Bit equality for doubles: the run must be the same one, not a
         * close one. */
        if (f == m) continue;
        if (t[i].type == CRC)
            return jn__fail(JN_ERR_INVALID,
                            "jn_trainer_run: checkpoint %s was written for other %s (CRC-32 0x%08x, this run's 0x%08x)",
                            a->tr->checkpoint, t[i].name, (unsigned)f, (unsigned)m);
        if (t[i].type != F64) return same_u64(a, t[i].name, f, m);
        double fv, mv;
        memcpy(&fv, &f, 8);
        memcpy(&mv, &m, 8);
        char fs[32], ms[32];
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: checkpoint %s was written with %s %s, this run has %s",
                        a->tr->checkpoint, t[i].name, shortest(fs, fv), shortest(ms, mv));
    }
    return JN_OK;
}

static jn_status read_u32(jn__source *s, uint32_t *v) { return jn__src_u32(s, v, "checkpoint fields"); }
static jn_status read_u64(jn__source *s, uint64_t *v) { return jn__src_u64(s, v, "checkpoint fields"); }

static jn_status read_rng(jn__source *s, jn_rng *r)
{
    jn_status st = JN_OK;
    for (int k = 0; k < 4 && st == JN_OK; k++) st = read_u64(s, &r->s[k]);
    return st;
}

static jn_status read_fields(jn__source *s, void *base, const field *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t at = s->pos, v;
        jn_status st;
        if (t[i].type == RNG) {
            if ((st = read_rng(s, (jn_rng *)((unsigned char *)base + t[i].offset))) != JN_OK) return st;
            continue;
        }
        if ((st = jn__src_le(s, &v, file_width(&t[i]), "checkpoint fields")) != JN_OK) return st;
        if (!set_bits(base, &t[i], v))
            return jn__src_error(s, at, "%s %llu does not fit this machine", t[i].name, (unsigned long long)v);
    }
    return JN_OK;
}

/* The run's identity, field by field against this run. */
static jn_status check_identity(const jn__run_args *a, jn__source *s, const jn__run *run)
{
    identity file_id, my_id = identity_of(a, run);
    jn_status st = read_fields(s, &file_id, IDENTITY, COUNT(IDENTITY));
    if (st != JN_OK) return st;
    /* Without a validation set the file's validation CRC is not looked at
     * (its count, 0, is). */
    if (!a->valid) my_id.valid_crc = file_id.valid_crc;
    if ((st = same_fields(a, IDENTITY, COUNT(IDENTITY), &file_id, &my_id)) != JN_OK) return st;

    jn_objective obj = {0};
    if ((st = read_fields(s, &obj, OBJECTIVE, COUNT(OBJECTIVE))) != JN_OK ||
        (st = same_fields(a, OBJECTIVE, COUNT(OBJECTIVE), &obj, a->obj)) != JN_OK)
        return st;

    jn__opt_config f, mine;
    jn__optimizer_config(a->opt, &mine);
    if ((st = read_fields(s, &f, OPT_CONFIG, COUNT(OPT_CONFIG))) != JN_OK) return st;
    if (f.kind != mine.kind)
        return jn__fail(JN_ERR_INVALID, "jn_trainer_run: checkpoint %s was written with %s, this run uses %s",
                        a->tr->checkpoint, f.kind ? "Adam" : "SGD", mine.kind ? "Adam" : "SGD");
    return same_fields(a, OPT_CONFIG + 1, COUNT(OPT_CONFIG) - 1, &f, &mine);
}

/* An optimizer state for P parameters with `vectors` vectors; the vectors
 * go into dst[] (allocated by the caller), or are skipped when dst is
 * NULL. */
static jn_status read_opt_state(jn__source *s, size_t P, unsigned vectors, jn__opt_state *st, double *const *dst)
{
    jn__opt_state h = {0};
    uint64_t at = s->pos;
    jn_status status = read_fields(s, &h, OPT_STATE, COUNT(OPT_STATE));
    if (status != JN_OK) return status;
    if (h.vectors != vectors || (h.n != 0 && h.n != P) || !(isfinite(h.lr) && h.lr > 0.0))
        return jn__src_error(s, at, "optimizer state (lr %g, %zu parameters, %u vectors) does not fit "
                             "this optimizer (%zu parameters, %u vectors)",
                             h.lr, h.n, h.vectors, P, vectors);
    st->lr = h.lr;
    st->t = h.t;
    st->n = h.n;
    st->vectors = h.vectors;
    for (unsigned k = 0; k < h.vectors && h.n > 0; k++) {
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
    uint32_t snap;
    uint64_t at = s->pos;
    jn_status st;
    if ((st = read_model(a, s, "current parameters", model)) != JN_OK) return st;
    jn_net *best = NULL;
    if ((st = read_model(a, s, "best parameters", &best)) != JN_OK) return st;
    memcpy(run->best, best->params, P * sizeof(float));
    jn_net_free(best);
    at = s->pos;
    /* run is scratch until the caller commits: read into it, then check. */
    if ((st = read_fields(s, run, POSITION, COUNT(POSITION))) != JN_OK) return st;
    size_t bs = a->tr->batch < count ? a->tr->batch : count;
    size_t batches = (count + bs - 1) / bs;
    if (run->batches_done > batches || run->best_epoch > run->epochs_done)
        return jn__src_error(s, at, "position (%u epochs and %zu of %zu minibatches done, best epoch %u) "
                             "is impossible", run->epochs_done, run->batches_done, batches, run->best_epoch);
    if ((st = read_fields(s, run, COUNTERS, COUNT(COUNTERS))) != JN_OK) return st;
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
        if (snap_epoch > run->epochs_done)
            return jn__src_error(s, at, "snapshot of epoch %u, after the %u epochs done", (unsigned)snap_epoch,
                                 run->epochs_done);
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
