/* TOML 1.0.0: parser, document model, writer and toml-test's tagged JSON.
 *
 * The parser is a hand-written recursive descent over the raw bytes. It keeps
 * no state outside the `parser` object on the caller's stack, so several
 * threads may parse at once. Every error stops the parse and names
 * file:line:col, with the column counted in bytes. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"
#include "twinbrain/toml.h"

/* Bits of tb_toml_value.flags. TOML's redefinition rules depend on how a
 * table came to exist, so the parser records it here. */
enum {
    TF_DEFINED = 1u << 0, /* named by its own [header], or an element of [[...]] */
    TF_INLINE = 1u << 1,  /* an inline table (or inside one): closed for good */
    TF_AOT = 1u << 2,     /* array made by [[header]]: later [[header]]s append */
    TF_DOTTED = 1u << 3,  /* made by a dotted key: dotted keys may extend it, headers may not name it */
    TF_ML = 1u << 4,      /* a string between triple quotes */
    TF_ML_NEWLINE = 1u << 5 /* ... whose text starts on the next line (the newline after the quotes is not text) */
};

/* Bounds recursion (and so stack use) on hostile input: nesting of arrays,
 * inline tables and key parts together. */
#define MAX_DEPTH 256

/* ------------------------------------------------------------------ buffers */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static bool sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->n + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_putc(sbuf *b, char c) { sb_put(b, &c, 1); }
static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* Hands the text to the caller (never NULL unless out of memory). */
static char *sb_finish(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p)
        return calloc(1, 1);
    return b->p;
}

static void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ------------------------------------------------------------ number text */

/* strtod and printf follow LC_NUMERIC; TOML always uses '.'. The program
 * may have called setlocale, so translate instead of assuming "C". */
static char locale_point(void)
{
    const char *dp = localeconv()->decimal_point;
    return (dp && dp[0] && !dp[1]) ? dp[0] : '.';
}

static double c_strtod(const char *s)
{
    char buf[128];
    size_t n = strlen(s);
    char point = locale_point();
    if (point == '.' || n >= sizeof buf)
        return strtod(s, NULL);
    memcpy(buf, s, n + 1);
    for (char *q = buf; *q; q++)
        if (*q == '.')
            *q = point;
    return strtod(buf, NULL);
}

/* The shortest of %.15g..%.17g that reads back to exactly `d`, always with a
 * '.' or exponent so that it stays a float when parsed again. */
static void format_double(double d, char *buf, size_t n)
{
    if (isnan(d)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, n, d < 0 ? "-inf" : "inf");
        return;
    }
    char point = locale_point();
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        for (char *q = buf; *q; q++)
            if (*q == point)
                *q = '.';
        if (c_strtod(buf) == d)
            break;
    }
    if (!strpbrk(buf, ".eE")) {
        size_t len = strlen(buf);
        if (len + 3 <= n)
            memcpy(buf + len, ".0", 3);
    }
}

/* ------------------------------------------------------------ value model */

static tb_toml_value *value_new(tb_toml_type type, tb_toml_pos pos)
{
    tb_toml_value *v = calloc(1, sizeof *v);
    if (v) {
        v->type = type;
        v->pos = pos;
    }
    return v;
}

static bool has_text(tb_toml_type t)
{
    return t == TB_TOML_STRING || t == TB_TOML_DATETIME || t == TB_TOML_DATETIME_LOCAL ||
           t == TB_TOML_DATE_LOCAL || t == TB_TOML_TIME_LOCAL;
}

static tb_toml_value *text_value(tb_toml_type type, const char *s, size_t len, tb_toml_pos pos)
{
    tb_toml_value *v = value_new(type, pos);
    if (!v)
        return NULL;
    v->u.s.ptr = dup_bytes(s, len);
    if (!v->u.s.ptr) {
        free(v);
        return NULL;
    }
    v->u.s.len = len;
    return v;
}

/* ------------------------------------------------------------- key index
 *
 * Tables keep their keys in document order (`items`), but a document may
 * hold a great many keys (a generated sweep, a hostile file), and a linear
 * search per key made parsing quadratic. A table of INDEX_MIN keys or more
 * therefore also has an open-addressing hash of positions in `items`, at
 * most half full, so that a look-up costs a few probes. Without an index
 * (a small table, or when memory ran out) the search is linear. */

#define INDEX_MIN 8

struct tb_toml_index {
    size_t mask;  /* number of slots - 1 (a power of two) */
    size_t *slot; /* 1 + the key's position in items; 0 when empty */
};

/* Slots and keys looked at by this thread's look-ups: the test that keeps
 * parsing linear counts these instead of timing it. */
static _Thread_local unsigned long long key_probes;

unsigned long long tb_toml_key_probes(void) { return key_probes; }

