/* internal.h - structures and helpers shared by libjacnet's compilation
 * units. Nothing here is part of the public ABI. */
#ifndef JACNET_INTERNAL_H
#define JACNET_INTERNAL_H

#define JN_BUILDING_LIBRARY 1
#include "jacnet.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Rows per internal chunk for calls on whole datasets (forward, predict,
 * Jacobians, error rates), bounding the workspace to a few MB whatever n
 * the caller passes. */
#define JN_CHUNK 512
/* Largest single allocation we agree to make (bytes): refuses absurd sizes
 * before malloc sees them. */
#define JN_MAX_BYTES ((size_t)1 << 40)
/* Network limits, shared by jn_net_create and the model-file reader: a
 * 2^24-wide layer is already absurd for a dense MLP and keeps every product
 * of two widths far from overflow. */
#define JN_MAX_WIDTH ((size_t)1 << 24)
#define JN_MAX_LAYERS 64

/* ---- errors (error.c) ---- */
/* Record a formatted message for jn_last_error and return status. */
jn_status jn__fail(jn_status status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- checked arithmetic and allocation (alloc.c) ---- */
/* *out = a * b; returns 0 on overflow. */
int jn__mul(size_t a, size_t b, size_t *out);
/* malloc of count * size bytes with overflow and JN_MAX_BYTES checks; NULL
 * with a recorded JN_ERR_NOMEM/JN_ERR_INVALID message on failure. */
void *jn__alloc(size_t count, size_t size, const char *what);
void *jn__calloc(size_t count, size_t size, const char *what);
/* realloc of p to count * size bytes, same checks; on failure NULL with a
 * recorded message, and p is left allocated and unchanged. */
void *jn__realloc(void *p, size_t count, size_t size, const char *what);
/* 1 if all n values are finite. */
int jn__all_finite(const float *v, size_t n);

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
/* ---- threads (threads.c) ---- */
/* Apply JACNET_THREADS once per process; jn__work_reserve calls it, since
 * every GEMM-using path reserves its workspace first. */
void jn__threads_init(void);
/* Threads the library uses: as set by jn_set_threads or JACNET_THREADS,
 * else the BLAS's own default count. */
int jn__threads(void);
/* 1 when a count was set (jn_set_threads or JACNET_THREADS): the BLAS is
 * held at one thread and gemm.c splits the products over the library's
 * threads; 0 when the BLAS threads its own products. */
int jn__gemm_split(void);
/* fn(ctx, begin, end) over contiguous parts of [0, count), split at
 * multiples of grain, one part per thread; serial when the work (count x
 * cost, cost ~ floats touched per item) is too small to pay for a wake-up.
 * fn must compute each item independently of the partition. */
typedef void (*jn__range_fn)(void *ctx, size_t begin, size_t end);
void jn__parallel_for(size_t count, size_t grain, size_t cost, jn__range_fn fn, void *ctx);
/* ---- products (gemm.c): row-major float32, split over the library's
 * threads when jn__gemm_split(), results independent of the thread count.
 * beta = 0 never reads C. ---- */
/* C (m x n) = alpha op(A) op(B) + beta C; op(A) m x k, op(B) k x n. */
void jn__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
               const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* Upper triangle of C (n x n) = alpha op(A) op(A)^T + beta C, op(A) n x k
 * (A, or A^T when trans). The strictly lower triangle is left undefined
 * (it may be written): read only the upper one. */
void jn__ssyrk(int trans, size_t n, size_t k, float alpha, const float *A, size_t lda, float beta, float *C,
               size_t ldc);
/* C (m x n) = alpha B S + beta C, S (n x n) symmetric, only its upper
 * triangle read. */
void jn__ssymm_right(size_t m, size_t n, float alpha, const float *S, size_t lds, const float *B, size_t ldb,
                     float beta, float *C, size_t ldc);
/* C (m x n) = alpha S B + beta C, S (m x m) symmetric given by its upper
 * triangle; its lower triangle may be overwritten (with the upper one's
 * mirror). */
void jn__ssymm_left(size_t m, size_t n, float alpha, float *S, size_t lds, const float *B, size_t ldb, float beta,
                    float *C, size_t ldc);
/* sum over chunks c of fn(ctx, c chunk, (c + 1) chunk), the partial sums
 * added in order of c. The chunk size grows only with count (never with
 * the thread count), so the result is the same for any number of threads. */
typedef double (*jn__sum_fn)(void *ctx, size_t begin, size_t end);
double jn__parallel_sum(size_t count, size_t chunk, size_t cost, jn__sum_fn fn, void *ctx);

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

/* ---- Jacobian and penalty (jacobian.c) ---- */
/* Output Jacobians O_i = dF/dz_L (K x K per example) of pass p into dest
 * (n x K x K); identity for the logits target. */
void jn__output_jacobians(jn_net *net, int p, jn_penalty_target target, float *dest);
/* With work->T[L] holding the (n r) x K seeds of pass p, fill work->V and
 * work->T down to layer 1 and, if with_jr, work->Jr = T_1 W_1
 * ((n r) x D). bf16: the products in bfloat16 (work->W16 and T16 filled
 * too); may then fail (oneDNN), never in float32. */
jn_status jn__jacobian_chain(jn_net *net, int p, size_t r, int with_jr, int bf16);

/* ---- objective (objective.c) ---- */
struct jn_objective {
    jn_loss loss;
    double l2;
    double jacobian;
    unsigned projections;
    jn_penalty_target target;
    jn_penalty_form form;
    unsigned every;
    uint64_t seed;
    jn_noise noise;
    double input_std, jacobian_std;
    jn_precision precision;  /* requested; jn__precision_choose says what runs */
    /* What the measured choice took for this objective (precision.c), for
     * its getters: the one part written during a run, under precision.c's
     * lock; each created or cloned objective has its own. */
    struct jn__precision_record *ran;
};
/* What varies from one training step to the next, passed beside the
 * objective so that the objective is never rewritten during a run (and may
 * be shared by threads): the trainer makes one per minibatch. NULL where an
 * internal entry takes one: the objective's own settings, as
 * jn_net_objective computes. */
typedef struct jn__step {
    double jacobian;            /* this step's penalty weight: lambda, every x lambda, or 0 */
    uint64_t seed;              /* seed of this step's random projections */
    /* The dataset index of each row in a sharded run, so that projections
     * are drawn per example (penalty.c) and do not depend on how rows are
     * split over processes; NULL: one stream for the whole batch. */
    const size_t *example_ids;
} jn__step;
typedef struct jn__precision_record {
    size_t n;     /* rows of the largest batch measured for */
    double ratio; /* its float32 time / bfloat16 time; 0: none yet */
} jn__precision_record;

/* Mean loss (obj's loss alone) over the n rows of pass 0, forwarded with
 * derivs >= 1 when want_delta, and, if want_delta, scale x d loss_i/dz_L
 * into work->delta[L] (jn_net_objective: scale 1/n; the input gradient: 1).
 * Rows summed in chunks of 64 in a fixed order. */
double jn__loss_and_delta(jn_net *net, const jn_objective *obj, const float *Y, int want_delta, float scale);

/* The terms of jn_net_objective's value, for the trainer's epoch report. */
typedef struct jn__objective_parts {
    double loss;    /* mean loss term */
    double penalty; /* the Jacobian term, lambda * mean ||J||^2; 0 when off */
    double sqnorm;  /* mean ||J||^2 on Xj (the estimate with projections); -1 when off */
} jn__objective_parts;
/* jn_net_objective, also returning its terms in *parts (may be NULL). The
 * l2 term is *value - loss - penalty. After it returns JN_OK, the network's
 * pass 0 (net->work->pass[0].a[layers]) holds the outputs F(X). */
jn_status jn__net_objective_parts(jn_net *net, const jn_objective *obj, const jn__step *step, const float *X,
                                  const float *Xj, const float *Y, size_t n, double *value, float *grad,
                                  jn__objective_parts *parts);

/* Penalty part of the objective on pass p (already forwarded with derivs 2):
 * returns sum_i weight * penalty_i in *value and, if grad != NULL, writes the
 * adjoints into work->zbar[1..L] and writes (does not add) the direct weight
 * gradients into grad's W blocks, leaving its bias blocks alone. bf16: the
 * products in bfloat16 (jn__work_reserve_bf16 done). */
jn_status jn__penalty(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight, int bf16,
                      double *value, float *grad);

/* ---- optimizer state (optimizer.c), for checkpoints and rollback ---- */
/* What the optimizer was created and configured with. */
typedef struct jn__opt_config {
    uint32_t kind;          /* 0 SGD, 1 Adam */
    double lr0;             /* learning rate given at creation */
    double momentum, beta1, beta2, eps;
    uint32_t schedule;      /* jn_schedule */
    double gamma;
    uint64_t period;
} jn__opt_config;
/* What steps (and jn_optimizer_scale_lr) change. */
typedef struct jn__opt_state {
    double lr;              /* base learning rate now */
    uint64_t t;             /* steps taken */
    size_t n;               /* bound parameter count; 0 = unbound */
    unsigned vectors;       /* state vectors of n doubles: 0 plain SGD, 1 momentum (velocity), 2 Adam (m, v) */
    double *s[2];
} jn__opt_state;
void jn__optimizer_config(const jn_optimizer *opt, jn__opt_config *cfg);
/* Number of state vectors this optimizer keeps once bound. */
unsigned jn__optimizer_vectors(const jn_optimizer *opt);
/* opt's state; s[] are borrowed (NULL while unbound). */
void jn__optimizer_state(const jn_optimizer *opt, jn__opt_state *st);
/* Make opt's state a copy of st (st->vectors must match): lr, t, and the
 * binding (n = 0 unbinds, as a fresh optimizer) with its vectors. Binds an
 * unbound optimizer (JN_ERR_NOMEM leaves it unchanged); JN_ERR_INVALID
 * when it is bound to another count or the vectors differ. */
jn_status jn__optimizer_set_state(jn_optimizer *opt, const jn__opt_state *st);
/* ---- bfloat16 (precision.c; dnnl.c is the only file that sees oneDNN) ---- */
/* What a requested precision runs as, where that needs no measurement:
 * float32, bfloat16 (JACNET_FORCE_BF16=1), or measure (JN__RUN_MEASURE). */
enum { JN__RUN_FP32, JN__RUN_BF16, JN__RUN_MEASURE };
int jn__precision_resolve(jn_precision want);
/* *bf16 = whether the penalty on pass p (forwarded, as jn__penalty needs)
 * runs in bfloat16 for obj: resolved, or measured on this shape once per
 * process (which runs the penalty a few times both ways; grad as the
 * caller's jn__penalty will get it) and recorded in obj->ran. With *bf16,
 * jn__work_reserve_bf16 is done. */
jn_status jn__precision_choose(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                               float *grad, int *bf16);
/* For tests: the number of shapes timed so far in the process (answers
 * found in memory or in the wisdom file do not count), and forgetting the
 * answers kept in memory. */
unsigned long jn__precision_timings(void);
void jn__precision_forget(void);
/* Round to the nearest bfloat16 (ties to even; NaN stays NaN). */
static inline uint16_t jn__bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40u);
    b += 0x7fffu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}
