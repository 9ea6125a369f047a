/* threads.c - the thread count, and a small pool of the library's own
 * threads for the products (gemm.c) and the elementwise and row-wise loops
 * around them.
 *
 * The count: JACNET_THREADS (an integer 1..256) is read once, at the first
 * GEMM-using call (jn__work_reserve) or the first jn_set_threads, whichever
 * comes first; an explicit jn_set_threads afterwards overrides it.
 *  - Chosen (by either): the library runs n threads of its own and holds
 *    the BLAS at one thread (openblas_set_num_threads(1), looked up at run
 *    time, so the library links against any CBLAS, including reference ones
 *    without threads); gemm.c then splits every float32 product into row
 *    blocks over this pool. Why not let the BLAS thread its GEMMs: a
 *    training step makes a dozen mid-sized GEMMs, and OpenBLAS's workers
 *    hand each one over by spinning with sched_yield and waking up in the
 *    kernel; on 2 cores that took about a fifth of an exact-penalty step
 *    (issue 12, docs/PERFORMANCE.md).
 *  - Not chosen (unset, empty or invalid): the BLAS's own default count
 *    (OpenBLAS: OPENBLAS_NUM_THREADS, else every core), which the pool then
 *    follows; the GEMMs are the BLAS's own, threaded as it is, and the
 *    library never changes the BLAS's setting. A library must not quietly
 *    make its host (numpy, say) single-threaded; choosing a count is the
 *    caller's consent to holding the process's BLAS at one thread.
 * The setting is process-wide, like the BLAS's.
 *
 * Why a pool of our own rather than OpenMP (docs/PERFORMANCE.md): OpenBLAS's
 * pthreads build keeps its workers busy-waiting (with sched_yield) for a
 * while after every GEMM, and libgomp's idle threads spin likewise after
 * every parallel region unless the application sets OMP_WAIT_POLICY, which a
 * library cannot do once libgomp has started. Two spinning pools on two cores
 * take turns stealing each other's core. This pool's workers never spin:
 * they sleep on a condition variable and are woken for each region, so
 * between regions the cores are free, and a region costs one wake-up (a few
 * microseconds), which the size threshold below amortises. It also adds no
 * run-time dependency and survives fork().
 *
 * Results never depend on the thread count: a region splits a range into
 * contiguous parts and each element is computed by the same code whoever
 * runs it; sums go through jn__parallel_sum, whose partition into chunks
 * depends only on the range's length; gemm.c says why its products qualify. */
#define _GNU_SOURCE 1
#include "base/base.h"
#include "backend/backend.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define JN_MAX_THREADS 256
/* A region is worth splitting only when each part touches at least this
 * many floats (or equivalent work units): a wake-up costs a few
 * microseconds, about as long as a vectorised pass over 16k floats. */
#define JN_PART_MIN_WORK 16384
/* Most partial sums a reduction keeps (on the stack). */
#define JN_MAX_CHUNKS 256

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static atomic_int pool_threads = 1;
/* 1 once a count was chosen: the BLAS held at one thread, products split here. */
static atomic_int count_chosen = 0;

/* A BLAS without openblas_set_num_threads runs as it was built (reference
 * CBLAS: one thread anyway). */
static void blas_hold_at_one(void)
{
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set) set(1);
}

static int blas_get(void)
{
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    int n = get ? get() : 1;
    return n < 1 ? 1 : n > JN_MAX_THREADS ? JN_MAX_THREADS : n;
}

static void choose(int n)
{
    blas_hold_at_one();
    atomic_store(&pool_threads, n);
    atomic_store(&count_chosen, 1);
}

static void read_env(void)
{
    const char *s = getenv("JACNET_THREADS");
    if (s && *s) {
        char *end;
        long n = strtol(s, &end, 10);
        /* A bad value is ignored rather than failing some unrelated call later. */
        if (*end == 0 && n >= 1 && n <= JN_MAX_THREADS) {
            choose((int)n);
            return;
        }
    }
    atomic_store(&pool_threads, blas_get());
}

void jn__threads_init(void) { pthread_once(&env_once, read_env); }

int jn__threads(void)
{
    jn__threads_init();
    return atomic_load(&pool_threads);
}

int jn__gemm_split(void)
{
    jn__threads_init();
    return atomic_load(&count_chosen);
}

JN_API jn_status jn_set_threads(int n)
{
    if (n < 1 || n > JN_MAX_THREADS)
        return jn__fail(JN_ERR_INVALID, "jn_set_threads: n = %d, need 1..%d", n, JN_MAX_THREADS);
    jn__threads_init(); /* so a later first GEMM does not override n with the environment */
    choose(n);
    return JN_OK;
}

/* ---- the pool ---- */

typedef struct worker_arg {
    int part;                /* the part of each region this worker runs (1..) */
    unsigned long seen;      /* last region it has looked at */
} worker_arg;

