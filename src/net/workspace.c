/* workspace.c - per-network scratch buffers, grown on demand and reused, so
 * that a training step allocates nothing once the batch size is stable. */
#include "base/base.h"
#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void free_layers(float **v, size_t layers)
{
    if (!v) return;
    for (size_t l = 0; l <= layers; l++) free(v[l]);
    free(v);
}

static void free_layers16(uint16_t **v, size_t layers)
{
    if (!v) return;
    for (size_t l = 0; l <= layers; l++) free(v[l]);
    free(v);
}

static void free_pass(jn_pass *p, size_t layers)
{
    free_layers(p->z, layers);
    free_layers(p->a, layers);
    free_layers(p->d1, layers);
    free_layers(p->d2, layers);
    memset(p, 0, sizeof *p);
}

/* Stored so jn__work_free does not need the network. */
static size_t work_layers(const jn_work *w) { return w->cap_layers; }

void jn__work_free(jn_work *w)
{
    if (!w) return;
    size_t L = work_layers(w);
    free_pass(&w->pass[0], L);
    free_pass(&w->pass[1], L);
    free_layers(w->delta, L);
    free_layers(w->zbar, L);
    free_layers(w->T, L);
    free_layers(w->Tbar, L);
    free_layers(w->V, L);
    free(w->Jr);
    free(w->O);
    free(w->proj);
    free(w->gram_G);
    free(w->gram_A);
    free_layers16(w->W16, L);
    free_layers16(w->T16, L);
    free(w->R16);
    jn__dnnl_free(w->dnnl);
    memset(w, 0, sizeof *w);
}

/* An array of layers+1 buffers, buffer l holding rows x sizes[l] floats
 * (index 0 unused and NULL). */
static float **alloc_layers(const jn_net *net, size_t rows, size_t first)
{
    float **v = jn__calloc(net->layers + 1, sizeof *v, "workspace");
    if (!v) return NULL;
    for (size_t l = first; l <= net->layers; l++) {
        size_t cells;
        if (!jn__mul(rows, net->sizes[l], &cells) || !(v[l] = jn__alloc(cells, sizeof(float), "workspace"))) {
            free_layers(v, net->layers);
            return NULL;
        }
    }
    return v;
}

static float *alloc_cells(size_t a, size_t b, size_t c)
{
    size_t ab, abc;
    if (!jn__mul(a, b, &ab) || !jn__mul(ab, c, &abc)) {
        jn__fail(JN_ERR_INVALID, "workspace: %zu x %zu x %zu is too large", a, b, c);
        return NULL;
    }
    return jn__alloc(abc, sizeof(float), "workspace");
}

/* The buffers every pass needs, for cap_n rows. */
static int alloc_rows(jn_net *net, jn_work *w, size_t cap_n)
{
    for (int p = 0; p < 2; p++) {
        jn_pass *pass = &w->pass[p];
        if (!(pass->z = alloc_layers(net, cap_n, 1)) || !(pass->a = alloc_layers(net, cap_n, 1)) ||
            !(pass->d1 = alloc_layers(net, cap_n, 1)) || !(pass->d2 = alloc_layers(net, cap_n, 1)))
            return 0;
    }
    return (w->delta = alloc_layers(net, cap_n, 1)) && (w->zbar = alloc_layers(net, cap_n, 1));
}

/* The Jacobian chain's buffers, for cap_jn examples of cap_r rows each. */
static int alloc_jacobian(jn_net *net, jn_work *w, size_t cap_jn, size_t cap_r)
{
    size_t K = net->sizes[net->layers], D = net->sizes[0], nr = cap_jn * cap_r;
    return (w->T = alloc_layers(net, nr, 1)) && (w->Tbar = alloc_layers(net, nr, 1)) &&
           (w->V = alloc_layers(net, nr, 1)) && (w->Jr = alloc_cells(nr, D, 1)) &&
           (w->O = alloc_cells(cap_jn, K, K)) && (w->proj = alloc_cells(cap_jn, K, cap_r));
}

static void free_jacobian(jn_work *w)
{
    size_t L = work_layers(w);
    free_layers(w->T, L);
    free_layers(w->Tbar, L);
    free_layers(w->V, L);
    free(w->Jr);
    free(w->O);
    free(w->proj);
    /* The bfloat16 copies are as deep as the Jacobian rows: they go with
     * them, and jn__work_reserve_bf16 makes them again at the new depth. */
    free_layers16(w->T16, L);
    free(w->R16);
    w->T16 = NULL;
    w->R16 = NULL;
    w->T = w->Tbar = w->V = NULL;
    w->Jr = w->O = w->proj = NULL;
    w->cap_jn = w->cap_r = 0;
}