/* FNV-1a, folded so that the low bits (the slot) depend on every byte. */
static size_t key_hash(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

static bool same_key(const tb_toml_kv *kv, const char *key, size_t len)
{
    key_probes++;
    return kv->keylen == len && memcmp(kv->key, key, len) == 0;
}

static void index_free(struct tb_toml_index *ix)
{
    if (ix)
        free(ix->slot);
    free(ix);
}

/* Enters items[i] into an index that has room for it. */
static void index_put(struct tb_toml_index *ix, const tb_toml_kv *items, size_t i)
{
    size_t s = key_hash(items[i].key, items[i].keylen) & ix->mask;
    while (ix->slot[s])
        s = (s + 1) & ix->mask;
    ix->slot[s] = i + 1;
}

/* A fresh index of t's keys with room for `room` keys; when memory runs
 * out the table is left without one (slower, still correct). */
static void index_build(tb_toml_value *t, size_t room)
{
    index_free(t->u.tab.index);
    t->u.tab.index = NULL;
    size_t slots = 16;
    while (slots < 2 * room)
        slots *= 2;
    struct tb_toml_index *ix = malloc(sizeof *ix);
    size_t *slot = calloc(slots, sizeof *slot);
    if (!ix || !slot) {
        free(ix);
        free(slot);
        return;
    }
    ix->mask = slots - 1;
    ix->slot = slot;
    for (size_t i = 0; i < t->u.tab.n; i++)
        index_put(ix, t->u.tab.items, i);
    t->u.tab.index = ix;
}

/* Keeps the index in step with the key just appended (the last one);
 * doubling the room when it gets half full keeps appends linear overall. */
static void index_appended(tb_toml_value *t)
{
    size_t n = t->u.tab.n;
    struct tb_toml_index *ix = t->u.tab.index;
    if (ix && 2 * n <= ix->mask + 1)
        index_put(ix, t->u.tab.items, n - 1);
    else if (n >= INDEX_MIN)
        index_build(t, 2 * n);
}

static tb_toml_kv *table_find(const tb_toml_value *t, const char *key, size_t len)
{
    if (!t || t->type != TB_TOML_TABLE)
        return NULL;
    const struct tb_toml_index *ix = t->u.tab.index;
    if (!ix) {
        for (size_t i = 0; i < t->u.tab.n; i++)
            if (same_key(&t->u.tab.items[i], key, len))
                return &t->u.tab.items[i];
        return NULL;
    }
    for (size_t s = key_hash(key, len) & ix->mask; ix->slot[s]; s = (s + 1) & ix->mask) {
        tb_toml_kv *kv = &t->u.tab.items[ix->slot[s] - 1];
        if (same_key(kv, key, len))
            return kv;
    }
    return NULL;
}

void tb_toml_free(tb_toml_value *v)
{
    if (!v)
        return;
    if (v->type == TB_TOML_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            tb_toml_free(v->u.arr.items[i]);
        free(v->u.arr.items);
    } else if (v->type == TB_TOML_TABLE) {
        for (size_t i = 0; i < v->u.tab.n; i++) {
            free(v->u.tab.items[i].key);
            tb_toml_free(v->u.tab.items[i].value);
        }
        free(v->u.tab.items);
        index_free(v->u.tab.index);
    } else if (has_text(v->type)) {
        free(v->u.s.ptr);
    }
    free(v);
}

/* Appends without checking for duplicates; on failure `v` stays the caller's. */
static tb_toml_kv *table_append(tb_toml_value *t, const char *key, size_t len, tb_toml_pos pos,
                                tb_toml_value *v)
{
    if (t->u.tab.n == t->u.tab.cap) {
        size_t cap = t->u.tab.cap ? 2 * t->u.tab.cap : 8;
        tb_toml_kv *items = realloc(t->u.tab.items, cap * sizeof *items);
        if (!items)
            return NULL;
        t->u.tab.items = items;
        t->u.tab.cap = cap;
    }
    char *k = dup_bytes(key, len);
    if (!k)
        return NULL;
    tb_toml_kv *kv = &t->u.tab.items[t->u.tab.n++];
    kv->key = k;
    kv->keylen = len;
    kv->pos = pos;
    kv->value = v;
    index_appended(t);
    return kv;
}

static bool array_append(tb_toml_value *a, tb_toml_value *v)
{
    if (a->u.arr.n == a->u.arr.cap) {
        size_t cap = a->u.arr.cap ? 2 * a->u.arr.cap : 8;
        tb_toml_value **items = realloc(a->u.arr.items, cap * sizeof *items);
        if (!items)
            return false;
        a->u.arr.items = items;
        a->u.arr.cap = cap;
    }
    a->u.arr.items[a->u.arr.n++] = v;
    return true;
}

const char *tb_toml_type_name(tb_toml_type t)
{
    switch (t) {
    case TB_TOML_STRING: return "string";
    case TB_TOML_INTEGER: return "integer";
    case TB_TOML_FLOAT: return "float";
    case TB_TOML_BOOL: return "boolean";
    case TB_TOML_DATETIME: return "offset date-time";
    case TB_TOML_DATETIME_LOCAL: return "local date-time";
    case TB_TOML_DATE_LOCAL: return "local date";
    case TB_TOML_TIME_LOCAL: return "local time";
    case TB_TOML_ARRAY: return "array";
    case TB_TOML_TABLE: return "table";
    }
    return "value";
}

/* "an integer", "a table": for messages. */
static const char *a_type(const tb_toml_value *v)
{
    switch (v->type) {
    case TB_TOML_STRING: return "a string";
    case TB_TOML_INTEGER: return "an integer";
    case TB_TOML_FLOAT: return "a float";
    case TB_TOML_BOOL: return "a boolean";
    case TB_TOML_DATETIME: return "an offset date-time";
    case TB_TOML_DATETIME_LOCAL: return "a local date-time";
    case TB_TOML_DATE_LOCAL: return "a local date";
    case TB_TOML_TIME_LOCAL: return "a local time";
    case TB_TOML_ARRAY: return "an array";
    case TB_TOML_TABLE: return "a table";
    }
    return "a value";
}

/* ------------------------------------------------------------- the parser */

typedef struct parser {
    const char *src;
    size_t len, pos;
    int line;
    size_t line_start; /* offset of the current line's first byte */
    const char *name;
    tb_error *err;
    bool failed;
    int depth;
} parser;

typedef struct keypart {
    char *s;
    size_t len;
    tb_toml_pos pos;
} keypart;

typedef struct keypath {
    keypart *parts;
    size_t n, cap;
} keypath;

static void parser_init(parser *p, const char *text, size_t len, const char *name, tb_error *err)
{
    memset(p, 0, sizeof *p);
    p->src = text ? text : "";
    p->len = text ? len : 0;
    p->line = 1;
    p->name = name ? name : "<input>";
    p->err = err;
}

static tb_toml_pos here(const parser *p)
{
    return (tb_toml_pos){p->line, (int)(p->pos - p->line_start) + 1};
}

static int peek_at(const parser *p, size_t k)
{
    return p->pos + k < p->len ? (unsigned char)p->src[p->pos + k] : -1;
}

static int peek(const parser *p) { return peek_at(p, 0); }

static void advance(parser *p)
{
    if (p->pos >= p->len)
        return;
    if (p->src[p->pos] == '\n') {
        p->line++;
        p->line_start = p->pos + 1;
    }
    p->pos++;
}

static void advance_n(parser *p, size_t n)
{
    while (n--)
        advance(p);
}

/* Only the first error is kept: later ones are consequences of it. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool fail(parser *p, tb_toml_pos at, const char *fmt, ...)
{
    if (p->failed)
        return false;
    p->failed = true;
    sbuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && sb_reserve(&msg, (size_t)n)) {
        va_start(ap, fmt);
        vsnprintf(msg.p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    tb_error_set(p->err, TB_ERR_SCENARIO, "%s:%d:%d: %s", p->name, at.line, at.col,
                 msg.p ? msg.p : "syntax error");
    sb_free(&msg);
    return false;
}

static bool fail_oom(parser *p)
{
    if (!p->failed) {
        p->failed = true;
        tb_error_set(p->err, TB_ERR_OTHER, "%s: out of memory while reading TOML", p->name);
    }
    return false;
}

static bool is_control(int c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}
/* Characters that can continue a number, date or keyword token. */
static bool is_token_char(int c) { return is_bare_key_char(c) || c == '.' || c == '+' || c == ':'; }

/* What the parser is looking at, in words: "'x'", "end of line", ... */
static const char *describe(const parser *p, char *buf, size_t n)
{
    int c = peek(p);
    if (c < 0)
        snprintf(buf, n, "end of file");
    else if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
        snprintf(buf, n, "end of line");
    else if (c == '\t')
        snprintf(buf, n, "a tab");
    else if (is_control(c))
        snprintf(buf, n, "control character U+%04X", (unsigned)c);
    else if (c < 0x80)
        snprintf(buf, n, "'%c'", c);
    else {
        /* Name the code point too: many culprits (BOM, no-break or
         * ideographic space) are invisible. */
        uint32_t cp = (uint32_t)c & (c >= 0xF0 ? 0x07 : c >= 0xE0 ? 0x0F : 0x1F);
        size_t k = 1;
        for (; k < 4 && (peek_at(p, k) & 0xC0) == 0x80; k++)
            cp = (cp << 6) | ((uint32_t)peek_at(p, k) & 0x3F);
        snprintf(buf, n, "'%.*s' (U+%04" PRIX32 ")", (int)k, p->src + p->pos, cp);
    }
    return buf;
}

/* A key as the user would write it, parts joined by dots. */
static void put_key_text(sbuf *b, const char *s, size_t len);

static char *keypath_text(const keypath *k, size_t upto)
{
    sbuf b = {0};
    for (size_t i = 0; i < upto && i < k->n; i++) {
        if (i)
            sb_putc(&b, '.');
        put_key_text(&b, k->parts[i].s, k->parts[i].len);
    }
    return sb_finish(&b);
}

static void keypath_free(keypath *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->parts[i].s);
    free(k->parts);
    k->parts = NULL;
    k->n = k->cap = 0;
}

/* ------------------------------------------------------ whitespace, lines */

static void skip_ws(parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        advance(p);
}

/* Consumes a newline; 1 when one was there, 0 when not, -1 on a bare CR. */
static int take_newline(parser *p)
{
    int c = peek(p);
    if (c == '\n') {
        advance(p);
        return 1;
    }
    if (c == '\r') {
        if (peek_at(p, 1) == '\n') {
            advance_n(p, 2);
            return 1;
        }
        fail(p, here(p), "carriage return (CR) not followed by a line feed (LF)");
        return -1;
    }
    return 0;
}

static bool skip_comment(parser *p)
{
    if (peek(p) != '#')
        return true;
    for (advance(p);; advance(p)) {
        int c = peek(p);
        if (c < 0 || c == '\n' || c == '\r')
            return true;
        if (is_control(c))
            return fail(p, here(p), "control character U+%04X is not allowed in a comment",
                        (unsigned)c);
    }
}

/* Whitespace, newlines and comments, as allowed between array elements. */
static bool skip_blank(parser *p)
{
    for (;;) {
        skip_ws(p);
        if (!skip_comment(p))
            return false;
        int r = take_newline(p);
        if (r < 0)
            return false;
        if (r == 0)
            return true;
    }
}

/* After a value or header only a comment may follow on the line; `what`
 * names the thing just read, for the message. */
static bool expect_eol(parser *p, const char *what)
{
    skip_ws(p);
    if (!skip_comment(p))
        return false;
    if (peek(p) < 0)
        return true;
    int r = take_newline(p);
    if (r != 0)
        return r > 0;
    char d[32];
    return fail(p, here(p), "expected end of line after %s, found %s", what,
                describe(p, d, sizeof d));
}

/* ---------------------------------------------------------------- strings */

