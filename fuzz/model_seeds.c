/* model_seeds.c - writes a few valid model files into a directory, as the
 * starting corpus of fuzz_model. Usage: model_seeds DIR */
#include <stdio.h>

#include "jacnet.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    static const size_t a[] = {2, 3, 2}, b[] = {1, 1}, c[] = {3, 4, 4, 2}, d[] = {5, 2};
    struct {
        const size_t *sizes;
        size_t n;
        jn_act hidden, output;
    } seeds[] = {{a, 3, JN_ACT_TANH, JN_ACT_SOFTMAX},
                 {b, 2, JN_ACT_RELU, JN_ACT_LINEAR},
                 {c, 4, JN_ACT_SIGMOID, JN_ACT_SIGMOID},
                 {d, 2, JN_ACT_LINEAR, JN_ACT_TANH}};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        jn_net *net = NULL;
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu.jnm", argv[1], i);
        if (jn_net_create(&net, seeds[i].sizes, seeds[i].n, seeds[i].hidden, seeds[i].output) != JN_OK ||
            jn_net_init(net, i + 1) != JN_OK || jn_net_save(net, path) != JN_OK) {
            fprintf(stderr, "%s: %s\n", path, jn_last_error());
            jn_net_free(net);
            return 1;
        }
        jn_net_free(net);
    }
    return 0;
}
