/* `escape`: escape times from a base point perturbed by eps along a
 * direction, and which law T(eps) describes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli.h"
#include "stagewise/escape.h"

static const char help[] =
    "usage: stagewise escape SYSTEM [KEY=VALUE ...] --until 'OBS<=X' [options]\n\n"
    "For each eps, integrates from base + eps * direction (direction of unit length)\n"
    "until the --until condition holds, the crossing located inside the step; then\n"
    "fits the escape times T(eps) with three laws, each with 95% intervals, R^2 and\n"
    "AIC, and names the one of least AIC:\n"
    "  log    a + b ln(1/eps)      hyperbolic escape: b = 1/lambda+ (compared with the\n"
    "                              base's largest eigenvalue)\n"
    "  log2   a + b ln(1/eps)^2\n"
    "  power  a + b eps^(-c)\n"
    "Runs that do not meet the condition by --t-end are reported and left out.\n\n"
    "options:\n"
    "  --base B         symmetric: the start with every head a copy of head 1 (systems\n"
    "                   with heads; the start y-coupled takes); saddle: the fixed point\n"
    "                   refined from the start (as `stagewise saddle`); start: the start\n"
    "                   as it is; or a state FILE (default symmetric)\n"
    "  --direction D    random: a unit vector of iid normal entries, with base symmetric\n"
    "                   its part that breaks the symmetry; unstable: the eigenvector of\n"
    "                   the base's eigenvalue of largest real part; or a FILE of dim\n"
    "                   numbers (normalised) (default random)\n"
    "  --eps A:B:N      N values from A to B, log-spaced (default 1e-1:1e-9:17)\n"
    "  --seed N         seed of the random direction, gsl mt19937 (default: the\n"
    "                   system's seed parameter, else 1)\n"
    "  --out FILE.csv   eps, t_escape and each law's fitted value; FILE.json beside it\n"
    "                   holds every estimate and interval (default: the table only)\n"
    "  --zero-tol X     zero threshold of the base's spectrum, relative (default 1e-8)\n"
    SW_CLI_ODE_HELP
    "Plot with: stagewise plot escape FILE.csv --out FIG.png\n";

enum { OPT_BASE = SW_OPT_LAST + 1, OPT_DIR, OPT_EPS, OPT_SEED, OPT_OUT, OPT_ZERO };

struct args {
    sw_cli_ode c;
    const char *base, *dir, *eps, *out;
    double seed, zero_rel;
    int have_seed;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    int rc;
    switch (opt) {
    case OPT_BASE:
        a->base = arg;
        return SW_OK;
    case OPT_DIR:
        a->dir = arg;
        return SW_OK;
    case OPT_EPS:
        a->eps = arg;
        return SW_OK;
    case OPT_SEED:
        if ((rc = sw_parse_real_in(arg, "seed", 0, 4294967295.0, &a->seed, e)))
            return rc;
        if (a->seed != floor(a->seed))
            return sw_fail(e, SW_EINPUT, "seed: '%s' is not an integer", arg);
        a->have_seed = 1;
        return SW_OK;
    case OPT_ZERO:
        return sw_parse_real_in(arg, "zero-tol", 0, 1, &a->zero_rel, e);
    }
    return sw_cli_ode_option(&a->c, opt, arg, e);
}

/* The base point into x, and a phrase saying what it is. */
static int make_base(sw_model *m, const struct args *a, double *x, char *what, size_t len,
                     sw_err *e)
{
    int rc;
    if (strcmp(a->base, "symmetric") == 0) {
        if ((rc = sw_cli_init_state(m, a->c.init, x, e)))
            return rc;
        if ((rc = sw_escape_symmetric_base(m, x, e))) {
            sw_err inner = *e;
            return sw_fail(e, rc, "base symmetric: %s; allowed here: saddle, start, FILE",
                           inner.msg);
        }
        snprintf(what, len, "symmetric (the start with every head a copy of head 1)");
        return SW_OK;
    }
    if (strcmp(a->base, "saddle") == 0) {
        sw_saddle_opts so;
        sw_saddle r;
        sw_saddle_opts_default(&so);
        if ((rc = sw_cli_init_state(m, a->c.init, x, e)) || (rc = sw_saddle_refine(m, x, &so, &r, e)))
            return rc;
        if (!r.finite) {
            rc = sw_fail(e, SW_EINPUT, "base: no finite fixed point found from the start of %s "
                                       "(%s; `stagewise saddle` tells more); allowed here: "
                                       "symmetric, start, FILE",
                         m->sys->name, r.runaway ? "it lies at infinity" : r.reason);
            sw_saddle_clear(&r);
            return rc;
        }
        memcpy(x, r.x, m->dim * sizeof *x);
        snprintf(what, len, "saddle (fixed point refined from the start, |f|_inf = %.2g)",
                 r.residual);
        sw_saddle_clear(&r);
        return SW_OK;
    }
    if (strcmp(a->base, "start") == 0) {
        snprintf(what, len, "start");
        return sw_cli_init_state(m, a->c.init, x, e);
    }
    if (access(a->base, R_OK) != 0)
        return sw_fail(e, SW_EINPUT, "base: '%s' is neither a base nor a readable state file "
                                     "(allowed: symmetric, saddle, start, FILE)",
                       a->base);
    snprintf(what, len, "the state in %s", a->base);
    return sw_cli_init_state(m, a->base, x, e);
}

