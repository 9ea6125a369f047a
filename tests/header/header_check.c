/* header_check.c - compiled (not run) by `make check-header` as C99, C11 and
 * C17 with -pedantic -Werror, and as C++11/17 by renaming: jacnet.h must
 * compile cleanly alone, first in its translation unit, and its macros and
 * types must be usable as documented. */
#include "jacnet.h"
#include "jacnet.h" /* the include guard */

#ifdef __cplusplus
extern "C" {
#endif

/* The status list makes a table of names, as a user's own code might. */
#define NAME_OF(name, text) #name,
static const char *const status_names[] = {JN_STATUS_LIST(NAME_OF)};
#undef NAME_OF

int jacnet_header_check(const jn_epoch_report *r);
int jacnet_header_check(const jn_epoch_report *r)
{
    jn_epoch_callback on_epoch = 0;
    jn_batch_callback on_batch = 0;
    jn_noise noise = JN_NOISE_GAUSSIAN;
    jn_act act = JN_ACT_TANH;
    jn_model model = JN_MODEL_MLP_NJ;
    jn_penalty_form form = JN_FORM_AUTO;
    unsigned flags = JN_DATASET_BORROW | JN_LOAD_BINARIZE;
    (void)on_epoch;
    (void)on_batch;
    return (int)(sizeof status_names / sizeof status_names[0]) == (int)JN_STATUS_COUNT_ && r->epoch > 0 &&
           noise != JN_NOISE_NONE && act != JN_ACT_RELU && model != JN_MODEL_MLP && form == JN_FORM_AUTO &&
           flags == 1u && JN_VERSION_NUMBER >= 100 && status_names[JN_ERR_INVALID][3] == 'E';
}

#ifdef __cplusplus
}
#endif