static void put_utf8(sbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sb_put(b, u, n);
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool parse_unicode_escape(parser *p, sbuf *out, tb_toml_pos at, int ndigits)
{
    uint32_t cp = 0;
    for (int i = 0; i < ndigits; i++) {
        int h = hex_value(peek(p));
        if (h < 0)
            return fail(p, at, "escape \\%c needs exactly %d hexadecimal digits",
                        ndigits == 4 ? 'u' : 'U', ndigits);
        cp = cp * 16 + (uint32_t)h;
        advance(p);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(p, at, "escape \\%c%0*" PRIX32 " is not a Unicode scalar value",
                    ndigits == 4 ? 'u' : 'U', ndigits, cp);
    put_utf8(out, cp);
    return true;
}

/* At a backslash inside a basic string. */
static bool parse_escape(parser *p, sbuf *out)
{
    tb_toml_pos at = here(p);
    advance(p);
    int c = peek(p);
    const char *simple = "b\bt\tn\nf\fr\r\"\"\\\\";
    for (const char *s = simple; *s; s += 2) {
        if (c == *s) {
            sb_putc(out, s[1]);
            advance(p);
            return true;
        }
    }
    if (c == 'u' || c == 'U') {
        advance(p);
        return parse_unicode_escape(p, out, at, c == 'u' ? 4 : 8);
    }
    if (c < 0x20 || c >= 0x7f)
        return fail(p, at, "invalid escape sequence: a lone backslash (write \\\\ for a backslash)");
    return fail(p, at, "invalid escape sequence '\\%c' (write \\\\ for a backslash)", c);
}

static bool bad_string_char(parser *p, int c, const char *kind)
{
    return fail(p, here(p), "control character U+%04X is not allowed in a %s; use an escape",
                (unsigned)c, kind);
}

static bool parse_basic_string(parser *p, sbuf *out)
{
    tb_toml_pos start = here(p);
    advance(p);
    for (;;) {
        int c = peek(p);
        if (c < 0 || c == '\n' || c == '\r')
            return fail(p, start, "unterminated string: missing closing '\"' on this line");
        if (c == '"') {
            advance(p);
            return true;
        }
        if (c == '\\') {
            if (!parse_escape(p, out))
                return false;
            continue;
        }
        if (is_control(c))
            return bad_string_char(p, c, "string");
        sb_putc(out, (char)c);
        advance(p);
    }
}

static bool parse_literal_string(parser *p, sbuf *out)
{
    tb_toml_pos start = here(p);
    advance(p);
    for (;;) {
        int c = peek(p);
        if (c < 0 || c == '\n' || c == '\r')
            return fail(p, start, "unterminated literal string: missing closing \"'\" on this line");
        if (c == '\'') {
            advance(p);
            return true;
        }
        if (is_control(c))
            return fail(p, here(p), "control character U+%04X is not allowed in a literal string",
                        (unsigned)c);
        sb_putc(out, (char)c);
        advance(p);
    }
}

/* A run of quote characters inside a multi-line string: up to two may be
 * content just before the closing three. Returns 1 when the string ended. */
static int ml_quotes(parser *p, sbuf *out, char q)
{
    size_t n = 0;
    while (peek_at(p, n) == q)
        n++;
    if (n < 3) {
        sb_put(out, p->src + p->pos, n);
        advance_n(p, n);
        return 0;
    }
    if (n > 5) {
        fail(p, here(p), "too many quote characters in a row at the end of a multi-line string");
        return -1;
    }
    sb_put(out, p->src + p->pos, n - 3);
    advance_n(p, n);
    return 1;
}

/* A backslash that ends a line in a """ string swallows the newline and all
 * whitespace after it. Returns 1 when it was one, 0 when it is an escape. */
static int ml_line_continuation(parser *p)
{
    size_t k = 1;
    while (peek_at(p, k) == ' ' || peek_at(p, k) == '\t')
        k++;
    if (!(peek_at(p, k) == '\n' || (peek_at(p, k) == '\r' && peek_at(p, k + 1) == '\n')))
        return 0;
    advance_n(p, k);
    for (;;) {
        skip_ws(p);
        int r = take_newline(p);
        if (r < 0)
            return -1;
        if (r == 0)
            return 1;
    }
}

static bool ml_newline(parser *p, sbuf *out)
{
    if (take_newline(p) < 0)
        return false;
    sb_putc(out, '\n'); /* CRLF becomes LF, so text does not depend on the editor */
    return true;
}

static bool parse_ml_string(parser *p, sbuf *out, char q, unsigned *flags)
{
    tb_toml_pos start = here(p);
    const char *kind = q == '"' ? "multi-line string" : "multi-line literal string";
    advance_n(p, 3);
    *flags = TF_ML;
    if (peek(p) == '\n' || (peek(p) == '\r' && peek_at(p, 1) == '\n')) {
        take_newline(p); /* a newline right after the opening quotes is not content */
        *flags |= TF_ML_NEWLINE;
    }
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, start, "unterminated %s: missing closing %c%c%c", kind, q, q, q);
        if (c == q) {
            int r = ml_quotes(p, out, q);
            if (r)
                return r > 0;
        } else if (c == '\\' && q == '"') {
            int r = ml_line_continuation(p);
            if (r < 0 || (r == 0 && !parse_escape(p, out)))
                return false;
        } else if (c == '\n' || c == '\r') {
            if (!ml_newline(p, out))
                return false;
        } else if (is_control(c)) {
            return q == '"' ? bad_string_char(p, c, kind)
                            : fail(p, here(p), "control character U+%04X is not allowed in a %s",
                                   (unsigned)c, kind);
        } else {
            sb_putc(out, (char)c);
            advance(p);
        }
    }
}

static bool starts_ml(const parser *p, char q)
{
    return peek(p) == q && peek_at(p, 1) == q && peek_at(p, 2) == q;
}

static tb_toml_value *parse_string_value(parser *p)
{
    tb_toml_pos at = here(p);
    char q = (char)peek(p);
    sbuf b = {0};
    bool ok;
    unsigned flags = 0;
    if (starts_ml(p, q))
        ok = parse_ml_string(p, &b, q, &flags);
    else
        ok = q == '"' ? parse_basic_string(p, &b) : parse_literal_string(p, &b);
    tb_toml_value *v = NULL;
    if (ok && !b.oom) {
        v = text_value(TB_TOML_STRING, b.p ? b.p : "", b.n, at);
        if (v)
            v->flags = flags;
        else
            fail_oom(p);
    } else if (b.oom) {
        fail_oom(p);
    }
    sb_free(&b);
    return v;
}

/* ------------------------------------------------------------------- keys */

static bool parse_simple_key(parser *p, keypart *out)
{
    out->pos = here(p);
    int c = peek(p);
    sbuf b = {0};
    bool ok = true;
    if (c == '"' || c == '\'') {
        if (starts_ml(p, (char)c))
            return fail(p, out->pos, "a multi-line string cannot be used as a key");
        ok = c == '"' ? parse_basic_string(p, &b) : parse_literal_string(p, &b);
    } else if (is_bare_key_char(c)) {
        size_t start = p->pos;
        while (is_bare_key_char(peek(p)))
            advance(p);
        sb_put(&b, p->src + start, p->pos - start);
    } else {
        char d[32];
        return fail(p, out->pos, "expected a key, found %s", describe(p, d, sizeof d));
    }
    if (ok && b.oom)
        ok = fail_oom(p);
    if (!ok) {
        sb_free(&b);
        return false;
    }
    out->len = b.n;
    out->s = b.p ? b.p : calloc(1, 1);
    return out->s ? true : fail_oom(p);
}

/* simple-key *( ws "." ws simple-key ) */
static bool parse_key(parser *p, keypath *k)
{
    for (;;) {
        if (k->n == MAX_DEPTH)
            return fail(p, here(p), "key has too many dotted parts");
        if (k->n == k->cap) {
            size_t cap = k->cap ? 2 * k->cap : 4;
            keypart *parts = realloc(k->parts, cap * sizeof *parts);
            if (!parts)
                return fail_oom(p);
            k->parts = parts;
            k->cap = cap;
        }
        if (!parse_simple_key(p, &k->parts[k->n]))
            return false;
        k->n++;
        skip_ws(p);
        if (peek(p) != '.')
            return true;
        advance(p);
        skip_ws(p);
    }
}

/* ---------------------------------------------------- numbers, date-times */

/* Digits of `base` with single underscores between digits, from t[*i]. */
static const char *scan_digits(const char *t, size_t n, size_t *i, int base)
{
    size_t start = *i;
    bool prev_digit = false;
    while (*i < n) {
        int c = (unsigned char)t[*i];
        int d = hex_value(c);
        if (c == '_') {
            if (!prev_digit)
                return *i == start ? "a number cannot start with '_'" : "'_' must sit between two digits";
            prev_digit = false;
        } else if (d >= 0 && d < base) {
            prev_digit = true;
        } else {
            break;
        }
        (*i)++;
    }
    if (*i == start)
        return "digits expected";
    if (!prev_digit)
        return "'_' must sit between two digits";
    return NULL;
}

