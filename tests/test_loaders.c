/* test_loaders.c - the IDX, USPS and CSV loaders and the MNIST/USPS splits on
 * small files written here, happy and hostile: every refusal must carry the
 * right status, name the file in the message, leave *out NULL and leak
 * nothing (run under valgrind too). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"
/* White-box: the reader's size cap is only reachable through its own API. */
#include "data/reader.h"

static char *tmp; /* one directory for the whole run */

/* ---- writing test files ---- */

static const char *path_of(const char *name)
{
    static char buf[256][4096]; /* enough distinct paths for any one test */
    static int next;
    char *p = buf[next++ % 256];
    snprintf(p, 4096, "%s/%s", tmp, name);
    return p;
}

static const char *write_raw(const char *name, const void *data, size_t len)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

static const char *write_gz(const char *name, const void *data, size_t len)
{
    const char *p = path_of(name);
    gzFile f = gzopen(p, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    if (len) ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(f), Z_OK);
    return p;
}

static const char *write_text(const char *name, const char *text) { return write_raw(name, text, strlen(text)); }

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* IDX3 of count images rows x cols, pixel i = (i * 37 + 128) mod 256, which
 * includes 127, 128, 0 and 255 for the binarize test. Caller frees. */
static unsigned char *idx3(uint32_t count, uint32_t rows, uint32_t cols, size_t *len)
{
    size_t n = (size_t)count * rows * cols;
    unsigned char *b = malloc(16 + n);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = 3;
    put32(b + 4, count);
    put32(b + 8, rows);
    put32(b + 12, cols);
    for (size_t i = 0; i < n; i++) b[16 + i] = (unsigned char)((i * 37 + 128) % 256);
    *len = 16 + n;
    return b;
}

/* IDX1 of count labels i mod 10. */
static unsigned char *idx1(uint32_t count, size_t *len)
{
    unsigned char *b = malloc(8 + count);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = 1;
    put32(b + 4, count);
    for (uint32_t i = 0; i < count; i++) b[8 + i] = (unsigned char)(i % 10);
    *len = 8 + count;
    return b;
}

/* A USPS line: label then 256 values cycling through -1, 0, 1, -0.5. */
static void usps_line(char *dst, size_t size, const char *label, int n_values)
{
    static const char *v[4] = {"-1", "0", "1", "-0.5"};
    size_t at = (size_t)snprintf(dst, size, "%s", label);
    for (int i = 0; i < n_values; i++) at += (size_t)snprintf(dst + at, size - at, " %s", v[i % 4]);
    snprintf(dst + at, size - at, "\n");
}

/* ---- checking refusals ---- */

