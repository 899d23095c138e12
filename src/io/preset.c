#include <ctype.h>
#include <string.h>

#include "lines.h"
#include "preset.h"

static int key_ok(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-' && *k != '.')
            return 0;
    return 1;
}

int sw_preset_read(const char *path, sw_preset_fn fn, void *ctx, sw_err *e)
{
    sw_lines r;
    int rc = sw_lines_open(&r, path, "preset", SW_PRESET_MAX_LINE, SW_PRESET_MAX_BYTES, e);
    if (rc)
        return rc;
    char *raw;
    while ((rc = sw_lines_next(&r, &raw, e)) == SW_OK && raw) {
        char *s = sw_lines_trim(raw);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            if (s[strlen(s) - 1] != ']') {
                rc = sw_fail(e, SW_EINPUT, "preset: '%s' line %ld is not a [section]", path,
                             r.lineno);
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq) {
            *eq = '\0';
            char *key = sw_lines_trim(s), *value = sw_lines_trim(eq + 1);
            if (key_ok(key) && *value) {
                if (fn(ctx, key, value)) {
                    rc = sw_fail(e, SW_EFAIL, "out of memory");
                    break;
                }
                continue;
            }
        }
        rc = sw_fail(e, SW_EINPUT, "preset: '%s' line %ld is not KEY = VALUE", path, r.lineno);
        break;
    }
    sw_lines_close(&r);
    return rc;
}
