/* `reproduce --quick` end to end: every section, every file each section's
 * commands name, every figure (at least 12), every number in the results
 * finite and every row with a reference value. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"

static void quick_report_is_complete(void **state)
{
    (void)state;
    char *dir = swt_tmpdir(), *out = NULL, *err = NULL;
    assert_int_equal(swt_run(&out, &err, "reproduce --quick --out %s", dir), 0);

    /* The sections are those `reproduce --help` lists. */
    char *help = NULL;
    assert_int_equal(swt_run(&help, NULL, "reproduce --help"), 0);
    size_t n_sections = 0;
    for (char *p = strstr(help, "sections:\n"); p && (p = strchr(p, '\n')) && p[1] == ' '; p++)
        n_sections++;
    assert_true(n_sections >= 6);

    char path[600];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = swt_slurp(path);
    size_t found = 0;
    for (char *p = md; (p = strstr(p, "\n## ")); p++)
        found++;
    assert_int_equal(found, n_sections);
    assert_null(strstr(md, "**Failed:**"));

    /* Every figure the report shows exists and is a PNG. */
    size_t figures = 0;
    for (char *p = md; (p = strstr(p, "](")); p += 2) {
        char name[128];
        assert_int_equal(sscanf(p + 2, "%127[^)]", name), 1);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        unsigned char sig[4] = {0};
        assert_int_equal(fread(sig, 1, 4, fp), 4);
        fclose(fp);
        assert_memory_equal(sig, "\x89PNG", 4);
        figures++;
    }
    assert_true(figures >= 12);

    /* Every file a command writes (--out/--json) is there. */
    for (char *p = md; (p = strstr(p, " --")); p += 3) {
        char opt[16], file[256];
        if (sscanf(p + 3, "%15[a-z] %255s", opt, file) == 2 &&
            (!strcmp(opt, "out") || !strcmp(opt, "json")))
            if (!swt_file_exists(file))
                fail_msg("%s (from --%s) missing", file, opt);
    }

    /* The "ours" column of every results row: no NaN, no infinity. */
    size_t rows = 0;
    for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "| ", 2) != 0 || strstr(line, "| result |"))
            continue;
        char *a = strchr(line + 1, '|'), *b = a ? strchr(a + 1, '|') : NULL;
        assert_non_null(b);
        /* Every row names its reference: a paper, a theory, or "none: new". */
        char *c = strchr(b + 1, '|');
        assert_non_null(c);
        if (strspn(b + 1, " ") == (size_t)(c - b - 1))
            fail_msg("no reference value: %s", line);
        *b = '\0';
        if (strstr(a, "nan") || strstr(a, "inf") || strstr(a, "?"))
            fail_msg("not a finite result: %s", line);
        rows++;
    }
    assert_true(rows >= 20);

    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = swt_slurp(path);
    assert_non_null(strstr(html, "data:image/png;base64,"));
    free(html);
    free(md);
    free(help);
    free(out);
    free(err);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void unknown_section_is_refused(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(swt_run(NULL, &err, "reproduce nosuch --out /nonexistent"), 2);
    assert_non_null(strstr(err, "unknown section 'nosuch' (allowed: stages"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_section_is_refused),
        cmocka_unit_test(quick_report_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
