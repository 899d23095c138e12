/* `reproduce`: the papers' results, made here, in one report.
 *
 * Every step runs this same binary with an ordinary command line, and the
 * report prints that line: what a reader copies from the report is exactly
 * what produced the number beside it.  Numbers are then read back from the
 * JSON and CSV files the steps wrote.  A section whose step fails says so
 * in the report and the others still run. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reproduce.h"
#include "stagewise/table.h"
#include "train.h"

extern char **environ;

const char *rp_str(repro *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (c->n_strs == c->cap_strs) {
        size_t cap = c->cap_strs ? 2 * c->cap_strs : 64;
        char **grown = realloc(c->strs, cap * sizeof *grown);
        if (!grown) { /* out of memory: the string is lost, the run goes on */
            free(s);
            return "";
        }
        c->strs = grown;
        c->cap_strs = cap;
    }
    c->strs[c->n_strs++] = s;
    return s ? s : "";
}
static void free_strs(repro *c)
{
    for (size_t i = 0; i < c->n_strs; i++)
        free(c->strs[i]);
    c->n_strs = 0;
}
const char *rp_path(repro *c, const char *name)
{
    return rp_str(c, "%s/%s", c->dir, name);
}
/* The progress line while a step runs: the section, the command, and the
 * time spent against the section's typical time (capped below 100%: a
 * slow machine is not done early). */
static void tick(repro *c, const char *cmd)
{
    snprintf(c->label, sizeof c->label, "[%zu/%zu] %s: %s", c->k, c->total, c->section, cmd);
    double in = (sw_cli_now() - c->t_section) / c->expect;
    sw_progress_update(&c->bar, in < 0.95 ? in : 0.95);
}
/* Appends the NULL-terminated words of ap to argv (n used of cap, one
 * slot kept for the terminating NULL). */
static size_t gather(const char **argv, size_t n, size_t cap, va_list ap)
{
    for (const char *a; n + 1 < cap && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    return n;
}

/* Runs `stagewise argv[1..n-1]` as rp_step describes. */
static int run(repro *c, const char **argv, size_t n)
{
    argv[n] = NULL;

    char line[4096];
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof line; i++) {
        /* Quote what a shell would split or expand, so the line pastes. */
        int q = strpbrk(argv[i], " <>*|;&$()") != NULL;
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s%s%s", i ? " " : "",
                                 q ? "'" : "", argv[i], q ? "'" : "");
    }
    sw_report_command(c->r, line);
    dprintf(c->log_fd, "\n$ %s\n", line);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, c->log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, c->log_fd, STDERR_FILENO);
    pid_t pid;
    int err = posix_spawn(&pid, c->self, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    for (pid_t w = 0; !err && w != pid;) {
        if ((w = waitpid(pid, &status, WNOHANG)) < 0 && errno != EINTR)
            err = errno;
        else if (w == 0) {
            tick(c, argv[1]);
            nanosleep(&(struct timespec){0, 100000000}, NULL);
        }
    }
    if (err || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sw_report_failure(c->r, rp_str(c, "`%s` (see %s/reproduce.log)", line, c->dir));
        c->failures++;
        return 1;
    }
    return 0;
}

int rp_step(repro *c, ...)
{
    const char *argv[64] = {"stagewise"};
    va_list ap;
    va_start(ap, c);
    size_t n = gather(argv, 1, 64, ap);
    va_end(ap);
    return run(c, argv, n);
}

/* `stagewise CMD ARGS... --out OUT`: the commands whose result file the
 * report names. */
static int run_out(repro *c, const char *cmd, const char *out, va_list ap)
{
    const char *argv[64] = {"stagewise", cmd};
    size_t n = gather(argv, 2, 62, ap);
    argv[n++] = "--out";
    argv[n++] = out;
    return run(c, argv, n);
}

int rp_sweep(repro *c, const char *out, ...)
{
    va_list ap;
    va_start(ap, out);
    unlink(out);
    int rc = run_out(c, "sweep", out, ap);
    va_end(ap);
    return rc;
}

