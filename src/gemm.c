/* gemm.c - the library's float32 GEMM: cblas_sgemm, with the rows of C
 * split over the library's own threads (experiment: JACNET_GEMM_SPLIT=1).
 *
 * Why: with OpenBLAS's own threads, every GEMM call wakes its workers, which
 * then busy-wait with sched_yield until they sleep; a training step makes a
 * dozen mid-sized calls, and on 2 cores about a fifth of the step went into
 * that hand-off (perf, docs/PERFORMANCE.md). Split here, the BLAS runs one
 * thread in each part and the parts are woken by the pool's condition
 * variable. Each row block is the same single-threaded product over the
 * same k, so C does not depend on the number of parts. */
#include "internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct gemm_job {
    int trans_a, trans_b;
    size_t n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_rows(void *ctx, size_t begin, size_t end)
{
    const gemm_job *j = ctx;
    /* Row i of op(A) is row i of A, or column i of A when transposed. */
    const float *A = j->trans_a ? j->A + begin : j->A + begin * j->lda;
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
                (int)(end - begin), (int)j->n, (int)j->k, j->alpha, A, (int)j->lda, j->B, (int)j->ldb, j->beta,
                j->C + begin * j->ldc, (int)j->ldc);
}

int jn__gemm_split(void)
{
    static int split = -1;
    if (split < 0) {
        const char *s = getenv("JACNET_GEMM_SPLIT");
        split = s && !strcmp(s, "1");
    }
    return split;
}

void jn__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
               const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    gemm_job j = {trans_a, trans_b, n, k, lda, ldb, ldc, alpha, beta, A, B, C};
    if (!jn__gemm_split()) {
        gemm_rows(&j, 0, m);
        return;
    }
    /* Rows in blocks of 16 (the kernels' tile height is a divisor); cost per
     * row ~ n k multiply-adds. */
    jn__parallel_for(m, 16, n * k / 8 + 1, gemm_rows, &j);
}
