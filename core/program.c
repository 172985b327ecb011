/* OpenCL programs: assembly of the source from the kernel library and
 * plugin snippets, the build, and the on-disk binary cache.
 *
 * Cache entries are named by a SHA-256 key over everything that changes the
 * binary we can see: platform name and version, device name, vendor and
 * version, driver version, the final build options and the source text.
 * Files pulled in with #include (Random123 only) are outside the key; their
 * directory is in the options, so pointing elsewhere rebuilds.
 *
 * An entry is never trusted: a short, corrupt, foreign (other key) or
 * unloadable one is rebuilt from source and overwritten, and so is one
 * that is not a regular file (a pipe would block the read forever) or
 * whose driver binary declares more bytes than it holds (PoCL would
 * abort on it: binfmt.h). Writing the cache is best effort; a read-only
 * or missing cache directory never fails a run. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "binfmt.h"
#include "profile.h"
#include "sha256.h"
#include "twinbrain/program.h"

#ifndef TB_PKGDATADIR
#error "TB_PKGDATADIR must be defined (the build passes -DTB_PKGDATADIR='\"$(pkgdatadir)\"')"
#endif
#ifndef TB_RANDOM123_INCLUDE
#error "TB_RANDOM123_INCLUDE must be defined (configure finds Random123; see --with-random123)"
#endif

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

struct tb_program {
    cl_program handle;
    tb_program_stats stats;
    const tb_device *dev; /* for messages; the device outlives its programs */
    char *label;
};

/* ------------------------------------------------------------ text */

typedef struct strbuf {
    char *text;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: the text is incomplete */
} strbuf;

static void sb_add(strbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (!sb->text || sb->len + n + 1 > sb->cap) {
        size_t cap = (sb->len + n + 1) * 2;
        char *text = realloc(sb->text, cap);
        if (!text) {
            sb->failed = true;
            return;
        }
        sb->text = text;
        sb->cap = cap;
    }
    memcpy(sb->text + sb->len, s, n);
    sb->len += n;
    sb->text[sb->len] = '\0';
}

static void sb_adds(strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void errno_text(int e, char *buf, size_t cap)
{
    /* The XSI strerror_r (int result): this file is not built with _GNU_SOURCE. */
    if (strerror_r(e, buf, cap) != 0)
        snprintf(buf, cap, "error %d", e);
}

const char *tb_precision_name(tb_precision p)
{
    return p == TB_DOUBLE ? "double" : "single";
}

const char *tb_program_origin_name(tb_program_origin o)
{
    return o == TB_PROGRAM_CACHED ? "cache" : o == TB_PROGRAM_PREBUILT ? "prebuilt" : "compiled";
}

/* ------------------------------------------------------------ locations */

const char *tb_kernel_dir(void)
{
    const char *env = getenv("TWINBRAIN_KERNEL_PATH");
    return env && env[0] ? env : TB_PKGDATADIR "/kernels";
}

static bool home_dir(char *buf, size_t cap)
{
    const char *home = getenv("HOME");
    if (home && home[0])
        return (size_t)snprintf(buf, cap, "%s", home) < cap;
    /* No $HOME (daemons, some batch systems): ask the password database,
     * re-entrantly since the library may run on several threads. */
    struct passwd pw, *found = NULL;
    char scratch[4096];
    if (getpwuid_r(getuid(), &pw, scratch, sizeof scratch, &found) != 0 || !found ||
        !found->pw_dir || !found->pw_dir[0])
        return false;
    return (size_t)snprintf(buf, cap, "%s", found->pw_dir) < cap;
}

static bool cache_dir_into(char *buf, size_t cap)
{
    const char *env = getenv("TWINBRAIN_CACHE_DIR");
    if (env && env[0])
        return (size_t)snprintf(buf, cap, "%s", env) < cap;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0])
        return (size_t)snprintf(buf, cap, "%s/twinbrain", xdg) < cap;
    char home[PATH_MAX];
    if (!home_dir(home, sizeof home))
        return false;
    return (size_t)snprintf(buf, cap, "%s/.cache/twinbrain", home) < cap;
}

/* The answer lives in a per-thread buffer: the environment can change
 * between calls, and a shared buffer would race between threads. Valid
 * until the same thread calls again; NULL when no location can be found. */
const char *tb_cache_dir(void)
{
    static _Thread_local char dir[PATH_MAX];
    return cache_dir_into(dir, sizeof dir) ? dir : NULL;
}

static bool cache_disabled(void)
{
    const char *env = getenv("TWINBRAIN_NO_CACHE");
    return env && env[0] && strcmp(env, "0") != 0;
}

/* Whether a program just compiled goes into the cache. Asking a driver for
 * a program's binary is not free: PoCL then compiles every kernel once
 * more, for any work-group size (a quarter of a cold run of a small
 * spiking network, measured), and it keeps a cache of what it compiled
 * itself (POCL_KERNEL_CACHE, on by default), which a second run hits. So
 * on PoCL with its cache on, nothing is stored unless TWINBRAIN_CACHE_STORE=1
 * (0: never store); what is already in the cache is still loaded. */
static bool cache_store_wanted(const tb_device_info *info)
{
    const char *env = getenv("TWINBRAIN_CACHE_STORE");
    if (env && env[0])
        return strcmp(env, "0") != 0;
    const char *pocl_cache = getenv("POCL_KERNEL_CACHE");
    bool pocl_caches = strstr(info->platform_name, "Portable Computing Language") &&
                       !(pocl_cache && strcmp(pocl_cache, "0") == 0);
    return !pocl_caches;
}

/* ------------------------------------------------------------ assembly */

/* The prelude every program starts with. Kernels write `real` and get the
 * scenario's precision; besides the typedefs it defines
 *   TB_DOUBLE          1, only in double precision (test with #ifdef)
 *   real2, real4       vector types of the same precision
 *   TB_REAL_MAX, TB_REAL_MIN, TB_REAL_EPSILON   the <float.h> limits of real
 *   TB_R(x)            a constant of type real: TB_R(0.5), TB_R(2); a cast
 *                      rather than an `f` suffix, so integers work too */
static const char prelude_double[] =
    "/* ---- twinbrain prelude: precision double ---- */\n"
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "typedef double real;\n"
    "typedef double2 real2;\n"
    "typedef double4 real4;\n"
    "#define TB_DOUBLE 1\n"
    "#define TB_REAL_MAX DBL_MAX\n"
    "#define TB_REAL_MIN DBL_MIN\n"
    "#define TB_REAL_EPSILON DBL_EPSILON\n"
    "#define TB_R(x) ((real)(x))\n";

static const char prelude_single[] =
    "/* ---- twinbrain prelude: precision single ---- */\n"
    "typedef float real;\n"
    "typedef float2 real2;\n"
    "typedef float4 real4;\n"
    "#define TB_REAL_MAX FLT_MAX\n"
    "#define TB_REAL_MIN FLT_MIN\n"
    "#define TB_REAL_EPSILON FLT_EPSILON\n"
    "#define TB_R(x) ((real)(x))\n";

static char *read_file(const char *path, int *error)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *error = errno;
        return NULL;
    }
    strbuf sb = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_add(&sb, chunk, got);
    *error = ferror(f) ? EIO : sb.failed ? ENOMEM : 0;
    fclose(f);
    if (*error == 0 && !sb.text)
        sb_add(&sb, "", 0);
    if (*error != 0 || sb.failed) {
        free(sb.text);
        return NULL;
    }
    return sb.text;
}

static char *read_kernel_file(const char *file, tb_error *err)
{
    char path[PATH_MAX];
    if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", tb_kernel_dir(), file);
    int e = 0;
    char *text = read_file(path, &e);
    if (text)
        return text;
    if (e == ENOENT || e == ENOTDIR)
        tb_error_set(err, TB_ERR_INPUT,
                     "kernel library file not found: %s (set TWINBRAIN_KERNEL_PATH to the "
                     "directory that holds the kernel library if it lives elsewhere)",
                     path);
    else {
        char why[256];
        errno_text(e, why, sizeof why);
        tb_error_set(err, TB_ERR_INPUT, "cannot read kernel library file %s: %s", path, why);
    }
    return NULL;
}

/* A part's name goes into a #line directive: keep it a valid string literal. */
static void add_part_header(strbuf *sb, const char *name)
{
    char clean[256];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof clean; p++)
        clean[n++] = (*p == '"' || *p == '\\' || *p == '\n' || *p == '*') ? '_' : *p;
    clean[n] = '\0';
    sb_adds(sb, "\n/* ---- part: ");
    sb_adds(sb, clean);
    sb_adds(sb, " ---- */\n");
    /* Build logs then point at "rng.cl:12" rather than a line of the
     * concatenation nobody has seen. */
    sb_adds(sb, "#line 1 \"");
    sb_adds(sb, clean);
    sb_adds(sb, "\"\n");
}

static bool add_part(strbuf *sb, const tb_program_part *part, size_t i, tb_error *err)
{
    char fallback[32];
    snprintf(fallback, sizeof fallback, "part %zu", i);
    const char *name = part->label && part->label[0] ? part->label
                       : part->file                  ? part->file
                                                     : fallback;
    if (!part->file && !part->text) {
        tb_error_set(err, TB_ERR_OTHER, "program part %zu (%s) has neither a file nor text", i,
                     name);
        return false;
    }
    char *loaded = part->file ? read_kernel_file(part->file, err) : NULL;
    if (part->file && !loaded)
        return false;
    const char *text = loaded ? loaded : part->text;
    add_part_header(sb, name);
    sb_adds(sb, text);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n')
        sb_adds(sb, "\n");
    free(loaded);
    return true;
}

char *tb_program_assemble(tb_precision precision, const tb_program_part *parts, size_t n,
                          tb_error *err)
{
    strbuf sb = {0};
    sb_adds(&sb, precision == TB_DOUBLE ? prelude_double : prelude_single);
    for (size_t i = 0; i < n; i++)
        if (!add_part(&sb, &parts[i], i, err)) {
            free(sb.text);
            return NULL;
        }
    if (sb.failed) {
        free(sb.text);
        tb_error_set(err, TB_ERR_OTHER, "out of memory assembling program source");
        return NULL;
    }
    return sb.text;
}

/* ------------------------------------------------------------ build */

static const char *random123_dir(void)
{
    const char *env = getenv("TWINBRAIN_RANDOM123_INCLUDE");
    return env && env[0] ? env : TB_RANDOM123_INCLUDE;
}

static char *full_options(const char *options)
{
    const char *dir = random123_dir();
    const char *quote = strchr(dir, ' ') ? "\"" : "";
    strbuf sb = {0};
    if (options && options[0]) {
        sb_adds(&sb, options);
        sb_adds(&sb, " ");
    }
    sb_adds(&sb, "-I ");
    sb_adds(&sb, quote);
    sb_adds(&sb, dir);
    sb_adds(&sb, quote);
    if (sb.failed) {
        free(sb.text);
        return NULL;
    }
    return sb.text;
}

static char *build_log(cl_program program, cl_device_id device)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
        CL_SUCCESS)
        size = 0;
    char *log = malloc(size + 1);
    if (!log)
        return NULL;
    if (size == 0 || clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log,
                                           NULL) != CL_SUCCESS)
        size = 0;
    log[size] = '\0';
    /* Drivers pad logs with newlines and NULs; the message ends at the text. */
    size_t n = strlen(log);
    while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' ' || log[n - 1] == '\r'))
        log[--n] = '\0';
    return log;
}

static tb_status build_failed(const tb_device_info *info, cl_program program, cl_int rc,
                              const char *options, const char *label, tb_error *err)
{
    char *log = program ? build_log(program, info->id) : NULL;
    if (log && log[0])
        tb_error_set(err, TB_ERR_DEVICE, "kernel build failed for %s on %s:\n%s", label,
                     info->name, log);
    else
        tb_error_set(err, TB_ERR_DEVICE,
                     "kernel build failed for %s on %s:\n%s (%d) and no build log; "
                     "build options: %s",
                     label, info->name, tb_cl_error_name(rc), (int)rc, options);
    free(log);
    return TB_ERR_DEVICE;
}

static tb_status build_source(tb_device *dev, const char *source, const char *options,
                              const char *label, cl_program *out, tb_error *err)
{
    const tb_device_info *info = tb_device_get_info(dev);
    size_t len = strlen(source);
    cl_int rc = CL_SUCCESS;
    cl_program program =
        clCreateProgramWithSource(tb_device_context(dev), 1, &source, &len, &rc);
    if (!program || rc != CL_SUCCESS)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "cannot create the OpenCL program for %s on %s: %s (%d)", label,
                            info->name, tb_cl_error_name(rc), (int)rc);
    rc = clBuildProgram(program, 1, &info->id, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        build_failed(info, program, rc, options, label, err);
        clReleaseProgram(program);
        return TB_ERR_DEVICE;
    }
    *out = program;
    return TB_OK;
}

