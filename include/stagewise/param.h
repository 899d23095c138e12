/* Parameters of a system: their declarations, their values, and the parsing
 * of user text (KEY=VALUE on the command line, INI presets) into values.
 *
 * Every value is held as a list of doubles; a scalar is a list of one.  That
 * keeps one parser and one range check for numbers, integers and lists. */
#ifndef STAGEWISE_PARAM_H
#define STAGEWISE_PARAM_H

#include <stddef.h>

#include "stagewise/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_param_kind {
    SW_PARAM_REAL,
    SW_PARAM_INT,
    SW_PARAM_LIST /* comma-separated reals; may be empty */
} sw_param_kind;

typedef struct sw_param_def {
    const char *name;
    sw_param_kind kind;
    const char *def; /* default, as text the parser accepts */
    double lo, hi;   /* allowed closed range, for every element of a list */
    const char *doc;
} sw_param_def;

typedef struct sw_value {
    size_t n;
    double *v;
} sw_value;

/* Parses text as a value of def's kind, checking the range.  On success
 * out->v is allocated (free with free()) and out->n set. */
int sw_param_parse(const sw_param_def *def, const char *text, sw_value *out, sw_err *e);

/* Checks a value built from numbers rather than text (a sweep point)
 * against def as sw_param_parse would: one element unless def is a list,
 * each finite, in range and, for an integer, whole. */
int sw_value_check(const sw_param_def *def, const sw_value *v, sw_err *e);

/* Parses one real number, the whole of text, finite.  what names the value
 * in the error message. */
int sw_parse_real(const char *text, const char *what, double *out, sw_err *e);
/* Its verdict alone: NULL when text is a finite double (stored in *out),
 * else why not ("is not a number", ...), for a caller that names the
 * offending text its own way. */
const char *sw_parse_real_why(const char *text, double *out);

/* Like sw_parse_real, then checks lo <= x <= hi. */
int sw_parse_real_in(const char *text, const char *what, double lo, double hi, double *out,
                     sw_err *e);
/* text as one of the NULL-terminated names in allowed: *index is its
 * position; SW_EINPUT naming what and the allowed names otherwise. */
int sw_parse_choice(const char *text, const char *what, const char *const *allowed, int *index,
                    sw_err *e);
/* `linear` or `log`, the output grids of the integrator and the trainer:
 * *log_grid 0 or 1. */
int sw_parse_grid(const char *text, int *log_grid, sw_err *e);

/* Writes the value in the form the parser reads back. */
void sw_value_format(const sw_value *v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
