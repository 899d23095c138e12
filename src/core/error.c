#include "stagewise/error.h"

#include <stdarg.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>

int sw_fail(sw_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The one process-wide setting the library depends on, made by the caller
 * (error.h says why). */
void sw_init(void)
{
    gsl_set_error_handler_off();
}
