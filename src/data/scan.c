/* scan.c - locale-independent decimal number scanning for the text loaders.
 *
 * strtod would follow the program's LC_NUMERIC (a decimal comma breaks every
 * file) and needs NUL-terminated tokens; this scanner reads exactly the
 * plain decimal forms data files use and reports how many bytes it took. */
#include "data/reader.h"

#include <math.h>

/* Powers of ten that a double holds exactly: m * 10^e with m < 2^53 and
 * |e| <= 22 is then one correctly rounded multiply or divide. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

size_t jn__scan_number(const char *s, size_t n, double *value)
{
    size_t i = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    uint64_t mant = 0;
    int digits = 0;        /* significant digits kept in mant */
    long exp10 = 0;        /* value = mant * 10^exp10 */
    int any = 0;
    for (; i < n && is_digit(s[i]); i++, any = 1) {
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            if (mant) digits++;
        } else {
            exp10++; /* digits beyond 19 only scale the value */
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++, any = 1) {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                if (mant) digits++;
                exp10--;
            }
        }
    }
    if (!any) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        int eneg = 0;
        if (j < n && (s[j] == '+' || s[j] == '-')) eneg = s[j++] == '-';
        if (j < n && is_digit(s[j])) {
            long e = 0;
            for (; j < n && is_digit(s[j]); j++)
                if (e < 100000) e = e * 10 + (s[j] - '0'); /* far past any double */
            exp10 += eneg ? -e : e;
            i = j;
        }
        /* "1e" without digits: the number ends before the 'e'; the caller
         * then sees a token with trailing junk and refuses it. */
    }
    double v = (double)mant;
    if (mant == 0) {
        v = 0.0;
    } else if (mant < ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        v = exp10 < 0 ? v / exact_pow10[-exp10] : v * exact_pow10[exp10];
    } else {
        v = v * pow(10.0, (double)exp10); /* rare in data files; close enough */
    }
    *value = negative ? -v : v;
    return i;
}
