/* mpitest.h - helpers shared by the MPI test programs (tests/mpi/run.sh
 * starts them under mpirun). A failed check prints the rank and the
 * condition and ends the whole job at once with MPI_Abort, so a failure
 * never turns into a hang. */
#ifndef JACNET_MPITEST_H
#define JACNET_MPITEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jacnet_mpi.h"

static inline int world_rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "FAIL rank %d %s:%d: %s: ", world_rank(), __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fprintf(stderr, "\n");                                                           \
            fflush(stderr);                                                                  \
            MPI_Abort(MPI_COMM_WORLD, 3);                                                    \
        }                                                                                    \
    } while (0)

#define CHECK_OK(call)                                                                       \
    do {                                                                                     \
        jn_status st_ = (call);                                                              \
        CHECK(st_ == JN_OK, "%s: %s / %s", jn_status_str(st_), jn_last_error(), jn_mpi_last_error()); \
    } while (0)

/* count examples of dim features in [-1, 1) from a small LCG, labels by
 * which of `classes` slices the sum of the first two features falls in;
 * the same on every rank for the same seed. */
static inline jn_dataset *synthetic(size_t count, size_t dim, size_t classes, unsigned seed)
{
    float *X = malloc(count * dim * sizeof *X);
    int32_t *y = malloc(count * sizeof *y);
    unsigned long long s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < count * dim; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = (float)((s >> 40) * (2.0 / 16777216.0) - 1.0);
    }
    for (size_t i = 0; i < count; i++) {
        double t = (X[i * dim] + X[i * dim + 1] + 2.0) / 4.0; /* in [0, 1) */
        y[i] = (int32_t)(t * (double)classes);
        if (y[i] >= (int32_t)classes) y[i] = (int32_t)classes - 1;
    }
    jn_dataset *ds = NULL;
    jn_status st = jn_dataset_create(&ds, X, y, count, dim, classes, 0);
    CHECK(st == JN_OK, "%s", jn_last_error());
    free(X);
    free(y);
    return ds;
}

/* FNV-1a of the parameters' bits, for records. */
static inline unsigned long long params_fnv(jn_net *net)
{
    const unsigned char *p = (const unsigned char *)jn_net_params(net);
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < jn_net_param_count(net) * sizeof(float); i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#endif
