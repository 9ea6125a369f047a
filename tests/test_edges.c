/* test_edges.c - bad input at the edges a user meets first, each refused
 * with a status and a message naming the file or argument at fault:
 *   - a network whose input width does not match the data,
 *   - labels beyond the network's outputs,
 *   - a model file made for another architecture,
 *   - an empty data file, for every loader (raw and gzip) and jn_net_load,
 *   - a directory given where a file is expected, for every loader,
 *     jn_net_load and jn_net_save, and a file given where the data
 *     directory is expected. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"

static char *tmp;

static const char *path_of(const char *name)
{
    static char buf[64][4096];
    static int next;
    char *p = buf[next++ % 64];
    snprintf(p, 4096, "%s/%s", tmp, name);
    return p;
}

static const char *write_file(const char *name, const void *data, size_t len, int gz)
{
    const char *p = path_of(name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        ck_assert(f != NULL);
        if (len) ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        ck_assert(f != NULL);
        if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        fclose(f);
    }
    return p;
}

static const char *make_dir(const char *name)
{
    const char *p = path_of(name);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    return p;
}

/* The call failed with `want`, its message names `what` and holds `detail`
 * (NULL: no detail asked). */
#define EXPECT_REFUSED(call, want, what, detail)                                                       \
    do {                                                                                               \
        jn_status st_ = (call);                                                                        \
        ck_assert_msg(st_ == (want), "%s: %s, want %s (%s)", #call, jn_status_str(st_),                \
                      jn_status_str(want), jn_last_error());                                           \
        ck_assert_msg(strstr(jn_last_error(), (what)) != NULL, "%s: message '%s' does not name '%s'",  \
                      #call, jn_last_error(), (what));                                                 \
        const char *d_ = (detail);                                                                     \
        ck_assert_msg(!d_ || strstr(jn_last_error(), d_), "%s: message '%s' lacks '%s'", #call,        \
                      jn_last_error(), d_ ? d_ : "");                                                  \
    } while (0)

static jn_net *make_net(size_t D, size_t H, size_t K)
{
    const size_t sizes[] = {D, H, K};
    return init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, 1);
}

static jn_dataset *make_data(size_t n, size_t D, size_t classes)
{
    float *x = malloc(n * D * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    fill_uniform(x, n * D, 3, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % classes);
    return dataset_from(x, y, n, D, classes);
}

START_TEST(input_width_mismatch)
{
    jn_net *net = make_net(8, 5, 3);
    jn_dataset *narrow = make_data(20, 6, 3), *right = make_data(20, 8, 3);
    float *before = malloc(jn_net_param_count(net) * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(net, before, jn_net_param_count(net)), JN_OK);
    EXPECT_REFUSED(train_one_epoch(net, narrow, NULL), JN_ERR_INVALID, "train", "6 features, the network takes 8");
    EXPECT_REFUSED(train_one_epoch(net, right, narrow), JN_ERR_INVALID, "valid", "6 features, the network takes 8");
    double err;
    EXPECT_REFUSED(jn_net_error_rate(net, narrow, &err), JN_ERR_INVALID, "ds", "6 features, the network takes 8");
    /* Refused before any step: the network is as it was. */
    float *after = malloc(jn_net_param_count(net) * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(net, after, jn_net_param_count(net)), JN_OK);
    ck_assert(memcmp(before, after, jn_net_param_count(net) * sizeof(float)) == 0);
    ck_assert_int_eq(train_one_epoch(net, right, right), JN_OK);
    free(before);
    free(after);
    jn_dataset_free(narrow);
    jn_dataset_free(right);
    jn_net_free(net);
}
END_TEST

START_TEST(labels_beyond_outputs)
{
    /* A CSV whose labels go up to 11: 12 classes, for a 10-output network. */
    const char text[] = "0,0.1,0.2\n11,0.3,0.4\n5,0.5,0.6\n";
    const char *p = write_file("labels.csv", text, strlen(text), 0);
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_load_csv(&ds, p, 0), JN_OK);
    ck_assert_uint_eq(jn_dataset_classes(ds), 12);
    jn_net *net = make_net(2, 4, 10);
    jn_dataset *ok = make_data(10, 2, 10);
    EXPECT_REFUSED(train_one_epoch(net, ds, NULL), JN_ERR_INVALID, "train", "12 classes, the network has 10 outputs");
    EXPECT_REFUSED(train_one_epoch(net, ok, ds), JN_ERR_INVALID, "valid", "12 classes, the network has 10 outputs");
    double err;
    EXPECT_REFUSED(jn_net_error_rate(net, ds, &err), JN_ERR_INVALID, "ds", "12 classes, the network has 10 outputs");
    /* Arrays with a label beyond the classes never become a dataset. */
    const float x[4] = {0, 0, 0, 0};
    const int32_t y[2] = {0, 10};
    jn_dataset *bad = NULL;
    EXPECT_REFUSED(jn_dataset_create(&bad, x, y, 2, 2, 10, 0), JN_ERR_INVALID, "labels[1]", "outside [0, 10)");
    ck_assert(bad == NULL);
    jn_dataset_free(ok);
    jn_dataset_free(ds);
    jn_net_free(net);
}
END_TEST

