/* `jacobian`: the linearisation of a flow at a point -- the Jacobian, its
 * eigenvalues by real part, Morse index, near-zero eigenvalues and what the
 * unstable directions are made of; optionally the loss Hessian; and, for
 * systems with heads, the symmetry-breaking spectrum along a coupled
 * trajectory.  Also home of the point and spectrum pieces `saddle` shares. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stagewise/eigen.h"
#include "jacobian.h"
#include "stagewise/output.h"

static const char help[] =
    "usage: stagewise jacobian SYSTEM [KEY=VALUE ...] [--at POINT] [options]\n"
    "       stagewise jacobian COUPLED [KEY=VALUE ...] --transverse SYSTEM [--out FILE.csv]\n\n"
    "The Jacobian of SYSTEM's vector field at POINT: analytic where the system has one\n"
    "(with its largest disagreement with central differences, max|J - J_fd| / max|J|),\n"
    "else central differences; its eigenvalues (LAPACK dgeev) by decreasing real part;\n"
    "the Morse index (eigenvalues with real part above the zero threshold); the\n"
    "near-zero eigenvalues; and the state entries that carry each unstable\n"
    "eigenvector. POINT is one of\n"
    "  start        the initial state (or --init FILE)\n"
    "  t=X          the trajectory from the start at time X\n"
    "  plateau:N    the point of the N-th loss plateau where |f| is smallest (plateaus\n"
    "               as `stagewise stages` finds them on the run to --t-end, sampled at\n"
    "               the --points/--grid/--t-first times: N and the point move with them)\n"
    "  slowest      the point of the run to --t-end where |f| is smallest\n"
    "  FILE         a state file (the --init format, e.g. from `saddle --out`)\n\n"
    "With --transverse SYSTEM, COUPLED's trajectory (e.g. y-coupled) is copied into\n"
    "every head of SYSTEM (e.g. y-reduced, same KEY=VALUE) at each output time, and\n"
    "the eigenvalues of SYSTEM's Jacobian on the directions where heads differ (the\n"
    "finite-time transverse growth rates; each occurs H-1 times, listed once) are\n"
    "written as CSV: t, loss, re_1..re_R (decreasing), im_1..im_R.\n\n"
    "options:\n"
    "  --at POINT       where to linearise (default start)\n"
    "  --fd             central differences even where an analytic Jacobian exists\n"
    "  --hessian        also the loss Hessian (central second differences, LAPACK\n"
    "                   dsyevr; for a gradient flow its index at a critical point is\n"
    "                   the Morse index)\n"
    "  --zero-tol X     |lambda| <= X times the spectral radius counts as zero\n"
    "                   (default 1e-8)\n"
    "  --json FILE      the report as JSON as well\n"
    "  --transverse SYSTEM  the transverse spectrum along the trajectory (see above)\n"
    "  --out FILE.csv   where --transverse writes (default -, standard output)\n" SW_CLI_ODE_HELP;

enum { OPT_AT = SW_OPT_LAST + 1, OPT_FD, OPT_HESSIAN, OPT_ZERO, OPT_JSON, OPT_TRANS, OPT_OUT };

struct args {
    sw_cli_ode c;
    const char *at, *json, *transverse, *out;
    int fd, hessian;
    double zero_rel;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case OPT_AT:
        a->at = arg;
        return SW_OK;
    case OPT_FD:
        a->fd = 1;
        return SW_OK;
    case OPT_HESSIAN:
        a->hessian = 1;
        return SW_OK;
    case OPT_ZERO:
        return sw_parse_real_in(arg, "zero-tol", 0, 1, &a->zero_rel, e);
    case OPT_TRANS:
        a->transverse = arg;
        return SW_OK;
    }
    return sw_cli_ode_option(&a->c, opt, arg, e);
}

int sw_cli_point(sw_model *m, const sw_cli_ode *c, const char *text, sw_point *p, double *x,
                 sw_point_info *info, sw_err *e)
{
    int rc;
    if ((rc = sw_point_parse(text, p, e)) ||
        (rc = sw_cli_init_state(m, p->kind == SW_POINT_FILE ? p->file : c->init, x, e)))
        return rc;
    return sw_point_locate(m, &c->o, p, x, info, e);
}

void sw_cli_point_describe(const sw_point *p, const sw_point_info *info, char *buf, size_t len)
{
    switch (p->kind) {
    case SW_POINT_START:
        snprintf(buf, len, "the start");
        break;
    case SW_POINT_FILE:
        snprintf(buf, len, "the state in %s", p->file);
        break;
    case SW_POINT_TIME:
        snprintf(buf, len, "t = %.10g", info->t);
        break;
    case SW_POINT_PLATEAU:
        snprintf(buf, len, "plateau %zu of %zu (t in [%.4g, %.4g], level %.6g), its slowest "
                           "point t = %.6g",
                 p->plateau, info->n_plateaus, info->t_begin, info->t_end, info->level, info->t);
        break;
    case SW_POINT_SLOWEST:
        snprintf(buf, len, "the slowest point of the run, t = %.6g", info->t);
        break;
    }
}

/* "+a_h1_t1 48%, -a_h2_t1 48%": the entries carrying 90% of eigenvector j
 * (at most 4), signed by the real part. */
