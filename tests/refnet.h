/* refnet.h - a double-precision reference evaluation of a jacnet network for
 * the tests (test_hessian, test_theory): value, Jacobian and full second
 * derivatives carried through the layers by plain loops (forward over
 * forward), independent of the library's float32 code. */
#ifndef JACNET_REFNET_H
#define JACNET_REFNET_H

#include <stddef.h>

#include "jacnet.h"

#define REF_MAX_LAYERS 8
#define REF_MAX_OUTPUTS 64

typedef struct ref_net {
    size_t L, sizes[REF_MAX_LAYERS + 1];
    jn_act hidden, output;
    double *params;  /* the library's layout, in double */
    double *scratch; /* per-call buffers (a reference net is used by one thread) */
    size_t max_width;
} ref_net;

/* A double copy of net's architecture and parameters; ref_free releases it. */
ref_net ref_from(jn_net *net);
void ref_free(ref_net *r);

/* At x (D values): F (K), J (K x D, J[k][j] = dF_k/dx_j) and
 * H (K x D x D, H[k][u][v] = d2F_k/dx_u dx_v); any of the three may be NULL
 * (no second derivatives are formed when H is). min_relu_margin, if not
 * NULL, gets the smallest |z| of any relu unit (INFINITY if none). */
void ref_eval(ref_net *r, const double *x, double *F, double *J, double *H, double *min_relu_margin);

/* Squared error sum_k (F_k(x) - y_k)^2, the library's MSE per example. */
double ref_loss(ref_net *r, const double *x, const double *y);

#endif
