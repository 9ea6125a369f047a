/* alloc.c - allocation with overflow checks, and finiteness scans.
 *
 * Every allocation the library makes goes through here (zlib's too, via its
 * zalloc hook), so one place turns a failed malloc into JN_ERR_NOMEM with a
 * message, and the test build can make any chosen allocation fail. */
/* madvise and MADV_HUGEPAGE are outside POSIX (Linux, the BSDs). */
#define _DEFAULT_SOURCE 1
#include "base/base.h"
#include "backend/backend.h"
#include "base/fault.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int jn__mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

#ifdef JN_FAULT_INJECTION
static _Thread_local unsigned long fault_at, fault_calls, fault_failures;
static _Thread_local int fault_persistent;

void jn__fault_arm(unsigned long k, int persistent)
{
    fault_at = k;
    fault_persistent = persistent;
    fault_calls = 0;
    fault_failures = 0;
}
unsigned long jn__fault_calls(void) { return fault_calls; }
unsigned long jn__fault_failures(void) { return fault_failures; }

/* Should this allocation fail? Counts every allocation. */
static int injected_failure(void)
{
    fault_calls++;
    int fail = fault_at != 0 && (fault_calls == fault_at || (fault_persistent && fault_calls > fault_at));
    fault_failures += (unsigned long)fail;
    return fail;
}
#else
static int injected_failure(void) { return 0; }
#endif

/* Bytes for count x size, or 0 with a recorded JN_ERR_INVALID message. */
static size_t checked_bytes(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (!jn__mul(count, size, &bytes) || bytes > JN_MAX_BYTES) {
        jn__fail(JN_ERR_INVALID, "%s: %zu x %zu bytes is too large", what, count, size);
        return 0;
    }
    return bytes == 0 ? 1 : bytes;
}

/* Large blocks (a data set's features: 188 MB for MNIST) are first
 * written page by page, and on a VM each 4 KiB first touch is a costly
 * fault: filling MNIST's arrays took 3x as long as inflating them. Asking
 * for transparent huge pages on the block's 2 MiB-aligned interior cuts
 * the faults 512-fold where the kernel allows it (THP "madvise" or
 * "always"); elsewhere the advice is ignored. */
#define HUGE_PAGE ((uintptr_t)2 << 20)
#define HUGE_ADVICE_FROM ((size_t)32 << 20)

static void advise_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (!p || bytes < HUGE_ADVICE_FROM) return;
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
    int saved = errno; /* advice only: a refusal changes nothing, errno included */
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    errno = saved;
#else
    (void)p;
    (void)bytes;
#endif
}

static void *alloc_checked(size_t count, size_t size, const char *what, int zero)
{
    size_t bytes = checked_bytes(count, size, what);
    if (!bytes) return NULL;
    void *p = injected_failure() ? NULL : zero ? calloc(1, bytes) : malloc(bytes);
    if (!p) jn__fail(JN_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    advise_huge_pages(p, bytes);
    return p;
}

void *jn__alloc(size_t count, size_t size, const char *what) { return alloc_checked(count, size, what, 0); }
void *jn__calloc(size_t count, size_t size, const char *what) { return alloc_checked(count, size, what, 1); }

void *jn__realloc(void *p, size_t count, size_t size, const char *what)
{
    size_t bytes = checked_bytes(count, size, what);
    if (!bytes) return NULL;
    void *q = injected_failure() ? NULL : realloc(p, bytes);
    if (!q) jn__fail(JN_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    advise_huge_pages(q, bytes);
    return q;
}

typedef struct finite_job {
    const float *v;
    atomic_int bad;
} finite_job;

/* A float is NaN or Inf exactly when its exponent bits are all ones.
 * Testing the bits (an integer OR-reduction) vectorises without any
 * floating-point reassociation; one branch per block stops early, also
 * when another thread's part has found a bad value. */
static void finite_range(void *ctxp, size_t begin, size_t end)
{
    finite_job *job = ctxp;
    const float *v = job->v;
    for (size_t i = begin; i < end;) {
        size_t stop = end - i > 4096 ? i + 4096 : end;
        uint32_t bad = 0;
        for (; i < stop; i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], sizeof bits);
            bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
        }
        if (bad) atomic_store_explicit(&job->bad, 1, memory_order_relaxed);
        if (atomic_load_explicit(&job->bad, memory_order_relaxed)) return;
    }
}

int jn__all_finite(const float *v, size_t n)
{
    finite_job job = {v, 0};
    jn__parallel_for(n, 4096, 1, finite_range, &job);
    return !atomic_load(&job.bad);
}
