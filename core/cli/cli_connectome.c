/* twinbrain connectome generate | info | import
 *
 * generate: a synthetic connectome (tb_connectome_generate) into a file.
 * info:     what a connectome file holds, and the delays it implies.
 * import:   a connectome in The Virtual Brain's text format (a zip file or
 *           a folder with weights.txt, tract_lengths.txt, centres.txt and
 *           optionally hemispheres.txt) into twinbrain's HDF5 file. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "twinbrain/connectome.h"

#include "cli.h"

#define PROG "twinbrain connectome"
#define DEFAULT_SPEED 3.0 /* mm/ms, TVB's default conduction speed */
#define DEFAULT_DT 0.1    /* ms */

static const char usage_generate[] =
    "usage: twinbrain connectome generate --regions N [--seed S] [--lambda L] [--density D]\n"
    "                                     [--tortuosity T] -o OUT.h5\n"
    "\n"
    "Make a SYNTHETIC connectome: N region centres in two half-ellipsoids, edges and\n"
    "weights by the exponential distance rule p ~ exp(-lambda d). The same seed gives\n"
    "the same file on every machine; the file's description says how it was made.\n"
    "\n"
    "  --regions N       number of regions (2 to 10000)\n"
    "  --seed S          random seed (default 0)\n"
    "  --lambda L        decay of the distance rule, per mm (default 0.08)\n"
    "  --density D       expected fraction of directed edges, 0 < D <= 1 (default 0.3)\n"
    "  --tortuosity T    tract length / straight distance, >= 1 (default 1.2)\n"
    "  -o, --output OUT  the HDF5 file to write\n";

static const char usage_info[] =
    "usage: twinbrain connectome info FILE.h5 [--json] [--speed V] [--dt DT]\n"
    "\n"
    "Show a connectome: regions, edges and density, weight and tract-length ranges\n"
    "(over edges), the conduction delays they imply and the ring-buffer horizon a\n"
    "simulation needs (the longest delay in steps + 1), and the file's description.\n"
    "\n"
    "  --json      print one JSON object instead of text\n"
    "  --speed V   conduction speed in mm/ms (default 3.0)\n"
    "  --dt DT     integration step in ms (default 0.1)\n";

static const char usage_import[] =
    "usage: twinbrain connectome import TVB.zip|DIR -o OUT.h5\n"
    "\n"
    "Convert a connectome in The Virtual Brain's format: weights.txt and\n"
    "tract_lengths.txt (whitespace-separated N x N matrices, row = target,\n"
    "lengths in mm), centres.txt (lines \"label x y z\") and, if present,\n"
    "hemispheres.txt (one 0/1 or False/True a line, 1 = right). A zip file is read\n"
    "with the `unzip` command.\n"
    "\n"
    "  -o, --output OUT  the HDF5 file to write\n";

static const char usage_all[] = "usage: twinbrain connectome generate --regions N [options] -o OUT.h5\n"
                                "       twinbrain connectome info FILE.h5 [--json] [--speed V] [--dt DT]\n"
                                "       twinbrain connectome import TVB.zip|DIR -o OUT.h5\n"
                                "\n"
                                "`twinbrain connectome COMMAND --help` describes each command.\n";

/* ================================================================ helpers */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    /* The "usage:" lines only; --help has the rest. */
    const char *end = strstr(usage, "\n\n");
    fprintf(stderr, "\n%.*s\n", end ? (int)(end - usage) : (int)strlen(usage), usage);
    return TB_ERR_SCENARIO;
}

/* "--dt needs a number > 0 (ms), not 'x'" (or without the value, when
 * there was none). */
static int bad_value(const char *usage, const char *opt, const char *need, const char *value)
{
    if (!value)
        return usage_error(usage, "%s needs %s", opt, need);
    return usage_error(usage, "%s needs %s, not '%s'", opt, need, value);
}

