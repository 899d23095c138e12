/* Presets: INI files of `KEY = VALUE` lines.  The reader is strict on
 * purpose: a preset means exactly what its lines say or it is refused.  No
 * continuation lines, no inline comments, no NUL bytes, no line or file past
 * the limits of lines.h; `[section]` lines only group keys; blank lines and
 * lines starting with '#' or ';' are skipped. */
#ifndef STAGEWISE_PRESET_H
#define STAGEWISE_PRESET_H

#include "stagewise/error.h"

/* Called for each pair in file order; a nonzero return stops the reading
 * with SW_EFAIL (out of memory). */
typedef int (*sw_preset_fn)(void *ctx, const char *key, const char *value);

/* SW_EINPUT with "preset: ..." naming the file and line for anything else. */
int sw_preset_read(const char *path, sw_preset_fn fn, void *ctx, sw_err *e);

#endif
