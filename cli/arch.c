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

jn_status arch_objective(jn_objective **out, jn_model model, jn_loss loss, double lambda, double std)
{
    /* The report's loss: the library's preset itself, so MSE runs are the
     * ones made before these options existed. */
    if (loss == JN_LOSS_MSE) return jn_objective_create_model(out, model, lambda, std);
    /* Another loss: the preset's settings (jn_objective_create_model) on an
     * objective of that loss; the library has no setter for the loss. */
    jn_objective *obj;
    jn_status st = jn_objective_create(&obj, loss);
    if (st != JN_OK) return st;
    switch (model) {
    case JN_MODEL_MLP: break;
    case JN_MODEL_MLP_L2: st = jn_objective_set_l2(obj, lambda); break;
    case JN_MODEL_MLP_NOISE: st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, std, 0.0); break;
    case JN_MODEL_MLP_JACOB: st = jn_objective_set_jacobian(obj, lambda, 0); break;
    case JN_MODEL_MLP_NJ:
        st = jn_objective_set_jacobian(obj, lambda, 0);
        if (st == JN_OK) st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, 0.0, std);
        break;
    case JN_MODEL_MLP_NJ_BOTH:
        st = jn_objective_set_jacobian(obj, lambda, 0);
        if (st == JN_OK) st = jn_objective_set_noise(obj, JN_NOISE_GAUSSIAN, std, std);
        break;
    default: st = JN_ERR_INVALID; break;
    }
    if (st != JN_OK) {
        jn_objective_free(obj);
        return st;
    }
    *out = obj;
    return JN_OK;
}
