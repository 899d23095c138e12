/* The sweep's resume, end to end: the input is appended to the head of a
 * small finished sweep (its provenance and header, so the resume accepts the
 * file as its own) and `stagewise sweep` runs on it.  Rows it can use are
 * kept, torn or foreign ones are dropped or refused; whatever the bytes,
 * the command ends with 0 or 2 and a complete file, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"

static char path[64], *head;
static size_t head_len;
static char *argv_sweep[] = {"sweep", "z-reduced", "d=4,8", "--measure", "final:loss",
                             "--t-end", "1", "--points", "3", "--threads", "1", "--out",
                             path, NULL};
enum { ARGC = sizeof argv_sweep / sizeof argv_sweep[0] - 1 };

static void setup(void)
{
    char dir[] = "/tmp/sw-fuzz-resume.XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/s.csv", dir);
    char *argv[ARGC + 1];
    memcpy(argv, argv_sweep, sizeof argv);
    if (sw_cmd_sweep(ARGC, argv) != 0)
        abort();
    /* The head: everything up to and including the header row. */
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;
    head = calloc(1, 1 << 16);
    while ((k = getline(&line, &cap, fp)) > 0 && head_len + (size_t)k < (1 << 16)) {
        memcpy(head + head_len, line, (size_t)k);
        head_len += (size_t)k;
        if (strncmp(line, "point,", 6) == 0)
            break;
    }
    free(line);
    fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char scratch[64];
    int fd = sw_fuzz_file(NULL, 0, scratch, sizeof scratch); /* GSL's handler */
    if (fd >= 0)
        close(fd);
    if (!head)
        setup();
    FILE *fp = fopen(path, "w");
    if (!fp || fwrite(head, 1, head_len, fp) != head_len || fwrite(data, 1, size, fp) != size)
        abort();
    fclose(fp);
    char *argv[ARGC + 1];
    memcpy(argv, argv_sweep, sizeof argv);
    int rc = sw_cmd_sweep(ARGC, argv);
    if (rc != 0 && rc != 2)
        abort();
    return 0;
}
