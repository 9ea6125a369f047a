/* jacnet_mpi.c - libjacnet on MPI (include/jacnet_mpi.h): agreement on
 * local failures, sharding, parameter broadcast and hashes, data-parallel
 * training as the trainer's collective (jn_trainer_set_collective) made of
 * MPI_Allreduce and MPI_Bcast, and parallel sweeps.
 *
 * Only libjacnet's public API is used: this library is what any user could
 * write on top of jn_trainer_set_collective. */
#define JN_MPI_BUILDING_LIBRARY 1
#include "jacnet_mpi.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX 512
#define TAG_RECORD 7301

struct jn_mpi {
    MPI_Comm comm;
    int rank, size;
    unsigned patience; /* the deprecated setters' */
    int patience_set;
    jn_epoch_callback on_epoch;
    void *epoch_user;
};

/* ---- errors ---- */

static _Thread_local char last_error[MESSAGE_MAX];

JN_MPI_API const char *jn_mpi_last_error(void) { return last_error; }

JN_MPI_API unsigned jn_mpi_version(void) { return JN_MPI_VERSION_NUMBER; }

#ifdef __GNUC__
__attribute__((format(printf, 2, 3)))
#endif
static jn_status fail(jn_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

/* A failure only this rank sees, while the others wait in a collective
 * operation: say so and end the job rather than leave them hanging. */
#ifdef __GNUC__
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void abort_job(const jn_mpi *mp, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "jacnet-mpi: rank %d: %s\n", mp->rank, msg);
    fflush(stderr);
    MPI_Abort(mp->comm, 1);
    abort(); /* MPI_Abort does not return; this keeps the compiler sure of it */
}

/* malloc with the failure recorded as JN_ERR_NOMEM (libjacnet's allocator
 * helpers are internal to it). */
static void *alloc_or_fail(size_t count, size_t size, const char *what)
{
    if (size && count > SIZE_MAX / size) {
        fail(JN_ERR_NOMEM, "%s: %zu x %zu bytes overflow", what, count, size);
        return NULL;
    }
    size_t bytes = count * size;
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (!p) fail(JN_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
    return p;
}

/* ---- context ---- */

JN_MPI_API jn_status jn_mpi_create(jn_mpi **out, MPI_Comm comm)
{
    if (!out) return fail(JN_ERR_INVALID, "jn_mpi_create: out is NULL");
    *out = NULL;
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) return fail(JN_ERR_INVALID, "jn_mpi_create: MPI is not initialised (call MPI_Init first)");
    jn_mpi *mp = calloc(1, sizeof *mp);
    if (!mp) return fail(JN_ERR_NOMEM, "jn_mpi_create: out of memory");
    MPI_Comm_dup(comm, &mp->comm);
    MPI_Comm_rank(mp->comm, &mp->rank);
    MPI_Comm_size(mp->comm, &mp->size);
    *out = mp;
    return JN_OK;
}

JN_MPI_API void jn_mpi_free(jn_mpi *mp)
{
    if (!mp) return;
    MPI_Comm_free(&mp->comm);
    free(mp);
}

JN_MPI_API int jn_mpi_rank(const jn_mpi *mp) { return mp ? mp->rank : 0; }
JN_MPI_API int jn_mpi_size(const jn_mpi *mp) { return mp ? mp->size : 0; }

/* The lowest failing rank's status and "rank R: message" on every rank. */
static jn_status agree(jn_mpi *mp, jn_status local, const char *message)
{
    int mine = local == JN_OK ? INT_MAX : mp->rank, first = INT_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, mp->comm);
    if (first == INT_MAX) return JN_OK;
    struct { int status; char text[MESSAGE_MAX]; } verdict = {0};
    if (mp->rank == first) {
        verdict.status = (int)local;
        snprintf(verdict.text, sizeof verdict.text, "rank %d: %s", first, message ? message : "");
    }
    MPI_Bcast(&verdict, (int)sizeof verdict, MPI_BYTE, first, mp->comm);
    return fail((jn_status)verdict.status, "%s", verdict.text);
}

JN_MPI_API jn_status jn_mpi_agree(jn_mpi *mp, jn_status local, const char *message)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_agree: mp is NULL");
    return agree(mp, local, message ? message : jn_last_error());
}

/* ---- sharding ---- */

