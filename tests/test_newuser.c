/* test_newuser.c - what a new user trips on, each pinned down: training a
 * network that was never initialised, binarizing a CSV, the documented
 * thread range. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jn_dataset *labelled(size_t n)
{
    float *X = malloc(n * 4 * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * 4, 3, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) y[i] = X[i * 4] > 0.0f;
    return dataset_from(X, y, n, 4, 2);
}

/* A fresh network has all weights 0 and would train to nothing; the
 * trainer refuses it, names jn_net_init, and changes nothing. */
START_TEST(trainer_refuses_zero_weights)
{
    const size_t sizes[] = {4, 6, 2};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
    jn_dataset *ds = labelled(50);
    size_t P = jn_net_param_count(net);
    ck_assert_int_eq(train_one_epoch(net, ds, NULL), JN_ERR_INVALID);
    ck_assert_msg(strstr(jn_last_error(), "jn_net_init") != NULL, "message: %s", jn_last_error());
    for (size_t p = 0; p < P; p++) ck_assert(jn_net_params(net)[p] == 0.0f);

    /* Biases alone do not break the symmetry: still refused. */
    float *theta = jn_net_params(net);
    theta[4 * 6] = 0.3f;          /* b1[0] */
    theta[P - 1] = -0.2f;         /* b2[1] */
    ck_assert_int_eq(train_one_epoch(net, ds, NULL), JN_ERR_INVALID);
    /* One nonzero weight anywhere is the caller's deliberate choice. */
    theta[4 * 6 + 6 + 3] = 0.01f; /* W2[0][3] */
    ck_assert_int_eq(train_one_epoch(net, ds, NULL), JN_OK);
    /* and an initialised network trains as before */
    ck_assert_int_eq(jn_net_init(net, 1), JN_OK);
    ck_assert_int_eq(train_one_epoch(net, ds, NULL), JN_OK);
    jn_dataset_free(ds);
    jn_net_free(net);
}
END_TEST

/* JN_LOAD_BINARIZE on CSV thresholds the values as written at 1/2; without
 * it the values are kept as written (not scaled). */
START_TEST(csv_binarize)
{
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/b.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("label,a,b,c\n1,0.2,0.7,3\n0,0.5,-4,0.51\n", f);
    fclose(f);
    jn_dataset *raw = NULL, *bin = NULL;
    ck_assert_int_eq(jn_dataset_load_csv(&raw, path, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_load_csv(&bin, path, JN_LOAD_BINARIZE), JN_OK);
    const float want_raw[] = {0.2f, 0.7f, 3.0f, 0.5f, -4.0f, 0.51f};
    const float want_bin[] = {0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f};
    ck_assert_mem_eq(jn_dataset_features(raw), want_raw, sizeof want_raw);
    ck_assert_mem_eq(jn_dataset_features(bin), want_bin, sizeof want_bin);
    ck_assert_mem_eq(jn_dataset_labels(bin), jn_dataset_labels(raw), 2 * sizeof(int32_t));
    jn_dataset *none = (jn_dataset *)(uintptr_t)1;
    ck_assert_int_eq(jn_dataset_load_csv(&none, path, 2u), JN_ERR_INVALID);
    ck_assert_ptr_null(none);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "flags"));
    jn_dataset_free(raw);
    jn_dataset_free(bin);
    remove(path);
    remove(dir);
    free(dir);
}
END_TEST

/* jacnet.h: n in 1..256. */
START_TEST(thread_range)
{
    ck_assert_int_eq(jn_set_threads(0), JN_ERR_INVALID);
    ck_assert_int_eq(jn_set_threads(257), JN_ERR_INVALID);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
    /* 256 is accepted, whatever the BLAS: the library's own threads split
     * the products (the BLAS is held at one). */
    ck_assert_int_eq(jn_set_threads(256), JN_OK);
    ck_assert_int_eq(jn_set_threads(1), JN_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("newuser");
    ADD_CASE(s, "newuser", 0, ONCE(trainer_refuses_zero_weights), ONCE(csv_binarize), ONCE(thread_range));
    return run_suite(s);
}
