/* A sweep's points shared across MPI ranks: rank 0 keeps the queue and
 * the file, every thread of every rank asks it for one point at a time.
 * See mpi_sweep.h for the protocol's reasons. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mpi_sweep.h"

enum {
    TAG_ASK = 1,    /* a thread wants a point: int32 thread id */
    TAG_RESULT = 2, /* a finished point: packed result */
    TAG_DONE = 3,   /* a rank has stopped asking: int32 rc, then its message */
    TAG_POINT = 16  /* + thread id: the answer, int64 point or -1 */
};

/* ---- setup ---------------------------------------------------------------- */

static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int sw_mpi_init(int *argc, char ***argv, sw_mpi_world *w, sw_err *e)
{
    *w = (sw_mpi_world){0, 0, 1};
    if (!launched())
        return SW_OK;
    /* Threads take turns at MPI (a critical section around every call), so
     * SERIALIZED is enough, on every Open MPI build. */
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return sw_fail(e, SW_EFAIL, "mpi: MPI_Init_thread failed");
    w->on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    if (provided < MPI_THREAD_SERIALIZED)
        return sw_fail(e, SW_EFAIL, "mpi: the MPI library offers no MPI_THREAD_SERIALIZED "
                                    "(needed for threads within a rank)");
    return SW_OK;
}

void sw_mpi_finalize(sw_mpi_world *w)
{
    if (w->on)
        MPI_Finalize();
    w->on = 0;
}

