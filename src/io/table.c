#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "stagewise/param.h"
#include "stagewise/table.h"

static int push_meta(sw_table *tb, char *line)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return SW_OK; /* a plain comment */
    *eq = '\0';
    char **k = realloc(tb->meta_key, (tb->n_meta + 1) * sizeof *k);
    if (!k)
        return SW_EFAIL;
    tb->meta_key = k;
    char **v = realloc(tb->meta_val, (tb->n_meta + 1) * sizeof *v);
    if (!v)
        return SW_EFAIL;
    tb->meta_val = v;
    tb->meta_key[tb->n_meta] = strdup(sw_lines_trim(line + 1));
    tb->meta_val[tb->n_meta] = strdup(sw_lines_trim(eq + 1));
    tb->n_meta++;
    return tb->meta_key[tb->n_meta - 1] && tb->meta_val[tb->n_meta - 1] ? SW_OK : SW_EFAIL;
}

static int read_header(sw_table *tb, char *line)
{
    tb->cols = 1;
    for (char *p = line; *p; p++)
        tb->cols += *p == ',';
    tb->names = calloc(tb->cols, sizeof *tb->names);
    if (!tb->names)
        return SW_EFAIL;
    char *save = NULL;
    size_t k = 0;
    for (char *f = strtok_r(line, ",", &save); f && k < tb->cols; f = strtok_r(NULL, ",", &save)) {
        char *name = sw_lines_trim(f);
        if (!*name)
            break;
        if (!(tb->names[k++] = strdup(name)))
            return SW_EFAIL;
    }
    return k == tb->cols ? SW_OK : SW_EINPUT;
}

/* The table of the lines r reads (path names them in messages); closes r. */
static int read_lines(sw_lines *r, const char *path, sw_table *tb, sw_err *e)
{
    int rc = SW_OK;
    char *line;
    size_t cap = 0;
    while (rc == SW_OK && (rc = sw_lines_next(r, &line, e)) == SW_OK && line) {
        long lineno = r->lineno;
        char *s = sw_lines_trim(line);
        if (!*s)
            continue;
        if (*s == '#') {
            if (push_meta(tb, s))
                rc = sw_fail(e, SW_EFAIL, "out of memory");
            continue;
        }
        if (!tb->names) {
            char *end;
            strtod(s, &end);
            if (end != s && (*end == ',' || *end == '\0'))
                rc = sw_fail(e, SW_EINPUT, "'%s' line %ld: numbers where the header row of "
                                           "column names belongs (is it a stagewise CSV?)",
                             path, lineno);
            else if ((rc = read_header(tb, s)) == SW_EFAIL)
                rc = sw_fail(e, SW_EFAIL, "out of memory");
            else if (rc)
                rc = sw_fail(e, SW_EINPUT, "'%s' line %ld: empty column name in the header",
                             path, lineno);
            continue;
        }
        if (tb->rows == cap) {
            /* The first block holds about 64k numbers, however wide the rows. */
            cap = cap ? 2 * cap : 1 + 65536 / tb->cols;
            double *nv = realloc(tb->v, cap * tb->cols * sizeof *nv);
            if (!nv) {
                rc = sw_fail(e, SW_EFAIL, "out of memory");
                break;
            }
            tb->v = nv;
        }
        char *p = s;
        for (size_t k = 0; k < tb->cols && rc == SW_OK; k++) {
            char *end;
            double x = strtod(p, &end);
            char sep = k + 1 < tb->cols ? ',' : '\0';
            while (*end == ' ')
                end++;
            if (end == p || *end != sep)
                rc = sw_fail(e, SW_EINPUT, "'%s' line %ld: field %zu is not a number or the "
                                           "row does not have %zu fields",
                             path, lineno, k + 1, tb->cols);
            tb->v[tb->rows * tb->cols + k] = x;
            p = end + (sep != '\0');
        }
        tb->rows++;
    }
    sw_lines_close(r);
    if (rc == SW_OK && !tb->names)
        rc = sw_fail(e, SW_EINPUT, "'%s' has no header row (is it a stagewise CSV?)", path);
    if (rc)
        sw_table_clear(tb);
    return rc;
}

int sw_table_read(const char *path, sw_table *tb, sw_err *e)
{
    memset(tb, 0, sizeof *tb);
    sw_lines r;
    int rc = sw_lines_open(&r, path, NULL, SW_DATA_MAX_LINE, SW_DATA_MAX_BYTES, e);
    return rc ? rc : read_lines(&r, path, tb, e);
}

int sw_table_read_mem(const char *buf, size_t len, const char *name, sw_table *tb, sw_err *e)
{
    memset(tb, 0, sizeof *tb);
    sw_lines r;
    int rc = sw_lines_open_mem(&r, buf, len, name, NULL, SW_DATA_MAX_LINE, SW_DATA_MAX_BYTES, e);
    return rc ? rc : read_lines(&r, name, tb, e);
}

void sw_table_clear(sw_table *tb)
{
    for (size_t k = 0; tb->names && k < tb->cols; k++)
        free(tb->names[k]);
    for (size_t k = 0; k < tb->n_meta; k++) {
        free(tb->meta_key[k]);
        free(tb->meta_val[k]);
    }
    free(tb->names);
    free(tb->v);
    free(tb->meta_key);
    free(tb->meta_val);
    memset(tb, 0, sizeof *tb);
}

int sw_table_col(const sw_table *tb, const char *name)
{
    for (size_t k = 0; k < tb->cols; k++)
        if (strcmp(tb->names[k], name) == 0)
            return (int)k;
    return -1;
}

int sw_table_need(const sw_table *tb, const char *name, const char *path, int *col, sw_err *e)
{
    *col = sw_table_col(tb, name);
    if (*col >= 0)
        return SW_OK;
    char buf[384];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < tb->cols && used < sizeof buf; k++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", k ? ", " : "",
                                 tb->names[k]);
    return sw_fail(e, SW_EINPUT, "'%s' has no column '%s' (columns: %s)", path, name, buf);
}

const char *sw_table_meta(const sw_table *tb, const char *key)
{
    for (size_t k = 0; k < tb->n_meta; k++)
        if (strcmp(tb->meta_key[k], key) == 0)
            return tb->meta_val[k];
    return NULL;
}

int sw_table_levels(const sw_table *tb, const char *path, double *lv, size_t cap, size_t *n,
                    sw_err *e)
{
    for (*n = 0; *n < cap; (*n)++) {
        char key[32];
        snprintf(key, sizeof key, "level_%zu", *n);
        const char *v = sw_table_meta(tb, key);
        if (!v)
            break;
        char what[300];
        snprintf(what, sizeof what, "'%s' provenance %s", path, key);
        if (sw_parse_real(v, what, &lv[*n], e))
            return SW_EINPUT;
    }
    return SW_OK;
}
