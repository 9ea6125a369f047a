/* precision.c - which arithmetic the Jacobian penalty's products run in, and
 * conversion to bfloat16.
 *
 * BF16 is taken only where it pays, which depends on the CPU: oneDNN
 * multiplies bfloat16 matrices at 3.6-3.9 times OpenBLAS's sgemm rate on
 * Intel's AMX, more slowly than float32 on an Intel CPU with AVX-512 BF16
 * alone, and on AMD's Zen 5 (AVX-512 BF16 on full-width units, no AMX) it
 * made the whole exact-penalty step 2.2-2.3 times faster on one thread
 * (measurements in docs/PERFORMANCE.md). So a request for BF16 runs it when
 * (1) the library was built with oneDNN and oneDNN's bfloat16 product works
 * here (dnnl.c probes it once), and (2) the CPU is one where it was measured
 * to pay: AMX-BF16 that this process may use, or an AMD CPU of family 1Ah
 * (Zen 5) or later with AVX-512 BF16 that oneDNN dispatches to.
 * JACNET_FORCE_BF16=1 takes the bfloat16 path wherever oneDNN can multiply
 * bfloat16 at all, and JACNET_FORCE_BF16=0 never takes it (both for tests
 * and measurements). */
#define _GNU_SOURCE 1
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define JN_X86 1
#endif

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int amx_usable, zen5_bf16;

#ifdef JN_X86
/* XCR0, the register of state components the OS saves (xgetbv 0). */
static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

/* AMX-BF16 in the CPU (CPUID.(EAX=7,ECX=0):EDX bit 22, AMX-TILE bit 24),
 * the OS saving tile state (XCR0 bits 17 and 18), and on Linux permission
 * for this process to use it: since kernel 5.16 tile data must be requested
 * with arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). oneDNN 2.6 makes
 * the same request itself before its first AMX kernel; asking here too
 * (it is idempotent) tells us whether it will be granted. */
static void detect_amx(void)
{
#ifdef JN_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return; /* OSXSAVE */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return;
    uint64_t tile_state = (1u << 17) | (1u << 18);
    if ((xcr0() & tile_state) != tile_state) return;
#if defined(__linux__)
    const long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    if (syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) != 0) return;
#endif
    amx_usable = 1;
#endif
}

/* An AMD CPU of family 1Ah or later ("AuthenticAMD"; family = base family
 * + extended family, CPUID leaf 1 EAX bits 8-11 and 20-27) with AVX512_BF16
 * (CPUID.(EAX=7,ECX=1):EAX bit 5) and the OS saving the AVX-512 state (XCR0
 * bits 1, 2 and 5-7). */
static void detect_zen5_bf16(void)
{
#ifdef JN_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d) || a < 7) return;
    if (b != 0x68747541u || d != 0x69746e65u || c != 0x444d4163u) return; /* "AuthenticAMD" */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return;     /* OSXSAVE */
    unsigned family = (a >> 8) & 0xfu;
    if (family == 0xfu) family += (a >> 20) & 0xffu;
    if (family < 0x1au) return;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) return;
    uint64_t avx512_state = 0xe6u;
    if ((xcr0() & avx512_state) != avx512_state) return;
    zen5_bf16 = 1;
#endif
}

static void detect_cpu(void)
{
    detect_amx();
    detect_zen5_bf16();
}

/* A CPU where bfloat16 products were measured to pay (above). */
static int cpu_bf16_pays(void)
{
    pthread_once(&cpu_once, detect_cpu);
    return amx_usable || zen5_bf16;
}

/* JACNET_FORCE_BF16: 1 always, 0 never, otherwise (unset) -1: decide. */
static int forced(void)
{
    const char *s = getenv("JACNET_FORCE_BF16");
    if (s && strcmp(s, "1") == 0) return 1;
    if (s && strcmp(s, "0") == 0) return 0;
    return -1;
}

jn_precision jn__precision_resolve(jn_precision want)
{
    /* The CPU and the environment first: on a machine where BF16 does not
     * pay, a BF16 request then never even starts oneDNN. */
    if (want != JN_PRECISION_BF16) return JN_PRECISION_FP32;
    int force = forced();
    if (force == 0 || (force < 0 && !cpu_bf16_pays())) return JN_PRECISION_FP32;
    if (!jn__dnnl_bf16_works()) return JN_PRECISION_FP32;
    return force == 1 || jn__dnnl_bf16_native() ? JN_PRECISION_BF16 : JN_PRECISION_FP32;
}

JN_API jn_status jn_objective_set_precision(jn_objective *obj, jn_precision precision)
{
    if (!obj) return jn__fail(JN_ERR_INVALID, "jn_objective_set_precision: obj is NULL");
    if (precision != JN_PRECISION_FP32 && precision != JN_PRECISION_BF16)
        return jn__fail(JN_ERR_INVALID, "jn_objective_set_precision: unknown precision %d", (int)precision);
    obj->precision = precision;
    return JN_OK;
}

JN_API jn_precision jn_objective_precision_used(const jn_objective *obj)
{
    return obj ? jn__precision_resolve(obj->precision) : JN_PRECISION_FP32;
}

typedef struct convert_job {
    const float *src;
    uint16_t *dst;
} convert_job;

static void convert_range(void *ctxp, size_t begin, size_t end)
{
    const convert_job *job = ctxp;
    for (size_t i = begin; i < end; i++) job->dst[i] = jn__bf16(job->src[i]);
}

void jn__to_bf16(const float *src, uint16_t *dst, size_t count)
{
    convert_job job = {src, dst};
    jn__parallel_for(count, 1024, 2, convert_range, &job);
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

jn_status jn__product(jn_work *w, int bf16, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                      const float *A, const uint16_t *A16, size_t lda, const float *B, const uint16_t *B16,
                      size_t ldb, float *C, size_t ldc)
{
    if (!bf16) {
        jn__sgemm(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, 0.0f, C, ldc);
        return JN_OK;
    }
    jn_status st = jn__dnnl_matmul(w, trans_a, trans_b, m, n, k, A16, lda, B16, ldb, C, ldc);
    if (st == JN_OK && alpha != 1.0f) {
        scale_job job = {C, n, ldc, alpha};
        jn__parallel_for(m, 1, 2 * n, scale_rows, &job);
    }
    return st;
}
