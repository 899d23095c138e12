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

#include "cli.h"
#include "report.h"
#include "stagewise/table.h"

extern char **environ;

typedef struct repro {
    const char *dir;
    int quick;
    sw_report *r;
    int log_fd; /* DIR/reproduce.log: every step's own output */
    int failures;
    char self[2048];
    /* Progress: which section, and how far into its typical time. */
    sw_progress bar;
    char label[160];
    const char *section;
    size_t k, total;
    double expect, t_section;
    /* Strings made for one section, freed when it ends. */
    char **strs;
    size_t n_strs, cap_strs;
} repro;

/* A formatted string that lives until the section ends. */
static const char *S(repro *c, const char *fmt, ...) SW_PRINTF(2, 3);
static const char *S(repro *c, const char *fmt, ...)
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

/* A file in the output directory. */
static const char *P(repro *c, const char *name)
{
    return S(c, "%s/%s", c->dir, name);
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

/* Runs `stagewise ARGS...` (NULL-terminated), its output going to the log,
 * and records the command line in the report.  Returns 0 on success; on
 * failure the report says which command failed. */
static int step(repro *c, ...)
{
    const char *argv[64] = {"stagewise"};
    size_t n = 1;
    va_list ap;
    va_start(ap, c);
    for (const char *a; n < 63 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
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
        sw_report_failure(c->r, S(c, "`%s` (see %s/reproduce.log)", line, c->dir));
        c->failures++;
        return 1;
    }
    return 0;
}

/* A number from a JSON file by JSON pointer ("/plateaus/0/level"). */
static double jnum(const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    double x = NAN;
    if (root && json_pointer_get(root, ptr, &v) == 0 && v)
        x = json_object_get_double(v);
    json_object_put(root);
    return x;
}

/* A string from a JSON file by JSON pointer ("?" if absent), kept until
 * the section ends. */
static const char *jstr(repro *c, const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    const char *s = "?";
    if (root && json_pointer_get(root, ptr, &v) == 0 && json_object_is_type(v, json_type_string))
        s = S(c, "%s", json_object_get_string(v));
    json_object_put(root);
    return s;
}

typedef enum { PICK_LAST, PICK_MAX, PICK_AT_MIN, PICK_FIRST_BELOW } pick_how;

/* A value of column `col` over the rows of a CSV: the last, the largest,
 * the one in the row where column `by` is smallest, or the one in the
 * first row where `by` has fallen to thr.  NAN when absent. */
static double csv_pick(const char *file, const char *col, pick_how how, const char *by,
                       double thr)
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

/* Zucchet et al. (2025)'s fitted laws, from a sweep row's d, T, B, p: the
 * in-context one, and the cross-sample one with its repetition factor as
 * printed, (1-p)^2, or as the start eigenvalue has it, 1 - p^2. */
typedef enum { LAW_INCONTEXT, LAW_CROSS_PRINTED, LAW_CROSS_EIG } zlaw;
static double zlaw_value(zlaw law, double d, double T, double B, double p)
{
    switch (law) {
    case LAW_INCONTEXT:
        return 1.51 * pow(d, 0.49) * pow(T / B, 0.99);
    case LAW_CROSS_PRINTED:
        return 2.15 * pow(sqrt(d) * T / sqrt(p * p * d + (1 - p) * (1 - p)), 1.02);
    default:
        return 2.15 * pow(sqrt(d) * T / sqrt(p * p * d + 1 - p * p), 1.02);
    }
}

/* Over the rows of a sweep: the smallest and largest ratio of column y to
 * the law, and the ratio in the first row; NAN when absent. */
static void law_ratio(const char *file, const char *y, zlaw law, double r[3])
{
    sw_table tb;
    sw_err e;
    r[0] = r[1] = r[2] = NAN;
    if (sw_table_read(file, &tb, &e))
        return;
    int ky = sw_table_col(&tb, y), kd = sw_table_col(&tb, "d"), kT = sw_table_col(&tb, "T"),
        kB = sw_table_col(&tb, "B"), kp = sw_table_col(&tb, "p");
    for (size_t i = 0; ky >= 0 && kd >= 0 && kT >= 0 && i < tb.rows; i++) {
        double q = sw_table_at(&tb, i, ky) /
                   zlaw_value(law, sw_table_at(&tb, i, kd), sw_table_at(&tb, i, kT),
                              kB >= 0 ? sw_table_at(&tb, i, kB) : 1,
                              kp >= 0 ? sw_table_at(&tb, i, kp) : 0);
        if (i == 0)
            r[2] = q;
        r[0] = i == 0 || q < r[0] ? q : r[0];
        r[1] = i == 0 || q > r[1] ? q : r[1];
    }
    sw_table_clear(&tb);
}

/* The first t at which some head holds pattern (or lag group) k: its
 * attention att_h<h>_k<k> reaches 1/2.  NAN if none does. */
static double first_hold(const char *file, size_t k)
{
    sw_table tb;
    sw_err e;
    double t = NAN;
    if (sw_table_read(file, &tb, &e))
        return NAN;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_k%zu", k);
    for (size_t i = 0; i < tb.rows && isnan(t); i++)
        for (size_t j = 0; j < tb.cols; j++) {
            const char *nm = tb.names[j];
            size_t ln = strlen(nm), ls = strlen(suffix);
            if (strncmp(nm, "att_h", 5) == 0 && ln > ls && strcmp(nm + ln - ls, suffix) == 0 &&
                sw_table_at(&tb, i, (int)j) >= 0.5) {
                t = sw_table_at(&tb, i, 0);
                break;
            }
        }
    sw_table_clear(&tb);
    return t;
}

/* The length of a JSON array by pointer (0 if absent). */
static size_t jlen(const char *file, const char *ptr)
{
    json_object *root = json_object_from_file(file), *v = NULL;
    size_t n = 0;
    if (root && json_pointer_get(root, ptr, &v) == 0 && json_object_is_type(v, json_type_array))
        n = json_object_array_length(v);
    json_object_put(root);
    return n;
}

/* A `# key = value` provenance number of a CSV. */
static double meta_value(const char *file, const char *key)
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

static const char *num(repro *c, double x)
{
    return S(c, "%.4g", x);
}

/* The run's plateau table (written by `stages`) as report rows beside the
 * theoretical levels. */
static void plateau_rows(repro *c, const char *stages_json, size_t want)
{
    json_object *root = json_object_from_file(stages_json), *pl = NULL, *tr = NULL;
    if (!root || !json_object_object_get_ex(root, "plateaus", &pl) ||
        !json_object_object_get_ex(root, "transitions", &tr)) {
        sw_report_failure(c->r, S(c, "cannot read %s", stages_json));
        c->failures++;
        json_object_put(root);
        return;
    }
    size_t np = json_object_array_length(pl), nt = json_object_array_length(tr);
    sw_report_row(c->r, "transitions detected", S(c, "%zu", nt),
                  S(c, "%zu, one per pattern (Yüksel et al., Sec. 3, Fig. 1)", want),
                  nt == want ? "as predicted" : "differs");
    for (size_t k = 0; k < np; k++) {
        json_object *p = json_object_array_get_idx(pl, k), *v;
        double level = json_object_object_get_ex(p, "level", &v) ? json_object_get_double(v) : NAN;
        double th = json_object_object_get_ex(p, "theory", &v) ? json_object_get_double(v) : NAN;
        sw_report_row(c->r, S(c, "plateau %zu level", k), num(c, level),
                      S(c, "L_%zu = %.4g (theory, docs/math.md)", k, th),
                      S(c, "%+.2f%%%s", 100 * (level - th) / th,
                        fabs(level - th) > 0.001 * th
                            ? ": plateaus are approached like 1/t, so a finite run sits "
                              "slightly above its level"
                            : ""));
    }
    for (size_t k = 0; k < nt; k++)
        sw_report_row(c->r, S(c, "transition %zu time", k + 1),
                      num(c, json_object_get_double(json_object_array_get_idx(tr, k))),
                      "none: new (the paper shows curves, not times)",
                      "loss halfway between the plateau levels");
    json_object_put(root);
}

static void section_stages(repro *c)
{
    sw_report_section(c->r, "Stage-wise convergence (Yüksel et al., Sec. 3)",
                      "Three heads, three patterns of importance 4 : 2 : 1 (gamma = 2), values "
                      "started at zero and logits at U[-0.01, 0.01]. The loss passes one plateau "
                      "per pattern, at L_j = 1/2 sum_{k>j} lambda_k^2, while the heads first all "
                      "attend to the most important pattern and then split the patterns.");
    if (step(c, "integrate", "y-reduced", "--t-end", "1e4", "--points", "400", "--out",
             P(c, "stages.csv"), NULL) ||
        step(c, "stages", P(c, "stages.csv"), NULL))
        return;
    plateau_rows(c, P(c, "stages.stages.json"), 3);
    if (!step(c, "plot", "stages", P(c, "stages.csv"), "--out", P(c, "stages.png"), NULL))
        sw_report_figure(c->r, "stages.png",
                         "Loss against log t with the levels L_j (top); attention of each head "
                         "on each pattern, colour = pattern, dash = head (bottom).");
}

static void section_competitive(repro *c)
{
    sw_report_section(c->r, "Competitive against cooperative (Yüksel et al., Sec. 3.2)",
                      "Heads started identical stay identical (y-coupled): they all learn the "
                      "most important pattern and stop there, at 1/2 sum_{k>=2} lambda_k^2. The "
                      "same start with every logit perturbed by U[-1e-3, 1e-3] breaks the "
                      "symmetry: after the same competitive phase the heads cooperate and learn "
                      "every pattern.");
    if (step(c, "integrate", "y-coupled", "--t-end", "1e4", "--points", "400", "--out",
             P(c, "coupled.csv"), NULL) ||
        step(c, "integrate", "y-reduced", "eps=1e-3", "--t-end", "1e4", "--points", "400",
             "--out", P(c, "perturbed.csv"), NULL) ||
        step(c, "stages", P(c, "perturbed.csv"), NULL))
        return;
    double lc = csv_pick(P(c, "coupled.csv"), "loss", PICK_LAST, NULL, 0);
    double lp = csv_pick(P(c, "perturbed.csv"), "loss", PICK_LAST, NULL, 0);
    double l1 = meta_value(P(c, "coupled.csv"), "level_1");
    sw_report_row(c->r, "symmetric start: final loss (t = 1e4)", num(c, lc),
                  S(c, "1/2 sum_{k>=2} lambda_k^2 = %.4g (Yüksel et al., Sec. 3.2)", l1),
                  S(c, "%+.2g relative: still approaching it like 1/t", (lc - l1) / l1));
    sw_report_row(c->r, "perturbed start: final loss (t = 1e4)", num(c, lp), "0 (L_3)",
                  "every pattern learned");
    size_t nt = jlen(P(c, "perturbed.stages.json"), "/transitions");
    sw_report_row(c->r, "perturbed start: transitions", S(c, "%zu", nt),
                  "3 (Yüksel et al., Sec. 3.2)", nt == 3 ? "as predicted" : "differs");
    if (!step(c, "plot", "competitive", P(c, "coupled.csv"), P(c, "perturbed.csv"), "--out",
              P(c, "competitive.png"), NULL))
        sw_report_figure(c->r, "competitive.png",
                         "Loss of the symmetric and the perturbed start (top); attention of "
                         "each head, symmetric (middle) and perturbed (bottom).");
}

/* Runs `fit CSV --y Y --law LAW` into CSV.fit_Y.csv and reports the law's
 * parameter k (an exponent) with its interval beside the reference ref
 * (ref_text says where it comes from).  The note is `off` when ref lies
 * outside the interval (or ref is NAN: no number to check), else says it
 * is inside.  Returns the fit's CSV, or NULL if the step failed. */
static const char *fit_row(repro *c, const char *csv, const char *y, const char *law, size_t k,
                           const char *what, double ref, const char *ref_text, const char *off)
{
    const char *out = S(c, "%.*s.fit_%s.csv", (int)(strlen(csv) - 4), csv, y);
    if (step(c, "fit", csv, "--y", y, "--law", law, "--out", out, NULL))
        return NULL;
    const char *js = S(c, "%.*s.json", (int)(strlen(out) - 4), out);
    double est = jnum(js, S(c, "/params/%zu/estimate", k)),
           lo = jnum(js, S(c, "/params/%zu/ci95/0", k)),
           hi = jnum(js, S(c, "/params/%zu/ci95/1", k));
    sw_report_row(c->r, what, S(c, "%.3f [%.3f, %.3f]", est, lo, hi), ref_text,
                  isnan(ref) || !(lo <= ref && ref <= hi) ? off : "within the interval");
    return out;
}

/* A `sweep z-reduced` with the options every Z sweep shares. */
static int zsweep(repro *c, const char *file, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *measure1, const char *measure2)
{
    unlink(file); /* a sweep resumes an existing file; a report starts afresh */
    if (measure2)
        return step(c, "sweep", "z-reduced", a1, a2, a3, a4, "--measure", measure1, "--measure",
                    measure2, "--predict", "--t-end", "1e9", "--out", file, NULL);
    return step(c, "sweep", "z-reduced", a1, a2, a3, a4, "--measure", measure1, "--predict",
                "--t-end", "1e9", "--out", file, NULL);
}

static void section_zlaws(repro *c)
{
    sw_report_section(c->r, "Plateau-time laws (Zucchet et al. 2025)",
                      "Time until the loss of z-reduced falls to half its start, swept over "
                      "dimension d, sequence length T and in-context repetition B (tied copies "
                      "share one logit, untied ones do not), and fitted as power laws; beside "
                      "each fit, the same fit of 1/lambda+, the start's largest eigenvalue "
                      "(--predict), whose leading-order law is derived in docs/math.md. "
                      "Zucchet et al. fit T_plateau = 1.51 d^0.49 (T/B)^0.99; the next section "
                      "compares their prefactor under their own plateau criterion.");
    const char *n = c->quick ? "4" : "11", *nb = c->quick ? "4" : "9";
    const char *eig = "the leading-order exponent; the exact eigenvalue's corrections bend it "
                      "over this finite range (docs/math.md)";
    struct {
        const char *file, *axis, *fixed1, *fixed2, *law, *what, *ref_text, *off, *what2,
            *ref2_text;
        double ref, ref2;
    } sw[] = {
        {"z_d.csv", S(c, "d=4:4096:%s:log", n), "T=1024", "tied=0", "C * d^a",
         "exponent of d (T = 1024)", "0.49 (Zucchet et al. 2025, in-context law)",
         "outside: see the prefactor section", "  same for 1/lambda+", "0.5 (docs/math.md)", 0.49,
         0.5},
        {"z_T.csv", S(c, "T=16:16384:%s:log", n), "d=16", "tied=0", "C * T^a",
         "exponent of T (d = 16)", "0.99 (Zucchet et al. 2025)",
         "outside: see the prefactor section", "  same for 1/lambda+", "1 (docs/math.md)", 0.99,
         1},
        {"z_B_tied.csv", S(c, "B=1:256:%s:log", nb), "T=4096", "tied=1", "C * B^a",
         "exponent of B, tied copies (T = 4096, d = 16)", "-0.99 (Zucchet et al. 2025)",
         "outside: see the prefactor section", "  same for 1/lambda+", "-1 (docs/math.md)",
         -0.99, -1},
        {"z_B_untied.csv", S(c, "B=1:256:%s:log", nb), "T=4096", "tied=0", "C * B^a",
         "exponent of B, untied copies (T = 4096, d = 16)",
         "-0.5 (docs/math.md: one logit per copy); the paper's -0.99 is for tied copies",
         "untied copies each keep their own logit, so the eigenvalue gives B^-1/2, not the "
         "paper's -0.99 (which tied copies reproduce above); the finite-B/T factor "
         "sqrt(1 - B/T) and the log factor bend it a little further",
         "  same for 1/lambda+", "-0.5 (docs/math.md)", -0.5, -0.5},
    };
    const char *fits[4][2] = {{0}};
    for (size_t i = 0; i < sizeof sw / sizeof *sw; i++) {
        const char *f = P(c, sw[i].file);
        if (zsweep(c, f, sw[i].axis, sw[i].fixed1, sw[i].fixed2,
                   strncmp(sw[i].axis, "B", 1) == 0 ? "d=16" : "B=1", "plateau", NULL))
            return;
        fits[i][0] = fit_row(c, f, "t_plateau", sw[i].law, 1, sw[i].what, sw[i].ref,
                             sw[i].ref_text, sw[i].off);
        fits[i][1] = fit_row(c, f, "t_scale", sw[i].law, 1, sw[i].what2, sw[i].ref2,
                             sw[i].ref2_text, eig);
        if (!fits[i][0] || !fits[i][1])
            return;
    }
    const char *fp = P(c, "z_p.csv");
    if (zsweep(c, fp, S(c, "p=0:0.95:%s", c->quick ? "5" : "20"), "d=16", "T=256", "B=1",
               "plateau", NULL))
        return;
    const char *pfit = fit_row(
        c, fp, "t_plateau", "C * t_scale^a", 1,
        "cross-sample repetition p = 0..0.95 (d = 16, T = 256): exponent of 1/lambda+",
        1, "1 if lambda+ alone set the plateau (docs/math.md)",
        "the plateau is 1/lambda+ times a logarithm of the start's drive, and that drive "
        "(c_par = 1 - p + p d) grows with p too, so the exponent falls short of 1; the next "
        "section settles the repetition factor");
    static const char *const axis[] = {"d (token dimension)", "T (sequence length)"};
    static const char *const png[] = {"z_d.png", "z_T.png"};
    for (size_t i = 0; i < 2; i++)
        if (!step(c, "plot", "fit", fits[i][0], fits[i][1], "--set",
                  "keys=plateau time (loss at half its start)|1/lambda+", "--set",
                  "keypos=bottom right", "--set",
                  S(c, "xlabel=%s", axis[i]), "--set", "ylabel=time (gradient-flow units)",
                  "--out", P(c, png[i]), NULL))
            sw_report_figure(c->r, png[i],
                             S(c, "Plateau time and 1/lambda+ against %s, log-log, with the "
                                  "fitted power laws and their exponents (95%% intervals).",
                               axis[i]));
    if (!step(c, "plot", "fit", fits[2][0], fits[2][1], fits[3][0], fits[3][1], "--set",
              "keys=tied, plateau|tied, 1/lambda+|untied, plateau|untied, 1/lambda+", "--set",
              "xlabel=B (copies of the relevant token)", "--set",
              "ylabel=time (gradient-flow units)", "--set",
              "title=in-context repetition, tied and untied copies; z-reduced: d = 16, T = 4096, "
              "p = 0",
              "--out", P(c, "z_B.png"), NULL))
        sw_report_figure(c->r, "z_B.png",
                         "Plateau time and 1/lambda+ against B, tied copies (one shared logit: "
                         "B^-1) and untied ones (B^-1/2), log-log.");
    if (pfit && !step(c, "plot", "fit", pfit, "--set", "keys=p = 0..0.95", "--set",
                      "keypos=bottom right", "--set",
                      "xlabel=1/lambda+ (gradient-flow units)", "--set",
                      "ylabel=plateau time (gradient-flow units)", "--out", P(c, "z_p.png"), NULL))
        sw_report_figure(c->r, "z_p.png",
                         "Cross-sample repetition: plateau time against 1/lambda+ as p runs "
                         "from 0 to 0.95 (d = 16, T = 256), log-log, with the fitted power law.");
}

static void section_criteria(repro *c)
{
    sw_report_section(
        c->r, "The papers' plateau criteria and prefactors (Zucchet et al. 2025)",
        "Zucchet et al. time the plateau until the loss falls to 0.2 of its start (0.1), with "
        "tokens x ~ N(0, I/d) and loss 1/2 E|y - yhat|^2; our x ~ N(0, I_d) with loss "
        "1/(2d) E|y - yhat|^2 is the same function of (W, a), so gradient-flow times agree "
        "without conversion (docs/math.md) and their laws compare in full, prefactor included. "
        "Cross-sample runs train at repetition p and are tested on p = 0 data (loss_p0, the "
        "loss with x* always fresh) until it reaches 0.4. Ratios near 1 and flat across a sweep "
        "mean the law holds with its prefactor.");
    const char *n = c->quick ? "4" : "9";
    const char *fd = P(c, "zc_d.csv"), *fT = P(c, "zc_T.csv"), *fB = P(c, "zc_B.csv");
    if (zsweep(c, fd, S(c, "d=4:4096:%s:log", n), "T=1024", "B=1", "tied=0", "plateau:0.2",
               NULL) ||
        zsweep(c, fT, S(c, "T=16:16384:%s:log", n), "d=16", "B=1", "tied=0", "plateau:0.2",
               NULL) ||
        zsweep(c, fB, S(c, "B=1:256:%s:log", n), "T=4096", "d=16", "tied=1", "plateau:0.2",
               NULL))
        return;
    const char *files[] = {fd, fT, fB};
    const char *what[] = {"d = 4..4096 (T = 1024)", "T = 16..16384 (d = 16)",
                          "B = 1..256, tied (T = 4096, d = 16)"};
    const char *off[] = {
        "beyond 10% somewhere: the d^0.49 of the fit and our d^0.5 part ways over three decades",
        "beyond 10% at the shortest T, where S = B/T is not small and the start eigenvalue's "
        "(1 - B/T) factors (docs/math.md) leave the power law",
        "beyond 10% at the largest B, where B/T is not small and the start eigenvalue's "
        "(1 - B/T) factors (docs/math.md) leave the power law"};
    for (size_t i = 0; i < 3; i++) {
        double r[3];
        law_ratio(files[i], "t_plateau_0.2", LAW_INCONTEXT, r);
        sw_report_row(c->r, S(c, "t(loss <= 0.1) / (1.51 d^0.49 (T/B)^0.99), %s", what[i]),
                      S(c, "%.3f to %.3f", r[0], r[1]),
                      "1 (Zucchet et al. 2025, in-context law)",
                      fabs(r[0] - 1) < 0.1 && fabs(r[1] - 1) < 0.1
                          ? "prefactor and exponents within 10%: their time is gradient-flow "
                            "time"
                          : off[i]);
    }
    if (!step(c, "plot", "xy", fd, fT, fB, "--set",
              "x=1.51*column(\"d\")**0.49*(column(\"T\")/column(\"B\"))**0.99", "--set",
              "ys=column(\"t_plateau_0.2\")", "--set", "logx=1", "--set", "logy=1", "--set",
              "diag=1", "--set", "keys=d = 4..4096|T = 16..16384|B = 1..256 (tied)", "--set",
              "xlabel=law of Zucchet et al. 1.51 d^0.49 (T/B)^0.99 (gradient-flow units)", "--set",
              "ylabel=ours: t at loss 0.1 (gradient-flow units)", "--set",
              "title=in-context law, prefactor included; z-reduced, p = 0",
              "--out", P(c, "criteria_law.png"), NULL))
        sw_report_figure(c->r, "criteria_law.png",
                         "Plateau time by the paper's criterion against the paper's fitted "
                         "law, log-log; the dashed line is equality.");

    static const char *const ds[] = {"4", "16", "64"};
    const char *pf[3];
    for (size_t i = 0; i < 3; i++) {
        pf[i] = P(c, S(c, "zc_p%s.csv", ds[i]));
        if (zsweep(c, pf[i], S(c, "p=0:0.95:%s", c->quick ? "5" : "20"), S(c, "d=%s", ds[i]),
                   "T=256", "B=1", "event:loss_p0<=0.4", "plateau:0.2"))
            return;
    }
    for (size_t i = 0; i < 3; i++) {
        static const char *const col[] = {"t_event", "t_plateau_0.2"};
        static const char *const crit[] = {"t(loss_p0 <= 0.4)", "t(loss <= 0.1)"};
        for (size_t j = 0; j < 2; j++) {
            double rs[3], re[3];
            law_ratio(pf[i], col[j], LAW_CROSS_PRINTED, rs);
            law_ratio(pf[i], col[j], LAW_CROSS_EIG, re);
            sw_report_row(
                c->r,
                S(c, "d = %s, T = 256, p = 0..0.95: %s / 2.15 (sqrt(d) T / sqrt(p^2 d + F))^1.02",
                  ds[i], crit[j]),
                S(c, "F = (1-p)^2: %.3f to %.3f; F = 1-p^2: %.3f to %.3f", rs[0], rs[1], re[0],
                  re[1]),
                "flat in p for the right F (Zucchet et al. 2025, cross-sample law)",
                S(c, "spread %.0f%% against %.0f%%; %s", 100 * (rs[1] / rs[0] - 1),
                  100 * (re[1] / re[0] - 1),
                  re[1] / re[0] < 1.05 ? "1 - p^2 holds, (1-p)^2 does not"
                  : j == 0 ? "neither holds at large p: the p = 0 test loss waits for the "
                             "fresh-token map, learned at rate (1-p)/d once attention is sparse"
                           : "neither holds at large p d: the loss then falls in two steps, "
                             "the repeated direction first"));
        }
    }
    {
        double r[3];
        law_ratio(pf[1], "t_event", LAW_CROSS_EIG, r);
        sw_report_row(c->r,
                      "cross-sample law at p = 0 (d = 16, T = 256): ours / 2.15 (sqrt(d) T)^1.02",
                      num(c, r[2]), "1 (Zucchet et al. 2025, cross-sample law)",
                      S(c, "the law's prefactor is %.1fx ours, and as far above the paper's own "
                           "in-context law (next row)", 1 / r[2]));
    }
    sw_report_row(c->r,
                  "the paper's two laws at p = 0 (d = 16, T = 256): in-context / cross-sample",
                  num(c, zlaw_value(LAW_INCONTEXT, 16, 256, 1, 0) /
                             zlaw_value(LAW_CROSS_EIG, 16, 256, 1, 0)),
                  "1 if the two fits agree (Zucchet et al. 2025)",
                  "they do not: the cross-sample fit runs 1.8x above the in-context fit, which "
                  "ours follows within 10%; the authors' talk prints sqrt(dT) in this law, "
                  "which would contradict the in-context T^0.99");
    const char *law = "2.15*(sqrt(column(\"d\"))*column(\"T\")/"
                      "sqrt(column(\"p\")**2*column(\"d\")+%s))**1.02";
    if (!step(c, "plot", "xy", pf[0], pf[1], pf[2], "--set", "x=column(\"p\")", "--set",
              S(c, "ys=column(\"t_event\")/(%s)|column(\"t_event\")/(%s)",
                S(c, law, "(1-column(\"p\"))**2"), S(c, law, "1-column(\"p\")**2")),
              "--set",
              "keys=d = 4, (1-p)^2|d = 4, 1-p^2|d = 16, (1-p)^2|d = 16, 1-p^2|d = 64, "
              "(1-p)^2|d = 64, 1-p^2",
              "--set", "xlabel=p (probability that x* is the repeated token)", "--set",
              "ylabel=t(loss_p0 <= 0.4) / law (ratio, no unit)", "--set",
              "title=cross-sample law with (1-p)^2 or 1-p^2; z-reduced: T = 256, B = 1, "
              "tested on p = 0 data",
              "--out", P(c, "criteria_p.png"), NULL))
        sw_report_figure(c->r, "criteria_p.png",
                         "Measured time over each candidate cross-sample law against p: the "
                         "eigenvalue's 1 - p^2 keeps the ratio flat at d = 4, where the two "
                         "differ most; at larger d and p the p = 0 test loss lags (the fresh "
                         "direction learns at rate (1-p)/d), which neither form describes.");
}

static void section_escape(repro *c)
{
    sw_report_section(c->r, "Saddles and escape from a symmetric start (Yüksel et al., Sec. 3.3)",
                      "The competitive plateau is a saddle at infinite logits: its Jacobian "
                      "has several unstable directions, the fastest moving one head to the next "
                      "pattern, and refining it never converges to a finite point. From the "
                      "symmetric start perturbed by eps, the escape time grows like "
                      "ln(1/eps)^2 rather than the hyperbolic ln(1/eps) (derivation in "
                      "docs/math.md), which the linear reference saddle shows for contrast.");
    if (step(c, "jacobian", "y-reduced", "--at", "plateau:2", "--t-end", "1e4", "--points",
             "400", "--json", P(c, "spectrum.json"), NULL))
        return;
    const char *sp = P(c, "spectrum.json");
    sw_report_row(c->r, "Morse index at the competitive plateau (y-reduced)",
                  num(c, jnum(sp, "/morse_index")), "> 0, a saddle (Yüksel et al., Sec. 3.3)",
                  S(c, "%g exact zeros: one conserved logit sum per head",
                    jnum(sp, "/near_zero")));
    sw_report_row(c->r, "largest eigenvalue there", num(c, jnum(sp, "/eigenvalues/0/re")),
                  "none: new (the paper gives no spectrum)",
                  "one head moving from lag 1 to lag 2");
    const char *eps = c->quick ? "1e-1:1e-5:5" : "1e-1:1e-9:17";
    if (step(c, "escape", "y-reduced", "--base", "symmetric", "--direction", "random",
             "--eps", eps, "--until", "loss<=1.5", "--t-end", "1e6", "--out",
             P(c, "escape.csv"), NULL) ||
        step(c, "escape", "y-reduced", "--base", "symmetric", "--direction", "random",
             "--eps", c->quick ? "1e-5:1e-7:5" : "1e-5:1e-9:9", "--until", "loss<=1.5",
             "--t-end", "1e6", "--out", P(c, "escape_tail.csv"), NULL) ||
        step(c, "escape", "linear", "--base", "saddle", "--until", "loss>=0.5", "--out",
             P(c, "escape_linear.csv"), NULL))
        return;
    const char *ej = P(c, "escape.json"), *tj = P(c, "escape_tail.json"),
               *lj = P(c, "escape_linear.json");
    const char *law = jstr(c, ej, "/best");
    const char *ftext = jstr(c, ej, S(c, "/laws/%s/formula", law));
    sw_report_row(c->r, "escape-time law from the symmetric start (lowest AIC)", ftext,
                  "a + b ln(1/eps)^2 (docs/math.md)",
                  strcmp(law, "log2") == 0 ? "as derived" : "differs");
    sw_report_row(c->r, "its b, 95% CI, eps = 1e-1..1e-9",
                  S(c, "%.4g [%.4g, %.4g]", jnum(ej, "/laws/log2/params/1/estimate"),
                    jnum(ej, "/laws/log2/params/1/ci95/0"), jnum(ej, "/laws/log2/params/1/ci95/1")),
                  "1/(4 C^2) = 4.15 from re_1 ~ C t^-1/2, C = 0.245 (docs/math.md)",
                  "below: the growth gathered before the t^-1/2 regime shifts ln(1/eps), "
                  "and over finite eps its cross term lowers the slope (docs/math.md)");
    sw_report_row(c->r, "same b over the smallest eps only (1e-5..1e-9)",
                  S(c, "%.4g [%.4g, %.4g]", jnum(tj, "/laws/log2/params/1/estimate"),
                    jnum(tj, "/laws/log2/params/1/ci95/0"), jnum(tj, "/laws/log2/params/1/ci95/1")),
                  "rises towards 4.15 as eps -> 0 (docs/math.md)",
                  "the slope grows with ln(1/eps), as the shift predicts");
    sw_report_row(c->r, "linear saddle: b of a + b ln(1/eps)",
                  num(c, jnum(lj, "/laws/log/params/1/estimate")),
                  S(c, "1/lambda+ = %.4g (hyperbolic saddle, docs/math.md)",
                    jnum(lj, "/inv_lambda_plus")),
                  "hyperbolic, as it must be");
    if (!step(c, "plot", "escape", P(c, "escape.csv"), "--out", P(c, "escape.png"), NULL))
        sw_report_figure(c->r, "escape.png",
                         "Escape time against eps from the symmetric start, with the three "
                         "fitted laws.");
}

static void section_crosscheck(repro *c)
{
    sw_report_section(c->r, "Discrete training against the flows",
                      "The ODEs are population gradient flows; the trainer takes discrete "
                      "steps on the same models. With full-batch population gradients the "
                      "deviation is the Euler error and must halve with the step; with sampled "
                      "minibatches (SGD) the plateau must end at the same t = step x lr.");
    const char *steps = c->quick ? "2000" : "10000", *steps2 = c->quick ? "4000" : "20000";
    if (step(c, "crosscheck", "y-reduced", "--lr", "0.01", "--steps", steps, "--out",
             P(c, "cross_y_lr01.csv"), NULL) ||
        step(c, "crosscheck", "y-reduced", "--lr", "0.005", "--steps", steps2, "--out",
             P(c, "cross_y_lr005.csv"), NULL))
        return;
    double d1 = csv_pick(P(c, "cross_y_lr01.csv"), "max_dev", PICK_MAX, NULL, 0);
    double d2 = csv_pick(P(c, "cross_y_lr005.csv"), "max_dev", PICK_MAX, NULL, 0);
    sw_report_row(c->r, "y-reduced vs GD, largest deviation, lr = 0.01", num(c, d1),
                  "O(lr): Euler's method (docs/math.md)",
                  S(c, "to t = %s", c->quick ? "20" : "100"));
    sw_report_row(c->r, "same, lr = 0.005", num(c, d2), "half of the above (O(lr))",
                  S(c, "ratio %.3f", d2 / d1));
    if (!step(c, "plot", "crosscheck", P(c, "cross_y_lr01.csv"), P(c, "cross_y_lr005.csv"),
              "--set", "keys=lr = 0.01|lr = 0.005", "--out", P(c, "crosscheck.png"), NULL))
        sw_report_figure(c->r, "crosscheck.png",
                         "Full-batch gradient descent on y-full's model against the y-reduced "
                         "flow: loss of both against t = step x lr (top), largest deviation "
                         "over the columns (bottom, log scale), for two learning rates.");
    /* t = step x lr must pass the plateau's end near t = 350. */
    if (step(c, "train", "toy", "--optim", "sgd", "--batch", "32", "--lr", "0.2", "--steps",
             c->quick ? "2000" : "5000", "--eval-every", "10", "--out", P(c, "toy_sgd.csv"),
             NULL) ||
        step(c, "integrate", "z-reduced", "--until", "loss<=0.25", "--out", P(c, "zred.csv"),
             NULL) ||
        step(c, "integrate", "z-reduced", "--t-end", "1000", "--grid", "linear", "--points",
             "201", "--out", P(c, "zred_curve.csv"), NULL))
        return;
    double tt = csv_pick(P(c, "toy_sgd.csv"), "t", PICK_FIRST_BELOW, "loss", 0.25);
    double tz = csv_pick(P(c, "zred.csv"), "t", PICK_LAST, NULL, 0);
    sw_report_row(c->r, "toy SGD: loss <= 1/4 first at t", num(c, tt),
                  S(c, "z-reduced: %.4g (the flow)", tz),
                  S(c, "%+.2f%%, within the 10-step evaluation spacing (t = 2)",
                    100 * (tt - tz) / tz));
    if (!step(c, "plot", "xy", P(c, "toy_sgd.csv"), P(c, "zred_curve.csv"), "--set",
              "x=column(\"t\")", "--set", "ys=column(\"loss\")", "--set",
              "keys=SGD, batch 32, lr 0.2 (t = step x lr)|z-reduced flow", "--set", "with=lines",
              "--set", "keypos=top right", "--set",
              "xlabel=t (gradient-flow units; step x lr for the trainer)", "--set",
              "ylabel=loss", "--set",
              "title=toy trainer against the flow; d = 16, T = 64, B = 1, p = 0", "--out",
              P(c, "toy.png"), NULL))
        sw_report_figure(c->r, "toy.png",
                         "The sampled-minibatch trainer on z-full's model and the z-reduced "
                         "flow: the plateau ends at the same t.");
}

static void section_markov(repro *c)
{
    sw_report_section(c->r, "The Markov-chain transformer (Yüksel et al., Sec. 2, Figs. 3 and 5)",
                      "The minimal transformer (S = 10 states, context 32, three heads, lag "
                      "groups of importance 4 : 2 : 1) trained with Adam (lr 0.01) on fresh "
                      "sequences learns in stages: its KL divergence to the truth truncated to "
                      "the first j groups is smallest for j = 1, then j = 2, while j = 3 keeps "
                      "falling. Times are t = step x lr, as in the figure. With a small fixed "
                      "training set, early stopping keeps an earlier, shorter-context model.");
    const char *steps = c->quick ? "300" : "3000";
    if (step(c, "train", "markov", "--optim", "adam", "--lr", "0.01", "--batch", "128",
             "--steps", steps, "--grid", "log", "--points", "60", "--out", P(c, "markov.csv"),
             NULL))
        return;
    const char *mk = P(c, "markov.csv");
    double t1 = csv_pick(mk, "t", PICK_AT_MIN, "kl_1", 0),
           t2 = csv_pick(mk, "t", PICK_AT_MIN, "kl_2", 0);
    sw_report_row(c->r, "t where KL to truth j = 1 is smallest",
                  S(c, "%.4g (step %.0f)", t1, t1 / 0.01),
                  "the first of the minima (Yüksel et al., Fig. 3)",
                  "their step counts are for another optimiser scale, so only the order compares");
    sw_report_row(c->r, "t where KL to truth j = 2 is smallest",
                  S(c, "%.4g (step %.0f)", t2, t2 / 0.01),
                  "after j = 1's (Yüksel et al., Fig. 3)",
                  t2 > t1 ? "in the paper's order" : "out of order");
    sw_report_row(c->r, "final KL to the full truth (j = 3)",
                  num(c, csv_pick(mk, "kl_3", PICK_LAST, NULL, 0)),
                  "still falling (Yüksel et al., Fig. 3)", S(c, "at step %s", steps));
    if (!step(c, "plot", "markov", mk, "--out", P(c, "markov.png"), NULL))
        sw_report_figure(c->r, "markov.png",
                         "KL to each truncated truth (top) and each head's attention on each "
                         "lag group (bottom), against t = step x lr.");
    static const char *const sizes[] = {"32", "1024", "4096"};
    const char *files[3];
    size_t nf = c->quick ? 1 : 3;
    for (size_t i = 0; i < nf; i++) {
        const char *f = files[i] = P(c, S(c, "fig5_%s.csv", sizes[i]));
        if (step(c, "train", "markov", "--optim", "adam", "--lr", "0.01", "--batch", "32",
                 "--steps", "6000", "--eval-every", "20", "--n-train", sizes[i], "--patience",
                 "15", "--out", f, NULL))
            return;
        /* The kept model is the row with the lowest held-out loss: which
         * truncated truth is it closest to? */
        double kl[4];
        size_t best = 0;
        for (size_t j = 0; j < 4; j++) {
            kl[j] = csv_pick(f, S(c, "kl_%zu", j), PICK_AT_MIN, "loss", 0);
            if (kl[j] < kl[best])
                best = j;
        }
        size_t want = i + 1;
        sw_report_row(c->r, S(c, "n_train = %s: kept model closest to truth j =", sizes[i]),
                      S(c, "%zu", best),
                      S(c, "%zu (Yüksel et al., Fig. 5: fewer stages with less data)", want),
                      best == want ? S(c, "as in the paper; KL %.3g", kl[best])
                                   : S(c, "differs; KL %.3g", kl[best]));
    }
    /* step() stops at the first NULL: the options go before the inputs. */
    if (!step(c, "plot", "fig5", "--set", "keys=n_train = 32|n_train = 1024|n_train = 4096",
              "--out", P(c, "fig5.png"), files[0], nf > 1 ? files[1] : NULL,
              nf > 1 ? files[2] : NULL, NULL))
        sw_report_figure(c->r, "fig5.png",
                         "Early stopping on fixed training sets (Yüksel et al., Fig. 5): "
                         "held-out loss and KL to each truncated truth against t = step x lr, "
                         "one panel per training-set size; the dashed line marks the kept "
                         "model (lowest held-out loss).");
}

/* Over the rows of a y sweep with level:1..3 (where column by equals
 * val): how the three patterns came, by the gaps between the times the
 * loss passes each level.  Times more than a factor 3 apart are separate
 * stages: one smooth drop from L_0 to 0 passes the three levels within a
 * factor 2.5 (every seed at sigma <= 0.3).  n[0]: one stage, n[1]: one
 * pattern then two together, n[2]: two together then one, n[3]: three
 * stages, n[4]: a level not reached. */
static void stage_pattern(const char *file, const char *by, double val, size_t n[5])
{
    sw_table tb;
    sw_err e;
    memset(n, 0, 5 * sizeof *n);
    if (sw_table_read(file, &tb, &e))
        return;
    int k1 = sw_table_col(&tb, "t_level_1"), k2 = sw_table_col(&tb, "t_level_2"),
        k3 = sw_table_col(&tb, "t_level_3"), kb = sw_table_col(&tb, by);
    for (size_t i = 0; k1 >= 0 && k2 >= 0 && k3 >= 0 && kb >= 0 && i < tb.rows; i++) {
        if (sw_table_at(&tb, i, kb) != val)
            continue;
        double t1 = sw_table_at(&tb, i, k1), t2 = sw_table_at(&tb, i, k2),
               t3 = sw_table_at(&tb, i, k3);
        if (!(isfinite(t1) && isfinite(t2) && isfinite(t3)))
            n[4]++;
        else
            n[(t2 > 3 * t1 ? 1 : 0) + (t3 > 3 * t2 ? 2 : 0)]++;
    }
    sw_table_clear(&tb);
}

static const char *pattern_text(repro *c, const size_t n[5])
{
    return S(c, "%zu one stage, %zu one then two, %zu two then one, %zu three%s", n[0], n[1],
             n[2], n[3], n[4] ? S(c, ", %zu unfinished", n[4]) : "");
}

#define Y_LEVELS "--measure", "level:1", "--measure", "level:2", "--measure", "level:3"

static void section_fig4(repro *c)
{
    sw_report_section(c->r, "Initialisation scale and importance ratio (Yüksel et al., Fig. 4)",
                      "The y-reduced flow (H = K = 3, T = 16, c = 1) timed at each transition: "
                      "t_level_k is when the loss first falls halfway from L_{k-1} to L_k. "
                      "Several seeds per value. The paper finds slower learning for a smaller "
                      "initialisation and stages that separate as gamma grows.");
    const char *seeds = c->quick ? "seed=1:2:2" : "seed=1:6:6";
    const char *fs = P(c, "fig4_sigma.csv"), *fg = P(c, "fig4_gamma.csv");
    unlink(fs);
    unlink(fg);
    if (step(c, "sweep", "y-reduced", S(c, "sigma=1e-6:1e-1:%s:log", c->quick ? "4" : "11"),
             seeds, Y_LEVELS, "--solver", "bdf", "--t-end", "1e7", "--out", fs, NULL) ||
        step(c, "sweep", "y-reduced", S(c, "gamma=1.25:8:%s:log", c->quick ? "4" : "10"),
             seeds, Y_LEVELS, "--solver", "bdf", "--t-end", "1e7", "--out", fg, NULL))
        return;
    static const struct {
        const char *y, *what, *ref_text, *off;
        double ref;
    } gk[] = {
        {"t_level_1", "first transition", "-2: 1/lambda_1, lambda_1 = c gamma^(K-1) (docs/math.md)",
         "the first stage is not purely the 1/lambda_1 time scale over this range", -2},
        {"t_level_2", "second transition", "> 0: stages separate as gamma grows (Yüksel et al., "
         "Fig. 4 right)", "later stages wait on the weaker patterns: a trend, not a law", NAN},
        {"t_level_3", "third transition", "> 0 (Yüksel et al., Fig. 4 right)",
         "later stages wait on the weaker patterns: a trend, not a law", NAN},
    }, sk[] = {
        {"t_level_1", "first transition", "0: the competitive phase does not need the heads to "
         "differ (Yüksel et al., Sec. 3.2)", "sigma shifts the start slightly off uniform", 0},
        {"t_level_2", "second transition", "< 0: smaller initialisation, slower (Yüksel et al., "
         "Fig. 4 left)", "sets in through the ln(1/sigma)^2 escape law of the symmetric saddle "
         "(docs/math.md), hence a small power", NAN},
        {"t_level_3", "third transition", "< 0 (Yüksel et al., Fig. 4 left)",
         "the third stage waits on the second", NAN},
    };
    const char *gf[3], *sf[3];
    for (size_t k = 0; k < 3; k++)
        if (!(gf[k] = fit_row(c, fg, gk[k].y, "C * gamma^a", 1,
                              S(c, "exponent of gamma, %s (%s)", gk[k].what, gk[k].y), gk[k].ref,
                              gk[k].ref_text, gk[k].off)))
            return;
    for (size_t k = 0; k < 3; k++)
        if (!(sf[k] = fit_row(c, fs, sk[k].y, "C * sigma^a", 1,
                              S(c, "exponent of sigma, %s (%s)", sk[k].what, sk[k].y), sk[k].ref,
                              sk[k].ref_text, sk[k].off)))
            return;
    const char *keys = "keys=first transition|second|third";
    if (!step(c, "plot", "fit", gf[0], gf[1], gf[2], "--set", keys, "--set",
              "xlabel=gamma (importance ratio, lambda_k = c gamma^(K-k))", "--set",
              "ylabel=transition time t_level_k (gradient-flow units)", "--out",
              P(c, "fig4_gamma.png"), NULL))
        sw_report_figure(c->r, "fig4_gamma.png",
                         "Transition times against the importance ratio, log-log, one point "
                         "per seed, with fitted power laws: near gamma = 1 the three nearly "
                         "merge; as gamma grows the first comes sooner and the last later.");
    if (!step(c, "plot", "fit", sf[0], sf[1], sf[2], "--set", keys, "--set",
              "xlabel=sigma (logits start iid U[-sigma, sigma])", "--set",
              "ylabel=transition time t_level_k (gradient-flow units)", "--out",
              P(c, "fig4_sigma.png"), NULL))
        sw_report_figure(c->r, "fig4_sigma.png",
                         "Transition times against the initialisation scale, log-log, one "
                         "point per seed, with fitted power laws: the first transition does not "
                         "depend on sigma, the later ones slow down as sigma shrinks.");
}

static void section_gamma1(repro *c)
{
    sw_report_section(
        c->r, "Equal importances, gamma = 1 (Yüksel et al., Sec. 2, Fig. 4 right)",
        "With gamma = 1 the paper's transformer learns in two stages: one pattern first, then "
        "the other two together. Here the y-reduced flow is classified seed by seed from its "
        "level times (separate stages: more than a factor 3 apart), over the initialisation scale "
        "sigma and the number of heads; the Markov transformer is timed by when some head "
        "first holds each lag group (attention >= 1/2; separate stages: more than a factor 2 "
        "apart, as these times are sharper than the loss's).");
    const char *seeds = c->quick ? "seed=1:2:2" : "seed=1:8:8";
    const char *f3 = P(c, "gamma1.csv"), *f6 = P(c, "gamma1_H6.csv");
    unlink(f3);
    unlink(f6);
    if (step(c, "sweep", "y-reduced", "gamma=1", "sigma=0.01,0.1,0.3,1,2", seeds, Y_LEVELS,
             "--solver", "bdf", "--t-end", "1e7", "--out", f3, NULL) ||
        step(c, "sweep", "y-reduced", "gamma=1", "H=6", "sigma=0.01,1", seeds, Y_LEVELS,
             "--solver", "bdf", "--t-end", "1e7", "--out", f6, NULL))
        return;
    static const struct {
        const char *file;
        size_t H;
        double sigma;
    } rows[] = {{"gamma1.csv", 3, 0.01}, {"gamma1.csv", 3, 0.1}, {"gamma1.csv", 3, 0.3},
                {"gamma1.csv", 3, 1},    {"gamma1.csv", 3, 2},   {"gamma1_H6.csv", 6, 0.01},
                {"gamma1_H6.csv", 6, 1}};
    const char *ref = "two stages, one pattern then two (Yüksel et al., Sec. 2)";
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        size_t n[5];
        stage_pattern(P(c, rows[i].file), "sigma", rows[i].sigma, n);
        size_t all = n[0] + n[1] + n[2] + n[3] + n[4];
        sw_report_row(c->r,
                      S(c, "y-reduced, H = %zu, sigma = %g: seeds by stage pattern", rows[i].H,
                        rows[i].sigma),
                      pattern_text(c, n), ref,
                      n[0] == all ? "one stage: the competitive phase carries the heads to the "
                                    "same mixture of the equal patterns, then they split at once"
                                  : S(c, "several stages in %zu of %zu seeds: a large "
                                         "initialisation starts heads on different patterns; "
                                         "the paper's order in %zu",
                                      all - n[0], all, n[1]));
    }
    const char *runs[][3] = {{"gamma1_s001.csv", "sigma=0.01", "seed=1"},
                             {"gamma1_s1a.csv", "sigma=1", "seed=1"},
                             {"gamma1_s1b.csv", "sigma=1", "seed=2"}};
    for (size_t i = 0; i < 3; i++)
        if (step(c, "integrate", "y-reduced", "gamma=1", runs[i][1], runs[i][2], "--solver",
                 "bdf", "--t-end", "1e5", "--t-first", "1e-2", "--points", "300", "--out",
                 P(c, runs[i][0]), NULL))
            return;
    if (!step(c, "plot", "xy", P(c, runs[0][0]), P(c, runs[1][0]), P(c, runs[2][0]), "--set",
              "x=column(\"t\")", "--set", "ys=column(\"loss\")", "--set",
              "keys=sigma = 0.01, seed 1: one stage|sigma = 1, seed 1: two, then one|"
              "sigma = 1, seed 2: one, then two (as in the paper)",
              "--set", "logx=1", "--set", "with=lines", "--set", "keypos=bottom left", "--set",
              "xlabel=t (gradient-flow units)", "--set",
              "ylabel=loss (levels 1.5, 1, 0.5, 0 after 0, 1, 2, 3 patterns)", "--set",
              "title=gamma = 1; y-reduced: H = K = 3, T = 16, c = 1", "--out",
              P(c, "gamma1.png"), NULL))
        sw_report_figure(c->r, "gamma1.png",
                         "Loss of the y-reduced flow at gamma = 1 for a small and a large "
                         "initialisation, log t: one drop, or two with an intermediate "
                         "plateau at 0.5 or at 1.");
    if (c->quick)
        return;
    /* c = 3 makes every group three times as informative; seeds differ in the
     * chain, the data and the initial weights. */
    static const char *const runs_m[][2] = {{"1", "1"}, {"3", "1"}, {"3", "2"}, {"3", "3"}};
    for (size_t i = 0; i < sizeof runs_m / sizeof *runs_m; i++) {
        const char *f = P(c, S(c, "gamma1_markov_c%s_s%s.csv", runs_m[i][0], runs_m[i][1]));
        if (step(c, "train", "markov", "gamma=1", S(c, "c=%s", runs_m[i][0]),
                 S(c, "seed=%s", runs_m[i][1]), "--optim", "adam", "--lr", "0.01", "--batch",
                 "128", "--steps", "900", "--grid", "log", "--points", "40", "--out", f, NULL))
            return;
        double h[3];
        for (size_t k = 0; k < 3; k++)
            h[k] = first_hold(f, k + 1);
        double lo = fmin(h[0], fmin(h[1], h[2])), hi = fmax(h[0], fmax(h[1], h[2])),
               mid = h[0] + h[1] + h[2] - lo - hi;
        int sep1 = mid > 2 * lo, sep2 = hi > 2 * mid;
        sw_report_row(c->r,
                      S(c, "Markov transformer, gamma = 1, c = %s, seed %s: t at which lag "
                           "group 1, 2, 3 is first held",
                        runs_m[i][0], runs_m[i][1]),
                      S(c, "%.3g, %.3g, %.3g", h[0], h[1], h[2]), ref,
                      isnan(lo + mid + hi)      ? "a group is never held by t = 9"
                      : sep1 && !sep2           ? "two stages: one group, then the other two "
                                                  "together, as in the paper"
                      : !sep1 && !sep2          ? "one stage: all within a factor 2"
                      : sep2 && !sep1           ? "two stages, but two groups first, then the "
                                                  "third"
                                                : "three stages");
        if (i == 1 && !step(c, "plot", "markov", f, "--out", P(c, "gamma1_markov.png"), NULL))
            sw_report_figure(c->r, "gamma1_markov.png",
                             "The Markov transformer at gamma = 1, c = 3, seed 1: KL to each "
                             "truncated truth (top) and attention on each lag group (bottom) "
                             "against t = step x lr.");
    }
}

