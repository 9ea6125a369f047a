/* sweep.c - `jacnet sweep`: train every point of a grid, one JSON record
 * per run in a results folder. A point whose record says it is complete is
 * skipped, so a sweep killed at any moment resumes where it stopped; with
 * --checkpoints a point stopped mid-run also resumes from its own epoch
 * (checkpoints/NAME.jnc in the results folder), which long runs need.
 * Selection uses the validation error only; the test set is never read. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_VALUES 32

/* One list-valued option: its raw text and the values split from it. */
typedef struct grid_axis {
    const char *text;
    char *items[MAX_VALUES];
    int count;
    char *buf;
} grid_axis;

static int split_axis(grid_axis *a, const char *name, int numeric)
{
    a->buf = strdup(a->text);
    if (!a->buf) return usage_error("sweep", "out of memory");
    a->count = 0;
    for (char *save = NULL, *tok = strtok_r(a->buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double v;
        if (a->count == MAX_VALUES) return usage_error("sweep", "--%s: more than %d values", name, MAX_VALUES);
        if (numeric && (parse_double(tok, &v) || v < 0))
            return usage_error("sweep", "--%s: '%s' is not a number >= 0", name, tok);
        a->items[a->count++] = tok;
    }
    if (a->count == 0) return usage_error("sweep", "--%s: empty list", name);
    return 0;
}

/* mkdir -p: the results folder may be several levels deep. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* The axes before AX_LR take names, the others numbers. */
enum { AX_MODEL, AX_HIDDEN, AX_SCALE, AX_LR, AX_DECAY, AX_MOMENTUM, AX_LAMBDA, AX_NOISE, AX_SEED, N_AXES };
static const char *const axis_names[N_AXES] = {"model", "hidden", "input-scale", "lr", "lr-decay", "momentum", "lambda",
                                               "noise-std", "seed"};

typedef struct point_result {
    char name[256];
    const char *model;
    double valid, seconds;
    int done;
    int scale;         /* index of its --input-scale: the data it trains on */
    size_t grid_index; /* p of "[p+1/total]" */
} point_result;

/* Whether the model reads the axis's setting: the library's preset table
 * says (an unknown name reads everything; train refuses it later). */
static int model_uses(const char *model, int axis)
{
    jn_model m;
    if (jn_model_from_name(model, &m) != JN_OK) return 1;
    if (axis == AX_LAMBDA) return (jn_model_uses(m) & JN_USES_LAMBDA) != 0;
    if (axis == AX_NOISE) return (jn_model_uses(m) & JN_USES_NOISE) != 0;
    return 1;
}

/* What training a point needs; the serial loop and the MPI callbacks share it. */
typedef struct sweep_state {
    const grid_axis *ax;
    const train_config *base; /* the single-valued options */
    const data_sets *data;    /* loaded once for every point: one per --input-scale value */
    const char *results, *models_dir;
    const char *checkpoints_dir; /* NULL: points restart from epoch 1 */
    point_result *res;        /* the points to train, in grid order */
    size_t n_res, total;
} sweep_state;

/* Grid point p's configuration and run name; 0 when p repeats another
 * point (axes a model does not use collapse to their first value). */
static int point_config(const sweep_state *s, size_t p, train_config *c, point_result *r)
{
    const grid_axis *ax = s->ax;
    int idx[N_AXES];
    for (size_t q = p, a = N_AXES; a-- > 0;) { idx[a] = (int)(q % (size_t)ax[a].count); q /= (size_t)ax[a].count; }
    const char *model = ax[AX_MODEL].items[idx[AX_MODEL]];
    int redundant = 0;
    for (int a = AX_LAMBDA; a <= AX_NOISE; a++) redundant |= !model_uses(model, a) && idx[a] != 0;
    if (redundant) return 0;
    *c = *s->base;
    c->model = model;
    c->hidden_spec = ax[AX_HIDDEN].items[idx[AX_HIDDEN]];
    c->data.input_scale = ax[AX_SCALE].items[idx[AX_SCALE]];
    parse_double(ax[AX_LR].items[idx[AX_LR]], &c->lr);
    parse_double(ax[AX_DECAY].items[idx[AX_DECAY]], &c->lr_decay);
    parse_double(ax[AX_MOMENTUM].items[idx[AX_MOMENTUM]], &c->momentum);
    parse_double(ax[AX_LAMBDA].items[idx[AX_LAMBDA]], &c->lambda);
    parse_double(ax[AX_NOISE].items[idx[AX_NOISE]], &c->noise_std);
    double seed;
    parse_double(ax[AX_SEED].items[idx[AX_SEED]], &seed);
    c->seed = (uint64_t)seed;
    if (!model_uses(model, AX_LAMBDA)) c->lambda = NAN;
    r->model = model;
    r->scale = idx[AX_SCALE];
    r->grid_index = p;
    int len = snprintf(r->name, sizeof r->name, "%s_h%s_lr%s", model, c->hidden_spec, ax[AX_LR].items[idx[AX_LR]]);
    if (c->lr_decay > 0) len += snprintf(r->name + len, sizeof r->name - (size_t)len, "_d%s", ax[AX_DECAY].items[idx[AX_DECAY]]);
    if (c->momentum > 0) len += snprintf(r->name + len, sizeof r->name - (size_t)len, "_m%s", ax[AX_MOMENTUM].items[idx[AX_MOMENTUM]]);
    if (model_uses(model, AX_LAMBDA)) len += snprintf(r->name + len, sizeof r->name - (size_t)len, "_l%s", ax[AX_LAMBDA].items[idx[AX_LAMBDA]]);
    if (model_uses(model, AX_NOISE)) len += snprintf(r->name + len, sizeof r->name - (size_t)len, "_s%s", ax[AX_NOISE].items[idx[AX_NOISE]]);
    /* Settings other than the report's name the run (names of earlier
     * sweeps stay as they were), so sweeps that differ only there can share
     * a results folder without one taking the other's records as its own. */
    const char *tags[] = {c->activation, "tanh", c->output, "sigmoid", c->loss, "mse", c->data.input_scale, "01"};
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t += 2)
        if (strcmp(tags[t], tags[t + 1])) len += snprintf(r->name + len, sizeof r->name - (size_t)len, "_%s", tags[t]);
    snprintf(r->name + len, sizeof r->name - (size_t)len, "_seed%llu", (unsigned long long)c->seed);
    return 1;
}

static void record_path(const sweep_state *s, const point_result *r, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.json", s->results, r->name);
}

/* Resuming: is the point's record complete? Then r gets its results. */
static int done_before(const sweep_state *s, point_result *r)
{
    char json[4400];
    record_path(s, r, json, sizeof json);
    char *text = json_read_text(json);
    double complete = 0;
    int skip = text && json_text_number(text, "complete", &complete) == 0 && complete == 1;
    if (skip) {
        r->done = json_text_number(text, "best_valid_error", &r->valid) == 0;
        json_text_number(text, "total_seconds", &r->seconds);
    }
    free(text);
    if (!skip) return 0;
    printf("[%zu/%zu] %s: done before (valid %.2f%%)\n", r->grid_index + 1, s->total, r->name, 100.0 * r->valid);
    return 1;
}

/* Train point i (its model saved to models/); its record's text into *text
 * (the caller frees it and writes the file). Returns train_run's status. */
static int train_point(const sweep_state *s, size_t i, char **text)
{
    point_result *r = &s->res[i];
    train_config c;
    point_config(s, r->grid_index, &c, r);
    char json[4400], model_path[4400], checkpoint[4400], cmd[300];
    record_path(s, r, json, sizeof json);
    snprintf(model_path, sizeof model_path, "%s/%s.jn", s->models_dir, r->name);
    if (s->checkpoints_dir) {
        /* train_run resumes from it and joins the stopped point's record. */
        snprintf(checkpoint, sizeof checkpoint, "%s/%s.jnc", s->checkpoints_dir, r->name);
        c.checkpoint = checkpoint;
    }
    snprintf(cmd, sizeof cmd, "jacnet sweep point %s", r->name);
    *text = NULL;
    c.json = json;
    c.record_text = text;
    c.save = model_path;
    c.no_test = 1;
    c.command_line = cmd;
    c.loaded = &s->data[r->scale];
    return train_run(&c, &r->valid, NULL);
}

/* ---- sweep --mpi: jn_mpi_sweep's callbacks ---- */

/* On any rank: train point `index` into `record`. A record, also of a run
 * that diverged, is JN_OK; a failure is what the serial sweep stops at
 * (bad usage) or a point that left no record. */