/* Value of digits with underscores, with an overflow check against `limit`. */
static bool digits_value(const char *t, size_t n, int base, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '_')
            continue;
        uint64_t d = (uint64_t)hex_value((unsigned char)t[i]);
        if (v > (limit - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}

static tb_toml_value *number_fail(parser *p, tb_toml_pos at, const char *t, size_t n, const char *why)
{
    fail(p, at, "invalid number '%.*s': %s", (int)n, t, why);
    return NULL;
}

static tb_toml_value *parse_prefixed_int(parser *p, tb_toml_pos at, const char *t, size_t n)
{
    int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    size_t i = 2;
    const char *why = scan_digits(t, n, &i, base);
    if (why || i != n)
        return number_fail(p, at, t, n, why ? why : base == 16 ? "not a hexadecimal digit"
                                          : base == 8 ? "not an octal digit" : "not a binary digit");
    uint64_t u;
    if (!digits_value(t + 2, n - 2, base, (uint64_t)INT64_MAX, &u))
        return number_fail(p, at, t, n, "out of range for a 64-bit integer");
    tb_toml_value *v = value_new(TB_TOML_INTEGER, at);
    if (v)
        v->u.i = (int64_t)u;
    return v;
}

static tb_toml_value *make_float(parser *p, tb_toml_pos at, const char *t, size_t n)
{
    char buf[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof buf; i++)
        if (t[i] != '_')
            buf[k++] = t[i];
    buf[k] = '\0';
    if (k + 1 >= sizeof buf)
        return number_fail(p, at, t, n, "too many digits");
    double d = c_strtod(buf);
    if (isinf(d))
        return number_fail(p, at, t, n, "too large for a 64-bit float");
    tb_toml_value *v = value_new(TB_TOML_FLOAT, at);
    if (v)
        v->u.f = d;
    return v;
}

static tb_toml_value *make_int(parser *p, tb_toml_pos at, const char *t, size_t n, bool neg)
{
    size_t s = (t[0] == '+' || t[0] == '-') ? 1 : 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t u;
    if (!digits_value(t + s, n - s, 10, limit, &u))
        return number_fail(p, at, t, n, "out of range for a 64-bit integer");
    tb_toml_value *v = value_new(TB_TOML_INTEGER, at);
    if (v)
        v->u.i = neg ? (int64_t)(0 - u) : (int64_t)u;
    return v;
}

static tb_toml_value *special_float(tb_toml_pos at, const char *word, bool neg)
{
    tb_toml_value *v = value_new(TB_TOML_FLOAT, at);
    if (v)
        v->u.f = word[0] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
    return v;
}

/* Decimal integers and floats, and inf/nan, over the token t[0..n). */
static tb_toml_value *parse_decimal(parser *p, tb_toml_pos at, const char *t, size_t n)
{
    bool neg = t[0] == '-';
    size_t i = (t[0] == '+' || t[0] == '-') ? 1 : 0;
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0))
        return special_float(at, t + i, neg);
    if (i < n && t[i] == '0' && i + 1 < n && (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b'))
        return number_fail(p, at, t, n, "a sign is not allowed on hexadecimal, octal or binary integers");
    size_t int_start = i;
    const char *why = scan_digits(t, n, &i, 10);
    if (why)
        return number_fail(p, at, t, n, why);
    if (t[int_start] == '0' && i - int_start > 1)
        return number_fail(p, at, t, n, "leading zeros are not allowed");
    bool is_float = false;
    if (i < n && t[i] == '.') {
        i++;
        is_float = true;
        if ((why = scan_digits(t, n, &i, 10)))
            return number_fail(p, at, t, n, "a digit must follow the decimal point");
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        is_float = true;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if ((why = scan_digits(t, n, &i, 10)))
            return number_fail(p, at, t, n, "the exponent needs digits");
    }
    if (i != n)
        return number_fail(p, at, t, n, "unexpected characters");
    return is_float ? make_float(p, at, t, n) : make_int(p, at, t, n, neg);
}

static tb_toml_value *parse_number(parser *p)
{
    tb_toml_pos at = here(p);
    size_t start = p->pos, end = p->pos;
    while (end < p->len && is_token_char((unsigned char)p->src[end]))
        end++;
    const char *t = p->src + start;
    size_t n = end - start;
    p->pos = end; /* a token never spans lines */
    tb_toml_value *v;
    if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b'))
        v = parse_prefixed_int(p, at, t, n);
    else
        v = parse_decimal(p, at, t, n);
    if (!v && !p->failed)
        fail_oom(p);
    return v;
}

/* Exactly `n` digits. */
static bool read_fixed(parser *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int c = peek(p);
        if (!is_digit(c))
            return false;
        v = v * 10 + (c - '0');
        advance(p);
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static bool dt_fail(parser *p, tb_toml_pos at, size_t start, const char *why)
{
    size_t end = p->pos;
    while (end < p->len && is_token_char((unsigned char)p->src[end]))
        end++;
    return fail(p, at, "invalid date/time '%.*s': %s", (int)(end - start), p->src + start, why);
}

static bool parse_date(parser *p, tb_toml_pos at, size_t start)
{
    int y, m, d;
    if (!read_fixed(p, 4, &y) || peek(p) != '-')
        return dt_fail(p, at, start, "expected YYYY-MM-DD");
    advance(p);
    if (!read_fixed(p, 2, &m) || peek(p) != '-')
        return dt_fail(p, at, start, "expected YYYY-MM-DD");
    advance(p);
    if (!read_fixed(p, 2, &d))
        return dt_fail(p, at, start, "expected YYYY-MM-DD");
    if (m < 1 || m > 12)
        return dt_fail(p, at, start, "month must be 01 to 12");
    if (d < 1 || d > days_in_month(y, m))
        return dt_fail(p, at, start, "no such day in that month");
    return true;
}

static bool parse_time(parser *p, tb_toml_pos at, size_t start)
{
    int h, m, s;
    if (!read_fixed(p, 2, &h) || peek(p) != ':')
        return dt_fail(p, at, start, "expected HH:MM:SS");
    advance(p);
    if (!read_fixed(p, 2, &m) || peek(p) != ':')
        return dt_fail(p, at, start, "expected HH:MM:SS (seconds are required)");
    advance(p);
    if (!read_fixed(p, 2, &s))
        return dt_fail(p, at, start, "expected HH:MM:SS");
    if (h > 23 || m > 59 || s > 60)
        return dt_fail(p, at, start, "hour, minute or second out of range");
    if (peek(p) == '.') {
        advance(p);
        if (!is_digit(peek(p)))
            return dt_fail(p, at, start, "a digit must follow the decimal point");
        while (is_digit(peek(p)))
            advance(p);
    }
    return true;
}

static bool parse_offset(parser *p, tb_toml_pos at, size_t start, bool *has)
{
    int c = peek(p);
    *has = true;
    if (c == 'Z' || c == 'z') {
        advance(p);
        return true;
    }
    if (c != '+' && c != '-') {
        *has = false;
        return true;
    }
    advance(p);
    int h, m;
    if (!read_fixed(p, 2, &h) || peek(p) != ':')
        return dt_fail(p, at, start, "time offset must be Z or +HH:MM");
    advance(p);
    if (!read_fixed(p, 2, &m))
        return dt_fail(p, at, start, "time offset must be Z or +HH:MM");
    if (h > 23 || m > 59)
        return dt_fail(p, at, start, "time offset out of range");
    return true;
}

static bool looks_like_date(const parser *p)
{
    for (size_t i = 0; i < 4; i++)
        if (!is_digit(peek_at(p, i)))
            return false;
    return peek_at(p, 4) == '-';
}

static bool looks_like_time(const parser *p)
{
    return is_digit(peek(p)) && is_digit(peek_at(p, 1)) && peek_at(p, 2) == ':';
}

static tb_toml_value *parse_datetime(parser *p)
{
    tb_toml_pos at = here(p);
    size_t start = p->pos;
    bool has_date = looks_like_date(p), has_time = !has_date, has_off = false;
    if (has_date) {
        if (!parse_date(p, at, start))
            return NULL;
        int c = peek(p);
        /* A space separates date and time only when a time follows. */
        if ((c == 'T' || c == 't' || c == ' ') && is_digit(peek_at(p, 1))) {
            advance(p);
            has_time = true;
        }
    }
    if (has_time && !parse_time(p, at, start))
        return NULL;
    if (has_date && has_time && !parse_offset(p, at, start, &has_off))
        return NULL;
    if (is_token_char(peek(p))) {
        dt_fail(p, at, start, "unexpected characters after it");
        return NULL;
    }
    tb_toml_type type = !has_time ? TB_TOML_DATE_LOCAL
                      : !has_date ? TB_TOML_TIME_LOCAL
                      : has_off   ? TB_TOML_DATETIME
                                  : TB_TOML_DATETIME_LOCAL;
    tb_toml_value *v = text_value(type, p->src + start, p->pos - start, at);
    if (!v)
        fail_oom(p);
    return v;
}

/* ------------------------------------------------------------------ values */

static tb_toml_value *parse_value(parser *p);
static bool parse_keyval(parser *p, tb_toml_value *table, char **name_out);

/* An unquoted word: true, false, inf or nan; anything else is most likely a
 * string someone forgot to quote. */
static tb_toml_value *parse_word(parser *p)
{
    tb_toml_pos at = here(p);
    size_t start = p->pos, end = p->pos;
    while (end < p->len && is_token_char((unsigned char)p->src[end]))
        end++;
    const char *t = p->src + start;
    size_t n = end - start;
    if (n == 3 && (memcmp(t, "inf", 3) == 0 || memcmp(t, "nan", 3) == 0))
        return parse_number(p);
    bool is_true = n == 4 && memcmp(t, "true", 4) == 0;
    if (!is_true && !(n == 5 && memcmp(t, "false", 5) == 0)) {
        fail(p, at, "invalid value '%.*s' (strings must be quoted; booleans are true or false)",
             (int)n, t);
        return NULL;
    }
    p->pos = end;
    tb_toml_value *v = value_new(TB_TOML_BOOL, at);
    if (!v)
        fail_oom(p);
    else
        v->u.b = is_true;
    return v;
}

static bool enter(parser *p, int parts)
{
    p->depth += parts;
    if (p->depth > MAX_DEPTH)
        return fail(p, here(p), "values are nested too deeply");
    return true;
}

static tb_toml_value *parse_array(parser *p)
{
    tb_toml_pos at = here(p);
    advance(p);
    tb_toml_value *arr = value_new(TB_TOML_ARRAY, at);
    if (!arr) {
        fail_oom(p);
        return NULL;
    }
    for (;;) {
        if (!skip_blank(p))
            goto bad;
        if (peek(p) == ']')
            break;
        tb_toml_value *item = parse_value(p);
        if (!item)
            goto bad;
        if (!array_append(arr, item)) {
            tb_toml_free(item);
            fail_oom(p);
            goto bad;
        }
        if (!skip_blank(p))
            goto bad;
        if (peek(p) == ',') {
            advance(p);
            continue;
        }
        if (peek(p) == ']')
            break;
        char d[32];
        fail(p, here(p), "expected ',' or ']' in the array opened at line %d, found %s", at.line,
             describe(p, d, sizeof d));
        goto bad;
    }
    advance(p);
    return arr;
bad:
    tb_toml_free(arr);
    return NULL;
}

/* Everything inside an inline table is closed: no header or dotted key may
 * add to it later. */
static void mark_inline(tb_toml_value *t)
{
    t->flags |= TF_INLINE;
    for (size_t i = 0; i < t->u.tab.n; i++) {
        tb_toml_value *v = t->u.tab.items[i].value;
        /* an inner inline table was marked when it closed: marking it again
         * at every enclosing level would make deep nesting quadratic */
        if (v->type == TB_TOML_TABLE && !(v->flags & TF_INLINE))
            mark_inline(v);
    }
}

/* TOML 1.0 inline tables live on one line; true (and reported) when the
 * line ends before the closing brace. */
static bool inline_line_ends(parser *p, tb_toml_pos at)
{
    int c = peek(p);
    if (!(c == '\n' || c == '\r' || c == '#' || c < 0))
        return false;
    char d[32];
    fail(p, here(p), "inline table opened at line %d:%d must close with '}' on the same line "
         "(found %s)", at.line, at.col, describe(p, d, sizeof d));
    return true;
}

static bool inline_separator(parser *p, tb_toml_pos at, bool *done)
{
    skip_ws(p);
    int c = peek(p);
    if (c == '}') {
        advance(p);
        *done = true;
        return true;
    }
    if (c != ',') {
        char d[32];
        if (!inline_line_ends(p, at))
            fail(p, here(p), "expected ',' or '}' in the inline table, found %s",
                 describe(p, d, sizeof d));
        return false;
    }
    advance(p);
    skip_ws(p);
    if (peek(p) == '}')
        return fail(p, here(p), "trailing comma is not allowed in an inline table");
    *done = false;
    return !inline_line_ends(p, at);
}

static tb_toml_value *parse_inline_table(parser *p)
{
    tb_toml_pos at = here(p);
    advance(p);
    tb_toml_value *t = value_new(TB_TOML_TABLE, at);
    if (!t) {
        fail_oom(p);
        return NULL;
    }
    skip_ws(p);
    bool done = peek(p) == '}';
    if (done)
        advance(p);
    while (!done) {
        if (!parse_keyval(p, t, NULL) || !inline_separator(p, at, &done)) {
            tb_toml_free(t);
            return NULL;
        }
    }
    mark_inline(t);
    return t;
}

static tb_toml_value *parse_value(parser *p)
{
    int c = peek(p);
    tb_toml_value *v = NULL;
    if (c == '"' || c == '\'')
        return parse_string_value(p);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return parse_word(p);
    if (c == '[' || c == '{') {
        if (enter(p, 1))
            v = c == '[' ? parse_array(p) : parse_inline_table(p);
        p->depth--;
        return v;
    }
    if (looks_like_date(p) || looks_like_time(p))
        return parse_datetime(p);
    if (is_digit(c) || c == '+' || c == '-')
        return parse_number(p);
    char d[32];
    fail(p, here(p), "expected a value, found %s", describe(p, d, sizeof d));
    return NULL;
}

/* ------------------------------------------------------ key/value placement */

static bool table_add(parser *p, tb_toml_value *t, const keypart *kp, tb_toml_value *v,
                      tb_toml_kv **out)
{
    *out = table_append(t, kp->s, kp->len, kp->pos, v);
    return *out ? true : fail_oom(p);
}

/* Why part i of dotted key `k` cannot be entered: kv holds something else. */
static void dotted_conflict(parser *p, const keypath *k, size_t i, const tb_toml_kv *kv)
{
    const tb_toml_value *v = kv->value;
    char *name = keypath_text(k, i + 1);
    const char *shown = name ? name : "?";
    if (v->type != TB_TOML_TABLE)
        fail(p, k->parts[i].pos, "key '%s' is already %s (line %d), so it cannot hold sub-keys",
             shown, a_type(v), kv->pos.line);
    else if (v->flags & TF_INLINE)
        fail(p, k->parts[i].pos, "cannot add to '%s': it is an inline table (line %d), which "
             "cannot be extended", shown, kv->pos.line);
    else
        fail(p, k->parts[i].pos, "cannot add to table '%s' with a dotted key here: it is defined "
             "by a [header] (line %d); add the key under that header", shown, v->pos.line);
    free(name);
}

/* Walks the dotted prefix of `k` from `t`, creating tables as needed. Only
 * tables made by dotted keys may be entered: a [header] table is closed to
 * dotted keys written outside it. */
static tb_toml_value *dotted_parent(parser *p, tb_toml_value *t, const keypath *k)
{
    for (size_t i = 0; i + 1 < k->n; i++) {
        const keypart *kp = &k->parts[i];
        tb_toml_kv *kv = table_find(t, kp->s, kp->len);
        if (!kv) {
            tb_toml_value *sub = value_new(TB_TOML_TABLE, kp->pos);
            if (!sub || !table_add(p, t, kp, sub, &kv)) {
                free(sub);
                fail_oom(p);
                return NULL;
            }
            sub->flags = TF_DOTTED;
            t = sub;
            continue;
        }
        tb_toml_value *v = kv->value;
        if (v->type != TB_TOML_TABLE || (v->flags & TF_INLINE) || !(v->flags & TF_DOTTED)) {
            dotted_conflict(p, k, i, kv);
            return NULL;
        }
        t = v;
    }
    return t;
}

/* key ws '=' ws value, stored in `table`. The key as written goes to
 * *name_out when asked for (the caller frees it). */
static bool parse_keyval(parser *p, tb_toml_value *table, char **name_out)
{
    keypath k = {0};
    tb_toml_value *v = NULL;
    char *name = NULL;
    bool ok = false;
    char d[32];
    if (!parse_key(p, &k))
        goto out;
    name = keypath_text(&k, k.n);
    skip_ws(p);
    if (peek(p) != '=') {
        fail(p, here(p), "expected '=' after key '%s', found %s", name ? name : "?",
             describe(p, d, sizeof d));
        goto out;
    }
    advance(p);
    skip_ws(p);
    int c = peek(p);
    if (c < 0 || c == '\n' || c == '\r' || c == '#') {
        fail(p, here(p), "missing value for key '%s'", name ? name : "?");
        goto out;
    }
    if (enter(p, (int)k.n))
        v = parse_value(p);
    p->depth -= (int)k.n;
    if (!v)
        goto out;
    tb_toml_value *parent = dotted_parent(p, table, &k);
    if (!parent)
        goto out;
    const keypart *last = &k.parts[k.n - 1];
    tb_toml_kv *kv = table_find(parent, last->s, last->len);
    if (kv) {
        fail(p, last->pos, "duplicate key '%s' (first defined at line %d)", name ? name : "?",
             kv->pos.line);
        goto out;
    }
    ok = table_add(p, parent, last, v, &kv);
out:
    if (!ok)
        tb_toml_free(v);
    if (name_out && ok)
        *name_out = name;
    else
        free(name);
    keypath_free(&k);
    return ok && !p->failed;
}

/* ---------------------------------------------------------------- headers */

/* The table a header's prefix names: through existing tables and the last
 * element of arrays of tables, creating plain tables where nothing is. */
static tb_toml_value *header_parent(parser *p, tb_toml_value *t, const keypath *k, tb_toml_pos at)
{
    for (size_t i = 0; i + 1 < k->n; i++) {
        const keypart *kp = &k->parts[i];
        tb_toml_kv *kv = table_find(t, kp->s, kp->len);
        if (!kv) {
            tb_toml_value *sub = value_new(TB_TOML_TABLE, at);
            if (!sub || !table_add(p, t, kp, sub, &kv)) {
                free(sub);
                fail_oom(p);
                return NULL;
            }
            t = sub;
            continue;
        }
        tb_toml_value *v = kv->value;
        if (v->type == TB_TOML_TABLE && !(v->flags & TF_INLINE)) {
            t = v;
            continue;
        }
        if (v->type == TB_TOML_ARRAY && (v->flags & TF_AOT)) {
            t = v->u.arr.items[v->u.arr.n - 1];
            continue;
        }
        char *name = keypath_text(k, i + 1);
        if (v->type == TB_TOML_TABLE)
            fail(p, kp->pos, "cannot add to '%s': it is an inline table (line %d), which cannot "
                 "be extended", name ? name : "?", kv->pos.line);
        else
            fail(p, kp->pos, "key '%s' is already %s (line %d), so it cannot hold a table",
                 name ? name : "?", a_type(v), kv->pos.line);
        free(name);
        return NULL;
    }
    return t;
}

static tb_toml_value *define_table(parser *p, tb_toml_value *parent, const keypath *k,
                                   tb_toml_pos at, const char *name)
{
    const keypart *last = &k->parts[k->n - 1];
    tb_toml_kv *kv = table_find(parent, last->s, last->len);
    if (!kv) {
        tb_toml_value *t = value_new(TB_TOML_TABLE, at);
        if (!t || !table_add(p, parent, last, t, &kv)) {
            free(t);
            fail_oom(p);
            return NULL;
        }
        t->flags = TF_DEFINED;
        return t;
    }
    tb_toml_value *t = kv->value;
    if (t->type != TB_TOML_TABLE) {
        fail(p, at, "cannot define table [%s]: key '%s' is already %s (line %d)", name, name,
             a_type(t), kv->pos.line);
        return NULL;
    }
    if (t->flags & (TF_DEFINED | TF_DOTTED | TF_INLINE)) {
        fail(p, at, "table [%s] is already defined (line %d)%s", name, t->pos.line,
             (t->flags & TF_INLINE)   ? " as an inline table"
             : (t->flags & TF_DOTTED) ? " by dotted keys; a [header] cannot reopen it"
                                      : "");
        return NULL;
    }
    /* It existed only as the parent of an earlier header: now it gets its own. */
    t->flags |= TF_DEFINED;
    t->pos = at;
    kv->pos = last->pos;
    return t;
}

static tb_toml_value *append_table(parser *p, tb_toml_value *parent, const keypath *k,
                                   tb_toml_pos at, const char *name)
{
    const keypart *last = &k->parts[k->n - 1];
    tb_toml_kv *kv = table_find(parent, last->s, last->len);
    tb_toml_value *arr;
    if (!kv) {
        arr = value_new(TB_TOML_ARRAY, at);
        if (!arr || !table_add(p, parent, last, arr, &kv)) {
            free(arr);
            fail_oom(p);
            return NULL;
        }
        arr->flags = TF_AOT;
    } else {
        arr = kv->value;
        if (arr->type != TB_TOML_ARRAY || !(arr->flags & TF_AOT)) {
            fail(p, at, "cannot append to [[%s]]: key '%s' is already %s%s (line %d)", name, name,
                 arr->type == TB_TOML_ARRAY ? "a static " : "",
                 arr->type == TB_TOML_ARRAY ? "array" : a_type(arr), kv->pos.line);
            return NULL;
        }
    }
    tb_toml_value *t = value_new(TB_TOML_TABLE, at);
    if (!t || !array_append(arr, t)) {
        free(t);
        fail_oom(p);
        return NULL;
    }
    t->flags = TF_DEFINED;
    return t;
}

/* [a.b] or [[a.b]]; sets *cur to the table that following keys go into. */
static bool parse_header(parser *p, tb_toml_value *root, tb_toml_value **cur)
{
    tb_toml_pos at = here(p);
    advance(p);
    bool aot = peek(p) == '[';
    if (aot)
        advance(p);
    keypath k = {0};
    char *name = NULL;
    tb_toml_value *t = NULL;
    skip_ws(p);
    if (!parse_key(p, &k))
        goto out;
    name = keypath_text(&k, k.n);
    if (!name) {
        fail_oom(p);
        goto out;
    }
    skip_ws(p);
    if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
        char d[32];
        fail(p, here(p), "expected '%s' to close the header %s%s, found %s", aot ? "]]" : "]",
             aot ? "[[" : "[", name, describe(p, d, sizeof d));
        goto out;
    }
    advance_n(p, aot ? 2 : 1);
    tb_toml_value *parent = header_parent(p, root, &k, at);
    if (parent)
        t = aot ? append_table(p, parent, &k, at, name) : define_table(p, parent, &k, at, name);
    if (t) {
        *cur = t;
        expect_eol(p, "the table header");
    }
out:
    free(name);
    keypath_free(&k);
    return t && !p->failed;
}

/* ---------------------------------------------------------------- document */

static bool validate_utf8(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->src;
    size_t i = 0, line_start = 0;
    int line = 1;
    while (i < p->len) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == '\n') {
                line++;
                line_start = i + 1;
            }
            i++;
            continue;
        }
        size_t need = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
        uint32_t cp = c & (0x3Fu >> need);
        bool ok = need > 0;
        for (size_t k = 1; ok && k <= need; k++) {
            ok = i + k < p->len && (s[i + k] & 0xC0) == 0x80;
            cp = (cp << 6) | (s[i + k < p->len ? i + k : i] & 0x3Fu);
        }
        static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (ok)
            ok = cp >= min_cp[need] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok)
            return fail(p, (tb_toml_pos){line, (int)(i - line_start) + 1},
                        "invalid UTF-8 (byte 0x%02X): the file must be UTF-8 text", c);
        i += need + 1;
    }
    return true;
}