#define EXPECT_FAIL(call, out, want, path)                                                           \
    do {                                                                                             \
        out = (jn_dataset *)1;                                                                       \
        jn_status st_ = (call);                                                                      \
        ck_assert_msg(st_ == (want), "%s: status %s, want %s (%s)", #call, jn_status_str(st_),        \
                      jn_status_str(want), jn_last_error());                                         \
        ck_assert_msg(out == NULL, "%s: *out not NULL on failure", #call);                           \
        ck_assert_msg(strstr(jn_last_error(), (path)) != NULL, "message '%s' does not name %s",       \
                      jn_last_error(), (path));                                                      \
    } while (0)

static void expect_msg(const char *part)
{
    ck_assert_msg(strstr(jn_last_error(), part) != NULL, "message '%s' lacks '%s'", jn_last_error(), part);
}

/* ---- IDX ---- */

START_TEST(idx_raw_and_gzip)
{
    size_t il, ll;
    unsigned char *img = idx3(3, 2, 2, &il), *lab = idx1(3, &ll);
    const char *ip = write_raw("a-images", img, il), *lp = write_raw("a-labels", lab, ll);
    const char *igz = write_gz("a-images.gz", img, il), *lgz = write_gz("a-labels.gz", lab, ll);
    const char *pairs[3][2] = {{ip, lp}, {igz, lgz}, {igz, lp}};
    for (int k = 0; k < 3; k++) {
        jn_dataset *ds;
        ck_assert_msg(jn_dataset_load_idx(&ds, pairs[k][0], pairs[k][1], 0) == JN_OK, "%s", jn_last_error());
        ck_assert_uint_eq(jn_dataset_count(ds), 3);
        ck_assert_uint_eq(jn_dataset_dim(ds), 4);
        ck_assert_uint_eq(jn_dataset_classes(ds), 10);
        for (size_t i = 0; i < 12; i++) ck_assert_float_eq(jn_dataset_features(ds)[i], img[16 + i] / 255.0f);
        for (int i = 0; i < 3; i++) ck_assert_int_eq(jn_dataset_labels(ds)[i], i);
        jn_dataset_free(ds);
    }
    free(img);
    free(lab);
}
END_TEST

START_TEST(idx_binarize)
{
    size_t il, ll;
    unsigned char *img = idx3(4, 8, 8, &il), *lab = idx1(4, &ll); /* 256 pixels: every byte value */
    const char *ip = write_gz("b-images.gz", img, il), *lp = write_raw("b-labels", lab, ll);
    jn_dataset *ds;
    ck_assert(jn_dataset_load_idx(&ds, ip, lp, JN_LOAD_BINARIZE) == JN_OK);
    for (size_t i = 0; i < 256; i++)
        ck_assert_float_eq(jn_dataset_features(ds)[i], img[16 + i] >= 128 ? 1.0f : 0.0f);
    jn_dataset_free(ds);
    free(img);
    free(lab);
}
END_TEST

/* Write a modified images file and expect FORMAT naming it. */
static void bad_images(const char *name, unsigned char *img, size_t il, const char *lp, const char *part)
{
    jn_dataset *ds;
    const char *p = write_raw(name, img, il);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    if (part) expect_msg(part);
}

START_TEST(idx_hostile_headers)
{
    size_t il, ll;
    unsigned char *img = idx3(3, 2, 2, &il), *lab = idx1(3, &ll);
    const char *lp = write_raw("c-labels", lab, ll);
    bad_images("c-trunc-data", img, il - 1, lp, "byte 16");
    bad_images("c-trunc-head", img, 10, lp, "header");
    bad_images("c-trunc-magic", img, 3, lp, "magic");
    unsigned char *big = malloc(il + 5);
    memcpy(big, img, il);
    memset(big + il, 0, 5);
    bad_images("c-trailing", big, il + 5, lp, "declares");
    free(big);
    img[0] = 1;
    bad_images("c-magic", img, il, lp, "magic");
    img[0] = 0;
    img[2] = 0x0d; /* float data */
    bad_images("c-type", img, il, lp, "0x0d");
    img[2] = 0x08;
    img[3] = 1;
    bad_images("c-ndim", img, il, lp, "dimensions");
    img[3] = 3;
    put32(img + 4, 0);
    bad_images("c-zero", img, il, lp, NULL);
    /* Absurd dimensions: refused by comparison with the length, before any
     * allocation (valgrind/ASan would show a 2^96-byte attempt otherwise). */
    put32(img + 4, 0xffffffffu);
    put32(img + 8, 0xffffffffu);
    put32(img + 12, 0xffffffffu);
    bad_images("c-absurd", img, il, lp, "declares");
    put32(img + 4, 1000000000u);
    put32(img + 8, 28);
    put32(img + 12, 28);
    bad_images("c-huge", img, il, lp, "declares");
    free(img);
    free(lab);
}
END_TEST

START_TEST(idx_hostile_labels)
{
    size_t il, ll;
    unsigned char *img = idx3(3, 2, 2, &il), *lab = idx1(3, &ll);
    const char *ip = write_raw("d-images", img, il);
    jn_dataset *ds;
    const char *lp = write_raw("d-short", lab, ll - 1);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, lp);
    unsigned char *lab2 = idx1(2, &ll);
    lp = write_raw("d-two", lab2, ll);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, lp);
    expect_msg(ip); /* a count mismatch names both files */
    free(lab2);
    lab[10] = 10;
    lp = write_raw("d-range", lab, 11);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, lp);
    expect_msg("byte 10");
    lab[10] = 2;
    lab[3] = 3;
    lp = write_raw("d-magic", lab, 11);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, lp);
    /* Images and labels swapped. */
    lab[3] = 1;
    lp = write_raw("d-ok", lab, 11);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, lp, ip, 0), ds, JN_ERR_FORMAT, lp);
    free(img);
    free(lab);
}
END_TEST