static jn_status mpi_point(size_t index, char *record, size_t cap, void *user)
{
    const sweep_state *s = user;
    if (cli_interrupted) {
        snprintf(record, cap, "interrupted");
        return JN_ERR_STOPPED;
    }
    char *text = NULL;
    int run_rc = train_point(s, index, &text);
    jn_status st = JN_OK;
    if (run_rc == EXIT_USAGE) {
        snprintf(record, cap, "refused on rank %d (see its message)", mpi_rank());
        st = JN_ERR_INVALID;
    } else if (!text) {
        snprintf(record, cap, "no record (rank %d): %s", mpi_rank(), jn_last_error());
        st = JN_ERR_NOMEM;
    } else if (strlen(text) >= cap) {
        snprintf(record, cap, "a record of %zu bytes, more than %zu", strlen(text), cap - 1);
        st = JN_ERR_NOMEM;
    } else {
        memcpy(record, text, strlen(text) + 1);
    }
    free(text);
    return st;
}

/* On rank 0: write the record as the serial sweep does, print the line. */
static jn_status mpi_collect(size_t index, jn_status status, const char *record, void *user)
{
    const sweep_state *s = user;
    point_result *r = &s->res[index];
    if (status != JN_OK) {
        printf("[%zu/%zu] %s: failed: %s\n", r->grid_index + 1, s->total, r->name, record);
        fflush(stdout);
        return JN_OK; /* the sweep returns the first failure when it ends */
    }
    char json[4400];
    record_path(s, r, json, sizeof json);
    if (write_file_atomic(json, record, strlen(record)) == 0) {
        /* As the serial sweep: done when the run finished. */
        r->done = strstr(record, "\n  \"status\": \"finished\"") != NULL;
        if (json_text_number(record, "best_valid_error", &r->valid) != 0) r->valid = -1;
        json_text_number(record, "total_seconds", &r->seconds);
    }
    if (r->done) printf("[%zu/%zu] %s: valid %.2f%%, %.0f s\n", r->grid_index + 1, s->total, r->name, 100.0 * r->valid,
                        r->seconds);
    else printf("[%zu/%zu] %s: not finished (see its record)\n", r->grid_index + 1, s->total, r->name);
    fflush(stdout);
    return JN_OK;
}