/* ------------------------------------------------------------ binary files */

/* Zeros after the bytes read: a driver that reads a header's worth from
 * a file shorter than that (PoCL does, before it checks the magic) reads
 * them, not whatever follows the allocation. */
#define READ_SLACK 4096

/* A descriptor of a regular file of a size in [min, max], or -1 with the
 * reason in `why`. A pipe would block the run forever (open() of a FIFO
 * waits for a writer, read() for data): O_NONBLOCK makes the open return
 * at once, and the type is checked on what was opened, so nothing can be
 * swapped in between. A folder or device is no program; a size outside
 * the range is damage. */
static int open_regular(const char *path, size_t min, uint64_t max, struct stat *st, char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const char *problem = NULL;
    if (fd < 0 || fstat(fd, st) != 0) {
        errno_text(errno, why, cap);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode))
        problem = S_ISDIR(st->st_mode) ? "a folder, not a file" : "not a regular file (a pipe, socket or device)";
    else if ((uint64_t)st->st_size < min || (uint64_t)st->st_size > max)
        problem = st->st_size == 0 ? "empty" : "of an impossible size";
    if (problem) {
        snprintf(why, cap, "%s", problem);
        close(fd);
        return -1;
    }
    return fd;
}

static bool read_all(int fd, unsigned char *data, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, data + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The whole file (malloc'd, READ_SLACK zeros after it), or NULL with the
 * reason in `why`. */
static unsigned char *read_binary(const char *path, size_t min, uint64_t max, size_t *len, char *why, size_t cap)
{
    struct stat st;
    int fd = open_regular(path, min, max, &st, why, cap);
    if (fd < 0)
        return NULL;
    size_t want = (size_t)st.st_size;
    unsigned char *data = calloc(1, want + READ_SLACK);
    bool ok = data && read_all(fd, data, want);
    close(fd);
    if (!ok) {
        snprintf(why, cap, "%s", data ? "shorter than its size (changed while read)" : "out of memory");
        free(data);
        return NULL;
    }
    *len = want;
    return data;
}

/* ------------------------------------------------------------ cache entry */

/* Entry layout, little-endian:
 *   0  magic "TBKCACHE"       8 bytes
 *   8  format version         u32 (CACHE_FORMAT)
 *  12  header size            u32 (CACHE_HEADER)
 *  16  key                    32 bytes, the SHA-256 the file is named by
 *  48  payload length         u64
 *  56  SHA-256 of the payload 32 bytes
 *  88  payload: the driver's program binary */
#define CACHE_MAGIC "TBKCACHE"
#define CACHE_FORMAT 1u
#define CACHE_HEADER 88u
/* No driver binary comes near this; a larger file is damage, not a program. */
#define CACHE_MAX_PAYLOAD ((uint64_t)1 << 31)

typedef struct cache_entry {
    unsigned char key[TB_SHA256_BYTES];
    char path[PATH_MAX];
    char dir[PATH_MAX];
} cache_entry;

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Each field is length-prefixed so that ("ab", "c") and ("a", "bc") differ. */
static void key_field(tb_sha256 *s, const char *text)
{
    unsigned char len[8];
    size_t n = strlen(text);
    put_u64(len, n);
    tb_sha256_update(s, len, sizeof len);
    tb_sha256_update(s, text, n);
}

static bool cache_locate(const tb_device_info *info, const char *options, const char *source,
                         cache_entry *entry)
{
    if (cache_disabled() || !cache_dir_into(entry->dir, sizeof entry->dir))
        return false;
    tb_sha256 s;
    tb_sha256_init(&s);
    key_field(&s, "twinbrain kernel cache v1");
    key_field(&s, info->platform_name);
    key_field(&s, info->platform_version);
    key_field(&s, info->name);
    key_field(&s, info->vendor);
    key_field(&s, info->device_version);
    key_field(&s, info->driver_version);
    key_field(&s, options);
    key_field(&s, source);
    tb_sha256_final(&s, entry->key);
    char hex[2 * TB_SHA256_BYTES + 1];
    tb_sha256_hex(entry->key, hex);
    return (size_t)snprintf(entry->path, sizeof entry->path, "%s/%s.bin", entry->dir, hex) <
           sizeof entry->path;
}

/* The payload of a valid entry (malloc'd), or NULL for anything else. */
static unsigned char *cache_read(const cache_entry *entry, size_t *payload_len)
{
    char why[256] = "";
    size_t want = 0;
    unsigned char *data = read_binary(entry->path, CACHE_HEADER, CACHE_HEADER + CACHE_MAX_PAYLOAD, &want, why,
                                      sizeof why);
    unsigned char sum[TB_SHA256_BYTES];
    bool ok = data && memcmp(data, CACHE_MAGIC, 8) == 0 &&
              get_le(data + 8, 4) == CACHE_FORMAT && get_le(data + 12, 4) == CACHE_HEADER &&
              memcmp(data + 16, entry->key, TB_SHA256_BYTES) == 0 &&
              get_le(data + 48, 8) == want - CACHE_HEADER;
    if (ok) {
        tb_sha256_digest(data + CACHE_HEADER, want - CACHE_HEADER, sum);
        ok = memcmp(data + 56, sum, TB_SHA256_BYTES) == 0;
    }
    /* The entry is whole; the driver's binary inside must be too (a
     * binary cut short before it was stored crashes PoCL). */
    ok = ok && tb_binary_sizes_ok(data + CACHE_HEADER, want - CACHE_HEADER, why, sizeof why);
    if (!ok) {
        free(data);
        return NULL;
    }
    *payload_len = want - CACHE_HEADER;
    memmove(data, data + CACHE_HEADER, *payload_len);
    return data;
}

/* A program from a cached binary, or NULL: a driver that refuses the binary
 * (new driver, other device) simply sends us back to the source. */
static cl_program cache_load(tb_device *dev, const cache_entry *entry, const char *options)
{
    size_t len = 0;
    unsigned char *binary = cache_read(entry, &len);
    if (!binary)
        return NULL;
    const tb_device_info *info = tb_device_get_info(dev);
    const unsigned char *bin = binary;
    cl_int status = CL_SUCCESS, rc = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(tb_device_context(dev), 1, &info->id, &len,
                                                   &bin, &status, &rc);
    free(binary);
    if (program && (rc != CL_SUCCESS || status != CL_SUCCESS ||
                    clBuildProgram(program, 1, &info->id, options, NULL, NULL) != CL_SUCCESS)) {
        clReleaseProgram(program);
        program = NULL;
    }
    return program;
}

static bool make_dirs(const char *path)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return false;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return false;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Readers see the old entry or the complete new one, never a partial file:
 * write a temporary in the same directory, flush it, rename over. */
static void cache_write(const cache_entry *entry, const unsigned char *payload, size_t len)
{
    unsigned char header[CACHE_HEADER];
    memcpy(header, CACHE_MAGIC, 8);
    put_u32(header + 8, CACHE_FORMAT);
    put_u32(header + 12, CACHE_HEADER);
    memcpy(header + 16, entry->key, TB_SHA256_BYTES);
    put_u64(header + 48, len);
    tb_sha256_digest(payload, len, header + 56);

    char tmp[PATH_MAX];
    if (!make_dirs(entry->dir) ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", entry->path) >= sizeof tmp)
        return;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    bool ok = fchmod(fd, 0644) == 0 && write_all(fd, header, sizeof header) &&
              write_all(fd, payload, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, entry->path) != 0) {
        unlink(tmp);
        return;
    }
    int dirfd = open(entry->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
        fsync(dirfd); /* make the rename itself durable; best effort */
        close(dirfd);
    }
}

static void cache_store(const cache_entry *entry, cl_program program)
{
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0 || size > CACHE_MAX_PAYLOAD)
        return;
    unsigned char *binary = malloc(size);
    unsigned char *binaries[1] = {binary};
    if (binary &&
        clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries, NULL) ==
            CL_SUCCESS)
        cache_write(entry, binary, size);
    free(binary);
}

