#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lines.h"

#define PREFIX(r) ((r)->what ? (r)->what : ""), ((r)->what ? ": " : "")

int sw_lines_open(sw_lines *r, const char *path, const char *what, size_t max_line,
                  unsigned long long max_bytes, sw_err *e)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->what = what;
    r->max_line = max_line;
    r->max_bytes = max_bytes;
    r->fp = fopen(path, "r");
    if (!r->fp)
        return sw_fail(e, SW_EINPUT, "%s%scannot read '%s': %s", PREFIX(r), path,
                       strerror(errno));
    struct stat st;
    if (fstat(fileno(r->fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        sw_lines_close(r);
        return sw_fail(e, SW_EINPUT, "%s%s'%s' is a directory (allowed: a file)", PREFIX(r),
                       path);
    }
    return SW_OK;
}

int sw_lines_open_mem(sw_lines *r, const char *buf, size_t len, const char *name,
                      const char *what, size_t max_line, unsigned long long max_bytes, sw_err *e)
{
    memset(r, 0, sizeof *r);
    r->path = name;
    r->what = what;
    r->max_line = max_line;
    r->max_bytes = max_bytes;
    /* fmemopen refuses a size of 0; an empty text is an empty stream. */
    r->fp = len ? fmemopen((void *)buf, len, "r") : fopen("/dev/null", "r");
    if (!r->fp)
        return sw_fail(e, SW_EFAIL, "%s%scannot read '%s' from memory: %s", PREFIX(r), name,
                       strerror(errno));
    return SW_OK;
}

static int grow(sw_lines *r, size_t need)
{
    if (need <= r->cap)
        return SW_OK;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < need)
        cap *= 2;
    char *nb = realloc(r->buf, cap);
    if (!nb)
        return SW_EFAIL;
    r->buf = nb;
    r->cap = cap;
    return SW_OK;
}

int sw_lines_next(sw_lines *r, char **line, sw_err *e)
{
    *line = NULL;
    size_t n = 0;
    int c = EOF;
    long lineno = r->lineno + 1;
    for (;;) {
        c = getc_unlocked(r->fp);
        if (c == EOF || c == '\n')
            break;
        /* Text has no control bytes but tab and CR; refusing them keeps
         * binary junk (and terminal escapes) out of every later message. */
        if (c == '\0')
            return sw_fail(e, SW_EINPUT, "%s%s'%s' line %ld holds a NUL byte (is it a text file?)",
                           PREFIX(r), r->path, lineno);
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\f') || c == 0x7f)
            return sw_fail(e, SW_EINPUT, "%s%s'%s' line %ld holds the control byte 0x%02x (is "
                                         "it a text file?)",
                           PREFIX(r), r->path, lineno, c);
        if (++r->bytes > r->max_bytes)
            return sw_fail(e, SW_EINPUT, "%s%s'%s' is longer than the limit of %llu bytes",
                           PREFIX(r), r->path, r->max_bytes);
        if (n >= r->max_line)
            return sw_fail(e, SW_EINPUT, "%s%s'%s' line %ld is longer than the limit of %zu bytes",
                           PREFIX(r), r->path, lineno, r->max_line);
        if (grow(r, n + 2))
            return sw_fail(e, SW_EFAIL, "out of memory");
        r->buf[n++] = (char)c;
    }
    if (c == EOF && ferror(r->fp))
        return sw_fail(e, SW_EINPUT, "%s%scannot read '%s': %s", PREFIX(r), r->path,
                       strerror(errno));
    if (c == EOF && n == 0)
        return SW_OK;
    r->bytes++;
    r->lineno = lineno;
    if (grow(r, n + 1))
        return sw_fail(e, SW_EFAIL, "out of memory");
    r->buf[n] = '\0';
    *line = r->buf;
    return SW_OK;
}

void sw_lines_close(sw_lines *r)
{
    if (r->fp)
        fclose(r->fp);
    free(r->buf);
    r->fp = NULL;
    r->buf = NULL;
}

char *sw_lines_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}