static int report(tb_error *err)
{
    fprintf(stderr, PROG ": %s\n", tb_error_message(err));
    int status = err->status == TB_OK ? TB_ERR_OTHER : (int)err->status;
    tb_error_clear(err);
    return status;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* "--name VALUE" or "--name=VALUE". Returns 1 when argv[*i] is the option
 * (then *value is set, or NULL when the value is missing), else 0. */
static int option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* ================================================================ generate */

typedef struct generate_args {
    tb_connectome_recipe recipe;
    const char *out;
    bool has_regions;
} generate_args;

/* Returns -1 when parsed, else the exit status. */
static int parse_generate(int argc, char **argv, generate_args *a)
{
    tb_connectome_recipe_defaults(&a->recipe);
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        uint64_t u = 0;
        if (is_help(argv[i])) {
            fputs(usage_generate, stdout);
            return 0;
        } else if (option(argc, argv, &i, "--regions", &v)) {
            if (!parse_u64(v, &u) || u > SIZE_MAX)
                return bad_value(usage_generate, "--regions", "a whole number", v);
            a->recipe.n = (size_t)u;
            a->has_regions = true;
        } else if (option(argc, argv, &i, "--seed", &v)) {
            if (!parse_u64(v, &a->recipe.seed))
                return bad_value(usage_generate, "--seed", "a whole number >= 0", v);
        } else if (option(argc, argv, &i, "--lambda", &v)) {
            if (!parse_double(v, &a->recipe.lambda_per_mm))
                return bad_value(usage_generate, "--lambda", "a number", v);
        } else if (option(argc, argv, &i, "--density", &v)) {
            if (!parse_double(v, &a->recipe.density))
                return bad_value(usage_generate, "--density", "a number", v);
        } else if (option(argc, argv, &i, "--tortuosity", &v)) {
            if (!parse_double(v, &a->recipe.tortuosity))
                return bad_value(usage_generate, "--tortuosity", "a number", v);
        } else if (option(argc, argv, &i, "-o", &v) || option(argc, argv, &i, "--output", &v)) {
            if (!v || !*v)
                return usage_error(usage_generate, "-o needs a file name");
            a->out = v;
        } else {
            return usage_error(usage_generate, "generate: unexpected argument '%s'", argv[i]);
        }
    }
    if (!a->has_regions)
        return usage_error(usage_generate, "generate: --regions N is required");
    if (!a->out)
        return usage_error(usage_generate, "generate: -o OUT.h5 is required");
    return -1;
}

static int cmd_generate(int argc, char **argv)
{
    generate_args a = {.out = NULL, .has_regions = false};
    int status = parse_generate(argc, argv, &a);
    if (status >= 0)
        return status;
    tb_error err = {0};
    tb_connectome *c = NULL;
    if (tb_connectome_generate(&a.recipe, &c, &err) != TB_OK || tb_connectome_write(c, a.out, &err) != TB_OK) {
        tb_connectome_free(c);
        return report(&err);
    }
    printf("%s: synthetic connectome, %zu regions, %zu edges (density %.4f), seed %llu\n", a.out, c->n,
           tb_connectome_edges(c), tb_connectome_density(c), (unsigned long long)a.recipe.seed);
    tb_connectome_free(c);
    return 0;
}

/* ================================================================ info */

typedef struct info_args {
    const char *file;
    bool json;
    double speed;
    double dt;
} info_args;

static int parse_info(int argc, char **argv, info_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        if (is_help(argv[i])) {
            fputs(usage_info, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (option(argc, argv, &i, "--speed", &v)) {
            if (!parse_double(v, &a->speed) || a->speed <= 0.0)
                return bad_value(usage_info, "--speed", "a number > 0 (mm/ms)", v);
        } else if (option(argc, argv, &i, "--dt", &v)) {
            if (!parse_double(v, &a->dt) || a->dt <= 0.0)
                return bad_value(usage_info, "--dt", "a number > 0 (ms)", v);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error(usage_info, "info: unknown option '%s'", argv[i]);
        } else if (a->file) {
            return usage_error(usage_info, "info: one file at a time ('%s' is one too many)", argv[i]);
        } else {
            a->file = argv[i];
        }
    }
    if (!a->file)
        return usage_error(usage_info, "info: FILE.h5 is required");
    return -1;
}

typedef struct stats {
    size_t edges, left, right;
    double density;
    double wmin, wmax; /* over edges */
    double lmin, lmax; /* tract lengths over edges, mm */
    double smin, smax; /* delay steps over edges (whole numbers, perhaps beyond any integer type) */
    bool symmetric;
} stats;

/* Delay steps as TVB counts them: round(length / speed / dt), ties to even
 * (kept a double: a slow speed makes more steps than a long holds). */
static double delay_steps(double length, double speed, double dt)
{
    return rint(length / speed / dt);
}

static stats measure(const tb_connectome *c, double speed, double dt)
{
    stats s = {.edges = tb_connectome_edges(c), .density = tb_connectome_density(c), .symmetric = true};
    s.wmin = s.lmin = INFINITY;
    s.wmax = s.lmax = -INFINITY;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double w = c->weights[i * n + j], len = c->tract_lengths[i * n + j];
            s.symmetric = s.symmetric && w == c->weights[j * n + i];
            if (i == j || w == 0.0)
                continue;
            s.wmin = fmin(s.wmin, w);
            s.wmax = fmax(s.wmax, w);
            s.lmin = fmin(s.lmin, len);
            s.lmax = fmax(s.lmax, len);
        }
    for (size_t i = 0; c->hemispheres && i < n; i++) {
        if (c->hemispheres[i])
            s.right++;
        else
            s.left++;
    }
    if (s.edges > 0) {
        s.smin = delay_steps(s.lmin, speed, dt);
        s.smax = delay_steps(s.lmax, speed, dt);
    }
    return s;
}