/* ------------------------------------------------------------ kernels folder */

/* Extensions tried in a kernels folder, in order: what `twinbrain kernels
 * build` writes, then what Intel's aoc and AMD/Xilinx's v++ produce. */
static const char *const prebuilt_ext[] = {"bin", "aocx", "xclbin"};

/* LABEL-HASH: the label reduced to [a-z0-9_] (at most 40 characters) so
 * that it is a portable file name, and a hash of what makes the binary
 * except the device: the kernels folder itself is per device. */
static void program_name(const char *label, const char *options, const char *source, char *out)
{
    size_t n = 0;
    bool gap = false;
    for (const char *p = label; *p && n < 40; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!keep) {
            gap = n > 0;
            continue;
        }
        if (gap && n < 39)
            out[n++] = '_';
        gap = false;
        out[n++] = c;
    }
    if (n == 0)
        out[n++] = 'p';
    tb_sha256 s;
    unsigned char key[TB_SHA256_BYTES];
    tb_sha256_init(&s);
    key_field(&s, "twinbrain program v1");
    key_field(&s, options ? options : "");
    key_field(&s, source);
    tb_sha256_final(&s, key);
    char hex[2 * TB_SHA256_BYTES + 1];
    tb_sha256_hex(key, hex);
    snprintf(out + n, TB_PROGRAM_NAME_MAX - n, "-%.16s", hex);
}

