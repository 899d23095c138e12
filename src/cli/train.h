/* What `train` and `crosscheck` share: the training options and the CSV
 * row a trainer evaluation becomes; and, for `plot` and `reproduce`, the
 * emergence entries a `train` run's JSON holds. */
#ifndef STAGEWISE_CLI_TRAIN_H
#define STAGEWISE_CLI_TRAIN_H

#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "stagewise/train.h"

/* Option codes SW_OPT_TRAIN + i stand for sw_train_opt_names[i]. */
enum { SW_OPT_TRAIN = 3000, SW_OPT_TRAIN_MAX = 3063 };

/* Writes one getopt_long entry per training option into dst (room for
 * every name) and returns how many. */
size_t sw_cli_train_longopts(struct option *dst);
/* SW_OK, SW_EINPUT with e set, or -1 if opt is not a training option. */
int sw_cli_train_option(sw_train_opts *o, int opt, const char *arg, sw_err *e);

/* `# key = value` lines describing the run's settings. */
void sw_cli_train_provenance(FILE *fp, const sw_learner *l, const sw_train_opts *o);
/* {"optim": ..., "lr": ..., ...} */
json_object *sw_cli_train_json(const sw_train_opts *o, const sw_learner *l);

/* One entry of the `emergence` array of a `train` run's JSON file: its
 * condition (transformer.h's spelling, "acc_rel>=0.05"; NULL in files
 * written before it was recorded), the same as column, direction (">=" or
 * "<=") and threshold, and the step at which it was first met, or -1 when
 * the run ended before. */
typedef struct sw_cli_emergence {
    const char *condition, *column, *direction;
    double threshold;
    long step;
} sw_cli_emergence;
/* fn on each entry, in order; a file that cannot be read, or holds no such
 * array, has none, and an entry without a column is passed over. */
typedef void (*sw_cli_emergence_fn)(const sw_cli_emergence *entry, void *user);
void sw_cli_emergence_each(const char *json, sw_cli_emergence_fn fn, void *user);

#endif