/* Scaled by the largest entry first: squares of entries near 1e200 would
 * overflow to inf and make the unit vector zero. */
static double norm2(const double *v, size_t n)
{
    double big = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        big = fmax(big, fabs(v[i]));
    if (!(big > 0))
        return big;
    for (size_t i = 0; i < n; i++)
        s += (v[i] / big) * (v[i] / big);
    return big * sqrt(s);
}

/* The unit direction into v. */
static int make_direction(sw_model *m, const struct args *a, const sw_spectrum *sp, double *v,
                          char *what, size_t len, sw_err *e)
{
    size_t n = m->dim;
    int rc = SW_OK;
    if (strcmp(a->dir, "random") == 0) {
        unsigned long seed = a->have_seed ? (unsigned long)a->seed : 1;
        int k = sw_param_index(m->sys, "seed");
        if (!a->have_seed && k >= 0)
            seed = (unsigned long)m->pv[k].v[0];
        int sym = strcmp(a->base, "symmetric") == 0;
        if ((rc = sw_escape_random_direction(m, seed, sym, v, e)))
            return rc;
        snprintf(what, len, "random (seed %lu%s)", seed, sym ? ", its symmetry-breaking part" : "");
    } else if (strcmp(a->dir, "unstable") == 0) {
        if (!(sp->ev->re[0] > sp->zero_tol))
            return sw_fail(e, SW_EINPUT, "direction: the base has no unstable eigenvalue (the "
                                         "largest real part is %g; allowed here: random, FILE)",
                           sp->ev->re[0]);
        memcpy(v, sp->ev->vre, n * sizeof *v);
        snprintf(what, len, "unstable (eigenvector of %.6g%s)", sp->ev->re[0],
                 sp->ev->im[0] != 0 ? ", real part of a complex pair" : "");
    } else {
        if (access(a->dir, R_OK) != 0)
            return sw_fail(e, SW_EINPUT, "direction: '%s' is neither a direction nor a readable "
                                         "file (allowed: random, unstable, FILE)",
                           a->dir);
        if ((rc = sw_cli_init_state(m, a->dir, v, e)))
            return rc;
        snprintf(what, len, "the vector in %s", a->dir);
    }
    double nv = norm2(v, n);
    if (!(nv > 0))
        return sw_fail(e, SW_EINPUT, "direction: '%s' is the zero vector", a->dir);
    for (size_t i = 0; i < n; i++)
        v[i] /= nv;
    return SW_OK;
}

struct ticker {
    sw_progress bar;
};

static void tick(size_t done, size_t total, void *user)
{
    sw_progress_update(&((struct ticker *)user)->bar, (double)done / (double)total);
}

/* The base's largest eigenvalue, if real and positive: the hyperbolic
 * escape rate. */
static double lambda_plus(const sw_spectrum *sp)
{
    return sp->ev->re[0] > sp->zero_tol && sp->ev->im[0] == 0 ? sp->ev->re[0] : NAN;
}

