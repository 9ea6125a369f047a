/* gemm.c - the library's float32 products on the CBLAS: GEMM, and the SYRK
 * and SYMM of the penalty's Gram form and of the Hessian.
 *
 * When the thread count was chosen (jn_set_threads or JACNET_THREADS,
 * threads.c), the BLAS runs one thread and every product is split here over
 * the library's own pool, whose workers sleep between regions instead of
 * spinning like OpenBLAS's (the why: threads.c, docs/PERFORMANCE.md).
 * Otherwise each product is one BLAS call, threaded as the BLAS is.
 *
 * Results must not depend on the number of threads. A BLAS kernel computes
 * an element of C in an order that may depend on the whole call: its shape
 * (OpenBLAS's AVX-512 kernels have small-matrix paths chosen by m, n, k) and
 * where the element falls in the kernel's panels (edges are handled by other
 * code). So nothing here relies on a property of one kernel. In split mode a
 * product is always, at every thread count 1 included, the same sequence of
 * BLAS calls: fixed blocks of rows or of columns of C whose bounds depend
 * only on the product's shape (block_size), and for SYRK fixed bands. Only
 * which thread runs a block varies, and a one-thread BLAS call gives the
 * same bits whoever runs it. A GEMM is cut along the longer side of C: each
 * block's call packs the other operand again (all of op(B) for a block of
 * rows, all of op(A) for a block of columns), so cutting the long side
 * repacks the smaller operand (a minibatch, not a weight matrix). test_pool_threads and test_blas_threads check the products bit for bit
 * between 1 and 2 threads, and `make check-kernels` runs them under every
 * OpenBLAS kernel the CPU can execute. */
#include "backend/backend.h"

#include <cblas.h>

/* A split product has at most this many blocks: an even share on 2 or 4
 * threads. More blocks cost more, at every thread count: each block's call
 * packs an operand again, and narrow calls run the kernels' slower edge
 * paths (8 blocks cost B1 about 17% at one thread on the Cooperlake
 * kernels, 4 nothing measurable: docs/results/perf/split-cost.txt). */
#define MAX_BLOCKS 4
/* Block bounds are multiples of this many rows or columns, which keeps
 * blocks on the panel widths of OpenBLAS's x86 kernels (4, 8, 12, 16, 24)
 * where it can; a block is at least BLOCK_LEAST of them, so that the
 * kernels run their full-size paths and repacking costs little against a
 * block's work. */
#define BLOCK_ALIGN 16
#define BLOCK_LEAST 64
/* A block is at least this many work units (row_cost): a thread's wake-up
 * costs a few microseconds, so smaller products stay whole (threads.c's
 * JN_PART_MIN_WORK). */
#define BLOCK_MIN_WORK 16384
/* Rows per band of the split SYRK; fixed, never derived from the thread
 * count. 64 rows keep the bands' GEMMs efficient and give 16 bands to share
 * out at the networks' usual width (1000). */
#define SYRK_BAND 64

/* Work units (threads.c's JN_PART_MIN_WORK) of one row of C with n columns
 * over k: a unit is about 8 multiply-adds, which cost about what one float
 * of an elementwise pass does, so GEMMs below ~2^18 multiply-adds per part
 * stay in one call. */
static size_t row_cost(size_t n, size_t k) { return n * k / 8 + 1; }

/* Rows (or columns) of each block of a split product of m of them, costing
 * `cost` each. A function of the shape alone: never of the thread count. */
static size_t block_size(size_t m, size_t cost)
{
    size_t rows = (m + MAX_BLOCKS - 1) / MAX_BLOCKS;
    size_t least = BLOCK_MIN_WORK / cost + 1;
    if (least < BLOCK_LEAST) least = BLOCK_LEAST;
    if (rows < least) rows = least;
    rows = (rows + BLOCK_ALIGN - 1) / BLOCK_ALIGN * BLOCK_ALIGN;
    return rows < m ? rows : m;
}

static CBLAS_TRANSPOSE op(int trans) { return trans ? CblasTrans : CblasNoTrans; }

/* Run fn over the blocks of [0, m): each call of `block` gets exactly one
 * block, whichever thread runs it and however many there are. */
typedef void (*block_fn)(const void *job, size_t begin, size_t end);

typedef struct blocks_job {
    block_fn block;
    const void *job;
    size_t m, rows;
} blocks_job;

static void blocks_range(void *ctx, size_t begin, size_t end)
{
    const blocks_job *b = ctx;
    for (size_t r = begin; r < end; r += b->rows) b->block(b->job, r, r + b->rows < end ? r + b->rows : end);
}

static void over_blocks(size_t m, size_t cost, block_fn block, const void *job)
{
    if (m == 0) return;
    blocks_job b = {block, job, m, block_size(m, cost)};
    /* Parts start at multiples of the grain, so each part is whole blocks. */
    jn__parallel_for(m, b.rows, cost, blocks_range, &b);
}

/* ---- GEMM ---- */

