/* `plot`: one gnuplot script per figure in plots/, fed the result files.
 * gnuplot runs as a child process without a shell, so file names cannot
 * inject commands, and draws into a temporary file that is renamed on
 * success like every other result. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "stagewise/output.h"
#include "stagewise/table.h"
#include "stagewise/train.h"
#include "train.h"

extern char **environ;

#define FIGURES "stages, competitive, escape, fit, markov, crosscheck, xy, fig5, emergence"

static const char help[] =
    "usage: stagewise plot FIGURE INPUT.csv... --out FILE.png\n\n"
    "Draws FIGURE from result files with gnuplot (a run-time dependency; without it\n"
    "the data files are left as they are). Figures are the scripts in plots/:\n"
    "  stages       loss against log t with the theoretical levels L_j, and each head's\n"
    "               attention on each pattern (INPUT: one integrate run)\n"
    "  competitive  a symmetric start against a slightly perturbed one (two runs)\n"
    "  escape       escape time against eps with the fitted laws (an escape CSV)\n"
    "  fit          data and fitted law on log-log axes, the law and its exponents\n"
    "               in the key, the fitted data's fixed parameters in the title (fit\n"
    "               CSVs, one series each)\n"
    "  markov       KL to each truncated truth and each head's attention on each lag\n"
    "               group (a `train markov` or `train tf-markov` CSV)\n"
    "  crosscheck   trainer against flow: loss of both and their largest deviation\n"
    "               against t (crosscheck --out CSVs, one per learning rate)\n"
    "  xy           gnuplot expressions of any result's columns against each other,\n"
    "               one series per input and expression: --set x=EXPR --set\n"
    "               'ys=EXPR|EXPR', e.g. x=column(\"d\"), or a paper's law with diag=1\n"
    "               for the line y = x; logx=1, logy=1, with=points|lines\n"
    "  fig5         early stopping: held-out loss and KL to each truncated truth\n"
    "               against t, one panel per `train markov --patience` CSV\n"
    "  emergence    a `train tf-location|tf-recall|tf-markov` run against steps: test\n"
    "               loss (log) and accuracy, the emergence step(s) of its JSON marked,\n"
    "               and its att_l* columns; --set mark=STEP marks another step\n\n"
    "options:\n"
    "  --out FILE.png   the picture (required)\n"
    "  --set NAME=VALUE a string variable for the script (repeatable): title,\n"
    "                   xlabel, ylabel, keys ('|'-separated series names), keypos\n"
    "                   and the figure's own (see the head of plots/FIGURE.gp);\n"
    "                   show='WORD ...' keeps only the attention columns whose\n"
    "                   name contains one of the words (stages, markov, emergence)\n\n"
    "The directory of scripts is $SW_PLOTS, else plots/ beside the build.\n";

/* Where the figure scripts live: $SW_PLOTS, plots/ next to the build
 * directory, the source tree the build was configured from, or the
 * installed data directory. */
static int plots_dir(char *buf, size_t len)
{
    const char *env = getenv("SW_PLOTS");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return SW_OK;
    }
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, len, "%s/../plots", exe);
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
            return SW_OK;
    }
    /* A build directory anywhere else still finds the scripts of the tree
     * it was configured from, before the installed ones. */
    struct stat st;
    if (stat(SW_SOURCE_PLOTS, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(buf, len, "%s", SW_SOURCE_PLOTS);
    else
        snprintf(buf, len, "%s", SW_DATADIR "/plots");
    return SW_OK;
}

/* Appends `name='value'; ` to a gnuplot -e string; gnuplot single quotes
 * have no escapes, so a value holding one is refused. */
static int gp_var(char *buf, size_t len, const char *name, const char *value, sw_err *e)
{
    if (strchr(value, '\''))
        return sw_fail(e, SW_EINPUT, "plot: '%s' contains a single quote, which gnuplot "
                                     "cannot take in a string", value);
    size_t used = strlen(buf);
    int k = snprintf(buf + used, len - used, "%s='%s'; ", name, value);
    if (k < 0 || (size_t)k >= len - used)
        return sw_fail(e, SW_EINPUT, "plot: arguments too long");
    return SW_OK;
}

/* Space-separated names of the columns that match and hold a number
 * somewhere (not an observable a model leaves NaN), for the scripts to
 * iterate over. */
static void columns_like(const sw_table *tb, int (*match)(const char *), char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < tb->cols && used < len; k++) {
        if (!match(tb->names[k]))
            continue;
        size_t r = 0;
        while (r < tb->rows && !isfinite(sw_table_at(tb, r, k)))
            r++;
        if (r < tb->rows)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
                                     tb->names[k]);
    }
}

