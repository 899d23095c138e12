#include "stagewise/version.h"

const char *sw_version(void)
{
    return STAGEWISE_VERSION;
}
