/*
 * jacnet.h - public interface of libjacnet.
 *
 * libjacnet trains multilayer perceptrons with squared error (or cross-entropy)
 * plus lambda * ||J_F(x~)||_F^2, the squared Frobenius norm of the Jacobian of
 * the network outputs with respect to a (possibly noise-corrupted) input x~,
 * as in Rifai, Glorot, Bengio, Vincent, Universite de Montreal TR 1359.
 *
 * Conventions used by every function below:
 *  - Handles are opaque. A constructor returns a jn_status and writes the new
 *    handle through its first argument; on failure that argument is set to
 *    NULL. Every *_free accepts NULL.
 *  - Matrices are float32, row-major. X is n x D, outputs are n x K,
 *    Jacobians are n x K x D.
 *  - On failure a function returns a status other than JN_OK, and
 *    jn_last_error() gives a message (per thread) naming the argument, file or
 *    offset at fault. Nothing is printed by the library.
 *  - Out of memory is JN_ERR_NOMEM (every allocation, zlib's included, goes
 *    through one allocator). The failed call leaks nothing and leaves every
 *    handle it was given unchanged and usable (a network may drop its
 *    scratch space, made again on the next call); jn_trainer_run makes all
 *    its allocations before its first step. make check-oom tests this.
 *  - A handle may be used by one thread at a time; distinct handles may be
 *    used concurrently. Functions taking a const handle never write through
 *    it, so a handle nobody modifies may be shared: see "Threads" below.
 *
 * Threads. libjacnet keeps no mutable global state except the thread count
 * (jn_set_threads), a once-flag guarding it and the pool of its own threads
 * (one region at a time per process; a caller that finds it busy runs its
 * loop alone, with the same result).
 *  - Distinct handles may be used from distinct threads at the same time:
 *    networks, objectives, optimizers, trainers, RNGs, datasets, and every
 *    loader and jn_net_save / jn_net_load call on distinct files.
 *  - A handle that no thread modifies may be shared by threads through the
 *    functions that take it as const: one jn_dataset (owning its arrays, or
 *    borrowing arrays nobody writes) and one jn_objective may be the const
 *    inputs of several jn_trainer_run, jn_net_objective, jn_net_error_rate,
 *    jn_net_check_gradient and jn_dataset_slice / gather / onehot / shuffle
 *    calls at once (a run never rewrites its objective: what varies per
 *    step is kept beside it; only the record of a measured precision,
 *    jn_objective_precision_used, is updated, under a lock); one jn_net may
 *    be read by jn_net_clone,
 *    jn_net_get_params, jn_net_save and the size and activation getters in
 *    several threads at once.
 *  - Everything else needs one thread at a time per handle. In particular a
 *    jn_net, even for jn_net_forward / predict / jacobian / objective /
 *    error_rate, which keep scratch space in the network while leaving its
 *    parameters alone: clone it (jn_net_clone) to evaluate it in several
 *    threads. Likewise a jn_optimizer, a jn_rng and a jn_trainer (whose
 *    callbacks run in the thread that called jn_trainer_run).
 *  - jn_last_error() is per thread: a failure in one thread never changes
 *    the message another thread reads.
 *  - jn_set_threads changes a process-wide setting, the BLAS's included:
 *    call it before starting the threads that use libjacnet, not while they
 *    run.
 *    jn_load_mnist / jn_load_usps with dir NULL read $JACNET_DATA: no
 *    setenv meanwhile.
 * tests/test_threads.c does exactly these things from 4 threads and
 * compares with the same work done serially (make check; make check-tsan
 * runs it under ThreadSanitizer).
 */
#ifndef JACNET_H
#define JACNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version is written here once; the Makefile derives the SONAME from it. */
#define JN_VERSION_MAJOR 0
#define JN_VERSION_MINOR 2
#define JN_VERSION_PATCH 0
#define JN_VERSION_NUMBER (JN_VERSION_MAJOR * 10000 + JN_VERSION_MINOR * 100 + JN_VERSION_PATCH)

#if defined(JN_BUILDING_LIBRARY) && defined(__GNUC__)
#define JN_API __attribute__((visibility("default")))
#else
#define JN_API
#endif

/* ------------------------------------------------------------------ */
/* Status codes and errors                                             */
/* ------------------------------------------------------------------ */

/* One list makes both the enum and the names returned by jn_status_str. */
#define JN_STATUS_LIST(X)                                   \
    X(JN_OK, "ok")                                          \
    X(JN_ERR_INVALID, "invalid argument")                   \
    X(JN_ERR_NOMEM, "out of memory")                        \
    X(JN_ERR_IO, "input/output error")                      \
    X(JN_ERR_FORMAT, "bad file format")                     \
    X(JN_ERR_DIVERGED, "training diverged (non-finite loss)") \
    X(JN_ERR_STOPPED, "stopped by callback")

typedef enum {
#define JN_STATUS_ENUM_(name, text) name,
    JN_STATUS_LIST(JN_STATUS_ENUM_)
#undef JN_STATUS_ENUM_
    JN_STATUS_COUNT_
} jn_status;

/* Version of the loaded library as JN_VERSION_NUMBER; compare with the header's. */
JN_API unsigned jn_version(void);
/* Version as "MAJOR.MINOR.PATCH". Static storage. */
JN_API const char *jn_version_string(void);
/* Fixed English name of a status; "unknown status" for values outside the enum. */
JN_API const char *jn_status_str(jn_status status);
/* Detail of the last failure in the calling thread ("" if none). The buffer is
 * thread-local and stays valid until the next failing call in that thread. */
JN_API const char *jn_last_error(void);

