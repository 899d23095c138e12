#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stagewise/budget.h"
#include "stagewise/system.h"

int sw_param_index(const sw_system *sys, const char *name)
{
    for (size_t i = 0; i < sys->n_params; i++)
        if (strcmp(sys->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

const sw_value *sw_model_value(const sw_model *m, const char *name)
{
    int i = sw_param_index(m->sys, name);
    assert(i >= 0 && "system asked for a parameter it does not declare");
    return &m->pv[i];
}

double sw_model_get(const sw_model *m, const char *name)
{
    const sw_value *v = sw_model_value(m, name);
    return v->n ? v->v[0] : 0.0;
}

static void param_names(const sw_system *sys, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sys->n_params && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", sys->params[i].name);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* An empty model of sys: parameter slots, no values yet. */
static sw_model *model_new(const sw_system *sys)
{
    sw_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->sys = sys;
    m->pv = calloc(sys->n_params ? sys->n_params : 1, sizeof *m->pv);
    if (!m->pv) {
        free(m);
        return NULL;
    }
    return m;
}

void sw_model_budget_default(sw_model_budget *b)
{
    b->max_memory = sw_budget_memory_default();
    b->max_work = SW_BUDGET_WORK_DEFAULT;
}

/* The common end of both constructors: m->pv is filled and checked. */
static int model_setup(sw_model *m, int rc, const sw_model_budget *b, sw_model **out, sw_err *e)
{
    m->budget = *b;
    if (rc == SW_OK && m->sys->setup_cost) {
        double bytes = 0, work = 0;
        char what[96];
        m->sys->setup_cost(m, &bytes, &work);
        snprintf(what, sizeof what, "%s's setup", m->sys->name);
        if ((rc = sw_budget_memory(bytes, b->max_memory, what, e)) == SW_OK)
            rc = sw_budget_work(work, b->max_work, what, e);
    }
    if (rc == SW_OK)
        rc = m->sys->setup(m, e);
    if (rc) {
        sw_model_free(m);
        return rc;
    }
    *out = m;
    return SW_OK;
}

int sw_model_dense_within(const sw_model *m, int matrices, const char *what, sw_err *e)
{
    char about[160];
    snprintf(about, sizeof about, "%s on %s (%zu coordinates, %d dense %zu x %zu matrices)", what,
             m->sys->name, m->dim, matrices, m->dim, m->dim);
    double n = (double)m->dim;
    return sw_budget_memory(matrices * n * n * sizeof(double), m->budget.max_memory, about, e);
}

int sw_model_alloc(const sw_system *sys, size_t n, const char *const *keys,
                   const char *const *values, sw_model **out, sw_err *e)
{
    sw_model_budget b;
    sw_model_budget_default(&b);
    return sw_model_alloc_within(sys, n, keys, values, &b, out, e);
}

int sw_model_alloc_within(const sw_system *sys, size_t n, const char *const *keys,
                          const char *const *values, const sw_model_budget *b, sw_model **out,
                          sw_err *e)
{
    *out = NULL;
    /* The last occurrence of a key wins: find it before parsing so that an
     * overridden preset value is never even looked at. */
    const char **text = calloc(sys->n_params ? sys->n_params : 1, sizeof *text);
    sw_model *m = model_new(sys);
    if (!text || !m) {
        free(text);
        sw_model_free(m);
        return sw_fail(e, SW_EFAIL, "out of memory");
    }
    int rc = SW_OK;
    for (size_t i = 0; i < n && rc == SW_OK; i++) {
        int k = sw_param_index(sys, keys[i]);
        if (k < 0) {
            char names[512];
            param_names(sys, names, sizeof names);
            rc = sw_fail(e, SW_EINPUT, "unknown parameter '%s' for system %s (allowed: %s)",
                         keys[i], sys->name, names);
        } else {
            text[k] = values[i];
        }
    }
    for (size_t i = 0; i < sys->n_params && rc == SW_OK; i++)
        rc = sw_param_parse(&sys->params[i], text[i] ? text[i] : sys->params[i].def, &m->pv[i],
                            e);
    free(text);
    return model_setup(m, rc, b, out, e);
}

int sw_model_alloc_values(const sw_system *sys, const sw_value *pv, sw_model **out, sw_err *e)
{
    sw_model_budget b;
    sw_model_budget_default(&b);
    return sw_model_alloc_values_within(sys, pv, &b, out, e);
}

int sw_model_alloc_values_within(const sw_system *sys, const sw_value *pv,
                                 const sw_model_budget *b, sw_model **out, sw_err *e)
{
    *out = NULL;
    sw_model *m = model_new(sys);
    if (!m)
        return sw_fail(e, SW_EFAIL, "out of memory");
    int rc = SW_OK;
    for (size_t i = 0; i < sys->n_params && rc == SW_OK; i++) {
        sw_value *v = &m->pv[i];
        if ((rc = sw_value_check(&sys->params[i], &pv[i], e)))
            break;
        v->v = malloc((pv[i].n ? pv[i].n : 1) * sizeof *v->v);
        if (!v->v) {
            rc = sw_fail(e, SW_EFAIL, "out of memory");
            break;
        }
        v->n = pv[i].n;
        memcpy(v->v, pv[i].v, pv[i].n * sizeof *v->v);
    }
    return model_setup(m, rc, b, out, e);
}

static void free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void sw_model_free(sw_model *m)
{
    if (!m)
        return;
    /* A failed setup may leave ctx partly built; teardown copes with that
     * and is skipped when there is nothing to tear down. */
    if (m->ctx && m->sys->teardown)
        m->sys->teardown(m);
    free_names(m->state_names, m->dim);
    free_names(m->obs_names, m->n_obs);
    free(m->levels);
    for (size_t i = 0; m->pv && i < m->sys->n_params; i++)
        free(m->pv[i].v);
    free(m->pv);
    free(m);
}

int sw_model_shape(sw_model *m, size_t dim, size_t n_obs, size_t n_levels)
{
    m->dim = dim;
    m->n_obs = n_obs;
    m->n_levels = n_levels;
    m->state_names = calloc(dim, sizeof(char *));
    m->obs_names = calloc(n_obs ? n_obs : 1, sizeof(char *));
    m->levels = n_levels ? calloc(n_levels, sizeof(double)) : NULL;
    if (!m->state_names || !m->obs_names || (n_levels && !m->levels))
        return SW_EFAIL;
    return SW_OK;
}

static char *vformat(const char *fmt, va_list ap)
{
    char buf[128];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return strdup(buf);
}

void sw_model_name_state(sw_model *m, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(m->state_names[i]);
    m->state_names[i] = vformat(fmt, ap);
    va_end(ap);
}

void sw_model_name_obs(sw_model *m, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(m->obs_names[i]);
    m->obs_names[i] = vformat(fmt, ap);
    va_end(ap);
}

int sw_model_obs_index(const sw_model *m, const char *name)
{
    if (strcmp(name, "loss") == 0)
        return -1;
    for (size_t i = 0; i < m->n_obs; i++)
        if (m->obs_names[i] && strcmp(m->obs_names[i], name) == 0)
            return (int)i;
    return -2;
}
