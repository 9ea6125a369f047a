/* test_checkpoint.c - resumable training: a run stopped (at an epoch's end
 * or in the middle of one, by a callback or by SIGKILL) and resumed from
 * its checkpoint ends bit for bit where the uninterrupted run ends; damaged,
 * foreign and mismatched checkpoints are refused without touching the
 * network, the optimizer or the file; the layout is the documented one
 * (docs/FORMAT.md). One BLAS thread throughout, so results are exact. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_TRAIN 200
#define N_VALID 100
#define DIM 6
#define CLASSES 3

/* Three classes in 6 dimensions from a fixed LCG (the same data every
 * call); `tweak` flips one training label (other data, same shape). */
static void make_data(jn_dataset **train, jn_dataset **valid, int tweak)
{
    size_t n = N_TRAIN + N_VALID;
    float *X = malloc(n * DIM * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    fill_uniform(X, n * DIM, 17, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) y[i] = (X[i * DIM] + X[i * DIM + 1] > 0.0f) + (X[i * DIM + 2] > 0.5f);
    if (tweak) y[7] = (y[7] + 1) % CLASSES;
    ck_assert_int_eq(jn_dataset_create(train, X, y, N_TRAIN, DIM, CLASSES, 0), JN_OK);
    ck_assert_int_eq(jn_dataset_create(valid, X + N_TRAIN * DIM, y + N_TRAIN, N_VALID, DIM, CLASSES, 0), JN_OK);
    free(X);
    free(y);
}

/* One training run's settings. Zero fields take the defaults below. */
typedef struct setup {
    int adam;               /* 0: SGD with momentum 0.8; 1: Adam with a step schedule */
    int no_valid;
    unsigned epochs;
    const char *ckpt;       /* NULL: no checkpoint */
    unsigned every;
    unsigned stop_epoch;    /* the epoch callback stops after this epoch (0: never) */
    unsigned stop_batch;    /* the batch callback stops after this many minibatches of the run (0: never) */
    unsigned init_seed;     /* network initialisation (default 3) */
    size_t hidden;          /* default 10 */
    uint64_t seed;          /* trainer seed (default 11) */
    size_t batch;           /* default 16 */
    double lr;              /* default 0.2 (SGD), 0.01 (Adam) */
    double lambda;          /* default 0.05 */
    int tweak_data;
    unsigned patience;      /* default 0 */
    int recovery;           /* blow-up recovery (3, 0.5, 10) */
    const char *copy_to;    /* copy the checkpoint file here at the first minibatch */
} setup;

typedef struct outcome {
    jn_status st;
    char message[512];
    float *params;          /* the network after the run (caller frees) */
    size_t P;
    double lr;              /* the optimizer's rate after the run */
    unsigned calls;         /* epoch callbacks */
    unsigned first_epoch;   /* epoch of the first callback */
    jn_epoch_report rep[32]; /* by epoch - 1 */
} outcome;

typedef struct watch {
    const setup *s;
    outcome *out;
    unsigned batches;
} watch;

static int on_epoch(const jn_epoch_report *r, void *user)
{
    watch *w = user;
    ck_assert(r->epoch >= 1 && r->epoch <= 32);
    if (w->out->calls++ == 0) w->out->first_epoch = r->epoch;
    w->out->rep[r->epoch - 1] = *r;
    return w->s->stop_epoch && r->epoch == w->s->stop_epoch;
}

static int on_batch(unsigned epoch, size_t done, size_t total, void *user)
{
    watch *w = user;
    if (w->s->copy_to && w->batches == 0) copy_file(w->s->ckpt, w->s->copy_to);
    ++w->batches;
    return w->s->stop_batch && w->batches == w->s->stop_batch;
}

static jn_net *make_net(size_t hidden, unsigned init_seed)
{
    return tiny_net(DIM, hidden, CLASSES, init_seed);
}

/* Noise on both inputs and 2 random projections: every random stream of
 * the trainer is in use. */
static jn_objective *make_objective(double lambda)
{
    jn_objective *obj = model_objective(JN_MODEL_MLP_NJ_BOTH, lambda, 0.1);
    ck_assert_int_eq(jn_objective_set_jacobian(obj, lambda, 2), JN_OK);
    return obj;
}

static jn_optimizer *make_optimizer(int adam, double lr)
{
    jn_optimizer *opt = NULL;
    if (adam) {
        opt = adam_optimizer(lr ? lr : 0.01);
        ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_STEP, 0.7, 20), JN_OK);
    } else {
        opt = sgd_optimizer(lr ? lr : 0.2, 0.8);
        ck_assert_int_eq(jn_optimizer_set_schedule(opt, JN_SCHEDULE_INVERSE, 0.5, 10), JN_OK);
    }
    return opt;
}

