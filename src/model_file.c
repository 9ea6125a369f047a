/* model_file.c - saving and loading networks (layout: docs/FORMAT.md).
 *
 * Every multi-byte field is written and read byte by byte in little-endian
 * order, so files move between hosts of any byte order. Reading and writing
 * go through a small source/sink abstraction so that files and memory images
 * share one parser and one encoder: the fuzzer (fuzz/fuzz_model.c) exercises
 * exactly the code that jn_net_load runs.
 *
 * Loading never allocates from a size it has not compared with the real
 * length of the input: the header is read and checked field by field, the
 * total length it implies must equal the file length, and only then is the
 * network created. */
#include "model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The float bits are stored as IEEE-754 binary32; the code copies the bits
 * of a C float, which is only right where float is binary32. */
_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "model files need IEEE-754 binary32 floats");

/* PNG-style magic: a high-bit byte catches 7-bit transfers, CR LF and the
 * lone LF catch newline translation, ^Z stops DOS `type`. */
static const unsigned char MAGIC[8] = {0x89, 'J', 'N', 'M', '\r', '\n', 0x1a, '\n'};
#define FORMAT_VERSION 1u

/* jn_net_create's limits (internal.h), checked here first so that the
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

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* zlib's crc32 takes a uInt length; feed it in pieces that fit. */
static uLong crc_update(uLong crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

static void errtext(int err, char *buf, size_t cap)
{
    /* POSIX strerror_r: thread-safe, unlike strerror. */
    if (strerror_r(err, buf, cap) != 0) snprintf(buf, cap, "error %d", err);
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/* Where encoded bytes go: a file descriptor (fd >= 0) or a memory buffer;
 * the CRC of every byte written so far is kept on the way. Files are
 * written with write(), not stdio: a FILE would allocate behind the
 * library's allocator (alloc.c). */
typedef struct sink {
    int fd;
    unsigned char *mem;
    size_t pos;
    uLong crc;
    int err; /* errno of the first failed write, 0 if none */
} sink;

/* write() all n bytes; 0, or the errno of the failure. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        if (k == 0) return EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void sink_write(sink *s, const unsigned char *p, size_t n)
{
    if (s->err) return;
    s->crc = crc_update(s->crc, p, n);
    if (s->fd >= 0) {
        s->err = write_all(s->fd, p, n);
    } else {
        memcpy(s->mem + s->pos, p, n);
    }
    s->pos += n;
}

static size_t file_size(const jn_net *net)
{
    return 8 + 4 * 4 + 8 * (net->layers + 1) + 8 + 4 * net->n_params + 4;
}

static void encode(const jn_net *net, sink *s)
{
    unsigned char buf[4096];
    size_t n_sizes = net->layers + 1;
    memcpy(buf, MAGIC, 8);
    put_u32(buf + 8, FORMAT_VERSION);
    put_u32(buf + 12, act_code(net->hidden));
    put_u32(buf + 16, act_code(net->output));
    put_u32(buf + 20, (uint32_t)n_sizes);
    sink_write(s, buf, 24);
    for (size_t l = 0; l < n_sizes; l++) {
        put_u64(buf, net->sizes[l]);
        sink_write(s, buf, 8);
    }
    put_u64(buf, net->n_params);
    sink_write(s, buf, 8);
    for (size_t i = 0; i < net->n_params;) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < net->n_params; k++, i++) {
            uint32_t bits;
            memcpy(&bits, &net->params[i], 4);
            put_u32(buf + 4 * k, bits);
        }
        sink_write(s, buf, 4 * k);
    }
    put_u32(buf, (uint32_t)s->crc);
    sink_write(s, buf, 4);
}

static jn_status check_saveable(const jn_net *net, const char *fn)
{
    if (!net) return jn__fail(JN_ERR_INVALID, "%s: net is NULL", fn);
    /* jn_net_load refuses NaN/Inf, so such a file could never be read
     * back; better to say so now. */
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            return jn__fail(JN_ERR_INVALID, "%s: parameter %zu is NaN or Inf; not saved", fn, i);
    return JN_OK;
}

jn_status jn__net_save_memory(const jn_net *net, unsigned char **data, size_t *len)
{
    if (!data || !len) return jn__fail(JN_ERR_INVALID, "jn__net_save_memory: data or len is NULL");
    *data = NULL;
    *len = 0;
    jn_status st = check_saveable(net, "jn__net_save_memory");
    if (st != JN_OK) return st;
    size_t total = file_size(net);
    sink s = {.fd = -1, .mem = jn__alloc(total, 1, "jn__net_save_memory"), .crc = crc32(0L, Z_NULL, 0)};
    if (!s.mem) return JN_ERR_NOMEM;
    encode(net, &s);
    *data = s.mem;
    *len = total;
    return JN_OK;
}

/* Permission bits for the new file: those of the file it replaces, so a
 * save keeps what the user chose; else rw-r--r-- (mkstemp's 0600 would
 * surprise anyone sharing models). */
static mode_t target_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
    return 0644;
}

