#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stagewise/output.h"

/* Temporary names still on disk, for sw_outfile_cleanup to remove from a
 * signal handler: a fixed table of pointers claimed and released
 * atomically, since the handler may run at any point. */
#define N_PENDING 64
static char *_Atomic pending[N_PENDING];

static void pending_add(char *tmp)
{
    for (size_t i = 0; i < N_PENDING; i++) {
        char *none = NULL;
        if (atomic_compare_exchange_strong(&pending[i], &none, tmp))
            return;
    }
    /* A full table only loses the cleanup on a signal, never a result. */
}

static void pending_remove(const char *tmp)
{
    for (size_t i = 0; i < N_PENDING; i++) {
        char *want = (char *)tmp;
        if (atomic_compare_exchange_strong(&pending[i], &want, NULL))
            return;
    }
}

void sw_outfile_cleanup(void)
{
    for (size_t i = 0; i < N_PENDING; i++) {
        char *tmp = atomic_exchange(&pending[i], NULL);
        if (tmp)
            unlink(tmp); /* async-signal-safe; the name itself is never freed here */
    }
}

/* PATH.tmp.PID.N: a name no other process or thread uses (pid, then a
 * counter), the file name part shortened when the suffix would push it past
 * NAME_MAX (a valid long name must not fail for our suffix). */
static char *temp_name(const char *path)
{
    static atomic_ulong serial;
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".tmp.%ld.%lu", (long)getpid(),
             atomic_fetch_add(&serial, 1));
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, base = strlen(path) - dir;
    size_t ns = strlen(suffix);
    if (base + ns > NAME_MAX)
        base = NAME_MAX - ns;
    char *tmp = malloc(dir + base + ns + 1);
    if (tmp) {
        memcpy(tmp, path, dir + base);
        memcpy(tmp + dir + base, suffix, ns + 1);
    }
    return tmp;
}

static int in_place(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

void sw_outfile_discard(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(path);
}

int sw_outfile_check(const char *path, const char *what, sw_err *e)
{
    if (!*path)
        return sw_fail(e, SW_EINPUT, "%s: the file name is empty (allowed: a file name, or - "
                                     "for standard output)",
                       what);
    if (strcmp(path, "-") == 0)
        return SW_OK;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sw_fail(e, SW_EINPUT, "%s: '%s' is a directory (allowed: a file name)", what,
                       path);
    if (in_place(path))
        return access(path, W_OK) == 0
                   ? SW_OK
                   : sw_fail(e, SW_EINPUT, "%s: cannot write '%s': %s", what, path,
                             strerror(errno));
    /* The surest test is the one the run will do at the end: make the
     * temporary file beside it, and remove it again. */
    sw_outfile f;
    sw_err why;
    if (sw_outfile_open(&f, path, &why))
        return sw_fail(e, SW_EINPUT, "%s: %s", what, why.msg);
    sw_outfile_abort(&f);
    return SW_OK;
}

int sw_outfile_open(sw_outfile *f, const char *path, sw_err *e)
{
    memset(f, 0, sizeof *f);
    if (strcmp(path, "-") == 0) {
        f->fp = stdout;
        return SW_OK;
    }
    if (!*path)
        return sw_fail(e, SW_EINPUT, "cannot write '': the file name is empty");
    f->path = strdup(path);
    if (!f->path)
        return sw_fail(e, SW_EFAIL, "out of memory");
    /* A device or pipe (/dev/null, a FIFO) is written in place: renaming a
     * file over it would replace the device node itself. */
    if (in_place(path)) {
        f->fp = fopen(path, "w");
        if (!f->fp) {
            int err = errno;
            sw_outfile_abort(f);
            return sw_fail(e, SW_EINPUT, "cannot write '%s': %s", path, strerror(err));
        }
        return SW_OK;
    }
    /* Created exclusively with mode 0666 so that the kernel applies the
     * umask: a result file gets 0666 & ~umask like any tool's output, and
     * the library never reads the umask by setting it (that would briefly
     * change it for every thread). */
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        if (f->tmp)
            pending_remove(f->tmp);
        free(f->tmp);
        if (!(f->tmp = temp_name(path))) {
            sw_outfile_abort(f);
            return sw_fail(e, SW_EFAIL, "out of memory");
        }
        /* In the signal table before the file exists, so no moment has a
         * file the handler would miss. */
        pending_add(f->tmp);
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int err = errno;
        pending_remove(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        sw_outfile_abort(f);
        return sw_fail(e, SW_EINPUT, "cannot write '%s': %s", path, strerror(err));
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        int err = errno;
        close(fd);
        sw_outfile_abort(f);
        return sw_fail(e, SW_EFAIL, "cannot write '%s': %s", path, strerror(err));
    }
    return SW_OK;
}

int sw_outfile_commit(sw_outfile *f, sw_err *e)
{
    int bad = 0, err = 0;
    /* fp is NULL when another process wrote the file (a plot). */
    if (f->fp) {
        errno = 0;
        bad = fflush(f->fp) != 0 || ferror(f->fp);
        err = errno;
        if (f->fp != stdout) {
            if (fclose(f->fp) != 0 && !bad) {
                bad = 1;
                err = errno;
            }
        }
        f->fp = NULL;
    }
    if (!bad && f->tmp && rename(f->tmp, f->path) != 0) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        const char *why = err ? strerror(err) : "write error";
        int rc = f->path ? sw_fail(e, SW_EFAIL, "cannot write '%s': %s", f->path, why)
                         : sw_fail(e, SW_EFAIL, "cannot write to standard output: %s", why);
        sw_outfile_abort(f);
        return rc;
    }
    if (f->tmp)
        pending_remove(f->tmp);
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    return SW_OK;
}

