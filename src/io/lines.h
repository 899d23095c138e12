/* Text input read a line at a time under limits.  Every reader of user
 * files (presets, initial states, CSV results) goes through this, so a
 * directory, a device that never ends (/dev/zero), binary junk or a file
 * far larger than any result fails at once with one line instead of
 * hanging, exhausting memory, or being half-read. */
#ifndef STAGEWISE_LINES_H
#define STAGEWISE_LINES_H

#include <stdio.h>

#include "stagewise/error.h"

/* Limits of the readers (bytes).  A preset is a handful of short lines; a
 * state or a result row may be long (one value per coordinate). */
#define SW_PRESET_MAX_LINE 4096
#define SW_PRESET_MAX_BYTES (1u << 20)
#define SW_DATA_MAX_LINE (64u << 20)
#define SW_DATA_MAX_BYTES (4ull << 30)

typedef struct sw_lines {
    FILE *fp;
    const char *path, *what;
    char *buf;
    size_t cap, max_line;
    unsigned long long bytes, max_bytes;
    long lineno;
} sw_lines;

/* what prefixes every message ("preset", "init", or NULL).  SW_EINPUT when
 * the file cannot be opened or is a directory. */
int sw_lines_open(sw_lines *r, const char *path, const char *what, size_t max_line,
                  unsigned long long max_bytes, sw_err *e);
/* The same over the len bytes at buf (not copied: they must outlive r),
 * which name stands for in messages: text already read, under a lock. */
int sw_lines_open_mem(sw_lines *r, const char *buf, size_t len, const char *name,
                      const char *what, size_t max_line, unsigned long long max_bytes, sw_err *e);
/* The next line, without its line end, in *line (owned by r, valid until the
 * next call); *line = NULL at the end.  SW_EINPUT naming the file and line
 * for a NUL or other control byte (all but tab, CR, form feed), a line
 * longer than max_line, a file longer than max_bytes, or a read error. */
int sw_lines_next(sw_lines *r, char **line, sw_err *e);
void sw_lines_close(sw_lines *r);
/* s without its leading blanks and tabs and trailing blanks, tabs, CR and
 * LF (cut in place); the readers' one notion of surrounding space. */
char *sw_lines_trim(char *s);

#endif