typedef struct gemm_job {
    int trans_a, trans_b;
    size_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

/* Columns [begin, end) of C, from the same columns of op(B): column c of
 * op(B) is column c of B, or row c of B when transposed. */
static void gemm_cols(const void *ctx, size_t begin, size_t end)
{
    const gemm_job *j = ctx;
    const float *B = j->trans_b ? j->B + begin * j->ldb : j->B + begin;
    cblas_sgemm(CblasRowMajor, op(j->trans_a), op(j->trans_b), (int)j->m, (int)(end - begin), (int)j->k, j->alpha,
                j->A, (int)j->lda, B, (int)j->ldb, j->beta, j->C + begin, (int)j->ldc);
}

/* Rows [begin, end) of C, from the same rows of op(A). */
static void gemm_rows(const void *ctx, size_t begin, size_t end)
{
    const gemm_job *j = ctx;
    /* Row i of op(A) is row i of A, or column i of A when transposed. */
    const float *A = j->trans_a ? j->A + begin : j->A + begin * j->lda;
    cblas_sgemm(CblasRowMajor, op(j->trans_a), op(j->trans_b), (int)(end - begin), (int)j->n, (int)j->k, j->alpha,
                A, (int)j->lda, j->B, (int)j->ldb, j->beta, j->C + begin * j->ldc, (int)j->ldc);
}

void jn__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
               const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    gemm_job job = {trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, A, B, C};
    if (!jn__gemm_split()) gemm_rows(&job, 0, m);
    else if (m >= n) over_blocks(m, row_cost(n, k), gemm_rows, &job);
    else over_blocks(n, row_cost(m, k), gemm_cols, &job);
}

/* ---- SYMM ---- */

typedef struct symm_job {
    size_t n, lds, ldb, ldc;
    float alpha, beta;
    const float *S, *B;
    float *C;
} symm_job;

/* Rows [begin, end) of C = alpha B S + beta C, from the same rows of B. */
static void symm_rows(const void *ctx, size_t begin, size_t end)
{
    const symm_job *j = ctx;
    cblas_ssymm(CblasRowMajor, CblasRight, CblasUpper, (int)(end - begin), (int)j->n, j->alpha, j->S, (int)j->lds,
                j->B + begin * j->ldb, (int)j->ldb, j->beta, j->C + begin * j->ldc, (int)j->ldc);
}

void jn__ssymm_right(size_t m, size_t n, float alpha, const float *S, size_t lds, const float *B, size_t ldb,
                     float beta, float *C, size_t ldc)
{
    symm_job job = {n, lds, ldb, ldc, alpha, beta, S, B, C};
    if (jn__gemm_split()) over_blocks(m, row_cost(n, n), symm_rows, &job);
    else symm_rows(&job, 0, m);
}

typedef struct mirror_job {
    float *S;
    size_t lds;
} mirror_job;

/* Rows [begin, end) of the strictly lower triangle of S from its upper one
 * (read only above the diagonal, so parts never read what others write).
 * Row by row, the columns read stay in cache for the next rows. */
static void mirror_rows(void *ctx, size_t begin, size_t end)
{
    const mirror_job *j = ctx;
    for (size_t i = begin; i < end; i++)
        for (size_t c = 0; c < i; c++) j->S[i * j->lds + c] = j->S[c * j->lds + i];
}

void jn__ssymm_left(size_t m, size_t n, float alpha, float *S, size_t lds, const float *B, size_t ldb, float beta,
                    float *C, size_t ldc)
{
    if (!jn__gemm_split()) {
        cblas_ssymm(CblasRowMajor, CblasLeft, CblasUpper, (int)m, (int)n, alpha, S, (int)lds, B, (int)ldb, beta, C,
                    (int)ldc);
        return;
    }
    mirror_job mirror = {S, lds};
    jn__parallel_for(m, 16, m / 2 + 1, mirror_rows, &mirror); /* a row: m / 2 copies on average */
    jn__sgemm(0, 0, m, n, m, alpha, S, lds, B, ldb, beta, C, ldc);
}

/* ---- SYRK ---- */

typedef struct syrk_job {
    int trans;
    size_t n, k, lda, ldc, bands;
    float alpha, beta;
    const float *A;
    float *C;
} syrk_job;

/* The bands in the order the pool hands them out: first, last, second,
 * second to last... Band b spans n - 64 b columns, so the pairs carry equal
 * work and a contiguous run of slots (one thread's part) a fair share. */
static size_t band_of_slot(size_t slot, size_t bands) { return slot % 2 == 0 ? slot / 2 : bands - 1 - slot / 2; }

/* Band rows [r0, r1) of the upper triangle, from the diagonal on:
 * C[r0:r1, r0:n] = alpha op(A)[r0:r1] op(A)[r0:n]^T + beta C[r0:r1, r0:n].
 * The diagonal block is computed whole, so its strictly lower part is
 * written too. */
static void syrk_bands(void *ctx, size_t begin, size_t end)
{
    const syrk_job *j = ctx;
    for (size_t slot = begin; slot < end; slot++) {
        size_t r0 = band_of_slot(slot, j->bands) * SYRK_BAND;
        size_t r1 = r0 + SYRK_BAND < j->n ? r0 + SYRK_BAND : j->n;
        /* Row i of op(A): row i of A, or column i of A when transposed. */
        const float *rows = j->trans ? j->A + r0 : j->A + r0 * j->lda;
        cblas_sgemm(CblasRowMajor, op(j->trans), op(!j->trans), (int)(r1 - r0), (int)(j->n - r0), (int)j->k,
                    j->alpha, rows, (int)j->lda, rows, (int)j->lda, j->beta, j->C + r0 * j->ldc + r0, (int)j->ldc);
    }
}

void jn__ssyrk(int trans, size_t n, size_t k, float alpha, const float *A, size_t lda, float beta, float *C,
               size_t ldc)
{
    if (!jn__gemm_split()) {
        cblas_ssyrk(CblasRowMajor, CblasUpper, op(trans), (int)n, (int)k, alpha, A, (int)lda, beta, C, (int)ldc);
        return;
    }
    syrk_job job = {trans, n, k, lda, ldc, (n + SYRK_BAND - 1) / SYRK_BAND, alpha, beta, A, C};
    /* a band's average work: SYRK_BAND rows of about (n + SYRK_BAND) / 2 columns */
    jn__parallel_for(job.bands, 1, SYRK_BAND * row_cost((n + SYRK_BAND) / 2, k), syrk_bands, &job);
}