int rp_plot(repro *c, const char *png, const char *caption, ...)
{
    va_list ap;
    va_start(ap, caption);
    int rc = run_out(c, "plot", rp_path(c, png), ap);
    va_end(ap);
    if (rc)
        return 1;
    sw_report_figure(c->r, png, caption);
    return 0;
}
double rp_jnum(const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    double x = NAN;
    if (root && json_pointer_get(root, ptr, &v) == 0 && v)
        x = json_object_get_double(v);
    json_object_put(root);
    return x;
}
struct emerged {
    const char *condition;
    double step;
};
static void emerged_at(const sw_cli_emergence *en, void *user)
{
    struct emerged *em = user;
    if (en->step >= 0 && en->condition && strcmp(en->condition, em->condition) == 0)
        em->step = (double)en->step;
}
double rp_emergence_step(const char *file, const char *condition)
{
    struct emerged em = {condition, NAN};
    sw_cli_emergence_each(file, emerged_at, &em);
    return em.step;
}
const char *rp_jstr(repro *c, const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    const char *s = "?";
    if (root && json_pointer_get(root, ptr, &v) == 0 && json_object_is_type(v, json_type_string))
        s = rp_str(c, "%s", json_object_get_string(v));
    json_object_put(root);
    return s;
}
double rp_csv_pick(const char *file, const char *col, pick_how how, const char *by, double thr)
{
    sw_table tb;
    sw_err e;
    double x = NAN, best = INFINITY;
    if (sw_table_read(file, &tb, &e))
        return NAN;
    int kc = sw_table_col(&tb, col), kb = by ? sw_table_col(&tb, by) : kc;
    for (size_t i = 0; kc >= 0 && kb >= 0 && i < tb.rows; i++) {
        double v = sw_table_at(&tb, i, kc), b = sw_table_at(&tb, i, kb);
        if (how == PICK_LAST || (how == PICK_MAX && !(v <= x)) ||
            (how == PICK_FIRST_BELOW && isnan(x) && b <= thr))
            x = v;
        else if (how == PICK_AT_MIN && b < best) {
            best = b;
            x = v;
        }
    }
    sw_table_clear(&tb);
    return x;
}
size_t rp_jlen(const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    size_t n = 0;
    if (root && json_pointer_get(root, ptr, &v) == 0 && json_object_is_type(v, json_type_array))
        n = json_object_array_length(v);
    json_object_put(root);
    return n;
}
int rp_summary_read(repro *c, const char *file, const char *col, rp_summary *s)
{
    static const char *const suffix[] = {"median", "q25", "q75", "n"};
    sw_err e;
    const char *why = NULL;
    if (sw_table_read(file, &s->tb, &e))
        why = rp_str(c, "cannot read %s: %s", file, e.msg);
    for (size_t i = 0; !why && i < 4; i++)
        if ((s->k[i] = sw_table_col(&s->tb, rp_str(c, "%s_%s", col, suffix[i]))) < 0) {
            why = rp_str(c, "%s has no %s_median, _q25, _q75 and _n columns", file, col);
            sw_table_clear(&s->tb);
        }
    if (!why)
        return 0;
    sw_report_failure(c->r, why);
    c->failures++;
    return 1;
}
int rp_summary_stat(const rp_summary *s, size_t r, double q[3], double *n)
{
    if (r >= s->tb.rows)
        return 0;
    for (size_t i = 0; i < 3; i++)
        q[i] = sw_table_at(&s->tb, r, s->k[i]);
    *n = sw_table_at(&s->tb, r, s->k[3]);
    return 1;
}
double rp_meta_value(const char *file, const char *key)
{
    sw_table tb;
    sw_err e;
    double x = NAN;
    if (sw_table_read(file, &tb, &e) == 0) {
        const char *v = sw_table_meta(&tb, key);
        if (v)
            x = strtod(v, NULL);
        sw_table_clear(&tb);
    }
    return x;
}
const char *rp_num(repro *c, double x)
{
    return rp_str(c, "%.4g", x);
}
const char *rp_fit_row(repro *c, const char *csv, const char *y, const char *law, size_t k,
                       const char *what, double ref, const char *ref_text, const char *off)
{
    const char *out = rp_str(c, "%.*s.fit_%s.csv", (int)(strlen(csv) - 4), csv, y);
    if (rp_step(c, "fit", csv, "--y", y, "--law", law, "--out", out, NULL))
        return NULL;
    const char *js = rp_str(c, "%.*s.json", (int)(strlen(out) - 4), out);
    double est = rp_jnum(js, rp_str(c, "/params/%zu/estimate", k)),
           lo = rp_jnum(js, rp_str(c, "/params/%zu/ci95/0", k)),
           hi = rp_jnum(js, rp_str(c, "/params/%zu/ci95/1", k));
    sw_report_row(c->r, what, rp_str(c, "%.3f [%.3f, %.3f]", est, lo, hi), ref_text,
                  isnan(ref) || !(lo <= ref && ref <= hi) ? off : "within the interval");
    return out;
}
/* The report's sections, in order.  A new one is a function in its
 * family's file and a line here; `seconds` is its typical time on two cores (full, --quick),
 * which only paces the progress line. */
