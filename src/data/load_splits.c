/* load_splits.c - the report's train/valid/test splits of MNIST and USPS
 * from a data directory: dir, else $JACNET_DATA, else ./data. */
#include "data/dataset.h"
#include "data/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MNIST_VALID 10000
#define USPS_VALID 2000
#define USPS_URL "https://hastie.su.domains/ElemStatLearn/data.html"

/* The data directory: dir, else $JACNET_DATA, else ./data. One that exists
 * but is not a directory is refused here, naming where it came from; a
 * missing one is left to the file lookup, whose message names the file. */
static jn_status data_dir(const char **dir, const char *fn)
{
    const char *from = "the dir argument";
    if (!*dir) {
        const char *env = getenv("JACNET_DATA");
        *dir = env && *env ? env : "./data";
        from = env && *env ? "$JACNET_DATA" : "the default";
    }
    struct stat sb;
    if (stat(*dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return jn__fail(JN_ERR_IO, "%s: '%s' (%s) is a file, not a data directory", fn, *dir, from);
    return JN_OK;
}

/* <dir>/<sub>/<name> if it exists, else the same with .gz. 0 if neither
 * exists (path then holds the .gz name) or the path is too long. */
static int find_file(char *path, size_t size, const char *dir, const char *sub, const char *name)
{
    int n = snprintf(path, size, "%s/%s/%s", dir, sub, name);
    if (n < 0 || (size_t)n + 3 >= size) return 0;
    if (access(path, F_OK) == 0) return 1;
    strcat(path, ".gz");
    return access(path, F_OK) == 0;
}

/* Split `all` into train = all but the last n_valid examples and valid = the
 * last n_valid; `all` is consumed. The training part keeps all's arrays,
 * trimmed in place, so the largest set is never copied. */
static jn_status split(jn_dataset *all, size_t n_valid, const char *what, jn_dataset **train,
                       jn_dataset **valid)
{
    if (all->count <= n_valid) {
        size_t have = all->count;
        jn_dataset_free(all);
        return jn__fail(JN_ERR_FORMAT, "%s: %zu examples, need more than the %zu of the validation set",
                        what, have, n_valid);
    }
    size_t n_train = all->count - n_valid;
    jn_dataset *v = NULL;
    if (valid) {
        jn_status st = jn_dataset_slice(&v, all, n_train, n_valid);
        if (st != JN_OK) {
            jn_dataset_free(all);
            return st;
        }
    }
    if (train) {
        all->count = n_train;
        /* Shrinking never fails in practice; keep the old block if it does. */
        float *f = jn__realloc(all->own_features, n_train * all->dim, sizeof(float), what);
        if (f) all->own_features = f;
        all->features = all->own_features;
        *train = all;
    } else {
        jn_dataset_free(all);
    }
    if (valid) *valid = v;
    return JN_OK;
}

static void clear3(jn_dataset **a, jn_dataset **b, jn_dataset **c)
{
    if (a) *a = NULL;
    if (b) *b = NULL;
    if (c) *c = NULL;
}

static void free3(jn_dataset **a, jn_dataset **b, jn_dataset **c)
{
    if (a) jn_dataset_free(*a);
    if (b) jn_dataset_free(*b);
    if (c) jn_dataset_free(*c);
    clear3(a, b, c);
}

static jn_status load_mnist_pair(jn_dataset **out, const char *dir, const char *prefix, unsigned flags)
{
    char img[4096], lab[4096], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    int have_img = find_file(img, sizeof img, dir, "mnist", name);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    int have_lab = find_file(lab, sizeof lab, dir, "mnist", name);
    if (!have_img || !have_lab)
        return jn__fail(JN_ERR_IO, "cannot find '%s' (nor without .gz); run `make data` or set JACNET_DATA",
                        have_img ? lab : img);
    return jn_dataset_load_idx(out, img, lab, flags);
}

JN_API jn_status jn_load_mnist(const char *dir, unsigned flags, jn_dataset **train, jn_dataset **valid,
                               jn_dataset **test)
{
    clear3(train, valid, test);
    if (flags & ~JN_LOAD_BINARIZE) return jn__fail(JN_ERR_INVALID, "jn_load_mnist: unknown flags 0x%x", flags);
    jn_status st = data_dir(&dir, "jn_load_mnist");
    if (st != JN_OK) return st;
    if (test && (st = load_mnist_pair(test, dir, "t10k", flags)) != JN_OK) return st;
    if (train || valid) {
        jn_dataset *all;
        if ((st = load_mnist_pair(&all, dir, "train", flags)) != JN_OK ||
            (st = split(all, MNIST_VALID, "MNIST training set", train, valid)) != JN_OK) {
            free3(train, valid, test);
            return st;
        }
    }
    return JN_OK;
}

static jn_status load_usps_file(jn_dataset **out, const char *dir, const char *name)
{
    char path[4096];
    if (!find_file(path, sizeof path, dir, "usps", name))
        return jn__fail(JN_ERR_IO,
                        "cannot find '%s' (nor without .gz): USPS is not in any package registry; get "
                        "zip.train.gz and zip.test.gz from " USPS_URL " and put them in %s/usps/",
                        path, dir);
    return jn_dataset_load_usps(out, path);
}

JN_API jn_status jn_load_usps(const char *dir, jn_dataset **train, jn_dataset **valid, jn_dataset **test)
{
    clear3(train, valid, test);
    jn_status st = data_dir(&dir, "jn_load_usps");
    if (st != JN_OK) return st;
    if (test && (st = load_usps_file(test, dir, "zip.test")) != JN_OK) return st;
    if (train || valid) {
        jn_dataset *all;
        if ((st = load_usps_file(&all, dir, "zip.train")) != JN_OK ||
            (st = split(all, USPS_VALID, "USPS training set", train, valid)) != JN_OK) {
            free3(train, valid, test);
            return st;
        }
    }
    return JN_OK;
}
