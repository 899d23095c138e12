/* The one list of systems.  Adding a system is a file in systems/ and a
 * line here. */
#include <stdio.h>
#include <string.h>

#include "stagewise/system.h"
#include "systems.h"

static const sw_system *const registry[] = {
    &sw_system_linear,
    &sw_system_z_full,
    &sw_system_z_reduced,
    &sw_system_y_full,
    &sw_system_y_reduced,
    &sw_system_y_coupled,
    &sw_system_y_simplex,
};

#define N_SYSTEMS (sizeof registry / sizeof registry[0])

size_t sw_system_count(void)
{
    return N_SYSTEMS;
}

const sw_system *sw_system_at(size_t i)
{
    return i < N_SYSTEMS ? registry[i] : NULL;
}

const sw_system *sw_system_find(const char *name)
{
    for (size_t i = 0; i < N_SYSTEMS; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const char *sw_system_names(void)
{
    static char buf[256];
    if (!buf[0]) {
        size_t used = 0;
        for (size_t i = 0; i < N_SYSTEMS && used < sizeof buf; i++)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "",
                                     registry[i]->name);
    }
    return buf;
}
