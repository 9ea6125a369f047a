/* net/net.h - the network's insides: activations, the handle, the
 * passes and their workspace, forward and backward, evaluation. */
#ifndef JN_NET_H
#define JN_NET_H

#include "base/base.h"

/* ---- activations (activation.c) ----
 * Each elementwise activation's value, first and second derivative live in
 * one place so that the forward pass, backward pass and Jacobian agree.
 * Derivatives are written in terms of the pre-activation z and the value a. */
int jn__act_valid_hidden(jn_act act);
int jn__act_valid_output(jn_act act);
const char *jn__act_name(jn_act act);
/* a = act(z) in place over an n x width block (softmax: per row). */
void jn__act_apply(jn_act act, float *z_to_a, size_t n, size_t width);
/* d1 = act'(z), d2 = act''(z) (d2 may be NULL) elementwise, from z and a.
 * Not for softmax. */
void jn__act_derivs(jn_act act, const float *z, const float *a, size_t count, float *d1,
                    float *d2);

/* ---- network (net.c) ---- */
struct jn_net {
    size_t layers;       /* number of weight layers L */
    size_t *sizes;       /* L + 1 widths: D, H1, ..., K */
    jn_act hidden, output;
    size_t n_params;
    float *params;       /* flat: per layer W_l (sizes[l] x sizes[l-1]) then b_l */
    size_t *w_offset;    /* offset of W_l in params, l = 1..L (index l-1) */
    size_t *b_offset;
    /* Workspace (workspace.c), grown on demand; never part of the model. */
    struct jn_work *work;
};

static inline const float *jn__W(const jn_net *net, size_t l) { return net->params + net->w_offset[l - 1]; }
static inline const float *jn__b(const jn_net *net, size_t l) { return net->params + net->b_offset[l - 1]; }

/* ---- forward and backward pass (forward.c, backward.c) ----
 * A pass holds, for a batch of n rows, the pre-activations z_l and
 * activations a_l of every layer l = 1..L (a_0 is the input, borrowed). */
typedef struct jn_pass {
    size_t n;
    const float *input;  /* n x D, borrowed */
    float **z;           /* z[l], l = 1..L, n x sizes[l]; filled only for the
                            output layer and relu/linear hidden layers (see
                            jn__forward) */
    float **a;           /* a[l], l = 1..L (a[L] = F) */
    float **d1;          /* act'(z_l), l = 1..L-1 (hidden layers) */
    float **d2;          /* act''(z_l), filled when with_derivs = 2 */
} jn_pass;

/* Work buffers owned by a network, reused across calls (a network handle is
 * used by one thread at a time). */
typedef struct jn_work {
    size_t cap_n;        /* rows the pass buffers (z, a, d1, d2, delta, zbar) hold */
    size_t cap_jn;       /* examples the Jacobian chain buffers (T ... proj) hold */
    size_t cap_r;        /* Jacobian rows per example they hold */
    size_t cap_layers;   /* layers the buffers were made for */
    jn_pass pass[2];     /* [0]: loss input X, [1]: Jacobian input Xj */
    float **delta;       /* backprop adjoints dObj/dz_l, l = 1..L, n x sizes[l] */
    float **zbar;        /* adjoints of z_l injected by the penalty */
    float **T;           /* Jacobian chain T_l, l = 1..L: (n r) x sizes[l] */
    float **Tbar;        /* adjoints of T_l */
    float **V;           /* V_l = T_l W_l before the act' scaling, l = 2..L */
    float *Jr;           /* (n r) x D */
    float *O;            /* output Jacobians, n x K x K */
    float *proj;         /* projection vectors, n x K x r */
    float *gram_G;       /* W_1 W_1^T, H1 x H1 (Gram form only, made on first use) */
    float *gram_A;       /* T_1^T T_1, H1 x H1 */
    /* bfloat16 copies for the BF16 penalty (made on first use): */
    uint16_t **W16;      /* W_l, l = 1..L */
    uint16_t **T16;      /* T_l, l = 1..L */
    uint16_t *R16;       /* Jr_bar, then each V_bar: (n r) x max(D, widths) */
    struct jn_dnnl *dnnl; /* oneDNN stream and primitives (dnnl.c) */
} jn_work;

/* Ensure the workspace holds a batch of n rows with r Jacobian rows per
 * example (r = 0: no Jacobian buffers). On failure the workspace is empty
 * (it is scratch: the network itself is unchanged). */
jn_status jn__work_reserve(jn_net *net, size_t n, size_t r);
/* Reserve up front what a training run with obj, minibatches of `batch`
 * rows and evaluations of eval_rows rows (0: none) will use, so that the
 * run allocates nothing once it has changed the network. */
jn_status jn__work_reserve_run(jn_net *net, const jn_objective *obj, size_t batch, size_t eval_rows);
void jn__work_free(jn_work *w);
/* Ensure the two H1 x H1 buffers of the Gram form exist. */
jn_status jn__work_reserve_gram(jn_net *net);
/* Ensure the bfloat16 buffers exist (after jn__work_reserve with r > 0). */
jn_status jn__work_reserve_bf16(jn_net *net);

/* Forward pass of n rows of X into pass p (0 or 1); with_derivs 1 also fills
 * d1 of every layer (but softmax), 2 fills d1 and d2. */
jn_status jn__forward(jn_net *net, int p, const float *X, size_t n, int with_derivs);
/* The class a row of K outputs predicts: its argmax (first of equals); for
 * K = 1, the output thresholded at 0.5. jn_net_predict's rule. */
size_t jn__predicted_class(const float *row, size_t K);
/* Check X (n x D) is non-NULL and finite. */
jn_status jn__check_input(const jn_net *net, const float *X, size_t n, const char *name);

/* Backpropagate delta[L] (already holding dObj/dz_L for pass p) down to layer
 * 1, adding penalty injections zbar[l] when add_zbar, and accumulate the
 * weight and bias gradients into grad (overwrite: write them instead). */
void jn__backward(jn_net *net, int p, int add_zbar, int overwrite, float *grad);


/* ---- evaluation (evaluate.c) ---- */
/* The trainer's validation score of net on ds, times the count: the number
 * of misclassified examples of a labelled dataset, the summed loss
 * (jn_net_mean_loss times the count, as that computes it) of a targets
 * one; it divided by the count is jn_net_error_rate / jn_net_mean_loss,
 * bit for bit. */
jn_status jn__validation_sum(jn_net *net, const jn_objective *obj, const jn_dataset *ds, double *sum);
/* Misclassified examples of the labelled ds (no checks; forward.c). */
jn_status jn__count_errors(jn_net *net, const jn_dataset *ds, size_t *wrong);

#endif