START_TEST(model_for_another_architecture)
{
    /* Saved for 8 inputs and 3 outputs, used with 6-feature, 4-class data. */
    jn_net *saved = make_net(8, 5, 3);
    const char *path = path_of("other.jnm");
    ck_assert_int_eq(jn_net_save(saved, path), JN_OK);
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_load(&net, path), JN_OK);
    jn_dataset *data = make_data(20, 6, 4), *wide_enough = make_data(20, 8, 4);
    EXPECT_REFUSED(train_one_epoch(net, data, NULL), JN_ERR_INVALID, "train", "6 features, the network takes 8");
    EXPECT_REFUSED(train_one_epoch(net, wide_enough, NULL), JN_ERR_INVALID, "train",
                   "4 classes, the network has 3 outputs");
    /* Its parameters into a network of the intended architecture. */
    jn_net *mine = make_net(6, 5, 4);
    size_t n = jn_net_param_count(net);
    float *p = malloc(n * sizeof(float));
    ck_assert_int_eq(jn_net_get_params(net, p, n), JN_OK);
    char want[96];
    snprintf(want, sizeof want, "count %zu, the network has %zu parameters", n, jn_net_param_count(mine));
    EXPECT_REFUSED(jn_net_set_params(mine, p, n), JN_ERR_INVALID, "jn_net_set_params", want);
    free(p);
    jn_net_free(mine);
    jn_dataset_free(data);
    jn_dataset_free(wide_enough);
    jn_net_free(net);
    jn_net_free(saved);
}
END_TEST

START_TEST(empty_files)
{
    jn_dataset *ds = (jn_dataset *)1;
    jn_net *net = (jn_net *)1;
    /* A valid label file to pair with an empty image file, and the reverse. */
    const unsigned char lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    const unsigned char img[17] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 200};
    const char *good_lab = write_file("good-labels", lab, sizeof lab, 0);
    const char *good_img = write_file("good-images", img, sizeof img, 0);
    for (int gz = 0; gz < 2; gz++) {
        char name[64];
        snprintf(name, sizeof name, "empty%s", gz ? ".gz" : "");
        const char *p = write_file(name, "", 0, gz);
        EXPECT_REFUSED(jn_dataset_load_idx(&ds, p, good_lab, 0), JN_ERR_FORMAT, p, "empty");
        ck_assert(ds == NULL);
        EXPECT_REFUSED(jn_dataset_load_idx(&ds, good_img, p, 0), JN_ERR_FORMAT, p, "empty");
        EXPECT_REFUSED(jn_dataset_load_usps(&ds, p), JN_ERR_FORMAT, p, "empty");
        EXPECT_REFUSED(jn_dataset_load_csv(&ds, p, 0), JN_ERR_FORMAT, p, "empty");
        ck_assert(ds == NULL);
    }
    /* Not empty, but nothing in it: blank lines, a CSV header alone. */
    const char *blank = write_file("blank.txt", "\n \n", 3, 0);
    EXPECT_REFUSED(jn_dataset_load_usps(&ds, blank), JN_ERR_FORMAT, blank, "no digits");
    const char *header = write_file("header.csv", "label,a,b\n", 10, 1);
    EXPECT_REFUSED(jn_dataset_load_csv(&ds, header, 0), JN_ERR_FORMAT, header, "no data rows");
    const char *model = write_file("empty.jnm", "", 0, 0);
    EXPECT_REFUSED(jn_net_load(&net, model), JN_ERR_FORMAT, model, "offset 0");
    ck_assert(net == NULL);
    /* The splits name the empty file among the four. */
    make_dir("m");
    make_dir("m/mnist");
    write_file("m/mnist/t10k-images-idx3-ubyte", img, sizeof img, 0);
    write_file("m/mnist/t10k-labels-idx1-ubyte", lab, sizeof lab, 0);
    write_file("m/mnist/train-images-idx3-ubyte.gz", "", 0, 1);
    const char *empty_lab = write_file("m/mnist/train-labels-idx1-ubyte", "", 0, 0);
    jn_dataset *tr = (jn_dataset *)1, *va = (jn_dataset *)1, *te = (jn_dataset *)1;
    EXPECT_REFUSED(jn_load_mnist(path_of("m"), 0, &tr, &va, &te), JN_ERR_FORMAT, empty_lab, "empty");
    ck_assert(tr == NULL && va == NULL && te == NULL);
}
END_TEST