START_TEST(idx_bad_gzip)
{
    size_t il, ll, gl;
    unsigned char *img = idx3(200, 8, 8, &il), *lab = idx1(200, &ll);
    const char *lp = write_raw("e-labels", lab, ll);
    const char *gp = write_gz("e-images.gz", img, il);
    unsigned char *gz = read_all(gp, &gl);
    jn_dataset *ds;
    /* Truncated stream: half of it, and all but the trailer's last byte. */
    const char *p = write_raw("e-half.gz", gz, gl / 2);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    expect_msg("truncated");
    p = write_raw("e-trailer.gz", gz, gl - 1);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    /* Only the magic. */
    p = write_raw("e-magic.gz", gz, 2);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    /* Corrupt deflate data, and a corrupt CRC. */
    for (size_t i = gl / 3; i < gl / 3 + 8; i++) gz[i] ^= 0x5a;
    p = write_raw("e-corrupt.gz", gz, gl);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    free(gz);
    gz = read_all(gp, &gl);
    gz[gl - 8] ^= 1;
    p = write_raw("e-crc.gz", gz, gl);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    /* Empty, raw and compressed. */
    p = write_raw("e-empty", "", 0);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    expect_msg("empty");
    p = write_gz("e-empty.gz", "", 0);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, p, lp, 0), ds, JN_ERR_FORMAT, p);
    free(gz);
    free(img);
    free(lab);
}
END_TEST

START_TEST(idx_io_and_args)
{
    size_t il, ll;
    unsigned char *img = idx3(1, 1, 1, &il), *lab = idx1(1, &ll);
    const char *ip = write_raw("f-images", img, il), *lp = write_raw("f-labels", lab, ll);
    jn_dataset *ds;
    const char *missing = path_of("no-such-file");
    EXPECT_FAIL(jn_dataset_load_idx(&ds, missing, lp, 0), ds, JN_ERR_IO, missing);
    expect_msg("No such file");
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, missing, 0), ds, JN_ERR_IO, missing);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, tmp, lp, 0), ds, JN_ERR_IO, tmp); /* a directory */
    EXPECT_FAIL(jn_dataset_load_idx(&ds, NULL, lp, 0), ds, JN_ERR_INVALID, "images_path");
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, NULL, 0), ds, JN_ERR_INVALID, "labels_path");
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 4), ds, JN_ERR_INVALID, "flags");
    ck_assert_int_eq(jn_dataset_load_idx(NULL, ip, lp, 0), JN_ERR_INVALID);
    free(img);
    free(lab);
}
END_TEST

START_TEST(reader_cap)
{
    char text[200];
    memset(text, 'x', sizeof text);
    jn__blob b;
    const char *p = write_raw("g-raw", text, sizeof text);
    ck_assert_int_eq(jn__read_file(p, 100, &b), JN_ERR_FORMAT);
    ck_assert_ptr_null(b.data);
    expect_msg(p);
    ck_assert_int_eq(jn__read_file(p, 200, &b), JN_OK);
    ck_assert_uint_eq(b.len, 200);
    ck_assert_int_eq(b.data[200], 0);
    jn__blob_free(&b);
    p = write_gz("g-raw.gz", text, sizeof text);
    ck_assert_int_eq(jn__read_file(p, 100, &b), JN_ERR_FORMAT);
    ck_assert_ptr_null(b.data);
    expect_msg("limit");
    ck_assert_int_eq(jn__read_file(p, 200, &b), JN_OK);
    ck_assert_uint_eq(b.len, 200);
    jn__blob_free(&b);
}
END_TEST

