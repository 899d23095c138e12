/* What the three parts of a sweep share: the grammar (sweep_grammar.c),
 * the points (sweep.c) and the measures (sweep_measure.c). */
#ifndef STAGEWISE_SWEEP_IMPL_H
#define STAGEWISE_SWEEP_IMPL_H

#include "stagewise/sweep.h"

extern const double sw_sweep_max_points;
/* "allowed: event:OBS<=X, ...", for messages. */
extern const char sw_measure_allowed[];

/* The shortest of %.15g, %.16g, %.17g that reads back as x: exact like
 * %.17g, but 0.3 stays "0.3" in columns and provenance.  buf holds 32. */
const char *sw_sweep_num(double x, char *buf);

/* The names a measure reads, resolved against one point's model; for a
 * training sweep also whether the measure applies to training. */
int sw_sweep_measure_check(const sw_sweep *s, const sw_measure *ms, const sw_model *m,
                           sw_err *e);

/* Whether the sweep's system can give the start-Jacobian prediction
 * (lambda_plus); SW_EINPUT naming the systems that can. */
int sw_sweep_predict_check(const sw_system *sys, sw_err *e);

/* The `# key = value` lines of sw_sweep_write_head, without the header
 * row: the sweep's identity, which derived files (the summary) repeat. */
void sw_sweep_write_provenance(const sw_sweep *s, FILE *fp);

#endif
