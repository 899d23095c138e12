#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stagewise/budget.h"
#include "stagewise/param.h"

double sw_budget_memory_default(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? 0.5 * (double)pages * (double)size : 4.0 * 1024 * 1024 * 1024;
}

static void format_bytes(double b, char *buf, size_t len)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    while (b >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, "%.3g %s", b, unit[u]);
}

int sw_budget_memory(double bytes, double limit, const char *what, sw_err *e)
{
    if (bytes <= limit)
        return SW_OK;
    char need[32], have[32];
    format_bytes(bytes, need, sizeof need);
    format_bytes(limit, have, sizeof have);
    return sw_fail(e, SW_EINPUT,
                   "%s needs about %s of memory, over the limit of %s (--max-memory raises it)",
                   what, need, have);
}

int sw_budget_work(double work, double limit, const char *what, sw_err *e)
{
    if (work <= limit)
        return SW_OK;
    return sw_fail(e, SW_EINPUT,
                   "%s needs at least %.3g coordinate evaluations of work, over the limit of "
                   "%.3g (--max-work raises it)",
                   what, work, limit);
}

int sw_parse_bytes(const char *text, const char *what, double *out, sw_err *e)
{
    static const char suffix[] = "KMGT";
    char num[64];
    size_t n = strlen(text);
    double scale = 1;
    const char *s = n ? strchr(suffix, text[n - 1]) : NULL;
    if (s && *s) {
        scale = pow(1024, (double)(s - suffix + 1));
        n--;
    }
    if (n == 0 || n >= sizeof num)
        return sw_fail(e, SW_EINPUT, "%s: '%s' is not a size (allowed: a number of bytes, "
                                     "with an optional K, M, G or T suffix)",
                       what, text);
    memcpy(num, text, n);
    num[n] = '\0';
    double v;
    if (sw_parse_real(num, what, &v, e) || !(v > 0))
        return sw_fail(e, SW_EINPUT, "%s: '%s' is not a size (allowed: a number of bytes > 0, "
                                     "with an optional K, M, G or T suffix)",
                       what, text);
    *out = v * scale;
    return SW_OK;
}