/* ---- USPS ---- */

static char line[8192];

START_TEST(usps_happy)
{
    char text[20000];
    usps_line(text, sizeof text, "3", 256);
    usps_line(line, sizeof line, "7.0000", 255);
    /* CRLF line end, a value a hair past 1 (rounding in the files), blank lines. */
    snprintf(text + strlen(text), sizeof text - strlen(text), "%.*s 1.0000005\r\n\n  \n", (int)strlen(line) - 1,
             line);
    const char *files[2] = {write_text("h-usps", text), write_gz("h-usps.gz", text, strlen(text))};
    for (int k = 0; k < 2; k++) {
        jn_dataset *ds;
        ck_assert_msg(jn_dataset_load_usps(&ds, files[k]) == JN_OK, "%s", jn_last_error());
        ck_assert_uint_eq(jn_dataset_count(ds), 2);
        ck_assert_uint_eq(jn_dataset_dim(ds), 256);
        ck_assert_uint_eq(jn_dataset_classes(ds), 10);
        ck_assert_int_eq(jn_dataset_labels(ds)[0], 3);
        ck_assert_int_eq(jn_dataset_labels(ds)[1], 7);
        const float *x = jn_dataset_features(ds);
        ck_assert_float_eq(x[0], 0.0f);
        ck_assert_float_eq(x[1], 0.5f);
        ck_assert_float_eq(x[2], 1.0f);
        ck_assert_float_eq(x[3], 0.25f);
        ck_assert_float_eq(x[256 + 255], 1.0f);
        jn_dataset_free(ds);
    }
}
END_TEST

/* A file of one good line then `bad` as line 2: FORMAT naming file and line. */
static void usps_bad(const char *name, const char *bad, const char *part)
{
    char text[20000];
    usps_line(text, sizeof text, "1", 256);
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s", bad);
    jn_dataset *ds;
    const char *p = write_text(name, text);
    EXPECT_FAIL(jn_dataset_load_usps(&ds, p), ds, JN_ERR_FORMAT, p);
    expect_msg("line 2");
    if (part) expect_msg(part);
}

START_TEST(usps_hostile)
{
    usps_line(line, sizeof line, "2", 255);
    usps_bad("i-short", line, "fields");
    usps_line(line, sizeof line, "2", 257);
    usps_bad("i-long", line, "fields");
    usps_line(line, sizeof line, "2", 0);
    usps_bad("i-label-only", line, "fields");
    const char *tokens[] = {"1.1", "-1.00001", "nan", "NaN", "inf", "1e999", "abc", "0.5x", "--1", "1e", ".", "+"};
    for (size_t k = 0; k < sizeof tokens / sizeof *tokens; k++) {
        usps_line(line, sizeof line, "2", 100);
        size_t at = strlen(line) - 1;
        snprintf(line + at, sizeof line - at, " %s", tokens[k]);
        at = strlen(line);
        for (int i = 0; i < 155; i++) at += (size_t)snprintf(line + at, sizeof line - at, " 0");
        snprintf(line + at, sizeof line - at, "\n");
        char name[32];
        snprintf(name, sizeof name, "i-token-%zu", k);
        usps_bad(name, line, "field 102");
    }
    const char *labels[] = {"10", "-1", "3.5", "x", "1e9"};
    for (size_t k = 0; k < sizeof labels / sizeof *labels; k++) {
        usps_line(line, sizeof line, labels[k], 256);
        char name[32];
        snprintf(name, sizeof name, "i-label-%zu", k);
        usps_bad(name, line, "label");
    }
    /* A NUL byte inside a value. */
    usps_line(line, sizeof line, "2", 256);
    char text[20000];
    usps_line(text, sizeof text, "1", 256);
    size_t n1 = strlen(text), n2 = strlen(line);
    memcpy(text + n1, line, n2);
    text[n1 + 5] = '\0';
    jn_dataset *ds;
    const char *p = write_raw("i-nul", text, n1 + n2);
    EXPECT_FAIL(jn_dataset_load_usps(&ds, p), ds, JN_ERR_FORMAT, p);

    p = write_text("i-empty", "");
    EXPECT_FAIL(jn_dataset_load_usps(&ds, p), ds, JN_ERR_FORMAT, p);
    p = write_text("i-blank", "\n  \n\r\n");
    EXPECT_FAIL(jn_dataset_load_usps(&ds, p), ds, JN_ERR_FORMAT, p);
    p = path_of("i-missing");
    EXPECT_FAIL(jn_dataset_load_usps(&ds, p), ds, JN_ERR_IO, p);
    EXPECT_FAIL(jn_dataset_load_usps(&ds, NULL), ds, JN_ERR_INVALID, "path");
    ck_assert_int_eq(jn_dataset_load_usps(NULL, p), JN_ERR_INVALID);
}
END_TEST

