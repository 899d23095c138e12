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
    if (!err)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
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
    sw_table_free(&tb);
    return x;
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
        sw_table_free(&tb);
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
    sw_report_row(c->r, "transitions detected", S(c, "%zu", nt), S(c, "%zu (one per pattern)", want),
                  nt == want ? "as predicted" : "differs");
    for (size_t k = 0; k < np; k++) {
        json_object *p = json_object_array_get_idx(pl, k), *v;
        double level = json_object_object_get_ex(p, "level", &v) ? json_object_get_double(v) : NAN;
        double th = json_object_object_get_ex(p, "theory", &v) ? json_object_get_double(v) : NAN;
        sw_report_row(c->r, S(c, "plateau %zu level", k), num(c, level), S(c, "L_%zu = %.4g", k, th),
                      S(c, "%+.2f%%", 100 * (level - th) / th));
    }
    for (size_t k = 0; k < nt; k++)
        sw_report_row(c->r, S(c, "transition %zu time", k + 1),
                      num(c, json_object_get_double(json_object_array_get_idx(tr, k))), "",
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
                  S(c, "1/2 sum_{k>=2} lambda_k^2 = %.4g", l1),
                  S(c, "%+.2g relative", (lc - l1) / l1));
    sw_report_row(c->r, "perturbed start: final loss (t = 1e4)", num(c, lp), "0 (L_3)",
                  "every pattern learned");
    sw_report_row(c->r, "perturbed start: transitions",
                  S(c, "%zu", jlen(P(c, "perturbed.stages.json"), "/transitions")), "3", "");
    if (!step(c, "plot", "competitive", P(c, "coupled.csv"), P(c, "perturbed.csv"), "--out",
              P(c, "competitive.png"), NULL))
        sw_report_figure(c->r, "competitive.png",
                         "Loss of the symmetric and the perturbed start (top); attention of "
                         "each head, symmetric (middle) and perturbed (bottom).");
}

/* Runs `fit CSV --y Y --law LAW` and reports parameter `k` of the law
 * (its exponent) with its interval beside the paper's value. */
static void fit_row(repro *c, const char *csv, const char *y, const char *law, size_t k,
                    const char *what, const char *paper, const char *note)
{
    const char *out = S(c, "%.*s.fit_%s.csv", (int)(strlen(csv) - 4), csv, y);
    if (step(c, "fit", csv, "--y", y, "--law", law, "--out", out, NULL))
        return;
    const char *js = S(c, "%.*s.json", (int)(strlen(out) - 4), out);
    sw_report_row(c->r, what,
                  S(c, "%.3f [%.3f, %.3f]", jnum(js, S(c, "/params/%zu/estimate", k)),
                    jnum(js, S(c, "/params/%zu/ci95/0", k)), jnum(js, S(c, "/params/%zu/ci95/1", k))),
                  paper, note);
}

static void section_zlaws(repro *c)
{
    sw_report_section(c->r, "Plateau-time laws (Zucchet et al.)",
                      "Time until the loss of z-reduced falls to half its start, swept over "
                      "dimension d, sequence length T and in-context repetition B (tied copies "
                      "share one logit, untied ones do not), and fitted as power laws; beside "
                      "each fit, the same fit of 1/lambda+, the start's largest eigenvalue "
                      "(--predict). The slides fit T_plateau = 1.51 d^0.49 (T/B)^0.99; their "
                      "time unit and threshold differ from ours, so compare exponents.");
    const char *n = c->quick ? "4" : "11", *nb = c->quick ? "4" : "9";
    struct {
        const char *file, *axis, *fixed1, *fixed2, *law, *what, *paper;
    } sw[] = {
        {"z_d.csv", S(c, "d=4:4096:%s:log", n), "T=1024", "tied=0", "C * d^a",
         "exponent of d (T = 1024)", "0.49"},
        {"z_T.csv", S(c, "T=16:16384:%s:log", n), "d=16", "tied=0", "C * T^a",
         "exponent of T (d = 16)", "0.99"},
        {"z_B_tied.csv", S(c, "B=1:256:%s:log", nb), "T=4096", "tied=1", "C * B^a",
         "exponent of B, tied copies (T = 4096, d = 16)", "-0.99"},
        {"z_B_untied.csv", S(c, "B=1:256:%s:log", nb), "T=4096", "tied=0", "C * B^a",
         "exponent of B, untied copies", "-0.99 (eigenvalue: -0.5)"},
    };
    for (size_t i = 0; i < sizeof sw / sizeof *sw; i++) {
        const char *f = P(c, sw[i].file);
        /* A sweep resumes an existing file; a report starts afresh. */
        unlink(f);
        if (step(c, "sweep", "z-reduced", sw[i].axis, sw[i].fixed1, sw[i].fixed2,
                 strncmp(sw[i].axis, "B", 1) == 0 ? "d=16" : "B=1", "--measure", "plateau",
                 "--predict", "--t-end", "1e8", "--out", f, NULL))
            return;
        fit_row(c, f, "t_plateau", sw[i].law, 1, sw[i].what, sw[i].paper, "");
        fit_row(c, f, "t_scale", sw[i].law, 1, S(c, "  same for 1/lambda+"), "", "eigenvalue");
    }
    if (!step(c, "plot", "fit", P(c, "z_d.fit_t_plateau.csv"), "--out", P(c, "z_d.png"), NULL))
        sw_report_figure(c->r, "z_d.png", "Plateau time against d (T = 1024) with the fitted "
                                          "power law, log-log axes.");
    const char *fp = P(c, "z_p.csv");
    unlink(fp);
    if (step(c, "sweep", "z-reduced", S(c, "p=0:0.95:%s", c->quick ? "5" : "20"), "d=16",
             "T=256", "--measure", "plateau", "--predict", "--t-end", "1e8", "--out", fp,
             NULL))
        return;
    fit_row(c, fp, "t_plateau", "C * t_scale^a", 1,
            "cross-sample repetition p = 0..0.95 (d = 16): exponent of 1/lambda+",
            "1 if lambda+ sets the plateau", "lambda+ ~ sqrt(1 + p^2 (d-1)) / (sqrt(d) T)");
}