/* Make the rename itself durable. Best effort: the file is already in
 * place, and some file systems refuse fsync on directories. `scratch` has
 * room for path (it held the temporary name), so nothing is allocated here
 * after the new model is already in place. */
static void sync_parent_dir(const char *path, char *scratch)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(scratch, ".");
    } else if (slash == path) {
        strcpy(scratch, "/");
    } else {
        memcpy(scratch, path, (size_t)(slash - path));
        scratch[slash - path] = '\0';
    }
    int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

JN_API jn_status jn_net_save(const jn_net *net, const char *path)
{
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_net_save: path is NULL");
    jn_status st = check_saveable(net, "jn_net_save");
    if (st != JN_OK) return st;
    /* Refused before writing anything: the rename would fail only after a
     * whole model had been written next to it. */
    struct stat target;
    if (stat(path, &target) == 0 && S_ISDIR(target.st_mode))
        return jn__fail(JN_ERR_IO, "jn_net_save: %s: is a directory; give a file name", path);

    size_t plen = strlen(path);
    char *tmp = jn__alloc(plen + sizeof ".tmp.XXXXXX", 1, "jn_net_save");
    if (!tmp) return JN_ERR_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

    const char *step;
    int err = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        err = errno;
        step = "cannot create a temporary file";
        goto fail_no_tmp;
    }
    if (fchmod(fd, target_mode(path)) != 0) {
        err = errno;
        step = "cannot set the temporary file's mode";
        goto fail;
    }
    sink s = {.fd = fd, .crc = crc32(0L, Z_NULL, 0)};
    encode(net, &s);
    if (s.err) {
        err = s.err;
        step = "write failed";
        goto fail;
    }
    /* The data must be on disk before the rename makes it the model:
     * otherwise a crash could leave an empty or partial file at path. */
    if (fsync(fd) != 0) {
        err = errno;
        step = "fsync failed";
        goto fail;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        err = errno;
        step = "close failed";
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        step = "cannot rename the temporary file over it";
        goto fail;
    }
    sync_parent_dir(path, tmp);
    free(tmp);
    return JN_OK;

fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
fail_no_tmp:;
    char eb[128];
    errtext(err, eb, sizeof eb);
    st = jn__fail(JN_ERR_IO, "jn_net_save: %s: %s (%s): %s; any previous file is unchanged", path, step, tmp, eb);
    free(tmp);
    return st;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* Where bytes come from: a file descriptor (fd >= 0) or memory, with a
 * known total length (the file's size from fstat), the current offset and
 * the running CRC. */
typedef struct source {
    int fd;
    const unsigned char *mem;
    uint64_t len;
    uint64_t pos;
    uLong crc;
    const char *name;
} source;

/* Read n bytes at the current offset; `what` names the field for the
 * message if the input ends first. */
static jn_status src_read(source *s, unsigned char *dst, size_t n, const char *what)
{
    if (n > s->len - s->pos)
        return jn__fail(JN_ERR_FORMAT, "%s: offset %llu: file ends inside the %s (truncated; %llu bytes)", s->name,
                        (unsigned long long)s->pos, what, (unsigned long long)s->len);
    if (s->fd >= 0) {
        size_t got = 0;
        while (got < n) {
            ssize_t k = read(s->fd, dst + got, n - got);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                char eb[128];
                errtext(errno, eb, sizeof eb);
                return jn__fail(JN_ERR_IO, "%s: offset %llu: read failed: %s", s->name,
                                (unsigned long long)(s->pos + got), eb);
            }
            if (k == 0)
                return jn__fail(JN_ERR_FORMAT,
                                "%s: offset %llu: file ends inside the %s (it shrank while being read)", s->name,
                                (unsigned long long)(s->pos + got), what);
            got += (size_t)k;
        }
    } else {
        memcpy(dst, s->mem + s->pos, n);
    }
    s->crc = crc_update(s->crc, dst, n);
    s->pos += n;
    return JN_OK;
}