/* ---- CSV ---- */

START_TEST(csv_happy)
{
    const char *plain = "1,0.5,2\n0, -1 ,3e2\r\n\n4,7,-0.25\n";
    const char *header = "label,a,b\n1,0.5,2\n0,-1,3e2\n4,7,-0.25";
    const char *files[3] = {write_text("j-plain.csv", plain), write_text("j-header.csv", header),
                            write_gz("j-header.csv.gz", header, strlen(header))};
    for (int k = 0; k < 3; k++) {
        jn_dataset *ds;
        ck_assert_msg(jn_dataset_load_csv(&ds, files[k], 0) == JN_OK, "%s: %s", files[k], jn_last_error());
        ck_assert_uint_eq(jn_dataset_count(ds), 3);
        ck_assert_uint_eq(jn_dataset_dim(ds), 2);
        ck_assert_uint_eq(jn_dataset_classes(ds), 5);
        static const float want[6] = {0.5f, 2.0f, -1.0f, 300.0f, 7.0f, -0.25f};
        for (int i = 0; i < 6; i++) ck_assert_float_eq(jn_dataset_features(ds)[i], want[i]);
        ck_assert_int_eq(jn_dataset_labels(ds)[2], 4);
        jn_dataset_free(ds);
    }
}
END_TEST

static void csv_bad(const char *name, const char *text, const char *part)
{
    jn_dataset *ds;
    const char *p = write_text(name, text);
    EXPECT_FAIL(jn_dataset_load_csv(&ds, p, 0), ds, JN_ERR_FORMAT, p);
    if (part) expect_msg(part);
}

/* gzip files as gzip writes them: several members one after another (what
 * `cat a.gz b.gz` gives) read as their concatenation; bytes after the last
 * member that do not start another one are ignored, as gzip -d does; a
 * second member cut short is a truncated stream. */
