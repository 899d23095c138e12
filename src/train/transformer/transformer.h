/* The small transformer's trainer tasks (tasks.c): tf-location, tf-recall
 * and tf-markov, with what the command line and the tests need beyond the
 * generic trainer. */
#ifndef STAGEWISE_TRANSFORMER_H
#define STAGEWISE_TRANSFORMER_H

#include <stddef.h>

#include "config.h"
#include "stagewise/system.h"
#include "stagewise/train.h"

extern const sw_system sw_system_tf_location, sw_system_tf_recall, sw_system_tf_markov;
extern const sw_task sw_task_tf_location, sw_task_tf_recall, sw_task_tf_markov;

/* The architecture and batch shape of a model of one of these systems. */
const sw_tf_config *sw_tf_task_config(const sw_model *m);
/* The model's inputs and targets for n samples of the task's format; in
 * and out hold sw_tf_task_pack_size(m, n, 0) and (m, n, 1) bytes. */
sw_tf_batch sw_tf_task_pack(const sw_model *m, const void *data, size_t n, void *in, void *out);
size_t sw_tf_task_pack_size(const sw_model *m, size_t n, int which);

/* tf-location's teacher W* (d x d, row-major): y = W* x_rel. */
const float *sw_tf_location_teacher(const sw_model *m);

/* When attention has emerged: the first evaluation where `condition`
 * (sw_event_parse's OBS<=X or OBS>=X) holds; doc says where it comes from. */
typedef struct sw_tf_criterion {
    const char *condition;
    const char *doc;
} sw_tf_criterion;
/* The conditions, for sweeps that measure the same emergence
 * (--measure event:...). */
#define SW_TF_LOCATION_EMERGED "loss<=0.1"
#define SW_TF_LOCATION_EMERGED_CROSS "loss<=0.4" /* p > 0: on p = 0 data */
#define SW_TF_RECALL_EMERGED "acc>=0.05"
#define SW_TF_RECALL_EMERGED_REL "acc_rel>=0.05"
/* The task's criteria (0 to 2 of them) into out: for tf-recall the
 * absolute one first, then the relative one. */
size_t sw_tf_emergence(const sw_model *m, sw_tf_criterion out[2]);

#endif
