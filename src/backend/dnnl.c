/* dnnl.c - bfloat16 matrix products through oneDNN, the library's one
 * optional backend. This is the only file that includes oneDNN's header;
 * built without it (JN_HAVE_DNNL undefined: `make DNNL=0`, or oneDNN not
 * installed) the functions below report "unavailable" and the penalty runs
 * in float32.
 *
 * oneDNN 2.6's C API has no bfloat16 GEMM call (dnnl_sgemm is float32
 * only), so a product is a matmul primitive: bfloat16 source and weights,
 * float32 destination, row-major with the caller's leading dimensions given
 * as strides (a transposed operand is the same memory with its strides
 * swapped). Creating a primitive compiles code, so each workspace keeps the
 * primitives of the shapes it has used (a training run uses a handful),
 * together with memory objects whose data pointers are set per call. */
#define _GNU_SOURCE 1
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"

#ifdef JN_HAVE_DNNL

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

/* Weak references, so that libjacnet.a links without oneDNN: Debian ships
 * no libdnnl.a, and a static link (`pkg-config --static --libs jacnet`,
 * which does not name oneDNN) must not need it. Unresolved there,
 * dnnl_engine_create is NULL and the probe finds bfloat16 unavailable (the
 * penalty runs in float32). The shared library and programs that add
 * -ldnnl resolve them as usual (mk/dnnl.mk keeps -ldnnl needed under
 * --as-needed, which ignores weak references). */
#pragma weak dnnl_engine_create
#pragma weak dnnl_get_effective_cpu_isa
#pragma weak dnnl_matmul_desc_init
#pragma weak dnnl_memory_create
#pragma weak dnnl_memory_desc_init_by_strides
#pragma weak dnnl_memory_destroy
#pragma weak dnnl_memory_set_data_handle_v2
#pragma weak dnnl_primitive_create
#pragma weak dnnl_primitive_desc_create
#pragma weak dnnl_primitive_desc_destroy
#pragma weak dnnl_primitive_destroy
#pragma weak dnnl_primitive_execute
#pragma weak dnnl_status2str
#pragma weak dnnl_stream_create
#pragma weak dnnl_stream_destroy
#pragma weak dnnl_stream_wait

/* A training step uses 2L + 1 shapes per batch size; twice that covers a
 * short last batch too. */
#define JN_DNNL_CACHE 32

typedef struct matmul_key {
    size_t m, n, k, lda, ldb, ldc;
    int trans_a, trans_b;
} matmul_key;

typedef struct matmul_entry {
    matmul_key key;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
} matmul_entry;

struct jn_dnnl {
    dnnl_stream_t stream;
    matmul_entry entry[JN_DNNL_CACHE];
    size_t used, next; /* entries filled; the one to replace when full */
};

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static int bf16_works;
/* Debian's oneDNN runs on OpenMP threads: their number follows
 * jn_set_threads through omp_set_num_threads, found in the libgomp (or other
 * OpenMP runtime) that oneDNN brought in. */
static void (*omp_set_threads)(int);

static void entry_free(matmul_entry *e)
{
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

/* A primitive (and its memory objects) for the shape in key. */
static dnnl_status_t entry_make(matmul_entry *e, const matmul_key *key)
{
    dnnl_dims_t a_dims = {(dnnl_dim_t)key->m, (dnnl_dim_t)key->k};
    dnnl_dims_t b_dims = {(dnnl_dim_t)key->k, (dnnl_dim_t)key->n};
    dnnl_dims_t c_dims = {(dnnl_dim_t)key->m, (dnnl_dim_t)key->n};
    dnnl_dims_t a_strides = {key->trans_a ? 1 : (dnnl_dim_t)key->lda, key->trans_a ? (dnnl_dim_t)key->lda : 1};
    dnnl_dims_t b_strides = {key->trans_b ? 1 : (dnnl_dim_t)key->ldb, key->trans_b ? (dnnl_dim_t)key->ldb : 1};
    dnnl_dims_t c_strides = {(dnnl_dim_t)key->ldc, 1};
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s;
    memset(e, 0, sizeof *e);
    e->key = *key;
    if ((s = dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_bf16, b_strides)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides)) != dnnl_success ||
        (s = dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md)) != dnnl_success ||
        (s = dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL)) != dnnl_success)
        return s;
    s = dnnl_primitive_create(&e->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success) s = dnnl_memory_create(&e->a, &a_md, engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&e->b, &b_md, engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&e->c, &c_md, engine, DNNL_MEMORY_NONE);
    if (s != dnnl_success) entry_free(e);
    return s;
}

