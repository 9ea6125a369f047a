/* base/base.h - what every unit of libjacnet uses: limits, the error
 * message, checked allocation. Nothing here is part of the public ABI. */
#ifndef JN_BASE_H
#define JN_BASE_H


#define JN_BUILDING_LIBRARY 1
#include "jacnet.h"


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Rows per internal chunk for calls on whole datasets (forward, predict,
 * Jacobians, error rates), bounding the workspace to a few MB whatever n
 * the caller passes. */
#define JN_CHUNK 512
/* Largest single allocation we agree to make (bytes): refuses absurd sizes
 * before malloc sees them. */
#define JN_MAX_BYTES ((size_t)1 << 40)
/* Network limits, shared by jn_net_create and the model-file reader: a
 * 2^24-wide layer is already absurd for a dense MLP and keeps every product
 * of two widths far from overflow. */
#define JN_MAX_WIDTH ((size_t)1 << 24)
#define JN_MAX_LAYERS 64

/* ---- errors (error.c) ---- */
/* Record a formatted message for jn_last_error and return status. */
jn_status jn__fail(jn_status status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- checked arithmetic and allocation (alloc.c) ---- */
/* *out = a * b; returns 0 on overflow. */
int jn__mul(size_t a, size_t b, size_t *out);
/* malloc of count * size bytes with overflow and JN_MAX_BYTES checks; NULL
 * with a recorded JN_ERR_NOMEM/JN_ERR_INVALID message on failure. */
void *jn__alloc(size_t count, size_t size, const char *what);
void *jn__calloc(size_t count, size_t size, const char *what);
/* realloc of p to count * size bytes, same checks; on failure NULL with a
 * recorded message, and p is left allocated and unchanged. */
void *jn__realloc(void *p, size_t count, size_t size, const char *what);
/* 1 if all n values are finite. */
int jn__all_finite(const float *v, size_t n);

#endif