static void print_text(const info_args *a, const tb_connectome *c, const stats *s)
{
    printf("file            %s\n", a->file);
    printf("regions         %zu", c->n);
    if (c->hemispheres)
        printf(" (%zu left, %zu right)", s->left, s->right);
    printf("\nedges           %zu of %zu (density %.4f)%s\n", s->edges, c->n * (c->n - 1), s->density,
           s->symmetric ? ", symmetric" : "");
    if (s->edges == 0) {
        printf("weights         none non-zero\n");
    } else {
        printf("weights         %.6g .. %.6g%s%s\n", s->wmin, s->wmax, c->weights_unit ? "; unit: " : "",
               c->weights_unit ? c->weights_unit : "");
        printf("tract lengths   %.6g .. %.6g mm (over edges)\n", s->lmin, s->lmax);
        printf("delays          %.6g .. %.6g ms at %g mm/ms\n", s->lmin / a->speed, s->lmax / a->speed, a->speed);
        printf("delay steps     %.0f .. %.0f at dt = %g ms; ring-buffer horizon %.0f steps\n", s->smin, s->smax, a->dt,
               s->smax + 1);
    }
    printf("labels          %s", c->labels[0]);
    for (size_t i = 1; i < c->n && i < 4; i++)
        printf(", %s", c->labels[i]);
    printf("%s\n", c->n > 4 ? ", ..." : "");
    printf("centres         %s\n", c->centres ? "yes" : "no");
    if (c->description)
        printf("description     %s\n", c->description);
}

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* The shortest text that reads back as the same double (0.1, not
 * 0.10000000000000001). */
static void json_number(double v)
{
    char buf[32];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, stdout);
}

static void json_range(const char *key, bool present, double lo, double hi)
{
    printf(", \"%s\": ", key);
    if (!present) {
        fputs("null", stdout);
        return;
    }
    putchar('[');
    json_number(lo);
    fputs(", ", stdout);
    json_number(hi);
    putchar(']');
}

static void print_json(const info_args *a, const tb_connectome *c, const stats *s)
{
    bool e = s->edges > 0;
    fputs("{\"file\": ", stdout);
    json_string(a->file);
    printf(", \"regions\": %zu, \"edges\": %zu, \"density\": ", c->n, s->edges);
    json_number(s->density);
    printf(", \"symmetric\": %s", s->symmetric ? "true" : "false");
    if (c->hemispheres)
        printf(", \"left\": %zu, \"right\": %zu", s->left, s->right);
    json_range("weight_range", e, s->wmin, s->wmax);
    json_range("tract_length_range_mm", e, s->lmin, s->lmax);
    fputs(", \"speed_mm_per_ms\": ", stdout);
    json_number(a->speed);
    fputs(", \"dt_ms\": ", stdout);
    json_number(a->dt);
    json_range("delay_range_ms", e, s->lmin / a->speed, s->lmax / a->speed);
    if (e)
        printf(", \"delay_range_steps\": [%.0f, %.0f], \"horizon_steps\": %.0f", s->smin, s->smax, s->smax + 1);
    else
        fputs(", \"delay_range_steps\": null, \"horizon_steps\": 1", stdout);
    fputs(", \"weights_unit\": ", stdout);
    c->weights_unit ? json_string(c->weights_unit) : (void)fputs("null", stdout);
    fputs(", \"description\": ", stdout);
    c->description ? json_string(c->description) : (void)fputs("null", stdout);
    fputs(", \"labels\": [", stdout);
    for (size_t i = 0; i < c->n; i++) {
        fputs(i ? ", " : "", stdout);
        json_string(c->labels[i]);
    }
    fputs("]}\n", stdout);
}

