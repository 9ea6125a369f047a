/* dataset.c - in-memory datasets: features with integer labels or float
 * targets, slices, minibatches. */
#include "base/base.h"
#include "noise/noise.h"
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

jn_status jn__dataset_new(jn_dataset **out, size_t count, size_t dim, size_t classes)
{
    *out = NULL;
    size_t cells;
    if (count == 0 || dim == 0 || !jn__mul(count, dim, &cells))
        return jn__fail(JN_ERR_INVALID, "dataset of %zu x %zu features is empty or too large", count, dim);
    jn_dataset *ds = jn__calloc(1, sizeof *ds, "dataset");
    if (!ds) return JN_ERR_NOMEM;
    ds->own_features = jn__alloc(cells, sizeof(float), "dataset features");
    ds->own_labels = jn__alloc(count, sizeof(int32_t), "dataset labels");
    if (!ds->own_features || !ds->own_labels) {
        jn_dataset_free(ds);
        return JN_ERR_NOMEM;
    }
    ds->count = count;
    ds->dim = dim;
    ds->classes = classes;
    ds->features = ds->own_features;
    ds->labels = ds->own_labels;
    *out = ds;
    return JN_OK;
}

/* A dataset owning uninitialised count x dim features and count x K targets. */
static jn_status new_targets_dataset(jn_dataset **out, size_t count, size_t dim, size_t K)
{
    *out = NULL;
    size_t cells, tcells;
    if (count == 0 || dim == 0 || !jn__mul(count, dim, &cells) || !jn__mul(count, K, &tcells))
        return jn__fail(JN_ERR_INVALID, "dataset of %zu x %zu features, %zu targets each, is empty or too large",
                        count, dim, K);
    jn_dataset *ds = jn__calloc(1, sizeof *ds, "dataset");
    if (!ds) return JN_ERR_NOMEM;
    ds->own_features = jn__alloc(cells, sizeof(float), "dataset features");
    ds->own_targets = jn__alloc(tcells, sizeof(float), "dataset targets");
    if (!ds->own_features || !ds->own_targets) {
        jn_dataset_free(ds);
        return JN_ERR_NOMEM;
    }
    ds->count = count;
    ds->dim = dim;
    ds->classes = K;
    ds->features = ds->own_features;
    ds->targets = ds->own_targets;
    *out = ds;
    return JN_OK;
}

JN_API jn_status jn_dataset_create(jn_dataset **out, const float *features, const int32_t *labels,
                                   size_t count, size_t dim, size_t classes, unsigned flags)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_create: out is NULL");
    *out = NULL;
    if (!features || !labels)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create: %s is NULL", features ? "labels" : "features");
    if (classes == 0 || classes > INT32_MAX)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create: classes = %zu", classes);
    if (flags & ~JN_DATASET_BORROW) return jn__fail(JN_ERR_INVALID, "jn_dataset_create: unknown flags 0x%x", flags);
    size_t cells;
    if (count == 0 || dim == 0 || !jn__mul(count, dim, &cells))
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create: %zu x %zu features", count, dim);
    for (size_t i = 0; i < count; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return jn__fail(JN_ERR_INVALID, "jn_dataset_create: labels[%zu] = %d outside [0, %zu)", i,
                            (int)labels[i], classes);
    if (!jn__all_finite(features, cells))
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create: features hold NaN or Inf");
    jn_dataset *ds;
    if (flags & JN_DATASET_BORROW) {
        ds = jn__calloc(1, sizeof *ds, "jn_dataset_create");
        if (!ds) return JN_ERR_NOMEM;
        ds->count = count;
        ds->dim = dim;
        ds->classes = classes;
        ds->features = features;
        ds->labels = labels;
    } else {
        jn_status st = jn__dataset_new(&ds, count, dim, classes);
        if (st != JN_OK) return st;
        memcpy(ds->own_features, features, cells * sizeof(float));
        memcpy(ds->own_labels, labels, count * sizeof(int32_t));
    }
    *out = ds;
    return JN_OK;
}

JN_API jn_status jn_dataset_create_targets(jn_dataset **out, const float *features, const float *targets,
                                           size_t count, size_t dim, size_t K, unsigned flags)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: out is NULL");
    *out = NULL;
    if (!features || !targets)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: %s is NULL", features ? "targets" : "features");
    if (flags & ~JN_DATASET_BORROW)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: unknown flags 0x%x", flags);
    size_t cells, tcells;
    if (count == 0 || dim == 0 || K == 0 || K > JN_MAX_WIDTH || !jn__mul(count, dim, &cells) ||
        !jn__mul(count, K, &tcells))
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: %zu examples of %zu features and %zu targets",
                        count, dim, K);
    if (!jn__all_finite(features, cells))
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: features hold NaN or Inf");
    if (!jn__all_finite(targets, tcells))
        return jn__fail(JN_ERR_INVALID, "jn_dataset_create_targets: targets hold NaN or Inf");
    jn_dataset *ds;
    if (flags & JN_DATASET_BORROW) {
        ds = jn__calloc(1, sizeof *ds, "jn_dataset_create_targets");
        if (!ds) return JN_ERR_NOMEM;
        ds->count = count;
        ds->dim = dim;
        ds->classes = K;
        ds->features = features;
        ds->targets = targets;
    } else {
        jn_status st = new_targets_dataset(&ds, count, dim, K);
        if (st != JN_OK) return st;
        memcpy(ds->own_features, features, cells * sizeof(float));
        memcpy(ds->own_targets, targets, tcells * sizeof(float));
    }
    *out = ds;
    return JN_OK;
}