/* Keeps the words of the space-separated cols that contain one of the
 * words of show; none kept is bad input, naming what there was. */
static int keep_shown(char *cols, const char *show, const char *path, sw_err *e)
{
    char kept[4096] = "", all[4096], word[128];
    snprintf(all, sizeof all, "%s", cols);
    size_t used = 0;
    for (char *save = NULL, *c = strtok_r(all, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        int hit = 0;
        for (const char *s = show; !hit && *s;) {
            size_t n = strcspn(s, " ");
            snprintf(word, sizeof word, "%.*s", (int)(n < 127 ? n : 127), s);
            hit = n > 0 && strstr(c, word) != NULL;
            s += n + (s[n] == ' ');
        }
        if (hit && used < sizeof kept)
            used += (size_t)snprintf(kept + used, sizeof kept - used, "%s%s", used ? " " : "", c);
    }
    if (!*kept)
        return sw_fail(e, SW_EINPUT, "plot: no attention column of %s contains any of '%s' "
                                     "(allowed: words of its columns %s)",
                       path, show, *cols ? cols : "(none)");
    memcpy(cols, kept, strlen(kept) + 1); /* some of cols' words: it fits */
    return SW_OK;
}

/* att_h<h>_k<k> (markov) or att_l<l>_h<h>_k<k> (tf-markov): a head's
 * attention on a pattern (not att_h<h>_lag<j>). */
static int is_att(const char *name)
{
    return (strncmp(name, "att_h", 5) == 0 || strncmp(name, "att_l", 5) == 0) &&
           strstr(name, "_h") != NULL && strstr(name, "_k") != NULL;
}

/* att_l<l>_h<h>...: the small transformer's attention columns. */
static int is_tf_att(const char *name)
{
    return strncmp(name, "att_l", 5) == 0;
}

/* kl_<j>: KL to the truth truncated to j groups (not kl_ctx<j>). */
static int is_kl(const char *name)
{
    return strncmp(name, "kl_", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

/* The run's theoretical levels L_j, space-separated, for the guides. */
static int levels_of(const sw_table *tb, const char *path, char *buf, size_t len, sw_err *e)
{
    double lv[64];
    size_t n, used = 0;
    buf[0] = '\0';
    int rc = sw_table_levels(tb, path, lv, 64, &n, e);
    for (size_t j = 0; rc == SW_OK && j < n && used < len; j++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.17g", j ? " " : "", lv[j]);
    return rc;
}

/* What each figure's script reads, checked before gnuplot runs so a wrong
 * input is one line and exit 2, not a gnuplot error or a blank figure
 * (xy reads what --set names, and is left to gnuplot).  The column log is
 * on a log axis: it needs two rows above zero (a run's t = 0 row is
 * skipped by gnuplot, as intended). */
static const struct figure {
    const char *name;
    int n_in;                    /* inputs it takes (0: any number >= 1) */
    const char *cols[6];         /* columns every input must have */
    const char *log;             /* column on a log axis, or NULL */
    int (*family)(const char *); /* a column family it needs one of, or NULL */
    const char *family_name;
    const char *what;            /* the result it reads, for the message */
    int (*atts)(const char *);   /* the columns passed as atts; NULL: is_att */
} figures[] = {
    {"stages", 1, {"t", "loss"}, "t", NULL, NULL, "an `integrate` CSV", NULL},
    {"competitive", 2, {"t", "loss"}, "t", NULL, NULL, "an `integrate` CSV", NULL},
    {"escape", 1, {"eps", "t_escape", "law_log", "law_log2", "law_power"}, "eps", NULL, NULL,
     "an `escape` CSV", NULL},
    {"fit", 0, {"observed", "fitted"}, "observed", NULL, NULL, "a `fit` CSV", NULL},
    {"markov", 1, {"t"}, "t", is_kl, "kl_<j>", "a `train markov` or `train tf-markov` CSV",
     NULL},
    {"crosscheck", 0, {"t", "loss", "loss_train", "max_dev"}, "max_dev", NULL, NULL,
     "a `crosscheck --out` CSV", NULL},
    {"fig5", 0, {"t", "loss"}, "loss", is_kl, "kl_<j>", "a `train markov` CSV", NULL},
    {"emergence", 1, {"step", "loss"}, "loss", is_tf_att, "att_l<l>_h<h>",
     "a `train tf-location`, `tf-recall` or `tf-markov` CSV", is_tf_att},
};

static int check_input(const struct figure *fg, const char *path, const sw_table *tb, sw_err *e)
{
    int col;
    for (size_t c = 0; c < sizeof fg->cols / sizeof fg->cols[0] && fg->cols[c]; c++)
        if (sw_table_col(tb, fg->cols[c]) < 0)
            return sw_fail(e, SW_EINPUT, "plot %s: %s has no column '%s' (allowed: %s)",
                           fg->name, path, fg->cols[c], fg->what);
    if (fg->family) {
        size_t k = 0;
        while (k < tb->cols && !fg->family(tb->names[k]))
            k++;
        if (k == tb->cols)
            return sw_fail(e, SW_EINPUT, "plot %s: %s has no %s column (allowed: %s)", fg->name,
                           path, fg->family_name, fg->what);
    }
    if (fg->log) {
        col = sw_table_col(tb, fg->log);
        size_t positive = 0;
        for (size_t r = 0; r < tb->rows; r++)
            positive += sw_table_at(tb, r, col) > 0;
        if (positive < 2)
            return sw_fail(e, SW_EINPUT, "plot %s: '%s' has %zu row(s) with %s > 0 (of %zu); "
                                         "its log axis needs at least 2",
                           fg->name, path, positive, fg->log, tb->rows);
    }
    return SW_OK;
}

struct args {
    const char *out;
    char sets[8192]; /* the --set variables, as gnuplot assignments */
    char show[512];  /* --set show: words an attention column must contain */
    int has_x, has_ys; /* the xy figure cannot draw without them */
};

/* Names the scripts reserve for what plot itself passes. */
static int reserved(const char *name, size_t len)
{
    static const char *const names[] = {"out",   "n",     "atts",       "kls",
                                        "levels", "xname", "yname",      "marks",
                                        "marklabels", "has_acc", "training"};
    if (strncmp(name, "law_", 4) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
            return 1;
    return strncmp(name, "in", 2) == 0 || strncmp(name, "fit", 3) == 0 ||
           strncmp(name, "fixed", 5) == 0;
}

/* "z-reduced: T = 1024, B = 1": the system and its parameters that a
 * result holds fixed (a provenance value without a comma), for titles. */
static void fixed_of(const sw_table *tb, char *buf, size_t len)
{
    const char *name = sw_table_meta(tb, "system");
    const sw_system *sys = name ? sw_system_find(name) : NULL;
    const sw_task *task = name && !sys ? sw_task_find(name) : NULL;
    if (task) /* a trainer's CSV names the model it trained */
        sys = task->sys;
    buf[0] = '\0';
    if (!sys)
        return;
    size_t used = (size_t)snprintf(buf, len, "%s", sys->name);
    const char *sep = ": ";
    for (size_t i = 0; i < sys->n_params && used < len; i++) {
        const char *v = sw_table_meta(tb, sys->params[i].name);
        if (!v || !*v || strchr(v, ','))
            continue;
        char num[32];
        char *end;
        double x = strtod(v, &end);
        if (*end == '\0') /* 0.10000000000000001 reads as 0.1 */
            snprintf(num, sizeof num, "%.6g", x);
        used += (size_t)snprintf(buf + used, len - used, "%s%s = %s", sep,
                                 sys->params[i].name, *end ? v : num);
        sep = ", ";
    }
}

/* Appends "SEP NAME = EST [LO, HI]" for parameter p of a fit's JSON (EST
 * alone without the interval, or when asked not to show it) to key at
 * used; returns the new length, never past klen - 1. */
static size_t param_key(json_object *p, const char *sep, int interval, char *key, size_t klen,
                        size_t used)
{
    json_object *v, *ci;
    const char *nm = json_object_object_get_ex(p, "name", &v) ? json_object_get_string(v) : "?";
    double est = json_object_object_get_ex(p, "estimate", &v) ? json_object_get_double(v) : NAN;
    if (used + 1 >= klen)
        return used;
    int k;
    if (interval && json_object_object_get_ex(p, "ci95", &ci))
        k = snprintf(key + used, klen - used, "%s %s = %.3g [%.3g, %.3g]", sep, nm, est,
                     json_object_get_double(json_object_array_get_idx(ci, 0)),
                     json_object_get_double(json_object_array_get_idx(ci, 1)));
    else
        k = snprintf(key + used, klen - used, "%s %s = %.4g", sep, nm, est);
    return k < 0 ? used : used + (size_t)k < klen ? used + (size_t)k : klen - 1;
}

/* For a `fit` result: "t_plateau = C * d^a: a = 0.49 [0.479, 0.502],
 * C = 1396" from its JSON, for the key; and the fixed parameters of the
 * data it fitted. */
static void fit_of(const char *csv, const sw_table *tb, char *key, size_t klen, char *fixed,
                   size_t flen)
{
    const char *law = sw_table_meta(tb, "law"), *y = sw_table_meta(tb, "y"),
               *src = sw_table_meta(tb, "source");
    key[0] = '\0';
    if (!law)
        return;
    char *jpath = sw_path_derived(csv, ".json");
    json_object *root = jpath ? json_object_from_file(jpath) : NULL, *ps = NULL;
    free(jpath);
    size_t used = (size_t)snprintf(key, klen, "%s ~ %s", y ? y : "y", law);
    if (root && json_object_object_get_ex(root, "params", &ps)) {
        size_t np = json_object_array_length(ps);
        /* exponents first, with intervals; the prefactor last */
        for (size_t k = 0; k < np; k++)
            used = param_key(json_object_array_get_idx(ps, (k + 1) % np), k ? "," : ":",
                             (k + 1) % np != 0, key, klen, used);
    }
    json_object_put(root);
    /* The fitted data as the fit named it, else beside the fit (the fit
     * may have run from another directory). */
    sw_table stb;
    sw_err e;
    char beside[4096];
    const char *slash = src ? strrchr(src, '/') : NULL, *cslash = strrchr(csv, '/');
    snprintf(beside, sizeof beside, "%.*s%s", cslash ? (int)(cslash - csv + 1) : 0, csv,
             slash ? slash + 1 : src ? src : "");
    if (src &&
        (sw_table_read(src, &stb, &e) == SW_OK || sw_table_read(beside, &stb, &e) == SW_OK)) {
        fixed_of(&stb, fixed, flen);
        sw_table_clear(&stb);
    }
}

/* For an `escape` result: each law's key, "a + b ln(1/eps)^2: b = 3.39
 * [3.36, 3.43], AIC 77.9", from its JSON, as variables law_<name>. */
static int escape_keys(const char *csv, char *vars, size_t len, sw_err *e)
{
    char *jpath = sw_path_derived(csv, ".json");
    json_object *root = jpath ? json_object_from_file(jpath) : NULL, *laws = NULL;
    free(jpath);
    int rc = SW_OK;
    static const char *const names[] = {"log", "log2", "power"};
    json_object *law = NULL;
    for (size_t n = 0; n < 3 && rc == SW_OK && root &&
                       json_object_object_get_ex(root, "laws", &laws);
         n++) {
        json_object *f, *ps, *aic;
        char key[256], var[64];
        if (!json_object_object_get_ex(laws, names[n], &law) ||
            !json_object_object_get_ex(law, "formula", &f) ||
            !json_object_object_get_ex(law, "params", &ps) ||
            !json_object_object_get_ex(law, "aic", &aic))
            continue; /* not fitted: the script keeps the bare formula */
        size_t used = (size_t)snprintf(key, sizeof key, "%s:", json_object_get_string(f));
        /* the exponent's or slope's interval; the intercept (first) says
         * little on its own */
        for (size_t i = 1; i < json_object_array_length(ps); i++)
            used = param_key(json_object_array_get_idx(ps, i), i > 1 ? "," : "", 1, key,
                             sizeof key, used);
        if (used + 1 < sizeof key)
            snprintf(key + used, sizeof key - used, ", AIC %.1f", json_object_get_double(aic));
        snprintf(var, sizeof var, "law_%s", names[n]);
        rc = gp_var(vars, len, var, key, e);
    }
    json_object_put(root);
    return rc;
}

/* The marks of the emergence figure: the steps at which a run's criteria
 * were met, and their conditions for the key ("acc >= 0.05"). */
struct marks {
    char steps[512], labels[1024];
    size_t ns, nl; /* past the end of a buffer: too many, none drawn */
};
static void mark(const sw_cli_emergence *en, void *user)
{
    struct marks *mk = user;
    if (en->step < 0 || !en->direction || mk->ns >= sizeof mk->steps ||
        mk->nl >= sizeof mk->labels)
        return; /* not met within the run, not labelled, or no room left */
    mk->ns += (size_t)snprintf(mk->steps + mk->ns, sizeof mk->steps - mk->ns, "%s%ld",
                               mk->ns ? " " : "", en->step);
    mk->nl += (size_t)snprintf(mk->labels + mk->nl, sizeof mk->labels - mk->nl, "%s%s %s %g",
                               mk->nl ? "|" : "", en->column, en->direction, en->threshold);
}

/* For a training run (the emergence figure): marks and marklabels (struct
 * marks); has_acc; training, its optimiser settings ("adam lr=0.003
 * batch=64 ...", numbers shortened) for the title. */
static int training_vars(const char *csv, const sw_table *tb, char *vars, size_t len, sw_err *e)
{
    char training[512] = "";
    struct marks mk = {.ns = 0};
    char *jpath = sw_path_derived(csv, ".json");
    if (jpath)
        sw_cli_emergence_each(jpath, mark, &mk);
    free(jpath);
    const char *optim = sw_table_meta(tb, "optim");
    if (optim) {
        /* "adam lr=0.0030000000000000001 steps=6000": each number as %g */
        char buf[512], *save = NULL;
        size_t used = 0;
        snprintf(buf, sizeof buf, "%s", optim);
        for (char *w = strtok_r(buf, " ", &save); w && used < sizeof training;
             w = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(w, '='), *end;
            double x = eq ? strtod(eq + 1, &end) : 0;
            if (eq && end != eq + 1 && *end == '\0')
                used += (size_t)snprintf(training + used, sizeof training - used, "%s%.*s=%g",
                                         used ? " " : "", (int)(eq - w), w, x);
            else
                used += (size_t)snprintf(training + used, sizeof training - used, "%s%s",
                                         used ? " " : "", w);
        }
    }
    int rc = gp_var(vars, len, "marks", mk.ns < sizeof mk.steps ? mk.steps : "", e);
    if (rc == SW_OK)
        rc = gp_var(vars, len, "marklabels", mk.nl < sizeof mk.labels ? mk.labels : "", e);
    if (rc == SW_OK)
        rc = gp_var(vars, len, "has_acc", sw_table_col(tb, "acc") >= 0 ? "1" : "0", e);
    if (rc == SW_OK)
        rc = gp_var(vars, len, "training", training, e);
    return rc;
}

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    if (opt == 'o') {
        a->out = arg;
        return SW_OK;
    }
    if (opt != 's')
        return SW_EINPUT;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : 0;
    int ok = len > 0 && (arg[0] == '_' || (arg[0] >= 'a' && arg[0] <= 'z') ||
                         (arg[0] >= 'A' && arg[0] <= 'Z'));
    for (size_t i = 0; ok && i < len; i++)
        ok = arg[i] == '_' || (arg[i] >= 'a' && arg[i] <= 'z') ||
             (arg[i] >= 'A' && arg[i] <= 'Z') || (arg[i] >= '0' && arg[i] <= '9');
    if (!ok || reserved(arg, len))
        return sw_fail(e, SW_EINPUT,
                       "--set '%s' is not NAME=VALUE with NAME a gnuplot identifier other "
                       "than out, n, atts, kls, levels, xname, yname, marks, marklabels, "
                       "has_acc, training, in*, fit*, fixed*, law_*",
                       arg);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), arg);
    if (strcmp(name, "show") == 0) { /* a filter of plot's own: applied before gnuplot */
        snprintf(a->show, sizeof a->show, "%s", eq + 1);
        return SW_OK;
    }
    a->has_x |= strcmp(name, "x") == 0;
    a->has_ys |= strcmp(name, "ys") == 0;
    return gp_var(a->sets, sizeof a->sets, name, eq + 1, e);
}

static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_plot(int argc, char **argv)
{
    static struct args a;
    int first, rc;
    /* --out, which must name a file, is checked below, after the words. */
    if (sw_cli_start(&command, NULL, argc, argv, &a, &first, &rc))
        return rc;
    const char *out = a.out;
    if (argc - first < 2)
        return sw_cli_die(SW_EINPUT, "plot needs a FIGURE and at least one INPUT.csv "
                                     "(figures: " FIGURES ")");
    if (!out || strcmp(out, "-") == 0)
        return sw_cli_die(SW_EINPUT, "plot needs --out FILE.png (a file: gnuplot cannot draw "
                                     "to standard output here)");
    sw_err e;
    if ((rc = sw_outfile_check(out, "out", &e)))
        return sw_cli_report(rc, &e);
    const char *fig = argv[first];
    const struct figure *fg = NULL;
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        if (strcmp(figures[i].name, fig) == 0)
            fg = &figures[i];
    if (fg && fg->n_in && fg->n_in != argc - first - 1)
        return sw_cli_die(SW_EINPUT, "plot %s takes %d input file(s), got %d", fig, fg->n_in,
                          argc - first - 1);
    char dir[4096], script[4200];
    plots_dir(dir, sizeof dir);
    snprintf(script, sizeof script, "%s/%s.gp", dir, fig);
    if (access(script, R_OK) != 0)
        return sw_cli_die(SW_EINPUT, "unknown figure '%s', or its script %s is missing "
                                     "(figures: " FIGURES ")", fig, script);

    if (strcmp(fig, "xy") == 0 && !(a.has_x && a.has_ys))
        return sw_cli_die(SW_EINPUT, "plot xy needs --set x=EXPR and --set 'ys=EXPR|...' "
                                     "(gnuplot expressions such as column(\"t\"))");

    /* Every input must be a readable result before gnuplot sees it. */
    char vars[32768] = "", cols[4096] = "", kls[1024] = "", levels[2048] = "";
    for (int i = first + 1; i < argc && rc == SW_OK; i++) {
        sw_table tb;
        if ((rc = sw_table_read(argv[i], &tb, &e)))
            break;
        if (fg && (rc = check_input(fg, argv[i], &tb, &e))) {
            sw_table_clear(&tb);
            break;
        }
        if (i == first + 1) {
            columns_like(&tb, fg && fg->atts ? fg->atts : is_att, cols, sizeof cols);
            if (*a.show && (rc = keep_shown(cols, a.show, argv[i], &e))) {
                sw_table_clear(&tb);
                break;
            }
            columns_like(&tb, is_kl, kls, sizeof kls);
            if ((rc = levels_of(&tb, argv[i], levels, sizeof levels, &e))) {
                sw_table_clear(&tb);
                break;
            }
        }
        char name[16], key[512] = "", fixed[512] = "";
        fit_of(argv[i], &tb, key, sizeof key, fixed, sizeof fixed);
        /* Default axis names of a fit figure: its first column and its y. */
        const char *yname = sw_table_meta(&tb, "y");
        if (i == first + 1 && *key && tb.cols > 0 && yname &&
            ((rc = gp_var(vars, sizeof vars, "xname", tb.names[0], &e)) ||
             (rc = gp_var(vars, sizeof vars, "yname", yname, &e)))) {
            sw_table_clear(&tb);
            break;
        }
        if (!*fixed)
            fixed_of(&tb, fixed, sizeof fixed);
        if (i == first + 1 && strcmp(fig, "emergence") == 0)
            rc = training_vars(argv[i], &tb, vars, sizeof vars, &e);
        sw_table_clear(&tb);
        if (rc == SW_OK && i == first + 1 && strcmp(fig, "escape") == 0)
            rc = escape_keys(argv[i], vars, sizeof vars, &e);
        if (rc)
            break;
        snprintf(name, sizeof name, "in%d", i - first);
        rc = gp_var(vars, sizeof vars, name, argv[i], &e);
        snprintf(name, sizeof name, "fit%d", i - first);
        if (rc == SW_OK)
            rc = gp_var(vars, sizeof vars, name, key, &e);
        snprintf(name, sizeof name, "fixed%d", i - first);
        if (rc == SW_OK)
            rc = gp_var(vars, sizeof vars, name, fixed, &e);
    }
    if (rc)
        return sw_cli_report(rc, &e);
    char nin[16];
    snprintf(nin, sizeof nin, "%d", argc - first - 1);
    /* gnuplot does not report a failed write (a full disk, /dev/full), so
     * it always draws into a regular temporary file: the result's own, or
     * for a destination written in place (a device) a scratch one whose
     * bytes are then copied there with every write checked. */
    sw_outfile f, scratch = {0};
    if ((rc = gp_var(vars, sizeof vars, "n", nin, &e)) ||
        (rc = gp_var(vars, sizeof vars, "atts", cols, &e)) ||
        (rc = gp_var(vars, sizeof vars, "kls", kls, &e)) ||
        (rc = gp_var(vars, sizeof vars, "levels", levels, &e)) ||
        (rc = sw_outfile_open(&f, out, &e)))
        return sw_cli_report(rc, &e);
    if (strlen(vars) + strlen(a.sets) >= sizeof vars) {
        rc = sw_fail(&e, SW_EINPUT, "plot: arguments too long");
        goto done;
    }
    strcat(vars, a.sets);
    if (f.tmp) {
        fclose(f.fp);
        f.fp = NULL;
    } else {
        const char *tmpdir = getenv("TMPDIR");
        char path[4200];
        snprintf(path, sizeof path, "%s/stagewise-plot", tmpdir && *tmpdir ? tmpdir : "/tmp");
        if ((rc = sw_outfile_open(&scratch, path, &e)))
            goto done;
        fclose(scratch.fp);
        scratch.fp = NULL;
    }
    if ((rc = gp_var(vars, sizeof vars, "out", f.tmp ? f.tmp : scratch.tmp, &e)))
        goto done;

    char *args[] = {"gnuplot", "-e", vars, script, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "gnuplot", NULL, NULL, args, environ);
    if (err) {
        rc = sw_fail(&e, SW_EFAIL, "cannot run gnuplot (%s): install it (apt-get install "
                                   "gnuplot-nox); the data files are kept",
                     strerror(err));
        goto done;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = sw_fail(&e, SW_EFAIL, "gnuplot failed on %s (its messages are above); the data "
                                   "files are kept",
                     script);
        goto done;
    }
    if (scratch.tmp) {
        FILE *in = fopen(scratch.tmp, "rb");
        char buf[65536];
        size_t k;
        while (rc == SW_OK && in && (k = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, k, f.fp) != k)
                rc = sw_fail(&e, SW_EFAIL, "cannot write '%s': %s", out, strerror(errno));
        if (rc == SW_OK && (!in || ferror(in)))
            rc = sw_fail(&e, SW_EFAIL, "cannot read gnuplot's picture '%s'", scratch.tmp);
        if (in)
            fclose(in);
    }
    if (rc == SW_OK)
        rc = sw_outfile_commit(&f, &e);
done:
    sw_outfile_abort(&scratch);
    sw_outfile_abort(&f);
    return sw_cli_report(rc, &e);
}
