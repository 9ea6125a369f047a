/* load_csv.c - comma-separated examples: the label, then the features.
 *
 * An optional header is recognised by its first field not being an integer
 * (a data row always starts with its label). Every row must have the width
 * of the first one. Labels are integers 0..65535 and classes = largest + 1;
 * the cap keeps one-hot targets of a stray huge label from eating memory.
 * Features are taken as they are but must be finite. No quoting: fields
 * holding commas do not occur in numeric data. */
#include "data/dataset.h"
#include "data/reader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_LABEL 65535

static int blank(char c) { return c == ' ' || c == '\t'; }

/* Is [s, e) (already trimmed) an unsigned decimal integer? Its value (capped
 * just above CSV_MAX_LABEL) into *v. */
static int scan_label(const char *s, const char *e, long *v)
{
    if (s < e && *s == '+') s++;
    if (s == e) return 0;
    long x = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9') return 0;
        if (x <= CSV_MAX_LABEL) x = x * 10 + (*s - '0');
    }
    *v = x;
    return 1;
}

/* Next field of [*q, lend): trimmed bounds into *fs, *fe; *q moves past
 * the comma. Returns 1 if a comma ended the field (another one follows). */
static int next_field(const char **q, const char *lend, const char **fs, const char **fe)
{
    const char *s = *q;
    const char *c = memchr(s, ',', (size_t)(lend - s));
    const char *e = c ? c : lend;
    *q = c ? c + 1 : lend;
    while (s < e && blank(*s)) s++;
    while (e > s && blank(e[-1])) e--;
    *fs = s;
    *fe = e;
    return c != NULL;
}

#define TOKEN(s, e) (int)((e) - (s) > 24 ? 24 : (e) - (s)), (s)

jn_status jn__parse_csv(jn_dataset **out, const char *text, size_t len, const char *name)
{
    *out = NULL;
    float *feat = NULL;
    int32_t *labels = NULL;
    size_t feat_cap = 0, label_cap = 0, count = 0, line = 0, width = 0, first_line = 0;
    long max_label = -1;
    int seen_first = 0;
    jn_status st = JN_OK;
    const char *p = text, *end = text + len;
    const char *q, *lend;
    while (st == JN_OK && jn__next_line(&p, end, &q, &lend)) {
        line++;
        const char *t = q;
        while (t < lend && blank(*t)) t++;
        if (t == lend) continue;
        const char *fs, *fe;
        int more = next_field(&q, lend, &fs, &fe);
        long label;
        int is_int = scan_label(fs, fe, &label);
        if (!seen_first) {
            seen_first = 1;
            if (!is_int) continue; /* a header line */
        }
        if (!is_int) {
            st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: label '%.*s' is not an integer >= 0", name, line,
                          TOKEN(fs, fe));
            break;
        }
        if (label > CSV_MAX_LABEL) {
            st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: label '%.*s' is above the limit of %d", name, line,
                          TOKEN(fs, fe), CSV_MAX_LABEL);
            break;
        }
        if (!more) {
            st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: a label but no features", name, line);
            break;
        }
        if (width == 0) {
            /* The first data row fixes the number of features. */
            width = 1;
            for (const char *c = q; c < lend; c++) width += *c == ',';
            first_line = line;
        }
        if ((st = jn__reserve((void **)&feat, &feat_cap, (count + 1) * width, sizeof *feat, name)) != JN_OK ||
            (st = jn__reserve((void **)&labels, &label_cap, count + 1, sizeof *labels, name)) != JN_OK)
            break;
        float *row = feat + count * width;
        size_t field = 0;
        while (more) {
            more = next_field(&q, lend, &fs, &fe);
            if (field == width) {
                field++;
                break;
            }
            double v;
            size_t used = jn__scan_number(fs, (size_t)(fe - fs), &v);
            if (fs == fe || used != (size_t)(fe - fs)) {
                st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu field %zu: '%.*s' is not a number", name, line,
                              field + 2, TOKEN(fs, fe));
                break;
            }
            float f = (float)v;
            if (!isfinite(f)) {
                st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu field %zu: '%.*s' is not finite as a float", name,
                              line, field + 2, TOKEN(fs, fe));
                break;
            }
            row[field++] = f;
        }
        if (st == JN_OK && field != width) {
            st = jn__fail(JN_ERR_FORMAT, "'%s' line %zu: %s features, want %zu like line %zu", name, line,
                          field > width ? "more" : "fewer", width, first_line);
            break;
        }
        labels[count++] = (int32_t)label;
        if (label > max_label) max_label = label;
    }
    if (st == JN_OK && count == 0) st = jn__fail(JN_ERR_FORMAT, "'%s' holds no data rows", name);
    jn_dataset *ds = NULL;
    if (st == JN_OK && (st = jn__dataset_new(&ds, count, width, (size_t)max_label + 1)) == JN_OK) {
        memcpy(ds->own_features, feat, count * width * sizeof *feat);
        memcpy(ds->own_labels, labels, count * sizeof *labels);
        *out = ds;
    }
    free(feat);
    free(labels);
    return st;
}

JN_API jn_status jn_dataset_load_csv(jn_dataset **out, const char *path, unsigned flags)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_csv: out is NULL");
    *out = NULL;
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_csv: path is NULL");
    if (flags & ~JN_LOAD_BINARIZE) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_csv: unknown flags 0x%x", flags);
    jn__blob b;
    jn_status st = jn__read_file(path, JN__READ_CAP, &b);
    if (st != JN_OK) return st;
    st = jn__parse_csv(out, (const char *)b.data, b.len, path);
    jn__blob_free(&b);
    /* Values are kept as written (no scaling), so binarizing thresholds them
     * at 1/2, the IDX loader's threshold once pixels are in [0, 1]. */
    if (st == JN_OK && (flags & JN_LOAD_BINARIZE)) {
        jn_dataset *ds = *out;
        for (size_t i = 0, cells = ds->count * ds->dim; i < cells; i++)
            ds->own_features[i] = ds->own_features[i] > 0.5f ? 1.0f : 0.0f;
    }
    return st;
}