/* Number of threads libjacnet uses, n in 1..256 (tested with 1 and 2):
 * the library's own n threads run the float32 products and the work around
 * them, and the BLAS is held at one thread (OpenBLAS:
 * openblas_set_num_threads(1); why: docs/PERFORMANCE.md). Process-wide:
 * other users of OpenBLAS in the process then run one thread too.
 * JACNET_THREADS=n does the same, read once, at first use; a later call
 * overrides it. With neither, libjacnet never touches the BLAS's setting
 * and runs on the BLAS's threads (OpenBLAS: OPENBLAS_NUM_THREADS, else
 * every core).
 * With a count set, float32 results do not depend on it, bit for bit, for
 * any BLAS whose call gives the same bits every time (every product is the
 * same sequence of one-thread BLAS calls at every count; tested under every
 * OpenBLAS kernel the CPU runs and the reference CBLAS). They do differ
 * between BLAS kernels (jn_blas_kernel). Without a count, the BLAS's threads
 * may change its summation order (about 1e-7 of the largest gradient
 * entry). bfloat16 products carry no such promise. JN_ERR_INVALID for n
 * outside 1..256. */
JN_API jn_status jn_set_threads(int n);

/* The BLAS kernel the process runs, for records: OpenBLAS's core name
 * (e.g. "Haswell", "SkylakeX", "Cooperlake"; chosen by CPU, or forced with
 * OPENBLAS_CORETYPE), or "unknown" for a BLAS that does not say (reference
 * CBLAS). Results are bit for bit repeatable on one kernel, at any thread
 * count, and differ slightly between kernels. Never NULL; static storage. */
JN_API const char *jn_blas_kernel(void);

/* ------------------------------------------------------------------ */
/* Random numbers and noise                                            */
/* ------------------------------------------------------------------ */

typedef struct jn_rng jn_rng;

/* xoshiro256** generator seeded through splitmix64. */
JN_API jn_status jn_rng_create(jn_rng **out, uint64_t seed);
JN_API void jn_rng_free(jn_rng *rng);
/* Independent stream number `stream` of the generator seeded with `seed`
 * (the seed's state advanced by `stream` jumps of 2^128 draws), stream <
 * 65536 (each jump costs about 256 draws). */
JN_API jn_status jn_rng_create_stream(jn_rng **out, uint64_t seed, uint64_t stream);
/* Uniform 64-bit integer. */
JN_API uint64_t jn_rng_next(jn_rng *rng);
/* Uniform double in [0, 1). */
JN_API double jn_rng_uniform(jn_rng *rng);

typedef enum { JN_NOISE_NONE, JN_NOISE_GAUSSIAN, JN_NOISE_UNIFORM, JN_NOISE_MASK } jn_noise;

/* Fill out[0..n) with N(0, std^2) draws. */
JN_API jn_status jn_rng_gaussian(jn_rng *rng, float *out, size_t n, double std);
/* Fill out[0..n) with zero-mean uniform draws of standard deviation std
 * (uniform on [-std*sqrt(3), std*sqrt(3)]). */
JN_API jn_status jn_rng_uniform_fill(jn_rng *rng, float *out, size_t n, double std);
/* dst = corrupted copy of src (n values): GAUSSIAN and UNIFORM add noise of
 * standard deviation `level`; MASK sets each value to 0 with probability
 * `level`; NONE copies. src and dst may be the same buffer. */
JN_API jn_status jn_corrupt(jn_rng *rng, jn_noise kind, double level, const float *src,
                            float *dst, size_t n);

/* ------------------------------------------------------------------ */
/* Networks                                                            */
/* ------------------------------------------------------------------ */

typedef enum { JN_ACT_TANH, JN_ACT_SIGMOID, JN_ACT_RELU, JN_ACT_LINEAR, JN_ACT_SOFTMAX } jn_act;

typedef struct jn_net jn_net;

/* A network with n_sizes - 1 layers: sizes = {D, H1, ..., K}, n_sizes >= 2.
 * `hidden` (tanh, sigmoid, relu or linear) follows every layer but the
 * last, `output` (sigmoid, softmax, linear, tanh or relu) the last one.
 * Parameters start at zero; call jn_net_init or jn_net_set_params
 * (jn_trainer_run refuses a network whose weights are all zero). */
JN_API jn_status jn_net_create(jn_net **out, const size_t *sizes, size_t n_sizes, jn_act hidden,
                               jn_act output);
JN_API void jn_net_free(jn_net *net);
/* A deep copy (parameters and architecture). */
JN_API jn_status jn_net_clone(jn_net **out, const jn_net *net);
JN_API size_t jn_net_param_count(const jn_net *net);
/* Number of layers (n_sizes - 1) and widths: sizes[0] = D ... sizes[layers] = K. */
JN_API size_t jn_net_layers(const jn_net *net);
JN_API size_t jn_net_size(const jn_net *net, size_t index);
JN_API jn_act jn_net_hidden_act(const jn_net *net);
JN_API jn_act jn_net_output_act(const jn_net *net);
/* Parameters as one flat vector: for each layer, W (rows = outputs,
 * row-major), then b. count must equal jn_net_param_count. set_params
 * refuses NaN/Inf and leaves the network unchanged on failure. */
JN_API jn_status jn_net_get_params(const jn_net *net, float *dst, size_t count);
JN_API jn_status jn_net_set_params(jn_net *net, const float *src, size_t count);
/* Borrowed pointer to the flat parameter vector (same layout); valid until the
 * network is freed. Writing through it is allowed; the caller then owns the
 * finiteness of the values. */
JN_API float *jn_net_params(jn_net *net);
/* Glorot uniform initialisation: W_l ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)),
 * times 4 for the hidden layers of a sigmoid-hidden network (not for the
 * output layer, whatever its activation); biases 0. Same seed, same
 * parameters. */
JN_API jn_status jn_net_init(jn_net *net, uint64_t seed);
/* F = network outputs for the n rows of X. */
JN_API jn_status jn_net_forward(jn_net *net, const float *X, size_t n, float *F);
/* Activations of hidden layer `layer` (1..layers-1) for the n rows of X, into
 * H (n x sizes[layer]); used for the report's activation histograms.
 * (Python: Net.hidden_activations; the activation *function* is
 * jn_net_hidden_act.) */
