/* threads.c - the number of BLAS threads. Looked up at run time so that the
 * library links against any CBLAS, including reference ones without threads.
 *
 * JACNET_THREADS (an integer 1..256) is read once, at the first GEMM-using
 * call (jn__work_reserve) or the first jn_set_threads, whichever comes
 * first; an explicit jn_set_threads afterwards overrides it. The BLAS's
 * thread count is a process-wide setting, so this is too: the once-flag is
 * the only global state, and pthread_once makes the first use thread-safe.
 * An unset, empty or invalid JACNET_THREADS leaves the BLAS's own default
 * (OpenBLAS: OPENBLAS_NUM_THREADS, else every core). */
#define _GNU_SOURCE 1
#include "internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static int blas_set(int n)
{
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set) set(n);
    return set != NULL || n == 1;
}

static void read_env(void)
{
    const char *s = getenv("JACNET_THREADS");
    if (!s || !*s) return;
    char *end;
    long n = strtol(s, &end, 10);
    /* A bad value is ignored rather than failing some unrelated call later. */
    if (*end == 0 && n >= 1 && n <= 256) blas_set((int)n);
}

void jn__threads_init(void) { pthread_once(&env_once, read_env); }

JN_API jn_status jn_set_threads(int n)
{
    if (n < 1 || n > 256) return jn__fail(JN_ERR_INVALID, "jn_set_threads: n = %d, need 1..256", n);
    jn__threads_init(); /* so a later first GEMM does not override n with the environment */
    if (!blas_set(n))
        return jn__fail(JN_ERR_INVALID, "jn_set_threads: this BLAS has no thread control; it runs as built");
    return JN_OK;
}
