/* testutil.h - helpers shared by the Check test programs. */
#ifndef JACNET_TESTUTIL_H
#define JACNET_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <check.h>

#include "jacnet.h"

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
/* A unique temporary directory for the test, created; caller frees. */
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

/* Builders for the tests; each asserts that every call succeeds. */
/* jn_rng_create(seed). */
jn_rng *seeded_rng(uint64_t seed);
/* A network of sizes with jn_net_init(seed)'s weights. */
jn_net *init_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, uint64_t seed);
/* init_net with every weight times weight_gain and the biases of layer l
 * (1-based) uniform in [-0.5, 0.5) from fill_uniform(seed * 31 + l), so
 * that bias terms are exercised. */
jn_net *biased_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, unsigned seed,
                   float weight_gain);
/* A trainer of `epochs` epochs in minibatches of `batch`. */
jn_trainer *trainer_for(unsigned epochs, size_t batch);
/* One epoch of plain SGD (lr 0.1) on squared error, the trainer's defaults
 * otherwise: the status, jn_last_error saying why when it fails. */
jn_status train_one_epoch(jn_net *net, const jn_dataset *train, const jn_dataset *valid);

/* Sample moments of x = v[start + k * stride], k < count, in double. */
typedef struct sample_moments {
    double mean;   /* sum x / count */
    double var;    /* sum (x - mean)^2 / (count - 1), the second pass */
    double m2, m4; /* sum x^2 / count and sum x^4 / count: about zero */
} sample_moments;
sample_moments moments_of(const float *v, size_t start, size_t stride, size_t count);

/* Run a suite, return the exit status for main. */
int run_suite(Suite *s);

#endif