static const struct {
    const char *name;
    void (*run)(repro *c);
    const char *what;
    double seconds, quick_seconds;
} sections[] = {
    {"stages", rp_section_stages, "stage-wise convergence of the default Y run", 1, 0.5},
    {"competitive", rp_section_competitive, "symmetric against perturbed heads", 1.5, 0.7},
    {"zlaws", rp_section_zlaws, "plateau-time scaling laws of the Z toy", 3, 1.5},
    {"criteria", rp_section_criteria, "the Z papers' own plateau criteria and prefactors", 2, 1},
    {"escape", rp_section_escape, "saddle spectrum and escape-time laws", 3, 1},
    {"crosscheck", rp_section_crosscheck, "discrete training against the flows", 12, 4},
    {"markov", rp_section_markov, "the Markov-chain transformer's stages and Fig. 5", 45, 5},
    {"fig4", rp_section_fig4, "initialisation scale and importance ratio (Fig. 4)", 3, 1},
    {"gamma1", rp_section_gamma1, "equal importances: how many stages at gamma = 1", 35, 1},
    {"transformer", rp_section_transformer, "a real transformer's emergence laws and ablations", 70,
     3},
    {"tf-markov", rp_section_tf_markov, "a standard transformer's stages on the Markov chain", 3,
     0.5},
    {"recall", rp_section_recall, "associative recall: emergence against N_tokens, N_pairs", 25, 2},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static const char help[] =
    "usage: stagewise reproduce [NAME ...] [--out DIR] [--quick]\n\n"
    "Runs the reproductions of the papers' results and writes into DIR each one's CSV\n"
    "and JSON files, the figures, report.md and report.html (self-contained, figures\n"
    "inline): for each result our value, the paper's or theory's value, the command\n"
    "that reproduces it, and how long it took. Every step is an ordinary stagewise\n"
    "command, printed in the report; its own output goes to DIR/reproduce.log.\n"
    "Without NAMEs, every section runs. Exit status 1 if any step failed (the report\n"
    "still says which).\n\n"
    "options:\n"
    "  --out DIR   where to write (default out; created if missing)\n"
    "  --quick     smaller versions of the long sections (for tests)\n\n"
    "sections:\n";

struct args {
    const char *dir;
    int quick;
};
static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    (void)e;
    struct args *a = ctx;
    if (opt == 'o')
        a->dir = arg;
    else if (opt == 'q')
        a->quick = 1;
    else
        return SW_EINPUT;
    return SW_OK;
}

/* After the help text. */
static void section_list(void)
{
    for (size_t i = 0; i < N_SECTIONS; i++)
        printf("  %-12s %s\n", sections[i].name, sections[i].what);
}