/* dst = bf16(src), count values (threaded). */
void jn__to_bf16(const float *src, uint16_t *dst, size_t count);
/* 1 when oneDNN is built in and multiplies bfloat16 correctly on this CPU
 * (probed once). */
int jn__dnnl_bf16_works(void);
/* C = op(A) op(B) with bfloat16 A (m x k after op) and B (k x n after op),
 * float32 C (m x n), all row-major with leading dimensions lda, ldb, ldc;
 * trans_a / trans_b: the stored matrix is the transpose. Primitives are kept
 * in the workspace per shape. */
struct jn_dnnl;
jn_status jn__dnnl_matmul(jn_work *w, int trans_a, int trans_b, size_t m, size_t n, size_t k, const uint16_t *A,
                          size_t lda, const uint16_t *B, size_t ldb, float *C, size_t ldc);
void jn__dnnl_free(struct jn_dnnl *d);
/* C = alpha op(A) op(B) (beta 0): jn__sgemm on the float32 operands A, B,
 * or with bf16 a oneDNN product of their bfloat16 copies A16, B16 (callers
 * fold alpha into the conversion where they can: it costs a pass here). */
jn_status jn__product(jn_work *w, int bf16, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                      const float *A, const uint16_t *A16, size_t lda, const float *B, const uint16_t *B16,
                      size_t ldb, float *C, size_t ldc);


