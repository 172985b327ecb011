/* twinbrain connectome generate | info | import
 *
 * generate: a synthetic connectome (tb_connectome_generate) into a file.
 * info:     what a connectome file holds, and the delays it implies.
 * import:   a connectome in The Virtual Brain's text format (a zip file or
 *           a folder with weights.txt, tract_lengths.txt and optionally
 *           centres.txt, hemispheres.txt, cortical.txt, areas.txt and
 *           average_orientations.txt, each plain or .bz2) into twinbrain's
 *           HDF5 file. */
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
#include "util.h"

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
    "lengths in mm) and, if present, centres.txt (lines \"label x y z\", further\n"
    "columns ignored), hemispheres.txt (0/1 or False/True, 1 = right), cortical.txt\n"
    "(0/1), areas.txt (N numbers) and average_orientations.txt (lines \"x y z\").\n"
    "Each may be compressed as NAME.txt.bz2 (read with the `bzip2` command) and, in\n"
    "a zip file (read with the `unzip` command), lie in a folder.\n"
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

/* The optional per-region datasets a file has beyond centres and
 * hemispheres ("areas, cortical (68 of 76), orientations"); false when none. */
static bool others(const tb_connectome *c, char *buf, size_t size)
{
    size_t cortical = 0;
    for (size_t i = 0; c->cortical && i < c->n; i++)
        cortical += c->cortical[i];
    char count[48] = "";
    if (c->cortical)
        snprintf(count, sizeof count, "cortical (%zu of %zu)", cortical, c->n);
    const char *parts[] = {c->areas ? "areas" : NULL, c->cortical ? count : NULL,
                           c->orientations ? "orientations" : NULL};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if (parts[i] && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", parts[i]);
    return len > 0;
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
    char other[96];
    if (others(c, other, sizeof other))
        printf("also            %s\n", other);
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
    printf(", \"areas\": %s, \"orientations\": %s", c->areas ? "true" : "false", c->orientations ? "true" : "false");
    if (c->cortical) {
        size_t cortical = 0;
        for (size_t i = 0; i < c->n; i++)
            cortical += c->cortical[i];
        printf(", \"cortical\": %zu", cortical);
    }
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

/* Whether `base` is the file `stem` in one of the forms TVB reads:
 * STEM.txt, or STEM.txt.bz2 (bzip2-compressed, as tvb-data ships its
 * larger connectomes); *bz2 says which. */
static bool is_file_of(const char *base, const char *stem, bool *bz2)
{
    size_t n = strlen(stem);
    if (strncmp(base, stem, n) != 0)
        return false;
    *bz2 = strcmp(base + n, ".txt.bz2") == 0;
    return *bz2 || strcmp(base + n, ".txt") == 0;
}

/* The zip member that is the file `stem` (is_file_of), in any folder;
 * macOS resource forks are not it. Two candidates are an error: which one
 * is meant is not clear. */
static tb_status find_member(const tvb_source *s, const char *stem, const char **member, bool *bz2, tb_error *err)
{
    *member = NULL;
    for (size_t i = 0; i < s->n_members; i++) {
        const char *m = s->members[i];
        bool packed;
        if (!is_file_of(base_name(m), stem, &packed) || strncmp(m, "__MACOSX/", 9) == 0)
            continue;
        if (*member)
            return tb_error_set(err, TB_ERR_INPUT, "%s: holds both %s and %s: keep one of them", s->path, *member, m);
        *member = m;
        *bz2 = packed;
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

/* The text of a file (NULL when absent), the name it was found under
 * ("weights.txt.bz2"), and how messages should call it
 * ("DIR/weights.txt", "ZIP:folder/weights.txt.bz2"). */
typedef struct tvb_text {
    char *text;
    char name[64];
    char where[512];
    bool bz2;
} tvb_text;

/* In a folder: DIR/STEM.txt or DIR/STEM.txt.bz2, not both. */
static tb_status find_in_folder(const tvb_source *s, const char *stem, tvb_text *t, tb_error *err)
{
    char plain[512], packed[512];
    snprintf(plain, sizeof plain, "%s/%s.txt", s->path, stem);
    snprintf(packed, sizeof packed, "%s/%s.txt.bz2", s->path, stem);
    bool has_plain = access(plain, F_OK) == 0, has_packed = access(packed, F_OK) == 0;
    if (has_plain && has_packed)
        return tb_error_set(err, TB_ERR_INPUT, "%s: holds both %s.txt and %s.txt.bz2: keep one of them", s->path,
                            stem, stem);
    if (has_plain || has_packed) {
        t->bz2 = has_packed;
        snprintf(t->where, sizeof t->where, "%s", has_packed ? packed : plain);
        snprintf(t->name, sizeof t->name, "%s", base_name(t->where));
    }
    return TB_OK;
}

/* The shell command that prints the text of t, decompressed: unzip for a
 * zip member, then bzip2 for a compressed one (a failed unzip leaves bzip2
 * an empty stream, which it refuses). */
static char *extract_command(const tvb_source *s, const char *member, const tvb_text *t)
{
    char *from = s->zip ? unzip_command("-p", s->path, member) : NULL, *q = NULL, *cmd = NULL;
    if (s->zip && !t->bz2)
        return from;
    if (s->zip && from)
        cmd = tb_asprintf("%s | bzip2 -dc 2>/dev/null", from);
    else if (!s->zip && (q = shell_quote(t->where)))
        cmd = tb_asprintf("bzip2 -dc < %s 2>/dev/null", q);
    free(from);
    free(q);
    return cmd;
}

/* The text of t, found by find_member or find_in_folder. */
static tb_status read_text(const tvb_source *s, const char *member, tvb_text *t, tb_error *err)
{
    if (t->bz2 && !on_path("bzip2"))
        return tb_error_set(err, TB_ERR_OTHER,
                            "%s: reading it needs the `bzip2` command, which is not installed (Debian's "
                            "package bzip2); or decompress it with another tool and import the folder",
                            t->where);
    if (!s->zip && !t->bz2) {
        if (!(t->text = read_whole_file(t->where)))
            return tb_error_set(err, TB_ERR_INPUT, "%s: cannot read: %s", t->where, strerror(errno));
        return TB_OK;
    }
    char *cmd = extract_command(s, member, t);
    t->text = cmd ? run_capture(cmd) : NULL;
    free(cmd);
    if (!t->text)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %s cannot extract it", t->where,
                            !s->zip ? "bzip2" : t->bz2 ? "unzip | bzip2" : "unzip");
    return TB_OK;
}

/* The file `stem` (is_file_of) of a folder or a zip; t->text stays NULL
 * when there is none. */
static tb_status source_read(const tvb_source *s, const char *stem, tvb_text *t, tb_error *err)
{
    *t = (tvb_text){.text = NULL};
    const char *member = NULL;
    tb_status st = s->zip ? find_member(s, stem, &member, &t->bz2, err) : find_in_folder(s, stem, t, err);
    if (st != TB_OK || (s->zip ? !member : !t->where[0]))
        return st;
    if (s->zip) {
        snprintf(t->where, sizeof t->where, "%s:%s", s->path, member);
        snprintf(t->name, sizeof t->name, "%s", base_name(member));
    }
    return read_text(s, member, t, err);
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

/* One line of centres.txt, its k tokens (the first 4 in tok): "x y z", or
 * "label x y z" with any further columns ignored. */
static tb_status centre_row(const tvb_text *t, size_t line_no, char **tok, size_t k, size_t row, tb_connectome *c,
                            tb_error *err)
{
    size_t first = k == 3 ? 0 : 1;
    for (size_t d = 0; d < 3; d++) {
        char *end;
        double v = strtod(tok[first + d], &end);
        if (*end || !isfinite(v))
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s' is not a coordinate", t->where, line_no,
                                tok[first + d]);
        c->centres[3 * row + d] = v;
    }
    if (k > 3 && !(c->labels[row] = strdup(tok[0])))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    return TB_OK;
}

/* centres.txt: "label x y z" a line (TVB's layout: TVB reads the label from
 * column 0 and x, y, z from columns 1 to 3, so further columns are
 * ignored); "x y z" lines are accepted too, and then labels are left for
 * the caller to make up. Every line has as many columns as the first. */
static tb_status parse_centres(const tvb_text *t, tb_connectome *c, tb_error *err)
{
    size_t row = 0, line_no = 0, cols = 0;
    char *cursor = t->text, *line;
    while ((line = next_line(&cursor))) {
        line_no++;
        char *tok[4], *x;
        size_t k = 0;
        for (; (x = next_token(&line)); k++)
            if (k < 4)
                tok[k] = x;
        if (k == 0)
            continue;
        if (k < 3)
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: expected \"label x y z\"", t->where, line_no);
        if (cols && k != cols)
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu has %zu columns, the first has %zu", t->where,
                                line_no, k, cols);
        if (row >= c->n)
            return tb_error_set(err, TB_ERR_INPUT, "%s: more than %zu regions (as many as weights.txt has rows)",
                                t->where, c->n);
        cols = k;
        tb_status st = centre_row(t, line_no, tok, k, row++, c, err);
        if (st != TB_OK)
            return st;
    }
    if (row != c->n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu regions, but weights.txt has %zu", t->where, row, c->n);
    return TB_OK;
}

/* A true/false value as TVB writes them (1/0, True/False, or 1.0/0.0 from
 * numpy.savetxt): 1, 0, or -1 for anything else. */
static int flag_value(const char *tok)
{
    if (strcasecmp(tok, "true") == 0)
        return 1;
    if (strcasecmp(tok, "false") == 0)
        return 0;
    char *end;
    double v = strtod(tok, &end);
    return *end || (v != 0.0 && v != 1.0) ? -1 : (int)v;
}

/* hemispheres.txt, cortical.txt: n flags, one a line (or several). */
static tb_status parse_flags(const tvb_text *t, size_t n, uint8_t *out, tb_error *err)
{
    size_t row = 0, line_no = 0;
    char *cursor = t->text, *line, *tok;
    while ((line = next_line(&cursor))) {
        line_no++;
        while ((tok = next_token(&line))) {
            int v = flag_value(tok);
            if (v < 0)
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s': expected 0/1 or False/True", t->where,
                                    line_no, tok);
            if (row >= n)
                return tb_error_set(err, TB_ERR_INPUT, "%s: more than %zu values", t->where, n);
            out[row++] = (uint8_t)v;
        }
    }
    if (row != n)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu values, but weights.txt has %zu regions", t->where, row, n);
    return TB_OK;
}

/* areas.txt (cols = 1: n numbers, one a line or several) and
 * average_orientations.txt (cols = 3: "x y z" a line): finite numbers,
 * and not negative where `nonneg`. */
static tb_status parse_numbers(const tvb_text *t, size_t n, size_t cols, bool nonneg, double *out, tb_error *err)
{
    size_t count = 0, line_no = 0;
    char *cursor = t->text, *line, *tok;
    while ((line = next_line(&cursor))) {
        line_no++;
        size_t on_line = 0;
        for (; (tok = next_token(&line)); on_line++) {
            char *end;
            double v = strtod(tok, &end);
            if (*end || !isfinite(v) || (nonneg && v < 0.0))
                return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu: '%s': expected a finite number%s", t->where,
                                    line_no, tok, nonneg ? " >= 0" : "");
            if (count >= n * cols)
                return tb_error_set(err, TB_ERR_INPUT, "%s: more than %zu values", t->where, n * cols);
            out[count++] = v;
        }
        if (cols > 1 && on_line && on_line != cols)
            return tb_error_set(err, TB_ERR_INPUT, "%s: line %zu has %zu values, expected %zu", t->where, line_no,
                                on_line, cols);
    }
    if (count != n * cols)
        return tb_error_set(err, TB_ERR_INPUT, "%s: %zu %s, but weights.txt has %zu regions", t->where,
                            count / cols, cols > 1 ? "rows" : "values", n);
    return TB_OK;
}

/* ================================================================ import */

/* The files of TVB's format, each under any of its names (tried in order;
 * each as NAME.txt or NAME.txt.bz2, at the top or in a folder of a zip):
 * what Connectivity.from_file and TVB's zip importer read. */
enum { F_WEIGHTS, F_TRACTS, F_CENTRES, F_HEMISPHERES, F_CORTICAL, F_AREAS, F_ORIENTATIONS, F_COUNT };

static const char *const tvb_names[F_COUNT][3] = {
    [F_WEIGHTS] = {"weights"},
    [F_TRACTS] = {"tract_lengths", "tract"}, /* tract.txt: older tvb-data zips */
    [F_CENTRES] = {"centres", "centers"},
    [F_HEMISPHERES] = {"hemispheres"},
    [F_CORTICAL] = {"cortical"},
    [F_AREAS] = {"areas"},
    [F_ORIENTATIONS] = {"average_orientations", "orientations"},
};

typedef struct tvb_files {
    tvb_text f[F_COUNT];
} tvb_files;

static void files_free(tvb_files *f)
{
    for (size_t i = 0; i < F_COUNT; i++)
        free(f->f[i].text);
}

static tb_status read_files(const tvb_source *s, tvb_files *f, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < F_COUNT; i++) {
        for (size_t k = 0; st == TB_OK && !f->f[i].text && k < 3 && tvb_names[i][k]; k++)
            st = source_read(s, tvb_names[i][k], &f->f[i], err);
        bool required = i == F_WEIGHTS || i == F_TRACTS;
        if (st == TB_OK && !f->f[i].text && required)
            st = tb_error_set(err, TB_ERR_INPUT, "%s: no %s.txt in it", s->path, tvb_names[i][0]);
    }
    return st;
}

