/* test_realdata.c - the loaders on the real MNIST and USPS files in
 * $JACNET_DATA (skipped, with a message, when it is not set; a failure
 * instead when JACNET_REQUIRE_DATA=1). The expected counts are those of the
 * published files (labels per digit, sizes of the splits). */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static const char *data;
static char path_a[4096], path_b[4096];

static void mnist_paths(const char *prefix)
{
    snprintf(path_a, sizeof path_a, "%s/mnist/%s-images-idx3-ubyte.gz", data, prefix);
    snprintf(path_b, sizeof path_b, "%s/mnist/%s-labels-idx1-ubyte.gz", data, prefix);
}

START_TEST(mnist_idx)
{
    static const size_t want[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    jn_dataset *ds;
    mnist_paths("train");
    ck_assert_msg(jn_dataset_load_idx(&ds, path_a, path_b, 0) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 60000);
    ck_assert_uint_eq(jn_dataset_dim(ds), 784);
    ck_assert_uint_eq(jn_dataset_classes(ds), 10);
    const int32_t *y = jn_dataset_labels(ds);
    static const int32_t first[6] = {5, 0, 4, 1, 9, 2};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(y[i], first[i]);
    size_t per[10] = {0};
    for (size_t i = 0; i < 60000; i++) per[y[i]]++; /* labels are checked < 10 by the loader */
    for (int k = 0; k < 10; k++) ck_assert_uint_eq(per[k], want[k]);
    const float *x = jn_dataset_features(ds);
    /* Count, then assert once: Check's asserts are too slow per pixel. */
    double sum = 0;
    size_t outside = 0;
    for (size_t i = 0; i < 60000 * 784; i++) {
        outside += !(x[i] >= 0.0f && x[i] <= 1.0f);
        sum += x[i];
    }
    ck_assert_uint_eq(outside, 0);
    ck_assert_double_eq_tol(sum / (60000.0 * 784.0), 0.1307, 1e-4);
    jn_dataset_free(ds);

    mnist_paths("t10k");
    ck_assert_msg(jn_dataset_load_idx(&ds, path_a, path_b, 0) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 10000);
    jn_dataset_free(ds);
}
END_TEST

START_TEST(mnist_splits)
{
    jn_dataset *tr, *va, *te;
    ck_assert_msg(jn_load_mnist(data, 0, &tr, &va, &te) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(tr), 50000);
    ck_assert_uint_eq(jn_dataset_count(va), 10000);
    ck_assert_uint_eq(jn_dataset_count(te), 10000);
    /* valid is the tail of the training file: its first label is digit 50000
     * of the full set, which the train split must not contain. */
    jn_dataset *full;
    mnist_paths("train");
    ck_assert(jn_dataset_load_idx(&full, path_a, path_b, 0) == JN_OK);
    ck_assert_int_eq(jn_dataset_labels(va)[0], jn_dataset_labels(full)[50000]);
    ck_assert_float_eq(jn_dataset_features(va)[300], jn_dataset_features(full)[50000 * 784 + 300]);
    ck_assert_int_eq(jn_dataset_labels(tr)[49999], jn_dataset_labels(full)[49999]);
    jn_dataset_free(full);
    jn_dataset_free(tr);
    jn_dataset_free(va);
    jn_dataset_free(te);

    /* Only the wanted parts, and the same data through JACNET_DATA. */
    ck_assert(jn_load_mnist(NULL, 0, NULL, &va, NULL) == JN_OK);
    ck_assert_uint_eq(jn_dataset_count(va), 10000);
    jn_dataset_free(va);
}
END_TEST

START_TEST(mnist_binarized)
{
    jn_dataset *te;
    ck_assert_msg(jn_load_mnist(data, JN_LOAD_BINARIZE, NULL, NULL, &te) == JN_OK, "%s", jn_last_error());
    const float *x = jn_dataset_features(te);
    size_t ones = 0, other = 0;
    for (size_t i = 0; i < 10000 * 784; i++) {
        other += !(x[i] == 0.0f || x[i] == 1.0f);
        ones += x[i] == 1.0f;
    }
    ck_assert_uint_eq(other, 0);
    ck_assert(ones > 0);
    jn_dataset_free(te);
}
END_TEST

static void usps_counts(const jn_dataset *ds, const size_t want[10])
{
    size_t per[10] = {0};
    const int32_t *y = jn_dataset_labels(ds);
    for (size_t i = 0; i < jn_dataset_count(ds); i++) per[y[i]]++;
    for (int k = 0; k < 10; k++) ck_assert_uint_eq(per[k], want[k]);
}

START_TEST(usps)
{
    static const size_t want_train[10] = {1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644};
    static const size_t want_test[10] = {359, 264, 198, 166, 200, 160, 170, 147, 166, 177};
    jn_dataset *ds;
    snprintf(path_a, sizeof path_a, "%s/usps/zip.train.gz", data);
    ck_assert_msg(jn_dataset_load_usps(&ds, path_a) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 7291);
    ck_assert_uint_eq(jn_dataset_dim(ds), 256);
    usps_counts(ds, want_train);
    const float *x = jn_dataset_features(ds);
    size_t outside = 0;
    for (size_t i = 0; i < 7291 * 256; i++) outside += !(x[i] >= 0.0f && x[i] <= 1.0f);
    ck_assert_uint_eq(outside, 0);
    jn_dataset_free(ds);
    snprintf(path_a, sizeof path_a, "%s/usps/zip.test.gz", data);
    ck_assert_msg(jn_dataset_load_usps(&ds, path_a) == JN_OK, "%s", jn_last_error());
    usps_counts(ds, want_test);
    jn_dataset_free(ds);

    jn_dataset *tr, *va, *te;
    ck_assert_msg(jn_load_usps(data, &tr, &va, &te) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(tr), 5291);
    ck_assert_uint_eq(jn_dataset_count(va), 2000);
    ck_assert_uint_eq(jn_dataset_count(te), 2007);
    jn_dataset_free(tr);
    jn_dataset_free(va);
    jn_dataset_free(te);
}
END_TEST

int main(void)
{
    data = realdata_dir("test_realdata", "the MNIST and USPS files");
    if (!data) return 0;
    return RUN_TESTS("realdata", "realdata", 120, mnist_idx, mnist_splits, mnist_binarized, usps);
}
