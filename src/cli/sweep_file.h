/* The result file of `sweep`: every point's result held for the final
 * rewrite, the file locked, resumed (a torn last row dropped), appended to
 * and synced in the background, rewritten whole in point order, and the
 * summary beside it.  The command's flow stays in sweep.c. */
#ifndef STAGEWISE_CLI_SWEEP_FILE_H
#define STAGEWISE_CLI_SWEEP_FILE_H

#include <pthread.h>

#include "stagewise/sweep.h"

/* Every point's result, held for the final rewrite in point order. */
typedef struct sw_sweep_results {
    const sw_sweep *s;
    unsigned char *have;
    double *values; /* n_points x n_values */
    int *status;
    char **reason;
    size_t n_have, n_failed;
} sw_sweep_results;

int sw_sweep_results_alloc(sw_sweep_results *R, const sw_sweep *s);
void sw_sweep_results_free(sw_sweep_results *R);
void sw_sweep_results_keep(sw_sweep_results *R, size_t p, const double *v, int status,
                           const char *reason);

/* The text a sweep's file starts with: its identity.  NULL: out of memory. */
char *sw_sweep_head_text(const sw_sweep *s);

/* Opens path (created if missing), locks it (flock: a second sweep into it
 * is SW_EINPUT) and checks it is still the file the path names. */
int sw_sweep_out_lock(const char *path, int *fd, sw_err *e);
/* Takes over the rows of the locked file behind fd if it holds this very
 * sweep (it starts with head); an empty file, or part of a head, gets the
 * head.  A torn last row is cut off (and said so on standard error). */
int sw_sweep_out_resume(sw_sweep_results *R, int fd, const char *path, const char *head,
                        sw_err *e);
/* Every point done: the file again, in point order, atomically; with
 * mpi_ranks > 0 a last line says how many ranks completed it. */
int sw_sweep_out_finish(const sw_sweep_results *R, int mpi_ranks, const char *path, sw_err *e);
/* The medians and quartiles over the seed axis, into path. */
int sw_sweep_out_summary(const sw_sweep_results *R, const char *path, sw_err *e);

/* Rows reach the disk through a thread of their own: one fdatasync after
 * another, each covering every row appended while the previous one ran
 * (group commit), so workers whose points take longer than a sync never
 * wait for one.  No more than `bound` rows are ever written but not yet
 * synced: with one per worker, a machine crash loses at most the row each
 * worker has in flight (a kill loses none: rows are written at once).
 * Points cheaper than a sync (a few ms on an ordinary disk) then run at
 * about `bound` points per sync: that is the price of the promise, measured
 * in docs/design.md (the z-reduced grid of bench/sweep.sh, 0.33 s -> 0.95 s
 * on two threads). */
typedef struct sw_syncer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int fd, quit, err;
    unsigned long written, synced, bound;
} sw_syncer;

/* bound >= 1: the most rows written and not yet synced. */
int sw_syncer_start(sw_syncer *y, int fd, unsigned long bound);
/* One more row written; returns once no more than bound rows are unsynced
 * (at once, unless the disk lags behind the workers). */
void sw_syncer_note(sw_syncer *y);
/* Syncs what is left and stops; the first sync error (errno), or 0. */
int sw_syncer_stop(sw_syncer *y);

#endif
