/* binio.h - private helpers shared by the library's binary files (model
 * files, model_file.c; training checkpoints, checkpoint.c): little-endian
 * fields, a CRC-32 kept while writing or reading, bounds-checked reading
 * with messages that name the field and offset, and the atomic save (temp
 * file, fsync, rename, fsync of the directory). Layouts: docs/FORMAT.md. */
#ifndef JACNET_BINIO_H
#define JACNET_BINIO_H

#include "base/base.h"

#include <stdio.h>

/* Every multi-byte field is written and read byte by byte, least
 * significant first, whatever the host's byte order: an unsigned integer
 * of `width` bytes (1 to 8); the typed names are the 4- and 8-byte ones. */
void jn__put_le(unsigned char *p, uint64_t v, size_t width);
uint64_t jn__get_le(const unsigned char *p, size_t width);
void jn__put_u32(unsigned char *p, uint32_t v);
void jn__put_u64(unsigned char *p, uint64_t v);
uint32_t jn__get_u32(const unsigned char *p);
uint64_t jn__get_u64(const unsigned char *p);

/* zlib's crc32 over any length (it takes a uInt); crc starts at 0. */
unsigned long jn__crc(unsigned long crc, const void *p, size_t n);

/* strerror_r into buf, or "error N". */
void jn__errtext(int err, char *buf, size_t cap);

/* Where encoded bytes go: a FILE or a memory buffer large enough for
 * everything written; the CRC of every byte so far is kept on the way. */
typedef struct jn__sink {
    FILE *f;
    unsigned char *mem;
    size_t pos;
    unsigned long crc;
    int err; /* errno of the first failed write, 0 if none */
} jn__sink;

void jn__sink_write(jn__sink *s, const void *p, size_t n);
void jn__sink_le(jn__sink *s, uint64_t v, size_t width);
void jn__sink_u32(jn__sink *s, uint32_t v);
void jn__sink_u64(jn__sink *s, uint64_t v);
void jn__sink_f64(jn__sink *s, double v);
/* n floats (their binary32 bits) or n doubles (binary64 bits). */
void jn__sink_f32s(jn__sink *s, const float *v, size_t n);
void jn__sink_f64s(jn__sink *s, const double *v, size_t n);
/* The CRC of everything written so far, as the closing u32. */
void jn__sink_crc(jn__sink *s);

/* Write a file atomically: `encode(ctx, sink)` writes the content into
 * `<path>.tmp.XXXXXX` (same directory, permission bits of the file it
 * replaces or 0644), which is flushed, fsynced, closed and renamed over
 * path; then the directory is fsynced. On failure the temporary file is
 * removed, path is untouched and JN_ERR_IO names `fn`, the path, the step
 * and strerror (or JN_ERR_NOMEM). */
jn_status jn__save_atomic(const char *path, const char *fn, void (*encode)(const void *ctx, jn__sink *s),
                          const void *ctx);

/* Where bytes come from: a FILE or memory, with a known total length, the
 * current offset and the running CRC. */
typedef struct jn__source {
    FILE *f;
    const unsigned char *mem;
    uint64_t len;
    uint64_t pos;
    unsigned long crc;
    const char *name;
} jn__source;

/* Read n bytes at the current offset into dst; `what` names the field for
 * the message (JN_ERR_FORMAT "file ends inside the <what> (truncated)") if
 * the input ends first; JN_ERR_IO for read errors. */
jn_status jn__src_read(jn__source *s, unsigned char *dst, size_t n, const char *what);
/* One field (jn__src_le: an unsigned integer of `width` bytes, 1 to 8); on
 * failure *v is untouched. */
jn_status jn__src_le(jn__source *s, uint64_t *v, size_t width, const char *what);
jn_status jn__src_u32(jn__source *s, uint32_t *v, const char *what);
jn_status jn__src_u64(jn__source *s, uint64_t *v, const char *what);
jn_status jn__src_f64(jn__source *s, double *v, const char *what);
jn_status jn__src_f32s(jn__source *s, float *v, size_t n, const char *what);
jn_status jn__src_f64s(jn__source *s, double *v, size_t n, const char *what);
/* JN_ERR_FORMAT "<name>: offset <off>: <message>". */
jn_status jn__src_error(const jn__source *s, uint64_t off, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
