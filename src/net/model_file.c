/* model_file.c - saving and loading networks (layout: docs/FORMAT.md).
 *
 * Every multi-byte field is written and read byte by byte in little-endian
 * order, so files move between hosts of any byte order. Reading and writing
 * go through the source/sink abstraction of binio.c so that files and memory
 * images share one parser and one encoder: the fuzzer (fuzz/fuzz_model.c) exercises
 * exactly the code that jn_net_load runs.
 *
 * Loading never allocates from a size it has not compared with the real
 * length of the input: the header is read and checked field by field, the
 * total length it implies must equal the file length, and only then is the
 * network created. */
#include "net/net.h"
#include "net/model_file.h"

#include "base/binio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* PNG-style magic: a high-bit byte catches 7-bit transfers, CR LF and the
 * lone LF catch newline translation, ^Z stops DOS `type`. */
static const unsigned char MAGIC[8] = {0x89, 'J', 'N', 'M', '\r', '\n', 0x1a, '\n'};
#define FORMAT_VERSION 1u

/* jn_net_create's limits (base/base.h), checked here first so that the
 * file, not the constructor, is named as the culprit. */
#define MAX_WIDTH ((uint64_t)JN_MAX_WIDTH)
#define MAX_SIZES ((unsigned)JN_MAX_LAYERS + 1u)

/* File codes of the activations. Fixed by the format, independent of the
 * jn_act enum's values so that reordering the enum cannot change files. */
static uint32_t act_code(jn_act act)
{
    switch (act) {
    case JN_ACT_TANH: return 0;
    case JN_ACT_SIGMOID: return 1;
    case JN_ACT_RELU: return 2;
    case JN_ACT_LINEAR: return 3;
    case JN_ACT_SOFTMAX: return 4;
    }
    return UINT32_MAX;
}

static int act_from_code(uint32_t code, jn_act *act)
{
    static const jn_act table[] = {JN_ACT_TANH, JN_ACT_SIGMOID, JN_ACT_RELU, JN_ACT_LINEAR, JN_ACT_SOFTMAX};
    if (code >= sizeof table / sizeof table[0]) return 0;
    *act = table[code];
    return 1;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

static size_t file_size(const jn_net *net)
{
    return 8 + 4 * 4 + 8 * (net->layers + 1) + 8 + 4 * net->n_params + 4;
}

/* The model file of net's architecture with the P parameters `params`
 * (net->params, or another vector of the same layout). */
static void encode(const jn_net *net, const float *params, jn__sink *s)
{
    unsigned char buf[24];
    size_t n_sizes = net->layers + 1;
    memcpy(buf, MAGIC, 8);
    jn__put_u32(buf + 8, FORMAT_VERSION);
    jn__put_u32(buf + 12, act_code(net->hidden));
    jn__put_u32(buf + 16, act_code(net->output));
    jn__put_u32(buf + 20, (uint32_t)n_sizes);
    jn__sink_write(s, buf, 24);
    for (size_t l = 0; l < n_sizes; l++) jn__sink_u64(s, net->sizes[l]);
    jn__sink_u64(s, net->n_params);
    jn__sink_f32s(s, params, net->n_params);
    jn__sink_crc(s);
}

static void encode_net(const void *net, jn__sink *s) { encode(net, ((const jn_net *)net)->params, s); }

static jn_status check_saveable(const jn_net *net, const float *params, const char *fn)
{
    if (!net) return jn__fail(JN_ERR_INVALID, "%s: net is NULL", fn);
    /* jn_net_load refuses NaN/Inf, so such a file could never be read
     * back; better to say so now. */
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(params[i]))
            return jn__fail(JN_ERR_INVALID, "%s: parameter %zu is NaN or Inf; not saved", fn, i);
    return JN_OK;
}

