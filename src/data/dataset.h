/* data/dataset.h - the dataset handle (dataset.c). */
#ifndef JN_DATASET_H
#define JN_DATASET_H

#include "base/base.h"

/* ---- datasets (dataset.c) ---- */
struct jn_dataset {
    size_t count, dim, classes;  /* classes: K, the target width, for a targets dataset */
    const float *features;
    const int32_t *labels;       /* NULL for a targets dataset */
    const float *targets;        /* count x classes float targets, or NULL for labels */
    float *own_features;         /* NULL when borrowed */
    int32_t *own_labels;
    float *own_targets;
};
/* A dataset owning uninitialised arrays of count x dim features and count
 * labels, for loaders to fill; classes set by the caller. */
jn_status jn__dataset_new(jn_dataset **out, size_t count, size_t dim, size_t classes);

#endif
