/* The CSV reader behind stages, fit, plot and reproduce: any bytes give a
 * table whose every name is nonempty and whose shape holds, or a one-line
 * SW_EINPUT; the provenance and level lookups never fail otherwise. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "stagewise/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = sw_fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    sw_table tb;
    sw_err e;
    int rc = sw_table_read(path, &tb, &e);
    if (rc == SW_OK) {
        if (tb.cols == 0 || (tb.rows && !tb.v))
            abort();
        for (size_t k = 0; k < tb.cols; k++)
            if (!tb.names[k] || !*tb.names[k] || sw_table_col(&tb, tb.names[k]) < 0)
                abort();
        double sum = 0;
        for (size_t r = 0; r < tb.rows; r++)
            for (size_t k = 0; k < tb.cols; k++)
                sum += sw_table_at(&tb, r, (int)k); /* every cell readable (ASan) */
        (void)sum;
        double lv[8];
        size_t n;
        int lr = sw_table_levels(&tb, path, lv, 8, &n, &e);
        if (lr != SW_OK && lr != SW_EINPUT)
            abort();
        int col;
        if (sw_table_need(&tb, "loss", path, &col, &e) == SW_OK && col < 0)
            abort();
        sw_table_clear(&tb);
    } else if (rc != SW_EINPUT || strchr(e.msg, '\n')) {
        abort();
    }
    close(fd);
    return 0;
}
