/* model_file.h - private entry points of model_file.c that work on memory
 * instead of files, for the fuzzer (fuzz/fuzz_model.c) and for tests. Not
 * part of the public ABI; the layout is in docs/FORMAT.md. */
#ifndef JACNET_MODEL_FILE_H
#define JACNET_MODEL_FILE_H

#include "base/base.h"

/* Parse a complete model file image of len bytes (data may be NULL when len
 * is 0). `name` only labels the error messages (NULL: "<memory>"). Same
 * checks and statuses as jn_net_load; *out is NULL on failure. */
jn_status jn__net_load_memory(jn_net **out, const void *data, size_t len, const char *name);

/* Encode net as a model file image into a new buffer (*data, *len; free()
 * it). Refuses non-finite parameters with JN_ERR_INVALID. */
jn_status jn__net_save_memory(const jn_net *net, unsigned char **data, size_t *len);

/* The same with the parameter vector `params` (net's layout) in place of
 * net's own: a model file of another point of the same network (the
 * checkpoints' best parameters). */
jn_status jn__net_image(const jn_net *net, const float *params, unsigned char **data, size_t *len);

#endif