static void keyval_line(parser *p, tb_toml_value *table)
{
    char *name = NULL;
    if (parse_keyval(p, table, &name)) {
        sbuf what = {0};
        sb_printf(&what, "the value of '%s'", name ? name : "?");
        expect_eol(p, what.p ? what.p : "the value");
        sb_free(&what);
    }
    free(name);
}

static tb_toml_value *parse_document(parser *p)
{
    tb_toml_value *root = value_new(TB_TOML_TABLE, (tb_toml_pos){1, 1});
    if (!root) {
        fail_oom(p);
        return NULL;
    }
    tb_toml_value *cur = root;
    if (p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0)
        p->pos = p->line_start = 3; /* byte order mark; columns count after it */
    while (!p->failed) {
        skip_ws(p);
        int c = peek(p);
        if (c < 0)
            break;
        if (c == '[') {
            parse_header(p, root, &cur);
        } else if (c == '#' || c == '\n' || c == '\r') {
            expect_eol(p, "a comment");
        } else {
            keyval_line(p, cur);
        }
    }
    if (p->failed) {
        tb_toml_free(root);
        return NULL;
    }
    return root;
}

tb_toml_value *tb_toml_parse(const char *text, size_t len, const char *name, tb_error *err)
{
    parser p;
    parser_init(&p, text, len, name, err);
    if (!validate_utf8(&p))
        return NULL;
    return parse_document(&p);
}

