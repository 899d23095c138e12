/* The one process-wide setting the library depends on, made by the caller. */
#include <gsl/gsl_errno.h>

#include "stagewise/error.h"
#include "stagewise/version.h"

void sw_init(void)
{
    gsl_set_error_handler_off();
}

const char *sw_version(void)
{
    return STAGEWISE_VERSION;
}
