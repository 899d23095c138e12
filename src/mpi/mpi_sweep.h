/* Sweeps across MPI ranks (built only with MPI: meson's `mpi` feature).
 *
 * `mpirun -n N stagewise sweep ...`: every rank parses the same command and
 * builds the same sweep; rank 0 alone owns the result file (lock, resume,
 * appends, final rewrite) and hands out point indices one at a time to
 * whichever thread of whichever rank is free, its own threads included.
 * Points differ in cost by orders of magnitude, so a static split would
 * leave ranks idle; one index per request costs two small messages per
 * point, nothing next to a point.  Results travel back to rank 0, which
 * appends each as it arrives: a rank that dies loses only the points it
 * was running, and the file resumes with any number of ranks.
 *
 * No rank spins while it waits: every wait polls with MPI_Test or
 * MPI_Iprobe and sleeps between polls (50 us growing to 2 ms), because
 * ranks usually share their cores with OpenMP threads doing the work. */
#ifndef STAGEWISE_MPI_SWEEP_H
#define STAGEWISE_MPI_SWEEP_H

#include <signal.h>

#include "stagewise/sweep.h"

typedef struct sw_mpi_world {
    int on; /* started by an MPI launcher, MPI initialised */
    int rank, size;
} sw_mpi_world;

#ifdef SW_HAVE_MPI

/* Joins the MPI job when the process was started by a launcher (mpirun,
 * srun: their environment variables say so); otherwise leaves MPI alone
 * (w->on = 0, rank 0 of 1), so a plain `stagewise sweep` costs nothing. */
int sw_mpi_init(int *argc, char ***argv, sw_mpi_world *w, sw_err *e);
void sw_mpi_finalize(sw_mpi_world *w);

/* The largest of every rank's rc (collective). */
int sw_mpi_agree(const sw_mpi_world *w, int rc);
/* Rank 0's rc to every rank (collective). */
int sw_mpi_share(const sw_mpi_world *w, int rc);

/* Rank 0: runs the todo points on its own threads and on every other
 * rank's, calling done (one call at a time) for each result wherever it
 * was computed.  Returns once every other rank has finished its last
 * point.  Errors from other ranks come back with their message. */
int sw_mpi_sweep_lead(const sw_mpi_world *w, const sw_sweep *s, const size_t *todo, size_t n,
                      int threads, volatile sig_atomic_t *stop, sw_sweep_done done, void *user,
                      sw_err *e);
/* Ranks > 0: computes the points rank 0 hands out on `threads` threads
 * until it has no more. */
int sw_mpi_sweep_follow(const sw_sweep *s, int threads, volatile sig_atomic_t *stop, sw_err *e);

#else

/* Without MPI every process is a world of one: under mpirun each rank would
 * run the whole sweep, and the output's lock lets one of them. */
static inline int sw_mpi_init(int *argc, char ***argv, sw_mpi_world *w, sw_err *e)
{
    (void)argc, (void)argv, (void)e;
    *w = (sw_mpi_world){0, 0, 1};
    return SW_OK;
}
static inline void sw_mpi_finalize(sw_mpi_world *w) { (void)w; }
static inline int sw_mpi_agree(const sw_mpi_world *w, int rc) { return (void)w, rc; }
static inline int sw_mpi_share(const sw_mpi_world *w, int rc) { return (void)w, rc; }
/* Never called in a world of one. */
static inline int sw_mpi_sweep_lead(const sw_mpi_world *w, const sw_sweep *s,
                                    const size_t *todo, size_t n, int threads,
                                    volatile sig_atomic_t *stop, sw_sweep_done done,
                                    void *user, sw_err *e)
{
    (void)w, (void)todo, (void)n, (void)threads, (void)stop, (void)done, (void)user, (void)s;
    return sw_fail(e, SW_EFAIL, "this build has no MPI");
}
static inline int sw_mpi_sweep_follow(const sw_sweep *s, int threads,
                                      volatile sig_atomic_t *stop, sw_err *e)
{
    (void)s, (void)threads, (void)stop;
    return sw_fail(e, SW_EFAIL, "this build has no MPI");
}

#endif

#endif
