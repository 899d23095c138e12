/* Declarations of the registered systems, for the library's own code that
 * names one (the trainer tasks).  The list is generated from
 * systems/systems.list into systems_list.h as SW_SYSTEM_LIST(X), one
 * X(symbol) per system. */
#ifndef STAGEWISE_SYSTEMS_H
#define STAGEWISE_SYSTEMS_H

#include "stagewise/system.h"
#include "systems_list.h"

#define SW_SYSTEM_DECLARE(s) extern const sw_system s;
SW_SYSTEM_LIST(SW_SYSTEM_DECLARE)
#undef SW_SYSTEM_DECLARE

#endif
