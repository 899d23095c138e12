/* Shared by the fuzz targets: each reader takes a path, so an input is
 * handed over as an in-memory file named /proc/self/fd/N. */
#ifndef SW_FUZZ_H
#define SW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The data as a file: writes it to a memfd and formats its name into
 * path (len bytes).  Returns the descriptor (close it), or -1. */
int sw_fuzz_file(const uint8_t *data, size_t size, char *path, size_t len);

#endif
