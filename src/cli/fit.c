/* `fit`: a power law fitted to columns of a result file, with confidence
 * intervals (Student t, and percentile bootstrap on request), R^2 and AIC;
 * the data with fitted values and residuals go to a CSV, the fit to JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stagewise/fit.h"
#include "stagewise/output.h"
#include "stagewise/table.h"

static const char help[] =
    "usage: stagewise fit FILE.csv --y COL --law LAW [options]\n\n"
    "Fits LAW to column COL of FILE.csv (any CSV stagewise writes, e.g. a sweep).\n"
    "LAW is a prefactor times factors COLUMN^EXPONENT, optionally plus an offset:\n"
    "  'C * d^a * T^b'   linear least squares in logarithms: ln y = ln C + a ln d + b ln T\n"
    "                    (every value of y and of the columns must be positive)\n"
    "  'C * x^a + t0'    nonlinear least squares on y itself, started from the log fit\n"
    "Names: COLUMN must be a column of FILE.csv; C, the exponents and the offset name\n"
    "the fitted parameters. Rows with a non-finite value in a used column are skipped.\n\n"
    "options:\n"
    "  --y COL            the response column (required)\n"
    "  --law LAW          the law (required)\n"
    "  --where COL=VALUE  keep only the rows where COL equals VALUE; also COL<VALUE,\n"
    "                     COL<=VALUE, COL>VALUE, COL>=VALUE (repeatable, all must hold)\n"
    "  --bootstrap N      also N case-resampled refits: percentile 95% intervals\n"
    "  --seed N           seed of the resampling, gsl mt19937 (default 1)\n"
    "  --out FILE.csv     the used rows with fitted values and residuals (residuals in\n"
    "                     logs for a law without offset); FILE.json beside it holds\n"
    "                     every estimate, interval, R^2 and AIC\n"
    "Intervals are 95%. Plot with: stagewise plot fit FILE.csv --out FIG.png\n";

#define MAX_WHERE 8

struct args {
    const char *y, *law, *out;
    const char *where[MAX_WHERE];
    size_t n_where;
    double reps, seed;
};

static int on_option(int opt, const char *arg, void *ctx, sw_err *e)
{
    struct args *a = ctx;
    switch (opt) {
    case 'y':
        a->y = arg;
        return SW_OK;
    case 'l':
        a->law = arg;
        return SW_OK;
    case 'w':
        if (a->n_where == MAX_WHERE)
            return sw_fail(e, SW_EINPUT, "where: at most %d filters", MAX_WHERE);
        a->where[a->n_where++] = arg;
        return SW_OK;
    case 'b':
        if (sw_parse_real_in(arg, "bootstrap", 10, 1e7, &a->reps, e))
            return SW_EINPUT;
        if (a->reps != floor(a->reps))
            return sw_fail(e, SW_EINPUT, "bootstrap: '%s' is not an integer", arg);
        return SW_OK;
    case 's':
        if (sw_parse_real_in(arg, "seed", 0, 4294967295.0, &a->seed, e))
            return SW_EINPUT;
        if (a->seed != floor(a->seed))
            return sw_fail(e, SW_EINPUT, "seed: '%s' is not an integer", arg);
        return SW_OK;
    }
    return SW_EINPUT;
}

/* The rows the fit uses: those passing every --where and finite in every
 * used column; x is n x m in the law's column order. */
struct data {
    size_t n, skipped;
    double *x, *y;
};

enum { W_EQ, W_LT, W_LE, W_GT, W_GE };

/* COL=V, COL<V, COL<=V, COL>V or COL>=V into column, operator and value. */
static int parse_where(const sw_table *tb, const char *path, const char *text, int *col, int *op,
                       double *val, sw_err *e)
{
    size_t at = strcspn(text, "<>=");
    if (at == 0 || !text[at])
        return sw_fail(e, SW_EINPUT, "where: '%s' is not COL=VALUE (or <, <=, >, >=)", text);
    const char *p = text + at;
    int le = p[1] == '=';
    *op = p[0] == '=' ? W_EQ : p[0] == '<' ? (le ? W_LE : W_LT) : (le ? W_GE : W_GT);
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)at, text);
    int rc = sw_table_need(tb, name, path, col, e);
    return rc ? rc : sw_parse_real(p + 1 + (*op == W_LE || *op == W_GE), "where value", val, e);
}

static int where_holds(double v, int op, double w)
{
    switch (op) {
    case W_LT:
        return v < w;
    case W_LE:
        return v <= w;
    case W_GT:
        return v > w;
    case W_GE:
        return v >= w;
    }
    /* Values came through %.17g or a user's hand: equal to rounding. */
    return fabs(v - w) <= 1e-12 * fmax(fabs(w), 1e-300);
}