static void print_summary(const sw_model *m, const struct args *a, const char *base,
                          const char *dir, double speed, const sw_spectrum *sp,
                          const double *eps, const double *T, size_t n,
                          const sw_escape_law *laws, int best)
{
    double lp = lambda_plus(sp);
    printf("system:    %s (%zu states)\nbase:      %s, |f| = %.3g\ndirection: %s\nuntil:     %s\n",
           m->sys->name, m->dim, base, speed, dir, a->c.o.until.text);
    if (isfinite(lp))
        printf("lambda+:   %.10g at the base (1/lambda+ = %.10g)\n", lp, 1 / lp);
    else
        printf("lambda+:   none (the base's largest eigenvalue is %.6g%+.6gi)\n", sp->ev->re[0],
               sp->ev->im[0]);
    printf("\n%14s %22s\n", "eps", "t_escape");
    for (size_t i = 0; i < n; i++) {
        if (isfinite(T[i]))
            printf("%14.6g %22.12g\n", eps[i], T[i]);
        else
            printf("%14.6g %22s\n", eps[i], "not reached by t-end");
    }
    printf("\n%-20s %-53s %-10s %s\n", "law", "estimates [95% CI]", "R^2", "AIC");
    for (int k = 0; k < SW_ESCAPE_NLAWS; k++) {
        const sw_escape_law *L = &laws[k];
        if (!L->ok) {
            printf("%-20s not fitted: %s\n", L->formula, L->why);
            continue;
        }
        for (size_t j = 0; j < L->fit.k; j++) {
            char est[96];
            snprintf(est, sizeof est, "%c = %.6g [%.6g, %.6g]", L->params[j], L->fit.p[j],
                     L->fit.lo[j], L->fit.hi[j]);
            if (j == 0)
                printf("%-20s %-53s %-10.6f %.3f\n", L->formula, est, L->fit.r2, L->fit.aic);
            else
                printf("%-20s %s\n", "", est);
        }
    }
    if (best < 0) {
        printf("\nbest:      none (no law could be fitted)\n");
        return;
    }
    double next = INFINITY;
    for (int k = 0; k < SW_ESCAPE_NLAWS; k++)
        if (k != best && laws[k].ok)
            next = fmin(next, laws[k].fit.aic);
    printf("\nbest:      %s (%s)", laws[best].formula, laws[best].key);
    if (isfinite(next))
        printf(", AIC %.3g below the next", next - laws[best].fit.aic);
    putchar('\n');
    if (laws[SW_ESCAPE_LOG].ok && isfinite(lp))
        printf("hyperbolic check: b = %.8g against 1/lambda+ = %.8g (ratio %.6f)%s\n",
               laws[SW_ESCAPE_LOG].fit.p[1], 1 / lp, laws[SW_ESCAPE_LOG].fit.p[1] * lp,
               speed > 1e-8 ? "; the base is not a fixed point, so the two need not agree"
                            : "");
}

static int write_results(const char *path, const sw_model *m, const struct args *a,
                         const char *base, const char *dir, double speed,
                         const sw_spectrum *sp, const double *eps, const double *T, size_t n,
                         const sw_escape_law *laws, int best, sw_err *e)
{
    sw_outfile f;
    int rc = sw_outfile_open(&f, path, e);
    if (rc)
        return rc;
    double lp = lambda_plus(sp);
    sw_csv_model_provenance(f.fp, m);
    sw_csv_provenance(f.fp, "base", "%s", base);
    sw_csv_provenance(f.fp, "direction", "%s", dir);
    sw_csv_provenance(f.fp, "until", "%s", a->c.o.until.text);
    sw_csv_solver_provenance(f.fp, &a->c.o);
    sw_csv_provenance(f.fp, "t_end", "%.17g", a->c.o.t_end);
    sw_csv_provenance(f.fp, "lambda_plus", "%.17g", lp);
    sw_csv_provenance(f.fp, "best", "%s", best >= 0 ? laws[best].key : "none");
    fputs("eps,t_escape,law_log,law_log2,law_power\n", f.fp);
    for (size_t i = 0; i < n; i++) {
        fprintf(f.fp, "%.17g,%.17g", eps[i], T[i]);
        for (int k = 0; k < SW_ESCAPE_NLAWS; k++)
            fprintf(f.fp, ",%.17g", laws[k].ok ? sw_escape_law_eval(k, laws[k].fit.p, eps[i]) : NAN);
        fputc('\n', f.fp);
    }
    char *meta;
    if ((rc = sw_meta_path(NULL, path, &meta, e))) {
        sw_outfile_abort(&f);
        return rc;
    }
    json_object *o = NULL;
    if (meta) {
        o = json_object_new_object();
        json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
        json_object_object_add(o, "system", json_object_new_string(m->sys->name));
        json_object_object_add(o, "params", sw_json_params(m));
        json_object_object_add(o, "base", json_object_new_string(base));
        json_object_object_add(o, "base_speed", sw_json_real(speed));
        json_object_object_add(o, "direction", json_object_new_string(dir));
        json_object_object_add(o, "until", json_object_new_string(a->c.o.until.text));
        json_object_object_add(o, "lambda_plus", sw_json_real(lp));
        json_object_object_add(o, "inv_lambda_plus", sw_json_real(1 / lp));
        json_object *pts = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *p = json_object_new_object();
            json_object_object_add(p, "eps", sw_json_real(eps[i]));
            json_object_object_add(p, "t_escape", sw_json_real(T[i]));
            json_object_array_add(pts, p);
        }
        json_object_object_add(o, "escapes", pts);
        json_object *jl = json_object_new_object();
        for (int k = 0; k < SW_ESCAPE_NLAWS; k++) {
            json_object *l;
            if (laws[k].ok) {
                const char *names[3] = {"a", "b", "c"};
                l = sw_cli_fit_json(&laws[k].fit, names, NULL, NULL);
            } else {
                l = json_object_new_object();
                json_object_object_add(l, "not_fitted", json_object_new_string(laws[k].why));
            }
            json_object_object_add(l, "formula", json_object_new_string(laws[k].formula));
            json_object_object_add(jl, laws[k].key, l);
        }
        json_object_object_add(o, "laws", jl);
        json_object_object_add(o, "best", best >= 0 ? json_object_new_string(laws[best].key) : NULL);
        if (laws[SW_ESCAPE_LOG].ok && isfinite(lp))
            json_object_object_add(o, "b_times_lambda_plus",
                                   sw_json_real(laws[SW_ESCAPE_LOG].fit.p[1] * lp));
    }
    rc = sw_result_commit(&f, meta, o, e);
    json_object_put(o);
    free(meta);
    return rc;
}

