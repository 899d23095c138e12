/* `integrate`: one trajectory to CSV, its provenance to JSON. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "stagewise/output.h"

static const char help[] =
    "usage: stagewise integrate SYSTEM [KEY=VALUE ...] [options]\n\n"
    "Integrates the gradient flow of SYSTEM from its initial state and writes the\n"
    "trajectory: `# key = value` provenance lines, a header, then t, loss and the\n"
    "observables at each output time.\n\n"
    "options:\n" SW_CLI_ODE_HELP
    "  --out FILE.csv   trajectory (default -, standard output)\n"
    "  --meta FILE.json metadata: parameters, solver, statistics, events, wall and\n"
    "                   CPU time of the integration\n"
    "                   (default FILE.json beside --out; none for standard output)\n"
    "  --save-state FILE  the final state (the event state with --until), one value\n"
    "                   per line with its name, in the format --init reads\n";

struct sink {
    FILE *fp;
    const sw_model *m;
    double *obs;
    sw_progress bar;
    size_t rows, points; /* rows, not t / t_end: on a log grid t crawls, then leaps */
};

static int write_row(double t, const double *x, void *user)
{
    struct sink *s = user;
    sw_csv_row(s->fp, s->m, t, x, s->obs);
    sw_progress_update(&s->bar, (double)++s->rows / (double)s->points);
    return 0;
}

/* CPU seconds of every thread of the process: the integration's own cost,
 * free of start-up, for comparing with a peer timed inside its own run. */
static json_object *metadata(const sw_model *m, const sw_cli_ode *c, const sw_ode_stats *st,
                             double wall, double cpu)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
    json_object_object_add(o, "system", json_object_new_string(m->sys->name));
    json_object_object_add(o, "params", sw_json_params(m));
    int seed = sw_param_index(m->sys, "seed");
    json_object_object_add(o, "seed", seed >= 0 ? json_object_new_int64((int64_t)m->pv[seed].v[0])
                                                : NULL);
    json_object_object_add(o, "init", c->init ? json_object_new_string(c->init)
                                              : json_object_new_string("default"));
    json_object *solver = json_object_new_object();
    json_object_object_add(solver, "name", json_object_new_string(c->o.solver));
    json_object_object_add(solver, "rtol", json_object_new_double(c->o.rtol));
    json_object_object_add(solver, "atol", json_object_new_double(c->o.atol));
    json_object_object_add(solver, "h0", json_object_new_double(c->o.h0));
    json_object_object_add(solver, "t_end", json_object_new_double(c->o.t_end));
    json_object_object_add(solver, "points", json_object_new_int64((int64_t)c->o.points));
    json_object_object_add(solver, "grid", json_object_new_string(c->o.log_grid ? "log" : "linear"));
    json_object_object_add(solver, "jacobian", json_object_new_string(m->sys->jac_doc));
    json_object_object_add(o, "solver", solver);
    json_object *stats = json_object_new_object();
    json_object_object_add(stats, "steps", json_object_new_int64((int64_t)st->steps));
    json_object_object_add(stats, "rhs_evals", json_object_new_int64((int64_t)st->rhs_evals));
    json_object_object_add(stats, "jac_evals", json_object_new_int64((int64_t)st->jac_evals));
    json_object_object_add(stats, "t_final", json_object_new_double(st->t_final));
    if (strcmp(c->o.solver, "bdf") == 0) { /* the one stepper that counts its Newton work */
        json_object *nw = json_object_new_object();
        json_object_object_add(nw, "setups", json_object_new_int64((int64_t)st->setups));
        json_object_object_add(nw, "iterations", json_object_new_int64((int64_t)st->newton_iters));
        json_object_object_add(nw, "err_fails", json_object_new_int64((int64_t)st->err_fails));
        json_object_object_add(nw, "conv_fails", json_object_new_int64((int64_t)st->conv_fails));
        json_object_object_add(stats, "newton", nw);
    }
    json_object_object_add(o, "stats", stats);
    json_object_object_add(o, "wall_seconds", json_object_new_double(wall));
    json_object_object_add(o, "cpu_seconds", json_object_new_double(cpu));
    json_object *events = json_object_new_array();
    if (st->event_hit) {
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "until", json_object_new_string(c->o.until.text));
        json_object_object_add(ev, "t", json_object_new_double(st->event_t));
        json_object_array_add(events, ev);
    }
    json_object_object_add(o, "events", events);
    return o;
}

struct args {
    sw_cli_ode c;
    const char *out, *meta, *save;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    return sw_cli_ode_option(&a->c, opt, arg, e);
}

static const struct option longopts[] = {
    SW_CLI_ODE_OPTIONS,
    {"out", required_argument, 0, 'o'},
    {"meta", required_argument, 0, 'm'},
    {"save-state", required_argument, 0, 's'},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_integrate(int argc, char **argv)
{
    struct args a = {.out = "-"};
    sw_cli_ode_default(&a.c);
    const sw_cli_output outs[] = {{"out", &a.out}, {"meta", &a.meta}, {"save-state", &a.save}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (first >= argc)
        return sw_cli_die(SW_EINPUT, "integrate needs a SYSTEM (allowed: %s)", sw_system_names());
    sw_err e;

    sw_model *m = NULL;
    double *x = NULL, *obs = NULL;
    sw_ode *ode = NULL;
    sw_outfile csv = {0};
    char *meta_path = NULL;
    if ((rc = sw_cli_ode_model(argc, argv, first, &a.c, &m, &e)))
        goto out;
    x = malloc(m->dim * sizeof *x);
    obs = malloc((m->n_obs + 1) * sizeof *obs);
    if (!x || !obs) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto out;
    }
    if ((rc = sw_cli_init_state(m, a.c.init, x, &e)))
        goto out;
    /* Open the output before the run so an unwritable path fails at once. */
    if ((rc = sw_meta_path(a.meta, a.out, &meta_path, &e)) ||
        (rc = sw_outfile_open(&csv, a.out, &e)))
        goto out;
    if (!(ode = sw_ode_alloc(m, &a.c.o, &e))) {
        rc = SW_EFAIL;
        goto out;
    }
    sw_csv_model_provenance(csv.fp, m);
    sw_csv_solver_provenance(csv.fp, &a.c.o);
    sw_csv_header(csv.fp, m);

    struct sink sink = {csv.fp, m, obs, {0}, 0, a.c.o.points};
    sw_progress_begin(&sink.bar, m->sys->name);
    sw_ode_stats st;
    double t0 = sw_cli_now(), c0 = sw_cli_cpu_now();
    rc = sw_ode_run(ode, x, write_row, &sink, &st, &e);
    double wall = sw_cli_now() - t0, cpu = sw_cli_cpu_now() - c0;
    sw_progress_end(&sink.bar);
    if (rc)
        goto out;
    json_object *meta = meta_path ? metadata(m, &a.c, &st, wall, cpu) : NULL;
    rc = sw_result_commit(&csv, meta_path, meta, &e);
    json_object_put(meta);
    /* Last, so a failure before it cannot leave a state without its run. */
    if (!rc && a.save)
        rc = sw_cli_write_state(a.save, m, x, NULL, &e);
    if (!rc && st.event_hit)
        fprintf(stderr, "stagewise: %s reached at t = %.17g\n", a.c.o.until.text, st.event_t);
out:
    sw_outfile_abort(&csv);
    sw_ode_free(ode);
    free(meta_path);
    free(x);
    free(obs);
    sw_model_free(m);
    return sw_cli_report(rc, &e);
}
