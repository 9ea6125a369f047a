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
/* "1000", "1000,500" or "1000x500": hidden widths (1..8 layers). */
int parse_hidden(const char *s, size_t *widths, size_t *count);
/* Print "jacnet CMD: message" to stderr; returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...);
/* --threads T, else 0 if JACNET_THREADS is set, else the online CPUs. */
unsigned cli_threads(unsigned requested);

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
    char **record_text;      /* with json: the record's text goes here (caller frees), not to the file */
} train_config;

void train_config_defaults(train_config *c);
/* Train one model as configured; writes the record and model when asked.
 * Returns 0, EXIT_RUN or EXIT_USAGE. *valid_error / *test_error (may be
 * NULL) receive the results (-1 when not measured). */
int train_run(const train_config *c, double *valid_error, double *test_error);
/* Cancel flag set by SIGINT / SIGTERM; the running training stops cleanly. */
extern volatile int cli_interrupted;
void cli_install_signal_handlers(void);

/* ---- architecture and loss (arch.c) ---- */
/* Check c's --activation, --output, --loss and --input-scale by name and in
 * combination; prints one line and returns EXIT_USAGE when refused, else 0
 * with the library's values. */
int arch_check(const char *command, const train_config *c, jn_act *hidden, jn_act *output, jn_loss *loss);
/* The objective of `model` (jn_objective_create_model's preset) with `loss`. */
jn_status arch_objective(jn_objective **out, jn_model model, jn_loss loss, double lambda, double std);

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
/* Collective: jn_mpi_train in place of jn_trainer_run, with c's patience,
 * on_epoch called on rank 0 for every epoch. */
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

/* ---- subcommands ---- */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

#endif
