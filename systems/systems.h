/* Declarations of the registered systems (private to the library). */
#ifndef STAGEWISE_SYSTEMS_H
#define STAGEWISE_SYSTEMS_H

#include "stagewise/system.h"

extern const sw_system sw_system_linear;
extern const sw_system sw_system_z_full;
extern const sw_system sw_system_z_reduced;
extern const sw_system sw_system_y_full;
extern const sw_system sw_system_y_reduced;
extern const sw_system sw_system_y_coupled;
extern const sw_system sw_system_y_simplex;

#endif