static void dominant_text(const sw_model *m, const sw_eigen *ev, size_t j, char *buf, size_t len)
{
    size_t idx[4];
    double wgt[4];
    size_t k = sw_eigen_dominant(ev, j, 0.9, 4, idx, wgt), used = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < k && used < len; c++) {
        double v = ev->vre[j * ev->n + idx[c]];
        used += (size_t)snprintf(buf + used, len - used, "%s%c%s %.0f%%", c ? ", " : "",
                                 v >= 0 ? '+' : '-', m->state_names[idx[c]], 100 * wgt[c]);
    }
}

void sw_cli_spectrum_print(FILE *fp, const sw_model *m, const sw_spectrum *sp)
{
    if (sp->analytic)
        fprintf(fp, "jacobian: analytic; central differences agree to %.2e (max|J - J_fd| / "
                    "max|J|, worst at d f(%s) / d %s)\n",
                sp->fd_disagreement, m->state_names[sp->worst_row],
                m->state_names[sp->worst_col]);
    else
        fprintf(fp, "jacobian: central differences (%s)\n",
                m->sys->jac ? "on request" : "the system has no analytic Jacobian");
    fprintf(fp, "\neigenvalues by real part (dgeev); zero: |lambda| <= %.3g\n", sp->zero_tol);
    fprintf(fp, "%5s %24s %24s\n", "#", "real part", "imaginary part");
    for (size_t j = 0; j < sp->n; j++) {
        const sw_eigen *ev = sp->ev;
        fprintf(fp, "%5zu %24.16g %24.16g", j + 1, ev->re[j], ev->im[j]);
        if (hypot(ev->re[j], ev->im[j]) <= sp->zero_tol) {
            fputs("  ~0", fp);
        } else if (ev->re[j] > sp->zero_tol) {
            char dom[512];
            dominant_text(m, ev, j, dom, sizeof dom);
            fprintf(fp, "  unstable: %s", dom);
        }
        fputc('\n', fp);
    }
    fprintf(fp, "\nMorse index %zu (eigenvalues with real part > %.3g); %zu near zero\n",
            sp->morse, sp->zero_tol, sp->near_zero);
}