START_TEST(directory_for_a_file)
{
    const char *d = make_dir("a-directory");
    const unsigned char lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    const char *good_lab = write_file("labels", lab, sizeof lab, 0);
    jn_dataset *ds = (jn_dataset *)1;
    EXPECT_REFUSED(jn_dataset_load_idx(&ds, d, good_lab, 0), JN_ERR_IO, d, "directory");
    ck_assert(ds == NULL);
    EXPECT_REFUSED(jn_dataset_load_idx(&ds, good_lab, d, 0), JN_ERR_IO, d, "directory");
    EXPECT_REFUSED(jn_dataset_load_usps(&ds, d), JN_ERR_IO, d, "directory");
    EXPECT_REFUSED(jn_dataset_load_csv(&ds, d, 0), JN_ERR_IO, d, "directory");
    ck_assert(ds == NULL);
    jn_net *net = (jn_net *)1;
    EXPECT_REFUSED(jn_net_load(&net, d), JN_ERR_IO, d, "directory");
    ck_assert(net == NULL);
    net = make_net(3, 2, 2);
    EXPECT_REFUSED(jn_net_save(net, d), JN_ERR_IO, d, "directory");
    jn_net_free(net);
    struct stat sb;
    ck_assert_int_eq(stat(d, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));

    /* A data file that is a directory inside the data directory. */
    make_dir("u");
    make_dir("u/usps");
    const char *train_dir = make_dir("u/usps/zip.train");
    const char test_line[] = "1 0 0\n";
    write_file("u/usps/zip.test", test_line, strlen(test_line), 0);
    jn_dataset *tr = (jn_dataset *)1;
    EXPECT_REFUSED(jn_load_usps(path_of("u"), &tr, NULL, NULL), JN_ERR_IO, train_dir, "directory");
    ck_assert(tr == NULL);

    /* A file where the data directory is expected: the argument, then the
     * environment variable. */
    const char *file = write_file("not-a-dir", "x", 1, 0);
    EXPECT_REFUSED(jn_load_mnist(file, 0, &tr, NULL, NULL), JN_ERR_IO, file, "the dir argument) is a file");
    EXPECT_REFUSED(jn_load_usps(file, &tr, NULL, NULL), JN_ERR_IO, file, "not a data directory");
    ck_assert_int_eq(setenv("JACNET_DATA", file, 1), 0);
    EXPECT_REFUSED(jn_load_mnist(NULL, 0, &tr, NULL, NULL), JN_ERR_IO, file, "$JACNET_DATA");
    unsetenv("JACNET_DATA");
    ck_assert(tr == NULL);
}
END_TEST

int main(void)
{
    if (!(tmp = make_temp_dir())) return 1;
    int rc = RUN_TESTS("edges", "edges", 0, input_width_mismatch, labels_beyond_outputs, model_for_another_architecture,
                       empty_files, directory_for_a_file);
    remove_temp_dir(tmp);
    return rc;
}
