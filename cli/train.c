/* train.c - `jacnet train`: one of the report's models (or any MLP) on a
 * data set, with progress on a terminal, a JSON record of the run, the
 * selected (best-validation) model saved, and a clean stop on Ctrl-C. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

volatile int cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void train_config_defaults(train_config *c)
{
    memset(c, 0, sizeof *c);
    /* The recipe's defaults are the library's (jn_default_value), shared
     * with Python; the hidden width is written as text for --hidden, and
     * cli/sweep.c's single-valued axes are filled from these. */
    c->model = "nj";
    c->hidden_spec = "1000";
    c->lr = jn_default_value(JN_DEFAULT_LR);
    c->momentum = jn_default_value(JN_DEFAULT_MOMENTUM);
    c->lambda = NAN; /* required by the models that use it */
    c->noise_std = jn_default_value(JN_DEFAULT_NOISE_STD);
    c->epochs = (unsigned)jn_default_value(JN_DEFAULT_EPOCHS);
    c->patience = (unsigned)jn_default_value(JN_DEFAULT_PATIENCE);
    c->batch = (size_t)jn_default_value(JN_DEFAULT_BATCH);
    c->seed = (uint64_t)jn_default_value(JN_DEFAULT_SEED);
    c->checkpoint_every = 1;
    c->precision = "fp32";
    c->activation = "tanh"; /* the report's network */
    c->output = "sigmoid";
    c->loss = "mse";
    c->data.input_scale = "01";
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What the callbacks share: progress state and the epochs seen so far. */
typedef struct run_state {
    const train_config *c;
    int tty;
    double epoch_start, last_batch, last_draw; /* progress: when the epoch's timing began, the last batch, the last draw */
    unsigned progress_epoch, patience;          /* the epoch timed; patience when validating, else 0 */
    size_t epoch_first;                         /* batches done when the epoch's timing began */
    jn_epoch_report *reports;
    const jn_objective *obj; /* asked what precision ran, for every record written */
    const char *precision_used;
    double precision_ratio; /* measured float32 / bfloat16 time; 0: not measured */
    unsigned threads_used;  /* the count set for the run; 0: $JACNET_THREADS's */
    size_t n_reports, cap_reports;
    int out_of_memory;
    int resuming;           /* the checkpoint existed at the start */
    unsigned resumed_at;    /* first epoch this invocation ran when resumed, else 0 */
    double earlier_seconds; /* the earlier invocations' total seconds */
    int joined;             /* the earlier record's epochs are in reports */
    int started;            /* the trainer accepted the run (a batch or an epoch ran, or it ended cleanly) */
    int epoch_records;      /* write the record after every epoch (train --json; a sweep's point, on rank 0:
                               the others' records reach rank 0 when they end) */
    const size_t *sizes;    /* the network, for the record */
    size_t n_sizes;
    double t0;              /* when this invocation began */
} run_state;