int sw_mpi_agree(const sw_mpi_world *w, int rc)
{
    int all = rc;
    if (w->on)
        MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

int sw_mpi_share(const sw_mpi_world *w, int rc)
{
    if (w->on)
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
}

/* ---- waiting without spinning ------------------------------------------------- */

static void nap(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    if (*ns < 2000000)
        *ns *= 2;
}

/* Every MPI call of a rank goes through here or sits in this critical
 * section: threads take turns (MPI_THREAD_SERIALIZED). */
static void wait_for(MPI_Request *rq)
{
    long ns = 50000;
    for (;;) {
        int flag;
#pragma omp critical(sw_mpi)
        MPI_Test(rq, &flag, MPI_STATUS_IGNORE);
        if (flag)
            return;
        nap(&ns);
    }
}

/* ---- results on the wire ------------------------------------------------------- */

/* point (int64), status (int32), the values, the reason: one fixed size
 * per sweep, sent as bytes (ranks share one binary and architecture). */
static size_t result_size(const sw_sweep *s)
{
    return sizeof(int64_t) + sizeof(int32_t) + s->n_values * sizeof(double) +
           sizeof((sw_sweep_result){0}.reason);
}

static void pack(const sw_sweep *s, const sw_sweep_result *r, unsigned char *buf)
{
    int64_t p = (int64_t)r->point;
    int32_t st = r->status;
    memcpy(buf, &p, sizeof p);
    buf += sizeof p;
    memcpy(buf, &st, sizeof st);
    buf += sizeof st;
    memcpy(buf, r->values, s->n_values * sizeof(double));
    buf += s->n_values * sizeof(double);
    memcpy(buf, r->reason, sizeof r->reason);
}

static void unpack(const sw_sweep *s, const unsigned char *buf, sw_sweep_result *r)
{
    int64_t p;
    int32_t st;
    memcpy(&p, buf, sizeof p);
    buf += sizeof p;
    memcpy(&st, buf, sizeof st);
    buf += sizeof st;
    memcpy(r->values, buf, s->n_values * sizeof(double));
    buf += s->n_values * sizeof(double);
    memcpy(r->reason, buf, sizeof r->reason);
    r->reason[sizeof r->reason - 1] = '\0';
    r->point = (size_t)p;
    r->status = st;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- rank 0 ------------------------------------------------------------------- */

struct lead {
    const sw_mpi_world *w;
    const sw_sweep *s;
    const size_t *todo;
    size_t n, next;
    volatile sig_atomic_t *stop;
    sw_sweep_done done;
    void *user;
    pthread_mutex_t lock; /* the queue, done, and the fields below */
    int halt, rc;
    sw_err err;
};

/* The next point of the queue, for a thread of any rank; none once the
 * sweep stops (interrupted, or an error). */
static int lead_next(void *src, size_t *point)
{
    struct lead *L = src;
    int got = 0;
    pthread_mutex_lock(&L->lock);
    if (!L->halt && !(L->stop && *L->stop) && L->next < L->n) {
        *point = L->todo[L->next++];
        got = 1;
    }
    pthread_mutex_unlock(&L->lock);
    return got;
}

static void lead_fail(struct lead *L, int rc, const sw_err *e)
{
    if (!L->halt) {
        L->halt = 1;
        L->rc = rc;
        L->err = *e;
    }
}

/* done for every result, from rank 0's threads and from the server alike:
 * one call at a time. */
static int lead_done(const sw_sweep_result *r, void *user, sw_err *e)
{
    struct lead *L = user;
    pthread_mutex_lock(&L->lock);
    int rc = L->halt ? SW_OK : L->done(r, L->user, e);
    if (rc)
        lead_fail(L, rc, e);
    pthread_mutex_unlock(&L->lock);
    return rc;
}

/* Answers the other ranks until each has said it is done. */
static void *serve(void *arg)
{
    struct lead *L = arg;
    const sw_sweep *s = L->s;
    size_t size = result_size(s);
    unsigned char *buf = malloc(size > sizeof(sw_err) + 4 ? size : sizeof(sw_err) + 4);
    double *values = malloc((s->n_values ? s->n_values : 1) * sizeof *values);
    int done_ranks = 0;
    long ns = 50000;
    while (done_ranks < L->w->size - 1) {
        int flag;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            nap(&ns);
            continue;
        }
        ns = 50000;
        if (st.MPI_TAG == TAG_ASK) {
            int32_t tid;
            MPI_Recv(&tid, 1, MPI_INT32_T, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            size_t p;
            int64_t answer = lead_next(L, &p) ? (int64_t)p : -1;
            MPI_Send(&answer, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_POINT + tid, MPI_COMM_WORLD);
        } else if (st.MPI_TAG == TAG_RESULT) {
            MPI_Recv(buf, (int)size, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            if (!buf || !values)
                continue; /* out of memory: the point stays undone */
            sw_sweep_result r = {.values = values};
            unpack(s, buf, &r);
            sw_err e;
            lead_done(&r, L, &e);
        } else {
            /* TAG_DONE: the rank's rc and message. */
            int32_t rc;
            sw_err e;
            unsigned char msg[sizeof rc + sizeof e.msg];
            MPI_Recv(msg, (int)sizeof msg, MPI_BYTE, st.MPI_SOURCE, TAG_DONE, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            memcpy(&rc, msg, sizeof rc);
            memcpy(e.msg, msg + sizeof rc, sizeof e.msg);
            e.msg[sizeof e.msg - 1] = '\0';
            if (rc) {
                sw_err named;
                sw_fail(&named, rc, "rank %d: %s", st.MPI_SOURCE, e.msg);
                pthread_mutex_lock(&L->lock);
                lead_fail(L, rc, &named);
                pthread_mutex_unlock(&L->lock);
            }
            done_ranks++;
        }
    }
    free(buf);
    free(values);
    return NULL;
}

int sw_mpi_sweep_lead(const sw_mpi_world *w, const sw_sweep *s, const size_t *todo, size_t n,
                      int threads, volatile sig_atomic_t *stop, sw_sweep_done done, void *user,
                      sw_err *e)
{
    struct lead L = {.w = w, .s = s, .todo = todo, .n = n, .stop = stop, .done = done,
                     .user = user};
    pthread_mutex_init(&L.lock, NULL);
    pthread_t server;
    /* The server is the one thread of rank 0 that calls MPI while the
     * points run; the OpenMP threads compute. */
    if (pthread_create(&server, NULL, serve, &L) != 0) {
        pthread_mutex_destroy(&L.lock);
        return sw_fail(e, SW_EFAIL, "mpi: cannot start the thread that serves the ranks");
    }
    sw_err le;
    int rc = sw_sweep_run_from(s, lead_next, &L, threads, stop, lead_done, &L, &le);
    pthread_join(server, NULL);
    pthread_mutex_destroy(&L.lock);
    if (L.rc) {
        *e = L.err;
        return L.rc;
    }
    if (rc)
        *e = le;
    return rc;
}

/* ---- other ranks ------------------------------------------------------------------ */

struct follow {
    const sw_sweep *s;
    unsigned char *buf; /* per thread, result_size each */
};

/* Asks rank 0 for this thread's next point. */
static int follow_next(void *src, size_t *point)
{
    (void)src;
    int32_t tid = thread_id();
    int64_t answer;
    MPI_Request rq;
#pragma omp critical(sw_mpi)
    {
        MPI_Send(&tid, 1, MPI_INT32_T, 0, TAG_ASK, MPI_COMM_WORLD);
        MPI_Irecv(&answer, 1, MPI_INT64_T, 0, TAG_POINT + tid, MPI_COMM_WORLD, &rq);
    }
    wait_for(&rq);
    if (answer < 0)
        return 0;
    *point = (size_t)answer;
    return 1;
}

/* Sends a finished point to rank 0 (sw_sweep_run_from calls this one
 * thread at a time). */
static int follow_done(const sw_sweep_result *r, void *user, sw_err *e)
{
    (void)e;
    struct follow *F = user;
    size_t size = result_size(F->s);
    pack(F->s, r, F->buf);
    MPI_Request rq;
#pragma omp critical(sw_mpi)
    MPI_Isend(F->buf, (int)size, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD, &rq);
    wait_for(&rq);
    return SW_OK;
}

int sw_mpi_sweep_follow(const sw_sweep *s, int threads, volatile sig_atomic_t *stop, sw_err *e)
{
    struct follow F = {s, malloc(result_size(s))};
    int rc = F.buf ? sw_sweep_run_from(s, follow_next, &F, threads, stop, follow_done, &F, e)
                   : sw_fail(e, SW_EFAIL, "out of memory");
    free(F.buf);
    /* Done, with how it went: rank 0 waits for this from every rank. */
    int32_t rc32 = rc;
    unsigned char msg[sizeof rc32 + sizeof e->msg];
    memcpy(msg, &rc32, sizeof rc32);
    memset(msg + sizeof rc32, 0, sizeof e->msg);
    if (rc)
        memcpy(msg + sizeof rc32, e->msg, sizeof e->msg);
    MPI_Request rq;
    MPI_Isend(msg, (int)sizeof msg, MPI_BYTE, 0, TAG_DONE, MPI_COMM_WORLD, &rq);
    wait_for(&rq);
    return rc;
}
