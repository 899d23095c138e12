#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stagewise/error.h"

#include "fuzz.h"

int sw_fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
    sw_init(); /* as the command line does (error.h) */
    int fd = memfd_create("sw-fuzz", 0);
    if (fd < 0)
        return -1;
    for (size_t done = 0; done < size;) {
        ssize_t k = write(fd, data + done, size - done);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)k;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}
