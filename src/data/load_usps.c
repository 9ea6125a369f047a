/* load_usps.c - the USPS digits as distributed with "The Elements of
 * Statistical Learning" (zip.train, zip.test): one digit per line, the label
 * (0-9, written "6" or "6.0000") then 256 grey values in [-1, 1] separated
 * by blanks. Values are mapped to [0, 1] by (v + 1) / 2, like MNIST pixels. */
#include "data/dataset.h"
#include "data/reader.h"

#include <stdlib.h>
#include <string.h>

#define USPS_DIM 256
#define USPS_CLASSES 10
/* Rounding in the published files may step just outside [-1, 1]. */
#define USPS_TOL 1e-6

static int blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

jn_status jn__parse_usps(jn_dataset **out, const char *text, size_t len, const char *name)
{
    *out = NULL;
    float *feat = NULL;
    int32_t *labels = NULL;
    size_t feat_cap = 0, label_cap = 0, count = 0, line = 0;
    jn_status st = JN_OK;
    const char *p = text, *end = text + len;
    const char *q, *lend;
    while (st == JN_OK && jn__next_line(&p, end, &q, &lend)) {
        line++;
        while (q < lend && blank(*q)) q++;
        if (q == lend) continue; /* blank lines carry nothing */
        if ((st = jn__reserve((void **)&feat, &feat_cap, (count + 1) * USPS_DIM, sizeof *feat, name)) != JN_OK ||
            (st = jn__reserve((void **)&labels, &label_cap, count + 1, sizeof *labels, name)) != JN_OK)
            break;
        float *row = feat + count * USPS_DIM;
        int field = 0;
        while (q < lend) {
            const char *tok = q;
            while (q < lend && !blank(*q)) q++;
            size_t tlen = (size_t)(q - tok);
            while (q < lend && blank(*q)) q++;
            if (++field > 1 + USPS_DIM) {
                st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: more than %d fields (a label and %d values)",
                              name, line, 1 + USPS_DIM, USPS_DIM);
                break;
            }
            double v;
            if (jn__scan_number(tok, tlen, &v) != tlen) {
                st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu field %d: '%.*s' is not a number", name, line,
                              field, (int)(tlen > 24 ? 24 : tlen), tok);
                break;
            }
            if (field == 1) {
                if (!(v >= 0 && v <= USPS_CLASSES - 1) || v != (double)(int)v) {
                    st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: label '%.*s' is not a digit 0..9", name, line,
                                  (int)(tlen > 24 ? 24 : tlen), tok);
                    break;
                }
                labels[count] = (int32_t)v;
            } else {
                if (!(v >= -1.0 - USPS_TOL && v <= 1.0 + USPS_TOL)) {
                    st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu field %d: value %.*s outside [-1, 1]", name,
                                  line, field, (int)(tlen > 24 ? 24 : tlen), tok);
                    break;
                }
                v = v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
                row[field - 2] = (float)((v + 1.0) * 0.5);
            }
        }
        if (st == JN_OK && field != 1 + USPS_DIM)
            st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: %d fields, want %d (a label and %d values)", name,
                          line, field, 1 + USPS_DIM, USPS_DIM);
        count++;
    }
    if (st == JN_OK && count == 0) st = jn__fail(JN_ERR_FORMAT, "'%s' holds no digits", name);
    jn_dataset *ds = NULL;
    if (st == JN_OK && (st = jn__dataset_new(&ds, count, USPS_DIM, USPS_CLASSES)) == JN_OK) {
        memcpy(ds->own_features, feat, count * USPS_DIM * sizeof *feat);
        memcpy(ds->own_labels, labels, count * sizeof *labels);
        *out = ds;
    }
    free(feat);
    free(labels);
    return st;
}

JN_API jn_status jn_dataset_load_usps(jn_dataset **out, const char *path)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_usps: out is NULL");
    *out = NULL;
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_usps: path is NULL");
    jn__blob b;
    jn_status st = jn__read_file(path, JN__READ_CAP, &b);
    if (st != JN_OK) return st;
    st = jn__parse_usps(out, (const char *)b.data, b.len, path);
    jn__blob_free(&b);
    return st;
}
