/* threads.c - the number of BLAS threads. Looked up at run time so that the
 * library links against any CBLAS, including reference ones without threads. */
#define _GNU_SOURCE 1
#include "internal.h"

#include <dlfcn.h>

JN_API jn_status jn_set_threads(int n)
{
    if (n < 1 || n > 256) return jn__fail(JN_ERR_INVALID, "jn_set_threads: n = %d, need 1..256", n);
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set) set(n);
    else if (n != 1) return jn__fail(JN_ERR_INVALID, "jn_set_threads: this BLAS has no thread control; it runs as built");
    return JN_OK;
}
