/* What the sections of `reproduce` share: the run's state, the step that
 * runs one stagewise command and records it in the report, and readers of
 * the files those commands write.  One file per family of sections
 * (reproduce_y.c, _z.c, _train.c, _tf.c, _recall.c); reproduce.c runs them. */
#ifndef SW_CLI_REPRODUCE_H
#define SW_CLI_REPRODUCE_H

#include <stddef.h>

#include "cli.h"
#include "report.h"
#include "stagewise/table.h"

typedef struct repro {
    const char *dir;
    int quick;
    sw_report *r;
    int log_fd; /* DIR/reproduce.log: every step's own output */
    int failures;
    char self[2048];
    /* Progress: which section, and how far into its typical time. */
    sw_progress bar;
    char label[160];
    const char *section;
    size_t k, total;
    double expect, t_section;
    /* Strings made for one section, freed when it ends. */
    char **strs;
    size_t n_strs, cap_strs;
} repro;

/* A formatted string that lives until the section ends. */
const char *rp_str(repro *c, const char *fmt, ...) SW_PRINTF(2, 3);
/* A file in the output directory. */
const char *rp_path(repro *c, const char *name);
/* A number as the report prints it (4 significant digits). */
const char *rp_num(repro *c, double x);

/* Runs `stagewise ARGS...` (NULL-terminated), its output going to the log,
 * and records the command line in the report.  Returns 0 on success; on
 * failure the report says which command failed. */
int rp_step(repro *c, ...);
/* Runs `stagewise sweep ARGS... --out out` (ARGS NULL-terminated) into a
 * fresh file: a sweep resumes what its file holds, a report starts afresh. */
int rp_sweep(repro *c, const char *out, ...);
/* Runs `stagewise plot ARGS... --out DIR/png` (ARGS NULL-terminated: the
 * figure, its inputs and --set options) and, when it succeeds, adds png to
 * the report with its caption.  Returns 0 on success, as rp_step. */
int rp_plot(repro *c, const char *png, const char *caption, ...);

/* A number from a JSON file by JSON pointer ("/plateaus/0/level"). */
double rp_jnum(const char *file, const char *ptr);
/* A string from a JSON file by JSON pointer ("?" if absent), kept until
 * the section ends. */
const char *rp_jstr(repro *c, const char *file, const char *ptr);
/* The step at which a train run (its JSON file) first met the emergence
 * criterion `condition`, one of transformer.h's ("acc_rel>=0.05"); NAN
 * when it was not met or the run has no such criterion. */
double rp_emergence_step(const char *file, const char *condition);
/* The length of a JSON array by pointer (0 if absent). */
size_t rp_jlen(const char *file, const char *ptr);

typedef enum { PICK_LAST, PICK_MAX, PICK_AT_MIN, PICK_FIRST_BELOW } pick_how;
/* A value of column `col` over the rows of a CSV: the last, the largest,
 * the one in the row where column `by` is smallest, or the one in the
 * first row where `by` has fallen to thr.  NAN when absent. */
double rp_csv_pick(const char *file, const char *col, pick_how how, const char *by, double thr);
/* A sweep's --summary file and where one column's statistics stand in it. */
typedef struct rp_summary {
    sw_table tb;
    int k[4]; /* the columns col_median, _q25, _q75 and _n */
} rp_summary;
/* Reads a --summary file into s (sw_table_clear s->tb), which must hold
 * the statistics of column col; otherwise the report says what is wrong
 * and 1 is returned (nothing to clear). */
int rp_summary_read(repro *c, const char *file, const char *col, rp_summary *s);
/* The statistics over the replicates of summary row r: median and
 * quartiles into q, in that order, and how many replicates gave a value
 * into n.  0 when there is no row r. */
int rp_summary_stat(const rp_summary *s, size_t r, double q[3], double *n);
/* A `# key = value` provenance number of a CSV. */
double rp_meta_value(const char *file, const char *key);

/* Runs `fit CSV --y Y --law LAW` into CSV.fit_Y.csv and reports the law's
 * parameter k (an exponent) with its interval beside the reference ref
 * (ref_text says where it comes from).  The note is `off` when ref lies
 * outside the interval (or ref is NAN: no number to check), else says it
 * is inside.  Returns the fit's CSV, or NULL if the step failed. */
const char *rp_fit_row(repro *c, const char *csv, const char *y, const char *law, size_t k,
                       const char *what, double ref, const char *ref_text, const char *off);

/* The sections, one per result family; each adds its rows and figures to
 * the report. */
void rp_section_stages(repro *c);
void rp_section_competitive(repro *c);
void rp_section_escape(repro *c);
void rp_section_fig4(repro *c);
void rp_section_gamma1(repro *c);
void rp_section_zlaws(repro *c);
void rp_section_criteria(repro *c);
void rp_section_crosscheck(repro *c);
void rp_section_markov(repro *c);
void rp_section_transformer(repro *c);
void rp_section_tf_markov(repro *c);
void rp_section_recall(repro *c);

#endif
