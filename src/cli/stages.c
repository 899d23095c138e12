/* `stages`: plateaus and transitions of a run's loss curve. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stagewise/output.h"
#include "stagewise/stages.h"
#include "stagewise/table.h"

static const char help[] =
    "usage: stagewise stages RUN.csv [--out FILE.csv] [--max-slope X] [--shoulder X]\n"
    "                        [--min-decades X]\n\n"
    "Finds the plateaus of the loss on a log-time axis: points where |dlog L/dlog t| is\n"
    "smallest within min-decades around them and either below max-slope or, a shoulder\n"
    "between two close transitions, below shoulder times the steepest slope within a\n"
    "decade on each side (the level is the loss there). Transitions lie between\n"
    "plateaus, at the time the loss is halfway between the two levels. Prints a table;\n"
    "beside each level, the nearest theoretical level L_j the run recorded. Writes\n"
    "FILE.csv and FILE.json (default: RUN.stages.csv and RUN.stages.json).\n\n"
    "options:\n"
    "  --out FILE.csv     where to write (- for standard output, no JSON)\n"
    "  --max-slope X      slowness threshold (default 0.1)\n"
    "  --shoulder X       relative threshold for shoulders (default 0.2; 0 turns\n"
    "                     shoulders off). y-reduced at gamma=1.5 learns its last two\n"
    "                     patterns close together: the stage between them has slope\n"
    "                     0.23 between falls of 1.5 and 5, and is found as a shoulder\n"
    "  --min-decades X    window, in decades of t, in which a plateau point is the\n"
    "                     slowest (default 0.5)\n";

struct args {
    sw_stages_opts o;
    const char *out;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case 's':
        return sw_parse_real_in(arg, "max-slope", 1e-6, 10, &a->o.max_slope, e);
    case 'h':
        return sw_parse_real_in(arg, "shoulder", 0, 1, &a->o.shoulder, e);
    case 'd':
        return sw_parse_real_in(arg, "min-decades", 0, 10, &a->o.min_decades, e);
    }
    return SW_EINPUT;
}

/* The recorded theoretical level nearest (in log) to x, its index in *j. */
static double nearest_level(const double *lv, size_t n, double x, size_t *j)
{
    double best = NAN, dist = INFINITY;
    for (size_t k = 0; k < n; k++) {
        double d = lv[k] > 0 ? fabs(log(x / lv[k])) : INFINITY;
        if (d < dist) {
            dist = d;
            best = lv[k];
            *j = k;
        }
    }
    return best;
}

