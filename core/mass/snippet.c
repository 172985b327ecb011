/* Static checks of a model's dfun snippet before it is compiled: a
 * derivative the snippet never assigns would otherwise be an uninitialised
 * local, that is garbage, with no message from any OpenCL compiler. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "mass_internal.h"

static bool ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Past a comment or a string/character literal starting at s (s itself
 * when there is none), so that their text never counts as code. */
static const char *skip_inert(const char *s)
{
    if (s[0] == '/' && s[1] == '/')
        return s + strcspn(s, "\n");
    if (s[0] == '/' && s[1] == '*') {
        const char *end = strstr(s + 2, "*/");
        return end ? end + 2 : s + strlen(s);
    }
    if (*s == '"' || *s == '\'') {
        const char q = *s++;
        while (*s && *s != q && *s != '\n')
            s += s[0] == '\\' && s[1] ? 2 : 1;
        return *s == q ? s + 1 : s;
    }
    return s;
}

/* The next character that is code: blanks and comments skipped. */
static const char *next_code(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s))
            ++s;
        if (!(s[0] == '/' && (s[1] == '/' || s[1] == '*')))
            return s;
        s = skip_inert(s);
    }
}

/* The code character before position p (from start; 0 when none).
 * Comments between are rare enough before an identifier to ignore. */
static char prev_code(const char *start, const char *p, const char **at)
{
    while (p > start && isspace((unsigned char)p[-1]))
        --p;
    *at = p > start ? p - 1 : NULL;
    return *at ? **at : 0;
}

/* An occurrence of the variable that gives it a value: `d = ...` (not
 * `d == ...`), or `&d`, its address handed to a helper that fills it.
 * A member (`s.d`, `p->d`) is another variable. */
static bool assigns_here(const char *start, const char *id, const char *after)
{
    const char *at;
    char before = prev_code(start, id, &at);
    if (before == '.' || (before == '>' && at > start && at[-1] == '-'))
        return false;
    if (before == '&' && !(at > start && at[-1] == '&'))
        return true;
    const char *n = next_code(after);
    return n[0] == '=' && n[1] != '=';
}

bool tb_mass_snippet_assigns(const char *code, const char *name)
{
    const size_t len = strlen(name);
    for (const char *s = code; *s;) {
        const char *past = skip_inert(s);
        if (past != s) {
            s = past;
        } else if (ident_start(*s) || isdigit((unsigned char)*s)) {
            /* a whole token: dx is not found inside dxy, x1e5 or 1e5 */
            const char *end = s + 1;
            while (ident_char(*end))
                ++end;
            if (ident_start(*s) && (size_t)(end - s) == len && memcmp(s, name, len) == 0 &&
                assigns_here(code, s, end))
                return true;
            s = end;
        } else {
            ++s;
        }
    }
    return false;
}

tb_status tb_mass_check_dfun(const tb_mass_model *md, const char *model_name, tb_error *err)
{
    for (size_t v = 0; v < md->n_vars; ++v) {
        char *d = tb_asprintf("d%s", md->vars[v].name);
        bool ok = d && tb_mass_snippet_assigns(md->dfun ? md->dfun : "", d);
        if (!ok)
            tb_error_set(err, TB_ERR_DEVICE,
                         "model '%s': the dfun snippet never assigns %s, the derivative of state variable '%s' "
                         "(every d<variable> must be given a value: %s = ...;)",
                         model_name, d ? d : "d", md->vars[v].name, d ? d : "d");
        free(d);
        if (!ok)
            return TB_ERR_DEVICE;
    }
    return TB_OK;
}
