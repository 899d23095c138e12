#include "stagewise/param.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sw_parse_real_why(const char *text, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != '\0')
        return "is not a number";
    /* strtod accepts "nan" and "inf"; a parameter never means either. */
    if (isnan(x) || (isinf(x) && errno != ERANGE))
        return "is not a finite number";
    if (isinf(x))
        return "is too large for a double (allowed magnitude: up to 1.79769e+308)";
    /* ERANGE with a finite result is underflow: a subnormal is a value
     * (kept), a number that rounds to zero is refused, not silently 0. */
    if (errno == ERANGE && x == 0)
        return "is too small for a double, it would round to 0 (allowed: 0, or a magnitude "
               "from 4.94066e-324)";
    *out = x;
    return NULL;
}

int sw_parse_real(const char *text, const char *what, double *out, sw_err *e)
{
    const char *why = sw_parse_real_why(text, out);
    return why ? sw_fail(e, SW_EINPUT, "%s: '%s' %s", what, text, why) : SW_OK;
}

int sw_parse_real_in(const char *text, const char *what, double lo, double hi, double *out,
                     sw_err *e)
{
    int rc = sw_parse_real(text, what, out, e);
    if (rc)
        return rc;
    if (*out < lo || *out > hi)
        return sw_fail(e, SW_EINPUT, "%s: %s is out of range [%g, %g]", what, text, lo, hi);
    return SW_OK;
}

int sw_parse_choice(const char *text, const char *what, const char *const *allowed, int *index,
                    sw_err *e)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(text, allowed[i]) == 0) {
            *index = i;
            return SW_OK;
        }
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     allowed[i]);
    }
    return sw_fail(e, SW_EINPUT, "%s: '%s' is not allowed (allowed: %s)", what, text, list);
}

int sw_parse_grid(const char *text, int *log_grid, sw_err *e)
{
    static const char *const grids[] = {"log", "linear", NULL};
    int i, rc = sw_parse_choice(text, "grid", grids, &i, e);
    if (rc == SW_OK)
        *log_grid = i == 0;
    return rc;
}

int sw_value_check(const sw_param_def *def, const sw_value *v, sw_err *e)
{
    if (def->kind != SW_PARAM_LIST && v->n != 1)
        return sw_fail(e, SW_EINPUT, "%s: needs one value, not %zu", def->name, v->n);
    for (size_t i = 0; i < v->n; i++) {
        double x = v->v[i];
        if (!isfinite(x))
            return sw_fail(e, SW_EINPUT, "%s: %g is not a finite number", def->name, x);
        if (x < def->lo || x > def->hi)
            return sw_fail(e, SW_EINPUT, "%s: %.15g is out of range [%g, %g]", def->name, x,
                           def->lo, def->hi);
        if (def->kind == SW_PARAM_INT && x != floor(x))
            return sw_fail(e, SW_EINPUT, "%s: %.15g is not an integer", def->name, x);
    }
    return SW_OK;
}

static int parse_element(const sw_param_def *def, const char *text, double *x, sw_err *e)
{
    int rc = sw_parse_real_in(text, def->name, def->lo, def->hi, x, e);
    if (rc)
        return rc;
    if (def->kind == SW_PARAM_INT && *x != floor(*x))
        return sw_fail(e, SW_EINPUT, "%s: '%s' is not an integer", def->name, text);
    return SW_OK;
}

int sw_param_parse(const sw_param_def *def, const char *text, sw_value *out, sw_err *e)
{
    out->n = 0;
    out->v = NULL;
    if (def->kind != SW_PARAM_LIST) {
        out->v = malloc(sizeof(double));
        if (!out->v)
            return sw_fail(e, SW_EFAIL, "out of memory");
        int rc = parse_element(def, text, out->v, e);
        if (rc) {
            free(out->v);
            out->v = NULL;
            return rc;
        }
        out->n = 1;
        return SW_OK;
    }

    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    char *copy = strdup(text);
    out->v = malloc(cap * sizeof(double));
    if (!copy || !out->v) {
        free(copy);
        free(out->v);
        out->v = NULL;
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    int rc = SW_OK;
    if (*text) {
        /* strtok_r would skip empty fields ("1,,2"); walk them by hand. */
        char *field = copy;
        for (;;) {
            char *comma = strchr(field, ',');
            if (comma)
                *comma = '\0';
            rc = parse_element(def, field, &out->v[out->n], e);
            if (rc)
                break;
            out->n++;
            if (!comma)
                break;
            field = comma + 1;
        }
    }
    free(copy);
    if (rc) {
        free(out->v);
        out->v = NULL;
        out->n = 0;
    }
    return rc;
}

void sw_value_format(const sw_value *v, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%.17g", i ? "," : "", v->v[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}
