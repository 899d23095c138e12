/* The sweep's grammar: the lists of an axis (`a,b,c`, `lo:hi:n[:log]`) and
 * the measures (`event:OBS<=X`, `plateau`, ...).  Text in, values out;
 * nothing here knows a model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/sweep.h"
#include "sweep_impl.h"

/* Points in one sweep: far more than anyone integrates, small enough that
 * the product of the axes never overflows on its way there. */
const double sw_sweep_max_points = 100000000.0;

/* ---- lists ------------------------------------------------------------ */

/* `lo:hi:n[:log]`; the fields are split by hand so that an empty one is
 * reported rather than skipped. */
static int parse_range(const sw_param_def *def, const char *text, sw_value *out, sw_err *e)
{
    char buf[256], *f[5];
    size_t nf = 0;
    if (strlen(text) >= sizeof buf)
        return sw_fail(e, SW_EINPUT, "%s: list '%.40s...' is too long", def->name, text);
    strcpy(buf, text);
    for (char *p = buf; nf < 5;) {
        f[nf++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    int log_scale = nf == 4 && strcmp(f[3], "log") == 0;
    if (nf < 3 || nf > 4 || (nf == 4 && !log_scale))
        return sw_fail(e, SW_EINPUT,
                       "%s: '%s' is not a list (allowed: a,b,c or lo:hi:n or lo:hi:n:log)",
                       def->name, text);
    double lo, hi, n;
    int rc;
    if ((rc = sw_parse_real(f[0], def->name, &lo, e)) ||
        (rc = sw_parse_real(f[1], def->name, &hi, e)) ||
        (rc = sw_parse_real_in(f[2], def->name, 2, sw_sweep_max_points, &n, e)))
        return rc;
    if (n != floor(n))
        return sw_fail(e, SW_EINPUT, "%s: count '%s' in '%s' is not an integer", def->name, f[2],
                       text);
    if (log_scale && !(lo > 0 && hi > 0))
        return sw_fail(e, SW_EINPUT, "%s: a log range needs lo, hi > 0 (got '%s')", def->name,
                       text);
    size_t cnt = (size_t)n;
    out->v = malloc(cnt * sizeof *out->v);
    if (!out->v)
        return sw_fail(e, SW_EFAIL, "out of memory");
    out->n = 0;
    for (size_t i = 0; i < cnt; i++) {
        double f_ = (double)i / (double)(cnt - 1);
        double x = log_scale ? lo * pow(hi / lo, f_) : lo + (hi - lo) * f_;
        /* 15 digits: 0:1:11 then gives 0.3, not 0.30000000000000004, and
         * 4:64:5:log gives 8, as the user would have typed them. */
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.15g", x);
        x = i == cnt - 1 ? hi : strtod(tmp, NULL);
        if (def->kind == SW_PARAM_INT) {
            x = round(x);
            if (out->n && out->v[out->n - 1] == x)
                continue;
        }
        out->v[out->n++] = x;
    }
    return SW_OK;
}

int sw_sweep_list_parse(const sw_param_def *def, const char *text, sw_value *out, sw_err *e)
{
    out->n = 0;
    out->v = NULL;
    if (strchr(text, ':')) {
        int rc = parse_range(def, text, out, e);
        if (rc) {
            free(out->v);
            out->v = NULL;
            out->n = 0;
        }
        return rc;
    }
    /* For a list-valued parameter `a,b,c` is one value, not three. */
    if (def->kind == SW_PARAM_LIST)
        return sw_fail(e, SW_EINPUT, "%s: a list-valued parameter is swept by a range only "
                                     "(allowed: lo:hi:n, lo:hi:n:log)",
                       def->name);
    /* The parameter parser reads `a,b,c` already; a list-kind twin of def
     * without its range (the model checks that, point by point). */
    sw_param_def as_list = {def->name, SW_PARAM_LIST, "", -INFINITY, INFINITY, ""};
    int rc = sw_param_parse(&as_list, text, out, e);
    if (rc == SW_OK && out->n == 0)
        rc = sw_fail(e, SW_EINPUT, "%s: empty list (allowed: a,b,c or lo:hi:n or lo:hi:n:log)",
                     def->name);
    if (rc) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
    }
    return rc;
}

/* ---- measures ------------------------------------------------------------ */

const char sw_measure_allowed[] =
    "allowed: event:OBS<=X, event:OBS>=X, plateau, plateau:FRAC, "
    "stage:K, level:K, final:OBS, escape:EPS:OBS<=X";

int sw_measure_parse(const char *text, sw_measure *ms, sw_err *e)
{
    memset(ms, 0, sizeof *ms);
    if (strlen(text) >= sizeof ms->text)
        return sw_fail(e, SW_EINPUT, "measure: '%.40s...' is too long", text);
    strcpy(ms->text, text);
    const char *colon = strchr(text, ':');
    size_t klen = colon ? (size_t)(colon - text) : strlen(text);
    const char *arg = colon ? colon + 1 : NULL;
    double v;
    int rc;
    if (klen == 7 && strncmp(text, "plateau", 7) == 0) {
        ms->kind = SW_MEASURE_PLATEAU;
        ms->frac = 0.5;
        if (arg && (rc = sw_parse_real(arg, "measure plateau fraction", &ms->frac, e)))
            return rc;
        if (!(ms->frac > 0 && ms->frac < 1))
            return sw_fail(e, SW_EINPUT, "measure: plateau fraction %s is out of range (0, 1)",
                           arg);
        if (arg)
            snprintf(ms->column, sizeof ms->column, "t_plateau_%s", arg);
        else
            strcpy(ms->column, "t_plateau");
        return SW_OK;
    }
    if (!arg || !*arg)
        return sw_fail(e, SW_EINPUT, "measure: '%s' is not a measure (%s)", text,
                       sw_measure_allowed);
    if (strlen(arg) >= sizeof ms->arg)
        return sw_fail(e, SW_EINPUT, "measure: '%.40s...' is too long", text);
    int escape = klen == 6 && strncmp(text, "escape", 6) == 0;
    if (escape) {
        /* EPS, then the condition. */
        const char *c2 = strchr(arg, ':');
        char eps[64];
        if (!c2 || (size_t)(c2 - arg) >= sizeof eps)
            return sw_fail(e, SW_EINPUT, "measure: '%s' is not escape:EPS:OBS<=X", text);
        memcpy(eps, arg, (size_t)(c2 - arg));
        eps[c2 - arg] = '\0';
        if ((rc = sw_parse_real(eps, "measure escape eps", &ms->frac, e)))
            return rc;
        if (!(ms->frac > 0))
            return sw_fail(e, SW_EINPUT, "measure: escape eps %s is out of range (0, inf)", eps);
        arg = c2 + 1;
    }
    if (escape || (klen == 5 && strncmp(text, "event", 5) == 0)) {
        if (!strstr(arg, "<=") && !strstr(arg, ">="))
            return sw_fail(e, SW_EINPUT, "measure: '%s' needs a condition OBS<=X or OBS>=X",
                           text);
        ms->kind = escape ? SW_MEASURE_ESCAPE : SW_MEASURE_EVENT;
        strcpy(ms->arg, arg);
        strcpy(ms->column, escape ? "t_escape" : "t_event");
        return SW_OK;
    }
    int stage = klen == 5 && strncmp(text, "stage", 5) == 0;
    if (stage || (klen == 5 && strncmp(text, "level", 5) == 0)) {
        const char *what = stage ? "measure stage" : "measure level";
        if ((rc = sw_parse_real_in(arg, what, 1, 1000, &v, e)))
            return rc;
        if (v != floor(v))
            return sw_fail(e, SW_EINPUT, "%s: '%s' is not an integer", what, arg);
        ms->kind = stage ? SW_MEASURE_STAGE : SW_MEASURE_LEVEL;
        ms->k = (size_t)v;
        snprintf(ms->column, sizeof ms->column, "t_%s_%zu", stage ? "stage" : "level", ms->k);
        return SW_OK;
    }
    if (klen == 5 && strncmp(text, "final", 5) == 0) {
        ms->kind = SW_MEASURE_FINAL;
        strcpy(ms->arg, arg);
        snprintf(ms->column, sizeof ms->column, "final_%s", arg);
        return SW_OK;
    }
    return sw_fail(e, SW_EINPUT, "measure: unknown kind in '%s' (%s)", text, sw_measure_allowed);
}
