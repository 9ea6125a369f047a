/* resume.c - the record of a resumed `jacnet train` lists the whole run.
 * A run stopped (Ctrl-C, a killed session) and resumed from its checkpoint
 * is one run in several invocations; each invocation writes the record
 * again. The earlier record holds the epochs the checkpoint already
 * contains, so the new record begins with them, and a long run that took
 * three sessions has one record from epoch 1 with its total time. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* `"key": number` inside [obj, end); null (a value not measured) gives
 * `missing`. Nonzero when the key is absent or not a number. */
static int field(const char *obj, const char *end, const char *key, double missing, double *out)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(obj, pattern);
    if (!p || p >= end) return -1;
    p += strlen(pattern);
    if (!strncmp(p, "null", 4)) { *out = missing; return 0; }
    char *stop;
    *out = strtod(p, &stop);
    return stop == p ? -1 : 0;
}

/* One epoch object `{...}` of a record, as write_record wrote it. */
static int parse_epoch(const char *obj, const char *end, jn_epoch_report *e)
{
    double epoch, recoveries;
    memset(e, 0, sizeof *e);
    if (field(obj, end, "epoch", -1, &epoch) || !(epoch >= 1) ||
        field(obj, end, "train_objective", 0, &e->train_objective) ||
        field(obj, end, "train_loss", 0, &e->train_loss) || field(obj, end, "train_penalty", 0, &e->train_penalty) ||
        field(obj, end, "train_jacobian_sqnorm", -1, &e->train_jacobian_sqnorm) ||
        field(obj, end, "train_error", -1, &e->train_error) || field(obj, end, "recoveries", 0, &recoveries) ||
        field(obj, end, "valid_error", -1, &e->valid_error) || field(obj, end, "lr", 0, &e->lr) ||
        field(obj, end, "seconds", 0, &e->seconds))
        return -1;
    e->epoch = (unsigned)epoch;
    e->recoveries = (unsigned)recoveries;
    return 0;
}

/* Does the record's configuration name this checkpoint file? The expected
 * text is made by the writer itself, so escaping matches. */
static int names_checkpoint(const char *text, const char *checkpoint)
{
    char *want = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&want, &len);
    if (!f) return 0;
    json_out j;
    json_begin(&j, f);
    json_str(&j, "checkpoint", checkpoint);
    fclose(f);
    int found = want && strstr(text, want) != NULL;
    free(want);
    return found;
}

int record_earlier_epochs(const char *path, const char *checkpoint, unsigned first, jn_epoch_report **out,
                          size_t *count, double *seconds)
{
    *out = NULL;
    *count = 0;
    *seconds = 0;
    if (first == 1) return 0; /* nothing came before */
    char *text = json_read_text(path);
    if (!text) return 0;
    const char *list = strstr(text, "\n  \"epochs\": [");
    int rc = 0;
    if (!list || !names_checkpoint(text, checkpoint)) goto done;
    list = strchr(list, '[') + 1;
    const char *close = strchr(list, ']'); /* epoch objects hold no brackets */
    jn_epoch_report *eps = NULL;
    size_t n = 0;
    for (const char *obj = strchr(list, '{'); close && obj && obj < close; obj = strchr(obj, '{')) {
        const char *end = strchr(obj, '}');
        if (!end || end > close) break;
        jn_epoch_report e;
        if (parse_epoch(obj, end, &e) || e.epoch != n + 1) { n = 0; break; } /* not this tool's: start afresh */
        obj = end;
        if (first && e.epoch >= first) break; /* the checkpoint is older than this record's end */
        jn_epoch_report *grown = realloc(eps, (n + 1) * sizeof *grown);
        if (!grown) { rc = -1; n = 0; break; }
        eps = grown;
        eps[n++] = e;
    }
    /* Only a list that reaches up to the checkpoint's epoch joins the new one. */
    if (first && n + 1 != first) {
        free(eps);
        goto done;
    }
    /* All of them kept: the last one carries the record's best so far. */
    double best_epoch, best_valid;
    if (!first && n && json_text_number(text, "best_epoch", &best_epoch) == 0 &&
        json_text_number(text, "best_valid_error", &best_valid) == 0) {
        eps[n - 1].best_epoch = (unsigned)best_epoch;
        eps[n - 1].best_valid_error = best_valid;
    }
    *out = eps;
    *count = n;
    double total;
    if (json_text_number(text, "total_seconds", &total) == 0) *seconds = total;
done:
    free(text);
    return rc;
}
