/* args.c - table-driven option parsing for every subcommand: the same table
 * gives the parser and the --help text, so the help cannot miss an option.
 * Numbers are parsed strictly: "abc", "1e", "5x" and out-of-range values are
 * refused with a one-line message (exit status 2). */
/* sched_getaffinity and CPU_COUNT are GNU extensions. */
#define _GNU_SOURCE 1
#include "cli.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "jacnet %s: ", command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'jacnet %s --help')\n", command);
    return EXIT_USAGE;
}

const char *cli_num(char buf[32], double v)
{
    for (int digits = 1; digits < 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return buf;
    }
    snprintf(buf, 32, "%.17g", v);
    return buf;
}

const char *cli_plain_error(const char *message)
{
    size_t n = strspn(message, "abcdefghijklmnopqrstuvwxyz0123456789_");
    if (!strncmp(message, "jn_", 3) && !strncmp(message + n, ": ", 2)) return message + n + 2;
    return message;
}

int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') return -1; /* strtoull would accept "-1" and " 1" */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE) return -1;
    *out = (uint64_t)v;
    return 0;
}

int parse_list(const char *s, double *out, int max)
{
    int n = 0;
    char buf[1024];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    /* Every field must be a number: "0.1,", ",0.1" and "0,,1" are refused
     * (strtok would skip the empty fields). */
    for (char *tok = buf, *comma; tok; tok = comma ? comma + 1 : NULL) {
        if ((comma = strchr(tok, ','))) *comma = '\0';
        if (n == max || parse_double(tok, &out[n]) || out[n] < 0) return -1;
        n++;
    }
    return n;
}

int parse_hidden(const char *s, size_t *widths, size_t *count)
{
    *count = 0;
    const char *p = s;
    for (;;) {
        if (*count == 8 || *p < '0' || *p > '9') return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE || v == 0 || v > 1000000) return -1;
        widths[(*count)++] = (size_t)v;
        if (*end == '\0') return 0;
        if (*end != ',' && *end != 'x') return -1;
        p = end + 1;
    }
}

static void print_default(const opt_spec *o)
{
    switch (o->kind) {
    case OPT_FLAG: break;
    case OPT_STRING: if (*(const char **)o->value) printf(" (default %s)", *(const char **)o->value); break;
    case OPT_DOUBLE: /* NaN: no default (--lambda, which some models require) */
        if (isfinite(*(double *)o->value)) printf(" (default %g)", *(double *)o->value);
        break;
    case OPT_UINT: printf(" (default %u)", *(unsigned *)o->value); break;
    case OPT_SIZE: printf(" (default %zu)", *(size_t *)o->value); break;
    case OPT_U64: printf(" (default %llu)", (unsigned long long)*(uint64_t *)o->value); break;
    }
}

static void print_help(const char *command, const char *synopsis, const opt_spec *specs)
{
    printf("usage: jacnet %s %s\n\noptions:\n", command, synopsis);
    for (const opt_spec *o = specs; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-24s %s", left, o->help);
        print_default(o);
        printf("\n");
    }
    printf("  %-24s %s\n", "--help", "show this help");
}

static int set_value(const char *command, const opt_spec *o, const char *v)
{
    double d;
    uint64_t u;
    switch (o->kind) {
    case OPT_FLAG: return 0;
    case OPT_STRING:
        if (!*v) return usage_error(command, "--%s needs a non-empty value", o->name);
        *(const char **)o->value = v;
        return 0;
    case OPT_DOUBLE:
        if (parse_double(v, &d) || d < o->min || d > o->max)
            return usage_error(command, "--%s: '%s' is not a number in [%g, %g]", o->name, v, o->min, o->max);
        *(double *)o->value = d;
        return 0;
    case OPT_UINT: case OPT_SIZE: case OPT_U64:
        if (parse_u64(v, &u) || (double)u < o->min || (double)u > o->max)
            return usage_error(command, "--%s: '%s' is not an integer in [%.0f, %.0f]", o->name, v, o->min,
                               o->max);
        if (o->kind == OPT_UINT) *(unsigned *)o->value = (unsigned)u;
        else if (o->kind == OPT_SIZE) *(size_t *)o->value = (size_t)u;
        else *(uint64_t *)o->value = u;
        return 0;
    }
    return EXIT_USAGE;
}

int parse_options(const char *command, const char *synopsis, const opt_spec *specs, int argc, char **argv,
                  int first, const char **positional, size_t max_positional, size_t *n_positional)
{
    *n_positional = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(command, synopsis, specs);
            return -1;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (*n_positional == max_positional) return usage_error(command, "unexpected argument '%s'", a);
            positional[(*n_positional)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_spec *o = specs;
        while (o->name && (strlen(o->name) != len || strncmp(o->name, name, len) != 0)) o++;
        if (!o->name) return usage_error(command, "unknown option '%.*s'", (int)(len + 2), a);
        if (o->kind == OPT_FLAG) {
            if (eq) return usage_error(command, "--%s takes no value", o->name);
            *(int *)o->value = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return usage_error(command, "--%s needs a value", o->name);
        int rc = set_value(command, o, v);
        if (rc) return rc;
    }
    return 0;
}

/* The threads a command runs with: --threads T; else 0 when JACNET_THREADS
 * is set (the library reads it); else every CPU the process may use, on the library's own
 * pool. An embedding program keeps its BLAS's setting unless it asks; the
 * tool owns its process, and the library's split of the products ran USPS's
 * net 1.15-1.29x faster than OpenBLAS's own threads and MNIST's as fast
 * (docs/PERFORMANCE.md), with results that do not depend on the count. */
unsigned cli_threads(unsigned requested)
{
    if (requested) return requested;
    const char *env = getenv("JACNET_THREADS");
    if (env && *env) return 0;
    /* The CPUs this process may run on (taskset, cpusets), else all online. */
    cpu_set_t mask;
    long cpus = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1u : cpus > 256 ? 256u : (unsigned)cpus;
}

/* The presets' names, from the library's table, joined by ", " (flag 0:
 * all of them; else those whose jn_model_uses has every bit of flag): for
 * help texts, so no list of names is written in the tool. */
const char *cli_model_names(unsigned flag)
{
    static char buf[4][128];
    char *out = buf[flag & 3];
    size_t len = 0;
    out[0] = 0;
    for (int m = JN_MODEL_MLP; jn_model_name((jn_model)m); m++) {
        if ((jn_model_uses((jn_model)m) & flag) != flag) continue;
        len += (size_t)snprintf(out + len, sizeof buf[0] - len, "%s%s", len ? ", " : "", jn_model_name((jn_model)m));
        if (len >= sizeof buf[0]) break;
    }
    return out;
}