JN_MPI_API jn_status jn_mpi_shard_range(size_t count, int rank, int size, size_t *start, size_t *n)
{
    if (!start || !n) return fail(JN_ERR_INVALID, "jn_mpi_shard_range: %s is NULL", !start ? "start" : "n");
    if (size < 1 || rank < 0 || rank >= size)
        return fail(JN_ERR_INVALID, "jn_mpi_shard_range: rank %d of size %d", rank, size);
    size_t base = count / (size_t)size, extra = count % (size_t)size, r = (size_t)rank;
    *start = r * base + (r < extra ? r : extra);
    *n = base + (r < extra);
    return JN_OK;
}

JN_MPI_API jn_status jn_mpi_dataset_shard(const jn_mpi *mp, jn_dataset **out, const jn_dataset *ds)
{
    if (!out) return fail(JN_ERR_INVALID, "jn_mpi_dataset_shard: out is NULL");
    *out = NULL;
    if (!mp || !ds) return fail(JN_ERR_INVALID, "jn_mpi_dataset_shard: %s is NULL", !mp ? "mp" : "ds");
    size_t start, n, dim = jn_dataset_dim(ds);
    jn_mpi_shard_range(jn_dataset_count(ds), mp->rank, mp->size, &start, &n);
    if (n == 0) return JN_OK;
    const float *X = jn_dataset_features(ds) + start * dim;
    const int32_t *labels = jn_dataset_labels(ds);
    size_t K = jn_dataset_classes(ds);
    jn_status st = labels ? jn_dataset_create(out, X, labels + start, n, dim, K, JN_DATASET_BORROW)
                          : jn_dataset_create_targets(out, X, jn_dataset_targets(ds) + start * K, n, dim, K,
                                                      JN_DATASET_BORROW);
    if (st != JN_OK) return fail(st, "jn_mpi_dataset_shard: %s", jn_last_error());
    return JN_OK;
}

/* ---- hashes and parameters ---- */

/* 64-bit FNV-1a, continued from h. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

static uint64_t params_hash(const jn_net *net)
{
    return fnv1a(FNV_START, jn_net_params((jn_net *)net), jn_net_param_count(net) * sizeof(float));
}

/* Architecture: every width and both activations. */
static uint64_t shape_hash(const jn_net *net)
{
    uint64_t h = FNV_START;
    size_t layers = jn_net_layers(net);
    for (size_t l = 0; l <= layers; l++) {
        uint64_t w = jn_net_size(net, l);
        h = fnv1a(h, &w, sizeof w);
    }
    int acts[2] = {(int)jn_net_hidden_act(net), (int)jn_net_output_act(net)};
    return fnv1a(h, acts, sizeof acts);
}

static uint64_t dataset_hash(const jn_dataset *ds)
{
    if (!ds) return 0;
    uint64_t shape[3] = {jn_dataset_count(ds), jn_dataset_dim(ds), jn_dataset_classes(ds)};
    uint64_t h = fnv1a(FNV_START, shape, sizeof shape);
    h = fnv1a(h, jn_dataset_features(ds), shape[0] * shape[1] * sizeof(float));
    /* Labels, or the float targets of a dataset that has no labels. */
    if (jn_dataset_labels(ds)) return fnv1a(h, jn_dataset_labels(ds), shape[0] * sizeof(int32_t));
    return fnv1a(h ^ 1, jn_dataset_targets(ds), shape[0] * shape[2] * sizeof(float));
}

/* For each of n values: is it the same on every rank? One reduction of
 * (v, ~v) with MAX gives max(v) and ~min(v). */
static void same_everywhere(jn_mpi *mp, const uint64_t *v, int *same, int n)
{
    uint64_t buf[8];
    for (int i = 0; i < n; i++) {
        buf[i] = v[i];
        buf[n + i] = ~v[i];
    }
    MPI_Allreduce(MPI_IN_PLACE, buf, 2 * n, MPI_UINT64_T, MPI_MAX, mp->comm);
    for (int i = 0; i < n; i++) same[i] = buf[i] == ~buf[n + i];
}

/* The trainer's collective (jn_trainer_set_collective) on MPI. MPI counts
 * are int: large buffers go in pieces. */
#define CHUNK ((size_t)1 << 30)

