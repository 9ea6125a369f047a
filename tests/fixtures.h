/* fixtures.h - what the Check test programs build again and again: tiny
 * networks, datasets, objectives, optimizers and trainers, the teardown of
 * a training run, uniform vectors and corruption noise, whole files, sample
 * moments, and the suites' test cases. Every builder asserts that each call
 * it makes succeeds. testutil.h includes this header. */
#ifndef JACNET_FIXTURES_H
#define JACNET_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <check.h>

#include "jacnet.h"

/* jn_rng_create(seed). */
jn_rng *seeded_rng(uint64_t seed);
/* A network of sizes with jn_net_init(seed)'s weights. */
jn_net *init_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, uint64_t seed);
/* in -> hidden -> out, tanh hidden and sigmoid output units, with
 * jn_net_init(seed)'s weights. */
jn_net *tiny_net(size_t in, size_t hidden, size_t out, uint64_t seed);
/* init_net with every weight times weight_gain and the biases of layer l
 * (1-based) uniform in [-0.5, 0.5) from fill_uniform(seed * 31 + l), so
 * that bias terms are exercised. */
jn_net *biased_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, unsigned seed,
                   float weight_gain);

/* A labelled dataset of n rows of dim features (a copy); X and y, from
 * malloc, are freed. */
jn_dataset *dataset_from(float *X, int32_t *y, size_t n, size_t dim, size_t classes);

/* jn_objective_create(loss). */
jn_objective *loss_objective(jn_loss loss);
/* jn_objective_create_model(model, lambda, noise_std). */
jn_objective *model_objective(jn_model model, double lambda, double noise_std);
/* jn_optimizer_create_sgd(lr, momentum). */
jn_optimizer *sgd_optimizer(double lr, double momentum);
/* jn_optimizer_create_adam(lr) with beta1 0.9, beta2 0.999, eps 1e-8. */
jn_optimizer *adam_optimizer(double lr);
/* A trainer of `epochs` epochs in minibatches of `batch`. */
jn_trainer *trainer_for(unsigned epochs, size_t batch);
/* Frees what a training run used (any may be NULL). */
void free_run(jn_trainer *t, jn_optimizer *opt, jn_objective *obj, jn_net *net);
/* One epoch of plain SGD (lr 0.1) on squared error, the trainer's defaults
 * otherwise: the status, jn_last_error saying why when it fails. */
jn_status train_one_epoch(jn_net *net, const jn_dataset *train, const jn_dataset *valid);

/* n floats uniform in [lo, hi) from fill_uniform(seed) (caller frees). */
float *uniform_floats(size_t n, unsigned seed, float lo, float hi);
/* The noise jn_corrupt(rng, kind, std) adds to src[0..n): noise = the
 * corrupted src - src. */
void corruption_noise(jn_rng *rng, jn_noise kind, double std, const float *src, float *noise, size_t n);

/* A whole file in memory, with a 0 byte after it (caller frees; *len its
 * size), or written. */
unsigned char *read_all(const char *path, size_t *len);
void write_all(const char *path, const unsigned char *data, size_t len);
void copy_file(const char *from, const char *to);
/* Asserts that the file at path holds exactly want[0..len). */
void assert_file_holds(const char *path, const unsigned char *want, size_t len);
/* Removes dir (from make_temp_dir) with all it holds and frees the string;
 * nonzero, said on stderr, when that fails. */
int remove_temp_dir(char *dir);

/* Sample moments of x = v[start + k * stride], k < count, in double. */
typedef struct sample_moments {
    double mean;   /* sum x / count */
    double var;    /* sum (x - mean)^2 / (count - 1), the second pass */
    double m2, m4; /* sum x^2 / count and sum x^4 / count: about zero */
} sample_moments;
sample_moments moments_of(const float *v, size_t start, size_t stride, size_t count);

/* One test of a test case: ONCE(test) for tcase_add_test, LOOP(test, n)
 * for tcase_add_loop_test over _i = 0 .. n - 1 (n > 0). */
typedef struct case_test {
    const TTest *test;
    int loops;
} case_test;
/* A test case `name` of tests[0..n) added to s (timeout as below). */
TCase *add_case(Suite *s, const char *name, double timeout, const case_test *tests, size_t n);
/* add_case with the tests listed: ADD_CASE(s, "case", 60, ONCE(a), LOOP(b, 4)). */
#define ONCE(test) {test, 0}
#define LOOP(test, loops) {test, loops}
#define ADD_CASE(s, name, timeout, ...)                                                                        \
    add_case(s, name, timeout, (const case_test[]){__VA_ARGS__},                                               \
             sizeof((const case_test[]){__VA_ARGS__}) / sizeof(case_test))

/* A suite `suite` of one test case `tcase` holding tests[0..n), run: the
 * exit status for main. timeout: seconds, 0 for Check's default
 * (CK_DEFAULT_TIMEOUT). */
int run_tests(const char *suite, const char *tcase, double timeout, const TTest *const *tests, size_t n);
/* run_tests with the tests listed: RUN_TESTS("name", "case", 60, a, b). */
#define RUN_TESTS(suite, tcase, timeout, ...)                                                                  \
    run_tests(suite, tcase, timeout, (const TTest *const[]){__VA_ARGS__},                                      \
              sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *))

#endif
