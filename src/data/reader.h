/* reader.h - private helpers of the data loaders: whole-file reading (raw or
 * gzip), number scanning, and the parsers behind each public loader. The
 * parsers work on memory so that the fuzz targets can call them directly. */
#ifndef JACNET_READER_H
#define JACNET_READER_H

#include "base/base.h"

/* Largest decompressed file the loaders accept (bytes). MNIST's largest file
 * is 47 MB; the cap only exists to turn a gzip bomb or a mistaken path into
 * an error instead of an exhausted machine. */
#define JN__READ_CAP ((size_t)1 << 31)

/* A file's whole content. data[len] is always '\0' so text parsers may stop
 * at a terminator; the content itself may hold NUL bytes. */
typedef struct jn__blob {
    unsigned char *data;
    size_t len;
} jn__blob;

/* Read `path` (raw, or gzip when it starts with 1f 8b) into *out, refusing
 * content longer than cap bytes and empty content. JN_ERR_IO for files that
 * cannot be opened or read (message: path and errno text), JN_ERR_FORMAT for
 * corrupt or truncated gzip streams, empty files and files over the cap. On
 * failure out->data is NULL. */
jn_status jn__read_file(const char *path, size_t cap, jn__blob *out);
void jn__blob_free(jn__blob *b);

/* Make room for `need` elements of `elem` bytes in *buf (capacity *cap,
 * grown geometrically). The text parsers grow their arrays as they go, so
 * memory follows what a file really contains, never what it claims. */
jn_status jn__reserve(void **buf, size_t *cap, size_t need, size_t elem, const char *what);

/* Scan a decimal number ([+-]digits[.digits][(e|E)[+-]digits], or with the
 * digits only after the point) from s[0..n). Returns the number of bytes
 * used, 0 if s does not start with one. Locale-independent, unlike strtod,
 * so a program's setlocale cannot change what a data file means. Values too
 * large for a double come back as +-Inf. */
size_t jn__scan_number(const char *s, size_t n, double *value);

/* Parsers behind the loaders; `name` is what error messages call the input. */
/* Text lines: the next line of [*p, end) as [*start, *stop), without its
 * '\n' or a trailing '\r', and *p moved past it. 0 when no line is left. */
int jn__next_line(const char **p, const char *end, const char **start, const char **stop);

jn_status jn__parse_idx(jn_dataset **out, const unsigned char *img, size_t img_len,
                        const char *img_name, const unsigned char *lab, size_t lab_len,
                        const char *lab_name, unsigned flags);
jn_status jn__parse_usps(jn_dataset **out, const char *text, size_t len, const char *name);
jn_status jn__parse_csv(jn_dataset **out, const char *text, size_t len, const char *name);

#endif
