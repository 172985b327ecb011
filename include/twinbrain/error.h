/* Error codes and the message object every fallible call fills.
 *
 * The numeric values are the process exit statuses documented in
 * DESIGN.md section 6, so the command line can return them unchanged. */
#ifndef TWINBRAIN_ERROR_H
#define TWINBRAIN_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_status {
    TB_OK = 0,
    TB_ERR_OTHER = 1,     /* anything else (out of memory, I/O on output, internal) */
    TB_ERR_SCENARIO = 2,  /* usage or scenario error */
    TB_ERR_DEVICE = 3,    /* device, OpenCL or kernel-build error */
    TB_ERR_INPUT = 4,     /* an input file is missing or malformed */
    TB_ERR_DIVERGED = 5,  /* the simulation produced NaN or Inf */
    TB_ERR_RESUME = 6,    /* nothing to resume: no whole checkpoint, or the kind cannot checkpoint */
    TB_ERR_INTERRUPTED = 130 /* stopped by a signal; output kept up to the last chunk */
} tb_status;

/* A message object. Zero-initialise it ({0}); tb_error_clear() frees it.
 * Every function taking a tb_error * accepts NULL when the caller does not
 * want the text. */
typedef struct tb_error {
    tb_status status;
    char *message;
} tb_error;

/* Replace the message; returns `status` so callers can write
 * `return tb_error_set(err, TB_ERR_INPUT, "%s: not found", path);` */
tb_status tb_error_set(tb_error *err, tb_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
tb_status tb_error_setv(tb_error *err, tb_status status, const char *fmt, va_list ap);

/* Put context in front of the current message ("while loading X: ..."). */
tb_status tb_error_prefix(tb_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;


const char *tb_error_message(const tb_error *err);
void tb_error_clear(tb_error *err);
const char *tb_status_name(tb_status status);

#ifdef __cplusplus
}
#endif
#endif