static const struct option longopts[] = {
    SW_CLI_ODE_OPTIONS,
    {"base", required_argument, 0, OPT_BASE},
    {"direction", required_argument, 0, OPT_DIR},
    {"eps", required_argument, 0, OPT_EPS},
    {"seed", required_argument, 0, OPT_SEED},
    {"out", required_argument, 0, OPT_OUT},
    {"zero-tol", required_argument, 0, OPT_ZERO},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_escape(int argc, char **argv)
{
    struct args a = {.base = "symmetric", .dir = "random", .eps = "1e-1:1e-9:17",
                     .zero_rel = 1e-8};
    sw_cli_ode_default(&a.c);
    const sw_cli_output outs[] = {{"out", &a.out}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "escape needs a SYSTEM (allowed: %s)", sw_system_names());
    if (!a.c.until)
        return sw_cli_die(SW_EINPUT, "escape needs --until 'OBS<=X' (or >=): the condition "
                                     "that marks the escape");

    sw_err e;
    sw_model *m = NULL;
    double *eps = NULL, *T = NULL, *base = NULL, *dir = NULL, *f = NULL;
    size_t n = 0;
    sw_spectrum sp = {0};
    sw_escape_law laws[SW_ESCAPE_NLAWS];
    memset(laws, 0, sizeof laws);
    int best = -1;
    char what_base[256], what_dir[256];
    if ((rc = sw_escape_parse_eps(a.eps, &eps, &n, &e)) ||
        (rc = sw_cli_ode_model(argc, argv, first, &a.c, &m, &e)))
        goto out;
    T = malloc(n * sizeof *T);
    base = malloc(m->dim * sizeof *base);
    dir = malloc(m->dim * sizeof *dir);
    f = malloc(m->dim * sizeof *f);
    if (!T || !base || !dir || !f) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto out;
    }
    if ((rc = make_base(m, &a, base, what_base, sizeof what_base, &e)) ||
        (rc = sw_spectrum_eval(m, base, 0, a.zero_rel, &sp, &e)) ||
        (rc = make_direction(m, &a, &sp, dir, what_dir, sizeof what_dir, &e)))
        goto out;
    struct ticker tk;
    sw_progress_begin(&tk.bar, "escape");
    sw_progress_total(&tk.bar, n, "runs");
    rc = sw_escape_times(m, &a.c.o, base, dir, eps, n, T, tick, &tk, &e);
    sw_progress_end(&tk.bar);
    if (rc || (rc = sw_escape_fit(eps, T, n, laws, &best, &e)))
        goto out;
    double speed = sw_speed(m, base, f);
    if (!a.out || strcmp(a.out, "-") != 0)
        print_summary(m, &a, what_base, what_dir, speed, &sp, eps, T, n, laws, best);
    if (a.out)
        rc = write_results(a.out, m, &a, what_base, what_dir, speed, &sp, eps, T, n, laws,
                           best, &e);
out:
    sw_escape_laws_clear(laws);
    sw_spectrum_clear(&sp);
    free(eps);
    free(T);
    free(base);
    free(dir);
    free(f);
    sw_model_free(m);
    return sw_cli_report(rc, &e);
}