JN_API jn_status jn_net_hidden(jn_net *net, const float *X, size_t n, size_t layer, float *H);
/* Index of the largest output of each row of X into labels (n values). */
JN_API jn_status jn_net_predict(jn_net *net, const float *X, size_t n, int32_t *labels);

/* Jacobian of the outputs with respect to the input, for every row of X:
 * J[i][k][j] = dF_k / dx_j at X[i]; J holds n x K x D floats. */
JN_API jn_status jn_net_jacobian(jn_net *net, const float *X, size_t n, float *J);
/* out[i] = ||J_F(X[i])||_F^2, without storing J. */
JN_API jn_status jn_net_jacobian_sqnorm(jn_net *net, const float *X, size_t n, float *out);
/* out[i] = sum over outputs k of ||d^2 F_k / dx^2 (X[i])||_F^2, the squared
 * Frobenius norm of the K x D x D tensor of second input derivatives, in
 * closed form (docs/METHOD.md) without forming it. relu and linear layers
 * contribute nothing (their second derivative is 0 almost everywhere), so a
 * network of only relu/linear layers gives 0. Computed in float32, the final
 * sums in double. */
JN_API jn_status jn_net_hessian_sqnorm(jn_net *net, const float *X, size_t n, float *out);

/* Model files (docs/FORMAT.md): magic, format version, little-endian, the
 * architecture, the parameters and a CRC-32. Saving writes a temporary file in
 * the same directory, flushes it and renames it over `path`, so the previous
 * file survives any failure. Loading refuses truncated, corrupted or foreign
 * files with JN_ERR_FORMAT. */
JN_API jn_status jn_net_save(const jn_net *net, const char *path);
JN_API jn_status jn_net_load(jn_net **out, const char *path);

/* ------------------------------------------------------------------ */
/* Objectives                                                          */
/* ------------------------------------------------------------------ */

typedef enum { JN_LOSS_MSE, JN_LOSS_CE } jn_loss;
/* What the Jacobian penalty differentiates: the outputs F (the report) or
 * the pre-activation outputs z_L (logits). */
typedef enum { JN_PENALTY_OUTPUT, JN_PENALTY_LOGITS } jn_penalty_target;

typedef struct jn_objective jn_objective;

/* MSE: sum over outputs of (F_k - y_k)^2 (no 1/2). CE: -sum_k y_k log F_k;
 * requires softmax outputs. Starts with no penalty and no noise. */
JN_API jn_status jn_objective_create(jn_objective **out, jn_loss loss);
/* Change the loss (JN_ERR_INVALID for an unknown one), e.g. of a preset
 * (jn_objective_create_model makes MSE): the penalty and noise stay. */
JN_API jn_status jn_objective_set_loss(jn_objective *obj, jn_loss loss);
JN_API void jn_objective_free(jn_objective *obj);
JN_API jn_status jn_objective_clone(jn_objective **out, const jn_objective *obj);
/* lambda * sum_l ||W_l||_F^2 (weights only, not biases). lambda >= 0. */
JN_API jn_status jn_objective_set_l2(jn_objective *obj, double lambda);
/* lambda * ||J||_F^2 per example. projections = 0: exact. projections = k > 0:
 * the unbiased estimate (K/k) sum_p ||v_p^T J||^2 with v_p uniform on the unit
 * sphere of the output space, drawn from the objective's seed. */
JN_API jn_status jn_objective_set_jacobian(jn_objective *obj, double lambda, unsigned projections);
JN_API jn_status jn_objective_set_penalty_target(jn_objective *obj, jn_penalty_target target);
/* How the penalty and its gradient are computed (same values up to float
 * rounding): DIRECT forms every example's (projected) Jacobian, about
 * 6 n r H1 D flops for the first layer; GRAM uses
 * ||J||^2 = tr(T W1 W1^T T^T) with W1 W1^T formed once per batch, about
 * 3 H1^2 D + 3 n r H1^2, cheaper when the first hidden layer H1 is narrower
 * than about 2 n r D / (D + n r). AUTO (the default) picks the cheaper for
 * the shapes of each call (docs/METHOD.md). */
typedef enum { JN_FORM_AUTO, JN_FORM_DIRECT, JN_FORM_GRAM } jn_penalty_form;
JN_API jn_status jn_objective_set_penalty_form(jn_objective *obj, jn_penalty_form form);
/* Arithmetic of the Jacobian penalty's matrix products (the Jacobian chain
 * and its gradient: about 90% of an exact-penalty step). FP32 (the default):
 * float32 throughout, as everything else. BF16: those products take
 * bfloat16 inputs (8-bit mantissa, inputs rounded to nearest even) and
 * accumulate in float32, through oneDNN; the loss, the forward and backward
 * passes and all elementwise work stay float32. Measured effect: errors of a
 * few 1e-3 relative to the penalty's value and gradient (up to 4e-3 and
 * 6e-3 on tiny batches; docs/PERFORMANCE.md).
 * BF16 runs only where it pays, which is measured, not assumed: the first
 * time a process evaluates the penalty on a shape (layer widths, batch
 * rows, projections, thread count, with or without gradient), it times the
 * penalty both ways a few times (a few evaluations' worth, once) and takes
 * bfloat16 there only if it was at least 1.05 times faster. Answers are
 * kept for the process (thread-safe) and, when the environment names a
 * file in JACNET_WISDOM, appended to it and read back by later processes
 * instead of timing again (one line per shape; delete the file after
 * changing CPU, oneDNN or libjacnet). Because the choice is timed, two runs
 * may choose differently on a loaded machine; a wisdom file or FP32 fixes
 * it. BF16 also needs libjacnet built with oneDNN (make DNNL=1, or found
 * automatically) and oneDNN multiplying bfloat16 on this CPU; elsewhere it
 * falls back to FP32 without measuring. JACNET_FORCE_BF16=1 in the
 * environment takes bfloat16 wherever oneDNN can without measuring (for
 * tests), JACNET_FORCE_BF16=0 never. AUTO: the same choice as BF16, under
 * the name that says either may run. Returns JN_ERR_INVALID for an unknown
 * value. At more than one thread, start the program with
 * OMP_WAIT_POLICY=passive in its environment: oneDNN's OpenMP threads
 * otherwise spin between products on the cores the library needs (the
 * jacnet tool and the Python binding set it themselves; docs/PERFORMANCE.md). */
typedef enum { JN_PRECISION_FP32, JN_PRECISION_BF16, JN_PRECISION_AUTO } jn_precision;
JN_API jn_status jn_objective_set_precision(jn_objective *obj, jn_precision precision);
/* The precision the penalty's products run in with obj in this process:
 * JN_PRECISION_FP32 where FP32 was requested or BF16 cannot run,
 * JN_PRECISION_BF16 under JACNET_FORCE_BF16=1 (read at each call), and
 * otherwise what the measurement chose for the largest batch evaluated
 * with obj (the trainer's calls included; in training, the full
 * minibatch): JN_PRECISION_FP32 until then. NULL gives JN_PRECISION_FP32. */
JN_API jn_precision jn_objective_precision_used(const jn_objective *obj);
/* The measurement behind that answer: float32 time / bfloat16 time of the
 * penalty (above 1: bfloat16 was faster), or 0 where nothing was measured
 * (FP32 requested, BF16 unavailable or forced, no evaluation yet, NULL). */
JN_API double jn_objective_precision_ratio(const jn_objective *obj);
/* Apply the Jacobian penalty only every `every`-th training step, with weight
 * every * lambda (trainer only; jn_net_objective always applies it). */
JN_API jn_status jn_objective_set_penalty_every(jn_objective *obj, unsigned every);
/* Seed of the random projections. Same seed, same projections. */
JN_API jn_status jn_objective_set_seed(jn_objective *obj, uint64_t seed);
/* Noise drawn by the trainer for every minibatch: on the loss term's input
 * (std input_std, the report's "MLP + Noise") and, independently, on the
 * Jacobian term's input (std jacobian_std, x~ of eq. 19). jn_net_objective
 * itself never draws noise. */
JN_API jn_status jn_objective_set_noise(jn_objective *obj, jn_noise kind, double input_std,
                                        double jacobian_std);

/* The report's models (TR 1359, Table 1) as presets. */
typedef enum {
    JN_MODEL_MLP,          /* squared error only */
    JN_MODEL_MLP_L2,       /* + l2 weight decay */
    JN_MODEL_MLP_NOISE,    /* Gaussian noise (std) on the input */
    JN_MODEL_MLP_JACOB,    /* + lambda ||J(x)||^2 */
    JN_MODEL_MLP_NJ,       /* + lambda ||J(x~)||^2, x~ = x + N(0, std^2) */
    JN_MODEL_MLP_NJ_BOTH   /* as MLP_NJ with noise on the loss input too */
} jn_model;
/* The presets' names, the same in the CLI, its sweeps and Python: "mlp",
 * "l2", "noise", "jacobian", "nj", "nj-both". jn_model_name gives NULL for
 * a value outside jn_model (so a loop from JN_MODEL_MLP up to the first NULL
 * lists them); jn_model_from_name returns JN_ERR_INVALID for an unknown name,
 * naming the known ones in jn_last_error. */
JN_API const char *jn_model_name(jn_model model);
JN_API jn_status jn_model_from_name(const char *name, jn_model *out);
/* The settings a preset reads, as flags: JN_USES_LAMBDA (l2, jacobian, nj,
 * nj-both), JN_USES_NOISE (noise, nj, nj-both); 0 for MLP or an unknown
 * value. A sweep skips grid points that differ only in unused settings. */
#define JN_USES_LAMBDA 1u
#define JN_USES_NOISE 2u
JN_API unsigned jn_model_uses(jn_model model);
/* The training recipe's defaults (docs/METHOD.md), those of `jacnet
 * train`, its sweeps, Python's jacnet.train and make demo: SGD with momentum
 * on minibatches of 20, early stopping on validation. jn_trainer_create's
 * own defaults are the C API's neutral values and differ. NaN for a value
 * outside jn_default. */
typedef enum {
    JN_DEFAULT_LR,        /* SGD learning rate: 0.05 */
    JN_DEFAULT_MOMENTUM,  /* 0.9 */
    JN_DEFAULT_BATCH,     /* minibatch: 20 */
    JN_DEFAULT_EPOCHS,    /* most epochs: 100 */
    JN_DEFAULT_PATIENCE,  /* early stopping after 15 epochs without a better validation error */
    JN_DEFAULT_NOISE_STD, /* Gaussian noise std of the noise presets: 0.1 */
    JN_DEFAULT_HIDDEN,    /* hidden width: 1000, one layer */
    JN_DEFAULT_SEED       /* 1 */
} jn_default;
JN_API double jn_default_value(jn_default which);
/* An MSE objective configured as `model`, with weight `lambda` (the l2 weight
 * for MLP_L2, the Jacobian weight for JACOB/NJ/NJ_BOTH; ignored otherwise)
 * and Gaussian noise standard deviation `std` (report: 0.1). */
JN_API jn_status jn_objective_create_model(jn_objective **out, jn_model model, double lambda,
                                           double std);
/* The settings, one getter per setter argument, as jn_objective_create,
 * _create_model, _clone and the setters left them (the loss is the
 * constructor's; jn_objective_precision is the requested precision, not
 * jn_objective_precision_used). A NULL objective reads as 0, the first
 * value of each enum. */
JN_API jn_loss jn_objective_loss(const jn_objective *obj);
JN_API double jn_objective_l2(const jn_objective *obj);
JN_API double jn_objective_jacobian(const jn_objective *obj);
JN_API unsigned jn_objective_projections(const jn_objective *obj);
JN_API jn_penalty_target jn_objective_penalty_target(const jn_objective *obj);
JN_API jn_penalty_form jn_objective_penalty_form(const jn_objective *obj);
JN_API unsigned jn_objective_penalty_every(const jn_objective *obj);
JN_API uint64_t jn_objective_seed(const jn_objective *obj);
JN_API jn_precision jn_objective_precision(const jn_objective *obj);
JN_API jn_noise jn_objective_noise(const jn_objective *obj);
JN_API double jn_objective_input_std(const jn_objective *obj);
JN_API double jn_objective_jacobian_std(const jn_objective *obj);

/* value = (1/n) sum_i [ loss(F(X_i), Y_i) + lambda_J ||J_F(Xj_i)||_F^2 ]
 *         + lambda_l2 sum_l ||W_l||_F^2
 * grad (param_count floats, same layout as jn_net_get_params) = its gradient.
 * value or grad may be NULL. Xj NULL means Xj = X. Y is n x K. */
JN_API jn_status jn_net_objective(jn_net *net, const jn_objective *obj, const float *X,
                                  const float *Xj, const float *Y, size_t n, double *value,
                                  float *grad);

/* Finite-difference check of jn_net_objective's gradient on up to 64
 * parameters chosen at random (fixed seed): central differences of the
 * float32 objective with steps 2^-7 and 2^-6, formed in double and combined
 * by Richardson extrapolation. Reports the largest
 * |g_fd - g| / max(|g_fd| + |g|, 0.01 max_k |g_k|); parameters whose
 * differences cross a relu kink are skipped. Expect < 1e-2 for a correct
 * gradient. The network is left unchanged. */
JN_API jn_status jn_net_check_gradient(jn_net *net, const jn_objective *obj, const float *X,
                                       const float *Xj, const float *Y, size_t n,
                                       double *max_rel_err);

/* Gradient of each example's loss with respect to its input, for
 * adversarial attacks (FGSM, PGD) and saliency maps:
 *     out[i][j] = d loss(F(X_i), Y_i) / d X_i[j]     (out: n x D floats)
 * with obj's loss (MSE or CE, as in jn_net_objective; pass the loss the
 * network was trained with: MSE for the report's models) and nothing else
 * of obj: no Jacobian penalty, no l2, no noise. Per example, not divided
 * by n: the gradient of jn_net_objective's mean loss with respect to row i
 * is out[i] / n, and a row's gradient does not depend on the other rows.
 * Y is n x K (one-hot rows for labels). Computed in float32 by one forward
 * and one backward pass (no weight gradients). out must not overlap X or
 * Y. relu units at z = 0 count as off (relu'(0) = 0), as in training. */
JN_API jn_status jn_net_input_gradient(jn_net *net, const jn_objective *obj, const float *X,
                                       const float *Y, size_t n, float *out);

/* ------------------------------------------------------------------ */
/* Optimizers                                                          */
/* ------------------------------------------------------------------ */

typedef struct jn_optimizer jn_optimizer;

typedef enum { JN_SCHEDULE_CONSTANT, JN_SCHEDULE_STEP, JN_SCHEDULE_INVERSE } jn_schedule;

/* SGD: v = momentum * v - lr * g; theta += v (momentum 0: plain SGD).
 * lr > 0 finite, 0 <= momentum < 1. */
JN_API jn_status jn_optimizer_create_sgd(jn_optimizer **out, double lr, double momentum);
/* Adam (Kingma and Ba) with bias correction. lr > 0 finite,
 * 0 <= beta1, beta2 < 1, eps > 0 finite. */
JN_API jn_status jn_optimizer_create_adam(jn_optimizer **out, double lr, double beta1,
                                          double beta2, double eps);
JN_API void jn_optimizer_free(jn_optimizer *opt);
/* Learning rate at step t (counted from 0):
 *   CONSTANT: lr
 *   STEP:     lr * gamma^floor(t / period)
 *   INVERSE:  lr / (1 + gamma * t / period)   (1/t decay)
 * t counts jn_optimizer_step calls, i.e. minibatches (not epochs), and
 * period is in the same unit: with N examples and batch B an epoch is
 * ceil(N / B) steps. gamma >= 0 finite and period >= 1 are required for
 * every schedule. */
JN_API jn_status jn_optimizer_set_schedule(jn_optimizer *opt, jn_schedule schedule,
                                           double gamma, unsigned long period);
/* The learning rate the next step will use (0 for NULL). */
JN_API double jn_optimizer_lr(const jn_optimizer *opt);
/* Multiply the base learning rate (the `lr` the schedule starts from) by
 * factor > 0, finite; the result must stay finite and > 0. SGD's momentum
 * velocity (a sum of past lr x gradient terms) is scaled by the same factor;
 * Adam's moments and the schedule's position are unchanged. The trainer's
 * blow-up recovery uses it. */
JN_API jn_status jn_optimizer_scale_lr(jn_optimizer *opt, double factor);
/* Update net's parameters from grad (param_count floats). The first step binds
 * the optimizer to that parameter count; a later net with another count is
 * JN_ERR_INVALID. NaN/Inf in grad is JN_ERR_INVALID. If the update would make
 * a parameter non-finite, JN_ERR_DIVERGED. On any failure neither the network
 * nor the optimizer changes. */
JN_API jn_status jn_optimizer_step(jn_optimizer *opt, jn_net *net, const float *grad);
/* Forget momentum / moments, the step count and the parameter-count binding. */
JN_API void jn_optimizer_reset(jn_optimizer *opt);

/* ------------------------------------------------------------------ */
/* Datasets                                                            */
/* ------------------------------------------------------------------ */

typedef struct jn_dataset jn_dataset;

#define JN_DATASET_BORROW 1u /* keep the caller's arrays (they must outlive the dataset) */
/* Loaders: IDX pixel -> 1 if intensity > 255/2 else 0; CSV value -> 1 if > 0.5
 * else 0. */
#define JN_LOAD_BINARIZE 1u

/* A dataset of count examples of dim features (count x dim, row-major) with
 * labels in [0, classes). Copies the arrays unless flags has
 * JN_DATASET_BORROW. Refuses NaN/Inf features and labels out of range. */
JN_API jn_status jn_dataset_create(jn_dataset **out, const float *features, const int32_t *labels,
                                   size_t count, size_t dim, size_t classes, unsigned flags);
/* A dataset of count examples with float targets instead of labels:
 * features count x dim, targets count x K (row-major), for regression and
 * auto-encoders (targets may be the features themselves, even the same
 * array with JN_DATASET_BORROW). The trainer fits the targets as they are
 * (no one-hot); jn_dataset_classes gives K, jn_dataset_labels NULL, and the
 * classification functions (jn_dataset_onehot, jn_net_error_rate) refuse
 * the dataset. Copies unless JN_DATASET_BORROW; refuses NaN/Inf. */
JN_API jn_status jn_dataset_create_targets(jn_dataset **out, const float *features, const float *targets,
                                           size_t count, size_t dim, size_t K, unsigned flags);
JN_API void jn_dataset_free(jn_dataset *ds);
JN_API size_t jn_dataset_count(const jn_dataset *ds);
JN_API size_t jn_dataset_dim(const jn_dataset *ds);
/* Number of classes, or the width K of the targets of a targets dataset. */
JN_API size_t jn_dataset_classes(const jn_dataset *ds);
JN_API const float *jn_dataset_features(const jn_dataset *ds);
/* The labels, or NULL for a dataset with float targets. */
JN_API const int32_t *jn_dataset_labels(const jn_dataset *ds);
/* The float targets (count x K), or NULL for a labelled dataset. */
JN_API const float *jn_dataset_targets(const jn_dataset *ds);
/* A copy of examples [start, start + count). */
JN_API jn_status jn_dataset_slice(jn_dataset **out, const jn_dataset *ds, size_t start,
                                  size_t count);
/* One-hot targets of the n examples idx[0..n) into Y (n x classes). idx NULL
 * means examples 0..n-1. Labelled datasets only. */
JN_API jn_status jn_dataset_onehot(const jn_dataset *ds, const size_t *idx, size_t n, float *Y);
/* Training targets of the n examples idx[0..n) into Y (n x K): the float
 * targets of a targets dataset, one-hot rows of the labels otherwise. idx
 * NULL means examples 0..n-1. */
JN_API jn_status jn_dataset_gather_targets(const jn_dataset *ds, const size_t *idx, size_t n, float *Y);
/* Features of the n examples idx[0..n) into X (n x dim). */
JN_API jn_status jn_dataset_gather(const jn_dataset *ds, const size_t *idx, size_t n, float *X);
/* A uniformly random permutation of 0..count-1 into perm (Fisher-Yates). */
JN_API jn_status jn_dataset_shuffle(const jn_dataset *ds, jn_rng *rng, size_t *perm);
/* Fraction of examples whose predicted class differs from the label
 * (labelled datasets only; a dataset with float targets is refused).
 * JN_ERR_INVALID (naming ds) for a dataset whose width is not the network's
 * input width or with more classes than the network has outputs (2 for a
 * single output, thresholded at 0.5). Allocates nothing beyond the
 * network's scratch space. */
JN_API jn_status jn_net_error_rate(jn_net *net, const jn_dataset *ds, double *error);
/* loss = (1/count) sum_i loss(F(x_i), y_i) over the dataset with obj's loss
 * (MSE or CE, as in jn_net_objective) and without its penalties (no
 * Jacobian, no l2); y_i are the float targets, or one-hot labels. */
JN_API jn_status jn_net_mean_loss(jn_net *net, const jn_objective *obj, const jn_dataset *ds, double *loss);

/* Loaders. Every loader makes a labelled dataset; on failure *out is NULL. */
/* IDX3 images + IDX1 labels (MNIST), raw or gzip-compressed; pixels 0..255
 * scaled to [0, 1]. */
JN_API jn_status jn_dataset_load_idx(jn_dataset **out, const char *images_path,
                                     const char *labels_path, unsigned flags);
/* USPS as in "The Elements of Statistical Learning" (zip.train/zip.test,
 * raw or .gz): per line a label then 256 values in [-1, 1], mapped to
 * [0, 1]. */
JN_API jn_status jn_dataset_load_usps(jn_dataset **out, const char *path);
/* CSV, label first then the features; an optional header line. raw or .gz.
 * The features are kept as written (not scaled). */
JN_API jn_status jn_dataset_load_csv(jn_dataset **out, const char *path, unsigned flags);

/* The report's splits (section 8). `dir` NULL means $JACNET_DATA, else ./data.
 * MNIST: dir/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; train =
 * the first 50000 training digits, valid = the last 10000, test = t10k.
 * USPS: dir/usps/zip.{train,test}[.gz]; valid = the last 2000 of the 7291
 * training digits. Any of train/valid/test may be NULL. A directory that is
 * a file is JN_ERR_IO, naming it and whether it came from dir or
 * $JACNET_DATA. */
JN_API jn_status jn_load_mnist(const char *dir, unsigned flags, jn_dataset **train,
                               jn_dataset **valid, jn_dataset **test);
JN_API jn_status jn_load_usps(const char *dir, jn_dataset **train, jn_dataset **valid,
                              jn_dataset **test);

/* ------------------------------------------------------------------ */
/* Trainer                                                             */
/* ------------------------------------------------------------------ */

typedef struct jn_trainer jn_trainer;

/* What the per-epoch callback sees. Valid only during the call. */
typedef struct jn_epoch_report {
    unsigned epoch;         /* 1-based */
    double train_objective; /* mean objective over the epoch's minibatches */
    double valid_error;     /* classification error on the validation set; its mean
                               loss (jn_net_mean_loss) if it has float targets; -1
                               without one */
    double best_valid_error;
    unsigned best_epoch;
    double seconds;         /* wall time of the epoch */
    double lr;              /* learning rate at the end of the epoch */
    /* Fields below were appended in 0.2 (docs/ABI.md). All are means over
     * the epoch's minibatches, measured during the epoch (each minibatch
     * before its step), on the inputs the terms saw (with their noise). */
    double train_loss;      /* the loss term */
    double train_penalty;   /* the Jacobian term as applied: lambda ||J||^2, or
                               every * lambda ||J||^2 on 1 step in `every` and 0
                               on the others; train_objective - train_loss -
                               train_penalty is the l2 weight decay term */
    double train_jacobian_sqnorm; /* ||J_F(x~)||_F^2 (projection estimate if
                               projections > 0) over the minibatches where the
                               penalty was computed; -1 if it never was */
    double train_error;     /* fraction of training examples whose output
                               argmax differed from their label, on the loss
                               term's (possibly noisy) input */
    unsigned recoveries;    /* blow-up recoveries during this epoch
                               (jn_trainer_set_recovery); 0 without */
} jn_epoch_report;

/* Return nonzero to stop training (jn_trainer_run then returns JN_ERR_STOPPED
 * after restoring the best parameters). */
typedef int (*jn_epoch_callback)(const jn_epoch_report *report, void *user);
/* Called after every minibatch: done and total minibatches of this epoch.
 * Return nonzero to stop at once (JN_ERR_STOPPED, as for the epoch
 * callback): an interrupted run need not wait for the end of an epoch. */
typedef int (*jn_batch_callback)(unsigned epoch, size_t done, size_t total, void *user);

/* Defaults: 10 epochs, batch 100, patience 0 (no early stopping), seed 1.
 * These are neutral starting values, not the recommended recipe (batch 20
 * with SGD lr 0.05, momentum 0.9: docs/METHOD.md, "The training recipe"). */
JN_API jn_status jn_trainer_create(jn_trainer **out);
JN_API void jn_trainer_free(jn_trainer *tr);
JN_API jn_status jn_trainer_set_epochs(jn_trainer *tr, unsigned epochs);
JN_API jn_status jn_trainer_set_batch_size(jn_trainer *tr, size_t batch);
/* Stop when the validation error has not improved for `patience` epochs
 * (0: never stop early). The best parameters are always restored at the end
 * when a validation set is given. */
JN_API jn_status jn_trainer_set_patience(jn_trainer *tr, unsigned patience);
/* Seed of shuffling, noise and projections. */
JN_API jn_status jn_trainer_set_seed(jn_trainer *tr, uint64_t seed);
JN_API jn_status jn_trainer_set_epoch_callback(jn_trainer *tr, jn_epoch_callback cb, void *user);
JN_API jn_status jn_trainer_set_batch_callback(jn_trainer *tr, jn_batch_callback cb, void *user);

/* Gradient hook, for data-parallel training by hand (a collective,
 * jn_trainer_set_collective below, does all of it) and other changes to
 * the update. jn_trainer_run calls it after every minibatch's
 * objective and gradient and before the optimizer step. On entry grad
 * (count = jn_net_param_count floats) and *value hold this process's mean
 * over its *batch_rows rows of the minibatch (the l2 term included once,
 * as jn_net_objective gives it). On return they must hold what the
 * optimizer is to use: for data parallelism the global mean
 *     g = sum_r m_r g_r / sum_r m_r,   value likewise,
 * with *batch_rows set to sum_r m_r (informational). The hook is called
 * on every step, also when this process's share is empty (*batch_rows 0,
 * grad zero, *value 0) and when its objective is not finite (so that every
 * process takes part in every reduction); a non-finite *value on return
 * ends the run with JN_ERR_DIVERGED. A status other than JN_OK ends the run
 * with that status (the hook keeps its own error details). NULL removes
 * the hook. */
typedef jn_status (*jn_gradient_hook)(float *grad, size_t count, double *value, size_t *batch_rows,
                                      void *user);
JN_API jn_status jn_trainer_set_gradient_hook(jn_trainer *tr, jn_gradient_hook hook, void *user);
/* Shard every minibatch over `size` processes, this one being `rank`: all
 * processes hold the same training set and seed, shuffle it alike, and
 * each takes its contiguous share of every global minibatch of
 * jn_trainer_set_batch_size rows (the first m % size ranks one row more
 * than the others). Noise and projection vectors are then drawn per
 * example from streams keyed by the seed, the epoch (noise) or step
 * (projections) and the example's index in the dataset, so 1, 2 or 4
 * processes with the same global batch draw the same numbers for every
 * example; these streams differ from the unsharded run's. size > 1 needs
 * a gradient hook that combines the shares. (0, 0), the default, turns
 * sharding off; (0, 1) is the single-process reference of a sharded run. */
JN_API jn_status jn_trainer_set_sharding(jn_trainer *tr, unsigned rank, unsigned size);
/* Collective operations of a run split over `size` processes, this one
 * being `rank` (libjacnet_mpi makes them of MPI_Allreduce and MPI_Bcast).
 * Every process calls each operation at the same point of its run, in the
 * same order. sum_floats and sum_doubles replace v[0..n) with the sum over
 * the processes of their v[0..n), the same bits on every process;
 * broadcast replaces buf[0..bytes) with process root's. A status other
 * than JN_OK ends the run with it on the process that got it: an operation
 * that fails must also end or release the others itself (MPI_Abort). The
 * layout of this struct is fixed (docs/ABI.md). */
