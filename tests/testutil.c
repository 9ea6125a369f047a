/* testutil.c - oracle reader and small helpers for the tests. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef JN_TEST_ORACLE_DIR
#define JN_TEST_ORACLE_DIR "tests/oracle"
#endif

const char *oracle_dir(void)
{
    /* The cases are the project's own test data (tests/oracle); the build
     * compiles in their absolute path so a test runs from any directory. */
    const char *d = getenv("JACNET_ORACLE");
    return d && *d ? d : JN_TEST_ORACLE_DIR;
}

static double *read_array(FILE *f, size_t count)
{
    double *v = malloc((count ? count : 1) * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < count; i++)
        if (fscanf(f, "%lf", &v[i]) != 1) {
            free(v);
            return NULL;
        }
    return v;
}

static jn_act parse_act(const char *s)
{
    if (!strcmp(s, "tanh")) return JN_ACT_TANH;
    if (!strcmp(s, "sigmoid")) return JN_ACT_SIGMOID;
    if (!strcmp(s, "relu")) return JN_ACT_RELU;
    if (!strcmp(s, "softmax")) return JN_ACT_SOFTMAX;
    return JN_ACT_LINEAR;
}

int oracle_load(oracle_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", oracle_dir(), name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "oracle: cannot open %s (set JACNET_ORACLE)\n", path);
        return 0;
    }
    char key[64];
    int ok = 1;
    while (ok && fscanf(f, "%63s", key) == 1) {
        if (key[0] == '#') {
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {}
            continue;
        }
        char word[64];
        size_t count;
        if (!strcmp(key, "sizes")) {
            /* sizes D H1 ... K on one line */
            int ch;
            c->n_sizes = 0;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {
                if (ch >= '0' && ch <= '9') {
                    ungetc(ch, f);
                    if (fscanf(f, "%zu", &c->sizes[c->n_sizes++]) != 1) ok = 0;
                }
            }
        } else if (!strcmp(key, "hidden") || !strcmp(key, "output") || !strcmp(key, "loss")) {
            if (fscanf(f, "%63s", word) != 1) ok = 0;
            if (key[0] == 'h') c->hidden = parse_act(word);
            else if (key[0] == 'o') c->output = parse_act(word);
            else c->loss = strcmp(word, "ce") ? JN_LOSS_MSE : JN_LOSS_CE;
        } else if (!strcmp(key, "n")) {
            ok = fscanf(f, "%zu", &c->n) == 1;
        } else if (!strcmp(key, "lambda_l2")) {
            ok = fscanf(f, "%lf", &c->lambda_l2) == 1;
        } else if (!strcmp(key, "lambda_jacobian")) {
            ok = fscanf(f, "%lf", &c->lambda_jacobian) == 1;
        } else if (fscanf(f, "%zu", &count) == 1) {
            double *v = read_array(f, count);
            if (!v) ok = 0;
            else if (!strcmp(key, "params")) { c->params = v; c->n_params = count; }
            else if (!strcmp(key, "X")) c->X = v;
            else if (!strcmp(key, "Xj")) c->Xj = v;
            else if (!strcmp(key, "Y")) c->Y = v;
            else if (!strcmp(key, "F")) c->F = v;
            else if (!strcmp(key, "J")) c->J = v;
            else if (!strcmp(key, "jacobian_sqnorm")) c->jacobian_sqnorm = v;
            else if (!strcmp(key, "grad")) c->grad = v;
            else if (!strcmp(key, "objective") && count == 1) { c->objective = v[0]; free(v); }
            else free(v);
        } else {
            ok = 0;
        }
    }
    fclose(f);
    if (!ok || !c->params || !c->X || !c->Y || !c->n_sizes) {
        fprintf(stderr, "oracle: %s is incomplete or malformed\n", path);
        oracle_free(c);
        return 0;
    }
    return 1;
}

void oracle_free(oracle_case *c)
{
    free(c->params); free(c->X); free(c->Xj); free(c->Y); free(c->F);
    free(c->J); free(c->jacobian_sqnorm); free(c->grad);
    memset(c, 0, sizeof *c);
}

float *to_float(const double *v, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; f && i < n; i++) f[i] = (float)v[i];
    return f;
}

double rel_diff(double a, double b, double floor)
{
    double m = fabs(b) > floor ? fabs(b) : floor;
    return fabs(a - b) / m;
}

void fill_uniform(float *v, size_t n, unsigned seed, float lo, float hi)
{
    unsigned long long s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

char *make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[1024];
    snprintf(tmpl, sizeof tmpl, "%s/jacnet-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) fprintf(stderr, "cannot create a temporary directory %s: %s\n", tmpl, strerror(errno));
    return d ? strdup(d) : NULL;
}

const char *realdata_dir(const char *test, const char *needs)
{
    const char *data = getenv("JACNET_DATA"), *require = getenv("JACNET_REQUIRE_DATA");
    if (data && *data) return data;
    if (require && !strcmp(require, "1")) {
        printf("FAIL: %s: JACNET_DATA is not set but JACNET_REQUIRE_DATA=1 (%s needs %s)\n", test, test, needs);
        exit(1);
    }
    printf("SKIP: JACNET_DATA not set (%s needs %s)\n", test, needs);
    return NULL;
}

int verbose(void)
{
    const char *v = getenv("JN_TEST_VERBOSE");
    return v && *v && *v != '0';
}

const char *const act_names[5] = {"tanh", "sigmoid", "relu", "linear", "softmax"};

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