static bool find_prebuilt(const char *dir, const char *name, char *path, size_t cap)
{
    for (size_t i = 0; i < sizeof prebuilt_ext / sizeof prebuilt_ext[0]; i++) {
        if ((size_t)snprintf(path, cap, "%s/%s.%s", dir, name, prebuilt_ext[i]) >= cap)
            return false;
        if (access(path, F_OK) == 0)
            return true;
    }
    return false;
}

/* No driver binary comes near this; a larger file in a kernels folder is
 * not a program. */
#define PREBUILT_MAX ((uint64_t)1 << 32)

/* A binary from the kernels folder. Unlike a cache entry it was asked
 * for explicitly, so a refusal is an error naming the file, not a reason
 * to compile. */
static tb_status load_prebuilt(tb_device *dev, const char *path, const char *options, const char *label,
                               cl_program *out, tb_error *err)
{
    const tb_device_info *info = tb_device_get_info(dev);
    char why[256] = "";
    size_t len = 0;
    unsigned char *bin = read_binary(path, 1, PREBUILT_MAX, &len, why, sizeof why);
    if (bin && !tb_binary_sizes_ok(bin, len, why, sizeof why)) {
        free(bin);
        bin = NULL;
    }
    if (!bin)
        return tb_error_set(err, TB_ERR_DEVICE, "cannot use the prebuilt binary %s for %s: %s", path, label, why);
    const unsigned char *b = bin;
    cl_int status = CL_SUCCESS, rc = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(tb_device_context(dev), 1, &info->id, &len, &b, &status, &rc);
    free(bin);
    if (program && rc == CL_SUCCESS && status == CL_SUCCESS)
        rc = clBuildProgram(program, 1, &info->id, options, NULL, NULL);
    else if (rc == CL_SUCCESS)
        rc = status;
    if (!program || rc != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        return tb_error_set(err, TB_ERR_DEVICE,
                            "the driver of device %d (%s) refused the prebuilt binary %s for %s: %s (%d); it "
                            "was built for another device or driver, or from other sources: rebuild it",
                            info->index, info->name, path, label, tb_cl_error_name(rc), (int)rc);
    }
    *out = program;
    return TB_OK;
}

static tb_status write_file(const char *path, const void *data, size_t len, tb_error *err)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (ok)
        return TB_OK;
    char why[256];
    errno_text(errno, why, sizeof why);
    return tb_error_set(err, TB_ERR_OTHER, "cannot write %s: %s", path, why);
}

/* NAME.cl always (a vendor's offline compiler starts from it), NAME.bin
 * when there is a program to take the binary from. */
static tb_status export_program(const char *dir, const char *name, const char *source, cl_program program,
                                tb_error *err)
{
    char path[PATH_MAX];
    if (!make_dirs(dir))
        return tb_error_set(err, TB_ERR_OTHER, "cannot create the kernels folder %s", dir);
    snprintf(path, sizeof path, "%s/%s.cl", dir, name);
    tb_status st = write_file(path, source, strlen(source), err);
    if (st != TB_OK || !program)
        return st;
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
        return tb_error_set(err, TB_ERR_DEVICE, "the driver gives no binary for %s", name);
    unsigned char *binary = malloc(size);
    unsigned char *binaries[1] = {binary};
    if (!binary || clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries, NULL) != CL_SUCCESS) {
        free(binary);
        return tb_error_set(err, TB_ERR_DEVICE, "cannot read the binary of %s from the driver", name);
    }
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    st = write_file(path, binary, size, err);
    free(binary);
    return st;
}

