/* The result file of `sweep` (sweep_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stagewise/output.h"
#include "stagewise/table.h"
#include "sweep_file.h"

void sw_sweep_results_keep(sw_sweep_results *R, size_t p, const double *v, int status,
                           const char *reason)
{
    R->have[p] = 1;
    R->n_have++;
    memcpy(R->values + p * R->s->n_values, v, R->s->n_values * sizeof *v);
    R->status[p] = status;
    R->n_failed += status != SW_POINT_OK;
    R->reason[p] = status != SW_POINT_OK ? strdup(reason ? reason : "") : NULL;
}

int sw_sweep_results_alloc(sw_sweep_results *R, const sw_sweep *s)
{
    size_t n = s->n_points;
    R->s = s;
    R->have = calloc(n, 1);
    R->values = malloc(n * (s->n_values ? s->n_values : 1) * sizeof *R->values);
    R->status = calloc(n, sizeof *R->status);
    R->reason = calloc(n, sizeof *R->reason);
    return R->have && R->values && R->status && R->reason ? SW_OK : SW_EFAIL;
}

void sw_sweep_results_free(sw_sweep_results *R)
{
    for (size_t p = 0; R->reason && p < R->s->n_points; p++)
        free(R->reason[p]);
    free(R->have), free(R->values), free(R->status), free(R->reason);
}

char *sw_sweep_head_text(const sw_sweep *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return NULL;
    sw_sweep_write_head(s, fp);
    return fclose(fp) == 0 ? buf : NULL;
}

/* ---- the output file -------------------------------------------------------- */

/* The output is locked (flock) from before it is read until the sweep
 * ends, so a second sweep into the same file is refused rather than
 * computing every point again beside the first.  The lock is on the file
 * the path names: the final rewrite renames a new file into place, which
 * a sweep started later locks afresh. */
int sw_sweep_out_lock(const char *path, int *fd_out, sw_err *e)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0)
            return sw_fail(e, SW_EINPUT, "out: cannot open '%s': %s", path, strerror(errno));
        struct stat a, b;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            close(fd);
            return sw_fail(e, SW_EINPUT, "out: '%s' is not a regular file (allowed: a file, "
                                         "which sweep appends to and resumes from)",
                           path);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            close(fd);
            if (err == EWOULDBLOCK)
                return sw_fail(e, SW_EINPUT, "out: '%s' is in use by another sweep (allowed: "
                                             "wait for it to end, or another --out)",
                               path);
            return sw_fail(e, SW_EINPUT, "out: cannot lock '%s': %s", path, strerror(err));
        }
        /* Still the file the path names, not one a finishing sweep replaced? */
        if (stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            *fd_out = fd;
            return SW_OK;
        }
        close(fd);
    }
    return sw_fail(e, SW_EFAIL, "out: '%s' keeps being replaced; is another sweep finishing it?",
                   path);
}