jn_status jn__net_image(const jn_net *net, const float *params, unsigned char **data, size_t *len)
{
    if (!data || !len) return jn__fail(JN_ERR_INVALID, "jn__net_image: data or len is NULL");
    *data = NULL;
    *len = 0;
    if (!net || !params) return jn__fail(JN_ERR_INVALID, "jn__net_image: %s is NULL", net ? "params" : "net");
    jn_status st = check_saveable(net, params, "jn__net_image");
    if (st != JN_OK) return st;
    size_t total = file_size(net);
    jn__sink s = {.mem = jn__alloc(total, 1, "jn__net_image"), .crc = crc32(0L, Z_NULL, 0)};
    if (!s.mem) return JN_ERR_NOMEM;
    encode(net, params, &s);
    *data = s.mem;
    *len = total;
    return JN_OK;
}

jn_status jn__net_save_memory(const jn_net *net, unsigned char **data, size_t *len)
{
    if (!data || !len) return jn__fail(JN_ERR_INVALID, "jn__net_save_memory: data or len is NULL");
    *data = NULL;
    *len = 0;
    if (!net) return jn__fail(JN_ERR_INVALID, "jn__net_save_memory: net is NULL");
    return jn__net_image(net, net->params, data, len);
}

JN_API jn_status jn_net_save(const jn_net *net, const char *path)
{
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_net_save: path is NULL");
    jn_status st = check_saveable(net, net ? net->params : NULL, "jn_net_save");
    if (st != JN_OK) return st;
    /* Refused before writing anything: the rename would fail only after a
     * whole model had been written next to it. */
    struct stat target;
    if (stat(path, &target) == 0 && S_ISDIR(target.st_mode))
        return jn__fail(JN_ERR_IO, "jn_net_save: %s: is a directory; give a file name", path);
    return jn__save_atomic(path, "jn_net_save", encode_net, net);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

static jn_status parse(jn__source *s, jn_net **out)
{
    unsigned char b[8];
    jn_status st;

    if ((st = jn__src_read(s, b, 8, "magic number")) != JN_OK) return st;
    if (memcmp(b, MAGIC, 8) != 0) return jn__src_error(s, 0, "not a libjacnet model file (bad magic number)");

    if ((st = jn__src_read(s, b, 4, "format version")) != JN_OK) return st;
    uint32_t version = jn__get_u32(b);
    if (version != FORMAT_VERSION) return jn__src_error(s, 8, "unsupported format version %u", (unsigned)version);

    jn_act hidden, output;
    if ((st = jn__src_read(s, b, 4, "hidden activation")) != JN_OK) return st;
    uint32_t code = jn__get_u32(b);
    if (!act_from_code(code, &hidden) || !jn__act_valid_hidden(hidden))
        return jn__src_error(s, 12, "hidden activation code %u is not tanh, sigmoid, relu or linear",
                             (unsigned)code);
    if ((st = jn__src_read(s, b, 4, "output activation")) != JN_OK) return st;
    code = jn__get_u32(b);
    if (!act_from_code(code, &output) || !jn__act_valid_output(output))
        return jn__src_error(s, 16, "unknown output activation code %u", (unsigned)code);

    if ((st = jn__src_read(s, b, 4, "number of sizes")) != JN_OK) return st;
    uint32_t n_sizes = jn__get_u32(b);
    if (n_sizes < 2 || n_sizes > MAX_SIZES)
        return jn__src_error(s, 20, "%u sizes, need 2..%u", (unsigned)n_sizes, MAX_SIZES);

    size_t sizes[MAX_SIZES];
    uint64_t n_params = 0; /* < 65 * 2^49, no overflow */
    for (uint32_t l = 0; l < n_sizes; l++) {
        uint64_t off = s->pos;
        if ((st = jn__src_read(s, b, 8, "layer sizes")) != JN_OK) return st;
        uint64_t w = jn__get_u64(b);
        if (w == 0 || w > MAX_WIDTH)
            return jn__src_error(s, off, "sizes[%u] = %llu, need 1..%llu", (unsigned)l, (unsigned long long)w,
                                 (unsigned long long)MAX_WIDTH);
        sizes[l] = (size_t)w;
        if (l > 0) n_params += (uint64_t)sizes[l] * sizes[l - 1] + sizes[l];
    }
    if (output == JN_ACT_SOFTMAX && sizes[n_sizes - 1] < 2)
        return jn__src_error(s, 24 + 8 * (uint64_t)(n_sizes - 1), "softmax output with %zu output",
                             sizes[n_sizes - 1]);

    uint64_t count_off = s->pos;
    if ((st = jn__src_read(s, b, 8, "parameter count")) != JN_OK) return st;
    uint64_t count = jn__get_u64(b);
    if (count != n_params)
        return jn__src_error(s, count_off, "parameter count %llu, the sizes give %llu", (unsigned long long)count,
                             (unsigned long long)n_params);
    if (n_params > JN_MAX_BYTES / sizeof(float))
        return jn__src_error(s, count_off, "%llu parameters is too many", (unsigned long long)n_params);

    /* The whole length is now known; compare it with the input before
     * allocating anything of the declared size. */
    uint64_t params_off = s->pos;
    uint64_t total = params_off + 4 * n_params + 4;
    if (s->len < total)
        return jn__src_error(s, s->len, "file ends after %llu bytes, the header declares %llu (truncated)",
                             (unsigned long long)s->len, (unsigned long long)total);
    if (s->len > total)
        return jn__src_error(s, total, "%llu bytes of trailing data after the checksum",
                             (unsigned long long)(s->len - total));

    jn_net *net = NULL;
    st = jn_net_create(&net, sizes, n_sizes, hidden, output);
    if (st == JN_ERR_INVALID) return jn__src_error(s, 0, "architecture refused: %s", jn_last_error());
    if (st != JN_OK) return st;

    if ((st = jn__src_f32s(s, net->params, net->n_params, "parameters")) != JN_OK) goto fail;
    unsigned long crc = s->crc;
    uint64_t crc_off = s->pos;
    if ((st = jn__src_read(s, b, 4, "checksum")) != JN_OK) goto fail;
    uint32_t stored = jn__get_u32(b);
    if (stored != (uint32_t)crc) {
        st = jn__src_error(s, crc_off, "CRC-32 mismatch (stored 0x%08x, computed 0x%08x): the file is damaged",
                           (unsigned)stored, (unsigned)crc);
        goto fail;
    }
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i])) {
            st = jn__src_error(s, params_off + 4 * (uint64_t)i, "parameter %zu is NaN or Inf", i);
            goto fail;
        }
    *out = net;
    return JN_OK;
