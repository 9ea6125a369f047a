/* data.c - the data sets a command trains or evaluates on: one of the
 * report's (MNIST, binarized MNIST, USPS with their splits) from a data
 * directory, or any data set given as files. A file spec is an IDX pair
 * "IMAGES,LABELS" (raw or .gz), a CSV file (*.csv, *.csv.gz: label first),
 * or otherwise a USPS file (label then 256 values per line).
 * --input-scale pm1 then maps the features from [0, 1] to [-1, 1]: the
 * report's data sets load in [0, 1] (USPS's files hold [-1, 1], which its
 * loader maps to [0, 1]), and the scale is a setting to select like any
 * other, so it is applied here rather than by a separate copy of the data. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static jn_status load_file(const char *spec, jn_dataset **out)
{
    const char *comma = strchr(spec, ',');
    if (comma) {
        size_t n = (size_t)(comma - spec);
        char *images = malloc(n + 1);
        if (!images) return JN_ERR_NOMEM;
        memcpy(images, spec, n);
        images[n] = '\0';
        jn_status st = jn_dataset_load_idx(out, images, comma + 1, 0);
        free(images);
        return st;
    }
    if (ends_with(spec, ".csv") || ends_with(spec, ".csv.gz")) return jn_dataset_load_csv(out, spec, 0);
    return jn_dataset_load_usps(out, spec);
}

void data_free(data_sets *s)
{
    jn_dataset_free(s->train);
    jn_dataset_free(s->valid);
    jn_dataset_free(s->test);
    s->train = s->valid = s->test = NULL;
}

/* "cannot load FILE (--test): why": the file and the option that named it. */
static int fail(data_sets *s, const char *option, const char *what, jn_status st)
{
    fprintf(stderr, "jacnet: cannot load %s%s%s%s: %s\n", what, *option ? " (" : "", option, *option ? ")" : "",
            cli_plain_error(jn_last_error()));
    data_free(s);
    /* A missing or unreadable input is the caller's to fix: usage status. */
    return st == JN_ERR_NOMEM ? EXIT_RUN : EXIT_USAGE;
}

/* The last `fraction` of train becomes the validation set. */
static int split_valid(data_sets *s, double fraction)
{
    size_t n = jn_dataset_count(s->train), nv = (size_t)(fraction * (double)n + 0.5);
    if (nv == 0 || nv >= n) {
        char f[32];
        fprintf(stderr, "jacnet: --valid-fraction %s leaves %zu of %zu examples for validation\n", cli_num(f, fraction),
                nv, n);
        data_free(s);
        return EXIT_USAGE;
    }
    jn_dataset *head = NULL, *tail = NULL;
    jn_status st = jn_dataset_slice(&head, s->train, 0, n - nv);
    if (st == JN_OK) st = jn_dataset_slice(&tail, s->train, n - nv, nv);
    if (st != JN_OK) {
        jn_dataset_free(head);
        return fail(s, "", "a validation split", st);
    }
    jn_dataset_free(s->train);
    s->train = head;
    s->valid = tail;
    return 0;
}

static int load_sets(const data_spec *spec, int want_test, data_sets *s)
{
    memset(s, 0, sizeof *s);
    jn_status st;
    jn_dataset **test = want_test ? &s->test : NULL;
    if (spec->dataset) {
        snprintf(s->name, sizeof s->name, "%s", spec->dataset);
        const char *dir = spec->data_dir;
        if (!strcmp(spec->dataset, "mnist") || !strcmp(spec->dataset, "mnist-binary")) {
            unsigned flags = !strcmp(spec->dataset, "mnist-binary") ? JN_LOAD_BINARIZE : 0;
            st = jn_load_mnist(dir, flags, &s->train, &s->valid, test);
        } else if (!strcmp(spec->dataset, "usps")) {
            st = jn_load_usps(dir, &s->train, &s->valid, test);
        } else {
            fprintf(stderr, "jacnet: unknown --dataset '%s' (mnist, mnist-binary or usps)\n", spec->dataset);
            return EXIT_USAGE;
        }
        return st == JN_OK ? 0 : fail(s, "--dataset", spec->dataset, st);
    }
    /* A test file alone is what `jacnet eval --test FILE` loads. */
    int test_only = !spec->train && want_test && spec->test;
    if (!spec->train && !test_only) {
        fprintf(stderr, "jacnet: give --dataset NAME or --train FILE\n");
        return EXIT_USAGE;
    }
    snprintf(s->name, sizeof s->name, "files");
    if (spec->train && (st = load_file(spec->train, &s->train)) != JN_OK) return fail(s, "--train", spec->train, st);
    if (spec->valid) {
        if ((st = load_file(spec->valid, &s->valid)) != JN_OK) return fail(s, "--valid", spec->valid, st);
    } else if (spec->valid_fraction > 0) {
        int rc = split_valid(s, spec->valid_fraction);
        if (rc) return rc;
    }
    if (want_test && spec->test && (st = load_file(spec->test, &s->test)) != JN_OK) return fail(s, "--test", spec->test, st);
    return 0;
}

int data_check_scale(const char *command, const char *scale)
{
    if (!scale || !strcmp(scale, "01") || !strcmp(scale, "pm1")) return 0;
    return usage_error(command, "--input-scale '%s': 01 (features as loaded, in [0, 1]) or pm1 ([0, 1] mapped to [-1, 1])",
                       scale);
}

/* *ds with every feature x replaced by 2x - 1. Refuses a feature outside
 * [0, 1] (a CSV file keeps its values as written): the map is defined as
 * [0, 1] -> [-1, 1], and applying it elsewhere would hide a mistake. */
static int to_pm1(jn_dataset **ds, const char *what, data_sets *s)
{
    if (!*ds) return 0;
    size_t n = jn_dataset_count(*ds), dim = jn_dataset_dim(*ds);
    const float *x = jn_dataset_features(*ds);
    for (size_t i = 0; i < n * dim; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) {
            fprintf(stderr, "jacnet: --input-scale pm1 maps [0, 1] to [-1, 1], but the %s data hold %g (example %zu)\n",
                    what, (double)x[i], i / dim + 1);
            data_free(s);
            return EXIT_USAGE;
        }
    float *y = malloc(n * dim * sizeof *y);
    if (!y) return fail(s, "--input-scale", "the rescaled data", JN_ERR_NOMEM);
    /* In double: 2x - 1 is exact there, so the only rounding is the final one. */
    for (size_t i = 0; i < n * dim; i++) y[i] = (float)(2.0 * (double)x[i] - 1.0);
    jn_dataset *scaled = NULL;
    jn_status st = jn_dataset_create(&scaled, y, jn_dataset_labels(*ds), n, dim, jn_dataset_classes(*ds), 0);
    free(y);
    if (st != JN_OK) return fail(s, "--input-scale", "the rescaled data", st);
    jn_dataset_free(*ds);
    *ds = scaled;
    return 0;
}

int data_load(const data_spec *spec, int want_test, data_sets *s)
{
    memset(s, 0, sizeof *s);
    /* The commands check the name with their options; this guards the rest. */
    if (spec->input_scale && strcmp(spec->input_scale, "01") && strcmp(spec->input_scale, "pm1")) {
        fprintf(stderr, "jacnet: unknown --input-scale '%s' (01 or pm1)\n", spec->input_scale);
        return EXIT_USAGE;
    }
    int rc = load_sets(spec, want_test, s);
    if (rc || !spec->input_scale || strcmp(spec->input_scale, "pm1")) return rc;
    if ((rc = to_pm1(&s->train, "training", s)) != 0 || (rc = to_pm1(&s->valid, "validation", s)) != 0) return rc;
    return to_pm1(&s->test, "test", s);
}