jn_status jn__work_reserve(jn_net *net, size_t n, size_t r)
{
    jn__threads_init();
    if (!net->work && !(net->work = jn__calloc(1, sizeof *net->work, "workspace"))) return JN_ERR_NOMEM;
    jn_work *w = net->work;
    w->cap_layers = net->layers;
    /* The rows of a pass and the Jacobian rows grow separately: a
     * prediction over 512 rows after training with batch 20 must not make
     * the Jacobian buffers 512 examples deep. */
    int rows_ok = w->pass[0].z && n <= w->cap_n;
    int jac_ok = r == 0 || (w->T && n <= w->cap_jn && r <= w->cap_r);
    if (rows_ok && jac_ok) return JN_OK;
    /* Grow to the larger of the old and new needs, so alternating batch
     * sizes do not reallocate every call. CBLAS takes int dimensions: every
     * GEMM row count must fit. */
    size_t cap_n = n > w->cap_n ? n : w->cap_n;
    size_t cap_jn = n > w->cap_jn ? n : w->cap_jn, cap_r = r > w->cap_r ? r : w->cap_r, nr;
    if (cap_n > INT_MAX || (!jac_ok && (!jn__mul(cap_jn, cap_r, &nr) || nr > INT_MAX)))
        return jn__fail(JN_ERR_INVALID, "batch of %zu rows x %zu Jacobian rows is too large for one call", n, r);
    int ok = 1;
    if (!rows_ok) {
        for (int p = 0; p < 2; p++) free_pass(&w->pass[p], w->cap_layers);
        free_layers(w->delta, w->cap_layers);
        free_layers(w->zbar, w->cap_layers);
        w->delta = w->zbar = NULL;
        w->cap_n = 0;
        ok = alloc_rows(net, w, cap_n);
        if (ok) w->cap_n = cap_n;
    }
    if (ok && !jac_ok) {
        free_jacobian(w);
        ok = alloc_jacobian(net, w, cap_jn, cap_r);
        if (ok) {
            w->cap_jn = cap_jn;
            w->cap_r = cap_r;
        }
    }
    if (!ok) {
        /* Scratch only: dropping all of it leaves the network as it was. */
        jn__work_free(w);
        return JN_ERR_NOMEM;
    }
    return JN_OK;
}

jn_status jn__work_reserve_run(jn_net *net, const jn_objective *obj, size_t batch, size_t eval_rows)
{
    size_t K = net->sizes[net->layers];
    size_t r = obj->jacobian > 0.0 ? (obj->projections ? obj->projections : K) : 0;
    jn_status st = jn__work_reserve(net, batch, r);
    if (st == JN_OK && eval_rows > 0) st = jn__work_reserve(net, eval_rows < JN_CHUNK ? eval_rows : JN_CHUNK, 0);
    return st;
}

jn_status jn__work_reserve_gram(jn_net *net)
{
    jn_work *w = net->work;
    if (w->gram_G && w->gram_A) return JN_OK;
    size_t H1 = net->sizes[1];
    w->gram_G = w->gram_G ? w->gram_G : alloc_cells(H1, H1, 1);
    w->gram_A = w->gram_A ? w->gram_A : alloc_cells(H1, H1, 1);
    return w->gram_G && w->gram_A ? JN_OK : JN_ERR_NOMEM;
}

/* An array of layers+1 bfloat16 buffers, buffer l holding rows x sizes[l]
 * x (cols_prev ? sizes[l-1] : 1) values (index 0 unused and NULL). */
static uint16_t **alloc_layers16(const jn_net *net, size_t rows, int cols_prev)
{
    uint16_t **v = jn__calloc(net->layers + 1, sizeof *v, "workspace");
    if (!v) return NULL;
    for (size_t l = 1; l <= net->layers; l++) {
        size_t cells, all;
        if (!jn__mul(rows, net->sizes[l], &cells) || !jn__mul(cells, cols_prev ? net->sizes[l - 1] : 1, &all) ||
            !(v[l] = jn__alloc(all, sizeof(uint16_t), "workspace"))) {
            free_layers16(v, net->layers);
            return NULL;
        }
    }
    return v;
}

jn_status jn__work_reserve_bf16(jn_net *net)
{
    jn_work *w = net->work;
    if (w->W16 && w->T16 && w->R16) return JN_OK;
    size_t nr = w->cap_n * w->cap_r, widest = net->sizes[0];
    for (size_t l = 1; l <= net->layers; l++)
        if (net->sizes[l] > widest) widest = net->sizes[l];
    if (!w->W16) w->W16 = alloc_layers16(net, 1, 1);
    if (!w->T16) w->T16 = alloc_layers16(net, nr, 0);
    if (!w->R16) w->R16 = jn__alloc(nr, widest * sizeof(uint16_t), "workspace");
    return w->W16 && w->T16 && w->R16 ? JN_OK : JN_ERR_NOMEM;
}
