/* binio.c - little-endian fields, CRC-32, bounds-checked reading and the
 * atomic save shared by model files and checkpoints (binio.h). */
#include "base/binio.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The float bits are stored as IEEE-754 binary32 and binary64; the code
 * copies the bits of C floats and doubles, right only where they are. */
_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "binary files need IEEE-754 binary32 floats");
_Static_assert(sizeof(double) == 8 && DBL_MANT_DIG == 53 && DBL_MAX_EXP == 1024,
               "binary files need IEEE-754 binary64 doubles");

void jn__put_le(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++) p[i] = (unsigned char)(v >> (8 * i));
}
uint64_t jn__get_le(const unsigned char *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
void jn__put_u32(unsigned char *p, uint32_t v) { jn__put_le(p, v, 4); }
void jn__put_u64(unsigned char *p, uint64_t v) { jn__put_le(p, v, 8); }
uint32_t jn__get_u32(const unsigned char *p) { return (uint32_t)jn__get_le(p, 4); }
uint64_t jn__get_u64(const unsigned char *p) { return jn__get_le(p, 8); }

unsigned long jn__crc(unsigned long crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    /* zlib's crc32 takes a uInt length; feed it in pieces that fit. */
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

void jn__errtext(int err, char *buf, size_t cap)
{
    /* POSIX strerror_r: thread-safe, unlike strerror. */
    if (strerror_r(err, buf, cap) != 0) snprintf(buf, cap, "error %d", err);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

void jn__sink_write(jn__sink *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (s->err) return;
    s->crc = jn__crc(s->crc, p, n);
    if (s->f) {
        errno = 0;
        if (fwrite(p, 1, n, s->f) != n) s->err = errno ? errno : EIO;
    } else {
        memcpy(s->mem + s->pos, p, n);
    }
    s->pos += n;
}

void jn__sink_le(jn__sink *s, uint64_t v, size_t width)
{
    unsigned char b[8];
    jn__put_le(b, v, width);
    jn__sink_write(s, b, width);
}

void jn__sink_u32(jn__sink *s, uint32_t v) { jn__sink_le(s, v, 4); }
void jn__sink_u64(jn__sink *s, uint64_t v) { jn__sink_le(s, v, 8); }

void jn__sink_f64(jn__sink *s, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    jn__sink_u64(s, bits);
}

/* One word of `width` bytes (4 or 8), host order to little-endian and
 * back; the float arrays go through these, whatever the element type. */
static void word_to_le(unsigned char *le, const unsigned char *host, size_t width)
{
    uint64_t bits;
    if (width == 4) {
        uint32_t b32;
        memcpy(&b32, host, 4);
        bits = b32;
    } else {
        memcpy(&bits, host, 8);
    }
    jn__put_le(le, bits, width);
}

static void word_from_le(unsigned char *host, const unsigned char *le, size_t width)
{
    uint64_t b64 = jn__get_le(le, width);
    uint32_t b32 = (uint32_t)b64;
    memcpy(host, width == 4 ? (const void *)&b32 : (const void *)&b64, width);
}

/* n words of `width` bytes, through a buffer of whole words. */
static void sink_words(jn__sink *s, const void *words, size_t n, size_t width)
{
    const unsigned char *host = words;
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof buf / width && i < n; k++, i++) word_to_le(buf + width * k, host + width * i, width);
        jn__sink_write(s, buf, width * k);
    }
}

void jn__sink_f32s(jn__sink *s, const float *v, size_t n) { sink_words(s, v, n, sizeof *v); }
void jn__sink_f64s(jn__sink *s, const double *v, size_t n) { sink_words(s, v, n, sizeof *v); }

void jn__sink_crc(jn__sink *s) { jn__sink_u32(s, (uint32_t)s->crc); }

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
 * place, and some file systems refuse fsync on directories. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (!slash) dir = strdup(".");
    else if (slash == path) dir = strdup("/");
    else if ((dir = malloc((size_t)(slash - path) + 1))) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

jn_status jn__save_atomic(const char *path, const char *fn, void (*encode)(const void *ctx, jn__sink *s),
                          const void *ctx)
{
    size_t plen = strlen(path);
    char *tmp = jn__alloc(plen + sizeof ".tmp.XXXXXX", 1, fn);
    if (!tmp) return JN_ERR_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

    const char *step;
    int err = 0;
    FILE *f = NULL;
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
    f = fdopen(fd, "wb");
    if (!f) {
        err = errno;
        step = "cannot open the temporary file";
        goto fail;
    }
    jn__sink s = {.f = f, .crc = crc32(0L, Z_NULL, 0)};
    encode(ctx, &s);
    if (s.err) {
        err = s.err;
        step = "write failed";
        goto fail;
    }
    if (fflush(f) != 0) {
        err = errno;
        step = "write failed";
        goto fail;
    }
    /* The data must be on disk before the rename makes it the file:
     * otherwise a crash could leave an empty or partial file at path. */
    if (fsync(fd) != 0) {
        err = errno;
        step = "fsync failed";
        goto fail;
    }
    int rc = fclose(f);
    f = NULL;
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
    sync_parent_dir(path);
    free(tmp);
    return JN_OK;

fail:
    if (f) fclose(f);
    else if (fd >= 0) close(fd);
    unlink(tmp);
fail_no_tmp:;
    char eb[128];
    jn__errtext(err, eb, sizeof eb);
    jn_status st =
        jn__fail(JN_ERR_IO, "%s: %s: %s (%s): %s; any previous file is unchanged", fn, path, step, tmp, eb);
    free(tmp);
    return st;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

jn_status jn__src_read(jn__source *s, unsigned char *dst, size_t n, const char *what)
{
    if (n > s->len - s->pos)
        return jn__fail(JN_ERR_FORMAT, "%s: offset %llu: file ends inside the %s (truncated; %llu bytes)", s->name,
                        (unsigned long long)s->pos, what, (unsigned long long)s->len);
    if (s->f) {
        size_t got = fread(dst, 1, n, s->f);
        if (got != n) {
            if (ferror(s->f)) {
                char eb[128];
                jn__errtext(errno, eb, sizeof eb);
                return jn__fail(JN_ERR_IO, "%s: offset %llu: read failed: %s", s->name,
                                (unsigned long long)(s->pos + got), eb);
            }
            return jn__fail(JN_ERR_FORMAT, "%s: offset %llu: file ends inside the %s (it shrank while being read)",
                            s->name, (unsigned long long)(s->pos + got), what);
        }
    } else {
        memcpy(dst, s->mem + s->pos, n);
    }
    s->crc = jn__crc(s->crc, dst, n);
    s->pos += n;
    return JN_OK;
}

jn_status jn__src_le(jn__source *s, uint64_t *v, size_t width, const char *what)
{
    unsigned char b[8];
    jn_status st = jn__src_read(s, b, width, what);
    if (st == JN_OK) *v = jn__get_le(b, width);
    return st;
}

jn_status jn__src_u32(jn__source *s, uint32_t *v, const char *what)
{
    uint64_t w;
    jn_status st = jn__src_le(s, &w, 4, what);
    if (st == JN_OK) *v = (uint32_t)w;
    return st;
}

jn_status jn__src_u64(jn__source *s, uint64_t *v, const char *what) { return jn__src_le(s, v, 8, what); }

jn_status jn__src_f64(jn__source *s, double *v, const char *what)
{
    uint64_t bits;
    jn_status st = jn__src_u64(s, &bits, what);
    if (st == JN_OK) memcpy(v, &bits, 8);
    return st;
}

static jn_status src_words(jn__source *s, void *words, size_t n, size_t width, const char *what)
{
    unsigned char *host = words;
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < sizeof buf / width ? n - i : sizeof buf / width;
        jn_status st = jn__src_read(s, buf, width * k, what);
        if (st != JN_OK) return st;
        for (size_t j = 0; j < k; j++, i++) word_from_le(host + width * i, buf + width * j, width);
    }
    return JN_OK;
}

jn_status jn__src_f32s(jn__source *s, float *v, size_t n, const char *what)
{
    return src_words(s, v, n, sizeof *v, what);
}

jn_status jn__src_f64s(jn__source *s, double *v, size_t n, const char *what)
{
    return src_words(s, v, n, sizeof *v, what);
}

jn_status jn__src_error(const jn__source *s, uint64_t off, const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return jn__fail(JN_ERR_FORMAT, "%s: offset %llu: %s", s->name, (unsigned long long)off, detail);
}