static void run_setup(const setup *s, outcome *out)
{
    memset(out, 0, sizeof *out);
    jn_dataset *train, *valid;
    make_data(&train, &valid, s->tweak_data);
    jn_net *net = make_net(s->hidden ? s->hidden : 10, s->init_seed ? s->init_seed : 3);
    jn_objective *obj = make_objective(s->lambda ? s->lambda : 0.05);
    jn_optimizer *opt = make_optimizer(s->adam, s->lr);
    jn_trainer *t = NULL;
    watch w = {s, out, 0};
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epochs(t, s->epochs), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_size(t, s->batch ? s->batch : 16), JN_OK);
    ck_assert_int_eq(jn_trainer_set_seed(t, s->seed ? s->seed : 11), JN_OK);
    ck_assert_int_eq(jn_trainer_set_patience(t, s->patience), JN_OK);
    ck_assert_int_eq(jn_trainer_set_epoch_callback(t, on_epoch, &w), JN_OK);
    ck_assert_int_eq(jn_trainer_set_batch_callback(t, on_batch, &w), JN_OK);
    if (s->ckpt) ck_assert_int_eq(jn_trainer_set_checkpoint(t, s->ckpt, s->every), JN_OK);
    if (s->recovery) ck_assert_int_eq(jn_trainer_set_recovery(t, 3.0, 0.5, 10), JN_OK);
    out->st = jn_trainer_run(t, net, obj, opt, train, s->no_valid ? NULL : valid);
    snprintf(out->message, sizeof out->message, "%s", jn_last_error());
    out->P = jn_net_param_count(net);
    out->params = malloc(out->P * sizeof(float));
    memcpy(out->params, jn_net_params(net), out->P * sizeof(float));
    out->lr = jn_optimizer_lr(opt);
    free_run(t, opt, obj, net);
    jn_dataset_free(train); jn_dataset_free(valid);
}

/* The parameters a fresh network of the setup starts from. */
static float *initial_params(const setup *s)
{
    jn_net *net = make_net(s->hidden ? s->hidden : 10, s->init_seed ? s->init_seed : 3);
    size_t P = jn_net_param_count(net);
    float *p = malloc(P * sizeof *p);
    memcpy(p, jn_net_params(net), P * sizeof *p);
    jn_net_free(net);
    return p;
}

/* Epoch reports equal in every field but the wall time. */
static void same_report(const jn_epoch_report *a, const jn_epoch_report *b)
{
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_msg(a->train_objective == b->train_objective, "epoch %u: objective %.17g vs %.17g", a->epoch,
                  a->train_objective, b->train_objective);
    ck_assert(a->valid_error == b->valid_error);
    ck_assert(a->best_valid_error == b->best_valid_error);
    ck_assert_uint_eq(a->best_epoch, b->best_epoch);
    ck_assert(a->lr == b->lr);
    ck_assert(a->train_loss == b->train_loss);
    ck_assert(a->train_penalty == b->train_penalty);
    ck_assert(a->train_jacobian_sqnorm == b->train_jacobian_sqnorm);
    ck_assert(a->train_error == b->train_error);
    ck_assert_uint_eq(a->recoveries, b->recoveries);
}

static void same_params(const outcome *a, const outcome *b)
{
    ck_assert_uint_eq(a->P, b->P);
    for (size_t i = 0; i < a->P; i++)
        ck_assert_msg(memcmp(&a->params[i], &b->params[i], sizeof(float)) == 0, "parameter %zu: %.9g vs %.9g", i,
                      (double)a->params[i], (double)b->params[i]);
    ck_assert(a->lr == b->lr);
}

static char *join(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* (a) For both optimizers, with and without a validation set: stopped by
 * the epoch callback after k epochs, or by the batch callback in the middle
 * of an epoch, then resumed by a fresh process state (new network from
 * another initialisation, new optimizer, new trainer): the same parameters,
 * learning rate and epoch reports as one uninterrupted run. */
START_TEST(stop_and_resume_is_bit_for_bit)
{
    jn_set_threads(1);
    const unsigned E = 6;
    for (int adam = 0; adam <= 1; adam++)
        for (int no_valid = 0; no_valid <= 1; no_valid++) {
            setup whole = {.adam = adam, .no_valid = no_valid, .epochs = E};
            outcome ref;
            run_setup(&whole, &ref);
            ck_assert_int_eq(ref.st, JN_OK);
            ck_assert_uint_eq(ref.calls, E);
            /* stops: after epoch 2 (epoch callback); after minibatch 31 of
             * the run (epoch 3 of 13-minibatch epochs, mid-epoch); after
             * minibatch 13 (the last of epoch 1: only its end is left) */
            const unsigned stop_epoch[] = {2, 0, 0}, stop_batch[] = {0, 31, 13};
            for (int v = 0; v < 3; v++) {
                char *dir = make_temp_dir(), *path = join(dir, "run.jnc");
                setup first = whole;
                first.ckpt = path;
                first.every = 1;
                first.stop_epoch = stop_epoch[v];
                first.stop_batch = stop_batch[v];
                outcome a;
                run_setup(&first, &a);
                ck_assert_int_eq(a.st, JN_ERR_STOPPED);
                setup second = whole;
                second.ckpt = path;
                second.every = 1;
                second.init_seed = 99; /* replaced by the checkpoint's parameters */
                outcome b;
                run_setup(&second, &b);
                ck_assert_msg(b.st == JN_OK, "resume: %s", b.message);
                same_params(&ref, &b);
                unsigned done = stop_epoch[v] ? stop_epoch[v] : (stop_batch[v] - 1) / 13;
                ck_assert_uint_eq(b.first_epoch, done + 1);
                ck_assert_uint_eq(a.calls + b.calls, E);
                for (unsigned e = 1; e <= E; e++) same_report(&ref.rep[e - 1], e <= done ? &a.rep[e - 1] : &b.rep[e - 1]);
                free(a.params);
                free(b.params);
                free(path);
                ck_assert_int_eq(remove_temp_dir(dir), 0);
            }
            free(ref.params);
        }
}
END_TEST

/* A finished 2-epoch run resumed with 4 epochs is the 4-epoch run, even
 * though the 2-epoch run ended by restoring its best parameters into the
 * network; and resuming a finished run with no more epochs trains nothing. */
START_TEST(longer_run_continues_a_finished_one)
{
    jn_set_threads(1);
    for (int adam = 0; adam <= 1; adam++) {
        setup four = {.adam = adam, .epochs = 4};
        outcome ref;
        run_setup(&four, &ref);
        ck_assert_int_eq(ref.st, JN_OK);
        char *dir = make_temp_dir(), *path = join(dir, "run.jnc");
        setup two = {.adam = adam, .epochs = 2, .ckpt = path, .every = 5}; /* never periodic: the end writes it */
        outcome a, b, c;
        run_setup(&two, &a);
        ck_assert_int_eq(a.st, JN_OK);
        ck_assert_uint_eq(a.calls, 2);
        run_setup(&two, &c); /* nothing left to do: no epoch, the best parameters */
        ck_assert_int_eq(c.st, JN_OK);
        ck_assert_uint_eq(c.calls, 0);
        ck_assert(memcmp(a.params, c.params, a.P * sizeof(float)) == 0);
        setup more = four;
        more.ckpt = path;
        more.init_seed = 5;
        run_setup(&more, &b);
        ck_assert_int_eq(b.st, JN_OK);
        ck_assert_uint_eq(b.calls, 2);
        ck_assert_uint_eq(b.first_epoch, 3);
        same_params(&ref, &b);
        same_report(&ref.rep[3], &b.rep[3]);
        free(a.params); free(b.params); free(c.params); free(ref.params); free(path);
        ck_assert_int_eq(remove_temp_dir(dir), 0);
    }
}
END_TEST

/* Early stopping carries over a stop: a run with patience 2 stopped by its
 * callback one epoch before patience ends it (one epoch since the best)
 * and resumed stops after the same epoch as the uninterrupted run, with
 * the same (best) parameters. */
START_TEST(patience_survives_a_resume)
{
    jn_set_threads(1);
    const unsigned E = 30;
    setup whole = {.epochs = E, .patience = 2};
    outcome ref;
    run_setup(&whole, &ref);
    ck_assert_int_eq(ref.st, JN_OK);
    unsigned S = ref.calls;
    ck_assert_msg(S >= 4 && S < E, "the uninterrupted run should stop early, ran %u of %u epochs", S, E);
    ck_assert_uint_eq(S - ref.rep[S - 1].best_epoch, 2); /* stopped by patience */
    char *dir = make_temp_dir(), *path = join(dir, "run.jnc");
    setup first = whole;
    first.ckpt = path;
    first.every = 1;
    first.stop_epoch = S - 1; /* one epoch since the best */
    outcome a, b;
    run_setup(&first, &a);
    ck_assert_int_eq(a.st, JN_ERR_STOPPED);
    ck_assert_uint_eq(S - 1 - a.rep[S - 2].best_epoch, 1);
    setup second = whole;
    second.ckpt = path;
    second.every = 1;
    second.init_seed = 99;
    run_setup(&second, &b);
    ck_assert_msg(b.st == JN_OK, "resume: %s", b.message);
    ck_assert_msg(b.calls == 1, "the resumed run ran %u epochs; patience allowed 1", b.calls);
    same_report(&ref.rep[S - 1], &b.rep[S - 1]);
    same_params(&ref, &b);
    free(a.params); free(b.params); free(ref.params); free(path);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

/* (b) A child process trains with a checkpoint every epoch (each minibatch
 * slowed down so the run lasts a while) and is killed with SIGKILL at
 * varying moments after its third epoch, possibly while it writes a
 * checkpoint. Restarting from whatever checkpoint it left ends with the
 * uninterrupted run's parameters. */
static int slow_batch(unsigned epoch, size_t done, size_t total, void *user)
{
    struct timespec ts = {0, 2000000}; /* 2 ms */
    nanosleep(&ts, NULL);
    return 0;
}

static int tell_parent(const jn_epoch_report *r, void *user)
{
    unsigned char e = (unsigned char)r->epoch;
    return write(*(int *)user, &e, 1) != 1;
}

START_TEST(sigkill_then_restart)
{
    jn_set_threads(1);
    const unsigned E = 12;
    setup whole = {.adam = 1, .epochs = E};
    outcome ref;
    run_setup(&whole, &ref);
    ck_assert_int_eq(ref.st, JN_OK);
    const long delay_us[] = {0, 3000, 11000};
    for (int round = 0; round < 3; round++) {
        char *dir = make_temp_dir(), *path = join(dir, "run.jnc");
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            jn_dataset *train, *valid;
            make_data(&train, &valid, 0);
            jn_net *net = make_net(10, 3);
            jn_objective *obj = make_objective(0.05);
            jn_optimizer *opt = make_optimizer(1, 0.0);
            jn_trainer *t = NULL;
            int ok = jn_trainer_create(&t) == JN_OK && jn_trainer_set_epochs(t, E) == JN_OK &&
                     jn_trainer_set_batch_size(t, 16) == JN_OK && jn_trainer_set_seed(t, 11) == JN_OK &&
                     jn_trainer_set_checkpoint(t, path, 1) == JN_OK &&
                     jn_trainer_set_epoch_callback(t, tell_parent, &fds[1]) == JN_OK &&
                     jn_trainer_set_batch_callback(t, slow_batch, NULL) == JN_OK &&
                     jn_trainer_run(t, net, obj, opt, train, valid) == JN_OK;
            _exit(ok ? 0 : 3); /* reaching here at all is a failure for the parent */
        }
        close(fds[1]);
        unsigned char e = 0;
        while (e < 3) ck_assert_int_eq(read(fds[0], &e, 1), 1);
        if (delay_us[round]) {
            struct timespec ts = {0, delay_us[round] * 1000};
            nanosleep(&ts, NULL);
        }
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        close(fds[0]);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was not killed mid-run");
        setup again = whole;
        again.ckpt = path;
        again.every = 1;
        again.init_seed = 42;
        outcome b;
        run_setup(&again, &b);
        ck_assert_msg(b.st == JN_OK, "restart: %s", b.message);
        ck_assert(b.first_epoch >= 3 && b.first_epoch <= 5); /* from the checkpoint of epoch 2, 3 or 4 */
        same_params(&ref, &b);
        free(b.params);
        free(path);
        ck_assert_int_eq(remove_temp_dir(dir), 0);
    }
    free(ref.params);
}
END_TEST

/* (c) Truncated and corrupted checkpoints are JN_ERR_FORMAT; the network is
 * not changed, nothing is trained and the file is left as it was. The
 * previous checkpoint (kept by the user) still resumes the run exactly. */
START_TEST(damaged_checkpoints_refused)
{
    jn_set_threads(1);
    char *dir = make_temp_dir(), *path = join(dir, "run.jnc"), *prev = join(dir, "prev.jnc");
    setup s = {.epochs = 2, .ckpt = path, .every = 1};
    outcome o;
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_OK);
    free(o.params);
    size_t len2;
    unsigned char *good2 = read_all(path, &len2);
    write_all(prev, good2, len2);
    s.epochs = 4;
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_OK);
    ck_assert_uint_eq(o.first_epoch, 3);
    free(o.params);
    size_t len;
    unsigned char *good = read_all(path, &len);
    ck_assert_uint_eq(len, len2);

    s.epochs = 6;
    s.init_seed = 77;
    float *start = initial_params(&s);
    const size_t cut[] = {0, 1, 11, 16, 200, len / 2, len - 5, len - 1};
    const size_t flip[] = {0, 9, 13, 100, 200, 300, 420, len / 2, len - 30, len - 5, len - 1};
    size_t n_cut = sizeof cut / sizeof cut[0], n_flip = sizeof flip / sizeof flip[0];
    for (size_t k = 0; k < n_cut + n_flip; k++) {
        unsigned char *bad = malloc(len);
        memcpy(bad, good, len);
        size_t bad_len = len;
        if (k < n_cut) bad_len = cut[k];
        else bad[flip[k - n_cut]] ^= 0x10;
        write_all(path, bad, bad_len);
        run_setup(&s, &o);
        ck_assert_msg(o.st == JN_ERR_FORMAT, "%s %zu: status %d (%s)", k < n_cut ? "cut at" : "flip at",
                      k < n_cut ? cut[k] : flip[k - n_cut], (int)o.st, o.message);
        ck_assert_msg(strstr(o.message, path) != NULL, "message does not name the file: %s", o.message);
        ck_assert_uint_eq(o.calls, 0);
        ck_assert(memcmp(o.params, start, o.P * sizeof(float)) == 0);
        assert_file_holds(path, bad, bad_len);
        free(bad);
        free(o.params);
    }
    /* the previous checkpoint, put back, resumes the run */
    unsigned char *kept = read_all(prev, &len2);
    write_all(path, kept, len2);
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_OK);
    ck_assert_uint_eq(o.first_epoch, 3);
    setup whole = {.epochs = 6};
    outcome ref;
    run_setup(&whole, &ref);
    same_params(&ref, &o);
    free(o.params); free(ref.params); free(kept); free(good); free(good2); free(start);
    free(path); free(prev);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

