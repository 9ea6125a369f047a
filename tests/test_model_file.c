/* test_model_file.c - jn_net_save / jn_net_load: round trips, the documented
 * byte layout, atomic replacement, and refusal of every kind of damage. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
/* The private memory entry points (the fuzzer's), for the regression inputs. */
#include "net/model_file.h"

static char *dir_;

static void setup(void)
{
    dir_ = make_temp_dir();
    ck_assert_ptr_nonnull(dir_);
}

/* Remove the test directory (one level of subdirectories is enough here). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char sub[2048];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void teardown(void)
{
    remove_tree(dir_);
    free(dir_);
}

static const char *in_dir(const char *name)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s/%s", dir_, name);
    return buf;
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Rewrite the trailing CRC so that only the deliberate damage remains. */
static void fix_crc(unsigned char *buf, size_t len)
{
    put32(buf + len - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4)));
}

static jn_net *make_net(const size_t *sizes, size_t n, jn_act hidden, jn_act output, uint64_t seed)
{
    jn_net *net = init_net(sizes, n, hidden, output, seed);
    /* biases are 0 after init; make them distinct too */
    float *p = jn_net_params(net);
    for (size_t i = 0; i < jn_net_param_count(net); i++)
        if (p[i] == 0.0f) p[i] = 0.001f * (float)(i % 17) - 0.008f;
    return net;
}

/* The small reference file used by the damage tests: 2 -> 3 -> 2. */
static jn_net *small_net(void)
{
    static const size_t sizes[] = {2, 3, 2};
    return make_net(sizes, 3, JN_ACT_TANH, JN_ACT_SOFTMAX, 5);
}

static void assert_same_net(jn_net *a, jn_net *b)
{
    ck_assert_uint_eq(jn_net_layers(a), jn_net_layers(b));
    for (size_t l = 0; l <= jn_net_layers(a); l++) ck_assert_uint_eq(jn_net_size(a, l), jn_net_size(b, l));
    ck_assert_int_eq(jn_net_hidden_act(a), jn_net_hidden_act(b));
    ck_assert_int_eq(jn_net_output_act(a), jn_net_output_act(b));
    ck_assert_uint_eq(jn_net_param_count(a), jn_net_param_count(b));
    ck_assert(memcmp(jn_net_params(a), jn_net_params(b), jn_net_param_count(a) * sizeof(float)) == 0);
}

/* Load must fail with `want`, leave *out NULL, and name the file. */
static void expect_refused(const char *path, jn_status want, const char *also)
{
    jn_net *net = (jn_net *)&net;
    jn_status st = jn_net_load(&net, path);
    ck_assert_msg(st == want, "%s: status %s, want %s (%s)", path, jn_status_str(st), jn_status_str(want),
                  jn_last_error());
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(jn_last_error(), path) != NULL, "message does not name the file: %s", jn_last_error());
    if (also) ck_assert_msg(strstr(jn_last_error(), also) != NULL, "message lacks \"%s\": %s", also, jn_last_error());
}