static struct {
    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t wake;     /* a region was posted, or stop */
    pthread_cond_t done;     /* the last worker part of a region finished */
    pthread_t tid[JN_MAX_THREADS];
    worker_arg arg[JN_MAX_THREADS];
    int started;             /* workers running */
    int stop;
    unsigned long region;    /* number of the current region */
    int parts;               /* parts of the current region; part 0 is the caller's */
    int remaining;           /* worker parts not yet finished */
    jn__range_fn fn;
    void *ctx;
    size_t count, grain;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

/* One region at a time, process-wide: a caller that finds the pool busy
 * (another application thread is in a region) runs its loop alone, which
 * gives the same result. */
static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Part p of `parts` over [0, count): contiguous, split at multiples of grain. */
static void part_bounds(size_t count, size_t grain, int parts, int p, size_t *begin, size_t *end)
{
    size_t units = (count + grain - 1) / grain;
    size_t b = units * (size_t)p / (size_t)parts, e = units * (size_t)(p + 1) / (size_t)parts;
    *begin = b * grain;
    *end = e * grain < count ? e * grain : count;
}

static void *worker_main(void *argp)
{
    worker_arg *arg = argp;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.region == arg->seen && !pool.stop) pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stop) break;
        arg->seen = pool.region;
        if (arg->part >= pool.parts) continue;
        size_t begin, end;
        part_bounds(pool.count, pool.grain, pool.parts, arg->part, &begin, &end);
        jn__range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.lock);
        if (begin < end) fn(ctx, begin, end);
        pthread_mutex_lock(&pool.lock);
        if (--pool.remaining == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* In a child of fork() only the forking thread exists: forget the workers
 * (their memory is the parent's copy) and start afresh on first use. */
static void atfork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pthread_mutex_init(&pool_owner, NULL);
    pool.started = 0;
    pool.stop = 0;
    pool.remaining = 0;
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, atfork_child); }

/* Start workers until `want` run (pool.lock held); returns how many run. */
static int start_workers(int want)
{
    pthread_once(&atfork_once, register_atfork);
    while (pool.started < want) {
        int k = pool.started;
        pool.arg[k].part = k + 1;
        pool.arg[k].seen = pool.region; /* set before the next region is posted */
        if (pthread_create(&pool.tid[k], NULL, worker_main, &pool.arg[k]) != 0) break;
        pool.started++;
    }
    return pool.started;
}

/* Stop and join the workers when the library is unloaded (dlclose) or the
 * process exits, unless some thread is inside a region. */
__attribute__((destructor)) static void stop_workers(void)
{
    if (pthread_mutex_trylock(&pool_owner) != 0) return;
    pthread_mutex_lock(&pool.lock);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.wake);
    int started = pool.started;
    pthread_mutex_unlock(&pool.lock);
    for (int k = 0; k < started; k++) pthread_join(pool.tid[k], NULL);
    pool.started = 0;
    pool.stop = 0;
    pthread_mutex_unlock(&pool_owner);
}

void jn__parallel_for(size_t count, size_t grain, size_t cost, jn__range_fn fn, void *ctx)
{
    if (count == 0) return;
    if (grain == 0) grain = 1;
    size_t units = (count + grain - 1) / grain;
    double work = (double)count * (double)(cost ? cost : 1);
    int parts = jn__threads();
    if ((double)parts * JN_PART_MIN_WORK > work) parts = (int)(work / JN_PART_MIN_WORK);
    if ((size_t)parts > units) parts = (int)units;
    if (parts < 2 || pthread_mutex_trylock(&pool_owner) != 0) {
        fn(ctx, 0, count);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    int workers = start_workers(parts - 1);
    if (workers < parts - 1) parts = workers + 1;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.count = count;
    pool.grain = grain;
    pool.parts = parts;
    pool.remaining = parts - 1;
    pool.region++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    size_t begin, end;
    part_bounds(count, grain, parts, 0, &begin, &end);
    if (begin < end) fn(ctx, begin, end);

    pthread_mutex_lock(&pool.lock);
    while (pool.remaining > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool_owner);
}

/* ---- sums in a fixed partition ---- */

typedef struct sum_job {
    jn__sum_fn fn;
    void *ctx;
    size_t count, chunk;
    double *partial;
} sum_job;

static void sum_chunks(void *ctxp, size_t begin, size_t end)
{
    sum_job *job = ctxp;
    for (size_t c = begin; c < end; c++) {
        size_t b = c * job->chunk, e = b + job->chunk < job->count ? b + job->chunk : job->count;
        job->partial[c] = job->fn(job->ctx, b, e);
    }
}

double jn__parallel_sum(size_t count, size_t chunk, size_t cost, jn__sum_fn fn, void *ctx)
{
    if (count == 0) return 0.0;
    if (chunk == 0) chunk = 1;
    /* Grow the chunk (in whole multiples) until the partials fit: the
     * partition depends on count alone, never on the thread count. */
    size_t chunks = (count + chunk - 1) / chunk;
    if (chunks > JN_MAX_CHUNKS) {
        size_t times = (chunks + JN_MAX_CHUNKS - 1) / JN_MAX_CHUNKS;
        chunk *= times;
        chunks = (count + chunk - 1) / chunk;
    }
    double partial[JN_MAX_CHUNKS];
    sum_job job = {fn, ctx, count, chunk, partial};
    jn__parallel_for(chunks, 1, chunk * (cost ? cost : 1), sum_chunks, &job);
    double total = 0.0;
    for (size_t c = 0; c < chunks; c++) total += partial[c];
    return total;
}