/* A checkpoint of another run is refused with JN_ERR_INVALID and a message
 * naming the difference; the network and the file are left alone. */
START_TEST(mismatched_checkpoints_refused)
{
    jn_set_threads(1);
    char *dir = make_temp_dir(), *path = join(dir, "run.jnc");
    setup base = {.epochs = 2, .ckpt = path, .every = 1};
    outcome o;
    run_setup(&base, &o);
    ck_assert_int_eq(o.st, JN_OK);
    free(o.params);
    size_t len;
    unsigned char *good = read_all(path, &len);
    struct { setup s; const char *words; } cases[] = {
        {{.hidden = 12}, "6-10-3"},
        {{.seed = 12}, "trainer seed 11"},
        {{.batch = 20}, "batch size 16"},
        {{.lr = 0.3}, "optimizer lr"},
        {{.adam = 1}, "SGD, this run uses Adam"},
        {{.lambda = 0.1}, "Jacobian weight"},
        {{.tweak_data = 1}, "other training data"},
        {{.no_valid = 1}, "validation examples 100"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        setup s = cases[k].s;
        s.epochs = 4;
        s.ckpt = path;
        s.every = 1;
        float *start = initial_params(&s);
        run_setup(&s, &o);
        ck_assert_msg(o.st == JN_ERR_INVALID, "case %zu: status %d (%s)", k, (int)o.st, o.message);
        ck_assert_msg(strstr(o.message, cases[k].words) && strstr(o.message, path), "case %zu: %s", k, o.message);
        ck_assert_uint_eq(o.calls, 0);
        ck_assert(memcmp(o.params, start, o.P * sizeof(float)) == 0);
        assert_file_holds(path, good, len);
        free(start);
        free(o.params);
    }
    free(good);
    free(path);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

/* Bad paths and arguments: each a clear status, nothing trained. */
START_TEST(bad_paths)
{
    jn_set_threads(1);
    jn_trainer *t = NULL;
    ck_assert_int_eq(jn_trainer_create(&t), JN_OK);
    ck_assert_int_eq(jn_trainer_set_checkpoint(NULL, "x", 1), JN_ERR_INVALID);
    ck_assert_int_eq(jn_trainer_set_checkpoint(t, "", 1), JN_ERR_INVALID);
    ck_assert(strstr(jn_last_error(), "empty") != NULL);
    ck_assert_int_eq(jn_trainer_set_checkpoint(t, NULL, 0), JN_OK); /* off */
    jn_trainer_free(t);

    char *dir = make_temp_dir(), *missing = join(dir, "no/such/dir/run.jnc"), *model = join(dir, "model.jnm");
    outcome o;
    setup s = {.epochs = 2, .ckpt = missing, .every = 1};
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_ERR_IO);
    ck_assert_msg(strstr(o.message, missing) && strstr(o.message, "No such file"), "%s", o.message);
    ck_assert_uint_eq(o.calls, 0); /* found before any training */
    free(o.params);
    s.ckpt = dir; /* a directory */
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_ERR_IO);
    ck_assert_msg(strstr(o.message, dir) != NULL, "%s", o.message);
    free(o.params);
    jn_net *net = make_net(10, 3);
    ck_assert_int_eq(jn_net_save(net, model), JN_OK); /* a file that is not a checkpoint */
    jn_net_free(net);
    s.ckpt = model;
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_ERR_FORMAT);
    ck_assert_msg(strstr(o.message, "not a libjacnet checkpoint") != NULL, "%s", o.message);
    free(o.params);
    /* no checkpoint set: no file appears */
    setup plain = {.epochs = 1};
    run_setup(&plain, &o);
    ck_assert_int_eq(o.st, JN_OK);
    free(o.params);
    free(missing);
    free(model);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