/* ---- RNG (rng.c) ---- */
struct jn_rng {
    uint64_t s[4];
};
void jn__rng_seed(jn_rng *rng, uint64_t seed, uint64_t stream);
/* A seed derived from (seed, tag, a, b) by chained splitmix64 steps: the
 * streams of distinct keys are as independent as distinct seeds, at the
 * cost of four hashes instead of jn_rng_create_stream's jumps. */
uint64_t jn__key_seed(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b);
/* out[i] = add[i] + std * N(0, 1) (add may be NULL: 0) for i < n, in
 * blocks of vectorised Box-Muller (gauss.c). */
void jn__normal_fill(jn_rng *rng, float *out, size_t n, float std, const float *add);

/* ---- datasets (dataset.c) ---- */
struct jn_dataset {
    size_t count, dim, classes;  /* classes: K, the target width, for a targets dataset */
    const float *features;
    const int32_t *labels;       /* NULL for a targets dataset */
    const float *targets;        /* count x classes float targets, or NULL for labels */
    float *own_features;         /* NULL when borrowed */
    int32_t *own_labels;
    float *own_targets;
};
/* A dataset owning uninitialised arrays of count x dim features and count
 * labels, for loaders to fill; classes set by the caller. */
jn_status jn__dataset_new(jn_dataset **out, size_t count, size_t dim, size_t classes);

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