static void format_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7) { snprintf(buf, size, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%02ld:%02ld", t / 60, t % 60);
}

/* The progress line on a terminal: the epoch's bar, examples per second,
 * the time left in the epoch and in the run. The run ends at --epochs at
 * the latest; with patience, at best epoch + patience unless a better epoch
 * comes, so the run's time left is shown as that range. */
static int on_batch(unsigned epoch, size_t done, size_t total, void *user)
{
    run_state *r = user;
    r->started = 1;
    if (cli_interrupted) return 1;
    if (!r->tty) return 0;
    double t = now_seconds();
    if (epoch != r->progress_epoch) {
        /* Timed from the previous batch (or the run's start): a resumed
         * epoch begins mid-way, at done > 1. */
        r->progress_epoch = epoch;
        r->epoch_start = r->last_batch;
        r->epoch_first = done - 1;
    }
    r->last_batch = t;
    if (t - r->last_draw < 0.2 && done != total) return 0;
    r->last_draw = t;
    double per_batch = done > r->epoch_first ? (t - r->epoch_start) / (double)(done - r->epoch_first) : -1;
    double per_epoch = per_batch * (double)total, left_epoch = per_batch * (double)(total - done);
    unsigned last = r->c->epochs; /* the last epoch the run can reach */
    const jn_epoch_report *prev = r->n_reports ? &r->reports[r->n_reports - 1] : NULL;
    if (prev && r->patience && prev->best_valid_error >= 0 && prev->best_epoch + r->patience < last)
        last = prev->best_epoch + r->patience;
    char eta_epoch[48], eta_run[48], eta_most[48], range[100] = "";
    format_duration(eta_epoch, sizeof eta_epoch, left_epoch);
    format_duration(eta_run, sizeof eta_run, per_batch < 0 ? -1 : left_epoch + (double)(last - epoch) * per_epoch);
    format_duration(eta_most, sizeof eta_most,
                    per_batch < 0 ? -1 : left_epoch + (double)(r->c->epochs - epoch) * per_epoch);
    if (last != r->c->epochs) snprintf(range, sizeof range, "%s-%s", eta_run, eta_most);
    else snprintf(range, sizeof range, "%s", eta_most);
    double rate = per_batch > 0 ? (double)r->c->batch / per_batch : 0;
    int width = 24, filled = (int)((double)width * (double)done / (double)total);
    char valid[32] = "";
    if (prev && prev->best_valid_error >= 0) snprintf(valid, sizeof valid, "  best valid %.2f%%", 100.0 * prev->best_valid_error);
    fprintf(stderr, "\r\033[Kepoch %u/%u [%.*s%*s] %zu/%zu  %.0f ex/s  epoch ETA %s  run ETA %s%s", epoch,
            r->c->epochs, filled, "########################", width - filled, "", done, total, rate, eta_epoch, range,
            valid);
    return 0;
}

static int join_earlier_record(const train_config *c, run_state *r);
static int write_record(const train_config *c, const run_state *r, const size_t *sizes, size_t n_sizes,
                        const char *status, double test_error, double total_seconds);

/* What ran so far: the library knows it from the first step on, so a
 * record written mid-run says it too (it said "fp32" until the end). */
static void note_precision(run_state *r)
{
    if (!r->obj) return;
    r->precision_used = jn_objective_precision_used(r->obj) == JN_PRECISION_BF16 ? "bf16" : "fp32";
    r->precision_ratio = jn_objective_precision_ratio(r->obj);
}

static int on_epoch(const jn_epoch_report *rep, void *user)
{
    run_state *r = user;
    if (r->n_reports == r->cap_reports) {
        size_t cap = r->cap_reports ? 2 * r->cap_reports : 64;
        jn_epoch_report *grown = realloc(r->reports, cap * sizeof *grown);
        if (!grown) { r->out_of_memory = 1; return 1; }
        r->reports = grown;
        r->cap_reports = cap;
    }
    r->reports[r->n_reports++] = *rep;
    r->started = 1;
    /* The record after every epoch, so a run killed (SIGKILL, a lost
     * machine) leaves one up to its last epoch; written atomically. A
     * resumed run joins the earlier record first, before overwriting it. */
    if (r->epoch_records) {
        if (join_earlier_record(r->c, r) != 0) { r->out_of_memory = 1; return 1; }
        note_precision(r);
        if (write_record(r->c, r, r->sizes, r->n_sizes, "running", NAN, r->earlier_seconds + now_seconds() - r->t0))
            r->epoch_records = 0; /* said once; the final write reports it again */
    }
    if (r->tty) fprintf(stderr, "\r\033[K");
    if (!r->c->quiet) {
        printf("epoch %3u  objective %.5f (loss %.5f + penalty %.5f)", rep->epoch, rep->train_objective,
               rep->train_loss, rep->train_penalty);
        if (rep->train_jacobian_sqnorm >= 0) printf("  ||J||^2 %.4g", rep->train_jacobian_sqnorm);
        if (rep->train_error >= 0) printf("  train %5.2f%%", 100.0 * rep->train_error);
        if (rep->recoveries) printf("  RECOVERED x%u", rep->recoveries);
        if (rep->valid_error >= 0)
            printf("  valid %6.2f%%  best %6.2f%% (epoch %u)", 100.0 * rep->valid_error, 100.0 * rep->best_valid_error,
                   rep->best_epoch);
        printf("  lr %.4g  %.1f s\n", rep->lr, rep->seconds);
        fflush(stdout);
    }
    return cli_interrupted;
}

static void write_config(json_out *j, const train_config *c)
{
    json_key(j, "config");
    json_open(j, '{');
    json_str(j, "dataset", c->data.dataset);
    json_str(j, "train", c->data.train);
    json_str(j, "valid", c->data.valid);
    json_str(j, "test", c->data.test);
    json_num(j, "valid_fraction", c->data.valid_fraction);
    json_str(j, "model", c->model);
    json_str(j, "hidden", c->hidden_spec);
    json_str(j, "activation", c->activation);
    json_str(j, "output", c->output);
    json_str(j, "loss", c->loss);
    json_str(j, "input_scale", c->data.input_scale);
    json_num(j, "lr", c->lr);
    json_num(j, "lr_decay", c->lr_decay);
    json_num(j, "momentum", c->momentum);
    json_num(j, "lambda", isnan(c->lambda) ? 0.0 : c->lambda);
    json_num(j, "noise_std", c->noise_std);
    json_int(j, "epochs", c->epochs);
    json_int(j, "patience", c->patience);
    json_int(j, "batch", (long long)c->batch);
    json_int(j, "projections", c->projections);
    json_int(j, "threads", c->threads);
    json_int(j, "seed", (long long)c->seed);
    json_str(j, "precision", c->precision);
    json_int(j, "recovery", c->recovery);
    json_str(j, "checkpoint", c->checkpoint);
    json_close(j, '}');
}

/* A resumed run's record lists the whole run: the epochs before the
 * checkpoint come from the record the earlier invocation wrote. */
static int join_earlier_record(const train_config *c, run_state *r)
{
    if (!r->resuming || !c->json || r->joined) return 0;
    r->joined = 1;
    /* Stopped again before a whole epoch: keep every earlier epoch. */
    r->resumed_at = r->n_reports ? r->reports[0].epoch : 0;
    jn_epoch_report *earlier;
    size_t n;
    if (record_earlier_epochs(c->json, c->checkpoint, r->resumed_at, &earlier, &n, &r->earlier_seconds)) return -1;
    if (!n) return 0;
    if (!r->resumed_at) r->resumed_at = (unsigned)n + 1;
    jn_epoch_report *all = realloc(earlier, (n + r->n_reports) * sizeof *all);
    if (!all) { free(earlier); return -1; }
    memcpy(all + n, r->reports, r->n_reports * sizeof *all);
    free(r->reports);
    r->reports = all;
    r->n_reports += n;
    r->cap_reports = r->n_reports;
    return 0;
}

static int write_record(const train_config *c, const run_state *r, const size_t *sizes, size_t n_sizes,
                        const char *status, double test_error, double total_seconds)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    json_out j;
    json_begin(&j, f);
    json_open(&j, '{');
    json_str(&j, "tool", "jacnet train");
    json_str(&j, "command", c->command_line);
    json_str(&j, "library_version", jn_version_string());
    write_config(&j, c);
    json_int(&j, "seed", (long long)c->seed);
    json_key(&j, "sizes");
    fputc('[', f);
    for (size_t i = 0; i < n_sizes; i++) fprintf(f, "%s%zu", i ? ", " : "", sizes[i]);
    fputc(']', f);
    json_key(&j, "epochs");
    json_open(&j, '[');
    for (size_t i = 0; i < r->n_reports; i++) {
        const jn_epoch_report *e = &r->reports[i];
        json_key(&j, NULL);
        json_open(&j, '{');
        json_int(&j, "epoch", e->epoch);
        json_num(&j, "train_objective", e->train_objective);
        json_num(&j, "train_loss", e->train_loss);
        json_num(&j, "train_penalty", e->train_penalty);
        json_num(&j, "train_jacobian_sqnorm", e->train_jacobian_sqnorm >= 0 ? e->train_jacobian_sqnorm : NAN);
        json_num(&j, "train_error", e->train_error >= 0 ? e->train_error : NAN);
        json_int(&j, "recoveries", e->recoveries);
        json_num(&j, "valid_error", e->valid_error >= 0 ? e->valid_error : NAN);
        json_num(&j, "lr", e->lr);
        json_num(&j, "seconds", e->seconds);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    const jn_epoch_report *last = r->n_reports ? &r->reports[r->n_reports - 1] : NULL;
    json_str(&j, "status", status);
    /* A sweep skips a point whose record is complete (finished or diverged). */
    json_int(&j, "complete", !strcmp(status, "finished") || !strcmp(status, "diverged"));
    json_int(&j, "epochs_run", (long long)r->n_reports);
    /* 1, or later when a resumed run found no earlier record to join. */
    json_int(&j, "first_epoch", r->n_reports ? r->reports[0].epoch : 0);
    json_int(&j, "resumed_at_epoch", r->resumed_at);
    json_str(&j, "precision_used", r->precision_used);
    json_num(&j, "precision_ratio", r->precision_ratio > 0 ? r->precision_ratio : NAN);
    if (r->threads_used) json_int(&j, "threads_used", r->threads_used);
    else json_num(&j, "threads_used", NAN); /* JACNET_THREADS: read by the library */
    /* Bit-for-bit comparisons hold only between runs on one BLAS kernel. */
    json_str(&j, "blas_kernel", jn_blas_kernel());
    long long recoveries = 0;
    for (size_t i = 0; i < r->n_reports; i++) recoveries += r->reports[i].recoveries;
    json_int(&j, "recoveries", recoveries);
    json_int(&j, "best_epoch", last ? last->best_epoch : 0);
    json_num(&j, "best_valid_error", last && last->best_valid_error >= 0 ? last->best_valid_error : NAN);
    json_num(&j, "test_error", test_error);
    json_num(&j, "total_seconds", total_seconds);
    json_close(&j, '}');
    fclose(f);
    /* The final record goes to the caller (sweep) when it asks, which writes
     * it (rank 0 under --mpi); the records of every epoch go to the file. */
    if (c->record_text && strcmp(status, "running")) {
        *c->record_text = text;
        return 0;
    }
    int rc = write_file_atomic(c->json, text, len);
    free(text);
    return rc;
}

#define TRY(call)                                                                              \
    do {                                                                                       \
        jn_status st_ = (call);                                                                \
        if (st_ != JN_OK) {                                                                    \
            fprintf(stderr, "jacnet train: %s\n", cli_plain_error(cli_error(st_)));            \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

/* Can the run write `path`? Records, models and checkpoints are all written
 * as a temporary file beside path and renamed over it, so its directory
 * must take a new file and path must not be a directory. Checked before the
 * data are read, so that a typo costs no training. */
int check_output(const char *option, const char *path)
{
    struct stat sb;
    if (!path) return 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "jacnet train: --%s %s: is a directory, not a file\n", option, path);
        return EXIT_USAGE;
    }
    size_t len = strlen(path) + 32;
    char *probe = malloc(len);
    if (!probe) return EXIT_RUN;
    snprintf(probe, len, "%s.probe%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600), err = errno;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }
    free(probe);
    if (fd < 0 && err != EEXIST) {
        fprintf(stderr, "jacnet train: --%s %s: cannot write there: %s\n", option, path, strerror(err));
        return EXIT_USAGE;
    }
    return 0;
}

/* Given files must fit the network made from --train: the same width, and
 * no label it has no output for. (--dataset's splits and --valid-fraction's
 * share always do.) Frees the data on a refusal, as data_load does. */
int check_data(const char *command, const train_config *c, data_sets *d)
{
    const struct { const char *option, *file; const jn_dataset *ds; } sets[] = {
        {"valid", c->data.valid, d->valid}, {"test", c->data.test, d->test}};
    size_t dim = jn_dataset_dim(d->train), classes = jn_dataset_classes(d->train);
    for (size_t i = 0; i < 2; i++) {
        if (!sets[i].file || !sets[i].ds) continue;
        size_t n = jn_dataset_dim(sets[i].ds), k = jn_dataset_classes(sets[i].ds);
        if (n != dim)
            fprintf(stderr, "jacnet %s: --%s %s: %zu features, the network takes %zu (the width of --train %s)\n",
                    command, sets[i].option, sets[i].file, n, dim, c->data.train);
        else if (k > classes)
            fprintf(stderr, "jacnet %s: --%s %s: labels up to %zu, the network has %zu outputs (the classes of "
                    "--train %s)\n", command, sets[i].option, sets[i].file, k - 1, classes, c->data.train);
        else
            continue;
        data_free(d);
        return EXIT_USAGE;
    }
    return 0;
}

int train_run(const train_config *c, double *valid_error, double *test_error)
{
    if (valid_error) *valid_error = -1;
    if (test_error) *test_error = -1;
    jn_model model; /* the names are the library's (jn_model_from_name) */
    if (jn_model_from_name(c->model, &model) != JN_OK) return usage_error("train", "--model: %s", jn_last_error());
    const int uses_lambda = (jn_model_uses(model) & JN_USES_LAMBDA) != 0;
    const int uses_noise = (jn_model_uses(model) & JN_USES_NOISE) != 0;
    if (uses_lambda && !(c->lambda >= 0))
        return usage_error("train", "--model %s needs --lambda (its penalty weight)", c->model);
    if (strcmp(c->precision, "fp32") && strcmp(c->precision, "bf16") && strcmp(c->precision, "auto"))
        return usage_error("train", "--precision '%s': fp32, bf16 or auto", c->precision);
    jn_act hidden_act, output_act;
    jn_loss loss;
    int arch_rc = arch_check("train", c, &hidden_act, &output_act, &loss);
    if (arch_rc) return arch_rc;
    size_t sizes[10], n_hidden;
    if (parse_hidden(c->hidden_spec, sizes + 1, &n_hidden))
        return usage_error("train", "--hidden '%s': widths like 1000 or 1000,500 (1 to 8 layers)", c->hidden_spec);

    data_sets data = {0};
    int rc = 0;
    if (!c->record_text) rc = check_output("json", c->json); /* else the caller (sweep) writes the record */
    if (!rc) rc = check_output("save", c->save);
    if (!rc) rc = check_output("checkpoint", c->checkpoint);
    if (!rc) rc = c->loaded ? (data = *c->loaded, 0) : data_load(&c->data, !c->no_test, &data);
    if (!rc && !c->loaded) rc = check_data("train", c, &data);
    if (c->mpi) rc = mpi_agree_load("train", rc, &data);
    if (rc) return rc;
    jn_net *net = NULL;
    jn_objective *obj = NULL;
    jn_optimizer *opt = NULL;
    jn_trainer *tr = NULL;
    run_state r = {.c = c, .tty = !c->quiet && isatty(STDERR_FILENO), .t0 = now_seconds(), .sizes = sizes,
                   .n_sizes = n_hidden + 2, .epoch_records = c->json && (!c->record_text || mpi_rank() == 0)};
    const char *status = "failed", *status_ok;
    double test = NAN;
    rc = EXIT_RUN;

    r.threads_used = cli_threads(c->threads);
    if (r.threads_used) TRY(jn_set_threads((int)r.threads_used));
    sizes[0] = jn_dataset_dim(data.train);
    sizes[n_hidden + 1] = jn_dataset_classes(data.train);
    size_t n_sizes = n_hidden + 2;
    TRY(jn_net_create(&net, sizes, n_sizes, hidden_act, output_act));
    TRY(jn_net_init(net, c->seed));
    TRY(jn_objective_create_model(&obj, model, uses_lambda ? c->lambda : 0.0, c->noise_std));
    TRY(jn_objective_set_loss(obj, loss)); /* the preset is MSE; --loss may say otherwise */
    if (c->projections && uses_lambda && model != JN_MODEL_MLP_L2)
        TRY(jn_objective_set_jacobian(obj, c->lambda, c->projections));
    if (!strcmp(c->precision, "bf16")) TRY(jn_objective_set_precision(obj, JN_PRECISION_BF16));
    if (!strcmp(c->precision, "auto")) TRY(jn_objective_set_precision(obj, JN_PRECISION_AUTO));
    r.precision_used = "fp32"; /* until the first step: the library measures what runs */
    r.obj = obj;
    TRY(jn_optimizer_create_sgd(&opt, c->lr, c->momentum));
    size_t n_train = jn_dataset_count(data.train);
    unsigned long batches = (unsigned long)((n_train + c->batch - 1) / c->batch);
    /* --lr-decay g: lr / (1 + g t) with t counted in epochs (minibatch steps / batches per epoch). */
    if (c->lr_decay > 0) TRY(jn_optimizer_set_schedule(opt, JN_SCHEDULE_INVERSE, c->lr_decay, batches));
    TRY(jn_trainer_create(&tr));
    TRY(jn_trainer_set_epochs(tr, c->epochs));
    TRY(jn_trainer_set_batch_size(tr, c->batch));
    TRY(jn_trainer_set_patience(tr, data.valid ? c->patience : 0));
    TRY(jn_trainer_set_seed(tr, c->seed));
    TRY(jn_trainer_set_epoch_callback(tr, on_epoch, &r));
    TRY(jn_trainer_set_batch_callback(tr, on_batch, &r));
    /* Recovery: back to the best epoch's state with half the learning rate
     * when an epoch's mean objective passes 3 times the lowest so far. */
    if (c->recovery) TRY(jn_trainer_set_recovery(tr, 3.0, 0.5, 10));
    if (c->checkpoint) {
        r.resuming = access(c->checkpoint, F_OK) == 0;
        if (!c->quiet && r.resuming) printf("resuming from %s\n", c->checkpoint);
        TRY(jn_trainer_set_checkpoint(tr, c->checkpoint, c->checkpoint_every));
    }

    if (!c->quiet) {
        printf("%s: %zu train / %zu valid / %zu test, network", data.name, n_train,
               data.valid ? jn_dataset_count(data.valid) : 0, data.test ? jn_dataset_count(data.test) : 0);
        for (size_t i = 0; i < n_sizes; i++) printf("%s%zu", i ? "-" : " ", sizes[i]);
        printf(", model %s", c->model);
        char num[32];
        if (uses_lambda) printf(", lambda %s", cli_num(num, c->lambda));
        if (uses_noise) printf(", noise std %s", cli_num(num, c->noise_std));
        printf(", lr %s, batch %zu, seed %llu\n", cli_num(num, c->lr), c->batch, (unsigned long long)c->seed);
        fflush(stdout);
    }
    r.last_batch = now_seconds();
    r.patience = data.valid ? c->patience : 0;
    jn_status st = c->mpi ? mpi_train(c, tr, net, obj, opt, data.train, data.valid, on_epoch, &r)
                          : jn_trainer_run(tr, net, obj, opt, data.train, data.valid);
    if (r.tty) fprintf(stderr, "\r\033[K");
    /* A run that ends cleanly was accepted even if nothing was left to run
     * (a finished run resumed); a refusal (a checkpoint of another run) ran
     * no minibatch and leaves started 0, so an existing record is kept. */
    if (st == JN_OK || st == JN_ERR_STOPPED || st == JN_ERR_DIVERGED) r.started = 1;
    if (r.out_of_memory) {
        fprintf(stderr, "jacnet train: out of memory recording the epochs\n");
        goto done;
    }
    if (st == JN_ERR_STOPPED) {
        status = "stopped";
        fprintf(stderr, "jacnet train: stopped; keeping the best parameters so far\n");
    } else if (st == JN_ERR_DIVERGED) {
        status = "diverged";
        fprintf(stderr, "jacnet train: %s\n", cli_plain_error(cli_error(st)));
    } else if ((st == JN_ERR_FORMAT || st == JN_ERR_INVALID) && r.resuming && !r.started) {
        /* The checkpoint was refused (damaged, or another run's): say how
         * to go on, since the file is left as it is. */
        fprintf(stderr, "jacnet train: --checkpoint %s: %s; %sdelete it (or give another --checkpoint) to start afresh\n",
                c->checkpoint, cli_plain_error(cli_error(st)),
                st == JN_ERR_INVALID ? "resume with the options the run was started with, or " : "");
        goto done;
    } else {
        TRY(st);
        status = "finished";
    }
    if (r.n_reports && valid_error) *valid_error = r.reports[r.n_reports - 1].best_valid_error;
    /* The model first: whatever fails after it, the training is not lost.
     * A step failing after the run makes the record "failed" (not complete),
     * so a sweep trains the point again. */
    status_ok = status;
    status = "failed";
    if (c->save) TRY(jn_net_save(net, c->save));
    if (data.test && st != JN_ERR_DIVERGED) {
        TRY(jn_net_error_rate(net, data.test, &test));
        if (test_error) *test_error = test;
        printf("test error: %.2f%%\n", 100.0 * test); /* the result: --quiet too */
    }
    status = status_ok;
    rc = st == JN_OK ? 0 : EXIT_RUN;
done:
    if (obj) {
        note_precision(&r);
        if (strcmp(c->precision, "fp32") && !c->quiet && r.precision_ratio > 0)
            printf("precision: %s asked, %s ran (bfloat16 measured %.2fx as fast as float32)\n", c->precision,
                   r.precision_used, r.precision_ratio);
        else if (strcmp(c->precision, "fp32") && !c->quiet)
            printf("precision: %s asked, %s ran (not measured: no oneDNN bfloat16 here, or JACNET_FORCE_BF16)\n",
                   c->precision, r.precision_used);
    }
    /* No record for a run that never started: the refused or failed start
     * leaves whatever record is there (a finished run's) untouched. */
    if (c->json && r.started && join_earlier_record(c, &r) != 0) {
        fprintf(stderr, "jacnet train: out of memory joining the earlier record\n");
        rc = EXIT_RUN;
    }
    if (c->json && r.started &&
        write_record(c, &r, sizes, n_hidden + 2, status, test, r.earlier_seconds + now_seconds() - r.t0) != 0)
        rc = EXIT_RUN;
    free(r.reports);
    jn_trainer_free(tr);
    jn_optimizer_free(opt);
    jn_objective_free(obj);
    jn_net_free(net);
    if (!c->loaded) data_free(&data);
    return rc;
}

/* The options of `jacnet train` (sweep has its own list-valued ones). */
static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 3;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    for (int i = 0; i < argc; i++) {
        int quote = strpbrk(argv[i], " \t\"'") != NULL;
        p += sprintf(p, "%s%s%s%s", i ? " " : "", quote ? "'" : "", argv[i], quote ? "'" : "");
    }
    *p = '\0';
    return s;
}

int cmd_train(int argc, char **argv)
{
    train_config c;
    train_config_defaults(&c);
    const char *plot = NULL;
    /* The presets' names come from the library (jn_model_name). */
    char model_help[160], lambda_help[160], noise_help[160];
    snprintf(model_help, sizeof model_help, "one of %s", cli_model_names(0));
    snprintf(lambda_help, sizeof lambda_help, "penalty weight of %s: l2 for l2, ||J||^2 for the others (required by those)",
             cli_model_names(JN_USES_LAMBDA));
    snprintf(noise_help, sizeof noise_help, "Gaussian noise std for %s", cli_model_names(JN_USES_NOISE));
    const opt_spec specs[] = {
        {"dataset", OPT_STRING, &c.data.dataset, "NAME", "mnist, mnist-binary or usps (the report's splits)", 0, 0},
        {"data-dir", OPT_STRING, &c.data.data_dir, "DIR", "where --dataset lives (else $JACNET_DATA, else ./data)", 0, 0},
        {"train", OPT_STRING, &c.data.train, "FILE", "training data: IMAGES,LABELS (IDX), *.csv[.gz] or USPS file", 0, 0},
        {"valid", OPT_STRING, &c.data.valid, "FILE", "validation data, same forms as --train", 0, 0},
        {"test", OPT_STRING, &c.data.test, "FILE", "test data, same forms as --train", 0, 0},
        {"valid-fraction", OPT_DOUBLE, &c.data.valid_fraction, "F", "without --valid: the last F of --train validates", 0, 0.99},
        {"model", OPT_STRING, &c.model, "NAME", model_help, 0, 0},
        {"hidden", OPT_STRING, &c.hidden_spec, "H[,H2..]", "hidden layer widths", 0, 0},
        {"activation", OPT_STRING, &c.activation, "A", "hidden units: tanh, relu or sigmoid", 0, 0},
        {"output", OPT_STRING, &c.output, "A", "output units: sigmoid, softmax or linear", 0, 0},
        {"loss", OPT_STRING, &c.loss, "L", "mse (squared error) or ce (cross-entropy; needs --output softmax)", 0, 0},
        {"input-scale", OPT_STRING, &c.data.input_scale, "S", "01: features as loaded, in [0, 1]; pm1: mapped to [-1, 1] (USPS's own scale)", 0, 0},
        {"lr", OPT_DOUBLE, &c.lr, "LR", "SGD learning rate", 1e-12, 1e6},
        {"lr-decay", OPT_DOUBLE, &c.lr_decay, "G", "learning rate lr / (1 + G * epochs done)", 0, 1e6},
        {"momentum", OPT_DOUBLE, &c.momentum, "M", "SGD momentum", 0, 0.999999},
        {"epochs", OPT_UINT, &c.epochs, "N", "most epochs", 1, 1000000},
        {"patience", OPT_UINT, &c.patience, "N", "stop after N epochs without a better validation error (0: never)", 0, 1000000},
        {"batch", OPT_SIZE, &c.batch, "B", "minibatch size", 1, 1 << 20},
        {"lambda", OPT_DOUBLE, &c.lambda, "L", lambda_help, 0, 1e9},
        {"noise-std", OPT_DOUBLE, &c.noise_std, "S", noise_help, 0, 1e3},
        {"projections", OPT_UINT, &c.projections, "K", "0: exact penalty; K: random-projection estimate", 0, 100000},
        {"seed", OPT_U64, &c.seed, "S", "seed of the initial weights, shuffling and noise", 0, 1.8e19},
        {"threads", OPT_UINT, &c.threads, "T", "threads (BLAS held at 1; the library splits the products; 0: $JACNET_THREADS, else every CPU); same bits at any count on one BLAS kernel", 0, 256},
        {"save", OPT_STRING, &c.save, "FILE", "save the selected (best-validation) model", 0, 0},
        {"json", OPT_STRING, &c.json, "FILE", "write a JSON record of the run", 0, 0},
        {"checkpoint", OPT_STRING, &c.checkpoint, "FILE", "save the run's state there; resume from it when it exists", 0, 0},
        {"checkpoint-every", OPT_UINT, &c.checkpoint_every, "N", "checkpoint every N epochs (also on Ctrl-C and at the end)", 0, 1000000},
        {"recovery", OPT_FLAG, &c.recovery, NULL, "on a blow-up, go back to the best epoch with half the learning rate", 0, 0},
        {"precision", OPT_STRING, &c.precision, "P", "fp32, or bf16 / auto: the penalty's products in bfloat16 where measured faster (oneDNN)", 0, 0},
        {"plot", OPT_STRING, &plot, "PNG", "draw the learning curves of the --json record (python3 -m jacnet.plot)", 0, 0},
        {"no-test", OPT_FLAG, &c.no_test, NULL, "do not evaluate the test set (model selection runs)", 0, 0},
        {"quiet", OPT_FLAG, &c.quiet, NULL, "no progress output", 0, 0},
        {"mpi", OPT_FLAG, &c.mpi, NULL, "data-parallel over the ranks of mpirun; --batch is the global batch", 0, 0},
        {0},
    };
    const char *pos[1];
    size_t n_pos;
    if (mpi_start("train", argc, argv)) return EXIT_USAGE;
    int rc = parse_options("train", "[options]  (--dataset NAME | --train FILE [--valid FILE] [--test FILE])", specs,
                           argc, argv, 2, pos, 0, &n_pos);
    if (rc) return rc < 0 ? 0 : rc;
    if (c.data.dataset && (c.data.train || c.data.valid || c.data.test))
        return usage_error("train", "give either --dataset or --train/--valid/--test, not both");
    if (plot && !c.json) return usage_error("train", "--plot draws the --json record: give --json FILE too");
    /* Refused rather than forking interpreters on every rank of an MPI job. */
    if (plot && c.mpi)
        return usage_error("train", "--plot is not available with --mpi: draw the record with python3 -m jacnet.plot");
    /* The interpreter and the picture's path before training, not after. */
    const char *python = NULL;
    if (plot && (rc = check_output("plot", plot)) != 0) return rc;
    if (plot && !(python = plot_python())) return EXIT_USAGE;
    if (c.mpi) mpi_train_config(&c);
    char *cmdline = join_args(argc, argv);
    c.command_line = cmdline;
    cli_install_signal_handlers();
    rc = train_run(&c, NULL, NULL);
    if (plot && access(c.json, F_OK) == 0 && plot_record(python, c.json, plot) != 0 && rc == 0) rc = EXIT_RUN;
    if (c.mpi) rc = mpi_train_finish(rc);
    free(cmdline);
    if (cli_interrupted && rc == EXIT_RUN) rc = 130;
    return rc;
}