static jn_status sum_floats(float *v, size_t n, void *user)
{
    jn_mpi *mp = user;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t len = n - at < CHUNK ? n - at : CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, v + at, (int)len, MPI_FLOAT, MPI_SUM, mp->comm);
    }
    return JN_OK;
}

static jn_status sum_doubles(double *v, size_t n, void *user)
{
    jn_mpi *mp = user;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t len = n - at < CHUNK ? n - at : CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, v + at, (int)len, MPI_DOUBLE, MPI_SUM, mp->comm);
    }
    return JN_OK;
}

static jn_status broadcast(void *buf, size_t bytes, unsigned root, void *user)
{
    jn_mpi *mp = user;
    for (size_t at = 0; at < bytes; at += CHUNK) {
        size_t len = bytes - at < CHUNK ? bytes - at : CHUNK;
        MPI_Bcast((char *)buf + at, (int)len, MPI_BYTE, (int)root, mp->comm);
    }
    return JN_OK;
}

JN_MPI_API jn_status jn_mpi_broadcast_net(jn_mpi *mp, jn_net *net)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_broadcast_net: mp is NULL");
    uint64_t count = net ? jn_net_param_count(net) : 0;
    int same;
    same_everywhere(mp, &count, &same, 1);
    jn_status st = agree(mp, net ? JN_OK : JN_ERR_INVALID, "jn_mpi_broadcast_net: net is NULL");
    if (st != JN_OK) return st;
    if (!same) return fail(JN_ERR_INVALID, "jn_mpi_broadcast_net: the ranks' networks differ in parameter count");
    return broadcast(jn_net_params(net), (size_t)count * sizeof(float), 0, mp);
}

JN_MPI_API jn_status jn_mpi_nets_equal(jn_mpi *mp, const jn_net *net, int *equal)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_nets_equal: mp is NULL");
    jn_status st = agree(mp, net && equal ? JN_OK : JN_ERR_INVALID, "jn_mpi_nets_equal: net or equal is NULL");
    if (st != JN_OK) return st;
    uint64_t h = params_hash(net);
    same_everywhere(mp, &h, equal, 1);
    return JN_OK;
}

/* ---- data-parallel training ---- */

/* Deprecated (jacnet_mpi.h): the trainer's own patience and epoch callback
 * do this now; these keep the old calls working as they did. */
JN_MPI_API jn_status jn_mpi_set_patience(jn_mpi *mp, unsigned patience)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_set_patience: mp is NULL");
    mp->patience = patience;
    mp->patience_set = 1;
    return JN_OK;
}

JN_MPI_API jn_status jn_mpi_set_epoch_callback(jn_mpi *mp, jn_epoch_callback cb, void *user)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_set_epoch_callback: mp is NULL");
    mp->on_epoch = cb;
    mp->epoch_user = user;
    return JN_OK;
}

/* The deprecated callback was called on rank 0 only. */
static int rank0_epoch(const jn_epoch_report *report, void *user)
{
    jn_mpi *mp = user;
    return mp->rank == 0 && mp->on_epoch(report, mp->epoch_user);
}

/* Local argument checks, so that a mistake on one rank fails everywhere. */
static jn_status check_train_args(jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                                  const jn_dataset *train)
{
    if (!tr || !net || !obj || !opt || !train)
        return fail(JN_ERR_INVALID, "jn_mpi_train: %s is NULL",
                    !tr ? "tr" : !net ? "net" : !obj ? "obj" : !opt ? "opt" : "train");
    return JN_OK;
}

JN_MPI_API jn_status jn_mpi_train(jn_mpi *mp, jn_trainer *tr, jn_net *net, const jn_objective *obj,
                                  jn_optimizer *opt, const jn_dataset *train, const jn_dataset *valid)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_train: mp is NULL");
    jn_status st = agree(mp, check_train_args(tr, net, obj, opt, train), last_error);
    if (st != JN_OK) return st;

    /* The same network shape and data everywhere, or the shares would not
     * add up to one minibatch. */
    uint64_t keys[3] = {shape_hash(net), dataset_hash(train), dataset_hash(valid)};
    int same[3];
    same_everywhere(mp, keys, same, 3);
    if (!same[0] || !same[1] || !same[2])
        return fail(JN_ERR_INVALID, "jn_mpi_train: the ranks' %s differ (hash); every rank must pass the same",
                    !same[0] ? "network shapes" : !same[1] ? "training sets" : "validation sets");

    const jn_collective ops = {(unsigned)mp->rank, (unsigned)mp->size, sum_floats, sum_doubles, broadcast};
    jn_trainer_set_collective(tr, &ops, mp);
    if (mp->patience_set) jn_trainer_set_patience(tr, mp->patience);
    if (mp->on_epoch) jn_trainer_set_epoch_callback(tr, rank0_epoch, mp);
    st = jn_trainer_run(tr, net, obj, opt, train, valid);
    jn_trainer_set_collective(tr, NULL, NULL);
    /* As the deprecated settings always left the trainer. */
    if (mp->patience_set) jn_trainer_set_patience(tr, 0);
    if (mp->on_epoch) jn_trainer_set_epoch_callback(tr, NULL, NULL);
    if (st != JN_OK) return fail(st, "jn_mpi_train: %s", jn_last_error());
    return JN_OK;
}

