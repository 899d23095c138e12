/* Error reporting shared by every module.
 *
 * Functions that can fail return one of the sw_status codes and, on failure,
 * leave a one-line explanation in an sw_err.  The codes double as the
 * process exit statuses of the command line, so a library failure maps to
 * the right exit code without a translation table. */
#ifndef STAGEWISE_ERROR_H
#define STAGEWISE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_status {
    SW_OK = 0,
    SW_EFAIL = 1,   /* anything else: out of memory, I/O after validation */
    SW_EINPUT = 2,  /* bad usage or input: names the offender and what is allowed */
    SW_ENUMERIC = 3 /* numerical trouble: says what and at which t */
} sw_status;

typedef struct sw_err {
    char msg[512];
} sw_err;

#if defined(__GNUC__)
#define SW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SW_PRINTF(a, b)
#endif

/* Call once per process, before any other stagewise call and before
 * starting threads.  It switches GSL's error handler off (GSL's default
 * aborts the process, e.g. on a step-size underflow), because the library
 * reports every GSL failure through its return codes and an sw_err.  This
 * is the one process-wide setting stagewise needs; the library itself
 * never changes one, so a program with its own GSL handler decides
 * whether and when to call this. */
void sw_init(void);

/* Formats the message into e (if non-NULL) and returns code, so callers can
 * write `return sw_fail(e, SW_EINPUT, "...")`. */
int sw_fail(sw_err *e, int code, const char *fmt, ...) SW_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif
