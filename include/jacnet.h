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
 *  - A handle may be used by one thread at a time; distinct handles may be
 *    used concurrently. Functions taking a const handle never write through it.
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
#define JN_VERSION_MINOR 1
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

/* Number of threads libjacnet uses: the BLAS's threads for the GEMMs (1 or
 * 2 supported, up to what the BLAS allows), and as many of the library's own
 * for the elementwise and row-wise work around them (small networks stay on
 * one thread); process-wide, like the BLAS setting it changes.
 * JACNET_THREADS is read once, at first use, and a later call overrides it;
 * without either, the BLAS's default (OpenBLAS: every core). Random draws
 * never depend on the thread count, and the library's own threads change no
 * result bit; results differ between thread counts only through the BLAS's
 * summation order (measured: about 1e-7 of the largest gradient entry,
 * docs/PERFORMANCE.md). A BLAS without thread control accepts only n = 1. */
JN_API jn_status jn_set_threads(int n);

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
 * Parameters start at zero; call jn_net_init or jn_net_set_params. */
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
 * times 4 for sigmoid layers; biases 0. Same seed, same parameters. */
JN_API jn_status jn_net_init(jn_net *net, uint64_t seed);
/* F = network outputs for the n rows of X. */
JN_API jn_status jn_net_forward(jn_net *net, const float *X, size_t n, float *F);
/* Activations of hidden layer `layer` (1..layers-1) for the n rows of X, into
 * H (n x sizes[layer]); used for the report's activation histograms. */
JN_API jn_status jn_net_hidden(jn_net *net, const float *X, size_t n, size_t layer, float *H);
/* Index of the largest output of each row of X into labels (n values). */
JN_API jn_status jn_net_predict(jn_net *net, const float *X, size_t n, int32_t *labels);

/* Jacobian of the outputs with respect to the input, for every row of X:
 * J[i][k][j] = dF_k / dx_j at X[i]; J holds n x K x D floats. */
JN_API jn_status jn_net_jacobian(jn_net *net, const float *X, size_t n, float *J);
/* out[i] = ||J_F(X[i])||_F^2, without storing J. */
JN_API jn_status jn_net_jacobian_sqnorm(jn_net *net, const float *X, size_t n, float *out);

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
 * BF16 runs only where it pays: libjacnet built with oneDNN (make DNNL=1, or
 * found automatically) and a CPU with AMX-BF16 that the OS lets the process
 * use; JACNET_FORCE_BF16=1 in the environment also allows it wherever oneDNN
 * can multiply bfloat16 at all (e.g. AVX-512 BF16, slower than float32
 * there: for tests). Elsewhere BF16 falls back to FP32;
 * jn_objective_precision_used says which runs. Returns JN_ERR_INVALID for an
 * unknown value. */
typedef enum { JN_PRECISION_FP32, JN_PRECISION_BF16 } jn_precision;
JN_API jn_status jn_objective_set_precision(jn_objective *obj, jn_precision precision);
/* The precision the penalty's products run in when jn_net_objective (or the
 * trainer) is called with obj in this process: JN_PRECISION_BF16 only if BF16
 * was requested and is available as described above (the build, the CPU and
 * JACNET_FORCE_BF16, which is read at each call), else JN_PRECISION_FP32.
 * The answer is the same for every call with obj and a penalty; NULL gives
 * JN_PRECISION_FP32. */
JN_API jn_precision jn_objective_precision_used(const jn_objective *obj);
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
/* An MSE objective configured as `model`, with weight `lambda` (the l2 weight
 * for MLP_L2, the Jacobian weight for JACOB/NJ/NJ_BOTH; ignored otherwise)
 * and Gaussian noise standard deviation `std` (report: 0.1). */
JN_API jn_status jn_objective_create_model(jn_objective **out, jn_model model, double lambda,
                                           double std);

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
 * gamma >= 0 finite and period >= 1 are required for every schedule. */
JN_API jn_status jn_optimizer_set_schedule(jn_optimizer *opt, jn_schedule schedule,
                                           double gamma, unsigned long period);
/* The learning rate the next step will use (0 for NULL). */
JN_API double jn_optimizer_lr(const jn_optimizer *opt);
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
#define JN_LOAD_BINARIZE 1u  /* loaders: pixel -> 1 if intensity > 255/2 else 0 */

