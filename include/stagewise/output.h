/* Result files.  Every file is written under a temporary name in the same
 * directory and renamed into place on commit, so a reader never sees a
 * partial result and a failed run leaves nothing behind. */
#ifndef STAGEWISE_OUTPUT_H
#define STAGEWISE_OUTPUT_H

#include <stdio.h>

#include <json-c/json.h>

#include "stagewise/error.h"
#include "stagewise/ode.h"
#include "stagewise/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_outfile {
    FILE *fp;
    char *path; /* final name; NULL for standard output */
    char *tmp;  /* temporary name while open; NULL when written in place */
} sw_outfile;

/* "-" means standard output; it and any existing non-regular file (a
 * device, a FIFO) are written directly, with nothing to rename. */
int sw_outfile_open(sw_outfile *f, const char *path, sw_err *e);
/* Renames the temporary file into place.  A caller whose file is written by
 * another process closes fp and sets it to NULL first, then commits. */
int sw_outfile_commit(sw_outfile *f, sw_err *e);
/* Closes and removes the temporary file; safe on a never-opened file. */
void sw_outfile_abort(sw_outfile *f);
/* Takes back a result this run committed (the other half of a pair whose
 * second file failed): removes path only when it is a regular file, never
 * a device or FIFO it was written through (/dev/null). */
void sw_outfile_discard(const char *path);
/* Before a run: whether path can be written at its end (creates and
 * removes the temporary file), so a bad output fails at once instead of
 * after the work and no output of a run is written unless all can be.
 * what names the option in the message ("out", "save-state"). */
int sw_outfile_check(const char *path, const char *what, sw_err *e);
/* Removes every temporary file still open, from any thread or a signal
 * handler (async-signal-safe); the command line calls it on SIGINT, SIGTERM
 * and SIGHUP, and at exit. */
void sw_outfile_cleanup(void);

/* A result is a CSV and, unless meta_path is NULL, its JSON metadata:
 * written as a pair, both or neither.  csv is open and fully written; meta
 * goes to meta_path first, then csv is committed, and if that fails the
 * JSON is removed again.  csv is committed or aborted in every case; meta
 * stays the caller's. */
int sw_result_commit(sw_outfile *csv, const char *meta_path, json_object *meta, sw_err *e);

/* CSV: `# key = value` provenance, a header `t,loss,<observables>`, rows.
 * Numbers in provenance use %.17g like the rows, so they read back exactly. */
void sw_csv_provenance(FILE *fp, const char *key, const char *fmt, ...) SW_PRINTF(3, 4);
void sw_csv_model_provenance(FILE *fp, const sw_model *m);
/* `# solver = NAME rtol=X atol=X` for the integrator options o. */
void sw_csv_solver_provenance(FILE *fp, const sw_ode_opts *o);
void sw_csv_header(FILE *fp, const sw_model *m);
/* obs is scratch of n_obs doubles. */
void sw_csv_row(FILE *fp, const sw_model *m, double t, const double *x, double *obs);

/* {"name": value-or-list, ...} of every parameter of m. */
json_object *sw_json_params(const sw_model *m);
/* A real for JSON, or null when it is not finite (JSON has neither NaN nor
 * infinity, and json-c would write them as bare words). */
json_object *sw_json_real(double x);
/* Writes obj (pretty-printed) atomically; takes no ownership. */
int sw_json_write(const char *path, json_object *obj, sw_err *e);

/* A path derived from a CSV path: FILE.csv -> FILE + ext (the .csv, if
 * any, dropped).  Allocates; NULL when out of memory. */
char *sw_path_derived(const char *csv_path, const char *ext);
/* Where a result's JSON metadata goes: *path = meta if given, else
 * FILE.json beside out, else NULL when out is standard output ("-").
 * *path is allocated; SW_EFAIL when out of memory. */
int sw_meta_path(const char *meta, const char *out, char **path, sw_err *e);

#ifdef __cplusplus
}
#endif

#endif
