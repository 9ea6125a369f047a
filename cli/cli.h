/* cli.h - the `jacnet` command-line tool: shared declarations. The tool uses
 * only the public API (jacnet.h); every subcommand is one file. */
#ifndef JACNET_CLI_H
#define JACNET_CLI_H

#include <jacnet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses: 0 success, 1 a failure while running, 2 bad usage. */
enum { EXIT_RUN = 1, EXIT_USAGE = 2 };

/* ---- options (args.c) ---- */
typedef enum { OPT_FLAG, OPT_STRING, OPT_DOUBLE, OPT_UINT, OPT_SIZE, OPT_U64 } opt_kind;

/* One command-line option. `value` points at the field it fills; for list
 * options (sweep) the string is kept and split later. min/max bound numbers. */
typedef struct opt_spec {
    const char *name; /* without the leading "--" */
    opt_kind kind;
    void *value;
    const char *arg;  /* placeholder shown in --help, e.g. "N" */
    const char *help;
    double min, max;
} opt_spec;

/* Parse argv[first..argc) against specs; positional arguments go to
 * positional[0..max_positional). Prints a one-line message and returns
 * EXIT_USAGE on any error, -1 after printing help, 0 on success. */
int parse_options(const char *command, const char *synopsis, const opt_spec *specs, int argc, char **argv,
                  int first, const char **positional, size_t max_positional, size_t *n_positional);
/* Strict conversions: the whole string must be one finite number. */
int parse_double(const char *s, double *out);
int parse_u64(const char *s, uint64_t *out);
/* "0,0.1,0.2": at most max comma-separated numbers >= 0 into out; the
 * count, or -1 for anything else. */
int parse_list(const char *s, double *out, int max);
/* "1000", "1000,500" or "1000x500": hidden widths (1..8 layers). */
int parse_hidden(const char *s, size_t *widths, size_t *count);
/* Print "jacnet CMD: message" to stderr; returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...);
/* v in the fewest digits that read back as v: as the user wrote it
 * (0.1, 0.123456789), where %g would round and %.17g add noise. */
const char *cli_num(char buf[32], double v);
/* A library message without its function name ("jn_trainer_run: ..."):
 * users name files and options, not C functions. */
const char *cli_plain_error(const char *message);
/* --threads T, else 0 if JACNET_THREADS is set, else the online CPUs. */
unsigned cli_threads(unsigned requested);
/* The presets' names (flag 0) or those using every bit of flag
 * (JN_USES_LAMBDA, JN_USES_NOISE), ", "-separated, from the library. */
const char *cli_model_names(unsigned flag);

/* ---- data sets (data.c) ---- */
typedef struct data_spec {
    const char *dataset;  /* mnist, mnist-binary, usps or NULL */
    const char *data_dir; /* --data-dir, else $JACNET_DATA, else ./data */
    const char *train, *valid, *test;
    double valid_fraction;
    const char *input_scale; /* --input-scale: NULL or "01" as loaded, "pm1" [0, 1] -> [-1, 1] */
} data_spec;

typedef struct data_sets {
    jn_dataset *train, *valid, *test;
    char name[64];
} data_sets;

/* Load what `spec` names, features mapped by spec->input_scale; test is
 * loaded only if want_test. Prints the error and returns nonzero on failure
 * (sets freed). */
int data_load(const data_spec *spec, int want_test, data_sets *out);
/* Nonzero (message printed) unless `scale` is NULL, "01" or "pm1". */
int data_check_scale(const char *command, const char *scale);
void data_free(data_sets *sets);

/* ---- training (train.c) ---- */
typedef struct train_config {
    data_spec data;
    const char *model;
    const char *hidden_spec;
    double lr, lr_decay, momentum, lambda, noise_std;
    unsigned epochs, patience, projections, threads, checkpoint_every;
    size_t batch;
    uint64_t seed;
    const char *save, *checkpoint, *json, *command_line, *precision;
    const char *activation, *output, *loss; /* --activation (hidden), --output, --loss (arch.c) */
    int no_test, quiet, recovery;
    int mpi;                 /* --mpi: data-parallel over the job's ranks (mpi.c) */
    const data_sets *loaded; /* data already loaded (sweep): used instead of loading `data` */
    char **record_text;      /* with json: the final record's text goes here (caller frees), not to the file;
                                the records after each epoch still go to the file (on rank 0) */
} train_config;

