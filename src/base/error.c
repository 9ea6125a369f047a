/* error.c - status names and the per-thread error message. */
#include "base/base.h"

#include <stdio.h>

static const char *const status_names[] = {
#define JN_STATUS_NAME_(name, text) text,
    JN_STATUS_LIST(JN_STATUS_NAME_)
#undef JN_STATUS_NAME_
};

/* Thread-local so that two threads using distinct handles never see each
 * other's messages; a fixed buffer so the pointer is never freed memory. */
static _Thread_local char last_error[512];

JN_API const char *jn_status_str(jn_status status)
{
    if ((int)status < 0 || status >= JN_STATUS_COUNT_) return "unknown status";
    return status_names[status];
}

JN_API const char *jn_last_error(void) { return last_error; }

jn_status jn__fail(jn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}


JN_API unsigned jn_version(void) { return JN_VERSION_NUMBER; }

#define JN_STR2_(x) #x
#define JN_STR_(x) JN_STR2_(x)
JN_API const char *jn_version_string(void)
{
    return JN_STR_(JN_VERSION_MAJOR) "." JN_STR_(JN_VERSION_MINOR) "." JN_STR_(JN_VERSION_PATCH);
}
