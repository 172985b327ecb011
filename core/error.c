#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/error.h"

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

tb_status tb_error_setv(tb_error *err, tb_status status, const char *fmt, va_list ap)
{
    if (!err)
        return status;
    char *msg = vformat(fmt, ap);
    free(err->message);
    err->message = msg;
    err->status = status;
    return status;
}

tb_status tb_error_set(tb_error *err, tb_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tb_error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

tb_status tb_error_prefix(tb_error *err, const char *fmt, ...)
{
    if (!err)
        return TB_ERR_OTHER;
    va_list ap;
    va_start(ap, fmt);
    char *head = vformat(fmt, ap);
    va_end(ap);
    if (!head)
        return err->status;
    const char *tail = err->message ? err->message : "";
    size_t n = strlen(head) + strlen(tail) + 1;
    char *msg = malloc(n);
    if (msg) {
        snprintf(msg, n, "%s%s", head, tail);
        free(err->message);
        err->message = msg;
    }
    free(head);
    return err->status;
}

const char *tb_error_message(const tb_error *err)
{
    if (!err || !err->message)
        return "no error";
    return err->message;
}

void tb_error_clear(tb_error *err)
{
    if (!err)
        return;
    free(err->message);
    err->message = NULL;
    err->status = TB_OK;
}

const char *tb_status_name(tb_status status)
{
    switch (status) {
    case TB_OK: return "ok";
    case TB_ERR_OTHER: return "error";
    case TB_ERR_SCENARIO: return "scenario error";
    case TB_ERR_DEVICE: return "device error";
    case TB_ERR_INPUT: return "input-file error";
    case TB_ERR_DIVERGED: return "simulation diverged";
    case TB_ERR_RESUME: return "nothing to resume";
    case TB_ERR_INTERRUPTED: return "interrupted";
    }
    return "error";
}
