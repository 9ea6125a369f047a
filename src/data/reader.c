/* reader.c - read a whole data file, raw or gzip-compressed, into memory.
 *
 * The loaders parse from one buffer: it makes the parsers simple, lets them
 * compare declared sizes with the real length before allocating a dataset,
 * and lets zlib inflate straight into our buffer in large chunks, which is
 * what keeps loading MNIST close to the speed of `gzip -dc`. */
#include "data/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* inflate counts output in an unsigned int: stay well inside it. */
#define GZ_CHUNK ((size_t)1 << 30)
/* Compressed bytes read per read() call. */
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
    void *p = jn__realloc(*buf, grown, elem, what);
    if (!p) return JN_ERR_NOMEM;
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

/* zlib allocates through the library's allocator, so its failures are
 * JN_ERR_NOMEM like any other (and the test build can provoke them). */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    return jn__alloc(items, size, (const char *)opaque);
}
static void z_free(voidpf opaque, voidpf p) { free(p); }

/* Fill in[] with up to cap bytes from fd; returns the count, 0 at the end,
 * -1 with errno on error. */
static ssize_t read_some(int fd, unsigned char *in, size_t cap)
{
    for (;;) {
        ssize_t n = read(fd, in, cap);
        if (n >= 0 || errno != EINTR) return n;
    }
}

/* Inflate the gzip file on fd (one member or several concatenated, as gzip
 * writes and reads them) into a buffer grown as needed. Bytes after the
 * last member that do not start another one are ignored, as gzip -d does. */
static jn_status read_gzip(int fd, const char *path, size_t comp_size, size_t cap, jn__blob *out)
{
    /* One byte past the guess, so an exact guess ends without a needless
     * regrowth. */
    size_t capacity = gzip_guess(fd, comp_size, cap) + 1;
    if (lseek(fd, 0, SEEK_SET) != 0) return fail_errno("seek in", path, errno);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = z_alloc;
    zs.zfree = z_free;
    zs.opaque = (voidpf)path;
    unsigned char *in = jn__alloc(GZ_INBUF, 1, path);
    unsigned char *buf = in ? jn__alloc(capacity + 1, 1, path) : NULL;
    if (!buf) {
        free(in);
        return JN_ERR_NOMEM;
    }
    /* 16 + MAX_WBITS: a gzip wrapper, with its CRC and length checked. */
    int zrc = inflateInit2(&zs, 16 + MAX_WBITS);
    if (zrc != Z_OK) {
        free(in);
        free(buf);
        return zrc == Z_MEM_ERROR ? jn__fail(JN_ERR_NOMEM, "'%s': zlib is out of memory", path)
                                  : jn__fail(JN_ERR_IO, "'%s': cannot start zlib (%d)", path, zrc);
    }
    size_t len = 0;
    int at_eof = 0, ended = 0;
    jn_status st = JN_OK;
    while (st == JN_OK) {
        if (zs.avail_in == 0 && !at_eof) {
            ssize_t n = read_some(fd, in, GZ_INBUF);
            if (n < 0) {
                st = fail_errno("read", path, errno);
                break;
            }
            at_eof = n == 0;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
        }
        if (ended) {
            /* After a member: another one, or the end of the data. */
            if (zs.avail_in == 0 && at_eof) break;
            if (zs.avail_in < 2 && !at_eof) {
                /* Too little to tell: keep the byte and read more. */
                memmove(in, zs.next_in, zs.avail_in);
                ssize_t n = read_some(fd, in + zs.avail_in, GZ_INBUF - zs.avail_in);
                if (n < 0) {
                    st = fail_errno("read", path, errno);
                    break;
                }
                at_eof = n == 0;
                zs.next_in = in;
                zs.avail_in += (uInt)n;
                continue;
            }
            if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) break;
            inflateReset(&zs);
            ended = 0;
        }
        if (len == capacity) {
            if (capacity > cap) {
                st = jn__fail(JN_ERR_FORMAT, "'%s': decompressed content exceeds the loader limit of %zu bytes",
                              path, cap);
                break;
            }
            size_t grown = capacity > cap / 2 ? cap + 1 : capacity * 2;
            unsigned char *b = jn__realloc(buf, grown + 1, 1, path);
            if (!b) {
                st = JN_ERR_NOMEM;
                break;
            }
            buf = b;
            capacity = grown;
        }
        size_t room = capacity - len > GZ_CHUNK ? GZ_CHUNK : capacity - len;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        zrc = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (zrc == Z_STREAM_END) {
            ended = 1;
        } else if (zrc == Z_BUF_ERROR || (zrc == Z_OK && zs.avail_in == 0 && at_eof)) {
            /* No progress possible: output full (grow and go on) or input
             * exhausted (the stream stops before its end). */
            if (zs.avail_out != 0 && zs.avail_in == 0 && at_eof)
                st = jn__fail(JN_ERR_FORMAT, "'%s': gzip stream truncated after %zu decompressed bytes", path,
                              len);
        } else if (zrc == Z_MEM_ERROR) {
            st = jn__fail(JN_ERR_NOMEM, "'%s': zlib is out of memory", path);
        } else if (zrc != Z_OK) {
            st = jn__fail(JN_ERR_FORMAT, "'%s': corrupt gzip stream near decompressed byte %zu (%s)", path, len,
                          zs.msg ? zs.msg : "zlib error");
        }
    }
    inflateEnd(&zs);
    free(in);
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
        st = read_gzip(fd, path, size, cap, out);
    } else {
        st = read_raw(fd, path, size, cap, out);
    }
    close(fd);
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
