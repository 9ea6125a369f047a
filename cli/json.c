/* json.c - the run records: a small JSON writer (objects, arrays, strings,
 * numbers), a reader for single number fields (enough for the sweep's
 * summary), and atomic file replacement so a killed run never leaves half a
 * record that a resumed sweep would mistake for a finished one. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void json_begin(json_out *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = 1;
}

/* Comma and indentation before the next member. */
static void member(json_out *j)
{
    if (!j->first[j->depth]) fputc(',', j->f);
    j->first[j->depth] = 0;
    if (j->depth) fprintf(j->f, "\n%*s", 2 * j->depth, "");
}

static void string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void json_key(json_out *j, const char *key)
{
    member(j);
    if (key) {
        string(j->f, key);
        fputs(": ", j->f);
    }
}

void json_open(json_out *j, char bracket)
{
    fputc(bracket, j->f);
    if (j->depth < 15) j->depth++;
    j->first[j->depth] = 1;
}

void json_close(json_out *j, char bracket)
{
    int empty = j->first[j->depth];
    if (j->depth) j->depth--;
    if (!empty) fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
    if (j->depth == 0) fputc('\n', j->f);
}

void json_str(json_out *j, const char *key, const char *value)
{
    json_key(j, key);
    if (value) string(j->f, value);
    else fputs("null", j->f);
}

void json_num(json_out *j, const char *key, double value)
{
    json_key(j, key);
    if (isfinite(value)) fprintf(j->f, "%.10g", value);
    else fputs("null", j->f);
}

void json_int(json_out *j, const char *key, long long value)
{
    json_key(j, key);
    fprintf(j->f, "%lld", value);
}

int json_text_number(const char *text, const char *key, double *out)
{
    char pattern[80];
    snprintf(pattern, sizeof pattern, "\n  \"%s\": ", key); /* top-level members only */
    const char *p = strstr(text, pattern);
    if (!p) return -1;
    p += strlen(pattern);
    char *end;
    double v = strtod(p, &end);
    if (end == p) return -1;
    *out = v;
    return 0;
}

char *json_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        if (fread(text, 1, (size_t)size, f) != (size_t)size) {
            free(text);
            text = NULL;
        } else {
            text[size] = '\0';
        }
    }
    fclose(f);
    return text;
}

int write_file_atomic(const char *path, const char *text, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return -1;
    snprintf(tmp, plen + 16, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), ok = fd >= 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    if (fd >= 0) {
        ok = ok && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "jacnet: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}
