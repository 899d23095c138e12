/* Plateaus and transitions of a loss curve seen on a log-time axis.
 *
 * A plateau is centred where the loss changes slowest in log time: a point
 * whose |d log L / d log t| is smallest within a window of decades around
 * it and either below a threshold or, a shoulder between two close
 * transitions, a small fraction of the fastest fall on either side.  Its level is the loss there, its extent
 * the run of slow points around it.  A transition is the stretch between
 * two plateaus, its time the point where the loss is halfway between the
 * two levels.  Working in log t makes the detector indifferent to where
 * the stages fall in absolute time. */
#ifndef STAGEWISE_STAGES_H
#define STAGEWISE_STAGES_H

#include <stddef.h>

#include "stagewise/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_stages_opts {
    double max_slope;    /* a plateau point has |dlog L/dlog t| below this (default 0.1) */
    double min_decades;  /* ... and is the slowest within this many decades of t
                            centred on it (default 0.5) */
    double min_drop;     /* neighbouring plateaus whose levels differ by less than this
                            factor are merged (default 1.2) */
    double shoulder;     /* ... or its slope is below this fraction of the steepest
                            slope within a decade on each side (default 0.2; 0: off) */
} sw_stages_opts;

typedef struct sw_plateau {
    size_t i_begin, i_end; /* indices into the curve, inclusive */
    double t_begin, t_end;
    double level; /* the loss at the plateau's slowest point */
} sw_plateau;

typedef struct sw_stages {
    size_t n_plateaus;
    sw_plateau *plateaus;
    size_t n_transitions; /* n_plateaus - 1, or fewer if the curve ends mid-way */
    double *t_transition;
} sw_stages;

void sw_stages_opts_default(sw_stages_opts *o);
/* t must be increasing; points with t <= 0 are ignored (log axis).  A loss
 * that reaches 0 is floored at the smallest positive value seen. */
int sw_stages_detect(const double *t, const double *loss, size_t n, const sw_stages_opts *o,
                     sw_stages *out, sw_err *e);
void sw_stages_clear(sw_stages *s);

#ifdef __cplusplus
}
#endif

#endif