void train_config_defaults(train_config *c);
/* Train one model as configured; writes the record and model when asked.
 * Returns 0, EXIT_RUN or EXIT_USAGE. *valid_error / *test_error (may be
 * NULL) receive the results (-1 when not measured). */
int train_run(const train_config *c, double *valid_error, double *test_error);
/* Cancel flag set by SIGINT / SIGTERM; the running training stops cleanly. */
extern volatile int cli_interrupted;
void cli_install_signal_handlers(void);

/* Can the run write a file at path (given as --option)? Prints why not and
 * returns EXIT_USAGE; 0 when it can. */
int check_output(const char *option, const char *path);

/* Do the --valid/--test files of c fit the network made from --train
 * (width, labels)? Prints why not, frees d and returns EXIT_USAGE. */
int check_data(const char *command, const train_config *c, data_sets *d);

/* ---- train --plot (plot.c) ---- */
/* The python3 that can draw (numpy, matplotlib, jacnet.plot): $JACNET_PYTHON
 * when set, else the install's, else PATH's; NULL (message printed) if none. */
const char *plot_python(void);
/* python -m jacnet.plot record -o png; 0, or EXIT_RUN (message printed). */
int plot_record(const char *python, const char *record, const char *png);

/* ---- architecture and loss (arch.c) ---- */
/* Check c's --activation, --output, --loss and --input-scale by name and in
 * combination; prints one line and returns EXIT_USAGE when refused, else 0
 * with the library's values. */
int arch_check(const char *command, const train_config *c, jn_act *hidden, jn_act *output, jn_loss *loss);

/* ---- JSON records (json.c) ---- */
typedef struct json_out {
    FILE *f;
    int depth, first[16];
} json_out;
void json_begin(json_out *j, FILE *f);
void json_key(json_out *j, const char *key);
void json_open(json_out *j, char bracket);  /* '{' or '[' */
void json_close(json_out *j, char bracket); /* '}' or ']' */
void json_str(json_out *j, const char *key, const char *value);
void json_num(json_out *j, const char *key, double value); /* non-finite -> null */
void json_int(json_out *j, const char *key, long long value);
/* A whole record file, NUL-terminated (the caller frees it); NULL if it
 * cannot be read. */
char *json_read_text(const char *path);
/* A top-level number field `"key": value` of a record's text; nonzero if
 * absent (or null). */
int json_text_number(const char *text, const char *key, double *out);
/* A resumed run (resume.c): the epochs 1..first-1 of the earlier record at
 * `path` when it is a record of the run checkpointed at `checkpoint` and
 * lists them all, with its total seconds; else none (*count 0). first 0:
 * the resumed invocation ran no whole epoch; all earlier epochs. Returns
 * nonzero only when out of memory. *out is the caller's to free. */
int record_earlier_epochs(const char *path, const char *checkpoint, unsigned first, jn_epoch_report **out,
                          size_t *count, double *seconds);
/* Write `text` to path atomically (temp file, fsync, rename). */
int write_file_atomic(const char *path, const char *text, size_t len);

/* ---- MPI (mpi.c): `train --mpi` and `sweep --mpi` under mpirun ----
 * In a build without MPI (no JACNET_WITH_MPI) mpi_start refuses --mpi and
 * the other functions are never reached. Under --mpi every rank runs the
 * same command; rank 0 alone prints and writes files: the other ranks'
 * stdout is discarded, and their stderr too except while the collective
 * training or sweep runs (where a failure only one rank sees is reported by
 * that rank before the job ends). */

/* Before parsing: if argv holds --mpi, initialise MPI (finalised at exit).
 * Nonzero (EXIT_USAGE, message printed) when this build has no MPI. */