/* A dataset of count examples of dim features (count x dim, row-major) with
 * labels in [0, classes). Copies the arrays unless flags has
 * JN_DATASET_BORROW. Refuses NaN/Inf features and labels out of range. */
JN_API jn_status jn_dataset_create(jn_dataset **out, const float *features, const int32_t *labels,
                                   size_t count, size_t dim, size_t classes, unsigned flags);
JN_API void jn_dataset_free(jn_dataset *ds);
JN_API size_t jn_dataset_count(const jn_dataset *ds);
JN_API size_t jn_dataset_dim(const jn_dataset *ds);
JN_API size_t jn_dataset_classes(const jn_dataset *ds);
JN_API const float *jn_dataset_features(const jn_dataset *ds);
JN_API const int32_t *jn_dataset_labels(const jn_dataset *ds);
/* A copy of examples [start, start + count). */
JN_API jn_status jn_dataset_slice(jn_dataset **out, const jn_dataset *ds, size_t start,
                                  size_t count);
/* One-hot targets of the n examples idx[0..n) into Y (n x classes). idx NULL
 * means examples 0..n-1. */
JN_API jn_status jn_dataset_onehot(const jn_dataset *ds, const size_t *idx, size_t n, float *Y);
/* Features of the n examples idx[0..n) into X (n x dim). */
JN_API jn_status jn_dataset_gather(const jn_dataset *ds, const size_t *idx, size_t n, float *X);
/* A uniformly random permutation of 0..count-1 into perm (Fisher-Yates). */
JN_API jn_status jn_dataset_shuffle(const jn_dataset *ds, jn_rng *rng, size_t *perm);
/* Fraction of examples whose predicted class differs from the label. */
JN_API jn_status jn_net_error_rate(jn_net *net, const jn_dataset *ds, double *error);

/* Loaders (pixels scaled to [0,1]). On failure *out is NULL. */
/* IDX3 images + IDX1 labels (MNIST), raw or gzip-compressed. */
JN_API jn_status jn_dataset_load_idx(jn_dataset **out, const char *images_path,
                                     const char *labels_path, unsigned flags);
/* USPS as in "The Elements of Statistical Learning" (zip.train/zip.test,
 * raw or .gz): per line a label then 256 values in [-1, 1]. */
JN_API jn_status jn_dataset_load_usps(jn_dataset **out, const char *path);
/* CSV, label first then the features; an optional header line. raw or .gz. */
JN_API jn_status jn_dataset_load_csv(jn_dataset **out, const char *path, unsigned flags);

/* The report's splits (section 8). `dir` NULL means $JACNET_DATA, else ./data.
 * MNIST: dir/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; train =
 * the first 50000 training digits, valid = the last 10000, test = t10k.
 * USPS: dir/usps/zip.{train,test}[.gz]; valid = the last 2000 of the 7291
 * training digits. Any of train/valid/test may be NULL. */
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
    double valid_error;     /* classification error on the validation set, or -1 */
    double best_valid_error;
    unsigned best_epoch;
    double seconds;         /* wall time of the epoch */
    double lr;              /* learning rate at the end of the epoch */
} jn_epoch_report;

/* Return nonzero to stop training (jn_trainer_run then returns JN_ERR_STOPPED
 * after restoring the best parameters). */
typedef int (*jn_epoch_callback)(const jn_epoch_report *report, void *user);
/* Called after every minibatch: done and total minibatches of this epoch.
 * Return nonzero to stop at once (JN_ERR_STOPPED, as for the epoch
 * callback): an interrupted run need not wait for the end of an epoch. */
typedef int (*jn_batch_callback)(unsigned epoch, size_t done, size_t total, void *user);

/* Defaults: 10 epochs, batch 100, patience 0 (no early stopping), seed 1. */
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
/* Train net on `train` (valid may be NULL) with obj and opt. Returns
 * JN_ERR_DIVERGED (network left at its last finite parameters) if a
 * minibatch objective becomes NaN/Inf. */
JN_API jn_status jn_trainer_run(jn_trainer *tr, jn_net *net, const jn_objective *obj,
                                jn_optimizer *opt, const jn_dataset *train,
                                const jn_dataset *valid);

#ifdef __cplusplus
}
#endif
#endif /* JACNET_H */
