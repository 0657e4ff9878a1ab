#include "gp_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gp_errorf(gp_error *err, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int gp_error_prefix(gp_error *err, const char *fmt, ...)
{
    if (!err) return -1;
    char head[GP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char old[GP_ERROR_MAX];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    return -1;
}

void gp_error_clear(gp_error *err)
{
    if (err) err->msg[0] = '\0';
}