START_TEST(gzip_members)
{
    const char *first = "label,a\n1,0.5\n", *second = "0,2\n2,4\n";
    size_t l1, l2;
    unsigned char *m1 = read_all(write_gz("g1.gz", first, strlen(first)), &l1);
    unsigned char *m2 = read_all(write_gz("g2.gz", second, strlen(second)), &l2);
    unsigned char *both = malloc(l1 + l2 + 8);
    memcpy(both, m1, l1);
    memcpy(both + l1, m2, l2);
    jn_dataset *ds = NULL;
    const char *p = write_raw("g-both.gz", both, l1 + l2);
    ck_assert_msg(jn_dataset_load_csv(&ds, p, 0) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 3);
    ck_assert_float_eq(jn_dataset_features(ds)[2], 4.0f);
    ck_assert_int_eq(jn_dataset_labels(ds)[2], 2);
    jn_dataset_free(ds);
    /* Trailing zeros (tape padding) and a lone 0x1f after the members. */
    memcpy(both + l1 + l2, "\0\0\0\0", 4);
    p = write_raw("g-padded.gz", both, l1 + l2 + 4);
    ck_assert_msg(jn_dataset_load_csv(&ds, p, 0) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 3);
    jn_dataset_free(ds);
    both[l1 + l2] = 0x1f;
    p = write_raw("g-lone.gz", both, l1 + l2 + 1);
    ck_assert_msg(jn_dataset_load_csv(&ds, p, 0) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(ds), 3);
    jn_dataset_free(ds);
    /* The second member cut in its middle. */
    p = write_raw("g-cut.gz", both, l1 + l2 / 2);
    EXPECT_FAIL(jn_dataset_load_csv(&ds, p, 0), ds, JN_ERR_FORMAT, p);
    expect_msg("truncated");
    free(both);
    free(m1);
    free(m2);
}
END_TEST

START_TEST(csv_hostile)
{
    csv_bad("k-ragged", "1,2,3\n0,1\n", "line 2");
    csv_bad("k-wide", "1,2,3\n0,1,2,3\n", "line 2");
    csv_bad("k-text", "1,2,3\n0,x,2\n", "line 2 field 2");
    csv_bad("k-nan", "1,2,3\n0,nan,2\n", "line 2");
    csv_bad("k-inf", "1,2,3\n0,1e39,2\n", "finite");
    csv_bad("k-empty-field", "1,2,3\n0,,2\n", "line 2");
    csv_bad("k-trailing-comma", "1,2,3\n0,1,\n", "line 2");
    csv_bad("k-neg-label", "1,2,3\n-1,1,2\n", "line 2");
    csv_bad("k-frac-label", "1,2,3\n1.5,1,2\n", "line 2");
    csv_bad("k-big-label", "1,2,3\n99999999999999999999,1,2\n", "limit");
    csv_bad("k-label-only", "label\n3\n", "no features");
    csv_bad("k-header-only", "label,a,b\n", "no data");
    csv_bad("k-empty", "", "empty");
    csv_bad("k-blank", "\n\n", "no data");
    jn_dataset *ds;
    const char *p = write_text("k-ok", "1,2\n");
    /* JN_LOAD_BINARIZE applies to CSV (test_newuser.c); other bits do not. */
    EXPECT_FAIL(jn_dataset_load_csv(&ds, p, JN_LOAD_BINARIZE << 1), ds, JN_ERR_INVALID, "flags");
    EXPECT_FAIL(jn_dataset_load_csv(&ds, NULL, 0), ds, JN_ERR_INVALID, "path");
    p = path_of("k-missing.csv");
    EXPECT_FAIL(jn_dataset_load_csv(&ds, p, 0), ds, JN_ERR_IO, p);
}
END_TEST

/* ---- splits ---- */

/* <tmp>/<sub>/<what> as a directory; returns <tmp>/<sub>. */
static const char *make_dir(const char *sub, const char *what)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/%s", tmp, sub);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/%s/%s", tmp, sub, what);
    mkdir(d, 0700);
    return path_of(sub);
}

/* A small MNIST tree: n_train training images of 1 x 2, 3 test images. */
static const char *make_mnist(const char *sub, uint32_t n_train, int gz)
{
    const char *dir = make_dir(sub, "mnist");
    const char *prefix[2] = {"train", "t10k"};
    uint32_t count[2] = {n_train, 3};
    for (int k = 0; k < 2; k++) {
        char name[256];
        size_t len;
        const char *ext = gz ? ".gz" : "";
        unsigned char *b = idx3(count[k], 1, 2, &len);
        snprintf(name, sizeof name, "%s/mnist/%s-images-idx3-ubyte%s", sub, prefix[k], ext);
        (gz ? write_gz : write_raw)(name, b, len);
        free(b);
        b = idx1(count[k], &len);
        snprintf(name, sizeof name, "%s/mnist/%s-labels-idx1-ubyte%s", sub, prefix[k], ext);
        (gz ? write_gz : write_raw)(name, b, len);
        free(b);
    }
    return dir;
}

