/* backend/precision.h - which precision the penalty runs in, chosen by
 * measurement (precision.c). */
#ifndef JN_PRECISION_H
#define JN_PRECISION_H

#include "backend/backend.h"
#include "net/net.h"
#include "train/objective.h"

/* What a requested precision runs as, where that needs no measurement:
 * float32, bfloat16 (JACNET_FORCE_BF16=1), or measure (JN__RUN_MEASURE). */
enum { JN__RUN_FP32, JN__RUN_BF16, JN__RUN_MEASURE };
int jn__precision_resolve(jn_precision want);
/* *products = the products (backend.h) the penalty on pass p (forwarded,
 * as jn__penalty needs) runs on for obj, float32 or bfloat16: resolved, or
 * measured on this shape once per process (which runs the penalty a few
 * times both ways; grad as the caller's jn__penalty will get it) and
 * recorded in obj->ran. Where it measured, jn__work_reserve_bf16 is done;
 * a bfloat16 answer needs it in any case. */
jn_status jn__precision_choose(jn_net *net, const jn_objective *obj, const jn__step *step, int p, double weight,
                               float *grad, const jn__products **products);
/* For tests: the number of shapes timed so far in the process (answers
 * found in memory or in the wisdom file do not count), and forgetting the
 * answers kept in memory. */
unsigned long jn__precision_timings(void);
void jn__precision_forget(void);

#endif