/* "Imported from The Virtual Brain's format: SRC (weights.txt, ...)." */
static tb_status describe_import(tb_connectome *c, const tvb_source *s, const tvb_files *f)
{
    tb_buf b = {0};
    tb_buf_printf(&b, "Imported from The Virtual Brain's format: %s (", s->path);
    for (size_t i = 0, listed = 0; i < F_COUNT; i++)
        if (f->f[i].text)
            tb_buf_printf(&b, "%s%s", listed++ ? ", " : "", f->f[i].name);
    tb_buf_printf(&b, ").");
    c->description = tb_buf_take(&b);
    return c->description ? TB_OK : TB_ERR_OTHER;
}

/* centres, hemispheres, cortical, areas and orientations, where present. */
static tb_status build_optional(const tvb_files *f, tb_connectome *c, tb_error *err)
{
    const tvb_text *t = f->f;
    size_t n = c->n;
    if ((t[F_CENTRES].text && !(c->centres = malloc(3 * n * sizeof *c->centres))) ||
        (t[F_HEMISPHERES].text && !(c->hemispheres = malloc(n))) || (t[F_CORTICAL].text && !(c->cortical = malloc(n))) ||
        (t[F_AREAS].text && !(c->areas = malloc(n * sizeof *c->areas))) ||
        (t[F_ORIENTATIONS].text && !(c->orientations = malloc(3 * n * sizeof *c->orientations))))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    tb_status st = c->centres ? parse_centres(&t[F_CENTRES], c, err) : TB_OK;
    if (st == TB_OK && c->hemispheres)
        st = parse_flags(&t[F_HEMISPHERES], n, c->hemispheres, err);
    if (st == TB_OK && c->cortical)
        st = parse_flags(&t[F_CORTICAL], n, c->cortical, err);
    if (st == TB_OK && c->areas)
        st = parse_numbers(&t[F_AREAS], n, 1, true, c->areas, err);
    if (st == TB_OK && c->orientations)
        st = parse_numbers(&t[F_ORIENTATIONS], n, 3, false, c->orientations, err);
    return st;
}

static tb_status build(const tvb_source *s, tvb_files *f, tb_connectome **out, tb_error *err)
{
    matrix w = {0}, t = {0};
    tb_status st = parse_matrix(&f->f[F_WEIGHTS], "weights", &w, err);
    if (st == TB_OK)
        st = parse_matrix(&f->f[F_TRACTS], "tract lengths", &t, err);
    if (st == TB_OK && t.rows != w.rows)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: %zu x %zu, but weights.txt is %zu x %zu", f->f[F_TRACTS].where,
                          t.rows, t.cols, w.rows, w.cols);
    tb_connectome *c = st == TB_OK ? tb_connectome_new(w.rows) : NULL;
    if (st == TB_OK && !c)
        st = tb_error_set(err, TB_ERR_OTHER, "out of memory for %zu regions", w.rows);
    if (st == TB_OK) {
        memcpy(c->weights, w.v, c->n * c->n * sizeof *c->weights);
        memcpy(c->tract_lengths, t.v, c->n * c->n * sizeof *c->tract_lengths);
    }
    free(w.v);
    free(t.v);
    if (st == TB_OK)
        st = build_optional(f, c, err);
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
    tvb_files f = {0};
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
