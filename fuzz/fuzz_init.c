/* The initial-state reader of --init (and escape's --direction): any bytes
 * give SW_OK with every coordinate finite, or a one-line SW_EINPUT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sw_model *m;
    sw_err e;
    if (!m && sw_cli_model(sw_system_find("z-reduced"), NULL, 0, NULL, NULL, &m, &e))
        abort();
    char path[64];
    int fd = sw_fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    double x[3];
    int rc = sw_cli_init_state(m, path, x, &e);
    if (rc == SW_OK) {
        for (size_t i = 0; i < 3; i++)
            if (!isfinite(x[i]))
                abort();
    } else if (rc != SW_EINPUT || strchr(e.msg, '\n')) {
        abort();
    }
    close(fd);
    return 0;
}