static int cmd_info(int argc, char **argv)
{
    info_args a = {NULL, false, DEFAULT_SPEED, DEFAULT_DT};
    int status = parse_info(argc, argv, &a);
    if (status >= 0)
        return status;
    tb_error err = {0};
    tb_connectome *c = NULL;
    if (tb_connectome_read(a.file, &c, &err) != TB_OK)
        return report(&err);
    stats s = measure(c, a.speed, a.dt);
    if (a.json)
        print_json(&a, c, &s);
    else
        print_text(&a, c, &s);
    tb_connectome_free(c);
    return 0;
}

/* ================================================================ import: sources */

/* A TVB connectome: a folder, or a zip file read through `unzip`. */
typedef struct tvb_source {
    const char *path;
    bool zip;
    char **members; /* zip: the names inside */
    size_t n_members;
} tvb_source;

static void source_close(tvb_source *s)
{
    for (size_t i = 0; i < s->n_members; i++)
        free(s->members[i]);
    free(s->members);
    s->members = NULL;
    s->n_members = 0;
}

static bool on_path(const char *program)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char full[4096];
        if (len > 0 && snprintf(full, sizeof full, "%.*s/%s", (int)len, p, program) < (int)sizeof full &&
            access(full, X_OK) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* The argument, single-quoted for /bin/sh. */
static char *shell_quote(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (!q)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* All of a stream, NUL-terminated; NULL on a read error or no memory. */
static char *read_stream(FILE *f)
{
    size_t len = 0, cap = 4096, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len > 1)
            continue;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Everything a command prints on stdout; NULL when it fails. */
static char *run_capture(const char *command)
{
    FILE *p = popen(command, "r");
    if (!p)
        return NULL;
    char *text = read_stream(p);
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* unzip reads a member name as a wildcard pattern; TVB's plain names
 * (weights.txt, ...) match only themselves. A zip name starting with '-'
 * would read as an option, hence "./". */
static char *unzip_command(const char *flags, const char *zip, const char *member)
{
    char dotted[4096];
    if (zip[0] == '-' && snprintf(dotted, sizeof dotted, "./%s", zip) < (int)sizeof dotted)
        zip = dotted;
    char *qz = shell_quote(zip), *qm = member ? shell_quote(member) : NULL;
    char *cmd = NULL;
    if (qz && (!member || qm)) {
        size_t n = strlen(flags) + strlen(qz) + (qm ? strlen(qm) : 0) + 32;
        if ((cmd = malloc(n)))
            snprintf(cmd, n, "unzip %s %s %s 2>/dev/null", flags, qz, qm ? qm : "");
    }
    free(qz);
    free(qm);
    return cmd;
}

static tb_status list_zip(tvb_source *s, tb_error *err)
{
    if (!on_path("unzip"))
        return tb_error_set(err, TB_ERR_OTHER,
                            "%s: reading a zip file needs the `unzip` command, which is not installed: "
                            "unzip it first and import the folder",
                            s->path);
    char *cmd = unzip_command("-Z1", s->path, NULL);
    char *listing = cmd ? run_capture(cmd) : NULL;
    free(cmd);
    if (!listing)
        return tb_error_set(err, TB_ERR_INPUT, "%s: unzip cannot list it (a damaged zip file?)", s->path);
    char *save = NULL;
    for (char *line = strtok_r(listing, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char **more = realloc(s->members, (s->n_members + 1) * sizeof *more);
        if (!more || !(more[s->n_members] = strdup(line))) {
            s->members = more ? more : s->members;
            free(listing);
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        }
        s->members = more;
        s->n_members++;
    }
    free(listing);
    return TB_OK;
}

static tb_status source_open(const char *path, tvb_source *s, tb_error *err)
{
    *s = (tvb_source){path, false, NULL, 0};
    struct stat st;
    if (stat(path, &st) != 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s", path,
                            errno == ENOENT ? "no such file or folder" : strerror(errno));
    if (S_ISDIR(st.st_mode))
        return TB_OK;
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return tb_error_set(err, TB_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(magic, "PK\003\004", 4) != 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: not a zip file or a folder (expected TVB's format)", path);
    s->zip = true;
    return list_zip(s, err);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The zip member called `name` in any folder; macOS resource forks are not
 * it. Two candidates are an error: which one is meant is not clear. */
static tb_status find_member(const tvb_source *s, const char *name, const char **member, tb_error *err)
{
    *member = NULL;
    for (size_t i = 0; i < s->n_members; i++) {
        const char *m = s->members[i];
        if (strcmp(base_name(m), name) != 0 || strncmp(m, "__MACOSX/", 9) == 0)
            continue;
        if (*member)
            return tb_error_set(err, TB_ERR_INPUT, "%s: holds both %s and %s: import the folder you mean", s->path,
                                *member, m);
        *member = m;
    }
    return TB_OK;
}

static char *read_whole_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = read_stream(f);
    fclose(f);
    return text;
}

/* The text of a file (NULL when absent), its name, and how messages should
 * call it ("DIR/weights.txt", "ZIP:folder/weights.txt"). */
typedef struct tvb_text {
    char *text;
    const char *name;
    char where[512];
} tvb_text;

static tb_status source_read(const tvb_source *s, const char *name, tvb_text *t, tb_error *err)
{
    t->text = NULL;
    t->name = name;
    if (!s->zip) {
        snprintf(t->where, sizeof t->where, "%s/%s", s->path, name);
        if (access(t->where, F_OK) != 0)
            return TB_OK;
        if (!(t->text = read_whole_file(t->where)))
            return tb_error_set(err, TB_ERR_INPUT, "%s: cannot read: %s", t->where, strerror(errno));
        return TB_OK;
    }
    const char *member;
    tb_status st = find_member(s, name, &member, err);
    if (st != TB_OK || !member)
        return st;
    snprintf(t->where, sizeof t->where, "%s:%s", s->path, member);
    char *cmd = unzip_command("-p", s->path, member);
    t->text = cmd ? run_capture(cmd) : NULL;
    free(cmd);
    if (!t->text)
        return tb_error_set(err, TB_ERR_INPUT, "%s: unzip cannot extract it", t->where);
    return TB_OK;
}

/* ================================================================ import: parsing */

/* Cut `text` into lines in place; returns the next line or NULL. */
static char *next_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *end = strchr(line, '\n');
    if (end) {
        *end = '\0';
        *cursor = end + 1;
    } else {
        *cursor = line + strlen(line);
    }
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        line[len - 1] = '\0';
    return line;
}

static bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\v' || c == '\f';
}

/* The next whitespace- (or comma-) separated token, NUL-terminated in place. */
static char *next_token(char **cursor)
{
    char *p = *cursor;
    while (*p && is_separator(*p))
        p++;
    if (!*p || *p == '#')
        return NULL;
    char *start = p;
    while (*p && !is_separator(*p))
        p++;
    if (*p)
        *p++ = '\0';
    *cursor = p;
    return start;
}

typedef struct matrix {
    double *v;
    size_t rows, cols, cap;
} matrix;

/* A square matrix of finite, non-negative numbers, one row a line. */
static tb_status parse_matrix(const tvb_text *t, const char *what, matrix *m, tb_error *err)
{
    size_t len = 0, line_no = 0;
    *m = (matrix){NULL, 0, 0, 0};
    char *cursor = t->text, *line;
    while ((line = next_line(&cursor))) {
        line_no++;
        size_t count = 0;
        char *tok;
        while ((tok = next_token(&line))) {
            char *end;
            double v = strtod(tok, &end);
            if (*end)
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s' is not a number", t->where, line_no, tok);
            if (!isfinite(v) || v < 0.0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu, column %zu: %s: %s must be finite and not negative",
                                    t->where, line_no, count + 1, tok, what);
            if (len == m->cap) {
                size_t cap = m->cap ? 2 * m->cap : 1024;
                double *more = realloc(m->v, cap * sizeof *more);
                if (!more)
                    return tb_error_set(err, TB_ERR_OTHER, "%s: out of memory", t->where);
                m->v = more;
                m->cap = cap;
            }
            m->v[len++] = v;
            count++;
        }
        if (count == 0)
            continue;
        if (m->rows == 0)
            m->cols = count;
        else if (count != m->cols)
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu has %zu values, the first row has %zu", t->where,
                                line_no, count, m->cols);
        m->rows++;
    }
    if (m->rows == 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: no numbers in it", t->where);
    if (m->rows != m->cols)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu rows of %zu values: expected a square matrix", t->where,
                            m->rows, m->cols);
    return TB_OK;
}

/* centres.txt: "label x y z" a line (TVB's layout); "x y z" lines are
 * accepted too, and then labels are left for the caller to make up. */
static tb_status parse_centres(const tvb_text *t, tb_connectome *c, tb_error *err)
{
    size_t row = 0, line_no = 0;
    char *cursor = t->text, *line;
    while ((line = next_line(&cursor))) {
        line_no++;
        char *tok[5];
        size_t k = 0;
        while (k < 5 && (tok[k] = next_token(&line)))
            k++;
        if (k == 0)
            continue;
        if (k != 3 && k != 4)
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: expected \"label x y z\"", t->where, line_no);
        if (row >= c->n)
            return tb_error_set(err, TB_ERR_INPUT, "%s: more than %zu regions (as many as weights.txt has rows)",
                                t->where, c->n);
        for (size_t d = 0; d < 3; d++) {
            char *end;
            double v = strtod(tok[k - 3 + d], &end);
            if (*end || !isfinite(v))
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s' is not a coordinate", t->where, line_no,
                                    tok[k - 3 + d]);
            c->centres[3 * row + d] = v;
        }
        if (k == 4 && !(c->labels[row] = strdup(tok[0])))
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        row++;
    }
    if (row != c->n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu regions, but weights.txt has %zu", t->where, row, c->n);
    return TB_OK;
}

static tb_status parse_hemispheres(const tvb_text *t, tb_connectome *c, tb_error *err)
{
    size_t row = 0, line_no = 0;
    char *cursor = t->text, *line, *tok;
    while ((line = next_line(&cursor))) {
        line_no++;
        while ((tok = next_token(&line))) {
            bool right = strcmp(tok, "1") == 0 || strcasecmp(tok, "true") == 0;
            bool left = strcmp(tok, "0") == 0 || strcasecmp(tok, "false") == 0;
            if (!right && !left)
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s': expected 0/1 or False/True", t->where,
                                    line_no, tok);
            if (row >= c->n)
                return tb_error_set(err, TB_ERR_INPUT, "%s: more than %zu values", t->where, c->n);
            c->hemispheres[row++] = right;
        }
    }
    if (row != c->n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu values, but weights.txt has %zu regions", t->where, row, c->n);
    return TB_OK;
}

/* ================================================================ import */

typedef struct tvb_files {
    tvb_text weights, tracts, centres, hemispheres;
} tvb_files;

static void files_free(tvb_files *f)
{
    free(f->weights.text);
    free(f->tracts.text);
    free(f->centres.text);
    free(f->hemispheres.text);
}

static tb_status read_files(const tvb_source *s, tvb_files *f, tb_error *err)
{
    tb_status st = source_read(s, "weights.txt", &f->weights, err);
    if (st == TB_OK && !f->weights.text)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no weights.txt in it", s->path);
    if (st == TB_OK)
        st = source_read(s, "tract_lengths.txt", &f->tracts, err);
    if (st == TB_OK && !f->tracts.text) /* older tvb-data zips */
        st = source_read(s, "tract.txt", &f->tracts, err);
    if (st == TB_OK && !f->tracts.text)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no tract_lengths.txt in it", s->path);
    if (st == TB_OK)
        st = source_read(s, "centres.txt", &f->centres, err);
    if (st == TB_OK)
        st = source_read(s, "hemispheres.txt", &f->hemispheres, err);
    return st;
}

static tb_status describe_import(tb_connectome *c, const tvb_source *s, const tvb_files *f)
{
    const char *fmt = "Imported from The Virtual Brain's format: %s (weights.txt, %s%s%s).";
    const char *tract = f->tracts.name;
    const char *centres = f->centres.text ? ", centres.txt" : "";
    const char *hemi = f->hemispheres.text ? ", hemispheres.txt" : "";
    int len = snprintf(NULL, 0, fmt, s->path, tract, centres, hemi);
    if (len < 0 || !(c->description = malloc((size_t)len + 1)))
        return TB_ERR_OTHER;
    snprintf(c->description, (size_t)len + 1, fmt, s->path, tract, centres, hemi);
    return TB_OK;
}

static tb_status build(const tvb_source *s, tvb_files *f, tb_connectome **out, tb_error *err)
{
    matrix w = {0}, t = {0};
    tb_status st = parse_matrix(&f->weights, "weights", &w, err);
    if (st == TB_OK)
        st = parse_matrix(&f->tracts, "tract lengths", &t, err);
    if (st == TB_OK && t.rows != w.rows)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %zu x %zu, but weights.txt is %zu x %zu", f->tracts.where, t.rows,
                          t.cols, w.rows, w.cols);
    tb_connectome *c = st == TB_OK ? tb_connectome_new(w.rows) : NULL;
    if (st == TB_OK && !c)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory for %zu regions", w.rows);
    if (st == TB_OK) {
        memcpy(c->weights, w.v, c->n * c->n * sizeof *c->weights);
        memcpy(c->tract_lengths, t.v, c->n * c->n * sizeof *c->tract_lengths);
    }
    free(w.v);
    free(t.v);
    if (st == TB_OK && f->centres.text && !(c->centres = malloc(c->n * 3 * sizeof *c->centres)))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK && f->centres.text)
        st = parse_centres(&f->centres, c, err);
    if (st == TB_OK && f->hemispheres.text && !(c->hemispheres = malloc(c->n)))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK && f->hemispheres.text)
        st = parse_hemispheres(&f->hemispheres, c, err);
    if (st == TB_OK && (tb_connectome_fill_labels(c) != TB_OK || describe_import(c, s, f) != TB_OK))
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    if (st == TB_OK && tb_connectome_check(c, err) != TB_OK)
        st = tb_error_prefix(err, "%s: ", s->path);
    if (st != TB_OK) {
        tb_connectome_free(c);
        return st;
    }
    *out = c;
    return TB_OK;
}