tb_toml_value *tb_toml_parse_file(const char *path, tb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tb_error_set(err, TB_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    sbuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_put(&b, chunk, n);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno || b.oom) {
        tb_error_set(err, b.oom ? TB_ERR_OTHER : TB_ERR_INPUT, "%s: cannot read: %s", path,
                     strerror(b.oom ? ENOMEM : read_errno));
        sb_free(&b);
        return NULL;
    }
    tb_toml_value *root = tb_toml_parse(b.p ? b.p : "", b.n, path, err);
    sb_free(&b);
    return root;
}

tb_toml_value *tb_toml_parse_value(const char *text, const char *name, tb_error *err)
{
    parser p;
    parser_init(&p, text, text ? strlen(text) : 0, name, err);
    if (!validate_utf8(&p))
        return NULL;
    skip_blank(&p);
    if (p.failed)
        return NULL;
    if (peek(&p) < 0) {
        fail(&p, here(&p), "expected a value, found nothing");
        return NULL;
    }
    tb_toml_value *v = parse_value(&p);
    if (v && skip_blank(&p) && peek(&p) >= 0) {
        char d[32];
        fail(&p, here(&p), "unexpected %s after the value", describe(&p, d, sizeof d));
    }
    if (p.failed) {
        tb_toml_free(v);
        return NULL;
    }
    return v;
}

/* ----------------------------------------------------------------- look-ups */

const tb_toml_value *tb_toml_get(const tb_toml_value *table, const char *key)
{
    tb_toml_kv *kv = tb_toml_get_kv(table, key);
    return kv ? kv->value : NULL;
}

tb_toml_kv *tb_toml_get_kv(const tb_toml_value *table, const char *key)
{
    return key ? table_find(table, key, strlen(key)) : NULL;
}

const tb_toml_value *tb_toml_get_path(const tb_toml_value *root, const char *path)
{
    if (!path)
        return NULL;
    const tb_toml_value *v = root;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        tb_toml_kv *kv = table_find(v, path, len);
        if (!kv)
            return NULL;
        v = kv->value;
        if (!dot)
            return v;
        path = dot + 1;
    }
}

tb_toml_pos tb_toml_text_start(const tb_toml_value *v)
{
    if (!v || v->type != TB_TOML_STRING || v->pos.line == 0)
        return v ? v->pos : (tb_toml_pos){0, 0};
    if (v->flags & TF_ML_NEWLINE)
        return (tb_toml_pos){v->pos.line + 1, 1};
    return (tb_toml_pos){v->pos.line, v->pos.col + (v->flags & TF_ML ? 3 : 1)};
}

bool tb_toml_as_double(const tb_toml_value *v, double *out)
{
    if (!v || (v->type != TB_TOML_FLOAT && v->type != TB_TOML_INTEGER))
        return false;
    if (out)
        *out = v->type == TB_TOML_FLOAT ? v->u.f : (double)v->u.i;
    return true;
}

