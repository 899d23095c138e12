#include <dirent.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

/* Every test process starts as the command line does, with sw_init() before
 * any library call (the tests are linked whole, so this always runs). */
__attribute__((constructor)) static void swt_init(void)
{
    sw_init();
}

char *swt_slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    buf[got] = '\0';
    fclose(fp);
    return buf;
}

char *swt_tmpdir(void)
{
    char tmpl[] = "/tmp/swtest.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void swt_rm_rf(char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

size_t swt_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

int swt_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *swt_bin(void)
{
    const char *b = getenv("SWT_BIN");
    return b && *b ? b : SW_BIN;
}

int swt_run(char **out, char **err, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *dir = swt_tmpdir();
    snprintf(cmd, sizeof cmd, "%s %s >%s/out 2>%s/err </dev/null", swt_bin(), args, dir, dir);
    int st = system(cmd);
    char path[512];
    snprintf(path, sizeof path, "%s/out", dir);
    if (out)
        *out = swt_slurp(path);
    unlink(path);
    snprintf(path, sizeof path, "%s/err", dir);
    if (err)
        *err = swt_slurp(path);
    unlink(path);
    rmdir(dir);
    free(dir);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

int swt_csv_read(const char *path, swt_csv *c)
{
    memset(c, 0, sizeof *c);
    char *text = swt_slurp(path);
    if (!text)
        return -1;
    size_t cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        if (!c->names) {
            c->cols = 1;
            for (char *p = line; *p; p++)
                c->cols += *p == ',';
            c->names = calloc(c->cols, sizeof(char *));
            char *s2 = NULL;
            size_t k = 0;
            for (char *f = strtok_r(line, ",", &s2); f && k < c->cols; f = strtok_r(NULL, ",", &s2))
                c->names[k++] = strdup(f);
            continue;
        }
        if (c->rows == cap) {
            cap = cap ? 2 * cap : 64;
            c->v = realloc(c->v, cap * c->cols * sizeof(double));
        }
        char *p = line;
        for (size_t k = 0; k < c->cols; k++) {
            c->v[c->rows * c->cols + k] = strtod(p, &p);
            if (*p == ',')
                p++;
        }
        c->rows++;
    }
    free(text);
    return c->names ? 0 : -1;
}

int swt_csv_col(const swt_csv *c, const char *name)
{
    for (size_t k = 0; k < c->cols; k++)
        if (strcmp(c->names[k], name) == 0)
            return (int)k;
    return -1;
}

double swt_csv_at(const swt_csv *c, size_t row, const char *name)
{
    int k = swt_csv_col(c, name);
    assert_true(k >= 0);
    assert_true(row < c->rows);
    return c->v[row * c->cols + (size_t)k];
}

void swt_csv_free(swt_csv *c)
{
    for (size_t k = 0; k < c->cols && c->names; k++)
        free(c->names[k]);
    free(c->names);
    free(c->v);
    memset(c, 0, sizeof *c);
}

void swt_kv_split(swt_kv *kv, va_list ap)
{
    kv->n = 0;
    for (const char *w; (w = va_arg(ap, const char *)) && kv->n < 64; kv->n++) {
        snprintf(kv->store[kv->n], sizeof kv->store[kv->n], "%s", w);
        char *eq = strchr(kv->store[kv->n], '=');
        assert_non_null(eq);
        *eq = '\0';
        kv->keys[kv->n] = kv->store[kv->n];
        kv->vals[kv->n] = eq + 1;
    }
}

sw_model *swt_model(const char *system, ...)
{
    const sw_system *sys = sw_system_find(system);
    assert_non_null(sys);
    swt_kv kv;
    va_list ap;
    va_start(ap, system);
    swt_kv_split(&kv, ap);
    va_end(ap);
    sw_model *m = NULL;
    sw_err e = {{0}};
    int rc = sw_model_alloc(sys, kv.n, kv.keys, kv.vals, &m, &e);
    if (rc)
        fail_msg("model %s: %s", system, e.msg);
    return m;
}

double swt_max_rel(const double *a, const double *b, size_t n, double floor)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fmax(fmax(fabs(a[i]), fabs(b[i])), floor);
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

sw_traj swt_traj(sw_model *m, const double *x0, const char *solver, double rtol, double atol,
                 double t_end, size_t points, double t_first, sw_ode_stats *st)
{
    sw_ode_opts o;
    sw_ode_opts_default(&o);
    o.solver = solver;
    o.rtol = rtol;
    o.atol = atol;
    o.t_end = t_end;
    o.t_first = t_first;
    o.points = points;
    sw_err e;
    sw_ode *w = sw_ode_alloc(m, &o, &e);
    if (!w)
        fail_msg("%s with %s: %s", m->sys->name, solver, e.msg);
    double *x = malloc(m->dim * sizeof *x);
    if (x0)
        memcpy(x, x0, m->dim * sizeof *x);
    else
        m->sys->init(m, x);
    sw_traj tr = {.dim = m->dim};
    if (sw_ode_run(w, x, sw_traj_record, &tr, st, &e))
        fail_msg("%s with %s: %s", m->sys->name, solver, e.msg);
    assert_int_equal(tr.n, points);
    assert_true(tr.t[points - 1] == t_end);
    free(x);
    sw_ode_free(w);
    return tr;
}
