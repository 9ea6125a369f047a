/* fuzz_usps.c - libFuzzer target for the USPS loader. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jn_dataset *ds = NULL;
    if (fuzz_is_gzip(data, size)) {
        const char *p = fuzz_file(0, data, size);
        fuzz_check(jn_dataset_load_usps(&ds, p), ds);
        unlink(p);
    } else {
        /* The parser sees exactly size bytes, without the reader's NUL: any
         * read past the end is an ASan report. */
        fuzz_check(jn__parse_usps(&ds, (const char *)data, size, "input"), ds);
    }
    return 0;
}