static int select_rows(const sw_table *tb, const char *path, const struct args *a,
                       const sw_law *law, struct data *d, sw_err *e)
{
    size_t m = law->m;
    int ycol, xcol[SW_LAW_MAX_FACTORS], wcol[MAX_WHERE], wop[MAX_WHERE];
    double wval[MAX_WHERE];
    int rc = sw_table_need(tb, a->y, path, &ycol, e);
    for (size_t j = 0; j < m && rc == SW_OK; j++)
        rc = sw_table_need(tb, law->column[j], path, &xcol[j], e);
    for (size_t j = 0; j < a->n_where && rc == SW_OK; j++)
        rc = parse_where(tb, path, a->where[j], &wcol[j], &wop[j], &wval[j], e);
    if (rc)
        return rc;
    d->x = malloc((tb->rows * m + 1) * sizeof *d->x);
    d->y = malloc((tb->rows + 1) * sizeof *d->y);
    if (!d->x || !d->y)
        return sw_fail(e, SW_EFAIL, "out of memory");
    d->n = d->skipped = 0;
    for (size_t i = 0; i < tb->rows; i++) {
        int keep = 1;
        for (size_t j = 0; j < a->n_where; j++)
            keep &= where_holds(sw_table_at(tb, i, wcol[j]), wop[j], wval[j]);
        if (!keep)
            continue;
        int finite = isfinite(sw_table_at(tb, i, ycol));
        for (size_t j = 0; j < m; j++)
            finite &= isfinite(sw_table_at(tb, i, xcol[j]));
        if (!finite) {
            d->skipped++;
            continue;
        }
        for (size_t j = 0; j < m; j++)
            d->x[d->n * m + j] = sw_table_at(tb, i, xcol[j]);
        d->y[d->n++] = sw_table_at(tb, i, ycol);
    }
    return SW_OK;
}

static void print_table(const char *path, const struct args *a, const sw_law *law,
                        const struct data *d, const sw_fit_result *r, const double *blo,
                        const double *bhi)
{
    printf("law      %s\n", a->law);
    printf("data     %s, y = %s, %zu rows", path, a->y, d->n);
    if (d->skipped)
        printf(" (%zu with non-finite values skipped)", d->skipped);
    printf("\nfitted   %s\n\n", sw_law_log_space(law) ? "ln y by linear least squares"
                                                      : "y by nonlinear least squares");
    int w = blo ? 33 : 0; /* no trailing blanks without a bootstrap column */
    printf("%-12s %14s   %-*s%s\n", "parameter", "estimate", w, "95% CI",
           blo ? "bootstrap 95% CI" : "");
    for (size_t j = 0; j < r->k; j++) {
        char ci[64];
        snprintf(ci, sizeof ci, "[%.6g, %.6g]", r->lo[j], r->hi[j]);
        printf("%-12s %14.6g   %-*s", sw_law_param(law, j), r->p[j], w, ci);
        if (blo)
            printf("[%.6g, %.6g]", blo[j], bhi[j]);
        putchar('\n');
    }
    printf("\nR^2 = %.6f   AIC = %.4f   RSS = %.6g   (%s)\n", r->r2, r->aic, r->rss,
           sw_law_log_space(law) ? "in logs" : "in y");
}

static json_object *interval(double lo, double hi)
{
    json_object *o = json_object_new_array();
    json_object_array_add(o, sw_json_real(lo));
    json_object_array_add(o, sw_json_real(hi));
    return o;
}

json_object *sw_cli_fit_json(const sw_fit_result *r, const char *const *names,
                             const double *blo, const double *bhi)
{
    json_object *o = json_object_new_object();
    json_object *ps = json_object_new_array();
    for (size_t j = 0; j < r->k; j++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(names[j]));
        json_object_object_add(p, "estimate", sw_json_real(r->p[j]));
        json_object_object_add(p, "ci95", interval(r->lo[j], r->hi[j]));
        if (blo)
            json_object_object_add(p, "bootstrap_ci95", interval(blo[j], bhi[j]));
        json_object_array_add(ps, p);
    }
    json_object_object_add(o, "params", ps);
    json_object_object_add(o, "n", json_object_new_int64((int64_t)r->n));
    json_object_object_add(o, "r2", sw_json_real(r->r2));
    json_object_object_add(o, "aic", sw_json_real(r->aic));
    json_object_object_add(o, "rss", sw_json_real(r->rss));
    return o;
}

static json_object *to_json(const char *path, const struct args *a, const sw_law *law,
                            const struct data *d, const sw_fit_result *r, const double *blo,
                            const double *bhi, size_t failed)
{
    const char *names[SW_LAW_MAX_FACTORS + 2];
    for (size_t j = 0; j < r->k; j++)
        names[j] = sw_law_param(law, j);
    json_object *o = sw_cli_fit_json(r, names, blo, bhi);
    json_object_object_add(o, "stagewise", json_object_new_string(SW_VERSION));
    json_object_object_add(o, "source", json_object_new_string(path));
    json_object_object_add(o, "y", json_object_new_string(a->y));
    json_object_object_add(o, "law", json_object_new_string(a->law));
    json_object_object_add(o, "space", json_object_new_string(sw_law_log_space(law) ? "log"
                                                                                    : "linear"));
    json_object *w = json_object_new_array();
    for (size_t j = 0; j < a->n_where; j++)
        json_object_array_add(w, json_object_new_string(a->where[j]));
    json_object_object_add(o, "where", w);
    json_object_object_add(o, "skipped", json_object_new_int64((int64_t)d->skipped));
    if (blo) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "reps", json_object_new_int64((int64_t)a->reps));
        json_object_object_add(b, "seed", json_object_new_int64((int64_t)a->seed));
        json_object_object_add(b, "failed", json_object_new_int64((int64_t)failed));
        json_object_object_add(o, "bootstrap", b);
    }
    return o;
}