START_TEST(round_trip)
{
    static const size_t a1[] = {2, 3, 2}, a2[] = {5, 7, 4, 3}, a3[] = {1, 1}, a4[] = {4, 6, 6, 6, 2},
                        a5[] = {3, 5, 1}, a6[] = {784, 50, 10};
    struct {
        const size_t *sizes;
        size_t n;
        jn_act hidden, output;
    } arch[] = {
        {a1, 3, JN_ACT_TANH, JN_ACT_LINEAR},  {a2, 4, JN_ACT_SIGMOID, JN_ACT_SOFTMAX},
        {a3, 2, JN_ACT_RELU, JN_ACT_SIGMOID}, {a4, 5, JN_ACT_LINEAR, JN_ACT_TANH},
        {a5, 3, JN_ACT_RELU, JN_ACT_RELU},    {a6, 3, JN_ACT_TANH, JN_ACT_SOFTMAX},
    };
    const char *path = in_dir("model.jnm");
    for (size_t k = 0; k < sizeof arch / sizeof arch[0]; k++) {
        jn_net *net = make_net(arch[k].sizes, arch[k].n, arch[k].hidden, arch[k].output, 100 + k);
        /* values whose bits a careless encoder would lose */
        float *p = jn_net_params(net);
        const float special[] = {-0.0f, FLT_MIN / 8, -FLT_MAX, FLT_MAX, FLT_MIN, 1.0f / 3};
        for (size_t i = 0; i < 6 && i < jn_net_param_count(net); i++) p[i] = special[i];
        ck_assert_int_eq(jn_net_save(net, path), JN_OK);
        jn_net *back = NULL;
        ck_assert_int_eq(jn_net_load(&back, path), JN_OK);
        assert_same_net(net, back);

        /* the memory encoder writes the same bytes as the file */
        size_t flen, mlen;
        unsigned char *fbytes = read_all(path, &flen), *mbytes = NULL;
        ck_assert_int_eq(jn__net_save_memory(net, &mbytes, &mlen), JN_OK);
        ck_assert_uint_eq(flen, mlen);
        ck_assert(memcmp(fbytes, mbytes, flen) == 0);
        ck_assert_uint_eq(flen, 36 + 8 * arch[k].n + 4 * jn_net_param_count(net));
        jn_net *mem = NULL;
        ck_assert_int_eq(jn__net_load_memory(&mem, mbytes, mlen, "image"), JN_OK);
        assert_same_net(net, mem);
        free(fbytes);
        free(mbytes);
        jn_net_free(mem);
        jn_net_free(back);
        jn_net_free(net);
    }
    ck_assert_int_eq(count_entries(dir_), 1); /* no temporary left behind */
}
END_TEST

START_TEST(documented_layout)
{
    /* 2 -> 3 -> 1, tanh / sigmoid, every parameter 1.0: check each field
     * against docs/FORMAT.md byte by byte. */
    static const size_t sizes[] = {2, 3, 1};
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), JN_OK);
    size_t n = jn_net_param_count(net);
    ck_assert_uint_eq(n, 13);
    for (size_t i = 0; i < n; i++) jn_net_params(net)[i] = 1.0f;
    jn_net_params(net)[12] = -2.5f; /* 0xc0200000 */
    const char *path = in_dir("layout.jnm");
    ck_assert_int_eq(jn_net_save(net, path), JN_OK);
    size_t len;
    unsigned char *b = read_all(path, &len);
    ck_assert_uint_eq(len, 36 + 8 * 3 + 4 * 13);
    static const unsigned char head[] = {
        0x89, 'J', 'N', 'M', '\r', '\n', 0x1a, '\n', /* magic */
        1, 0, 0, 0,                                  /* version */
        0, 0, 0, 0,                                  /* hidden: tanh */
        1, 0, 0, 0,                                  /* output: sigmoid */
        3, 0, 0, 0,                                  /* number of sizes */
        2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        13, 0, 0, 0, 0, 0, 0, 0, /* parameter count */
        0x00, 0x00, 0x80, 0x3f,  /* 1.0f */
    };
    ck_assert(memcmp(b, head, sizeof head) == 0);
    static const unsigned char last[] = {0x00, 0x00, 0x20, 0xc0};
    ck_assert(memcmp(b + 56 + 4 * 12, last, 4) == 0);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(len - 4));
    ck_assert_uint_eq(b[len - 4] | b[len - 3] << 8 | b[len - 2] << 16 | (uint32_t)b[len - 1] << 24, crc);
    free(b);
    jn_net_free(net);
}
END_TEST

