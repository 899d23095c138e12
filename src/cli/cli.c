#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas.h"
#include "cli.h"
#include "lines.h"
#include "preset.h"
#include "stagewise/budget.h"
#include "stagewise/output.h"

int sw_cli_report(int code, const sw_err *e)
{
    if (code)
        fprintf(stderr, "stagewise: %s\n", e->msg);
    return code;
}

int sw_cli_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stagewise: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int sw_cli_system(const char *name, const sw_system **out, sw_err *e)
{
    *out = sw_system_find(name);
    if (!*out)
        return sw_fail(e, SW_EINPUT, "unknown system '%s' (allowed: %s)", name,
                       sw_system_names());
    return SW_OK;
}

/* KEY=VALUE pairs in the order they were given; the model takes the last. */
typedef struct kv_list {
    size_t n, cap;
    char **keys, **values;
} kv_list;

static int kv_push(kv_list *l, const char *k, size_t klen, const char *v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **nk = realloc(l->keys, cap * sizeof *nk);
        if (!nk)
            return SW_EFAIL;
        l->keys = nk;
        char **nv = realloc(l->values, cap * sizeof *nv);
        if (!nv)
            return SW_EFAIL;
        l->values = nv;
        l->cap = cap;
    }
    l->keys[l->n] = strndup(k, klen);
    l->values[l->n] = strdup(v);
    if (!l->keys[l->n] || !l->values[l->n]) {
        free(l->keys[l->n]);
        free(l->values[l->n]);
        return SW_EFAIL;
    }
    l->n++;
    return SW_OK;
}

static void kv_free(kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
}

static int preset_entry(void *user, const char *key, const char *value)
{
    return kv_push(user, key, strlen(key), value);
}

int sw_cli_model(const sw_system *sys, const char *preset, int n, char *const *words,
                 const sw_model_budget *b, sw_model **out, sw_err *e)
{
    sw_model_budget def;
    if (!b) {
        sw_model_budget_default(&def);
        b = &def;
    }
    kv_list kv = {0};
    int rc = SW_OK;
    if (preset)
        rc = sw_preset_read(preset, preset_entry, &kv, e);
    for (int i = 0; i < n && rc == SW_OK; i++) {
        const char *eq = strchr(words[i], '=');
        if (!eq || eq == words[i])
            rc = sw_fail(e, SW_EINPUT, "'%s' is not KEY=VALUE (see `stagewise describe %s`)",
                         words[i], sys->name);
        else if (kv_push(&kv, words[i], (size_t)(eq - words[i]), eq + 1))
            rc = sw_fail(e, SW_EFAIL, "out of memory");
    }
    if (rc == SW_OK)
        rc = sw_model_alloc_within(sys, kv.n, (const char *const *)kv.keys,
                                   (const char *const *)kv.values, b, out, e);
    kv_free(&kv);
    return rc;
}

int sw_cli_init_state(const sw_model *m, const char *file, double *x, sw_err *e)
{
    if (!file) {
        m->sys->init(m, x);
        return SW_OK;
    }
    sw_lines r;
    int rc = sw_lines_open(&r, file, "init", SW_DATA_MAX_LINE, SW_DATA_MAX_BYTES, e);
    if (rc)
        return rc;
    size_t count = 0;
    char *line;
    while (rc == SW_OK && (rc = sw_lines_next(&r, &line, e)) == SW_OK && line) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t\r,", &save); tok && rc == SW_OK;
             tok = strtok_r(NULL, " \t\r,", &save)) {
            double v;
            const char *why = sw_parse_real_why(tok, &v);
            if (why)
                rc = sw_fail(e, SW_EINPUT, "init: '%.40s%s' in '%s' line %ld %s", tok,
                             strlen(tok) > 40 ? "..." : "", file, r.lineno, why);
            else if (count < m->dim)
                x[count++] = v;
            else
                count++;
        }
    }
    sw_lines_close(&r);
    if (rc == SW_OK && count != m->dim)
        rc = sw_fail(e, SW_EINPUT, "init: '%s' has %zu values, system %s needs %zu", file, count,
                     m->sys->name, m->dim);
    return rc;
}

