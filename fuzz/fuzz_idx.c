/* fuzz_idx.c - libFuzzer target for the IDX loader. The first two bytes
 * choose where the input splits into the images file and the labels file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t split = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
    const uint8_t *img = data + 2, *lab = data + 2 + split;
    size_t img_len = split, lab_len = size - 2 - split;
    jn_dataset *ds = NULL;
    unsigned flags = (size & 1) ? JN_LOAD_BINARIZE : 0;
    if (fuzz_is_gzip(img, img_len) || fuzz_is_gzip(lab, lab_len)) {
        const char *ip = fuzz_file(0, img, img_len), *lp = fuzz_file(1, lab, lab_len);
        fuzz_check(jn_dataset_load_idx(&ds, ip, lp, flags), ds);
        unlink(ip);
        unlink(lp);
    } else {
        fuzz_check(jn__parse_idx(&ds, img, img_len, "images", lab, lab_len, "labels", flags), ds);
    }
    return 0;
}
