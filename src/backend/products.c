/* products.c - the penalty's products behind one interface: a table of
 * functions per arithmetic, float32 on the CBLAS (gemm.c) and bfloat16
 * through oneDNN (dnnl.c).
 *
 * Which one a step runs is decided once (precision.c) and the table is
 * passed down the Jacobian chain and the penalty's gradient, so that their
 * code names each operand once (values, copy, leading dimension) and never
 * tests the precision: before, every product took a flag and paired
 * float / bfloat16 pointers, and every caller chose between them. */
#include "base/base.h"
#include "backend/backend.h"

/* ---- float32: the operands' values, one thread-count invariant GEMM ---- */

/* No copy to keep: float32 reads the values themselves. */
static void fp32_convert(jn__operand M, size_t rows)
{
    (void)M;
    (void)rows;
}

static jn_status fp32_product(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                              jn__operand A, jn__operand B, float *C, size_t ldc)
{
    jn__sgemm(trans_a, trans_b, m, n, k, alpha, A.f32, A.ld, B.f32, B.ld, 0.0f, C, ldc);
    return JN_OK;
}

/* ---- bfloat16: oneDNN on the operands' bfloat16 copies ---- */

typedef struct convert_job {
    const float *src;
    uint16_t *dst;
} convert_job;

static void convert_range(void *ctxp, size_t begin, size_t end)
{
    const convert_job *job = ctxp;
    for (size_t i = begin; i < end; i++) job->dst[i] = jn__bf16(job->src[i]);
}

static void bf16_convert(jn__operand M, size_t rows)
{
    convert_job job = {M.f32, M.bf16};
    jn__parallel_for(rows * M.ld, 1024, 2, convert_range, &job);
}

typedef struct scale_job {
    float *C;
    size_t n, ldc;
    float alpha;
} scale_job;

static void scale_rows(void *ctxp, size_t begin, size_t end)
{
    const scale_job *job = ctxp;
    for (size_t i = begin; i < end; i++)
        for (size_t j = 0; j < job->n; j++) job->C[i * job->ldc + j] *= job->alpha;
}

/* oneDNN's matmul has no alpha (dnnl.c), so alpha != 1 costs a pass over C. */
static jn_status bf16_product(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                              jn__operand A, jn__operand B, float *C, size_t ldc)
{
    jn_status st = jn__dnnl_matmul(w, trans_a, trans_b, m, n, k, A.bf16, A.ld, B.bf16, B.ld, C, ldc);
    if (st == JN_OK && alpha != 1.0f) {
        scale_job job = {C, n, ldc, alpha};
        jn__parallel_for(m, 1, 2 * n, scale_rows, &job);
    }
    return st;
}

/* ---- the tables ---- */

const jn__products jn__products_fp32 = {"float32", 0, 1.0, fp32_convert, fp32_product};

/* speedup: oneDNN's bfloat16 products over OpenBLAS's sgemm on AMX
 * (3.6-3.9x, conversions included, issue 12's measurement), rounded down.
 * Zen 5's raw product rate measured higher still (docs/PERFORMANCE.md), so
 * estimates lean the same way there. */
const jn__products jn__products_bf16 = {"bfloat16", 1, 3.5, bf16_convert, bf16_product};

const jn__products *jn__products_for(int bf16) { return bf16 ? &jn__products_bf16 : &jn__products_fp32; }