static const struct option longopts[] = {
    {"out", required_argument, 0, 'o'},
    {"max-slope", required_argument, 0, 's'},
    {"shoulder", required_argument, 0, 'h'},
    {"min-decades", required_argument, 0, 'd'},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_stages(int argc, char **argv)
{
    struct args a = {0};
    sw_stages_opts_default(&a.o);
    const sw_cli_output outs[] = {{"out", &a.out}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (argc - first != 1)
        return sw_cli_die(SW_EINPUT, "stages needs exactly one RUN.csv (got %d)", argc - first);
    const char *run = argv[first];

    sw_err e;
    sw_table tb;
    if ((rc = sw_table_read(run, &tb, &e)))
        return sw_cli_report(rc, &e);
    int ct, cl;
    double *t = NULL, *L = NULL;
    char *out = NULL, *meta = NULL;
    sw_stages st = {0};
    sw_outfile f = {0};
    json_object *js = NULL;
    if ((rc = sw_table_need(&tb, "t", run, &ct, &e)) ||
        (rc = sw_table_need(&tb, "loss", run, &cl, &e)))
        goto done;
    t = malloc(tb.rows * sizeof *t);
    L = malloc(tb.rows * sizeof *L);
    if (!t || !L) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < tb.rows; i++) {
        t[i] = sw_table_at(&tb, i, ct);
        L[i] = sw_table_at(&tb, i, cl);
        if (!isfinite(t[i]) || !isfinite(L[i]) || (i && t[i] <= t[i - 1])) {
            rc = sw_fail(&e, SW_EINPUT, "'%s' row %zu: t must increase and t, loss be finite",
                         run, i + 1);
            goto done;
        }
        /* Plateaus are read on log loss, and a squared error is never
         * negative: such a row is not a loss curve. */
        if (!(L[i] > 0)) {
            rc = sw_fail(&e, SW_EINPUT, "'%s' row %zu: loss %g is not positive (allowed: "
                                        "loss > 0, plateaus are found on log loss)",
                         run, i + 1, L[i]);
            goto done;
        }
    }
    if ((rc = sw_stages_detect(t, L, tb.rows, &a.o, &st, &e)))
        goto done;

    double lv[64];
    size_t nlv;
    if ((rc = sw_table_levels(&tb, run, lv, 64, &nlv, &e)))
        goto done;
    out = a.out ? strdup(a.out) : sw_path_derived(run, ".stages.csv");
    if (!out) {
        rc = sw_fail(&e, SW_EFAIL, "out of memory");
        goto done;
    }
    if ((rc = sw_meta_path(NULL, out, &meta, &e)) || (rc = sw_outfile_open(&f, out, &e)))
        goto done;
    sw_csv_provenance(f.fp, "stagewise", "%s", SW_VERSION);
    sw_csv_provenance(f.fp, "run", "%s", run);
    sw_csv_provenance(f.fp, "max_slope", "%.17g", a.o.max_slope);
    sw_csv_provenance(f.fp, "shoulder", "%.17g", a.o.shoulder);
    sw_csv_provenance(f.fp, "min_decades", "%.17g", a.o.min_decades);
    fputs("plateau,t_begin,t_end,level,theory,rel_diff,t_transition_after\n", f.fp);

    js = json_object_new_object();
    json_object_object_add(js, "run", json_object_new_string(run));
    json_object *jp = json_object_new_array(), *jt = json_object_new_array();
    if (f.fp != stdout)
        printf("%zu plateaus, %zu transitions in %s\n", st.n_plateaus, st.n_transitions, run);
    if (f.fp != stdout)
        printf("%-8s %12s %12s %12s %12s %9s %14s\n", "plateau", "t_begin", "t_end", "level",
               "theory", "rel_diff", "transition_t");
    for (size_t k = 0; k < st.n_plateaus; k++) {
        const sw_plateau *p = &st.plateaus[k];
        size_t j = 0;
        double th = nearest_level(lv, nlv, p->level, &j);
        double rel = nlv ? (p->level - th) / th : NAN;
        double tt = k < st.n_transitions ? st.t_transition[k] : NAN;
        fprintf(f.fp, "%zu,%.10g,%.10g,%.10g,%.10g,%.6g,%.10g\n", k, p->t_begin, p->t_end,
                p->level, th, rel, tt);
        if (f.fp != stdout && nlv)
            printf("%-8zu %12.5g %12.5g %12.6g %12.6g %9.3g %14.6g\n", k, p->t_begin, p->t_end,
                   p->level, th, rel, tt);
        else if (f.fp != stdout)
            printf("%-8zu %12.5g %12.5g %12.6g %12s %9s %14.6g\n", k, p->t_begin, p->t_end,
                   p->level, "-", "-", tt);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "t_begin", json_object_new_double(p->t_begin));
        json_object_object_add(o, "t_end", json_object_new_double(p->t_end));
        json_object_object_add(o, "level", json_object_new_double(p->level));
        if (nlv) {
            json_object_object_add(o, "theory_j", json_object_new_int64((int64_t)j));
            json_object_object_add(o, "theory", json_object_new_double(th));
            json_object_object_add(o, "rel_diff", json_object_new_double(rel));
        }
        json_object_array_add(jp, o);
    }
    for (size_t k = 0; k < st.n_transitions; k++)
        json_object_array_add(jt, json_object_new_double(st.t_transition[k]));
    json_object_object_add(js, "plateaus", jp);
    json_object_object_add(js, "transitions", jt);
    rc = sw_result_commit(&f, meta, js, &e);
done:
    sw_outfile_abort(&f);
    json_object_put(js);
    sw_stages_clear(&st);
    sw_table_clear(&tb);
    free(t), free(L), free(out), free(meta);
    return sw_cli_report(rc, &e);
}