int sw_cli_write_state(const char *path, const sw_model *m, const double *x, const char *header,
                       sw_err *e)
{
    sw_outfile f;
    int rc = sw_outfile_open(&f, path, e);
    if (rc)
        return rc;
    if (header)
        fprintf(f.fp, "# %s\n", header);
    for (size_t i = 0; i < m->dim; i++)
        fprintf(f.fp, "%.17g  # %s\n", x[i], m->state_names[i]);
    return sw_outfile_commit(&f, e);
}

void sw_cli_ode_default(sw_cli_ode *c)
{
    memset(c, 0, sizeof *c);
    sw_ode_opts_default(&c->o);
}

int sw_cli_ode_option(sw_cli_ode *c, int opt, const char *arg, sw_err *e)
{
    static const char *const names[] = {
        [SW_OPT_SOLVER - SW_OPT_SOLVER] = "solver", [SW_OPT_RTOL - SW_OPT_SOLVER] = "rtol",
        [SW_OPT_ATOL - SW_OPT_SOLVER] = "atol",     [SW_OPT_H0 - SW_OPT_SOLVER] = "h0",
        [SW_OPT_TEND - SW_OPT_SOLVER] = "t-end",    [SW_OPT_TFIRST - SW_OPT_SOLVER] = "t-first",
        [SW_OPT_POINTS - SW_OPT_SOLVER] = "points", [SW_OPT_GRID - SW_OPT_SOLVER] = "grid",
    };
    switch (opt) {
    case SW_OPT_SOLVER:
    case SW_OPT_RTOL:
    case SW_OPT_ATOL:
    case SW_OPT_H0:
    case SW_OPT_TEND:
    case SW_OPT_TFIRST:
    case SW_OPT_POINTS:
    case SW_OPT_GRID:
        return sw_ode_opts_set(&c->o, names[opt - SW_OPT_SOLVER], arg, e);
    case SW_OPT_INIT:
        c->init = arg;
        return SW_OK;
    case SW_OPT_PRESET:
        c->preset = arg;
        return SW_OK;
    case SW_OPT_UNTIL:
        c->until = arg;
        return SW_OK;
    case SW_OPT_MAX_STEPS:
        return sw_ode_opts_set(&c->o, "max-steps", arg, e);
    case SW_OPT_MAX_WORK:
        return sw_ode_opts_set(&c->o, "max-work", arg, e);
    case SW_OPT_MAX_MEMORY:
        return sw_ode_opts_set(&c->o, "max-memory", arg, e);
    default:
        return -1;
    }
}

/* After the model exists: parses --until against its observables. */
static int ode_finish(sw_cli_ode *c, const sw_model *m, sw_err *e)
{
    int rc = sw_ode_budget(m, &c->o, e);
    if (rc == SW_OK && c->until)
        rc = sw_event_parse(m, c->until, &c->o.until, e);
    return rc;
}

/* getopt_long with the option's entry: a command's own options go to fn,
 * those of its outputs (outs, may be NULL) into their paths. */
static int getopt_outputs(int argc, char **argv, const struct option *longopts,
                          const sw_cli_output *outs, sw_cli_opt_fn fn, void *ctx, int *first,
                          sw_err *e)
{
    int opt, rc, at;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", longopts, &at)) != -1) {
        if (opt == '?')
            return sw_fail(e, SW_EINPUT, "unknown option '%s' (see --help)", argv[optind - 1]);
        if (opt == ':')
            return sw_fail(e, SW_EINPUT, "option '%s' needs a value", argv[optind - 1]);
        const sw_cli_output *o = outs;
        while (o && o->what && strcmp(o->what, longopts[at].name) != 0)
            o++;
        if (o && o->what)
            *o->path = optarg;
        else if ((rc = fn(opt, optarg, ctx, e)))
            return rc;
    }
    *first = optind;
    return SW_OK;
}

int sw_cli_getopt(int argc, char **argv, const struct option *longopts, sw_cli_opt_fn fn,
                  void *ctx, int *first, sw_err *e)
{
    return getopt_outputs(argc, argv, longopts, NULL, fn, ctx, first, e);
}

