/* The whole public API of libstagewise in one include:
 *
 *   #include <stagewise/stagewise.h>
 *   cc prog.c $(pkg-config --cflags --libs stagewise)
 *
 * Call sw_init() once before anything else (error.h says why).
 *
 * Threads: after sw_init the library has no unsynchronised global state, so
 * separate objects may be used on separate threads at once (sweeps do
 * exactly that, one model and integrator per point).  The static
 * descriptions (sw_system, sw_task, sw_param_def) and parsed values
 * (sw_law, sw_measure, sw_table once read) may be shared freely.  Every
 * other object belongs to one thread at a time, sw_model included: a
 * system's rhs, jac and loss write scratch in the model's ctx. sw_sweep is
 * read-only once built and may be shared (sw_sweep_run does). The library
 * never changes process-wide settings; sw_init (error.h) is the one call
 * that does, and the caller decides when. OpenBLAS threading is also the
 * caller's choice: the command line pins it to one thread. */
#ifndef STAGEWISE_STAGEWISE_H
#define STAGEWISE_STAGEWISE_H

#include "stagewise/version.h"
#include "stagewise/error.h"
#include "stagewise/param.h"
#include "stagewise/system.h"
#include "stagewise/ode.h"
#include "stagewise/eigen.h"
#include "stagewise/stages.h"
#include "stagewise/saddle.h"
#include "stagewise/escape.h"
#include "stagewise/fit.h"
#include "stagewise/sweep.h"
#include "stagewise/train.h"
#include "stagewise/table.h"
#include "stagewise/output.h"

#endif
