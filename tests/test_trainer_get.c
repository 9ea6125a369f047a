/* test_trainer_get.c - the trainer's getters (src/train/trainer_get.c): the
 * defaults after jn_trainer_create, every setter's value read back, a
 * refused setter leaving the setting as it was, and a NULL trainer reading
 * as 0. */
#include "testutil.h"

#include <string.h>

START_TEST(defaults_read_back)
{
    jn_trainer *tr;
    ck_assert_int_eq(jn_trainer_create(&tr), JN_OK);
    /* jacnet.h: 10 epochs, batch 100, patience 0, seed 1, no checkpoint,
     * no recovery, not sharded. */
    ck_assert_uint_eq(jn_trainer_epochs(tr), 10);
    ck_assert_uint_eq(jn_trainer_batch_size(tr), 100);
    ck_assert_uint_eq(jn_trainer_patience(tr), 0);
    ck_assert_uint_eq(jn_trainer_seed(tr), 1);
    unsigned every = 99, most = 99, rank = 99;
    double scale = 99.0;
    ck_assert_ptr_null(jn_trainer_checkpoint(tr, &every));
    ck_assert_uint_eq(every, 0);
    ck_assert(jn_trainer_recovery(tr, &scale, &most) == 0.0);
    ck_assert_uint_eq(jn_trainer_shard_size(tr, &rank), 0);
    ck_assert_uint_eq(rank, 0);
    jn_trainer_free(tr);
}
END_TEST

START_TEST(setters_read_back)
{
    jn_trainer *tr;
    ck_assert_int_eq(jn_trainer_create(&tr), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(tr, 37), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(tr, 20), JN_OK);
    ck_assert_int_eq(jn_trainer_set_patience(tr, 15), JN_OK);
    ck_assert_int_eq(jn_trainer_set_seed(tr, UINT64_C(0xfedcba9876543210)), JN_OK);
    ck_assert_int_eq(jn_trainer_set_checkpoint(tr, "run.jnc", 3), JN_OK);
    ck_assert_int_eq(jn_trainer_set_recovery(tr, 4.0, 0.25, 7), JN_OK);
    ck_assert_int_eq(jn_trainer_set_sharding(tr, 2, 5), JN_OK);
    ck_assert_uint_eq(jn_trainer_epochs(tr), 37);
    ck_assert_uint_eq(jn_trainer_batch_size(tr), 20);
    ck_assert_uint_eq(jn_trainer_patience(tr), 15);
    ck_assert(jn_trainer_seed(tr) == UINT64_C(0xfedcba9876543210)); /* all 64 bits */
    unsigned every = 0, most = 0, rank = 0;
    double scale = 0.0;
    ck_assert_str_eq(jn_trainer_checkpoint(tr, &every), "run.jnc");
    ck_assert_uint_eq(every, 3);
    ck_assert(jn_trainer_recovery(tr, &scale, &most) == 4.0);
    ck_assert(scale == 0.25);
    ck_assert_uint_eq(most, 7);
    ck_assert_uint_eq(jn_trainer_shard_size(tr, &rank), 5);
    ck_assert_uint_eq(rank, 2);
    /* NULL outputs are allowed. */
    ck_assert_str_eq(jn_trainer_checkpoint(tr, NULL), "run.jnc");
    ck_assert(jn_trainer_recovery(tr, NULL, NULL) == 4.0);
    ck_assert_uint_eq(jn_trainer_shard_size(tr, NULL), 5);
    /* A refused setter changes nothing. */
    ck_assert_int_eq(jn_trainer_set_epochs(tr, 0), JN_ERR_INVALID);
    ck_assert_uint_eq(jn_trainer_epochs(tr), 37);
    ck_assert_int_eq(jn_trainer_set_batch_size(tr, 0), JN_ERR_INVALID);
    ck_assert_uint_eq(jn_trainer_batch_size(tr), 20);
    /* Recovery off again: nothing of the earlier setting reads back. */
    ck_assert_int_eq(jn_trainer_set_recovery(tr, 0.0, 0.5, 3), JN_OK);
    ck_assert(jn_trainer_recovery(tr, &scale, &most) == 0.0);
    ck_assert(scale == 0.0);
    ck_assert_uint_eq(most, 0);
    /* Checkpoints off again. */
    ck_assert_int_eq(jn_trainer_set_checkpoint(tr, NULL, 0), JN_OK);
    ck_assert_ptr_null(jn_trainer_checkpoint(tr, &every));
    ck_assert_uint_eq(every, 0);
    jn_trainer_free(tr);
}
END_TEST

START_TEST(null_trainer_reads_zero)
{
    unsigned every = 9, most = 9, rank = 9;
    double scale = 9.0;
    ck_assert_uint_eq(jn_trainer_epochs(NULL), 0);
    ck_assert_uint_eq(jn_trainer_batch_size(NULL), 0);
    ck_assert_uint_eq(jn_trainer_patience(NULL), 0);
    ck_assert_uint_eq(jn_trainer_seed(NULL), 0);
    ck_assert_ptr_null(jn_trainer_checkpoint(NULL, &every));
    ck_assert(jn_trainer_recovery(NULL, &scale, &most) == 0.0);
    ck_assert(scale == 0.0 && most == 0 && every == 0);
    ck_assert_uint_eq(jn_trainer_shard_size(NULL, &rank), 0);
    ck_assert_uint_eq(rank, 0);
}
END_TEST

int main(void)
{
    return RUN_TESTS("trainer_get", "trainer_get", 0, defaults_read_back, setters_read_back, null_trainer_reads_zero);
}
