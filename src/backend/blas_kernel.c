/* blas_kernel.c - which BLAS kernel the process runs, for records and
 * benchmarks: float results are bit for bit the same at any thread count on
 * one kernel, but differ between kernels (OpenBLAS picks its kernels by CPU,
 * or OPENBLAS_CORETYPE), so a result is only comparable bit for bit with one
 * made on the same kernel. Looked up at run time, like threads.c's thread
 * control, so the library links against any CBLAS. */
#define _GNU_SOURCE 1
#include "base/base.h"

#include <dlfcn.h>

JN_API const char *jn_blas_kernel(void)
{
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    const char *name = corename ? corename() : NULL;
    return name && *name ? name : "unknown";
}
