/* wait_policy.c - oneDNN's OpenMP threads sleep between products.
 *
 * The bfloat16 products run on oneDNN, whose Debian build uses libgomp. By
 * default libgomp's idle threads spin for a while after every parallel
 * region (GOMP_SPINCOUNT 300000); at 2 threads they then take the cores the
 * library's own pool needs for the passes between the products, and a
 * bfloat16 step ran 1.3-1.45 times slower than with OMP_WAIT_POLICY=passive
 * (bench/omp_wait.sh, docs/PERFORMANCE.md; float32, which never calls
 * oneDNN, is unchanged). libgomp reads the variable once, when it is
 * loaded, which is before main runs (setting it from an ELF pre-initialiser
 * does not work either: libc's start-up restores the environment it was
 * given). So when a command asks for bfloat16 (--precision bf16 or auto),
 * libgomp is loaded and the user set no policy, the tool sets passive and
 * runs itself again, once. */
#define _GNU_SOURCE 1
#include "cli.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int asks_bf16(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--precision") && i + 1 < argc) v = argv[i + 1];
        else if (!strncmp(argv[i], "--precision=", 12)) v = argv[i] + 12;
        if (v && (!strcmp(v, "bf16") || !strcmp(v, "auto"))) return 1;
    }
    return 0;
}

void cli_openmp_passive(int argc, char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || !asks_bf16(argc, argv)) return;
    void *gomp = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!gomp) return; /* no OpenMP in this process: nothing spins */
    dlclose(gomp);
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY"); /* exec refused: run as we are, only slower at 2 threads */
}