START_TEST(mnist_splits)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *dir = make_mnist(gz ? "m-gz" : "m-raw", 10005, gz);
        jn_dataset *tr, *va, *te;
        ck_assert_msg(jn_load_mnist(dir, 0, &tr, &va, &te) == JN_OK, "%s", jn_last_error());
        ck_assert_uint_eq(jn_dataset_count(tr), 5);
        ck_assert_uint_eq(jn_dataset_count(va), 10000);
        ck_assert_uint_eq(jn_dataset_count(te), 3);
        ck_assert_int_eq(jn_dataset_labels(va)[0], 5); /* example 5 of the file */
        ck_assert_float_eq(jn_dataset_features(va)[0], (float)((10 * 37 + 128) % 256) / 255.0f);
        ck_assert_float_eq(jn_dataset_features(tr)[9], (float)((9 * 37 + 128) % 256) / 255.0f);
        jn_dataset_free(tr);
        jn_dataset_free(va);
        jn_dataset_free(te);
        /* Any output may be NULL. */
        ck_assert(jn_load_mnist(dir, JN_LOAD_BINARIZE, &tr, NULL, NULL) == JN_OK);
        ck_assert_uint_eq(jn_dataset_count(tr), 5);
        jn_dataset_free(tr);
        ck_assert(jn_load_mnist(dir, 0, NULL, NULL, NULL) == JN_OK);
    }
    /* dir NULL: $JACNET_DATA. */
    setenv("JACNET_DATA", path_of("m-gz"), 1);
    jn_dataset *te;
    ck_assert_msg(jn_load_mnist(NULL, 0, NULL, NULL, &te) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(te), 3);
    jn_dataset_free(te);
    unsetenv("JACNET_DATA");
}
END_TEST

START_TEST(mnist_split_failures)
{
    jn_dataset *tr = (jn_dataset *)1, *va = (jn_dataset *)1, *te = (jn_dataset *)1;
    const char *none = path_of("m-none");
    ck_assert_int_eq(jn_load_mnist(none, 0, &tr, &va, &te), JN_ERR_IO);
    ck_assert(tr == NULL && va == NULL && te == NULL);
    expect_msg(none);
    /* Test set fine, training set corrupt: the loaded test set is released. */
    const char *dir = make_mnist("m-bad", 10005, 0);
    const char *p = write_text("m-bad/mnist/train-labels-idx1-ubyte", "garbage");
    tr = va = te = (jn_dataset *)1;
    ck_assert_int_eq(jn_load_mnist(dir, 0, &tr, &va, &te), JN_ERR_FORMAT);
    ck_assert(tr == NULL && va == NULL && te == NULL);
    expect_msg(p);
    /* Too few training digits for the validation split. */
    dir = make_mnist("m-small", 10000, 1);
    ck_assert_int_eq(jn_load_mnist(dir, 0, &tr, &va, &te), JN_ERR_FORMAT);
    ck_assert(tr == NULL && va == NULL && te == NULL);
    ck_assert_int_eq(jn_load_mnist(dir, 8, &tr, &va, &te), JN_ERR_INVALID);
}
END_TEST