typedef struct jn_collective {
    unsigned rank, size;
    jn_status (*sum_floats)(float *v, size_t n, void *user);
    jn_status (*sum_doubles)(double *v, size_t n, void *user);
    jn_status (*broadcast)(void *buf, size_t bytes, unsigned root, void *user);
} jn_collective;
/* Make jn_trainer_run one of ops->size processes of one data-parallel run
 * (ops is copied; NULL turns it off; rank < size and all three operations
 * required). Every process passes the same training and validation data,
 * network architecture, objective, optimizer and trainer settings; the
 * run then does everything a one-process run does, on every process,
 * from the same numbers: rank 0's parameters are broadcast at the start;
 * every minibatch is sharded as jn_trainer_set_sharding(tr, rank, size)
 * would (which must be left off); the gradient, the objective and its
 * terms and the training errors are summed over the processes, weighted by
 * their rows (then a gradient hook, if set, sees the global mean); each
 * process validates its contiguous share of `valid` and the scores are
 * summed; best parameters, patience, recovery and the epoch report follow
 * from those sums. The callbacks are called on every process, and a
 * nonzero return on any process stops all of them at the same point. After
 * every epoch the processes compare a hash of their parameters: a
 * difference ends the run with JN_ERR_DIVERGED. A failure one process
 * meets alone (an argument, memory, a checkpoint it cannot read, its
 * objective) ends the run on every process with the lowest failing rank's
 * status and message, "rank R: ...". Checkpoints are written by rank 0 and,
 * on resuming, read by every process, so the path must name one file that
 * every process sees (a file some processes see and others not:
 * JN_ERR_IO). With size 1 the run is the sharded (0, 1) one, bit for bit. */
JN_API jn_status jn_trainer_set_collective(jn_trainer *tr, const jn_collective *ops, void *user);
/* Checkpoints (docs/FORMAT.md): with a path, jn_trainer_run writes the whole
 * state of the run (parameters, best parameters and epoch, early-stopping
 * counter, optimizer state and learning rate, the three random streams,
 * epoch and step counters, the epoch's shuffle and position, recovery state)
 * atomically to `path` after every `every_epochs`-th epoch (0: never
 * periodically), when a callback stops the run (also mid-epoch), when the
 * run ends, and once at the start of a new run (so a bad path fails at
 * once, JN_ERR_IO). When `path` exists at the start of jn_trainer_run, the
 * run resumes from it instead: the network's parameters and the optimizer's
 * state are replaced by the checkpoint's, and the run continues exactly
 * where it stopped, bit for bit (with one thread: jn_set_threads). The epoch
 * count may be raised to continue a finished run; patience may change; the
 * callbacks are not called again for epochs already done. A checkpoint
 * written for another network architecture, objective settings, optimizer
 * (kind, creation lr, momentum, betas, eps, schedule), trainer seed or
 * batch size, or for other training or validation data (compared by size
 * and CRC-32), is refused with JN_ERR_INVALID naming the difference; a
 * truncated or damaged one with JN_ERR_FORMAT; neither changes the network,
 * the optimizer or the file. path NULL turns checkpoints off. */
JN_API jn_status jn_trainer_set_checkpoint(jn_trainer *tr, const char *path, unsigned every_epochs);
/* Blow-up recovery (off by default; factor 0 turns it off). The reference
 * level is the lowest mean minibatch objective of any epoch so far (before
 * the first epoch ends: the objective of the run's first minibatch), and the
 * snapshot is the parameters and optimizer state at the end of that epoch
 * (or at the start of the run). A blow-up is: the mean of the epoch's
 * minibatch objectives so far exceeding factor x reference, checked after
 * each minibatch once 10 of them and a tenth of the epoch are done (so one
 * unlucky minibatch cannot trigger it) and at the epoch's end; or a
 * non-finite objective, gradient or update. Then the network and the
 * optimizer go back to the snapshot, the learning rate (and SGD's velocity)
 * is multiplied by lr_scale (jn_optimizer_scale_lr), and the epoch starts
 * over with fresh shuffle and noise draws (the epoch count goes on). The
 * epoch report's `recoveries` counts them. After max_recoveries recoveries
 * in a run, the next blow-up ends it with JN_ERR_DIVERGED, the network
 * holding the snapshot's parameters. factor > 1 finite (or 0),
 * 0 < lr_scale <= 1. */
JN_API jn_status jn_trainer_set_recovery(jn_trainer *tr, double factor, double lr_scale,
                                         unsigned max_recoveries);
/* The settings, as jn_trainer_create and the setters left them. The
 * checkpoint's path is the trainer's (valid until the next
 * jn_trainer_set_checkpoint or jn_trainer_free; NULL: none) and
 * *every_epochs its interval; jn_trainer_recovery returns the factor (0:
 * off) with the rate scale and the most recoveries; jn_trainer_shard_size
 * returns the shard count (0: not sharded) with this process's rank. Output
 * pointers may be NULL. A NULL trainer reads as 0 (NULL for the path). */
JN_API unsigned jn_trainer_epochs(const jn_trainer *tr);
JN_API size_t jn_trainer_batch_size(const jn_trainer *tr);
JN_API unsigned jn_trainer_patience(const jn_trainer *tr);
JN_API uint64_t jn_trainer_seed(const jn_trainer *tr);
JN_API const char *jn_trainer_checkpoint(const jn_trainer *tr, unsigned *every_epochs);
JN_API double jn_trainer_recovery(const jn_trainer *tr, double *lr_scale, unsigned *max_recoveries);
JN_API unsigned jn_trainer_shard_size(const jn_trainer *tr, unsigned *rank);
/* Train net on `train` (valid may be NULL) with obj and opt. The targets
 * are one-hot labels, or the float targets of a dataset made by
 * jn_dataset_create_targets; validation then scores the mean loss instead
 * of the error rate (lower is better either way). Refuses (JN_ERR_INVALID)
 * a network whose weights are all zero: call jn_net_init first. Returns
 * JN_ERR_DIVERGED (network left at its last finite parameters) if a
 * minibatch objective becomes NaN/Inf (unless recovery is on). */
JN_API jn_status jn_trainer_run(jn_trainer *tr, jn_net *net, const jn_objective *obj,
                                jn_optimizer *opt, const jn_dataset *train,
                                const jn_dataset *valid);

#ifdef __cplusplus
}
#endif
#endif /* JACNET_H */
