/* consumer.c - a program built by CMake against an installed libjacnet:
 * the header, the library and the config file's version agree, and a
 * gradient computed through the BLAS passes libjacnet's own
 * finite-difference check. Exit 0 and one line on success. */
#include <jacnet.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        jn_status st_ = (call);                                                     \
        if (st_ != JN_OK) {                                                         \
            fprintf(stderr, "consumer: %s: %s\n", #call, jn_last_error());          \
            return 1;                                                               \
        }                                                                           \
    } while (0)

int main(void)
{
    if (jn_version() != JN_VERSION_NUMBER || strcmp(jn_version_string(), CONFIG_VERSION) != 0) {
        fprintf(stderr, "consumer: header %d, library %u (%s), CMake config %s\n", JN_VERSION_NUMBER,
                jn_version(), jn_version_string(), CONFIG_VERSION);
        return 1;
    }
    const size_t sizes[] = {6, 5, 3};
    jn_net *net;
    jn_objective *obj;
    CHECK(jn_net_create(&net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID));
    CHECK(jn_net_init(net, 3));
    CHECK(jn_objective_create(&obj, JN_LOSS_MSE));
    CHECK(jn_objective_set_jacobian(obj, 0.1, 0));
    float X[4 * 6], Y[4 * 3] = {0};
    for (int i = 0; i < 4 * 6; i++) X[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < 4; i++) Y[i * 3 + i % 3] = 1.0f;
    double err = 1.0;
    CHECK(jn_net_check_gradient(net, obj, X, NULL, Y, 4, &err));
    jn_objective_free(obj);
    jn_net_free(net);
    if (!(err < 1e-2)) {
        fprintf(stderr, "consumer: gradient check %g\n", err);
        return 1;
    }
    printf("cmake consumer (%s): libjacnet %s, gradient check %.1e\n", LINKAGE, jn_version_string(), err);
    return 0;
}