fail:
    jn_net_free(net);
    return st;
}

jn_status jn__net_load_memory(jn_net **out, const void *data, size_t len, const char *name)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn__net_load_memory: out is NULL");
    *out = NULL;
    if (!data && len > 0) return jn__fail(JN_ERR_INVALID, "jn__net_load_memory: data is NULL");
    jn__source s = {.mem = data, .len = len, .crc = crc32(0L, Z_NULL, 0), .name = name ? name : "<memory>"};
    return parse(&s, out);
}

JN_API jn_status jn_net_load(jn_net **out, const char *path)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_net_load: out is NULL");
    *out = NULL;
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_net_load: path is NULL");
    char eb[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        jn__errtext(errno, eb, sizeof eb);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s", path, eb);
    }
    struct stat st_buf;
    if (fstat(fileno(f), &st_buf) != 0) {
        jn__errtext(errno, eb, sizeof eb);
        fclose(f);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s", path, eb);
    }
    /* The length checks need the true size up front. */
    if (!S_ISREG(st_buf.st_mode)) {
        fclose(f);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s, not a model file", path,
                        S_ISDIR(st_buf.st_mode) ? "a directory" : "not a regular file");
    }
    jn__source s = {.f = f, .len = (uint64_t)st_buf.st_size, .crc = crc32(0L, Z_NULL, 0), .name = path};
    jn_status st = parse(&s, out);
    /* A file that grew after fstat has data past the declared end. */
    if (st == JN_OK && fgetc(f) != EOF) {
        jn_net_free(*out);
        *out = NULL;
        st = jn__src_error(&s, s.pos, "trailing data after the checksum (the file grew while being read)");
    }
    fclose(f);
    return st;
}