static const struct option longopts[] = {
    {"out", required_argument, 0, 'o'},
    {"quick", no_argument, 0, 'q'},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .help_more = section_list,
                                       .longopts = longopts, .on_option = on_option};

int sw_cmd_reproduce(int argc, char **argv)
{
    struct args a = {"out", 0};
    int first, rc;
    if (sw_cli_start(&command, NULL, argc, argv, &a, &first, &rc))
        return rc;
    int chosen[N_SECTIONS] = {0}, any = 0;
    for (int i = first; i < argc; i++) {
        size_t k = 0;
        while (k < N_SECTIONS && strcmp(sections[k].name, argv[i]) != 0)
            k++;
        if (k == N_SECTIONS) {
            char names[256] = "";
            for (size_t j = 0; j < N_SECTIONS; j++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? ", " : "",
                         sections[j].name);
            return sw_cli_die(SW_EINPUT, "unknown section '%s' (allowed: %s)", argv[i], names);
        }
        chosen[k] = any = 1;
    }
    if (mkdir(a.dir, 0777) != 0 && errno != EEXIST)
        return sw_cli_die(SW_EINPUT, "cannot create '%s': %s", a.dir, strerror(errno));

    repro c = {.dir = a.dir, .quick = a.quick};
    ssize_t n = readlink("/proc/self/exe", c.self, sizeof c.self - 1);
    if (n <= 0)
        return sw_cli_die(SW_EFAIL, "cannot find the stagewise binary (/proc/self/exe)");
    c.self[n] = '\0';
    char logpath[4096];
    snprintf(logpath, sizeof logpath, "%s/reproduce.log", a.dir);
    c.log_fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (c.log_fd < 0)
        return sw_cli_die(SW_EINPUT, "cannot write '%s': %s", logpath, strerror(errno));
    c.r = sw_report_alloc(a.quick ? "stagewise: the papers reproduced (quick)"
                                  : "stagewise: the papers reproduced");
    if (!c.r) {
        close(c.log_fd);
        return sw_cli_die(SW_EFAIL, "out of memory");
    }
    double t_all = sw_cli_now();
    for (size_t k = 0; k < N_SECTIONS; k++)
        c.total += !any || chosen[k];
    for (size_t k = 0; k < N_SECTIONS; k++) {
        if (any && !chosen[k])
            continue;
        c.k++;
        c.section = sections[k].name;
        snprintf(c.label, sizeof c.label, "[%zu/%zu] %s", c.k, c.total, c.section);
        sw_progress_begin(&c.bar, c.label);
        c.expect = a.quick ? sections[k].quick_seconds : sections[k].seconds;
        c.t_section = sw_cli_now();
        int before = c.failures;
        sections[k].run(&c);
        double dt = sw_cli_now() - c.t_section;
        sw_report_seconds(c.r, dt);
        /* One summary line per section (in place of the progress's own). */
        c.bar.shown = c.bar.mode == 1 && c.bar.shown;
        sw_progress_end(&c.bar);
        if (!sw_progress_quiet)
            fprintf(stderr, "[%zu/%zu] %-12s %6.1f s%s\n", c.k, c.total, c.section, dt,
                    c.failures > before ? "  FAILED" : "");
        free_strs(&c);
    }
    sw_err e;
    rc = sw_report_write(c.r, a.dir, &e);
    sw_report_free(c.r);
    free(c.strs);
    close(c.log_fd);
    if (rc)
        return sw_cli_report(rc, &e);
    if (!sw_progress_quiet)
        fprintf(stderr, "report: %s/report.md and %s/report.html (%.1f s)\n", a.dir, a.dir,
                sw_cli_now() - t_all);
    if (c.failures)
        return sw_cli_die(SW_EFAIL, "%d step%s failed; see %s", c.failures,
                          c.failures == 1 ? "" : "s", logpath);
    return 0;
}
