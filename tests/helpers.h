/* Shared by the tests: run the stagewise binary, read what it wrote. */
#ifndef SW_TEST_HELPERS_H
#define SW_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>

#include "stagewise/ode.h"
#include "stagewise/system.h"

/* The binary under test: $SWT_BIN if set (to run a suite against another
 * build, e.g. an older one), else the one built beside the tests. */
const char *swt_bin(void);

/* Runs `stagewise ARGS` through /bin/sh (ARGS is shell text), capturing
 * standard output and error (caller frees; either pointer may be NULL).
 * Returns the exit status, or -1 if the command could not be run. */
int swt_run(char **out, char **err, const char *fmt, ...) SW_PRINTF(3, 4);

/* A CSV file as the CLI writes it: provenance lines skipped, header kept. */
typedef struct swt_csv {
    size_t rows, cols;
    char **names;
    double *v; /* rows x cols, row-major */
} swt_csv;

int swt_csv_read(const char *path, swt_csv *c);
/* Column index by name, or -1. */
int swt_csv_col(const swt_csv *c, const char *name);
double swt_csv_at(const swt_csv *c, size_t row, const char *name);
void swt_csv_free(swt_csv *c);

/* The whole file as a string (caller frees), or NULL if unreadable. */
char *swt_slurp(const char *path);

/* A fresh empty directory under the build's temporary area; caller frees. */
char *swt_tmpdir(void);
/* Removes a directory from swt_tmpdir with everything in it, and frees dir. */
void swt_rm_rf(char *dir);
/* Entries of dir other than . and .. (what a run left behind). */
size_t swt_dir_entries(const char *dir);
int swt_file_exists(const char *path);

/* "k=v" words (a NULL-terminated va_list) split into keys and values. */
typedef struct swt_kv {
    size_t n;
    const char *keys[64], *vals[64];
    char store[64][128];
} swt_kv;
void swt_kv_split(swt_kv *kv, va_list ap);

/* Model from "k=v" words (NULL-terminated), failing the test on error. */
sw_model *swt_model(const char *system, ...);

/* The trajectory of m from x0 (NULL: the system's own start) with the
 * given stepper and tolerances, on a log grid of `points` rows from
 * t_first (0: the default) to t_end; fails the test if the run fails.
 * st may be NULL.  The caller clears the trajectory. */
sw_traj swt_traj(sw_model *m, const double *x0, const char *solver, double rtol, double atol,
                 double t_end, size_t points, double t_first, sw_ode_stats *st);

/* Largest relative difference of A and B (n entries) with floor on the
 * denominator: max |a-b| / max(|a|, |b|, floor). */
double swt_max_rel(const double *a, const double *b, size_t n, double floor);

#endif