int mpi_start(const char *command, int argc, char **argv);
/* 0, or this process's rank under --mpi. */
int mpi_rank(void);
/* The detail of failure `st` for a message: libjacnet's, or libjacnet_mpi's
 * when the last MPI call failed (then consumed). */
const char *cli_error(jn_status st);
/* Collective: every rank's data loading outcome rc (0 or an exit status)
 * into the worst of them; rank 0 prints another rank's failure; `data` is
 * freed where it loaded but another rank failed. */
int mpi_agree_load(const char *command, int rc, data_sets *data);
/* train --mpi, after parsing: --threads 0 means 1; ranks other than 0 print
 * nothing and write nothing (record, model) and skip the test set. */
void mpi_train_config(train_config *c);
/* Collective: jn_mpi_train in place of jn_trainer_run. tr's own settings
 * (patience, callbacks, checkpoint, recovery) apply as in a serial run, on
 * every rank; on_epoch and user are not used. */
jn_status mpi_train(const train_config *c, jn_trainer *tr, jn_net *net, const jn_objective *obj, jn_optimizer *opt,
                    const jn_dataset *train, const jn_dataset *valid, jn_epoch_callback on_epoch, void *user);
/* After train_run under --mpi: a rank that failed between loading and
 * training tells the ranks waiting in mpi_train. Returns rc. */
int mpi_train_finish(int rc);
/* The callbacks of jn_mpi_sweep (jacnet_mpi.h), mirrored here so that
 * sweep.c needs no MPI header. */
typedef jn_status (*cli_point_fn)(size_t index, char *record, size_t cap, void *user);
typedef jn_status (*cli_record_fn)(size_t index, jn_status status, const char *record, void *user);
/* Collective: jn_mpi_sweep over `points`, `done` read on rank 0, `collect`
 * called on rank 0. */
jn_status mpi_sweep(size_t points, const unsigned char *done, cli_point_fn run, cli_record_fn collect, void *user);

/* ---- eval --attack (attack.c) ---- */
typedef struct attack_spec {
    const char *kind;   /* "fgsm", "pgd", or NULL: no attack */
    int pgd;
    double eps[64];
    int n_eps;
    unsigned steps;     /* PGD steps */
    double step_size;   /* PGD step; 0: 2.5 eps / steps for each eps */
    uint64_t seed;      /* PGD random start */
    float lo, hi;       /* the attacked inputs stay in [lo, hi] */
} attack_spec;
/* eval's --attack, --eps, --steps, --step-size (NULL when not given) and
 * --seed into a; 0, or EXIT_USAGE with the one-line message printed. */
int attack_parse(const char *kind, const char *eps, const char *steps, const char *step_size, uint64_t seed,
                 attack_spec *a);
/* The range the inputs are clipped to, in the units the model reads: for
 * the report's data sets (named_dataset) the loaders' [0, 1], or [-1, 1]
 * under --input-scale pm1 (pm1); else the features' min and max (a file
 * under pm1 is already mapped when this reads it). */
void attack_range(const jn_dataset *ds, int named_dataset, int pm1, attack_spec *a);
/* The PGD step used at eps. */
double attack_step(const attack_spec *a, double eps);
/* Error and mean squared-error loss of net on ds (labelled, fitting the
 * network) under the attack at eps; 0, or EXIT_RUN with the message printed. */
int attack_eval(jn_net *net, const jn_dataset *ds, const attack_spec *a, double eps, double *error, double *loss);
/* The record's "attack" object: the settings and, per eps, error[e] and loss[e]. */
void attack_record(json_out *j, const attack_spec *a, const double *error, const double *loss);

/* ---- subcommands ---- */
/* With --precision bf16|auto, libgomp loaded and no OMP_WAIT_POLICY set:
 * run this command again with OMP_WAIT_POLICY=passive (wait_policy.c);
 * returns only when there is nothing to do or the exec failed. */
void cli_openmp_passive(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

#endif
