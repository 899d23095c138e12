/* The reproduction report: sections of results (our value beside the
 * paper's), the commands that produced them, figures and timings, kept in
 * memory and rendered twice — Markdown and a self-contained HTML page with
 * the pictures inline — so the two never disagree. */
#ifndef STAGEWISE_REPORT_H
#define STAGEWISE_REPORT_H

#include <stddef.h>

#include "stagewise/error.h"

typedef struct sw_report sw_report;

sw_report *sw_report_alloc(const char *title);
void sw_report_free(sw_report *r);

/* Starts a section; the following calls add to it. */
void sw_report_section(sw_report *r, const char *title, const char *intro);
/* One result: what, our value, the paper's value or expectation ("" if
 * none), and a note. */
void sw_report_row(sw_report *r, const char *what, const char *ours, const char *paper,
                   const char *note);
void sw_report_command(sw_report *r, const char *cmdline);
/* A figure by file name relative to the report's directory. */
void sw_report_figure(sw_report *r, const char *file, const char *caption);
void sw_report_seconds(sw_report *r, double seconds);
/* A failed step: the section says so instead of showing results. */
void sw_report_failure(sw_report *r, const char *what);

/* Writes DIR/report.md and DIR/report.html (figures read from DIR). */
int sw_report_write(const sw_report *r, const char *dir, sw_err *e);

#endif
