/* testutil.h - helpers shared by the Check test programs (the builders of
 * networks, datasets and runs: fixtures.h). */
#ifndef JACNET_TESTUTIL_H
#define JACNET_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <check.h>

#include "jacnet.h"
#include "fixtures.h"

/* One case of tests/oracle (see its README). Arrays are double. */
typedef struct oracle_case {
    char name[64];
    size_t sizes[16], n_sizes, n;
    jn_act hidden, output;
    jn_loss loss;
    double lambda_l2, lambda_jacobian;
    double *params, *X, *Xj, *Y, *F, *J, *jacobian_sqnorm, *grad;
    size_t n_params;
    double objective;
} oracle_case;

/* Directory of the oracle files: $JACNET_ORACLE, else tests/oracle. */
const char *oracle_dir(void);
/* Load <oracle_dir>/<name>.txt; 0 on failure (the test should fail). */
int oracle_load(oracle_case *c, const char *name);
void oracle_free(oracle_case *c);
/* A float copy of n doubles (caller frees). */
float *to_float(const double *v, size_t n);
/* Relative difference |a - b| / max(|b|, floor). */
double rel_diff(double a, double b, double floor);

/* Fill with uniform values in [lo, hi) from a small LCG (tests only). */
void fill_uniform(float *v, size_t n, unsigned seed, float lo, float hi);
/* A unique temporary directory for the test, created; caller frees. NULL,
 * said on stderr, when it cannot be created. */
char *make_temp_dir(void);
/* $JACNET_DATA for a test that needs the real data sets. When it is unset
 * or empty: prints "SKIP: ..." and returns NULL, or, with
 * JACNET_REQUIRE_DATA=1 (set by CI), prints "FAIL: ..." and exits with
 * status 1, so a missing data directory cannot pass as a skip. */
const char *realdata_dir(const char *test, const char *needs);
/* JN_TEST_VERBOSE set and not "0": the tests print their measurements. */
int verbose(void);
/* jn_act names, indexed by the enum, for messages. */
extern const char *const act_names[5];

/* Run a suite, return the exit status for main. */
int run_suite(Suite *s);

#endif