START_TEST(save_replaces_existing)
{
    const char *path = in_dir("m.jnm");
    static const size_t s1[] = {3, 4, 2}, s2[] = {6, 2};
    jn_net *a = make_net(s1, 3, JN_ACT_TANH, JN_ACT_LINEAR, 1), *b = make_net(s2, 2, JN_ACT_RELU, JN_ACT_SIGMOID, 2);
    ck_assert_int_eq(jn_net_save(a, path), JN_OK);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0644); /* not mkstemp's 0600 */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(jn_net_save(b, path), JN_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600); /* the user's choice is kept */
    jn_net *back = NULL;
    ck_assert_int_eq(jn_net_load(&back, path), JN_OK);
    assert_same_net(b, back);
    ck_assert_int_eq(count_entries(dir_), 1);
    jn_net_free(back);
    jn_net_free(a);
    jn_net_free(b);
}
END_TEST

START_TEST(failed_save_keeps_previous)
{
    jn_net *net = small_net();

    /* the directory does not exist */
    const char *missing = in_dir("no/such/dir/m.jnm");
    ck_assert_int_eq(jn_net_save(net, missing), JN_ERR_IO);
    ck_assert_msg(strstr(jn_last_error(), missing) != NULL, "%s", jn_last_error());
    ck_assert_int_eq(count_entries(dir_), 0);

    /* the path is a directory (with content that must survive) */
    char sub[2048], inner[2100];
    snprintf(sub, sizeof sub, "%s", in_dir("sub"));
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep.jnm", sub);
    ck_assert_int_eq(jn_net_save(net, inner), JN_OK);
    ck_assert_int_eq(jn_net_save(net, sub), JN_ERR_IO);
    ck_assert_msg(strstr(jn_last_error(), sub) != NULL, "%s", jn_last_error());
    struct stat st;
    ck_assert_int_eq(stat(sub, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(count_entries(dir_), 1); /* only sub: the temporary is gone */
    jn_net *back = NULL;
    ck_assert_int_eq(jn_net_load(&back, inner), JN_OK);
    jn_net_free(back);

    /* a write that fails half way (file size limit): the previous model
     * stays intact and loadable */
    const char *path = in_dir("prev.jnm");
    ck_assert_int_eq(jn_net_save(net, path), JN_OK);
    size_t len0;
    unsigned char *before = read_all(path, &len0);
    static const size_t big[] = {100, 100, 10};
    jn_net *large = make_net(big, 3, JN_ACT_TANH, JN_ACT_LINEAR, 3); /* ~44 KB file */
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 8192;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    jn_status st_save = jn_net_save(large, path);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(st_save, JN_ERR_IO);
    ck_assert_msg(strstr(jn_last_error(), path) != NULL, "%s", jn_last_error());
    assert_file_holds(path, before, len0);
    ck_assert_int_eq(count_entries(dir_), 2); /* sub and prev.jnm */
    free(before);
    jn_net_free(large);
    jn_net_free(net);
}
END_TEST

START_TEST(save_refuses_bad_arguments)
{
    jn_net *net = small_net();
    const char *path = in_dir("x.jnm");
    ck_assert_int_eq(jn_net_save(NULL, path), JN_ERR_INVALID);
    ck_assert_int_eq(jn_net_save(net, NULL), JN_ERR_INVALID);
    jn_net_params(net)[3] = NAN;
    ck_assert_int_eq(jn_net_save(net, path), JN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "parameter 3"));
    ck_assert_int_eq(count_entries(dir_), 0);
    ck_assert_int_eq(jn_net_load(NULL, path), JN_ERR_INVALID);
    jn_net *out = (jn_net *)&out;
    ck_assert_int_eq(jn_net_load(&out, NULL), JN_ERR_INVALID);
    ck_assert_ptr_null(out);
    jn_net_free(net);
}
END_TEST

/* A valid image of small_net() in memory. */
static unsigned char *small_image(size_t *len)
{
    jn_net *net = small_net();
    unsigned char *img = NULL;
    ck_assert_int_eq(jn__net_save_memory(net, &img, len), JN_OK);
    jn_net_free(net);
    return img;
}

START_TEST(truncated_everywhere)
{
    size_t len;
    unsigned char *img = small_image(&len);
    const char *path = in_dir("t.jnm");
    for (size_t cut = 0; cut < len; cut++) {
        write_all(path, img, cut);
        expect_refused(path, JN_ERR_FORMAT, "offset");
    }
    write_all(path, img, len);
    jn_net *ok = NULL;
    ck_assert_int_eq(jn_net_load(&ok, path), JN_OK);
    jn_net_free(ok);
    free(img);
}
END_TEST

START_TEST(every_flip_refused)
{
    size_t len;
    unsigned char *img = small_image(&len);
    const char *path = in_dir("f.jnm");
    for (size_t i = 0; i < len; i++) {
        unsigned char flips[9] = {0xff, 1, 2, 4, 8, 16, 32, 64, 128};
        for (int k = 0; k < 9; k++) {
            img[i] ^= flips[k];
            write_all(path, img, len);
            expect_refused(path, JN_ERR_FORMAT, "offset");
            img[i] ^= flips[k];
        }
    }
    free(img);
}
END_TEST

START_TEST(header_damage)
{
    size_t len;
    unsigned char *img = small_image(&len), *b = malloc(len + 16);
    ck_assert_ptr_nonnull(b);
    const char *path = in_dir("h.jnm");

    /* wrong magic (another format's) */
    memcpy(b, img, len);
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "magic");

    /* a future version, even with a valid CRC */
    memcpy(b, img, len);
    put32(b + 8, 2);
    fix_crc(b, len);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "unsupported format version 2");
    /* and a version that never existed before the first */
    memcpy(b, img, len);
    put32(b + 8, 0);
    fix_crc(b, len);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "unsupported format version 0");

    /* enum values: hidden softmax, unknown codes */
    const uint32_t bad_hidden[] = {4, 5, 0xffffffffu}, bad_output[] = {5, 1000};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, img, len);
        put32(b + 12, bad_hidden[i]);
        fix_crc(b, len);
        write_all(path, b, len);
        expect_refused(path, JN_ERR_FORMAT, "offset 12");
    }
    for (size_t i = 0; i < 2; i++) {
        memcpy(b, img, len);
        put32(b + 16, bad_output[i]);
        fix_crc(b, len);
        write_all(path, b, len);
        expect_refused(path, JN_ERR_FORMAT, "offset 16");
    }
    /* number of sizes */
    const uint32_t bad_n[] = {0, 1, 66, 0x80000000u};
    for (size_t i = 0; i < 4; i++) {
        memcpy(b, img, len);
        put32(b + 20, bad_n[i]);
        fix_crc(b, len);
        write_all(path, b, len);
        expect_refused(path, JN_ERR_FORMAT, "offset 20");
    }
    /* a zero width */
    memcpy(b, img, len);
    put64(b + 32, 0);
    fix_crc(b, len);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "sizes[1]");
    /* softmax with one output, parameter count made consistent */
    memcpy(b, img, len);
    put64(b + 40, 1);
    put64(b + 48, 2 * 3 + 3 + 3 * 1 + 1);
    fix_crc(b, len);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "softmax");
    /* parameter count disagreeing with the sizes */
    memcpy(b, img, len);
    put64(b + 48, 18);
    fix_crc(b, len);
    write_all(path, b, len);
    expect_refused(path, JN_ERR_FORMAT, "parameter count 18");

    /* trailing garbage, with and without a matching CRC at the end */
    memcpy(b, img, len);
    b[len] = 0;
    write_all(path, b, len + 1);
    expect_refused(path, JN_ERR_FORMAT, "trailing");
    memcpy(b, img, len);
    memset(b + len, 0xab, 8);
    fix_crc(b, len + 8);
    write_all(path, b, len + 8);
    expect_refused(path, JN_ERR_FORMAT, "trailing");
    free(b);
    free(img);
}
END_TEST