/* ---- parallel sweeps ---- */

/* A record on the wire: index, status, then the NUL-terminated text. */
typedef struct wire_head {
    uint64_t index;
    int32_t status;
} wire_head;

typedef struct sweep_state {
    jn_mpi_record_fn collect;
    void *collect_user;
    jn_status collect_status;
    size_t first_failed; /* lowest failing index, or SIZE_MAX */
    jn_status first_status;
    /* room left for the prefixes of the final message */
    char first_message[MESSAGE_MAX - 64];
    char collect_message[MESSAGE_MAX - 64];
} sweep_state;

static void deliver(sweep_state *w, size_t index, jn_status status, const char *text)
{
    if (status != JN_OK && (w->first_failed == SIZE_MAX || index < w->first_failed)) {
        w->first_failed = index;
        w->first_status = status;
        snprintf(w->first_message, sizeof w->first_message, "%s", text);
    }
    if (w->collect && w->collect_status == JN_OK) {
        jn_status st = w->collect(index, status, text, w->collect_user);
        if (st != JN_OK) {
            w->collect_status = st;
            snprintf(w->collect_message, sizeof w->collect_message, "collecting the record of point %zu: %s", index,
                     jn_status_str(st));
        }
    }
}

/* Receive one record from any rank (rank 0); blocking or not. Returns 1 if
 * one was delivered. */
static int receive_record(jn_mpi *mp, sweep_state *w, int block)
{
    MPI_Status probe;
    int ready = 1;
    if (block)
        MPI_Probe(MPI_ANY_SOURCE, TAG_RECORD, mp->comm, &probe);
    else
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RECORD, mp->comm, &ready, &probe);
    if (!ready) return 0;
    int bytes;
    MPI_Get_count(&probe, MPI_BYTE, &bytes);
    char *buf = alloc_or_fail((size_t)bytes, 1, "jn_mpi_sweep");
    if (!buf || bytes < (int)sizeof(wire_head) + 1) abort_job(mp, "jn_mpi_sweep: receiving a record: %s", last_error);
    MPI_Recv(buf, bytes, MPI_BYTE, probe.MPI_SOURCE, TAG_RECORD, mp->comm, MPI_STATUS_IGNORE);
    wire_head head;
    memcpy(&head, buf, sizeof head);
    buf[bytes - 1] = 0;
    deliver(w, (size_t)head.index, (jn_status)head.status, buf + sizeof head);
    free(buf);
    return 1;
}

/* Run one point; its record goes into text (JN_MPI_RECORD_MAX bytes). */
static jn_status run_point(size_t index, jn_mpi_point_fn run, void *user, char *text)
{
    text[0] = 0;
    jn_status st = run(index, text, JN_MPI_RECORD_MAX, user);
    text[JN_MPI_RECORD_MAX - 1] = 0;
    if (st != JN_OK && !text[0]) snprintf(text, JN_MPI_RECORD_MAX, "%s", jn_last_error());
    return st;
}