json_object *sw_cli_spectrum_json(const sw_model *m, const sw_spectrum *sp)
{
    json_object *o = json_object_new_object();
    json_object *jac = json_object_new_object();
    json_object_object_add(jac, "source", json_object_new_string(sp->analytic ? "analytic"
                                                                              : "central "
                                                                                "differences"));
    if (sp->analytic) {
        json_object_object_add(jac, "fd_disagreement", sw_json_real(sp->fd_disagreement));
        json_object_object_add(jac, "worst_row", json_object_new_string(m->state_names[sp->worst_row]));
        json_object_object_add(jac, "worst_col", json_object_new_string(m->state_names[sp->worst_col]));
    }
    json_object_object_add(o, "jacobian", jac);
    json_object_object_add(o, "zero_tol", sw_json_real(sp->zero_tol));
    json_object_object_add(o, "morse_index", json_object_new_int64((int64_t)sp->morse));
    json_object_object_add(o, "near_zero", json_object_new_int64((int64_t)sp->near_zero));
    json_object *eigs = json_object_new_array();
    for (size_t j = 0; j < sp->n; j++) {
        const sw_eigen *ev = sp->ev;
        json_object *ej = json_object_new_object();
        json_object_object_add(ej, "re", sw_json_real(ev->re[j]));
        json_object_object_add(ej, "im", sw_json_real(ev->im[j]));
        int zero = hypot(ev->re[j], ev->im[j]) <= sp->zero_tol;
        json_object_object_add(ej, "near_zero", json_object_new_boolean(zero));
        json_object_object_add(ej, "unstable", json_object_new_boolean(!zero && ev->re[j] > sp->zero_tol));
        if (!zero && ev->re[j] > sp->zero_tol) {
            size_t idx[4];
            double wgt[4];
            size_t k = sw_eigen_dominant(ev, j, 0.9, 4, idx, wgt);
            json_object *dom = json_object_new_array();
            for (size_t c = 0; c < k; c++) {
                json_object *d = json_object_new_object();
                json_object_object_add(d, "state", json_object_new_string(m->state_names[idx[c]]));
                json_object_object_add(d, "component", sw_json_real(ev->vre[j * ev->n + idx[c]]));
                json_object_object_add(d, "share", sw_json_real(wgt[c]));
                json_object_array_add(dom, d);
            }
            json_object_object_add(ej, "dominant", dom);
        }
        json_object_array_add(eigs, ej);
    }
    json_object_object_add(o, "eigenvalues", eigs);
    return o;
}

json_object *sw_cli_state_json(const sw_model *m, const double *x)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < m->dim; i++)
        json_object_object_add(o, m->state_names[i], sw_json_real(x[i]));
    return o;
}

/* The loss Hessian's eigenvalues, printed and returned as JSON. */
static int hessian(const sw_model *m, const double *x, double zero_rel, json_object **out,
                   sw_err *e)
{
    size_t n = m->dim;
    double *H = malloc(n * n * sizeof *H), *work = malloc(n * sizeof *work);
    sw_eigen *ev = sw_eigen_alloc(n);
    int rc = SW_OK;
    if (!H || !work || !ev)
        rc = sw_fail(e, SW_EFAIL, "out of memory");
    if (rc == SW_OK && (rc = sw_hessian_fd(m, x, H, work, e)) == SW_OK)
        rc = sw_eigen_symmetric(ev, H, e);
    if (rc == SW_OK) {
        double tol = sw_eigen_zero_tol(ev, zero_rel);
        size_t neg = 0;
        printf("\nloss Hessian (central second differences, dsyevr); zero: |mu| <= %.3g\n", tol);
        printf("%5s %24s\n", "#", "eigenvalue");
        json_object *arr = json_object_new_array();
        for (size_t j = 0; j < n; j++) {
            printf("%5zu %24.16g%s\n", j + 1, ev->re[j], fabs(ev->re[j]) <= tol ? "  ~0" : "");
            neg += ev->re[j] < -tol;
            json_object_array_add(arr, sw_json_real(ev->re[j]));
        }
        printf("\nHessian index %zu (negative eigenvalues)\n", neg);
        *out = json_object_new_object();
        json_object_object_add(*out, "eigenvalues", arr);
        json_object_object_add(*out, "index", json_object_new_int64((int64_t)neg));
        json_object_object_add(*out, "zero_tol", sw_json_real(tol));
    }
    free(H);
    free(work);
    sw_eigen_free(ev);
    return rc;
}