/* Zucchet et al. Sec. 2.4 with a real transformer, scaled down to two
 * cores: a small model, lr ten times the paper's, one seed per length. */
static void section_transformer(repro *c)
{
    sw_report_section(c->r, "A real transformer's plateau (Zucchet et al., Sec. 2.4)",
                      "A two-block transformer (d_model = 64, two heads, d_qk = 32, MLP) "
                      "trained with Adam (lr 1e-3, batch 32) on the single-location task "
                      "(d = 8, relevant position random, marked) until its test loss falls "
                      "to 0.1, for several sequence lengths T; the emergence step is fitted "
                      "as C T^a. The paper's model is four times wider with lr 1e-4 and "
                      "five seeds; compare the exponent, not the constant. One seed per T "
                      "here: seeds spread the step by about 15% (docs/transformer.md).");
    /* --quick: a one-block model of width 16 on d = 4 at lr 1e-2, which
     * emerges within ~100 steps, only to exercise the section. */
    static const char *const Ts[] = {"8", "16", "24", "32"}, *const Tq[] = {"4", "8"};
    size_t nT = c->quick ? 2 : 4;
    const char *const *T = c->quick ? Tq : Ts;
    const char *law = P(c, "tf_T.csv");
    FILE *fp = fopen(law, "w");
    if (!fp) {
        sw_report_failure(c->r, S(c, "cannot write %s", law));
        c->failures++;
        return;
    }
    fprintf(fp, "T,t_emerge\n");
    for (size_t i = 0; i < nT; i++) {
        const char *csv = P(c, S(c, "tf_T%s.csv", T[i]));
        if (step(c, "train", "tf-location", c->quick ? "d=4" : "d=8", S(c, "T=%s", T[i]),
                 c->quick ? "L=1" : "L=2", c->quick ? "d_model=16" : "d_model=64", "heads=2",
                 c->quick ? "d_qk=8" : "d_qk=32", c->quick ? "n_test=64" : "n_test=256",
                 "--optim", "adam", "--lr", c->quick ? "1e-2" : "1e-3", "--batch", "32",
                 "--steps", "6000", "--eval-every", "10", "--stop-at-emergence", "--out", csv,
                 NULL))
            break;
        double st = jnum(S(c, "%.*s.json", (int)(strlen(csv) - 4), csv), "/emergence/0/step");
        /* The paper's law at its own model and lr (1e-4): a scale, not a
         * prediction for ours. */
        double d = c->quick ? 4 : 8, law_steps = 0.76 * pow(d, 1.29) * pow(atof(T[i]), 0.80);
        sw_report_row(c->r, S(c, "T = %s: steps until test loss <= 0.1", T[i]), num(c, st),
                      S(c, "%.0f (0.76 d^1.29 T^0.80: their model, lr 1e-4)", law_steps),
                      i ? "ours: smaller model, lr 1e-3"
                        : "the attention on the marked token rises from 1/T to ~1");
        fprintf(fp, "%s,%.17g\n", T[i], st);
    }
    fclose(fp);
    if (nT < 3)
        return; /* two points fix a power law exactly: nothing to fit */
    const char *fit = fit_row(c, law, "t_emerge", "C * T^a", 1, "exponent of T (d = 8)", 0.80,
                              "0.80 (Adam, L=2, heads=4, d_model=256, lr 1e-4)",
                              "outside the interval; small model, lr 1e-3, one seed per T");
    if (fit && !step(c, "plot", "fit", fit, "--set", "keys=emergence step", "--set",
                     "xlabel=T (sequence length)", "--set",
                     "ylabel=optimiser steps until test loss <= 0.1", "--set",
                     "title=small transformer, d = 8, Adam lr 1e-3, batch 32, seed 1", "--out",
                     P(c, "tf_T.png"), NULL))
        sw_report_figure(c->r, "tf_T.png", "Emergence step of the small transformer against "
                                           "T (d = 8) with the fitted power law, log-log axes.");
}