/* The whole file behind fd, its size in *len. */
static char *slurp(int fd, size_t *len, sw_err *e)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sw_fail(e, SW_EFAIL, "out: cannot stat: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        sw_fail(e, SW_EFAIL, "out of memory");
        return NULL;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (k <= 0) {
            sw_fail(e, SW_EFAIL, "out: cannot read: %s", k ? strerror(errno) : "file shrank");
            free(buf);
            return NULL;
        }
        got += (size_t)k;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A head-only file, synced with its directory entry, so that even a
 * machine crash leaves a file the same command recognises. */
static int write_head(int fd, const char *path, const char *head, sw_err *e)
{
    if (ftruncate(fd, 0) != 0 || write_all(fd, head, strlen(head)) != 0 || fsync(fd) != 0)
        return sw_fail(e, SW_EFAIL, "cannot write '%s': %s", path, strerror(errno));
    char *dir = strdup(path);
    if (!dir)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return SW_OK;
}

/* Fields of a data row: point, axes, point_seed, values, status. */
static size_t row_fields(const sw_sweep *s)
{
    return 1 + s->n_axes + (s->seed_param >= 0) + s->n_values + 1;
}

/* Where the file's intact part ends: a kill or a crash while a row was
 * appended can leave a last line without its newline, or a row without
 * all its fields; that line goes (its point is computed again). */
static size_t intact_end(const sw_sweep *s, const char *buf, size_t len, size_t head_len)
{
    size_t end = len;
    while (end > head_len && buf[end - 1] != '\n')
        end--;
    if (end <= head_len)
        return head_len;
    size_t start = end - 1;
    while (start > head_len && buf[start - 1] != '\n')
        start--;
    if (buf[start] == '#')
        return end;
    size_t fields = 1;
    for (size_t i = start; i < end - 1; i++)
        fields += buf[i] == ',';
    return fields == row_fields(s) ? end : start;
}

/* A data row of the file against the point it names: its coordinates
 * must be the point's, its status one of the codes. */
static int check_row(const sw_sweep *s, const sw_table *tb, size_t r, const char *path,
                     size_t *pt, sw_err *e)
{
    double p = sw_table_at(tb, r, 0);
    if (!(p >= 0 && p < (double)s->n_points && p == floor(p)))
        return sw_fail(e, SW_EINPUT, "out: '%s' data row %zu: point %g is not in this sweep "
                                     "(allowed: 0 to %zu)",
                       path, r + 1, p, s->n_points - 1);
    *pt = (size_t)p;
    for (size_t a = 0; a < s->n_axes; a++)
        if (sw_table_at(tb, r, (int)(1 + a)) != sw_sweep_axis_value(s, a, *pt))
            return sw_fail(e, SW_EINPUT, "out: '%s' data row %zu: %s is not point %zu's",
                           path, r + 1, tb->names[1 + a], *pt);
    double st = sw_table_at(tb, r, (int)tb->cols - 1);
    if (!(st == SW_POINT_OK || st == SW_POINT_UNREACHED || st == SW_POINT_NUMERIC))
        return sw_fail(e, SW_EINPUT, "out: '%s' data row %zu: status %g is not a status "
                                     "(allowed: " SW_POINT_STATUS_DOC ")",
                       path, r + 1, st);
    return SW_OK;
}

/* Checks that the file behind fd (locked) was written by this very sweep
 * (it starts with head), drops a torn last row, and takes over the rows.
 * An empty file, or one holding part of the head only (a first run killed
 * while writing it), starts afresh. */
int sw_sweep_out_resume(sw_sweep_results *R, int fd, const char *path, const char *head,
                        sw_err *e)
{
    const sw_sweep *s = R->s;
    size_t len, n = strlen(head);
    char *got = slurp(fd, &len, e);
    if (!got)
        return SW_EFAIL;
    if (len < n && memcmp(got, head, len) == 0) {
        free(got);
        return write_head(fd, path, head, e);
    }
    if (len < n || memcmp(got, head, n) != 0) {
        /* Name the first line that differs: usually all the user needs. */
        size_t i = 0, line = 0;
        while (i < len && got[i] == head[i])
            i++;
        while (line < i && head[i - line - 1] != '\n')
            line++;
        const char *want = head + i - line;
        int wl = (int)strcspn(want, "\n");
        free(got);
        return sw_fail(e, SW_EINPUT,
                       "out: '%s' holds a different sweep (this one needs the line '%.*s' "
                       "there); allowed: the same command, or another --out",
                       path, wl, want);
    }
    size_t end = intact_end(s, got, len, n);
    if (end < len) {
        if (ftruncate(fd, (off_t)end) != 0 || fsync(fd) != 0) {
            free(got);
            return sw_fail(e, SW_EFAIL, "cannot cut the torn last row of '%s': %s", path,
                           strerror(errno));
        }
        fprintf(stderr, "stagewise: resuming: dropped a torn last row of %s (%zu bytes); its "
                        "point is computed again\n",
                path, len - end);
    }

    /* The rows from the text read above, the file's intact part. */
    sw_table tb;
    int rc = sw_table_read_mem(got, end, path, &tb, e);
    free(got);
    if (rc)
        return rc;
    size_t first_value = 1 + s->n_axes + (s->seed_param >= 0);
    for (size_t r = 0; r < tb.rows && rc == SW_OK; r++) {
        size_t pt = 0;
        if ((rc = check_row(s, &tb, r, path, &pt, e)) || R->have[pt])
            continue;
        double *v = tb.v + r * tb.cols + first_value;
        int status = (int)v[s->n_values];
        char key[40];
        snprintf(key, sizeof key, "failure_%zu", pt);
        const char *reason = sw_table_meta(&tb, key);
        /* A failed row whose reason line was cut off is computed again. */
        if (status == SW_POINT_OK || reason)
            sw_sweep_results_keep(R, pt, v, status, reason);
    }
    sw_table_clear(&tb);
    return rc;
}

/* All points done: the file again, in point order, atomically. */
int sw_sweep_out_finish(const sw_sweep_results *R, int mpi_ranks, const char *path, sw_err *e)
{
    const sw_sweep *s = R->s;
    sw_outfile f;
    int rc = sw_outfile_open(&f, path, e);
    if (rc)
        return rc;
    sw_sweep_write_head(s, f.fp);
    for (size_t p = 0; p < s->n_points; p++) {
        sw_sweep_result r = {.point = p, .values = R->values + p * s->n_values,
                             .status = R->status[p]};
        if (R->reason[p])
            snprintf(r.reason, sizeof r.reason, "%s", R->reason[p]);
        sw_sweep_write_row(s, &r, f.fp);
    }
    /* Last, outside the head a resume compares: the rows are the same
     * whatever ran them, this line alone says what did. */
    if (mpi_ranks)
        fprintf(f.fp, "# mpi_ranks = %d (the run that completed this file)\n", mpi_ranks);
    return sw_outfile_commit(&f, e);
}

static void *sync_rows(void *arg)
{
    sw_syncer *y = arg;
    pthread_mutex_lock(&y->lock);
    for (;;) {
        while (!y->quit && y->synced == y->written)
            pthread_cond_wait(&y->wake, &y->lock);
        if (y->synced == y->written)
            break;
        unsigned long upto = y->written;
        pthread_mutex_unlock(&y->lock);
        int err = fdatasync(y->fd) ? errno : 0;
        pthread_mutex_lock(&y->lock);
        y->synced = upto;
        if (err && !y->err)
            y->err = err;
        pthread_cond_broadcast(&y->done);
    }
    pthread_mutex_unlock(&y->lock);
    return NULL;
}

int sw_syncer_start(sw_syncer *y, int fd, unsigned long bound)
{
    *y = (sw_syncer){.fd = fd, .bound = bound ? bound : 1};
    pthread_mutex_init(&y->lock, NULL);
    pthread_cond_init(&y->wake, NULL);
    pthread_cond_init(&y->done, NULL);
    if (pthread_create(&y->thread, NULL, sync_rows, y) == 0)
        return 0;
    pthread_cond_destroy(&y->done);
    pthread_cond_destroy(&y->wake);
    pthread_mutex_destroy(&y->lock);
    return -1;
}

void sw_syncer_note(sw_syncer *y)
{
    pthread_mutex_lock(&y->lock);
    y->written++;
    pthread_cond_signal(&y->wake);
    /* A failed sync is reported at the end; waiting on would not help. */
    while (y->written - y->synced > y->bound && !y->err)
        pthread_cond_wait(&y->done, &y->lock);
    pthread_mutex_unlock(&y->lock);
}

/* Syncs what is left and stops; the first sync error, or 0. */
int sw_syncer_stop(sw_syncer *y)
{
    pthread_mutex_lock(&y->lock);
    y->quit = 1;
    pthread_cond_signal(&y->wake);
    pthread_mutex_unlock(&y->lock);
    pthread_join(y->thread, NULL);
    pthread_cond_destroy(&y->done);
    pthread_cond_destroy(&y->wake);
    pthread_mutex_destroy(&y->lock);
    return y->err;
}

/* The summary beside the result: medians and quartiles over seeds. */
int sw_sweep_out_summary(const sw_sweep_results *R, const char *path, sw_err *e)
{
    sw_outfile f;
    int rc = sw_outfile_open(&f, path, e);
    if (rc)
        return rc;
    if ((rc = sw_sweep_write_summary(R->s, R->values, f.fp, e))) {
        sw_outfile_abort(&f);
        return rc;
    }
    return sw_outfile_commit(&f, e);
}

