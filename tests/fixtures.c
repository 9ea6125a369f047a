/* fixtures.c - the builders the test programs share (fixtures.h). */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jn_rng *seeded_rng(uint64_t seed)
{
    jn_rng *rng = NULL;
    ck_assert_int_eq(jn_rng_create(&rng, seed), JN_OK);
    return rng;
}

jn_net *init_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, uint64_t seed)
{
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, n_sizes, hidden, output), JN_OK);
    ck_assert_int_eq(jn_net_init(net, seed), JN_OK);
    return net;
}

jn_net *biased_net(const size_t *sizes, size_t n_sizes, jn_act hidden, jn_act output, unsigned seed,
                   float weight_gain)
{
    jn_net *net = init_net(sizes, n_sizes, hidden, output, seed);
    float *p = jn_net_params(net);
    size_t off = 0;
    for (size_t l = 1; l < n_sizes; l++) {
        for (size_t j = 0; j < sizes[l] * sizes[l - 1]; j++) p[off + j] *= weight_gain;
        off += sizes[l] * sizes[l - 1];
        fill_uniform(p + off, sizes[l], seed * 31 + (unsigned)l, -0.5f, 0.5f);
        off += sizes[l];
    }
    ck_assert_uint_eq(off, jn_net_param_count(net));
    return net;
}

jn_net *tiny_net(size_t in, size_t hidden, size_t out, uint64_t seed)
{
    const size_t sizes[] = {in, hidden, out};
    return init_net(sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID, seed);
}

jn_dataset *dataset_from(float *X, int32_t *y, size_t n, size_t dim, size_t classes)
{
    jn_dataset *ds = NULL;
    ck_assert_int_eq(jn_dataset_create(&ds, X, y, n, dim, classes, 0), JN_OK);
    free(X);
    free(y);
    return ds;
}

jn_objective *loss_objective(jn_loss loss)
{
    jn_objective *obj = NULL;
    ck_assert_int_eq(jn_objective_create(&obj, loss), JN_OK);
    return obj;
}

jn_objective *model_objective(jn_model model, double lambda, double noise_std)
{
    jn_objective *obj = NULL;
    ck_assert_int_eq(jn_objective_create_model(&obj, model, lambda, noise_std), JN_OK);
    return obj;
}

jn_optimizer *sgd_optimizer(double lr, double momentum)
{
    jn_optimizer *opt = NULL;
    ck_assert_int_eq(jn_optimizer_create_sgd(&opt, lr, momentum), JN_OK);
    return opt;
}

jn_optimizer *adam_optimizer(double lr)
{
    jn_optimizer *opt = NULL;
    ck_assert_int_eq(jn_optimizer_create_adam(&opt, lr, 0.9, 0.999, 1e-8), JN_OK);
    return opt;
}

jn_trainer *trainer_for(unsigned epochs, size_t batch)
{
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, epochs), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, batch), JN_OK);
    return t;
}

void free_run(jn_trainer *t, jn_optimizer *opt, jn_objective *obj, jn_net *net)
{
    jn_trainer_free(t);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
}

jn_status train_one_epoch(jn_net *net, const jn_dataset *train, const jn_dataset *valid)
{
    jn_objective *obj = loss_objective(JN_LOSS_MSE);
    jn_optimizer *opt = sgd_optimizer(0.1, 0.0);
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, 1), JN_OK);
    jn_status st = jn_trainer_run(t, net, obj, opt, train, valid);
    free_run(t, opt, obj, NULL);
    return st;
}

float *uniform_floats(size_t n, unsigned seed, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    fill_uniform(v, n, seed, lo, hi);
    return v;
}

void corruption_noise(jn_rng *rng, jn_noise kind, double std, const float *src, float *noise, size_t n)
{
    ck_assert_int_eq(jn_corrupt(rng, kind, std, src, noise, n), JN_OK);
    for (size_t i = 0; i < n; i++) noise[i] -= src[i];
}

unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    ck_assert_msg(n >= 0, "%s: %s", path, strerror(errno));
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void write_all(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

void copy_file(const char *from, const char *to)
{
    size_t len;
    unsigned char *data = read_all(from, &len);
    write_all(to, data, len);
    free(data);
}

void assert_file_holds(const char *path, const unsigned char *want, size_t len)
{
    size_t n;
    unsigned char *now = read_all(path, &n);
    ck_assert_msg(n == len && memcmp(now, want, len) == 0, "%s: %zu bytes, not the %zu expected or not the same",
                  path, n, len);
    free(now);
}

int remove_temp_dir(char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return rc;
}

sample_moments moments_of(const float *v, size_t start, size_t stride, size_t count)
{
    double s = 0.0, s2 = 0.0, s4 = 0.0, d2 = 0.0;
    for (size_t k = 0; k < count; k++) {
        double x = v[start + k * stride];
        s += x;
        s2 += x * x;
        s4 += x * x * x * x;
    }
    sample_moments m = {.mean = s / count, .m2 = s2 / count, .m4 = s4 / count};
    for (size_t k = 0; k < count; k++) d2 += (v[start + k * stride] - m.mean) * (v[start + k * stride] - m.mean);
    m.var = d2 / (count - 1);
    return m;
}

TCase *add_case(Suite *s, const char *name, double timeout, const case_test *tests, size_t n)
{
    TCase *tc = tcase_create(name);
    if (timeout > 0) tcase_set_timeout(tc, timeout);
    for (size_t i = 0; i < n; i++) {
        if (tests[i].loops > 0) tcase_add_loop_test(tc, tests[i].test, 0, tests[i].loops);
        else tcase_add_test(tc, tests[i].test);
    }
    suite_add_tcase(s, tc);
    return tc;
}

int run_tests(const char *suite, const char *tcase, double timeout, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(suite);
    TCase *tc = tcase_create(tcase);
    if (timeout > 0) tcase_set_timeout(tc, timeout);
    for (size_t i = 0; i < n; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