JN_MPI_API jn_status jn_mpi_sweep(jn_mpi *mp, size_t points, const unsigned char *done, jn_mpi_point_fn run,
                                  void *run_user, jn_mpi_record_fn collect, void *collect_user)
{
    if (!mp) return fail(JN_ERR_INVALID, "jn_mpi_sweep: mp is NULL");
    jn_status st = JN_OK;
    if (!run) st = fail(JN_ERR_INVALID, "jn_mpi_sweep: run is NULL");
    else if (mp->rank == 0 && !collect) st = fail(JN_ERR_INVALID, "jn_mpi_sweep: collect is NULL on rank 0");
    uint64_t count = points;
    int same;
    same_everywhere(mp, &count, &same, 1);
    if (st == JN_OK && !same) st = fail(JN_ERR_INVALID, "jn_mpi_sweep: the ranks disagree on the number of points");
    /* The points still to do, in order: rank 0's view, broadcast. */
    unsigned char *skip = st == JN_OK ? alloc_or_fail(points, 1, "jn_mpi_sweep") : NULL;
    char *text = st == JN_OK && skip ? alloc_or_fail(JN_MPI_RECORD_MAX, 1, "jn_mpi_sweep") : NULL;
    if (st == JN_OK && (!skip || !text)) st = JN_ERR_NOMEM;
    st = agree(mp, st, last_error);
    if (st != JN_OK) {
        free(skip);
        free(text);
        return st;
    }
    if (mp->rank == 0) {
        for (size_t i = 0; i < points; i++) skip[i] = done && done[i];
    }
    broadcast(skip, points, 0, mp);
    size_t todo = 0, mine = 0;
    for (size_t i = 0; i < points; i++)
        if (!skip[i]) mine += todo++ % (size_t)mp->size == (size_t)mp->rank;

    jn_set_threads(1); /* whole models per rank: ranks are the parallelism */
    sweep_state w = {.collect = collect, .collect_user = collect_user, .first_failed = SIZE_MAX};
    /* Workers keep each sent record, sized to fit, until its send completes. */
    char **sends = mp->rank == 0 ? NULL : calloc(mine ? mine : 1, sizeof *sends);
    MPI_Request *reqs = mp->rank == 0 ? NULL : alloc_or_fail(mine ? mine : 1, sizeof *reqs, "jn_mpi_sweep");
    if (mp->rank != 0 && (!sends || !reqs)) abort_job(mp, "jn_mpi_sweep: out of memory");

    size_t sent = 0, j = 0, received = 0;
    for (size_t i = 0; i < points; i++) {
        if (skip[i]) continue;
        if (j++ % (size_t)mp->size != (size_t)mp->rank) continue;
        jn_status pst = run_point(i, run, run_user, text);
        if (mp->rank == 0) {
            deliver(&w, i, pst, text);
            while (receive_record(mp, &w, 0)) received++;
            continue;
        }
        size_t len = strlen(text) + 1, bytes = sizeof(wire_head) + len;
        char *msg = alloc_or_fail(bytes, 1, "jn_mpi_sweep");
        if (!msg) abort_job(mp, "%s", last_error);
        wire_head head = {.index = i, .status = (int32_t)pst};
        memcpy(msg, &head, sizeof head);
        memcpy(msg + sizeof head, text, len);
        MPI_Isend(msg, (int)bytes, MPI_BYTE, 0, TAG_RECORD, mp->comm, &reqs[sent]);
        sends[sent++] = msg;
    }
    if (mp->rank == 0) {
        /* Everything the others still owe (some came in between rank 0's
         * own points). */
        for (; received < todo - mine; received++) receive_record(mp, &w, 1);
    } else {
        MPI_Waitall((int)sent, reqs, MPI_STATUSES_IGNORE);
        for (size_t k = 0; k < sent; k++) free(sends[k]);
    }
    free(sends);
    free(reqs);
    free(skip);
    free(text);

    /* Rank 0 knows every outcome: tell the others. */
    struct { int status; char text[MESSAGE_MAX]; } verdict = {0};
    if (mp->rank == 0) {
        if (w.collect_status != JN_OK) {
            verdict.status = (int)w.collect_status;
            snprintf(verdict.text, sizeof verdict.text, "jn_mpi_sweep: %s", w.collect_message);
        } else if (w.first_failed != SIZE_MAX) {
            verdict.status = (int)w.first_status;
            snprintf(verdict.text, sizeof verdict.text, "jn_mpi_sweep: point %zu failed: %s", w.first_failed,
                     w.first_message);
        }
    }
    MPI_Bcast(&verdict, (int)sizeof verdict, MPI_BYTE, 0, mp->comm);
    if (verdict.status != JN_OK) return fail((jn_status)verdict.status, "%s", verdict.text);
    return JN_OK;
}