static dnnl_status_t entry_run(matmul_entry *e, dnnl_stream_t stream, const uint16_t *A, const uint16_t *B,
                               float *C)
{
    dnnl_status_t s;
    if ((s = dnnl_memory_set_data_handle_v2(e->a, (void *)A, stream)) != dnnl_success ||
        (s = dnnl_memory_set_data_handle_v2(e->b, (void *)B, stream)) != dnnl_success ||
        (s = dnnl_memory_set_data_handle_v2(e->c, C, stream)) != dnnl_success)
        return s;
    if (omp_set_threads) omp_set_threads(jn__threads());
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if ((s = dnnl_primitive_execute(e->prim, stream, 3, args)) != dnnl_success) return s;
    return dnnl_stream_wait(stream);
}

/* Create the engine and check, on a 32 x 32 x 32 product of 1s and 2s (64
 * everywhere, exact in bfloat16 inputs and float32 sums), that oneDNN's
 * bfloat16 matmul runs and is right on this CPU. */
static void probe(void)
{
    if (!dnnl_engine_create) return; /* oneDNN not linked in (see the weak references above) */
    void *gomp = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (gomp) omp_set_threads = (void (*)(int))dlsym(gomp, "omp_set_num_threads");
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return;
    enum { S = 32 };
    uint16_t A[S * S], B[S * S];
    float C[S * S];
    for (size_t i = 0; i < S * S; i++) {
        A[i] = jn__bf16(1.0f);
        B[i] = jn__bf16(2.0f);
        C[i] = 0.0f;
    }
    matmul_key key = {S, S, S, S, S, S, 0, 1};
    matmul_entry e;
    dnnl_stream_t stream;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return;
    int ok = entry_make(&e, &key) == dnnl_success;
    if (ok) {
        ok = entry_run(&e, stream, A, B, C) == dnnl_success;
        for (size_t i = 0; ok && i < S * S; i++) ok = C[i] == 2.0f * S;
        entry_free(&e);
    }
    dnnl_stream_destroy(stream);
    bf16_works = ok;
}

int jn__dnnl_bf16_works(void)
{
    pthread_once(&engine_once, probe);
    return bf16_works;
}

static int same_key(const matmul_key *a, const matmul_key *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->lda == b->lda && a->ldb == b->ldb &&
           a->ldc == b->ldc && a->trans_a == b->trans_a && a->trans_b == b->trans_b;
}

static jn_status fail(dnnl_status_t s, const matmul_key *key)
{
    return jn__fail(s == dnnl_out_of_memory ? JN_ERR_NOMEM : JN_ERR_INVALID,
                    "oneDNN bfloat16 product %zu x %zu x %zu failed: %s (JN_PRECISION_FP32 avoids oneDNN)", key->m,
                    key->n, key->k, dnnl_status2str(s));
}

jn_status jn__dnnl_matmul(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, const uint16_t *A,
                          size_t lda, const uint16_t *B, size_t ldb, float *C, size_t ldc)
{
    matmul_key key = {m, n, k, lda, ldb, ldc, trans_a != 0, trans_b != 0};
    if (!jn__dnnl_bf16_works()) return jn__fail(JN_ERR_INVALID, "oneDNN bfloat16 products are not available");
    if (!w->dnnl) {
        w->dnnl = jn__calloc(1, sizeof *w->dnnl, "oneDNN workspace");
        if (!w->dnnl) return JN_ERR_NOMEM;
        dnnl_status_t s = dnnl_stream_create(&w->dnnl->stream, engine, dnnl_stream_default_flags);
        if (s != dnnl_success) {
            free(w->dnnl);
            w->dnnl = NULL;
            return fail(s, &key);
        }
    }
    struct jn_dnnl *d = w->dnnl;
    matmul_entry *e = NULL;
    for (size_t i = 0; i < d->used && !e; i++)
        if (same_key(&d->entry[i].key, &key)) e = &d->entry[i];
    if (!e) {
        /* Full: replace the oldest entry. */
        e = &d->entry[d->used < JN_DNNL_CACHE ? d->used++ : d->next++ % JN_DNNL_CACHE];
        entry_free(e);
        dnnl_status_t s = entry_make(e, &key);
        if (s != dnnl_success) return fail(s, &key);
    }
    dnnl_status_t s = entry_run(e, d->stream, A, B, C);
    return s == dnnl_success ? JN_OK : fail(s, &key);
}

void jn__dnnl_free(struct jn_dnnl *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->used; i++) entry_free(&d->entry[i]);
    dnnl_stream_destroy(d->stream);
    free(d);
}

#else /* no oneDNN */

int jn__dnnl_bf16_works(void) { return 0; }

jn_status jn__dnnl_matmul(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, const uint16_t *A,
                          size_t lda, const uint16_t *B, size_t ldb, float *C, size_t ldc)
{
    return jn__fail(JN_ERR_INVALID, "libjacnet was built without oneDNN: no bfloat16 products");
}

void jn__dnnl_free(struct jn_dnnl *d) { (void)d; }

#endif
