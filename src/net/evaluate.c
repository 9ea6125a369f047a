/* evaluate.c - a network's mean loss on a dataset, and the trainer's
 * validation score (error rate for labels, mean loss for float targets) as
 * a sum over examples, so that processes can add up their shares. */
#include "base/base.h"
#include "data/dataset.h"
#include "net/net.h"
#include "train/objective.h"

#include <stdlib.h>
#include <string.h>

/* Rows per jn_net_objective call: bounds the one-hot buffer and the
 * network's workspace however large the dataset is. */
#define EVAL_ROWS 256

/* Sum over ds of each example's loss (no penalties), with the checks of
 * jn_net_mean_loss. */
static jn_status loss_sum(jn_net *net, const jn_objective *obj, const jn_dataset *ds, double *total)
{
    size_t D = net->sizes[0], K = net->sizes[net->layers];
    if (ds->dim != D || ds->classes != K)
        return jn__fail(JN_ERR_INVALID, "jn_net_mean_loss: dataset of %zu features and %zu %s, the network "
                        "maps %zu inputs to %zu outputs", ds->dim, ds->classes, ds->targets ? "targets" : "classes",
                        D, K);
    /* The loss alone: the same code path as training, with no penalties. */
    jn_objective plain = *obj;
    plain.l2 = 0.0;
    plain.jacobian = 0.0;
    size_t rows = ds->count < EVAL_ROWS ? ds->count : EVAL_ROWS;
    float *onehot = NULL;
    if (!ds->targets && !(onehot = jn__alloc(rows, K * sizeof(float), "jn_net_mean_loss"))) return JN_ERR_NOMEM;
    jn_status st = JN_OK;
    double sum = 0.0;
    for (size_t i = 0; i < ds->count && st == JN_OK; i += rows) {
        size_t m = ds->count - i < rows ? ds->count - i : rows;
        const float *Y = ds->targets ? ds->targets + i * K : onehot;
        if (!ds->targets) {
            memset(onehot, 0, m * K * sizeof(float));
            for (size_t r = 0; r < m; r++) onehot[r * K + ds->labels[i + r]] = 1.0f;
        }
        double mean = 0.0;
        st = jn_net_objective(net, &plain, ds->features + i * D, NULL, Y, m, &mean, NULL);
        sum += mean * (double)m;
    }
    free(onehot);
    if (st == JN_OK) *total = sum;
    return st;
}

JN_API jn_status jn_net_mean_loss(jn_net *net, const jn_objective *obj, const jn_dataset *ds, double *loss)
{
    if (!net || !obj || !ds || !loss)
        return jn__fail(JN_ERR_INVALID, "jn_net_mean_loss: %s is NULL",
                        !net ? "net" : !obj ? "obj" : !ds ? "ds" : "loss");
    double sum = 0.0;
    jn_status st = loss_sum(net, obj, ds, &sum);
    if (st == JN_OK) *loss = sum / (double)ds->count;
    return st;
}

jn_status jn__validation_sum(jn_net *net, const jn_objective *obj, const jn_dataset *ds, double *sum)
{
    if (ds->targets) return loss_sum(net, obj, ds, sum);
    /* The trainer checked the shapes (jn_net_error_rate's other checks). */
    size_t wrong = 0;
    jn_status st = jn__count_errors(net, ds, &wrong);
    if (st == JN_OK) *sum = (double)wrong;
    return st;
}