static void section_escape(repro *c)
{
    sw_report_section(c->r, "Saddles and escape from a symmetric start (Yüksel et al., Sec. 3.3)",
                      "The competitive plateau is a saddle at infinite logits: its Jacobian "
                      "has several unstable directions, the fastest moving one head to the next "
                      "pattern, and refining it never converges to a finite point. From the "
                      "symmetric start perturbed by eps, the escape time grows like "
                      "ln(1/eps)^2 rather than the hyperbolic ln(1/eps), which the linear "
                      "reference saddle shows for contrast.");
    if (step(c, "jacobian", "y-reduced", "--at", "plateau:2", "--t-end", "1e4", "--points",
             "400", "--json", P(c, "spectrum.json"), NULL))
        return;
    const char *sp = P(c, "spectrum.json");
    sw_report_row(c->r, "Morse index at the competitive plateau (y-reduced)",
                  num(c, jnum(sp, "/morse_index")), "> 0 (a saddle)",
                  S(c, "%g exact zeros: one conserved logit sum per head",
                    jnum(sp, "/near_zero")));
    sw_report_row(c->r, "largest eigenvalue there", num(c, jnum(sp, "/eigenvalues/0/re")), "",
                  "one head moving from lag 1 to lag 2");
    const char *eps = c->quick ? "1e-1:1e-5:5" : "1e-1:1e-9:17";
    if (step(c, "escape", "y-reduced", "--base", "symmetric", "--direction", "random",
             "--eps", eps, "--until", "loss<=1.5", "--t-end", "1e6", "--out",
             P(c, "escape.csv"), NULL) ||
        step(c, "escape", "linear", "--base", "saddle", "--until", "loss>=0.5", "--out",
             P(c, "escape_linear.csv"), NULL))
        return;
    const char *ej = P(c, "escape.json"), *lj = P(c, "escape_linear.json");
    const char *law = jstr(c, ej, "/best");
    const char *ftext = jstr(c, ej, S(c, "/laws/%s/formula", law));
    sw_report_row(c->r, "escape-time law from the symmetric start (lowest AIC)", ftext,
                  "faster than ln(1/eps), ~ ln(1/eps)^2 (models.md)", "");
    sw_report_row(c->r, "its b, 95% CI",
                  S(c, "%.4g [%.4g, %.4g]", jnum(ej, S(c, "/laws/%s/params/1/estimate", law)),
                    jnum(ej, S(c, "/laws/%s/params/1/ci95/0", law)),
                    jnum(ej, S(c, "/laws/%s/params/1/ci95/1", law))),
                  "", "");
    sw_report_row(c->r, "linear saddle: b of a + b ln(1/eps)",
                  num(c, jnum(lj, "/laws/log/params/1/estimate")),
                  S(c, "1/lambda+ = %.4g", jnum(lj, "/inv_lambda_plus")), "hyperbolic");
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
    sw_report_row(c->r, "y-reduced vs GD, largest deviation, lr = 0.01", num(c, d1), "O(lr)",
                  S(c, "to t = %s", c->quick ? "20" : "100"));
    sw_report_row(c->r, "same, lr = 0.005", num(c, d2), "half of the above",
                  S(c, "ratio %.3f", d2 / d1));
    /* t = step x lr must pass the plateau's end near t = 350. */
    if (step(c, "train", "toy", "--optim", "sgd", "--batch", "32", "--lr", "0.2", "--steps",
             c->quick ? "2000" : "5000", "--eval-every", "10", "--out", P(c, "toy_sgd.csv"),
             NULL) ||
        step(c, "integrate", "z-reduced", "--until", "loss<=0.25", "--out", P(c, "zred.csv"),
             NULL))
        return;
    double tt = csv_pick(P(c, "toy_sgd.csv"), "t", PICK_FIRST_BELOW, "loss", 0.25);
    double tz = csv_pick(P(c, "zred.csv"), "t", PICK_LAST, NULL, 0);
    sw_report_row(c->r, "toy SGD: loss <= 1/4 first at t", num(c, tt),
                  S(c, "z-reduced: %.4g", tz), S(c, "%+.2f%%", 100 * (tt - tz) / tz));
}