static uint64_t u64_at(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t u32_at(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static double f64_at(const unsigned char *p)
{
    uint64_t bits = u64_at(p);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

/* The offsets and lengths of docs/FORMAT.md, read back from a real file:
 * SGD with momentum (one state vector), 1 epoch of 13 minibatches. */
START_TEST(documented_layout)
{
    jn_set_threads(1);
    char *dir = make_temp_dir(), *path = join(dir, "run.jnc"), *inner = join(dir, "inner.jnm");
    setup s = {.epochs = 1, .ckpt = path, .every = 1, .no_valid = 1};
    outcome o;
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_OK);
    size_t len, P = o.P;
    unsigned char *f = read_all(path, &len);
    static const unsigned char magic[8] = {0x89, 'J', 'N', 'C', '\r', '\n', 0x1a, '\n'};
    ck_assert(memcmp(f, magic, 8) == 0);
    ck_assert_uint_eq(u32_at(f + 8), 1);         /* version */
    ck_assert_uint_eq(u64_at(f + 12), 11);       /* trainer seed */
    ck_assert_uint_eq(u64_at(f + 20), 16);       /* batch size */
    ck_assert_uint_eq(u64_at(f + 28), N_TRAIN);
    ck_assert_uint_eq(u64_at(f + 36), DIM);
    ck_assert_uint_eq(u64_at(f + 44), CLASSES);
    ck_assert_uint_eq(u64_at(f + 56), 0);        /* no validation set */
    ck_assert_uint_eq(u32_at(f + 68), JN_LOSS_MSE);
    ck_assert(f64_at(f + 80) == 0.05);           /* Jacobian weight */
    ck_assert_uint_eq(u32_at(f + 88), 2);        /* projections */
    ck_assert_uint_eq(u32_at(f + 104), JN_NOISE_GAUSSIAN);
    ck_assert(f64_at(f + 108) == 0.1 && f64_at(f + 116) == 0.1);
    ck_assert_uint_eq(u32_at(f + 124), 0);       /* SGD */
    ck_assert(f64_at(f + 128) == 0.2 && f64_at(f + 136) == 0.8);
    ck_assert_uint_eq(u32_at(f + 168), JN_SCHEDULE_INVERSE);
    ck_assert_uint_eq(u64_at(f + 180), 10);      /* schedule period */
    size_t M = (size_t)u64_at(f + 188);
    ck_assert_uint_eq(M, 36 + 8 * 3 + 4 * P);    /* a model file of a 3-size network */
    ck_assert_uint_eq(u64_at(f + 196 + M), M);   /* the best parameters: another one */
    size_t B = 204 + 2 * M;                      /* progress */
    ck_assert_uint_eq(u32_at(f + B), 1);         /* epochs done */
    ck_assert_uint_eq(u64_at(f + B + 4), 0);     /* at an epoch boundary */
    ck_assert_uint_eq(u64_at(f + B + 12), 13);   /* steps */
    ck_assert_uint_eq(u64_at(f + B + 208), 0);   /* recoveries */
    ck_assert(f64_at(f + B + 216) == 0.2);       /* base lr now */
    ck_assert_uint_eq(u64_at(f + B + 224), 13);  /* optimizer steps */
    ck_assert_uint_eq(u64_at(f + B + 232), P);
    ck_assert_uint_eq(u32_at(f + B + 240), 1);   /* one state vector: the velocity */
    ck_assert_uint_eq(len, 456 + 2 * M + 8 * P);
    /* the current parameters are a model file jn_net_load reads */
    write_all(inner, f + 196, M);
    jn_net *net = NULL;
    ck_assert_int_eq(jn_net_load(&net, inner), JN_OK);
    ck_assert(memcmp(jn_net_params(net), o.params, P * sizeof(float)) == 0);
    jn_net_free(net);
    ck_assert_uint_eq(u32_at(f + len - 8), 0);   /* no snapshot */
    free(f);
    free(o.params);
    /* stopped mid-epoch: the shuffle (8 bytes an example) comes along */
    setup mid = {.epochs = 3, .ckpt = path, .every = 1, .no_valid = 1, .stop_batch = 5};
    run_setup(&mid, &o);
    ck_assert_int_eq(o.st, JN_ERR_STOPPED);
    f = read_all(path, &len);
    ck_assert_uint_eq(u32_at(f + B), 1);
    ck_assert_uint_eq(u64_at(f + B + 4), 5);     /* 5 minibatches of epoch 2 were run after the resume */
    ck_assert_uint_eq(len, 456 + 2 * M + 8 * P + 8 * N_TRAIN);
    size_t perm_at = B + 244 + 8 * P;
    int seen[N_TRAIN] = {0};
    for (size_t i = 0; i < N_TRAIN; i++) {
        uint64_t v = u64_at(f + perm_at + 8 * i);
        ck_assert(v < N_TRAIN && !seen[v]);
        seen[v] = 1;
    }
    free(f);
    free(o.params);
    free(path);
    free(inner);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

/* With recovery on, the checkpoint carries the snapshot; the one written
 * at the start of a run (what a process killed in its first epoch leaves)
 * holds the starting parameters as the snapshot, and resumes exactly. */
START_TEST(starting_checkpoint_with_recovery)
{
    jn_set_threads(1);
    char *dir = make_temp_dir(), *path = join(dir, "run.jnc"), *start = join(dir, "start.jnc");
    setup s = {.epochs = 3, .ckpt = path, .every = 1, .no_valid = 1, .recovery = 1, .copy_to = start};
    outcome o;
    run_setup(&s, &o);
    ck_assert_int_eq(o.st, JN_OK);
    size_t len, P = o.P;
    unsigned char *f = read_all(start, &len);
    size_t M = (size_t)u64_at(f + 188), B = 204 + 2 * M;
    ck_assert_uint_eq(u32_at(f + B), 0);        /* no epoch done */
    ck_assert(f64_at(f + B + 196) == -1.0);      /* no reference level yet */
    ck_assert_uint_eq(u64_at(f + B + 232), 0);  /* the optimizer has not stepped: no state */
    size_t at = B + 244;
    ck_assert_uint_eq(u32_at(f + at), 1);       /* snapshot present */
    ck_assert_uint_eq(u32_at(f + at + 4), 0);   /* of the start */
    float *want = initial_params(&s);
    for (size_t i = 0; i < P; i++) {
        uint32_t bits = u32_at(f + at + 8 + 4 * i);
        float v;
        memcpy(&v, &bits, 4);
        ck_assert_msg(memcmp(&v, &want[i], 4) == 0, "snapshot parameter %zu: %g, want %g", i, (double)v,
                      (double)want[i]);
    }
    ck_assert_uint_eq(len, at + 8 + 4 * P + 28 + 4);
    /* resumed from it, the run is the same run */
    write_all(path, f, len);
    setup again = s;
    again.copy_to = NULL;
    again.init_seed = 8;
    outcome b;
    run_setup(&again, &b);
    ck_assert_int_eq(b.st, JN_OK);
    ck_assert_uint_eq(b.first_epoch, 1);
    same_params(&o, &b);
    free(want); free(f); free(o.params); free(b.params); free(path); free(start);
    ck_assert_int_eq(remove_temp_dir(dir), 0);
}
END_TEST

int main(void)
{
    return RUN_TESTS("checkpoint", "checkpoint", 300, stop_and_resume_is_bit_for_bit,
                     longer_run_continues_a_finished_one, patience_survives_a_resume, sigkill_then_restart,
                     damaged_checkpoints_refused, mismatched_checkpoints_refused, bad_paths, documented_layout,
                     starting_checkpoint_with_recovery);
}