START_TEST(absurd_sizes_do_not_allocate)
{
    /* A 60-byte file declaring enormous layers. Each must be refused as a
     * format error (not NOMEM, which would mean an allocation was tried). */
    const char *path = in_dir("huge.jnm");
    struct {
        uint64_t d, k, count;
        const char *msg;
    } cases[] = {
        {(uint64_t)1 << 40, 1, 0, "sizes[0]"},
        {1, (uint64_t)1 << 63, 0, "sizes[1]"},
        {(uint64_t)1 << 24, (uint64_t)1 << 24, ((uint64_t)1 << 48) + ((uint64_t)1 << 24), "too many"},
        /* within every cap (2^37 parameters, 512 GiB) but the file is small */
        {(uint64_t)1 << 24, (uint64_t)1 << 13, ((uint64_t)1 << 37) + ((uint64_t)1 << 13), "truncated"},
        {4096, 4096, 4096 * 4096 + 4096, "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char b[60] = {0x89, 'J', 'N', 'M', '\r', '\n', 0x1a, '\n'};
        put32(b + 8, 1);
        put32(b + 12, 0);
        put32(b + 16, 3);
        put32(b + 20, 2);
        put64(b + 24, cases[i].d);
        put64(b + 32, cases[i].k);
        put64(b + 40, cases[i].count);
        fix_crc(b, sizeof b);
        write_all(path, b, sizeof b);
        expect_refused(path, JN_ERR_FORMAT, cases[i].msg);
    }
}
END_TEST

START_TEST(nonfinite_param_with_valid_crc)
{
    size_t len;
    unsigned char *img = small_image(&len);
    const char *path = in_dir("nan.jnm");
    const uint32_t bits[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f800001u};
    for (size_t i = 0; i < 4; i++) {
        unsigned char *b = malloc(len);
        memcpy(b, img, len);
        put32(b + 56 + 4 * 7, bits[i]); /* parameter 7 of 2 -> 3 -> 2 */
        fix_crc(b, len);
        write_all(path, b, len);
        expect_refused(path, JN_ERR_FORMAT, "offset 84: parameter 7");
        free(b);
    }
    free(img);
}
END_TEST

START_TEST(missing_and_odd_files)
{
    const char *path = in_dir("absent.jnm");
    expect_refused(path, JN_ERR_IO, "No such file");
    /* a directory is not a model file */
    expect_refused(dir_, JN_ERR_IO, NULL);
    /* an empty file */
    write_all(in_dir("empty.jnm"), (const unsigned char *)"", 0);
    expect_refused(in_dir("empty.jnm"), JN_ERR_FORMAT, "offset 0");
}
END_TEST

START_TEST(memory_entry_point)
{
    jn_net *out = (jn_net *)&out;
    ck_assert_int_eq(jn__net_load_memory(&out, NULL, 0, NULL), JN_ERR_FORMAT);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "<memory>"));
    ck_assert_int_eq(jn__net_load_memory(&out, NULL, 5, "x"), JN_ERR_INVALID);
    ck_assert_int_eq(jn__net_load_memory(NULL, "", 0, "x"), JN_ERR_INVALID);
    size_t len;
    unsigned char *img = small_image(&len);
    ck_assert_int_eq(jn__net_load_memory(&out, img, len - 1, "short"), JN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(jn_last_error(), "short: offset"));
    ck_assert_int_eq(jn__net_load_memory(&out, img, len, "ok"), JN_OK);
    jn_net_free(out);
    free(img);
}
END_TEST

static Suite *model_file_suite(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, documented_layout);
    tcase_add_test(tc, save_replaces_existing);
    tcase_add_test(tc, failed_save_keeps_previous);
    tcase_add_test(tc, save_refuses_bad_arguments);
    tcase_add_test(tc, truncated_everywhere);
    tcase_add_test(tc, every_flip_refused);
    tcase_add_test(tc, header_damage);
    tcase_add_test(tc, absurd_sizes_do_not_allocate);
    tcase_add_test(tc, nonfinite_param_with_valid_crc);
    tcase_add_test(tc, missing_and_odd_files);
    tcase_add_test(tc, memory_entry_point);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(model_file_suite()); }