/* The report's sections, in order.  A new one is a function above and a
 * line here; `seconds` is its typical time on two cores (full, --quick),
 * which only paces the progress line. */
static const struct {
    const char *name;
    void (*run)(repro *c);
    const char *what;
    double seconds, quick_seconds;
} sections[] = {
    {"stages", section_stages, "stage-wise convergence of the default Y run", 1, 0.5},
    {"competitive", section_competitive, "symmetric against perturbed heads", 1.5, 0.7},
    {"zlaws", section_zlaws, "plateau-time scaling laws of the Z toy", 3, 1.5},
    {"criteria", section_criteria, "the Z papers' own plateau criteria and prefactors", 2, 1},
    {"escape", section_escape, "saddle spectrum and escape-time laws", 3, 1},
    {"crosscheck", section_crosscheck, "discrete training against the flows", 12, 4},
    {"markov", section_markov, "the Markov-chain transformer's stages and Fig. 5", 45, 5},
    {"fig4", section_fig4, "initialisation scale and importance ratio (Fig. 4)", 3, 1},
    {"gamma1", section_gamma1, "equal importances: how many stages at gamma = 1", 35, 1},
    {"transformer", section_transformer, "a real transformer's emergence step against T", 30,
     0.5},
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

int sw_cmd_reproduce(int argc, char **argv)
{
    if (sw_cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        for (size_t i = 0; i < N_SECTIONS; i++)
            printf("  %-12s %s\n", sections[i].name, sections[i].what);
        return 0;
    }
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},
        {"quick", no_argument, 0, 'q'},
        {0, 0, 0, 0},
    };
    struct args a = {"out", 0};
    sw_err e;
    int first, rc = sw_cli_getopt(argc, argv, longopts, on_option, &a, &first, &e);
    if (rc)
        return sw_cli_report(rc, &e);
    int chosen[N_SECTIONS] = {0}, any = 0;
    for (int i = first; i < argc; i++) {
        size_t k = 0;
        while (k < N_SECTIONS && strcmp(sections[k].name, argv[i]) != 0)
            k++;
        if (k == N_SECTIONS) {
            char names[256] = "";
            for (size_t j = 0; j < N_SECTIONS; j++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         j ? ", " : "", sections[j].name);
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