JN_API void jn_dataset_free(jn_dataset *ds)
{
    if (!ds) return;
    free(ds->own_features);
    free(ds->own_labels);
    free(ds->own_targets);
    free(ds);
}

JN_API size_t jn_dataset_count(const jn_dataset *ds) { return ds ? ds->count : 0; }
JN_API size_t jn_dataset_dim(const jn_dataset *ds) { return ds ? ds->dim : 0; }
JN_API size_t jn_dataset_classes(const jn_dataset *ds) { return ds ? ds->classes : 0; }
JN_API const float *jn_dataset_features(const jn_dataset *ds) { return ds ? ds->features : NULL; }
JN_API const int32_t *jn_dataset_labels(const jn_dataset *ds) { return ds ? ds->labels : NULL; }
JN_API const float *jn_dataset_targets(const jn_dataset *ds) { return ds ? ds->targets : NULL; }

JN_API jn_status jn_dataset_slice(jn_dataset **out, const jn_dataset *ds, size_t start, size_t count)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_slice: out is NULL");
    *out = NULL;
    if (!ds) return jn__fail(JN_ERR_INVALID, "jn_dataset_slice: ds is NULL");
    if (count == 0 || start > ds->count || count > ds->count - start)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_slice: [%zu, %zu + %zu) outside the %zu examples", start,
                        start, count, ds->count);
    jn_dataset *s;
    jn_status st = ds->targets ? new_targets_dataset(&s, count, ds->dim, ds->classes)
                               : jn__dataset_new(&s, count, ds->dim, ds->classes);
    if (st != JN_OK) return st;
    memcpy(s->own_features, ds->features + start * ds->dim, count * ds->dim * sizeof(float));
    if (ds->targets)
        memcpy(s->own_targets, ds->targets + start * ds->classes, count * ds->classes * sizeof(float));
    else
        memcpy(s->own_labels, ds->labels + start, count * sizeof(int32_t));
    *out = s;
    return JN_OK;
}

static jn_status check_idx(const jn_dataset *ds, const size_t *idx, size_t n, const char *fn)
{
    if (!ds) return jn__fail(JN_ERR_INVALID, "%s: ds is NULL", fn);
    if (!idx && n > ds->count) return jn__fail(JN_ERR_INVALID, "%s: n = %zu > %zu examples", fn, n, ds->count);
    if (idx)
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= ds->count)
                return jn__fail(JN_ERR_INVALID, "%s: idx[%zu] = %zu >= %zu examples", fn, i, idx[i], ds->count);
    return JN_OK;
}

JN_API jn_status jn_dataset_onehot(const jn_dataset *ds, const size_t *idx, size_t n, float *Y)
{
    if (!Y) return jn__fail(JN_ERR_INVALID, "jn_dataset_onehot: Y is NULL");
    jn_status st = check_idx(ds, idx, n, "jn_dataset_onehot");
    if (st != JN_OK) return st;
    if (!ds->labels)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_onehot: the dataset has float targets, not labels "
                        "(jn_dataset_gather_targets copies them)");
    memset(Y, 0, n * ds->classes * sizeof(float));
    for (size_t i = 0; i < n; i++) Y[i * ds->classes + ds->labels[idx ? idx[i] : i]] = 1.0f;
    return JN_OK;
}

JN_API jn_status jn_dataset_gather_targets(const jn_dataset *ds, const size_t *idx, size_t n, float *Y)
{
    if (!Y) return jn__fail(JN_ERR_INVALID, "jn_dataset_gather_targets: Y is NULL");
    jn_status st = check_idx(ds, idx, n, "jn_dataset_gather_targets");
    if (st != JN_OK) return st;
    if (!ds->targets) return jn_dataset_onehot(ds, idx, n, Y);
    size_t K = ds->classes;
    for (size_t i = 0; i < n; i++) memcpy(Y + i * K, ds->targets + (idx ? idx[i] : i) * K, K * sizeof(float));
    return JN_OK;
}

JN_API jn_status jn_dataset_gather(const jn_dataset *ds, const size_t *idx, size_t n, float *X)
{
    if (!X) return jn__fail(JN_ERR_INVALID, "jn_dataset_gather: X is NULL");
    jn_status st = check_idx(ds, idx, n, "jn_dataset_gather");
    if (st != JN_OK) return st;
    for (size_t i = 0; i < n; i++)
        memcpy(X + i * ds->dim, ds->features + (idx ? idx[i] : i) * ds->dim, ds->dim * sizeof(float));
    return JN_OK;
}

JN_API jn_status jn_dataset_shuffle(const jn_dataset *ds, jn_rng *rng, size_t *perm)
{
    if (!ds || !rng || !perm)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_shuffle: %s is NULL", !ds ? "ds" : !rng ? "rng" : "perm");
    for (size_t i = 0; i < ds->count; i++) perm[i] = i;
    for (size_t i = ds->count - 1; i > 0; i--) {
        /* Lemire-free modulo is fine here: bias is < count / 2^64. */
        size_t j = (size_t)(jn_rng_next(rng) % (uint64_t)(i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return JN_OK;
}
