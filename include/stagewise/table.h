/* Reading back the CSV files stagewise writes: `# key = value` provenance
 * lines, one header row, numeric rows.  Every command that consumes a
 * result (stages, fit, plot, reproduce) reads through this, so the format
 * has one reader as it has one writer (output.h). */
#ifndef STAGEWISE_TABLE_H
#define STAGEWISE_TABLE_H

#include <stddef.h>

#include "stagewise/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_table {
    size_t rows, cols;
    char **names;   /* cols */
    double *v;      /* rows x cols, row-major */
    size_t n_meta;
    char **meta_key, **meta_val; /* provenance, in file order */
} sw_table;

/* SW_EINPUT naming the file and line for anything malformed: a missing
 * header, a row with the wrong number of fields, a field that is not a
 * number ("nan" and "inf" are read as such: results may hold them). */
int sw_table_read(const char *path, sw_table *tb, sw_err *e);
/* The same from the len bytes at buf, which name stands for in messages. */
int sw_table_read_mem(const char *buf, size_t len, const char *name, sw_table *tb, sw_err *e);
void sw_table_clear(sw_table *tb);

/* Column index by name, or -1. */
int sw_table_col(const sw_table *tb, const char *name);
/* Column index, or SW_EINPUT naming the file's columns. */
int sw_table_need(const sw_table *tb, const char *name, const char *path, int *col, sw_err *e);
/* Provenance value of key, or NULL. */
const char *sw_table_meta(const sw_table *tb, const char *key);
/* The theoretical plateau levels the run recorded (`# level_j = ...`, in
 * order from j = 0), at most cap of them, into lv; *n says how many.
 * SW_EINPUT naming the line when a level is not a finite number. */
int sw_table_levels(const sw_table *tb, const char *path, double *lv, size_t cap, size_t *n,
                    sw_err *e);

static inline double sw_table_at(const sw_table *tb, size_t row, int col)
{
    return tb->v[row * tb->cols + (size_t)col];
}

#ifdef __cplusplus
}
#endif

#endif
