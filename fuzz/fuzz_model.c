/* fuzz_model.c - libFuzzer target for the model file parser.
 *
 * Each input is parsed twice: as given, and with its last four bytes
 * replaced by the correct CRC-32, so that the fuzzer also reaches the code
 * behind the checksum (network creation, parameter decoding, the finiteness
 * check) without having to forge CRCs. Invariants checked:
 *   - failure leaves *out NULL and is JN_ERR_FORMAT (or NOMEM);
 *   - success re-encodes to exactly the input bytes (the format has one
 *     encoding per network). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "net/model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
    jn_net *net = (jn_net *)&net;
    jn_status st = jn__net_load_memory(&net, data, size, "fuzz");
    if (st != JN_OK) {
        if (net != NULL) abort();
        if (st != JN_ERR_FORMAT && st != JN_ERR_NOMEM) abort();
        if (jn_last_error()[0] == '\0') abort();
        return;
    }
    unsigned char *img = NULL;
    size_t len = 0;
    if (jn__net_save_memory(net, &img, &len) != JN_OK) abort();
    if (len != size || memcmp(img, data, size) != 0) abort();
    free(img);
    jn_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size >= 4) {
        uint8_t *copy = malloc(size);
        if (!copy) return 0;
        memcpy(copy, data, size);
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++) copy[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        check(copy, size);
        free(copy);
    }
    return 0;
}
