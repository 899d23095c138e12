/* The one table of systems, generated from systems/systems.list: adding a
 * system is a file in systems/ and a line in that list. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stagewise/system.h"
#include "systems.h"

#define SW_SYSTEM_ADDRESS(s) &s,
static const sw_system *const registry[] = {SW_SYSTEM_LIST(SW_SYSTEM_ADDRESS)};
#undef SW_SYSTEM_ADDRESS

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

static char names[1024];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_fill(void)
{
    size_t used = 0;
    for (size_t i = 0; i < N_SYSTEMS && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 registry[i]->name);
}

/* Filled once, whichever thread asks first (sweep points report errors
 * from several threads). */
const char *sw_system_names(void)
{
    pthread_once(&names_once, names_fill);
    return names;
}
