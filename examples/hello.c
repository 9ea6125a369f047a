/* hello.c - the smallest libjacnet program: build a 4-3-2 network, evaluate
 * it and the squared norm of its input Jacobian at one point. Used by the
 * install test to prove a program builds from `pkg-config jacnet` alone. */
#include <jacnet.h>
#include <stdio.h>

int main(void)
{
    const size_t sizes[] = {4, 3, 2};
    const float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    float f[2], sq;
    jn_net *net = NULL;
    if (jn_version() != JN_VERSION_NUMBER) {
        fprintf(stderr, "header %d and library %u differ\n", JN_VERSION_NUMBER, jn_version());
        return 1;
    }
    jn_status st = jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID);
    if (st == JN_OK) st = jn_net_init(net, 42);
    if (st == JN_OK) st = jn_net_forward(net, x, 1, f);
    if (st == JN_OK) st = jn_net_jacobian_sqnorm(net, x, 1, &sq);
    if (st != JN_OK) {
        fprintf(stderr, "error: %s: %s\n", jn_status_str(st), jn_last_error());
        jn_net_free(net);
        return 1;
    }
    printf("libjacnet %s: F = (%.4f, %.4f), ||J||_F^2 = %.6f\n", jn_version_string(), f[0], f[1], sq);
    jn_net_free(net);
    return 0;
}