/* ------------------------------------------------------------ programs */

/* Compiling is not allowed or not possible, and neither the kernels folder
 * nor the cache had the program: say which file would have been used and
 * how to make it. */
static tb_status missing_binary(const tb_device_info *info, const tb_program_options *po, const char *label,
                                const char *name, tb_error *err)
{
    const char *why = !info->compiler_available ? "the device has no online OpenCL C compiler"
                                                : "compiling is forbidden (TWINBRAIN_NO_COMPILE=1 or --no-compile)";
    const char *hint = po->build_hint ? po->build_hint : "twinbrain kernels build SCENARIO.toml --device SEL -o DIR";
    if (po->kernels_dir)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "%s and the prebuilt binary of %s for device %d (%s) is missing: expected %s/%s.bin "
                            "(or %s.aocx from aoc, %s.xclbin from v++); build it with: %s",
                            why, label, info->index, info->name, po->kernels_dir, name, name, name, hint);
    return tb_error_set(err, TB_ERR_DEVICE,
                        "%s and no cached binary of %s (%s) for device %d (%s) was found; give a folder of "
                        "prebuilt binaries with --kernels DIR (or TWINBRAIN_KERNELS_DIR), built with: %s",
                        why, label, name, info->index, info->name, hint);
}

static tb_status obtain_program(tb_device *dev, const char *source, const char *options,
                                const char *label, const tb_program_options *po, tb_program *prog,
                                tb_error *err)
{
    const tb_device_info *info = tb_device_get_info(dev);
    char path[PATH_MAX];
    if (po->kernels_dir && find_prebuilt(po->kernels_dir, prog->stats.name, path, sizeof path)) {
        tb_status st = load_prebuilt(dev, path, options, label, &prog->handle, err);
        if (st == TB_OK) {
            prog->stats.origin = TB_PROGRAM_PREBUILT;
            size_t n = strlen(path) < sizeof prog->stats.binary_path ? strlen(path)
                                                                       : sizeof prog->stats.binary_path - 1;
            memcpy(prog->stats.binary_path, path, n);
            prog->stats.binary_path[n] = '\0';
        }
        return st;
    }
    cache_entry entry;
    bool cached = cache_locate(info, options, source, &entry);
    prog->handle = cached ? cache_load(dev, &entry, options) : NULL;
    if (prog->handle) {
        prog->stats.from_cache = true;
        prog->stats.origin = TB_PROGRAM_CACHED;
        return TB_OK;
    }
    if (!info->compiler_available || po->no_compile)
        return missing_binary(info, po, label, prog->stats.name, err);
    tb_status st = build_source(dev, source, options, label, &prog->handle, err);
    if (st == TB_OK && cached && cache_store_wanted(info))
        cache_store(&entry, prog->handle);
    return st;
}

tb_status tb_program_build(tb_device *dev, const char *source, const char *options,
                           const char *label, tb_program **out, tb_error *err)
{
    *out = NULL;
    double start = now_seconds();
    label = label && label[0] ? label : "program";
    tb_program *prog = calloc(1, sizeof *prog);
    char *opts = full_options(options);
    if (prog)
        prog->label = strdup(label);
    if (!prog || !opts || !prog->label) {
        free(opts);
        tb_program_free(prog);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory building %s", label);
    }
    prog->dev = dev;
    tb_program_options po;
    tb_device_get_program_options(dev, &po);
    program_name(label, options, source, prog->stats.name);
    tb_status st = obtain_program(dev, source, opts, label, &po, prog, err);
    prog->stats.build_seconds = now_seconds() - start;
    /* Export the source even when the build failed for want of a compiler:
     * it is what a vendor's offline compiler needs. */
    tb_error xerr = {0};
    tb_status xst = po.export_dir ? export_program(po.export_dir, prog->stats.name, source, prog->handle, &xerr)
                                  : TB_OK;
    if (st == TB_OK && xst != TB_OK) {
        st = xst;
        if (err) {
            tb_error_clear(err);
            *err = xerr;
        } else {
            tb_error_clear(&xerr);
        }
    } else {
        tb_error_clear(&xerr);
    }
    if (st == TB_OK || po.export_dir)
        tb_profile_program(tb_device_profile(dev), label, &prog->stats, opts, st == TB_OK);
    free(opts);
    if (st != TB_OK) {
        tb_program_free(prog);
        return st;
    }
    *out = prog;
    return TB_OK;
}