int sw_cli_start(const sw_cli_command *cmd, const sw_cli_output *outs, int argc, char **argv,
                 void *args, int *first, int *status)
{
    if (sw_cli_wants_help(argc, argv)) {
        if (cmd->help_arg)
            printf(cmd->help, cmd->help_arg);
        else
            fputs(cmd->help, stdout);
        if (cmd->help_more)
            cmd->help_more();
        *status = 0;
        return 1;
    }
    sw_err e;
    int rc = getopt_outputs(argc, argv, cmd->longopts, outs, cmd->on_option, args, first, &e);
    for (const sw_cli_output *o = outs; rc == SW_OK && o && o->what; o++)
        if (*o->path)
            rc = sw_outfile_check(*o->path, o->what, &e);
    *status = sw_cli_report(rc, &e);
    return rc != SW_OK;
}

int sw_cli_ode_model(int argc, char **argv, int first, sw_cli_ode *c, sw_model **m, sw_err *e)
{
    const sw_system *sys;
    int rc;
    sw_model_budget b;
    sw_ode_model_budget(&c->o, &b);
    *m = NULL;
    if ((rc = sw_cli_system(argv[first], &sys, e)) ||
        (rc = sw_cli_model(sys, c->preset, argc - first - 1, argv + first + 1, &b, m, e)))
        return rc;
    return ode_finish(c, *m, e);
}

int sw_cli_blas_threads(int threads)
{
    if (threads <= 1 || sw_blas_concurrent())
        return threads;
    fprintf(stderr, "stagewise: this process runs on the serial OpenBLAS, which cannot take calls "
                    "from two threads at once: one thread (the numbers do not change)\n");
    return 1;
}

int sw_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double sw_cli_now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

double sw_cli_cpu_now(void)
{
    return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

int sw_progress_quiet;

void sw_progress_begin(sw_progress *p, const char *label)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->t_start = sw_cli_now();
    p->last_pct = -1;
    if (sw_progress_quiet)
        return;
    p->mode = isatty(STDERR_FILENO) ? 1 : 2;
    const char *ev = getenv("SW_PROGRESS_EVERY");
    char *end;
    p->every = ev && *ev ? strtod(ev, &end) : 5;
    if (!(p->every >= 0) || (ev && *ev && *end))
        p->every = 5;
}

void sw_progress_total(sw_progress *p, size_t total, const char *unit)
{
    p->total = total;
    p->unit = unit;
}

/* "45%  1350/3000 steps, 85.2 steps/s, 12.3 s, ETA 19.4 s" */
static void progress_text(const sw_progress *p, double frac, double el, char *buf, size_t len)
{
    int k = snprintf(buf, len, "%3.0f%%", 100 * frac);
    if (p->total && k >= 0 && (size_t)k < len) {
        double done = frac * (double)p->total, rate = el > 0 ? done / el : 0;
        k += snprintf(buf + k, len - (size_t)k, "  %.0f/%zu %s, %.*f %s/s,", done, p->total,
                      p->unit, rate < 10 ? 2 : 0, rate, p->unit);
    }
    if (k >= 0 && (size_t)k < len) {
        k += snprintf(buf + k, len - (size_t)k, "  %.1f s", el);
        if (frac > 0 && frac < 1 && (size_t)k < len)
            snprintf(buf + k, len - (size_t)k, ", ETA %.1f s", el * (1 - frac) / frac);
    }
}

void sw_progress_update(sw_progress *p, double frac)
{
    if (!p->mode)
        return;
    double now = sw_cli_now(), el = now - p->t_start;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    char text[160];
    if (p->mode == 1) {
        /* A terminal: from 1 s on (sooner if lines are asked for sooner), at
         * most ten redraws a second. */
        if (el < fmin(1, p->every) || now - p->t_shown < 0.1)
            return;
        enum { WIDTH = 24 };
        int fill = (int)(frac * WIDTH + 0.5);
        progress_text(p, frac, el, text, sizeof text);
        fprintf(stderr, "\r\033[K%.24s [%.*s%*s] %s", p->label, fill,
                "########################", WIDTH - fill, "", text);
    } else {
        int pct = (int)(100 * frac);
        if (el < p->every || now - p->t_shown < p->every || pct == p->last_pct)
            return;
        p->last_pct = pct;
        progress_text(p, frac, el, text, sizeof text);
        fprintf(stderr, "%s: %s\n", p->label, text);
    }
    fflush(stderr);
    p->t_shown = now;
    p->shown = 1;
}

void sw_progress_end(sw_progress *p)
{
    if (!p->shown)
        return;
    if (p->mode == 1)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "%s: done in %.1f s\n", p->label, sw_cli_now() - p->t_start);
    fflush(stderr);
    p->shown = 0;
}