void sw_outfile_abort(sw_outfile *f)
{
    if (f->fp && f->fp != stdout)
        fclose(f->fp);
    if (f->tmp) {
        /* Unlinked before it leaves the table: a signal in between finds
         * it there and unlinks it again, harmlessly. */
        unlink(f->tmp);
        pending_remove(f->tmp);
    }
    free(f->tmp);
    free(f->path);
    memset(f, 0, sizeof *f);
}

void sw_csv_provenance(FILE *fp, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(fp, "# %s = ", key);
    vfprintf(fp, fmt, ap);
    fputc('\n', fp);
    va_end(ap);
}

void sw_csv_model_provenance(FILE *fp, const sw_model *m)
{
    sw_csv_provenance(fp, "stagewise", "%s", SW_VERSION);
    sw_csv_provenance(fp, "system", "%s", m->sys->name);
    for (size_t i = 0; i < m->sys->n_params; i++) {
        /* Sized for the whole list: provenance must read back exactly. */
        size_t len = 26 * m->pv[i].n + 1;
        char *buf = malloc(len);
        if (!buf)
            continue;
        sw_value_format(&m->pv[i], buf, len);
        sw_csv_provenance(fp, m->sys->params[i].name, "%s", buf);
        free(buf);
    }
    for (size_t i = 0; i < m->n_levels; i++) {
        char key[32];
        snprintf(key, sizeof key, "level_%zu", i);
        sw_csv_provenance(fp, key, "%.17g", m->levels[i]);
    }
}

void sw_csv_header(FILE *fp, const sw_model *m)
{
    fputs("t,loss", fp);
    for (size_t i = 0; i < m->n_obs; i++)
        fprintf(fp, ",%s", m->obs_names[i]);
    fputc('\n', fp);
}

void sw_csv_row(FILE *fp, const sw_model *m, double t, const double *x, double *obs)
{
    fprintf(fp, "%.17g,%.17g", t, m->sys->loss(m, x));
    m->sys->observe(m, x, obs);
    for (size_t i = 0; i < m->n_obs; i++)
        fprintf(fp, ",%.17g", obs[i]);
    fputc('\n', fp);
}

json_object *sw_json_params(const sw_model *m)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < m->sys->n_params; i++) {
        const sw_param_def *d = &m->sys->params[i];
        const sw_value *v = &m->pv[i];
        json_object *val;
        if (d->kind == SW_PARAM_LIST) {
            val = json_object_new_array();
            for (size_t k = 0; k < v->n; k++)
                json_object_array_add(val, json_object_new_double(v->v[k]));
        } else if (d->kind == SW_PARAM_INT) {
            val = json_object_new_int64((int64_t)v->v[0]);
        } else {
            val = json_object_new_double(v->v[0]);
        }
        json_object_object_add(o, d->name, val);
    }
    return o;
}

json_object *sw_json_real(double x)
{
    return isfinite(x) ? json_object_new_double(x) : NULL;
}

int sw_result_commit(sw_outfile *csv, const char *meta_path, json_object *meta, sw_err *e)
{
    int rc = meta_path ? sw_json_write(meta_path, meta, e) : SW_OK;
    if (rc) {
        sw_outfile_abort(csv);
        return rc;
    }
    rc = sw_outfile_commit(csv, e);
    if (rc && meta_path)
        sw_outfile_discard(meta_path); /* no metadata without its data; never a device */
    return rc;
}

void sw_csv_solver_provenance(FILE *fp, const sw_ode_opts *o)
{
    sw_csv_provenance(fp, "solver", "%s rtol=%.17g atol=%.17g", o->solver, o->rtol, o->atol);
}

int sw_json_write(const char *path, json_object *obj, sw_err *e)
{
    sw_outfile f;
    int rc = sw_outfile_open(&f, path, e);
    if (rc)
        return rc;
    fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE),
          f.fp);
    fputc('\n', f.fp);
    return sw_outfile_commit(&f, e);
}

char *sw_path_derived(const char *csv_path, const char *ext)
{
    size_t len = strlen(csv_path);
    if (len >= 4 && strcmp(csv_path + len - 4, ".csv") == 0)
        len -= 4;
    char *p = malloc(len + strlen(ext) + 1);
    if (p) {
        memcpy(p, csv_path, len);
        strcpy(p + len, ext);
    }
    return p;
}

int sw_meta_path(const char *meta, const char *out, char **path, sw_err *e)
{
    *path = NULL;
    if (!meta && strcmp(out, "-") == 0)
        return SW_OK;
    *path = meta ? strdup(meta) : sw_path_derived(out, ".json");
    return *path ? SW_OK : sw_fail(e, SW_EFAIL, "out of memory");
}
