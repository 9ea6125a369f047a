/* load_idx.c - IDX3 images + IDX1 labels (the MNIST distribution format).
 *
 * IDX: two zero bytes, a data type byte (0x08 = unsigned byte, the only one
 * MNIST uses and the only one accepted), the number of dimensions, then each
 * dimension as a big-endian uint32, then the data. Images are 3-D (count x
 * rows x cols), labels 1-D (count). Labels must be digits 0..9: the loader
 * is for MNIST-style digit sets and classes is always 10, so a model trained
 * on one file fits another. */
#include "data/dataset.h"
#include "data/reader.h"

#include <stdlib.h>

#define IDX_CLASSES 10

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Check the magic of an IDX file of `ndim` dimensions; the header is
 * 4 + 4 * ndim bytes. */
static jn_status check_header(const unsigned char *p, size_t len, unsigned ndim, const char *name)
{
    size_t head = 4 + 4 * (size_t)ndim;
    if (len < 4)
        return jn__fail(JN_ERR_FORMAT, "'%s': truncated at byte %zu, inside the IDX magic", name, len);
    if (p[0] != 0 || p[1] != 0)
        return jn__fail(JN_ERR_FORMAT, "'%s': bad IDX magic at byte 0 (%02x %02x, want 00 00)", name,
                        p[0], p[1]);
    if (p[2] != 0x08)
        return jn__fail(JN_ERR_FORMAT, "'%s': IDX data type 0x%02x at byte 2, only 0x08 (unsigned byte) is supported",
                        name, p[2]);
    if (p[3] != ndim)
        return jn__fail(JN_ERR_FORMAT, "'%s': %u dimensions at byte 3, want %u (%s)", name, p[3], ndim,
                        ndim == 3 ? "images" : "labels");
    if (len < head)
        return jn__fail(JN_ERR_FORMAT, "'%s': truncated at byte %zu, inside the %zu-byte IDX header", name,
                        len, head);
    return JN_OK;
}

jn_status jn__parse_idx(jn_dataset **out, const unsigned char *img, size_t img_len,
                        const char *img_name, const unsigned char *lab, size_t lab_len,
                        const char *lab_name, unsigned flags)
{
    *out = NULL;
    jn_status st = check_header(img, img_len, 3, img_name);
    if (st != JN_OK) return st;
    st = check_header(lab, lab_len, 1, lab_name);
    if (st != JN_OK) return st;

    size_t count = be32(img + 4), rows = be32(img + 8), cols = be32(img + 12);
    size_t n_labels = be32(lab + 4);
    if (count == 0 || rows == 0 || cols == 0)
        return jn__fail(JN_ERR_FORMAT, "'%s': header at byte 4 declares %zu images of %zu x %zu", img_name,
                        count, rows, cols);
    /* Compare the declared size with the real length before allocating
     * anything: absurd dimensions are refused here, whatever they claim. */
    size_t dim, cells;
    if (!jn__mul(rows, cols, &dim) || !jn__mul(count, dim, &cells) || cells != img_len - 16)
        return jn__fail(JN_ERR_FORMAT,
                        "'%s': header declares %zu images of %zu x %zu but the file has %zu bytes of pixels after byte 16",
                        img_name, count, rows, cols, img_len - 16);
    if (n_labels != lab_len - 8)
        return jn__fail(JN_ERR_FORMAT, "'%s': header declares %zu labels but the file has %zu bytes after byte 8",
                        lab_name, n_labels, lab_len - 8);
    if (n_labels != count)
        return jn__fail(JN_ERR_FORMAT, "'%s' has %zu images but '%s' has %zu labels", img_name, count,
                        lab_name, n_labels);
    const unsigned char *lp = lab + 8;
    for (size_t i = 0; i < count; i++)
        if (lp[i] >= IDX_CLASSES)
            return jn__fail(JN_ERR_FORMAT, "'%s': label %u at byte %zu is not a digit 0..9", lab_name, lp[i],
                            8 + i);

    jn_dataset *ds;
    st = jn__dataset_new(&ds, count, dim, IDX_CLASSES);
    if (st != JN_OK) return st;
    /* A table lookup per byte: no division or branch in the hot loop. */
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = (flags & JN_LOAD_BINARIZE) ? (v > 127 ? 1.0f : 0.0f) : (float)v / 255.0f;
    const unsigned char *src = img + 16;
    float *dst = ds->own_features;
    for (size_t i = 0; i < cells; i++) dst[i] = table[src[i]];
    for (size_t i = 0; i < count; i++) ds->own_labels[i] = lp[i];
    *out = ds;
    return JN_OK;
}

JN_API jn_status jn_dataset_load_idx(jn_dataset **out, const char *images_path,
                                     const char *labels_path, unsigned flags)
{
    if (!out) return jn__fail(JN_ERR_INVALID, "jn_dataset_load_idx: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_load_idx: %s is NULL",
                        images_path ? "labels_path" : "images_path");
    if (flags & ~JN_LOAD_BINARIZE)
        return jn__fail(JN_ERR_INVALID, "jn_dataset_load_idx: unknown flags 0x%x", flags);
    jn__blob img, lab;
    jn_status st = jn__read_file(labels_path, JN__READ_CAP, &lab);
    if (st != JN_OK) return st;
    st = jn__read_file(images_path, JN__READ_CAP, &img);
    if (st == JN_OK)
        st = jn__parse_idx(out, img.data, img.len, images_path, lab.data, lab.len, labels_path, flags);
    jn__blob_free(&img);
    jn__blob_free(&lab);
    return st;
}