static void section_markov(repro *c)
{
    sw_report_section(c->r, "The Markov-chain transformer (Yüksel et al., Sec. 2, Figs. 3 and 5)",
                      "The minimal transformer (S = 10 states, context 32, three heads, lag "
                      "groups of importance 4 : 2 : 1) trained with Adam on fresh sequences "
                      "learns in stages: its KL divergence to the truth truncated to the first "
                      "j groups is smallest for j = 1, then j = 2, while j = 3 keeps falling. "
                      "With a small fixed training set, early stopping keeps an earlier, "
                      "shorter-context model.");
    const char *steps = c->quick ? "300" : "3000";
    if (step(c, "train", "markov", "--optim", "adam", "--lr", "0.01", "--batch", "128",
             "--steps", steps, "--grid", "log", "--points", "60", "--out", P(c, "markov.csv"),
             NULL))
        return;
    const char *mk = P(c, "markov.csv");
    sw_report_row(c->r, "step where KL to truth j = 1 is smallest",
                  num(c, csv_pick(mk, "step", PICK_AT_MIN, "kl_1", 0)),
                  "~100 (reference run)", "");
    sw_report_row(c->r, "step where KL to truth j = 2 is smallest",
                  num(c, csv_pick(mk, "step", PICK_AT_MIN, "kl_2", 0)),
                  "~500 (reference run)", "");
    sw_report_row(c->r, "final KL to the full truth (j = 3)",
                  num(c, csv_pick(mk, "kl_3", PICK_LAST, NULL, 0)),
                  "still falling", S(c, "at step %s", steps));
    if (!step(c, "plot", "markov", mk, "--out", P(c, "markov.png"), NULL))
        sw_report_figure(c->r, "markov.png",
                         "KL to each truncated truth (top) and each head's attention on each "
                         "lag group (bottom).");
    static const char *const sizes[] = {"32", "1024", "4096"};
    for (size_t i = 0; i < (c->quick ? 1u : 3u); i++) {
        const char *f = P(c, S(c, "fig5_%s.csv", sizes[i]));
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
        sw_report_row(c->r, S(c, "n_train = %s: kept model closest to truth j =", sizes[i]),
                      S(c, "%zu", best), i == 0 ? "1 (one stage)" : i == 1 ? "2" : "3",
                      S(c, "KL %.3g", kl[best]));
    }
}

static const struct {
    const char *name;
    void (*run)(repro *c);
    const char *what;
} sections[] = {
    {"stages", section_stages, "stage-wise convergence of the default Y run"},
    {"competitive", section_competitive, "symmetric against perturbed heads"},
    {"zlaws", section_zlaws, "plateau-time scaling laws of the Z toy"},
    {"escape", section_escape, "saddle spectrum and escape-time laws"},
    {"crosscheck", section_crosscheck, "discrete training against the flows"},
    {"markov", section_markov, "the Markov-chain transformer's stages and Fig. 5"},
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
    size_t total = 0, done = 0;
    for (size_t k = 0; k < N_SECTIONS; k++)
        total += !any || chosen[k];
    for (size_t k = 0; k < N_SECTIONS; k++) {
        if (any && !chosen[k])
            continue;
        fprintf(stderr, "[%zu/%zu] %-12s ", ++done, total, sections[k].name);
        double t0 = sw_cli_now();
        int before = c.failures;
        sections[k].run(&c);
        double dt = sw_cli_now() - t0;
        sw_report_seconds(c.r, dt);
        fprintf(stderr, "%6.1f s%s\n", dt, c.failures > before ? "  FAILED" : "");
        free_strs(&c);
    }
    rc = sw_report_write(c.r, a.dir, &e);
    sw_report_free(c.r);
    free(c.strs);
    close(c.log_fd);
    if (rc)
        return sw_cli_report(rc, &e);
    fprintf(stderr, "report: %s/report.md and %s/report.html (%.1f s)\n", a.dir, a.dir,
            sw_cli_now() - t_all);
    if (c.failures)
        return sw_cli_die(SW_EFAIL, "%d step%s failed; see %s", c.failures,
                          c.failures == 1 ? "" : "s", logpath);
    return 0;
}
