/* `saddle`: a fixed point refined from a point of the flow, with its
 * spectrum; or, where the fixed point lies at infinity, the coordinates
 * that run off and the slowest point of the flow in its place. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: stagewise saddle SYSTEM [KEY=VALUE ...] [--from POINT] [options]\n\n"
    "Refines a fixed point of SYSTEM's flow from POINT with GSL's hybridsj (the\n"
    "analytic Jacobian where there is one) and prints it with its spectrum and Morse\n"
    "index (as `stagewise jacobian`). A fixed point at infinity -- the sparse-attention\n"
    "saddles, at infinite logits -- shows as Newton steps that keep their size while\n"
    "|f| keeps falling; then the command says there is no finite fixed point,\n"
    "names the coordinates that run off, and reports the slowest point of the flow\n"
    "instead (POINT itself for plateau:N and slowest, else the slowest point of the\n"
    "run from POINT to --t-end). POINT is start, t=X, plateau:N, slowest or a state\n"
    "file (see `stagewise jacobian --help`).\n\n"
    "options:\n"
    "  --from POINT     where the refinement starts (default start)\n"
    "  --tol X          converged when |f|_inf <= X and the last step is below\n"
    "                   1e-8 max(1, |x|_inf) (default 1e-10)\n"
    "  --max-iter N     iteration limit (default 500)\n"
    "  --zero-tol X     zero threshold of the spectrum, relative (default 1e-8)\n"
    "  --out FILE       the fixed (or slowest) point in the --init format\n"
    "  --json FILE      the report as JSON\n" SW_CLI_ODE_HELP
    "exit status 3 when the solver stalls without a verdict (the slowest point is\n"
    "still reported).\n";

enum { OPT_FROM = SW_OPT_LAST + 1, OPT_TOL, OPT_ITER, OPT_ZERO, OPT_OUT, OPT_JSON };

struct args {
    sw_cli_ode c;
    sw_saddle_opts so;
    const char *from, *out, *json;
    double zero_rel;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    double v;
    int rc;
    switch (opt) {
    case OPT_FROM:
        a->from = arg;
        return SW_OK;
    case OPT_TOL:
        return sw_parse_real_in(arg, "tol", 1e-300, 1, &a->so.tol, e);
    case OPT_ITER:
        if ((rc = sw_parse_real_in(arg, "max-iter", 1, 1e7, &v, e)))
            return rc;
        if (v != floor(v))
            return sw_fail(e, SW_EINPUT, "max-iter: '%s' is not an integer", arg);
        a->so.max_iter = (size_t)v;
        return SW_OK;
    case OPT_ZERO:
        return sw_parse_real_in(arg, "zero-tol", 0, 1, &a->zero_rel, e);
    }
    return sw_cli_ode_option(&a->c, opt, arg, e);
}

static json_object *report_json(const sw_model *m, const struct args *a, const sw_saddle *r,
                                const char *outcome, const char *where, const double *x,
                                const sw_point_info *info, const sw_spectrum *sp)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
    json_object_object_add(o, "system", json_object_new_string(m->sys->name));
    json_object_object_add(o, "params", sw_json_params(m));
    json_object_object_add(o, "from", json_object_new_string(a->from));
    json_object_object_add(o, "outcome", json_object_new_string(outcome));
    json_object_object_add(o, "iterations", json_object_new_int64((int64_t)r->iterations));
    json_object_object_add(o, "conserved", json_object_new_int64((int64_t)r->conserved));
    json_object_object_add(o, "residual", sw_json_real(r->residual));
    if (r->reason[0])
        json_object_object_add(o, "reason", json_object_new_string(r->reason));
    json_object *off = json_object_new_array();
    for (size_t k = 0; k < r->n_off; k++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "state", json_object_new_string(m->state_names[r->off[k]]));
        json_object_object_add(c, "to", json_object_new_string(r->off_sign[k] > 0 ? "+inf"
                                                                                 : "-inf"));
        json_object_array_add(off, c);
    }
    json_object_object_add(o, "run_off", off);
    json_object *pt = json_object_new_object();
    json_object_object_add(pt, "what", json_object_new_string(where));
    json_object_object_add(pt, "t", r->finite ? NULL : sw_json_real(info->t));
    json_object_object_add(pt, "loss", sw_json_real(m->sys->loss(m, x)));
    json_object_object_add(pt, "speed", sw_json_real(info->speed));
    json_object_object_add(pt, "state", sw_cli_state_json(m, x));
    json_object_object_add(o, "point", pt);
    json_object_object_add(o, "spectrum", sw_cli_spectrum_json(m, sp));
    return o;
}

static const struct option longopts[] = {
    SW_CLI_ODE_OPTIONS,
    {"from", required_argument, 0, OPT_FROM},
    {"tol", required_argument, 0, OPT_TOL},
    {"max-iter", required_argument, 0, OPT_ITER},
    {"zero-tol", required_argument, 0, OPT_ZERO},
    {"out", required_argument, 0, OPT_OUT},
    {"json", required_argument, 0, OPT_JSON},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_saddle(int argc, char **argv)
{
    struct args a = {.from = "start", .zero_rel = 1e-8};
    sw_cli_ode_default(&a.c);
    sw_saddle_opts_default(&a.so);
    const sw_cli_output outs[] = {{"out", &a.out}, {"json", &a.json}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    sw_err e;
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "saddle needs a SYSTEM (allowed: %s)", sw_system_names());

    sw_model *m = NULL;
    double *x = NULL, *f = NULL;
    sw_saddle r = {0};
    sw_spectrum sp = {0};
    sw_point p;
    sw_point_info info;
    if ((rc = sw_cli_ode_model(argc, argv, first, &a.c, &m, &e)))
        goto out;
    x = malloc(m->dim * sizeof *x);
    f = malloc(m->dim * sizeof *f);
    if (!x || !f) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto out;
    }
    if ((rc = sw_cli_point(m, &a.c, a.from, &p, x, &info, &e)) ||
        (rc = sw_saddle_refine(m, x, &a.so, &r, &e)))
        goto out;

    char from[512], where[600];
    sw_cli_point_describe(&p, &info, from, sizeof from);
    printf("system:   %s (%zu states)\nfrom:     %s (|f| = %.4g)\n", m->sys->name, m->dim, from,
           info.speed);
    if (r.conserved)
        printf("held:     %zu conserved linear quantit%s at the start's values (they make the "
               "fixed points a continuum)\n",
               r.conserved, r.conserved == 1 ? "y" : "ies");
    const char *outcome;
    if (r.finite) {
        outcome = "fixed point";
        memcpy(x, r.x, m->dim * sizeof *x);
        info.speed = sw_speed(m, x, f);
        snprintf(where, sizeof where, "the fixed point");
        printf("outcome:  fixed point after %zu hybridsj iterations, |f|_inf = %.3g\n",
               r.iterations, r.residual);
    } else {
        outcome = r.runaway ? "at infinity" : "not found";
        if (r.runaway) {
            printf("outcome:  no finite fixed point: after %zu iterations the Newton steps keep "
                   "their size while |f|_inf falls to %.3g; running off:\n         ",
                   r.iterations, r.residual);
            for (size_t k = 0; k < r.n_off; k++)
                printf(" %s (%s)%s", m->state_names[r.off[k]], r.off_sign[k] > 0 ? "+inf" : "-inf",
                       k + 1 < r.n_off ? "," : "\n");
        } else {
            printf("outcome:  no fixed point found: %s (|f|_inf = %.3g)\n", r.reason,
                   r.residual);
        }
        /* The point the flow lingers at stands in for the fixed point. */
        if (p.kind != SW_POINT_PLATEAU && p.kind != SW_POINT_SLOWEST) {
            sw_point slow = {.kind = SW_POINT_SLOWEST};
            if ((rc = sw_point_locate(m, &a.c.o, &slow, x, &info, &e)))
                goto out;
            sw_cli_point_describe(&slow, &info, where, sizeof where);
        } else {
            snprintf(where, sizeof where, "%s", from);
        }
        printf("instead:  %s\n", where);
    }
    printf("          loss = %.10g, |f| = %.4g\n", m->sys->loss(m, x), info.speed);
    if ((rc = sw_spectrum_eval(m, x, 0, a.zero_rel, &sp, &e)))
        goto out;
    sw_cli_spectrum_print(stdout, m, &sp);
    if (a.out && (rc = sw_cli_write_state(a.out, m, x,
                                          r.finite ? "fixed point, from `stagewise saddle`"
                                                   : "slowest point, from `stagewise saddle`",
                                          &e)))
        goto out;
    if (a.json) {
        json_object *o = report_json(m, &a, &r, outcome, where, x, &info, &sp);
        rc = sw_json_write(a.json, o, &e);
        json_object_put(o);
        if (rc)
            goto out;
    }
    if (!r.finite && !r.runaway)
        rc = sw_fail(&e, SW_ENUMERIC, "saddle: %s", r.reason);
out:
    sw_spectrum_clear(&sp);
    sw_saddle_clear(&r);
    free(x);
    free(f);
    sw_model_free(m);
    return sw_cli_report(rc, &e);
}