int cmd_sweep(int argc, char **argv)
{
    train_config base;
    train_config_defaults(&base);
    /* Single-valued axes default to train's defaults (the library's). The
     * lambda axis has no default in train; 0.1 here keeps `sweep` runnable
     * with only a model list. */
    char lr[32], momentum[32], noise[32], seed[32];
    snprintf(lr, sizeof lr, "%g", base.lr);
    snprintf(momentum, sizeof momentum, "%g", base.momentum);
    snprintf(noise, sizeof noise, "%g", base.noise_std);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)base.seed);
    grid_axis ax[N_AXES] = {{.text = base.model}, {.text = base.hidden_spec}, {.text = "01"},    {.text = lr},
                            {.text = "0"},        {.text = momentum},         {.text = "0.1"},   {.text = noise},
                            {.text = seed}};
    char model_help[160];
    snprintf(model_help, sizeof model_help, "models: %s", cli_model_names(0));
    const char *results = NULL;
    int mpi = 0, checkpoints = 0;
    data_sets data[MAX_VALUES] = {{0}};
    point_result *res = NULL;
    unsigned char *done = NULL;
    const opt_spec specs[] = {
        {"results", OPT_STRING, &results, "DIR", "folder of the run records (created; required)", 0, 0},
        {"dataset", OPT_STRING, &base.data.dataset, "NAME", "mnist, mnist-binary or usps", 0, 0},
        {"data-dir", OPT_STRING, &base.data.data_dir, "DIR", "where --dataset lives (else $JACNET_DATA, else ./data)", 0, 0},
        {"train", OPT_STRING, &base.data.train, "FILE", "training data given as a file (as for train)", 0, 0},
        {"valid", OPT_STRING, &base.data.valid, "FILE", "validation data given as a file", 0, 0},
        {"valid-fraction", OPT_DOUBLE, &base.data.valid_fraction, "F", "without --valid: the last F of --train validates", 0, 0.99},
        {"model", OPT_STRING, &ax[AX_MODEL].text, "M[,M..]", model_help, 0, 0},
        {"hidden", OPT_STRING, &ax[AX_HIDDEN].text, "H[,H..]", "hidden widths; 1000x1000 is two layers", 0, 0},
        {"lr", OPT_STRING, &ax[AX_LR].text, "LR[,..]", "learning rates", 0, 0},
        {"lr-decay", OPT_STRING, &ax[AX_DECAY].text, "G[,..]", "learning-rate decays (lr / (1 + G epochs))", 0, 0},
        {"momentum", OPT_STRING, &ax[AX_MOMENTUM].text, "M[,..]", "momenta", 0, 0},
        {"lambda", OPT_STRING, &ax[AX_LAMBDA].text, "L[,..]", "penalty weights (models that have one)", 0, 0},
        {"noise-std", OPT_STRING, &ax[AX_NOISE].text, "S[,..]", "noise stds (models that have noise)", 0, 0},
        {"seed", OPT_STRING, &ax[AX_SEED].text, "S[,..]", "seeds", 0, 0},
        {"input-scale", OPT_STRING, &ax[AX_SCALE].text, "S[,..]", "input scales: 01 (as loaded, [0, 1]) and/or pm1 ([-1, 1])", 0, 0},
        {"activation", OPT_STRING, &base.activation, "A", "hidden units of every run: tanh, relu or sigmoid", 0, 0},
        {"output", OPT_STRING, &base.output, "A", "output units: sigmoid, softmax or linear", 0, 0},
        {"loss", OPT_STRING, &base.loss, "L", "mse or ce (needs --output softmax)", 0, 0},
        {"epochs", OPT_UINT, &base.epochs, "N", "most epochs per run", 1, 1000000},
        {"patience", OPT_UINT, &base.patience, "N", "early-stopping patience", 0, 1000000},
        {"batch", OPT_SIZE, &base.batch, "B", "minibatch size", 1, 1 << 20},
        {"projections", OPT_UINT, &base.projections, "K", "0: exact penalty; K: projections", 0, 100000},
        {"threads", OPT_UINT, &base.threads, "T", "threads per run (BLAS held at 1; the library splits the products; 0: $JACNET_THREADS, else every CPU)", 0, 256},
        {"checkpoints", OPT_FLAG, &checkpoints, NULL, "checkpoint every run in DIR/checkpoints/: a stopped run resumes mid-way", 0, 0},
        {"quiet", OPT_FLAG, &base.quiet, NULL, "no per-epoch output", 0, 0},
        {"mpi", OPT_FLAG, &mpi, NULL, "spread the points over the ranks of mpirun (one thread each)", 0, 0},
        {0},
    };
    const char *pos[1];
    size_t n_pos;
    if (mpi_start("sweep", argc, argv)) return EXIT_USAGE;
    int rc = parse_options("sweep", "--results DIR [options]  (--dataset NAME | --train FILE ...)", specs, argc, argv, 2,
                           pos, 0, &n_pos);
    if (rc) return rc < 0 ? 0 : rc;
    if (!results) return usage_error("sweep", "--results DIR is required");
    for (int a = 0; a < N_AXES; a++) {
        if ((rc = split_axis(&ax[a], axis_names[a], a >= AX_LR)) != 0) goto out;
    }
    /* Every name checked before any data is read or any point runs. */
    jn_act act_h, act_o;
    jn_loss loss;
    if ((rc = arch_check("sweep", &base, &act_h, &act_o, &loss)) != 0) goto out;
    for (int i = 0; i < ax[AX_SCALE].count; i++) {
        if ((rc = data_check_scale("sweep", ax[AX_SCALE].items[i])) != 0) goto out;
        for (int k = 0; k < i; k++)
            if (!strcmp(ax[AX_SCALE].items[i], ax[AX_SCALE].items[k])) {
                rc = usage_error("sweep", "--input-scale: '%s' given twice", ax[AX_SCALE].items[i]);
                goto out;
            }
    }
    for (int i = 0; i < ax[AX_HIDDEN].count; i++) {
        size_t w[8], nw;
        if (parse_hidden(ax[AX_HIDDEN].items[i], w, &nw)) {
            rc = usage_error("sweep", "--hidden '%s': widths like 1000 or 1000x500", ax[AX_HIDDEN].items[i]);
            goto out;
        }
    }
    size_t total = 1;
    for (int a = 0; a < N_AXES; a++) total *= (size_t)ax[a].count;
    res = calloc(total, sizeof *res);
    done = calloc(total, 1);
    if (!res || !done) {
        fprintf(stderr, "jacnet sweep: out of memory for %zu points\n", total);
        rc = EXIT_RUN;
    }
    char models_dir[4096], checkpoints_dir[4096];
    snprintf(models_dir, sizeof models_dir, "%s/models", results);
    snprintf(checkpoints_dir, sizeof checkpoints_dir, "%s/checkpoints", results);
    if (!rc && make_dirs(models_dir)) {
        fprintf(stderr, "jacnet sweep: cannot create %s: %s\n", models_dir, strerror(errno));
        rc = EXIT_RUN;
    }
    if (!rc && checkpoints && make_dirs(checkpoints_dir)) {
        fprintf(stderr, "jacnet sweep: cannot create %s: %s\n", checkpoints_dir, strerror(errno));
        rc = EXIT_RUN;
    }
    /* The data once for every point, once per input scale (the test set is
     * never read); under --mpi every rank loads it, and a failure on any rank
     * ends them all: every rank agrees once per scale, also after a failure,
     * so that none waits for the others. */
    for (int i = 0; i < ax[AX_SCALE].count; i++) {
        data_spec spec = base.data;
        spec.input_scale = ax[AX_SCALE].items[i];
        if (!rc) rc = data_load(&spec, 0, &data[i]);
        if (!rc) rc = check_data("sweep", &base, &data[i]); /* a --valid file that does not fit, before any point */
        if (mpi) rc = mpi_agree_load("sweep", rc, &data[i]);
    }
    if (rc) goto out;
    cli_install_signal_handlers();

    sweep_state s = {.ax = ax, .base = &base, .data = data, .results = results, .models_dir = models_dir,
                     .checkpoints_dir = checkpoints ? checkpoints_dir : NULL,
                     .res = res, .total = total};
    train_config scratch;
    for (size_t p = 0; p < total; p++)
        if (point_config(&s, p, &scratch, &res[s.n_res])) s.n_res++;
    if (mpi) {
        /* Rank 0 decides what is done; points run with one thread each and
         * print no epochs (they run at once). */
        for (size_t i = 0; i < s.n_res; i++) done[i] = mpi_rank() == 0 && done_before(&s, &res[i]);
        base.quiet = 1;
        if (base.threads == 0) base.threads = 1;
        jn_status st = mpi_sweep(s.n_res, done, mpi_point, mpi_collect, &s);
        if (mpi_rank() != 0) goto out; /* rank 0 reports */
        if (st != JN_OK) {
            fprintf(stderr, "jacnet sweep: %s\n", cli_plain_error(cli_error(st)));
            if (st == JN_ERR_INVALID) rc = EXIT_USAGE;
        }
    } else {
        for (size_t i = 0; i < s.n_res && !cli_interrupted; i++) {
            point_result *r = &res[i];
            if (done_before(&s, r)) continue;
            printf("[%zu/%zu] %s\n", r->grid_index + 1, total, r->name);
            fflush(stdout);
            char *text = NULL, json[4400];
            int run_rc = train_point(&s, i, &text);
            record_path(&s, r, json, sizeof json);
            if (text && write_file_atomic(json, text, strlen(text)) != 0 && run_rc == 0) run_rc = EXIT_RUN;
            if (text) json_text_number(text, "total_seconds", &r->seconds);
            free(text);
            if (run_rc == EXIT_USAGE) { rc = run_rc; break; }
            r->done = run_rc == 0;
        }
    }

    /* Summary: every point, then the selection per model (validation only). */
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%s/summary.csv", results);
    FILE *csv = fopen(csv_path, "w");
    if (csv) fprintf(csv, "run,model,valid_error_percent,seconds,complete\n");
    printf("\n%-60s %10s %9s\n", "run", "valid %", "seconds");
    for (size_t i = 0; i < s.n_res; i++) {
        point_result *r = &res[i];
        if (r->done) printf("%-60s %10.2f %9.0f\n", r->name, 100.0 * r->valid, r->seconds);
        else printf("%-60s %10s %9s\n", r->name, "-", "-");
        if (csv) fprintf(csv, "%s,%s,%.4f,%.1f,%d\n", r->name, r->model, r->done ? 100.0 * r->valid : NAN, r->seconds, r->done);
    }
    if (csv) fclose(csv);
    printf("\nselected by validation error:\n");
    for (int m = 0; m < ax[AX_MODEL].count; m++) {
        const point_result *best = NULL;
        for (size_t i = 0; i < s.n_res; i++)
            if (res[i].done && !strcmp(res[i].model, ax[AX_MODEL].items[m]) && (!best || res[i].valid < best->valid))
                best = &res[i];
        if (best) printf("  %-10s %-55s valid %.2f%%\n", ax[AX_MODEL].items[m], best->name, 100.0 * best->valid);
    }
    if (cli_interrupted) {
        fprintf(stderr, "jacnet sweep: interrupted; run it again to resume\n");
        rc = 130;
    }
out:
    free(res);
    free(done);
    for (int i = 0; i < MAX_VALUES; i++) data_free(&data[i]);
    for (int a = 0; a < N_AXES; a++) free(ax[a].buf);
    return rc;
}