static int parse_import(int argc, char **argv, const char **src, const char **out)
{
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        if (is_help(argv[i])) {
            fputs(usage_import, stdout);
            return 0;
        } else if (option(argc, argv, &i, "-o", &v) || option(argc, argv, &i, "--output", &v)) {
            if (!v || !*v)
                return usage_error(usage_import, "-o needs a file name");
            *out = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error(usage_import, "import: unknown option '%s'", argv[i]);
        } else if (*src) {
            return usage_error(usage_import, "import: one source at a time ('%s' is one too many)", argv[i]);
        } else {
            *src = argv[i];
        }
    }
    if (!*src)
        return usage_error(usage_import, "import: TVB.zip or DIR is required");
    if (!*out)
        return usage_error(usage_import, "import: -o OUT.h5 is required");
    return -1;
}

static int cmd_import(int argc, char **argv)
{
    const char *src = NULL, *out = NULL;
    int status = parse_import(argc, argv, &src, &out);
    if (status >= 0)
        return status;
    tb_error err = {0};
    tvb_source s;
    tvb_files f = {{NULL, NULL, ""}, {NULL, NULL, ""}, {NULL, NULL, ""}, {NULL, NULL, ""}};
    tb_connectome *c = NULL;
    tb_status st = source_open(src, &s, &err);
    if (st == TB_OK)
        st = read_files(&s, &f, &err);
    if (st == TB_OK)
        st = build(&s, &f, &c, &err);
    if (st == TB_OK)
        st = tb_connectome_write(c, out, &err);
    if (st == TB_OK)
        printf("%s: imported %zu regions, %zu edges (density %.4f) from %s\n", out, c->n, tb_connectome_edges(c),
               tb_connectome_density(c), src);
    tb_connectome_free(c);
    files_free(&f);
    source_close(&s);
    return st == TB_OK ? 0 : report(&err);
}

/* ================================================================ entry */

int tb_cli_connectome(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, PROG ": which command? (generate, info or import)\n%s", usage_all);
        return TB_ERR_SCENARIO;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage_all, stdout);
        return 0;
    }
    if (strcmp(cmd, "generate") == 0)
        return cmd_generate(argc, argv);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(cmd, "import") == 0)
        return cmd_import(argc, argv);
    fprintf(stderr, PROG ": unknown command '%s' (expected generate, info or import)\n%s", cmd, usage_all);
    return TB_ERR_SCENARIO;
}
