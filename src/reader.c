/* reader.c - read a whole data file, raw or gzip-compressed, into memory.
 *
 * The loaders parse from one buffer: it makes the parsers simple, lets them
 * compare declared sizes with the real length before allocating a dataset,
 * and lets zlib inflate straight into our buffer in large chunks, which is
 * what keeps loading MNIST close to the speed of `gzip -dc`. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* gzread takes an unsigned and returns an int: stay well inside both. */
#define GZ_CHUNK ((size_t)1 << 30)
/* zlib's own input buffer; larger than its 8 KiB default to cut read calls. */
#define GZ_INBUF (256u * 1024u)

static jn_status fail_errno(const char *what, const char *path, int err)
{
    char text[128];
    if (strerror_r(err, text, sizeof text) != 0) snprintf(text, sizeof text, "errno %d", err);
    return jn__fail(JN_ERR_IO, "cannot %s '%s': %s", what, path, text);
}

void jn__blob_free(jn__blob *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

jn_status jn__reserve(void **buf, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap) return JN_OK;
    size_t grown = *cap < 1024 ? 1024 : *cap;
    while (grown < need) grown = grown > SIZE_MAX / 2 ? need : grown * 2;
    size_t bytes;
    if (!jn__mul(grown, elem, &bytes) || bytes > JN_MAX_BYTES)
        return jn__fail(JN_ERR_NOMEM, "%s: %zu elements is too large", what, grown);
    void *p = realloc(*buf, bytes);
    if (!p) return jn__fail(JN_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    *buf = p;
    *cap = grown;
    return JN_OK;
}

/* Raw file: its size is known, so one allocation and read() calls. */
static jn_status read_raw(int fd, const char *path, size_t size, size_t cap, jn__blob *out)
{
    if (size > cap)
        return jn__fail(JN_ERR_FORMAT, "'%s': %zu bytes exceeds the loader limit of %zu bytes", path,
                        size, cap);
    unsigned char *buf = jn__alloc(size + 1, 1, path);
    if (!buf) return JN_ERR_NOMEM;
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            free(buf);
            return fail_errno("read", path, err);
        }
        if (n == 0) break; /* shrank under us: parse what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    out->data = buf;
    out->len = got;
    return JN_OK;
}

/* Initial buffer for a gzip file: the trailer's ISIZE (length mod 2^32) is
 * exact for honest files, so they are inflated with no regrowth. It is only
 * believed up to 64 times the compressed size (real data sets compress 3-10
 * times), so a lying trailer cannot make us reserve gigabytes up front; a
 * file that really expands more just grows the buffer by doubling. */
static size_t gzip_guess(int fd, size_t comp_size, size_t cap)
{
    unsigned char t[4];
    size_t guess = comp_size * 4;
    if (comp_size >= 18 && pread(fd, t, 4, (off_t)(comp_size - 4)) == 4) {
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        size_t most = comp_size > SIZE_MAX / 64 ? SIZE_MAX : comp_size * 64 + 65536;
        guess = isize > 0 && isize <= most ? isize : most < guess ? most : guess;
    }
    if (guess < 4096) guess = 4096;
    return guess > cap ? cap + 1 : guess; /* +1: room to notice going over the cap */
}

static jn_status gz_status(gzFile gz, const char *path, size_t at)
{
    int code;
    const char *msg = gzerror(gz, &code);
    if (code == Z_ERRNO) return fail_errno("read", path, errno);
    if (code == Z_MEM_ERROR) return jn__fail(JN_ERR_NOMEM, "'%s': zlib is out of memory", path);
    if (code == Z_BUF_ERROR)
        return jn__fail(JN_ERR_FORMAT, "'%s': gzip stream truncated after %zu decompressed bytes",
                        path, at);
    return jn__fail(JN_ERR_FORMAT, "'%s': corrupt gzip stream near decompressed byte %zu (%s)", path,
                    at, msg ? msg : "zlib error");
}

static jn_status read_gzip(int fd, const char *path, size_t comp_size, size_t cap, jn__blob *out)
{
    /* One byte past the guess, so an exact guess ends in a short read
     * instead of a needless regrowth. */
    size_t capacity = gzip_guess(fd, comp_size, cap) + 1;
    if (lseek(fd, 0, SEEK_SET) != 0) return fail_errno("seek in", path, errno);
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) return jn__fail(JN_ERR_NOMEM, "'%s': cannot start zlib", path);
    gzbuffer(gz, GZ_INBUF);
    unsigned char *buf = jn__alloc(capacity + 1, 1, path);
    if (!buf) {
        gzclose_r(gz);
        return JN_ERR_NOMEM;
    }
    size_t len = 0;
    jn_status st = JN_OK;
    for (;;) {
        if (len == capacity) {
            if (capacity > cap) {
                st = jn__fail(JN_ERR_FORMAT, "'%s': decompressed content exceeds the loader limit of %zu bytes",
                              path, cap);
                break;
            }
            size_t grown = capacity > cap / 2 ? cap + 1 : capacity * 2;
            unsigned char *b = realloc(buf, grown + 1);
            if (!b) {
                st = jn__fail(JN_ERR_NOMEM, "'%s': cannot grow the buffer to %zu bytes", path, grown);
                break;
            }
            buf = b;
            capacity = grown;
        }
        size_t want = capacity - len > GZ_CHUNK ? GZ_CHUNK : capacity - len;
        int n = gzread(gz, buf + len, (unsigned)want);
        if (n < 0) {
            st = gz_status(gz, path, len);
            break;
        }
        len += (size_t)n;
        if ((size_t)n < want) {
            /* A short read is the end, or a truncated stream (Z_BUF_ERROR). */
            int code;
            gzerror(gz, &code);
            if (code != Z_OK) st = gz_status(gz, path, len);
            break;
        }
    }
    /* gzclose_r also closes fd. */
    gzclose_r(gz);
    if (st == JN_OK && len > cap)
        st = jn__fail(JN_ERR_FORMAT, "'%s': decompressed content exceeds the loader limit of %zu bytes", path, cap);
    if (st != JN_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return JN_OK;
}

jn_status jn__read_file(const char *path, size_t cap, jn__blob *out)
{
    out->data = NULL;
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("open", path, errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return fail_errno("stat", path, err);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return fail_errno("read", path, S_ISDIR(sb.st_mode) ? EISDIR : EINVAL);
    }
    size_t size = (size_t)sb.st_size;
    unsigned char magic[2] = {0, 0};
    ssize_t got = size >= 2 ? pread(fd, magic, 2, 0) : 0;
    if (got < 0) {
        int err = errno;
        close(fd);
        return fail_errno("read", path, err);
    }
    jn_status st;
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        st = read_gzip(fd, path, size, cap, out); /* closes fd */
    } else {
        st = read_raw(fd, path, size, cap, out);
        close(fd);
    }
    if (st == JN_OK && out->len == 0) {
        jn__blob_free(out);
        return jn__fail(JN_ERR_FORMAT, "'%s' is empty", path);
    }
    return st;
}

int jn__next_line(const char **p, const char *end, const char **start, const char **stop)
{
    if (*p >= end) return 0;
    const char *eol = memchr(*p, '\n', (size_t)(end - *p));
    if (!eol) eol = end;
    *start = *p;
    *stop = eol > *p && eol[-1] == '\r' ? eol - 1 : eol;
    *p = eol + 1;
    return 1;
}
