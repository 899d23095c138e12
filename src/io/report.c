#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/output.h"
#include "report.h"

typedef enum { ROW, COMMAND, FIGURE, FAILURE } item_kind;

typedef struct item {
    item_kind kind;
    char *a, *b, *c, *d; /* row: what, ours, paper, note; command: a; figure: file, caption */
} item;

typedef struct section {
    char *title, *intro;
    double seconds;
    size_t n, cap;
    item *items;
} section;

struct sw_report {
    char *title;
    size_t n, cap;
    section *sections;
    int oom; /* an allocation failed: the report is incomplete and is not written */
};

static char *dup0(const char *s)
{
    return strdup(s ? s : "");
}

sw_report *sw_report_alloc(const char *title)
{
    sw_report *r = calloc(1, sizeof *r);
    if (r)
        r->title = dup0(title);
    return r;
}

void sw_report_free(sw_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        section *s = &r->sections[i];
        for (size_t k = 0; k < s->n; k++) {
            free(s->items[k].a), free(s->items[k].b);
            free(s->items[k].c), free(s->items[k].d);
        }
        free(s->items), free(s->title), free(s->intro);
    }
    free(r->sections);
    free(r->title);
    free(r);
}

/* Grows *v (elements of size sz) to hold one more; 0 when it cannot. */
static int grow(void **v, size_t n, size_t *cap, size_t sz, size_t first)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? 2 * *cap : first;
    void *nv = realloc(*v, c * sz);
    if (!nv)
        return 0;
    *v = nv;
    *cap = c;
    return 1;
}

void sw_report_section(sw_report *r, const char *title, const char *intro)
{
    section sec = {dup0(title), dup0(intro), 0, 0, 0, NULL};
    if (r->oom || !sec.title || !sec.intro ||
        !grow((void **)&r->sections, r->n, &r->cap, sizeof *r->sections, 8)) {
        free(sec.title), free(sec.intro);
        r->oom = 1;
        return;
    }
    r->sections[r->n++] = sec;
}

static void add(sw_report *r, item_kind kind, const char *a, const char *b, const char *c,
                const char *d)
{
    if (r->oom || r->n == 0)
        return;
    section *s = &r->sections[r->n - 1];
    item it = {kind, dup0(a), dup0(b), dup0(c), dup0(d)};
    if (!it.a || !it.b || !it.c || !it.d ||
        !grow((void **)&s->items, s->n, &s->cap, sizeof *s->items, 16)) {
        free(it.a), free(it.b), free(it.c), free(it.d);
        r->oom = 1;
        return;
    }
    s->items[s->n++] = it;
}

void sw_report_row(sw_report *r, const char *what, const char *ours, const char *paper,
                   const char *note)
{
    add(r, ROW, what, ours, paper, note);
}

void sw_report_command(sw_report *r, const char *cmdline)
{
    add(r, COMMAND, cmdline, NULL, NULL, NULL);
}

void sw_report_figure(sw_report *r, const char *file, const char *caption)
{
    add(r, FIGURE, file, caption, NULL, NULL);
}

void sw_report_failure(sw_report *r, const char *what)
{
    add(r, FAILURE, what, NULL, NULL, NULL);
}

void sw_report_seconds(sw_report *r, double seconds)
{
    if (r->n)
        r->sections[r->n - 1].seconds = seconds;
}

/* Each section renders its items grouped by kind, in this order: the
 * commands (one block a reader can run), failures, the results table, the
 * figures. */
static const item_kind order[] = {COMMAND, FAILURE, ROW, FIGURE};

/* How one format writes an item (first: it opens its group) and closes a
 * group that had any. */
typedef struct format {
    void (*item)(FILE *fp, const item *it, int first, const char *dir);
    void (*group_end)(FILE *fp, item_kind kind);
} format;

static void write_items(const section *s, const format *f, const char *dir, FILE *fp)
{
    for (size_t o = 0; o < sizeof order / sizeof *order; o++) {
        int first = 1;
        for (size_t k = 0; k < s->n; k++)
            if (s->items[k].kind == order[o]) {
                f->item(fp, &s->items[k], first, dir);
                first = 0;
            }
        if (!first && f->group_end)
            f->group_end(fp, order[o]);
    }
}

static void md_item(FILE *fp, const item *it, int first, const char *dir)
{
    (void)dir; /* figures are linked by their paths relative to the report */
    switch (it->kind) {
    case COMMAND:
        fprintf(fp, "%s    %s\n", first ? "\n" : "", it->a);
        break;
    case FAILURE:
        fprintf(fp, "\n**Failed:** %s\n", it->a);
        break;
    case ROW:
        if (first)
            fputs("\n| result | ours | paper / theory | note |\n|---|---|---|---|\n", fp);
        fprintf(fp, "| %s | %s | %s | %s |\n", it->a, it->b, it->c, it->d);
        break;
    case FIGURE:
        fprintf(fp, "\n![%s](%s)\n", it->b, it->a);
        break;
    }
}