static int report_point(sw_model *m, struct args *a, sw_err *e)
{
    size_t n = m->dim;
    double *x = malloc(n * sizeof *x);
    sw_spectrum sp = {0};
    json_object *hess = NULL;
    sw_point p;
    sw_point_info info;
    int rc = x ? SW_OK : sw_fail(e, SW_EFAIL, "out of memory");
    /* The Hessian's matrix and sw_eigen's four, beside the five the
     * spectrum keeps: checked before the spectrum is printed, not half way
     * through the report. */
    if (rc == SW_OK && a->hessian)
        rc = sw_model_dense_within(m, 10, "a Jacobian spectrum with the loss Hessian", e);
    if (rc == SW_OK)
        rc = sw_cli_point(m, &a->c, a->at, &p, x, &info, e);
    if (rc == SW_OK)
        rc = sw_spectrum_eval(m, x, a->fd, a->zero_rel, &sp, e);
    if (rc == SW_OK) {
        char where[512];
        sw_cli_point_describe(&p, &info, where, sizeof where);
        printf("system:   %s (%zu states)\npoint:    %s\n          loss = %.10g, |f| = %.4g\n",
               m->sys->name, n, where, info.loss, info.speed);
        sw_cli_spectrum_print(stdout, m, &sp);
        if (a->hessian)
            rc = hessian(m, x, a->zero_rel, &hess, e);
    }
    if (rc == SW_OK && a->json) {
        json_object *o = sw_cli_spectrum_json(m, &sp);
        json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
        json_object_object_add(o, "system", json_object_new_string(m->sys->name));
        json_object_object_add(o, "params", sw_json_params(m));
        json_object *pt = json_object_new_object();
        json_object_object_add(pt, "at", json_object_new_string(a->at));
        json_object_object_add(pt, "t", sw_json_real(info.t));
        json_object_object_add(pt, "loss", sw_json_real(info.loss));
        json_object_object_add(pt, "speed", sw_json_real(info.speed));
        json_object_object_add(pt, "state", sw_cli_state_json(m, x));
        json_object_object_add(o, "point", pt);
        if (hess) {
            json_object_object_add(o, "hessian", hess);
            hess = NULL;
        }
        rc = sw_json_write(a->json, o, e);
        json_object_put(o);
    }
    json_object_put(hess);
    sw_spectrum_clear(&sp);
    free(x);
    return rc;
}

/* The symmetry-breaking spectrum of `full` along the trajectory of
 * `coupled`, one CSV row per output time. */
struct transverse {
    const sw_model *coupled, *full;
    sw_heads hs;
    double *x, *J, *A, *work;
    sw_eigen *ev;
    FILE *fp;
    int rc; /* a row's failure, its message in e */
    sw_err *e;
    sw_progress bar;
    double t_end;
};

static int transverse_row(double t, const double *xc, void *user)
{
    struct transverse *tv = user;
    size_t R = tv->hs.roles, n = tv->full->dim;
    if ((tv->rc = sw_heads_lift(&tv->hs, tv->coupled, xc, tv->x, tv->e)))
        return 1;
    if (sw_jacobian_eval(tv->full, tv->x, tv->J, tv->work)) {
        tv->rc = sw_fail(tv->e, SW_ENUMERIC,
                         "the Jacobian of %s could not be evaluated at t = %.17g",
                         tv->full->sys->name, t);
        return 1;
    }
    sw_heads_transverse(&tv->hs, tv->J, n, tv->A);
    if ((tv->rc = sw_eigen_general(tv->ev, tv->A, tv->e)))
        return 1;
    fprintf(tv->fp, "%.17g,%.17g", t, tv->coupled->sys->loss(tv->coupled, xc));
    for (size_t j = 0; j < R; j++)
        fprintf(tv->fp, ",%.17g", tv->ev->re[j]);
    for (size_t j = 0; j < R; j++)
        fprintf(tv->fp, ",%.17g", tv->ev->im[j]);
    fputc('\n', tv->fp);
    sw_progress_update(&tv->bar, t / tv->t_end);
    return 0;
}