bool tb_program_is_built(tb_device *dev, const char *source, const char *options, const char *label)
{
    const tb_device_info *info = tb_device_get_info(dev);
    tb_program_options po;
    tb_device_get_program_options(dev, &po);
    char name[TB_PROGRAM_NAME_MAX], path[PATH_MAX];
    program_name(label && label[0] ? label : "program", options, source, name);
    if (po.kernels_dir && find_prebuilt(po.kernels_dir, name, path, sizeof path))
        return true;
    char *opts = full_options(options);
    cache_entry entry;
    /* the entry is there; whether the driver takes it is the build's business */
    bool cached = opts && cache_locate(info, opts, source, &entry) && access(entry.path, R_OK) == 0;
    free(opts);
    return cached;
}

tb_status tb_program_check(tb_device *dev, const char *source, const char *options, const char *label,
                           tb_error *err)
{
    const tb_device_info *info = tb_device_get_info(dev);
    tb_program_options po;
    tb_device_get_program_options(dev, &po);
    if (!info->compiler_available || po.no_compile)
        return TB_OK; /* nothing is compiled here: there is nothing to check */
    char *opts = full_options(options);
    size_t len = strlen(source);
    cl_int rc = CL_SUCCESS;
    cl_program program = opts ? clCreateProgramWithSource(tb_device_context(dev), 1, &source, &len, &rc) : NULL;
    if (program)
        rc = clCompileProgram(program, 1, &info->id, opts, 0, NULL, NULL, NULL, NULL);
    /* only a compile error is the source's fault; anything else (no memory,
     * a driver without separate compilation) the real build will meet */
    tb_status st = program && rc == CL_COMPILE_PROGRAM_FAILURE
                       ? build_failed(info, program, rc, opts, label && label[0] ? label : "program", err)
                       : TB_OK;
    if (program)
        clReleaseProgram(program);
    free(opts);
    return st;
}

bool tb_program_has_prebuilt(const tb_device *dev, const char *source, const char *options, const char *label)
{
    tb_program_options po;
    tb_device_get_program_options(dev, &po);
    char name[TB_PROGRAM_NAME_MAX], path[PATH_MAX];
    program_name(label && label[0] ? label : "program", options, source, name);
    return po.kernels_dir && find_prebuilt(po.kernels_dir, name, path, sizeof path);
}

void tb_program_free(tb_program *prog)
{
    if (!prog)
        return;
    if (prog->handle)
        clReleaseProgram(prog->handle);
    free(prog->label);
    free(prog);
}

cl_program tb_program_handle(const tb_program *prog)
{
    return prog->handle;
}

const tb_program_stats *tb_program_get_stats(const tb_program *prog)
{
    return &prog->stats;
}

/* "a;b;c" -> "a, b, c", for telling the user what the program does hold. */
static char *kernel_names(cl_program program)
{
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, 0, NULL, &size) != CL_SUCCESS ||
        size == 0)
        return NULL;
    char *raw = malloc(size + 1);
    if (!raw || clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, size, raw, NULL) !=
                    CL_SUCCESS) {
        free(raw);
        return NULL;
    }
    raw[size] = '\0';
    strbuf sb = {0};
    for (const char *p = raw; *p; p++) {
        if (*p == ';')
            sb_adds(&sb, ", ");
        else
            sb_add(&sb, p, 1);
    }
    free(raw);
    return sb.text;
}

cl_kernel tb_program_kernel(tb_program *prog, const char *name, tb_error *err)
{
    cl_int rc = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(prog->handle, name, &rc);
    if (kernel && rc == CL_SUCCESS)
        return kernel;
    if (kernel)
        clReleaseKernel(kernel);
    const tb_device_info *info = tb_device_get_info(prog->dev);
    char *names = rc == CL_INVALID_KERNEL_NAME ? kernel_names(prog->handle) : NULL;
    tb_error_set(err, TB_ERR_DEVICE, "cannot create kernel \"%s\" from %s on %s: %s (%d)%s%s%s",
                 name, prog->label, info->name, tb_cl_error_name(rc), (int)rc,
                 names ? "; the program's kernels are: " : "", names ? names : "",
                 rc == CL_INVALID_KERNEL_NAME && !names ? "; no __kernel function by that name"
                                                        : "");
    free(names);
    return NULL;
}