static void write_md(const sw_report *r, FILE *fp)
{
    static const format md = {md_item, NULL};
    fprintf(fp, "# %s\n", r->title);
    for (size_t i = 0; i < r->n; i++) {
        const section *s = &r->sections[i];
        fprintf(fp, "\n## %s\n\n%s\n\n_%.1f s_\n", s->title, s->intro, s->seconds);
        write_items(s, &md, NULL, fp);
    }
}

static void html_text(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* Inline a PNG as a data: URI so the page is one self-contained file. */
static void html_png(FILE *fp, const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in) {
        fputs("<p><em>(figure missing)</em></p>", fp);
        return;
    }
    fputs("<img alt=\"figure\" src=\"data:image/png;base64,", fp);
    unsigned char buf[3];
    size_t n;
    while ((n = fread(buf, 1, 3, in)) > 0) {
        unsigned v = (unsigned)buf[0] << 16 | (n > 1 ? (unsigned)buf[1] << 8 : 0) |
                     (n > 2 ? buf[2] : 0);
        fputc(b64[v >> 18 & 63], fp);
        fputc(b64[v >> 12 & 63], fp);
        fputc(n > 1 ? b64[v >> 6 & 63] : '=', fp);
        fputc(n > 2 ? b64[v & 63] : '=', fp);
    }
    fclose(in);
    fputs("\">", fp);
}

static void html_item(FILE *fp, const item *it, int first, const char *dir)
{
    switch (it->kind) {
    case COMMAND:
        fputs(first ? "<pre>" : "\n", fp);
        html_text(fp, it->a);
        break;
    case FAILURE:
        fputs("<p><strong>Failed:</strong> ", fp);
        html_text(fp, it->a);
        fputs("</p>\n", fp);
        break;
    case ROW: {
        if (first)
            fputs("<table><tr><th>result</th><th>ours</th><th>paper / theory</th>"
                  "<th>note</th></tr>\n",
                  fp);
        const char *cells[] = {it->a, it->b, it->c, it->d};
        fputs("<tr>", fp);
        for (int cc = 0; cc < 4; cc++) {
            fputs("<td>", fp);
            html_text(fp, cells[cc]);
            fputs("</td>", fp);
        }
        fputs("</tr>\n", fp);
        break;
    }
    case FIGURE: {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, it->a);
        fputs("<figure>", fp);
        html_png(fp, path);
        fputs("<figcaption>", fp);
        html_text(fp, it->b);
        fputs("</figcaption></figure>\n", fp);
        break;
    }
    }
}

static void html_group_end(FILE *fp, item_kind kind)
{
    if (kind == COMMAND)
        fputs("</pre>\n", fp);
    else if (kind == ROW)
        fputs("</table>\n", fp);
}

static void write_html(const sw_report *r, const char *dir, FILE *fp)
{
    static const format html = {html_item, html_group_end};
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", fp);
    html_text(fp, r->title);
    fputs("</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
          "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}img{max-width:100%}"
          "</style></head><body>\n<h1>",
          fp);
    html_text(fp, r->title);
    fputs("</h1>\n", fp);
    for (size_t i = 0; i < r->n; i++) {
        const section *s = &r->sections[i];
        fputs("<h2>", fp);
        html_text(fp, s->title);
        fputs("</h2>\n<p>", fp);
        html_text(fp, s->intro);
        fprintf(fp, "</p><p><em>%.1f s</em></p>\n", s->seconds);
        write_items(s, &html, dir, fp);
    }
    fputs("</body></html>\n", fp);
}

int sw_report_write(const sw_report *r, const char *dir, sw_err *e)
{
    if (r->oom || !r->title)
        return sw_fail(e, SW_EFAIL, "out of memory while building the report");
    char path[4096];
    sw_outfile md, html;
    snprintf(path, sizeof path, "%s/report.md", dir);
    int rc = sw_outfile_open(&md, path, e);
    if (rc)
        return rc;
    write_md(r, md.fp);
    snprintf(path, sizeof path, "%s/report.html", dir);
    if ((rc = sw_outfile_open(&html, path, e))) {
        sw_outfile_abort(&md);
        return rc;
    }
    write_html(r, dir, html.fp);
    if ((rc = sw_outfile_commit(&md, e))) {
        sw_outfile_abort(&html);
        return rc;
    }
    return sw_outfile_commit(&html, e);
}
