/* The preset reader: any bytes give SW_OK or a one-line SW_EINPUT, and
 * every pair it reports is a nonempty key and a nonempty value that were
 * whole on one line. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "preset.h"

static int check_pair(void *ctx, const char *key, const char *value)
{
    (void)ctx;
    if (!*key || !*value || strchr(key, '\n') || strchr(value, '\n') || strchr(key, '='))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = sw_fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    sw_err e;
    int rc = sw_preset_read(path, check_pair, NULL, &e);
    if (rc != SW_OK && (rc != SW_EINPUT || strchr(e.msg, '\n')))
        abort();
    close(fd);
    return 0;
}