#define FORMAT_ERR(s, off, ...) fmt_err((s), (off), __VA_ARGS__)

#ifdef __GNUC__
__attribute__((format(printf, 3, 4)))
#endif
static jn_status fmt_err(const source *s, uint64_t off, const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return jn__fail(JN_ERR_FORMAT, "%s: offset %llu: %s", s->name, (unsigned long long)off, detail);
}

static jn_status parse(source *s, jn_net **out)
{
    unsigned char b[8];
    jn_status st;

    if ((st = src_read(s, b, 8, "magic number")) != JN_OK) return st;
    if (memcmp(b, MAGIC, 8) != 0) return FORMAT_ERR(s, 0, "not a libjacnet model file (bad magic number)");

    if ((st = src_read(s, b, 4, "format version")) != JN_OK) return st;
    uint32_t version = get_u32(b);
    if (version != FORMAT_VERSION) return FORMAT_ERR(s, 8, "unsupported format version %u", (unsigned)version);

    jn_act hidden, output;
    if ((st = src_read(s, b, 4, "hidden activation")) != JN_OK) return st;
    uint32_t code = get_u32(b);
    if (!act_from_code(code, &hidden) || !jn__act_valid_hidden(hidden))
        return FORMAT_ERR(s, 12, "hidden activation code %u is not tanh, sigmoid, relu or linear", (unsigned)code);
    if ((st = src_read(s, b, 4, "output activation")) != JN_OK) return st;
    code = get_u32(b);
    if (!act_from_code(code, &output) || !jn__act_valid_output(output))
        return FORMAT_ERR(s, 16, "unknown output activation code %u", (unsigned)code);

    if ((st = src_read(s, b, 4, "number of sizes")) != JN_OK) return st;
    uint32_t n_sizes = get_u32(b);
    if (n_sizes < 2 || n_sizes > MAX_SIZES)
        return FORMAT_ERR(s, 20, "%u sizes, need 2..%u", (unsigned)n_sizes, MAX_SIZES);

    size_t sizes[MAX_SIZES];
    uint64_t n_params = 0; /* < 65 * 2^49, no overflow */
    for (uint32_t l = 0; l < n_sizes; l++) {
        uint64_t off = s->pos;
        if ((st = src_read(s, b, 8, "layer sizes")) != JN_OK) return st;
        uint64_t w = get_u64(b);
        if (w == 0 || w > MAX_WIDTH)
            return FORMAT_ERR(s, off, "sizes[%u] = %llu, need 1..%llu", (unsigned)l, (unsigned long long)w,
                              (unsigned long long)MAX_WIDTH);
        sizes[l] = (size_t)w;
        if (l > 0) n_params += (uint64_t)sizes[l] * sizes[l - 1] + sizes[l];
    }
    if (output == JN_ACT_SOFTMAX && sizes[n_sizes - 1] < 2)
        return FORMAT_ERR(s, 24 + 8 * (uint64_t)(n_sizes - 1), "softmax output with %zu output",
                          sizes[n_sizes - 1]);

    uint64_t count_off = s->pos;
    if ((st = src_read(s, b, 8, "parameter count")) != JN_OK) return st;
    uint64_t count = get_u64(b);
    if (count != n_params)
        return FORMAT_ERR(s, count_off, "parameter count %llu, the sizes give %llu", (unsigned long long)count,
                          (unsigned long long)n_params);
    if (n_params > JN_MAX_BYTES / sizeof(float))
        return FORMAT_ERR(s, count_off, "%llu parameters is too many", (unsigned long long)n_params);

    /* The whole length is now known; compare it with the input before
     * allocating anything of the declared size. */
    uint64_t params_off = s->pos;
    uint64_t total = params_off + 4 * n_params + 4;
    if (s->len < total)
        return FORMAT_ERR(s, s->len, "file ends after %llu bytes, the header declares %llu (truncated)",
                          (unsigned long long)s->len, (unsigned long long)total);
    if (s->len > total)
        return FORMAT_ERR(s, total, "%llu bytes of trailing data after the checksum",
                          (unsigned long long)(s->len - total));

    jn_net *net = NULL;
    st = jn_net_create(&net, sizes, n_sizes, hidden, output);
    if (st == JN_ERR_INVALID) return FORMAT_ERR(s, 0, "architecture refused: %s", jn_last_error());
    if (st != JN_OK) return st;

    unsigned char buf[4096];
    for (size_t i = 0; i < net->n_params;) {
        size_t k = net->n_params - i < sizeof buf / 4 ? net->n_params - i : sizeof buf / 4;
        if ((st = src_read(s, buf, 4 * k, "parameters")) != JN_OK) goto fail;
        for (size_t j = 0; j < k; j++, i++) {
            uint32_t bits = get_u32(buf + 4 * j);
            memcpy(&net->params[i], &bits, 4);
        }
    }
    uLong crc = s->crc;
    uint64_t crc_off = s->pos;
    if ((st = src_read(s, b, 4, "checksum")) != JN_OK) goto fail;
    uint32_t stored = get_u32(b);
    if (stored != (uint32_t)crc) {
        st = FORMAT_ERR(s, crc_off, "CRC-32 mismatch (stored 0x%08x, computed 0x%08x): the file is damaged",
                        (unsigned)stored, (unsigned)crc);
        goto fail;
    }
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i])) {
            st = FORMAT_ERR(s, params_off + 4 * (uint64_t)i, "parameter %zu is NaN or Inf", i);
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
    source s = {.fd = -1, .mem = data, .len = len, .crc = crc32(0L, Z_NULL, 0), .name = name ? name : "<memory>"};
    return parse(&s, out);
}

JN_API jn_status jn_net_load(jn_net **out, const char *path)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_net_load: out is NULL");
    *out = NULL;
    if (!path) return jn__fail(JN_ERR_INVALID, "jn_net_load: path is NULL");
    char eb[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errtext(errno, eb, sizeof eb);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s", path, eb);
    }
    struct stat st_buf;
    if (fstat(fd, &st_buf) != 0) {
        errtext(errno, eb, sizeof eb);
        close(fd);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s", path, eb);
    }
    /* The length checks need the true size up front. */
    if (!S_ISREG(st_buf.st_mode)) {
        close(fd);
        return jn__fail(JN_ERR_IO, "jn_net_load: %s: %s, not a model file", path,
                        S_ISDIR(st_buf.st_mode) ? "a directory" : "not a regular file");
    }
    source s = {.fd = fd, .len = (uint64_t)st_buf.st_size, .crc = crc32(0L, Z_NULL, 0), .name = path};
    jn_status st = parse(&s, out);
    /* A file that grew after fstat has data past the declared end. */
    if (st == JN_OK) {
        unsigned char extra;
        ssize_t more;
        while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR) {}
        if (more != 0) {
            jn_net_free(*out);
            *out = NULL;
            errtext(errno, eb, sizeof eb);
            st = more > 0 ? FORMAT_ERR(&s, s.pos, "trailing data after the checksum (the file grew while being read)")
                          : jn__fail(JN_ERR_IO, "jn_net_load: %s: read failed: %s", path, eb);
        }
    }
    close(fd);
    return st;
}
