/* arch.c - the network's activations and the loss as options of `jacnet
 * train` and `sweep`: --activation (hidden layers), --output, --loss. The
 * defaults are the report's (tanh hidden units, sigmoid outputs, squared
 * error); the other values are the ones the library supports there, and a
 * combination the library would refuse at the first step (cross-entropy on
 * outputs that are not a probability vector) is refused before any data is
 * read. */
#include "cli.h"

#include <string.h>

typedef struct named {
    const char *name;
    int value;
} named;

/* Hidden: the library also has linear, but a linear hidden layer makes the
 * net a linear model of its inputs; not offered. Output: tanh and relu
 * outputs cannot match one-hot 0/1 targets in the way the report's sigmoid
 * does (relu has no upper bound, tanh's range is [-1, 1]); not offered. */
static const named hidden_acts[] = {{"tanh", JN_ACT_TANH}, {"relu", JN_ACT_RELU}, {"sigmoid", JN_ACT_SIGMOID}, {0, 0}};
static const named output_acts[] = {
    {"sigmoid", JN_ACT_SIGMOID}, {"softmax", JN_ACT_SOFTMAX}, {"linear", JN_ACT_LINEAR}, {0, 0}};
static const named losses[] = {{"mse", JN_LOSS_MSE}, {"ce", JN_LOSS_CE}, {0, 0}};

static int lookup(const named *table, const char *name, int *value)
{
    for (; table->name; table++)
        if (!strcmp(table->name, name)) { *value = table->value; return 0; }
    return -1;
}

int arch_check(const char *command, const train_config *c, jn_act *hidden, jn_act *output, jn_loss *loss)
{
    int h, o, l;
    if (lookup(hidden_acts, c->activation, &h))
        return usage_error(command, "--activation '%s': tanh, relu or sigmoid", c->activation);
    if (lookup(output_acts, c->output, &o))
        return usage_error(command, "--output '%s': sigmoid, softmax or linear", c->output);
    if (lookup(losses, c->loss, &l)) return usage_error(command, "--loss '%s': mse or ce", c->loss);
    /* -sum y log F is a cross-entropy only when F is a probability vector. */
    if (l == JN_LOSS_CE && o != JN_ACT_SOFTMAX)
        return usage_error(command, "--loss ce needs --output softmax (not %s)", c->output);
    if (data_check_scale(command, c->data.input_scale)) return EXIT_USAGE;
    *hidden = (jn_act)h;
    *output = (jn_act)o;
    *loss = (jn_loss)l;
    return 0;
}
