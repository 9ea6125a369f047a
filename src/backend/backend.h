/* backend/backend.h - the library's threads and its products: float32 on the
 * CBLAS (gemm.c), bfloat16 through oneDNN (dnnl.c), and the penalty's
 * products behind one table of functions per arithmetic (products.c). */
#ifndef JN_BACKEND_H
#define JN_BACKEND_H

#include "base/base.h"

typedef struct jn_work jn_work; /* net/net.h */

/* ---- threads (threads.c) ---- */
/* Apply JACNET_THREADS once per process; jn__work_reserve calls it, since
 * every GEMM-using path reserves its workspace first. */
void jn__threads_init(void);
/* Threads the library uses: as set by jn_set_threads or JACNET_THREADS,
 * else the BLAS's own default count. */
int jn__threads(void);
/* 1 when a count was set (jn_set_threads or JACNET_THREADS): the BLAS is
 * held at one thread and gemm.c splits the products over the library's
 * threads; 0 when the BLAS threads its own products. */
int jn__gemm_split(void);
/* fn(ctx, begin, end) over contiguous parts of [0, count), split at
 * multiples of grain, one part per thread; serial when the work (count x
 * cost, cost ~ floats touched per item) is too small to pay for a wake-up.
 * fn must compute each item independently of the partition. */
typedef void (*jn__range_fn)(void *ctx, size_t begin, size_t end);
void jn__parallel_for(size_t count, size_t grain, size_t cost, jn__range_fn fn, void *ctx);
/* ---- products (gemm.c): row-major float32, split over the library's
 * threads when jn__gemm_split(), results independent of the thread count.
 * beta = 0 never reads C. ---- */
/* C (m x n) = alpha op(A) op(B) + beta C; op(A) m x k, op(B) k x n. */
void jn__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
               const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* Upper triangle of C (n x n) = alpha op(A) op(A)^T + beta C, op(A) n x k
 * (A, or A^T when trans). The strictly lower triangle is left undefined
 * (it may be written): read only the upper one. */
void jn__ssyrk(int trans, size_t n, size_t k, float alpha, const float *A, size_t lda, float beta, float *C,
               size_t ldc);
/* C (m x n) = alpha B S + beta C, S (n x n) symmetric, only its upper
 * triangle read. */
void jn__ssymm_right(size_t m, size_t n, float alpha, const float *S, size_t lds, const float *B, size_t ldb,
                     float beta, float *C, size_t ldc);
/* C (m x n) = alpha S B + beta C, S (m x m) symmetric given by its upper
 * triangle; its lower triangle may be overwritten (with the upper one's
 * mirror). */
void jn__ssymm_left(size_t m, size_t n, float alpha, float *S, size_t lds, const float *B, size_t ldb, float beta,
                    float *C, size_t ldc);
/* sum over chunks c of fn(ctx, c chunk, (c + 1) chunk), the partial sums
 * added in order of c. The chunk size grows only with count (never with
 * the thread count), so the result is the same for any number of threads. */
typedef double (*jn__sum_fn)(void *ctx, size_t begin, size_t end);
double jn__parallel_sum(size_t count, size_t chunk, size_t cost, jn__sum_fn fn, void *ctx);


/* ---- bfloat16 (dnnl.c: the only file that sees oneDNN) ---- */
/* Round to the nearest bfloat16 (ties to even; NaN stays NaN, quieted).
 * Both results are computed and one selected, with no branch, so that a
 * loop of conversions becomes SIMD code (the files that convert in loops
 * are compiled with the vectoriser on: Makefile). The same bits as the
 * branching form on all 2^32 inputs (checked exhaustively when it was
 * written; tests/test_precision.c checks the special values). */
static inline uint16_t jn__bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (b >> 16) | 0x40u;
    return (uint16_t)((b & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}
/* 1 when oneDNN is built in and multiplies bfloat16 correctly on this CPU
 * (probed once). */
int jn__dnnl_bf16_works(void);
/* C = op(A) op(B) with bfloat16 A (m x k after op) and B (k x n after op),
 * float32 C (m x n), all row-major with leading dimensions lda, ldb, ldc;
 * trans_a / trans_b: the stored matrix is the transpose. Primitives are kept
 * in the workspace per shape. */
struct jn_dnnl;
jn_status jn__dnnl_matmul(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, const uint16_t *A,
                          size_t lda, const uint16_t *B, size_t ldb, float *C, size_t ldc);
void jn__dnnl_free(struct jn_dnnl *d);

/* ---- the penalty's products, one table per arithmetic (products.c) ----
 * The Jacobian chain and the penalty's gradient (penalty/) multiply in the
 * arithmetic chosen once per step (backend/precision.c): they are handed
 * its table and call through it, naming each operand once, instead of
 * testing a flag at every product. */

/* A row-major matrix operand: its float32 values and, where the products
 * read bfloat16 (jn__products.reads_bf16), its bfloat16 copy in the same
 * layout (NULL otherwise). The copy is the caller's to keep current: the
 * table's convert, or the caller's own sweep over the values (jn__bf16). */
typedef struct jn__operand {
    const float *f32;
    uint16_t *bf16;
    size_t ld; /* leading dimension of both */
} jn__operand;

typedef struct jn__products {
    const char *name; /* "float32" or "bfloat16" */
    /* 1: the products read the operands' bfloat16 copies (callers make
     * them, in work->W16, T16 and R16: jn__work_reserve_bf16), so callers
     * hand over copies and fill them; 0: only the float32 values. */
    int reads_bf16;
    /* Rate of these products over float32 sgemm's, for cost estimates (the
     * penalty's form choice): 1 for float32. */
    double speedup;
    /* Bring the copy of M's first `rows` rows (rows x M.ld values) up to
     * date with its values; nothing in float32, which keeps no copy. */
    void (*convert)(jn__operand M, size_t rows);
    /* C (m x n) = alpha op(A) op(B), op(A) m x k, op(B) k x n; C is never
     * read (beta 0). float32: one jn__sgemm (thread-count invariant);
     * bfloat16: a oneDNN product of the copies, then a pass scaling C when
     * alpha != 1 (callers fold alpha into their conversion where they can).
     * May fail in bfloat16 (oneDNN), never in float32. */
    jn_status (*product)(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                         jn__operand A, jn__operand B, float *C, size_t ldc);
} jn__products;

extern const jn__products jn__products_fp32, jn__products_bf16;
/* &jn__products_bf16 when bf16, else &jn__products_fp32. */
const jn__products *jn__products_for(int bf16);

#endif