static int transverse(sw_model *coupled, sw_model *full, struct args *a, sw_err *e)
{
    struct transverse tv = {.coupled = coupled, .full = full, .e = e, .t_end = a->c.o.t_end};
    size_t n = full->dim;
    double *xc = malloc(coupled->dim * sizeof *xc);
    sw_ode *ode = NULL;
    sw_outfile f = {0};
    int rc;
    if ((rc = sw_model_dense_within(full, 1, "the transverse spectrum", e)) ||
        (rc = sw_heads_find(full, &tv.hs, e)))
        goto out;
    size_t R = tv.hs.roles;
    tv.x = malloc(n * sizeof *tv.x);
    tv.J = malloc(n * n * sizeof *tv.J);
    tv.A = malloc(R * R * sizeof *tv.A);
    tv.work = malloc(2 * n * sizeof *tv.work);
    tv.ev = sw_eigen_alloc(R);
    if (!xc || !tv.x || !tv.J || !tv.A || !tv.work || !tv.ev) {
        rc = sw_fail(e, SW_EFAIL, "out of memory");
        goto out;
    }
    if ((rc = sw_cli_init_state(coupled, a->c.init, xc, e)) ||
        (rc = sw_heads_lift(&tv.hs, coupled, xc, tv.x, e)) ||
        (rc = sw_outfile_open(&f, a->out ? a->out : "-", e)))
        goto out;
    if (!(ode = sw_ode_alloc(coupled, &a->c.o, e))) {
        rc = SW_EFAIL;
        goto out;
    }
    tv.fp = f.fp;
    sw_csv_model_provenance(f.fp, coupled);
    sw_csv_provenance(f.fp, "transverse", "%s, %zu heads; each eigenvalue occurs %zu times",
                      full->sys->name, tv.hs.H, tv.hs.H - 1);
    sw_csv_solver_provenance(f.fp, &a->c.o);
    fputs("t,loss", f.fp);
    for (size_t j = 0; j < R; j++)
        fprintf(f.fp, ",re_%zu", j + 1);
    for (size_t j = 0; j < R; j++)
        fprintf(f.fp, ",im_%zu", j + 1);
    fputc('\n', f.fp);
    sw_ode_stats st;
    sw_progress_begin(&tv.bar, "transverse");
    rc = sw_ode_run(ode, xc, transverse_row, &tv, &st, e);
    sw_progress_end(&tv.bar);
    /* A failed row left its own code and message. */
    if (rc == SW_OK && tv.rc)
        rc = tv.rc;
    if (rc == SW_OK)
        rc = sw_outfile_commit(&f, e);
out:
    sw_outfile_abort(&f);
    sw_ode_free(ode);
    sw_heads_clear(&tv.hs);
    sw_eigen_free(tv.ev);
    free(tv.x);
    free(tv.J);
    free(tv.A);
    free(tv.work);
    free(xc);
    return rc;
}

static const struct option longopts[] = {
    SW_CLI_ODE_OPTIONS,
    {"at", required_argument, 0, OPT_AT},
    {"fd", no_argument, 0, OPT_FD},
    {"hessian", no_argument, 0, OPT_HESSIAN},
    {"zero-tol", required_argument, 0, OPT_ZERO},
    {"json", required_argument, 0, OPT_JSON},
    {"transverse", required_argument, 0, OPT_TRANS},
    {"out", required_argument, 0, OPT_OUT},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_jacobian(int argc, char **argv)
{
    struct args a = {.at = "start", .zero_rel = 1e-8};
    sw_cli_ode_default(&a.c);
    const sw_cli_output outs[] = {{"out", &a.out}, {"json", &a.json}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "jacobian needs a SYSTEM (allowed: %s)", sw_system_names());
    if (a.out && !a.transverse)
        return sw_cli_die(SW_EINPUT, "--out goes with --transverse (the report goes to standard "
                                     "output, --json FILE for JSON)");
    sw_err e;
    const sw_system *sys2 = NULL;
    sw_model *m = NULL, *m2 = NULL;
    if ((rc = sw_cli_ode_model(argc, argv, first, &a.c, &m, &e)))
        goto out;
    if (a.transverse) {
        sw_model_budget b;
        sw_ode_model_budget(&a.c.o, &b);
        if ((rc = sw_cli_system(a.transverse, &sys2, &e)) ||
            (rc = sw_cli_model(sys2, a.c.preset, argc - first - 1, argv + first + 1, &b, &m2,
                               &e)))
            goto out;
        rc = transverse(m, m2, &a, &e);
    } else {
        rc = report_point(m, &a, &e);
    }
out:
    sw_model_free(m);
    sw_model_free(m2);
    return sw_cli_report(rc, &e);
}
