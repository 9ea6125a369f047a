/* bench_load.c - time loading all four MNIST .gz files with
 * jn_dataset_load_idx against `gzip -dc` of the same files, in the same
 * run, best of 3 each, and print the ratio (target: at most 1.5). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jacnet.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("JACNET_DATA");
    if (!dir || !*dir) dir = "./data";
    char img[2][4096], lab[2][4096], cmd[20000];
    const char *prefix[2] = {"train", "t10k"};
    for (int k = 0; k < 2; k++) {
        snprintf(img[k], sizeof img[k], "%s/mnist/%s-images-idx3-ubyte.gz", dir, prefix[k]);
        snprintf(lab[k], sizeof lab[k], "%s/mnist/%s-labels-idx1-ubyte.gz", dir, prefix[k]);
    }
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' '%s' '%s' '%s' > /dev/null", img[0], lab[0], img[1], lab[1]);

    double best_lib = 1e30, best_gzip = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (int k = 0; k < 2; k++) {
            jn_dataset *ds;
            if (jn_dataset_load_idx(&ds, img[k], lab[k], 0) != JN_OK) {
                fprintf(stderr, "bench_load: %s\n", jn_last_error());
                return 1;
            }
            jn_dataset_free(ds);
        }
        double t1 = now();
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_load: `%s` failed\n", cmd);
            return 1;
        }
        double t2 = now();
        if (t1 - t0 < best_lib) best_lib = t1 - t0;
        if (t2 - t1 < best_gzip) best_gzip = t2 - t1;
    }
    printf("jn_dataset_load_idx (4 MNIST .gz files): %.3f s\n", best_lib);
    printf("gzip -dc (same files, to /dev/null):     %.3f s\n", best_gzip);
    printf("ratio: %.2f (target <= 1.5)\n", best_lib / best_gzip);
    return 0;
}
