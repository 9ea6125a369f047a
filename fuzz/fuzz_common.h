/* fuzz_common.h - shared by the libFuzzer targets. Inputs are parsed from
 * memory (fast); inputs that start like a gzip stream are also written to a
 * file and loaded through the public loader, so the zlib path is fuzzed too. */
#ifndef JACNET_FUZZ_COMMON_H
#define JACNET_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/reader.h"

static inline int fuzz_is_gzip(const uint8_t *d, size_t n) { return n >= 2 && d[0] == 0x1f && d[1] == 0x8b; }

/* Write n bytes to a per-process file named by tag; returns its path
 * (static storage per tag slot 0 or 1). */
static inline const char *fuzz_file(int slot, const uint8_t *d, size_t n)
{
    static char path[2][256];
    snprintf(path[slot], sizeof path[slot], "%s/jn-fuzz-%ld-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid(), slot);
    FILE *f = fopen(path[slot], "wb");
    if (!f) abort();
    if (n && fwrite(d, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
    return path[slot];
}

/* Every refusal must leave *out NULL and a message; every success a dataset
 * whose shape is consistent. */
static inline void fuzz_check(jn_status st, jn_dataset *ds)
{
    if (st != JN_OK) {
        if (ds != NULL || jn_last_error()[0] == '\0') abort();
        return;
    }
    if (!ds || ds->count == 0 || ds->dim == 0 || ds->classes == 0) abort();
    for (size_t i = 0; i < ds->count; i++)
        if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= ds->classes) abort();
    if (!jn__all_finite(ds->features, ds->count * ds->dim)) abort();
    jn_dataset_free(ds);
}

#endif