/* Columns: the law's columns, observed, fitted, residual and the scaling
 * variable prod x_j^a_j (against which every row falls on the law, what
 * plots/fit.gp draws when there is more than one column). */
static void write_rows(FILE *fp, const char *path, const struct args *a,
                       const sw_law *law, const struct data *d, const sw_fit_result *r)
{
    sw_csv_provenance(fp, "stagewise", "%s", SW_VERSION);
    sw_csv_provenance(fp, "source", "%s", path);
    sw_csv_provenance(fp, "law", "%s", a->law);
    sw_csv_provenance(fp, "y", "%s", a->y);
    sw_csv_provenance(fp, "residual", "%s",
                      sw_law_log_space(law) ? "ln(observed) - ln(fitted)" : "observed - fitted");
    for (size_t j = 0; j < law->m; j++)
        fprintf(fp, "%s,", law->column[j]);
    fputs("observed,fitted,residual,scaling\n", fp);
    for (size_t i = 0; i < d->n; i++) {
        double z = 1;
        for (size_t j = 0; j < law->m; j++) {
            fprintf(fp, "%.17g,", d->x[i * law->m + j]);
            z *= pow(d->x[i * law->m + j], r->p[1 + j]);
        }
        fprintf(fp, "%.17g,%.17g,%.17g,%.17g\n", d->y[i], r->fitted[i], r->resid[i], z);
    }
}

static const struct option longopts[] = {
    {"y", required_argument, 0, 'y'},         {"law", required_argument, 0, 'l'},
    {"out", required_argument, 0, 'o'},       {"where", required_argument, 0, 'w'},
    {"bootstrap", required_argument, 0, 'b'}, {"seed", required_argument, 0, 's'},
    {0, 0, 0, 0},
};
static const sw_cli_command command = {.help = help, .longopts = longopts, .on_option = on_option};

int sw_cmd_fit(int argc, char **argv)
{
    struct args a = {.seed = 1};
    const sw_cli_output outs[] = {{"out", &a.out}, {0}};
    int first, rc;
    if (sw_cli_start(&command, outs, argc, argv, &a, &first, &rc))
        return rc;
    if (argc - first != 1)
        return sw_cli_die(SW_EINPUT, "fit needs exactly one FILE.csv (got %d)", argc - first);
    if (!a.y || !a.law)
        return sw_cli_die(SW_EINPUT, "fit needs --y COL and --law LAW (see --help)");
    const char *path = argv[first];
    sw_err e;
    sw_law law;
    sw_table tb = {0};
    struct data d = {0};
    sw_fit_result r = {0};
    double *blo = NULL, *bhi = NULL;
    size_t failed = 0;
    char *meta = NULL;
    if ((rc = sw_law_parse(a.law, &law, &e)) || (rc = sw_table_read(path, &tb, &e)) ||
        (rc = select_rows(&tb, path, &a, &law, &d, &e)) ||
        (rc = sw_law_fit(&law, d.x, d.y, d.n, &r, &e)))
        goto out;
    if (a.reps > 0) {
        blo = malloc(r.k * sizeof *blo);
        bhi = malloc(r.k * sizeof *bhi);
        if (!blo || !bhi) {
            rc = sw_fail(&e, SW_EFAIL, "out of memory");
            goto out;
        }
        if ((rc = sw_law_bootstrap(&law, d.x, d.y, d.n, &r, (size_t)a.reps,
                                   (unsigned long)a.seed, blo, bhi, &failed, &e)))
            goto out;
    }
    if (a.out) {
        sw_outfile f;
        if ((rc = sw_meta_path(NULL, a.out, &meta, &e)) || (rc = sw_outfile_open(&f, a.out, &e)))
            goto out;
        write_rows(f.fp, path, &a, &law, &d, &r);
        json_object *o = meta ? to_json(path, &a, &law, &d, &r, blo, bhi, failed) : NULL;
        rc = sw_result_commit(&f, meta, o, &e);
        json_object_put(o);
        if (rc)
            goto out;
    }
    if (!a.out || strcmp(a.out, "-") != 0)
        print_table(path, &a, &law, &d, &r, blo, bhi);
out:
    sw_fit_result_clear(&r);
    sw_table_clear(&tb);
    free(d.x);
    free(d.y);
    free(blo);
    free(bhi);
    free(meta);
    return sw_cli_report(rc, &e);
}