START_TEST(usps_splits)
{
    const char *dir = make_dir("u", "usps");
    size_t n = 2003, cap = n * 1100;
    char *text = malloc(cap);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        char label[4];
        snprintf(label, sizeof label, "%zu", i % 10);
        usps_line(text + at, cap - at, label, 256);
        at += strlen(text + at);
    }
    write_gz("u/usps/zip.train.gz", text, at);
    write_raw("u/usps/zip.test", text, 600 * 2); /* cut mid-line: a bad test file */
    jn_dataset *tr = (jn_dataset *)1, *va = (jn_dataset *)1, *te = (jn_dataset *)1;
    ck_assert_int_eq(jn_load_usps(dir, &tr, &va, &te), JN_ERR_FORMAT);
    ck_assert(tr == NULL && va == NULL && te == NULL);
    expect_msg("zip.test");
    usps_line(text, cap, "4", 256);
    write_text("u/usps/zip.test", text);
    ck_assert_msg(jn_load_usps(dir, &tr, &va, &te) == JN_OK, "%s", jn_last_error());
    ck_assert_uint_eq(jn_dataset_count(tr), 3);
    ck_assert_uint_eq(jn_dataset_count(va), 2000);
    ck_assert_uint_eq(jn_dataset_count(te), 1);
    ck_assert_int_eq(jn_dataset_labels(va)[0], 3);
    jn_dataset_free(tr);
    jn_dataset_free(va);
    jn_dataset_free(te);
    free(text);

    const char *none = path_of("u-none");
    tr = (jn_dataset *)1;
    ck_assert_int_eq(jn_load_usps(none, &tr, NULL, NULL), JN_ERR_IO);
    ck_assert(tr == NULL);
    expect_msg("hastie.su.domains/ElemStatLearn");
    expect_msg("zip.train.gz");
    expect_msg(none);
}
END_TEST

/* ---- regressions found by the fuzz targets (fuzz/) ----
 * The runs so far (fuzz_idx, fuzz_usps, fuzz_csv, 60 s each, about 5 million
 * inputs) found no crash. The odd inputs below are the shapes the fuzzers
 * dwell on; they must be refused cleanly. Add each future crash here. */

START_TEST(fuzz_shapes)
{
    static const struct {
        const char *text;
        size_t len;
    } csv[] = {{"\r", 1}, {",", 1}, {"0,\r\r\n", 5}, {"1,2\n\0", 5}, {"0,1e", 4}, {"0,-", 3},
               {"0,1e99999999999", 15}, {"65536,1", 7}, {"x\n,1", 5}};
    for (size_t k = 0; k < sizeof csv / sizeof *csv; k++) {
        char name[32];
        snprintf(name, sizeof name, "z-csv-%zu", k);
        jn_dataset *ds;
        const char *p = write_raw(name, csv[k].text, csv[k].len);
        EXPECT_FAIL(jn_dataset_load_csv(&ds, p, 0), ds, JN_ERR_FORMAT, p);
    }
    /* IDX headers that only just fit, with rows * cols overflowing 64 bits
     * only together with count. */
    unsigned char img[17] = {0, 0, 8, 3, 0x40, 0, 0, 0, 0x40, 0, 0, 0, 0x40, 0, 0, 0, 7};
    unsigned char lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 7};
    jn_dataset *ds;
    const char *ip = write_raw("z-img", img, sizeof img), *lp = write_raw("z-lab", lab, sizeof lab);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, ip);
    /* A gzip header with nothing after it. */
    const unsigned char gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    ip = write_raw("z-gzhead", gz, sizeof gz);
    EXPECT_FAIL(jn_dataset_load_idx(&ds, ip, lp, 0), ds, JN_ERR_FORMAT, ip);
}
END_TEST

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!(tmp = make_temp_dir())) return 1;
    int rc = RUN_TESTS("loaders", "loaders", 60, idx_raw_and_gzip, idx_binarize, idx_hostile_headers,
                       idx_hostile_labels, idx_bad_gzip, idx_io_and_args, reader_cap, usps_happy, usps_hostile,
                       csv_happy, csv_hostile, gzip_members, mnist_splits, mnist_split_failures, usps_splits,
                       fuzz_shapes);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    return rc;
}