bool tb_toml_as_int(const tb_toml_value *v, int64_t *out)
{
    if (!v || v->type != TB_TOML_INTEGER)
        return false;
    if (out)
        *out = v->u.i;
    return true;
}

bool tb_toml_as_bool(const tb_toml_value *v, bool *out)
{
    if (!v || v->type != TB_TOML_BOOL)
        return false;
    if (out)
        *out = v->u.b;
    return true;
}

const char *tb_toml_as_string(const tb_toml_value *v)
{
    return v && v->type == TB_TOML_STRING ? v->u.s.ptr : NULL;
}

/* ------------------------------------------------------- building, editing */

static const tb_toml_pos nowhere = {0, 0};

tb_toml_value *tb_toml_new_table(void) { return value_new(TB_TOML_TABLE, nowhere); }
tb_toml_value *tb_toml_new_array(void) { return value_new(TB_TOML_ARRAY, nowhere); }

tb_toml_value *tb_toml_new_string(const char *s)
{
    return tb_toml_new_string_len(s, s ? strlen(s) : 0);
}

tb_toml_value *tb_toml_new_string_len(const char *s, size_t len)
{
    return text_value(TB_TOML_STRING, s ? s : "", s ? len : 0, nowhere);
}

tb_toml_value *tb_toml_new_int(int64_t i)
{
    tb_toml_value *v = value_new(TB_TOML_INTEGER, nowhere);
    if (v)
        v->u.i = i;
    return v;
}

tb_toml_value *tb_toml_new_float(double f)
{
    tb_toml_value *v = value_new(TB_TOML_FLOAT, nowhere);
    if (v)
        v->u.f = f;
    return v;
}

tb_toml_value *tb_toml_new_bool(bool b)
{
    tb_toml_value *v = value_new(TB_TOML_BOOL, nowhere);
    if (v)
        v->u.b = b;
    return v;
}

tb_toml_value *tb_toml_clone(const tb_toml_value *v)
{
    if (!v)
        return NULL;
    tb_toml_value *c;
    if (has_text(v->type)) {
        c = text_value(v->type, v->u.s.ptr, v->u.s.len, v->pos);
    } else {
        c = value_new(v->type, v->pos);
        if (c && v->type != TB_TOML_ARRAY && v->type != TB_TOML_TABLE)
            c->u = v->u;
    }
    if (!c)
        return NULL;
    c->flags = v->flags;
    for (size_t i = 0; v->type == TB_TOML_ARRAY && i < v->u.arr.n; i++) {
        tb_toml_value *item = tb_toml_clone(v->u.arr.items[i]);
        if (!item || !array_append(c, item)) {
            tb_toml_free(item);
            tb_toml_free(c);
            return NULL;
        }
    }
    for (size_t i = 0; v->type == TB_TOML_TABLE && i < v->u.tab.n; i++) {
        const tb_toml_kv *kv = &v->u.tab.items[i];
        tb_toml_value *item = tb_toml_clone(kv->value);
        if (!item || !table_append(c, kv->key, kv->keylen, kv->pos, item)) {
            tb_toml_free(item);
            tb_toml_free(c);
            return NULL;
        }
    }
    return c;
}

static tb_toml_kv *table_set_len(tb_toml_value *table, const char *key, size_t len,
                                 tb_toml_value *value)
{
    if (!table || table->type != TB_TOML_TABLE || !key || !value) {
        tb_toml_free(value);
        return NULL;
    }
    tb_toml_kv *kv = table_find(table, key, len);
    if (kv) {
        tb_toml_free(kv->value);
        kv->value = value;
        return kv;
    }
    kv = table_append(table, key, len, nowhere, value);
    if (!kv)
        tb_toml_free(value);
    return kv;
}

tb_toml_kv *tb_toml_table_set(tb_toml_value *table, const char *key, tb_toml_value *value)
{
    return table_set_len(table, key, key ? strlen(key) : 0, value);
}

/* A dotted key at the start of text, by the document's own rules, with
 * the blanks after it: --set and set_path then read keys as a file does. */
static bool parse_key_at(parser *p, const char *text, keypath *k, tb_error *err)
{
    parser_init(p, text, text ? strlen(text) : 0, "key", err);
    if (!validate_utf8(p) || !parse_key(p, k)) {
        keypath_free(k);
        return false;
    }
    skip_ws(p);
    return true;
}

size_t tb_toml_key_span(const char *text, tb_error *err)
{
    parser p;
    keypath k = {0};
    if (!parse_key_at(&p, text, &k, err))
        return 0;
    keypath_free(&k);
    return p.pos;
}

/* The table at part i of k inside t, made when absent. */
static tb_toml_value *path_table(tb_toml_value *t, const keypath *k, size_t i, const char *path, tb_error *err)
{
    tb_toml_kv *kv = table_find(t, k->parts[i].s, k->parts[i].len);
    if (!kv && !(kv = table_set_len(t, k->parts[i].s, k->parts[i].len, tb_toml_new_table()))) {
        tb_error_set(err, TB_ERR_OTHER, "cannot set '%s': out of memory", path);
        return NULL;
    }
    if (kv->value->type == TB_TOML_TABLE)
        return kv->value;
    char *prefix = keypath_text(k, i + 1);
    tb_error_set(err, TB_ERR_SCENARIO, "cannot set '%s': '%s' is %s, not a table", path, prefix ? prefix : "",
                 a_type(kv->value));
    free(prefix);
    return NULL;
}

tb_toml_kv *tb_toml_set_path(tb_toml_value *root, const char *path, tb_toml_value *value,
                             tb_error *err)
{
    if (!root || root->type != TB_TOML_TABLE || !path || !*path) {
        tb_error_set(err, TB_ERR_SCENARIO, "cannot set '%s': %s", path ? path : "",
                     path && *path ? "not a table" : "empty key");
        tb_toml_free(value);
        return NULL;
    }
    parser p;
    keypath k = {0};
    tb_error perr = {0};
    bool ok = parse_key_at(&p, path, &k, &perr);
    if (ok && p.pos < p.len) {
        char d[32];
        fail(&p, here(&p), "unexpected %s after the key", describe(&p, d, sizeof d));
        ok = false;
    }
    if (!ok)
        tb_error_set(err, perr.status ? perr.status : TB_ERR_SCENARIO, "cannot set '%s': %s", path,
                     tb_error_message(&perr));
    tb_error_clear(&perr);
    tb_toml_value *t = ok ? root : NULL;
    for (size_t i = 0; t && i + 1 < k.n; i++)
        t = path_table(t, &k, i, path, err);
    tb_toml_kv *kv = NULL;
    if (t)
        kv = table_set_len(t, k.parts[k.n - 1].s, k.parts[k.n - 1].len, value);
    else
        tb_toml_free(value);
    keypath_free(&k);
    return kv;
}

bool tb_toml_table_remove(tb_toml_value *table, const char *key)
{
    tb_toml_kv *kv = tb_toml_get_kv(table, key);
    if (!kv)
        return false;
    free(kv->key);
    tb_toml_free(kv->value);
    size_t i = (size_t)(kv - table->u.tab.items);
    memmove(kv, kv + 1, (table->u.tab.n - i - 1) * sizeof *kv);
    table->u.tab.n--;
    /* the later keys moved: their positions in the index are stale */
    index_free(table->u.tab.index);
    table->u.tab.index = NULL;
    if (table->u.tab.n >= INDEX_MIN)
        index_build(table, table->u.tab.n);
    return true;
}

void tb_toml_array_push(tb_toml_value *array, tb_toml_value *value)
{
    if (!value)
        return;
    if (!array || array->type != TB_TOML_ARRAY || !array_append(array, value))
        tb_toml_free(value);
}

/* ------------------------------------------------------------------ writing */

static void put_string(sbuf *b, const char *s, size_t len)
{
    sb_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : NULL;
        if (esc)
            sb_puts(b, esc);
        else if (c < 0x20 || c == 0x7f)
            sb_printf(b, "\\u%04X", c);
        else
            sb_putc(b, (char)c);
    }
    sb_putc(b, '"');
}

static void put_key_text(sbuf *b, const char *s, size_t len)
{
    bool bare = len > 0;
    for (size_t i = 0; i < len && bare; i++)
        bare = is_bare_key_char((unsigned char)s[i]);
    if (bare)
        sb_put(b, s, len);
    else
        put_string(b, s, len);
}

static void put_scalar(sbuf *b, const tb_toml_value *v)
{
    char num[64];
    switch (v->type) {
    case TB_TOML_STRING:
        put_string(b, v->u.s.ptr, v->u.s.len);
        break;
    case TB_TOML_INTEGER:
        sb_printf(b, "%" PRId64, v->u.i);
        break;
    case TB_TOML_FLOAT:
        format_double(v->u.f, num, sizeof num);
        sb_puts(b, num);
        break;
    case TB_TOML_BOOL:
        sb_puts(b, v->u.b ? "true" : "false");
        break;
    default: /* the date and time kinds keep the text they were written as */
        sb_put(b, v->u.s.ptr, v->u.s.len);
        break;
    }
}

