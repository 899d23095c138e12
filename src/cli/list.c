/* `list` and `describe`: what systems exist and what each one takes. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stagewise/train.h"

int sw_cmd_list(int argc, char **argv)
{
    if (sw_cli_wants_help(argc, argv)) {
        printf("usage: stagewise list\n\nOne line per system: name and summary.\n");
        return 0;
    }
    if (argc > 1)
        return sw_cli_die(SW_EINPUT, "list takes no arguments (got '%s')", argv[1]);
    for (size_t i = 0; i < sw_system_count(); i++) {
        const sw_system *s = sw_system_at(i);
        printf("%-10s %s\n", s->name, s->summary);
    }
    return 0;
}

static const char *kind_name(sw_param_kind k)
{
    return k == SW_PARAM_INT ? "int" : k == SW_PARAM_LIST ? "list" : "real";
}

int sw_cmd_describe(int argc, char **argv)
{
    if (sw_cli_wants_help(argc, argv)) {
        printf("usage: stagewise describe SYSTEM|TASK [KEY=VALUE ...]\n\n"
               "Parameters (default, range, meaning), how the Jacobian is obtained, the\n"
               "state layout (the order --init expects) and the observables. Parameters\n"
               "given here shape the listing (e.g. H=4 lists four heads). A training task\n"
               "(%s) describes the model it trains.\n",
               sw_task_names());
        return 0;
    }
    if (argc < 2)
        return sw_cli_die(SW_EINPUT, "describe needs a SYSTEM (allowed: %s) or a TASK (%s)",
                          sw_system_names(), sw_task_names());
    sw_err e;
    const sw_system *sys;
    sw_model *m;
    const sw_task *task = sw_system_find(argv[1]) ? NULL : sw_task_find(argv[1]);
    int rc = task ? (sys = task->sys, SW_OK) : sw_cli_system(argv[1], &sys, &e);
    if (!rc)
        rc = sw_cli_model(sys, NULL, argc - 2, argv + 2, NULL, &m, &e);
    if (rc)
        return sw_cli_report(rc, &e);

    if (task)
        printf("task %s (%s) trains the model of system %s:\n\n", task->name, task->summary,
               sys->name);
    printf("%s: %s\n\n%s\n\nparameters:\n", sys->name, sys->summary, sys->doc);
    for (size_t i = 0; i < sys->n_params; i++) {
        const sw_param_def *d = &sys->params[i];
        char val[256];
        sw_value_format(&m->pv[i], val, sizeof val);
        printf("  %-8s %-4s = %-12s [%g, %g]  %s\n", d->name, kind_name(d->kind),
               *val ? val : "(empty)", d->lo, d->hi, d->doc);
    }
    printf("\njacobian: %s\n", sys->jac_doc);
    size_t H = sys->heads ? sys->heads(m) : 0;
    printf("\ncapabilities: predicted rate (sweep --predict) %s; heads %zu (symmetric bases "
           "need 2 or more); trainer task (crosscheck) %s\n",
           sys->predict ? "yes" : "no", H, sys->task ? sys->task : "none");
    printf("\nstate (%zu entries, the order of --init):\n ", m->dim);
    /* A trainer-only model (the transformer's flat parameter vector) names
     * no entry: a million "(null)" words would help nobody. */
    if (m->dim && m->state_names && m->state_names[0])
        for (size_t i = 0; i < m->dim; i++)
            printf(" %s", m->state_names[i]);
    else
        printf(" not named entry by entry (a flat parameter vector)");
    printf("\n\ncolumns: t loss");
    for (size_t i = 0; i < m->n_obs; i++)
        printf(" %s", m->obs_names[i]);
    printf("\n");
    if (m->n_levels) {
        printf("\ntheoretical plateau levels:");
        for (size_t i = 0; i < m->n_levels; i++)
            printf(" %.6g", m->levels[i]);
        printf("\n");
    }
    sw_model_free(m);
    return 0;
}