static void put_inline(sbuf *b, const tb_toml_value *v);

/* The keys leading to a member of an inline table, innermost last. */
typedef struct keychain {
    const tb_toml_kv *kv;
    const struct keychain *up;
} keychain;

static void put_chain(sbuf *b, const keychain *c)
{
    if (c->up) {
        put_chain(b, c->up);
        sb_putc(b, '.');
    }
    put_key_text(b, c->kv->key, c->kv->keylen);
}

/* The members of an inline table. Tables made by dotted keys inside it
 * stay dotted ({ a.b = 1 }): written as nested braces they would cost the
 * parser's depth limit twice per level (a key and a brace), and a document
 * that parsed could be written as one that does not. */
static void put_members(sbuf *b, const tb_toml_value *t, const keychain *up, bool *first)
{
    for (size_t i = 0; i < t->u.tab.n; i++) {
        const tb_toml_kv *kv = &t->u.tab.items[i];
        const tb_toml_value *v = kv->value;
        keychain c = {kv, up};
        if (v->type == TB_TOML_TABLE && (v->flags & TF_DOTTED) && v->u.tab.n) {
            put_members(b, v, &c, first);
            continue;
        }
        sb_puts(b, *first ? " " : ", ");
        *first = false;
        put_chain(b, &c);
        sb_puts(b, " = ");
        put_inline(b, v);
    }
}

static void put_inline(sbuf *b, const tb_toml_value *v)
{
    if (v->type == TB_TOML_ARRAY) {
        sb_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i)
                sb_puts(b, ", ");
            put_inline(b, v->u.arr.items[i]);
        }
        sb_putc(b, ']');
    } else if (v->type == TB_TOML_TABLE) {
        bool first = true;
        sb_putc(b, '{');
        put_members(b, v, NULL, &first);
        sb_puts(b, first ? "}" : " }");
    } else {
        put_scalar(b, v);
    }
}

/* How a value inside a header-level table is written. */
typedef enum { W_PLAIN, W_DOTTED, W_TABLE, W_ARRAY_OF_TABLES } write_kind;

static write_kind kind_of(const tb_toml_value *v)
{
    if (v->type == TB_TOML_TABLE) {
        if (v->flags & TF_INLINE)
            return W_PLAIN;
        return (v->flags & TF_DOTTED) && v->u.tab.n ? W_DOTTED : W_TABLE;
    }
    if (v->type != TB_TOML_ARRAY || v->u.arr.n == 0)
        return W_PLAIN;
    /* Arrays of tables built by the program become [[headers]]; ones the
     * user wrote as [{...}, {...}] stay that way. */
    bool any_inline = false;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        if (v->u.arr.items[i]->type != TB_TOML_TABLE)
            return W_PLAIN;
        any_inline |= (v->u.arr.items[i]->flags & TF_INLINE) != 0;
    }
    return (v->flags & TF_AOT) || !any_inline ? W_ARRAY_OF_TABLES : W_PLAIN;
}

typedef struct wpath {
    const tb_toml_kv **kv;
    size_t n, cap;
    bool oom;
} wpath;

static bool wpath_push(wpath *w, const tb_toml_kv *kv)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        const tb_toml_kv **k = realloc(w->kv, cap * sizeof *k);
        if (!k) {
            w->oom = true;
            return false;
        }
        w->kv = k;
        w->cap = cap;
    }
    w->kv[w->n++] = kv;
    return true;
}

static void put_path(sbuf *b, const wpath *w, size_t from)
{
    for (size_t i = from; i < w->n; i++) {
        if (i > from)
            sb_putc(b, '.');
        put_key_text(b, w->kv[i]->key, w->kv[i]->keylen);
    }
}

static bool has_plain(const tb_toml_value *t)
{
    for (size_t i = 0; i < t->u.tab.n; i++) {
        write_kind k = kind_of(t->u.tab.items[i].value);
        if (k == W_PLAIN || (k == W_DOTTED && has_plain(t->u.tab.items[i].value)))
            return true;
    }
    return false;
}

/* key = value lines of `t`; tables made by dotted keys are written the same
 * way, prefixed by the path below the section (`from`). */
static void write_plain(sbuf *b, const tb_toml_value *t, wpath *w, size_t from)
{
    for (size_t i = 0; i < t->u.tab.n; i++) {
        const tb_toml_kv *kv = &t->u.tab.items[i];
        write_kind k = kind_of(kv->value);
        if (k != W_PLAIN && k != W_DOTTED)
            continue;
        if (!wpath_push(w, kv))
            return;
        if (k == W_DOTTED) {
            write_plain(b, kv->value, w, from);
        } else {
            put_path(b, w, from);
            sb_puts(b, " = ");
            put_inline(b, kv->value);
            sb_putc(b, '\n');
        }
        w->n--;
    }
}

static void write_sections(sbuf *b, const tb_toml_value *t, wpath *w);

static void write_header(sbuf *b, const wpath *w, bool aot)
{
    if (b->n)
        sb_putc(b, '\n');
    sb_puts(b, aot ? "[[" : "[");
    put_path(b, w, 0);
    sb_puts(b, aot ? "]]\n" : "]\n");
}

static void write_body(sbuf *b, const tb_toml_value *t, wpath *w)
{
    write_plain(b, t, w, w->n);
    write_sections(b, t, w);
}

static void write_sections(sbuf *b, const tb_toml_value *t, wpath *w)
{
    for (size_t i = 0; i < t->u.tab.n && !w->oom; i++) {
        const tb_toml_kv *kv = &t->u.tab.items[i];
        const tb_toml_value *v = kv->value;
        write_kind k = kind_of(v);
        if (k == W_PLAIN || !wpath_push(w, kv))
            continue;
        if (k == W_DOTTED) {
            write_sections(b, v, w);
        } else if (k == W_TABLE) {
            /* A table holding only sub-tables needs no header of its own. */
            if (has_plain(v) || v->u.tab.n == 0 || (v->flags & TF_DEFINED))
                write_header(b, w, false);
            write_body(b, v, w);
        } else {
            for (size_t j = 0; j < v->u.arr.n; j++) {
                write_header(b, w, true);
                write_body(b, v->u.arr.items[j], w);
            }
        }
        w->n--;
    }
}

char *tb_toml_format(const tb_toml_value *root)
{
    if (!root || root->type != TB_TOML_TABLE)
        return NULL;
    sbuf b = {0};
    wpath w = {0};
    write_body(&b, root, &w);
    free(w.kv);
    if (w.oom)
        b.oom = true;
    return sb_finish(&b);
}

int tb_toml_write(FILE *out, const tb_toml_value *root)
{
    char *text = tb_toml_format(root);
    if (!text)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, out) == n ? 0 : -1;
    free(text);
    return rc;
}

/* ------------------------------------------------------------ tagged JSON */

static void json_string(sbuf *b, const char *s, size_t len)
{
    sb_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)c);
        } else if (c == '\n') {
            sb_puts(b, "\\n");
        } else if (c == '\t') {
            sb_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_putc(b, (char)c);
        }
    }
    sb_putc(b, '"');
}

static const char *json_tag(tb_toml_type t)
{
    switch (t) {
    case TB_TOML_STRING: return "string";
    case TB_TOML_INTEGER: return "integer";
    case TB_TOML_FLOAT: return "float";
    case TB_TOML_BOOL: return "bool";
    case TB_TOML_DATETIME: return "datetime";
    case TB_TOML_DATETIME_LOCAL: return "datetime-local";
    case TB_TOML_DATE_LOCAL: return "date-local";
    case TB_TOML_TIME_LOCAL: return "time-local";
    default: return "?";
    }
}

static void json_value(sbuf *b, const tb_toml_value *v)
{
    if (v->type == TB_TOML_TABLE) {
        sb_putc(b, '{');
        for (size_t i = 0; i < v->u.tab.n; i++) {
            if (i)
                sb_putc(b, ',');
            json_string(b, v->u.tab.items[i].key, v->u.tab.items[i].keylen);
            sb_putc(b, ':');
            json_value(b, v->u.tab.items[i].value);
        }
        sb_putc(b, '}');
        return;
    }
    if (v->type == TB_TOML_ARRAY) {
        sb_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i)
                sb_putc(b, ',');
            json_value(b, v->u.arr.items[i]);
        }
        sb_putc(b, ']');
        return;
    }
    sb_printf(b, "{\"type\":\"%s\",\"value\":", json_tag(v->type));
    if (v->type == TB_TOML_STRING) {
        json_string(b, v->u.s.ptr, v->u.s.len);
    } else {
        sbuf text = {0};
        put_scalar(&text, v);
        json_string(b, text.p ? text.p : "", text.n);
        if (text.oom)
            b->oom = true;
        sb_free(&text);
    }
    sb_putc(b, '}');
}

char *tb_toml_to_tagged_json(const tb_toml_value *root)
{
    if (!root)
        return NULL;
    sbuf b = {0};
    json_value(&b, root);
    return sb_finish(&b);
}
