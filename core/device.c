/* The device layer: enumeration, the `auto` score, the selector grammar of
 * DESIGN.md section 6, and an opened device (context + profiling queue).
 *
 * Nothing here is global: the device list is an array the caller owns, an
 * opened device is an object, and OpenCL handles live inside them. */
#include "config.h"

#include <stdatomic.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/program.h"

/* From cl_ext.h (cl_khr_icd): the ICD loader found no vendor driver. Spelled
 * out so this file does not depend on the extension headers. */
#define TB_CL_PLATFORM_NOT_FOUND_KHR (-1001)

/* The (offset, capacity) of a text field of tb_device_info, for tables. */
#define TEXT_FIELD(member) \
    offsetof(tb_device_info, member), sizeof(((tb_device_info *)0)->member)

/* The bytes of the buffers alive on a device, so that a run that would
 * exceed its memory is refused at the allocation that tips it over (some
 * drivers accept more than they have and fail at first use, far from any
 * explanation). Each buffer holds a reference and gives its bytes back
 * from its destructor callback, which may come after the device closed. */
typedef struct ledger {
    _Atomic uint64_t bytes;
    _Atomic int refs;
} ledger;

static void ledger_drop(ledger *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1)
        free(l);
}

typedef struct ledger_entry {
    ledger *l;
    uint64_t bytes;
} ledger_entry;

static void CL_CALLBACK buffer_gone(cl_mem mem, void *user)
{
    (void)mem;
    ledger_entry *e = user;
    atomic_fetch_sub(&e->l->bytes, e->bytes);
    ledger_drop(e->l);
    free(e);
}

struct tb_device {
    tb_device_info info;
    ledger *held; /* device memory held by buffers from tb_device_alloc */
    cl_context context;
    cl_command_queue queue;
    /* Where programs come from (program.c reads them), and the profile
     * that records what runs here; both optional. */
    char *kernels_dir, *export_dir, *build_hint;
    bool no_compile;
    tb_profile *profile;
};

/* ------------------------------------------------------------ strings */

/* A growable message; on allocation failure it keeps what it has, since an
 * error message that lost its tail is better than none. */
typedef struct strbuf {
    char *text;
    size_t len;
    size_t cap;
} strbuf;

static void sb_appendf(strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_appendf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (sb->len + (size_t)n + 1 > sb->cap) {
        size_t cap = (sb->len + (size_t)n + 1) * 2;
        char *text = realloc(sb->text, cap);
        if (!text)
            return;
        sb->text = text;
        sb->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(sb->text + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

/* Driver strings often carry padding (Intel pads CPU names with spaces). */
static void copy_trimmed(char *dst, size_t cap, const char *src)
{
    while (*src && isspace((unsigned char)*src))
        src++;
    size_t n = strlen(src);
    while (n > 0 && isspace((unsigned char)src[n - 1]))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool contains_ci(const char *haystack, const char *needle)
{
    size_t m = strlen(needle);
    for (const char *h = haystack; *h; h++) {
        size_t k = 0;
        while (k < m && h[k] &&
               tolower((unsigned char)h[k]) == tolower((unsigned char)needle[k]))
            k++;
        if (k == m)
            return true;
    }
    return m == 0;
}

/* Whole-token match in a space-separated extension list, so that
 * "cl_khr_fp64" is not found inside "cl_khr_fp64_foo". */
static bool has_token(const char *list, const char *token)
{
    size_t m = strlen(token);
    for (const char *p = list; (p = strstr(p, token)) != NULL; p += m) {
        bool starts = p == list || isspace((unsigned char)p[-1]);
        bool ends = p[m] == '\0' || isspace((unsigned char)p[m]);
        if (starts && ends)
            return true;
    }
    return false;
}

const char *tb_device_type_name(tb_device_type t)
{
    switch (t) {
    case TB_DEVICE_CPU: return "CPU";
    case TB_DEVICE_GPU: return "GPU";
    case TB_DEVICE_ACCELERATOR: return "ACCELERATOR";
    case TB_DEVICE_OTHER: return "OTHER";
    }
    return "OTHER";
}

/* ------------------------------------------------------------ queries */

/* malloc'd; "" when the driver does not answer, NULL only when out of memory. */
static char *platform_string(cl_platform_id p, cl_platform_info param)
{
    size_t size = 0;
    if (clGetPlatformInfo(p, param, 0, NULL, &size) != CL_SUCCESS)
        size = 0;
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (size == 0 || clGetPlatformInfo(p, param, size, s, NULL) != CL_SUCCESS)
        size = 0;
    s[size] = '\0';
    return s;
}

static char *device_string(cl_device_id d, cl_device_info param)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, param, 0, NULL, &size) != CL_SUCCESS)
        size = 0;
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (size == 0 || clGetDeviceInfo(d, param, size, s, NULL) != CL_SUCCESS)
        size = 0;
    s[size] = '\0';
    return s;
}

/* A capability the driver does not report reads as 0 / false: a device
 * that cannot describe itself is ranked low, not refused. */
static cl_ulong device_ulong(cl_device_id d, cl_device_info param)
{
    cl_ulong v = 0;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = 0;
    return v;
}

static cl_uint device_uint(cl_device_id d, cl_device_info param)
{
    cl_uint v = 0;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = 0;
    return v;
}

static size_t device_size(cl_device_id d, cl_device_info param)
{
    size_t v = 0;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = 0;
    return v;
}

static bool device_bool(cl_device_id d, cl_device_info param)
{
    cl_bool v = CL_FALSE;
    if (clGetDeviceInfo(d, param, sizeof v, &v, NULL) != CL_SUCCESS)
        v = CL_FALSE;
    return v != CL_FALSE;
}

static tb_device_type map_type(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return TB_DEVICE_GPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return TB_DEVICE_ACCELERATOR;
    if (t & CL_DEVICE_TYPE_CPU)
        return TB_DEVICE_CPU;
    return TB_DEVICE_OTHER;
}

static bool fill_platform_strings(tb_device_info *d, cl_platform_id p)
{
    static const struct { cl_platform_info param; size_t offset, cap; } fields[] = {
        {CL_PLATFORM_NAME, TEXT_FIELD(platform_name)},
        {CL_PLATFORM_VENDOR, TEXT_FIELD(platform_vendor)},
        {CL_PLATFORM_VERSION, TEXT_FIELD(platform_version)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *s = platform_string(p, fields[i].param);
        if (!s)
            return false;
        copy_trimmed((char *)d + fields[i].offset, fields[i].cap, s);
        free(s);
    }
    return true;
}

static bool fill_device_strings(tb_device_info *d)
{
    static const struct { cl_device_info param; size_t offset, cap; } fields[] = {
        {CL_DEVICE_NAME, TEXT_FIELD(name)},
        {CL_DEVICE_VENDOR, TEXT_FIELD(vendor)},
        {CL_DRIVER_VERSION, TEXT_FIELD(driver_version)},
        {CL_DEVICE_VERSION, TEXT_FIELD(device_version)},
        {CL_DEVICE_OPENCL_C_VERSION, TEXT_FIELD(opencl_c_version)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *s = device_string(d->id, fields[i].param);
        if (!s)
            return false;
        copy_trimmed((char *)d + fields[i].offset, fields[i].cap, s);
        free(s);
    }
    return true;
}

static bool fill_fp64(tb_device_info *d)
{
    char *ext = device_string(d->id, CL_DEVICE_EXTENSIONS);
    if (!ext)
        return false;
    d->fp64 = has_token(ext, "cl_khr_fp64") ||
              device_ulong(d->id, CL_DEVICE_DOUBLE_FP_CONFIG) != 0;
    free(ext);
    return true;
}

static void fill_numbers(tb_device_info *d)
{
    cl_device_id id = d->id;
    cl_device_type type = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    d->type = map_type(type);
    d->compute_units = device_uint(id, CL_DEVICE_MAX_COMPUTE_UNITS);
    d->clock_mhz = device_uint(id, CL_DEVICE_MAX_CLOCK_FREQUENCY);
    d->global_mem_bytes = device_ulong(id, CL_DEVICE_GLOBAL_MEM_SIZE);
    d->local_mem_bytes = device_ulong(id, CL_DEVICE_LOCAL_MEM_SIZE);
    d->max_alloc_bytes = device_ulong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    d->max_work_group_size = device_size(id, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    d->max_work_item_dims = device_uint(id, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS);
    /* The driver writes one size_t per dimension, possibly more than 3. */
    size_t dims = d->max_work_item_dims;
    size_t *sizes = dims ? calloc(dims, sizeof *sizes) : NULL;
    if (sizes && clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof *sizes,
                                 sizes, NULL) == CL_SUCCESS)
        for (size_t k = 0; k < 3 && k < dims; k++)
            d->max_work_item_sizes[k] = sizes[k];
    free(sizes);
    d->available = device_bool(id, CL_DEVICE_AVAILABLE);
    d->compiler_available = device_bool(id, CL_DEVICE_COMPILER_AVAILABLE);
}

static bool describe_device(tb_device_info *d, cl_platform_id p, cl_device_id id)
{
    d->platform = p;
    d->id = id;
    if (!fill_platform_strings(d, p) || !fill_device_strings(d) || !fill_fp64(d))
        return false;
    fill_numbers(d);
    d->score = tb_device_score(d);
    return true;
}

/* ------------------------------------------------------------ listing */

/* Append the devices of one platform. A platform whose devices cannot be
 * listed contributes none (it keeps its P number): one broken vendor
 * driver must not make the working ones unusable. */
static tb_status add_platform(tb_device_info **list, size_t *n, cl_platform_id p,
                              int platform_index, tb_error *err)
{
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
        return TB_OK;
    cl_device_id *ids = calloc(nd, sizeof *ids);
    tb_device_info *grown = realloc(*list, (*n + nd) * sizeof **list);
    if (grown)
        *list = grown;
    if (!ids || !grown) {
        free(ids);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory while listing OpenCL devices");
    }
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ids, &nd) != CL_SUCCESS)
        nd = 0;
    for (cl_uint k = 0; k < nd; k++) {
        tb_device_info *d = &(*list)[*n];
        memset(d, 0, sizeof *d);
        d->index = (int)*n;
        d->platform_index = platform_index;
        d->device_index = (int)k;
        if (!describe_device(d, p, ids[k])) {
            free(ids);
            return tb_error_set(err, TB_ERR_OTHER, "out of memory while listing OpenCL devices");
        }
        (*n)++;
    }
    free(ids);
    return TB_OK;
}

tb_status tb_device_list(tb_device_info **list, size_t *n, tb_error *err)
{
    *list = NULL;
    *n = 0;
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    /* The ICD loader says "no platform" with -1001; that is an empty
     * machine, which tb_device_select explains, not a broken one. */
    if (rc == TB_CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && np == 0))
        return TB_OK;
    if (rc != CL_SUCCESS)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "cannot list OpenCL platforms: clGetPlatformIDs returned %s (%d); "
                            "the OpenCL ICD loader or an installed driver is broken "
                            "(`clinfo -l` shows the same view)",
                            tb_cl_error_name(rc), (int)rc);
    cl_platform_id *platforms = calloc(np, sizeof *platforms);
    if (!platforms)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory while listing OpenCL platforms");
    rc = clGetPlatformIDs(np, platforms, &np);
    tb_status st = TB_OK;
    if (rc != CL_SUCCESS)
        st = tb_error_set(err, TB_ERR_DEVICE,
                          "cannot list OpenCL platforms: clGetPlatformIDs returned %s (%d)",
                          tb_cl_error_name(rc), (int)rc);
    for (cl_uint p = 0; st == TB_OK && p < np; p++)
        st = add_platform(list, n, platforms[p], (int)p, err);
    free(platforms);
    if (st != TB_OK) {
        tb_device_list_free(*list);
        *list = NULL;
        *n = 0;
    }
    return st;
}

void tb_device_list_free(tb_device_info *list)
{
    free(list);
}

/* The `auto` score:
 *
 *     score = 0                                  unavailable, or no compiler
 *     score = W(type) * (1 + log2(1 + CU * MHz) / 64)    otherwise
 *
 * with W = 1000 for GPUs, 500 for accelerators, 100 for CPUs, 10 for
 * anything else. CU * MHz is below 2^64, so the second factor lies in
 * [1, 2): the type bands never overlap (any GPU outranks any CPU, however
 * many cores the CPU has or however badly a GPU driver reports its clock),
 * and within a type more compute units x clock always scores higher. */
double tb_device_score(const tb_device_info *d)
{
    if (!d->available || !d->compiler_available)
        return 0.0;
    double weight;
    switch (d->type) {
    case TB_DEVICE_GPU: weight = 1000.0; break;
    case TB_DEVICE_ACCELERATOR: weight = 500.0; break;
    case TB_DEVICE_CPU: weight = 100.0; break;
    default: weight = 10.0; break;
    }
    double throughput = (double)d->compute_units * (double)d->clock_mhz;
    return weight * (1.0 + log2(1.0 + throughput) / 64.0);
}

/* ------------------------------------------------------------ selection */

typedef enum sel_kind { SEL_AUTO, SEL_TYPE, SEL_INDEX, SEL_PD, SEL_NAME } sel_kind;

typedef struct selector {
    sel_kind kind;
    tb_device_type type;
    long index, platform, device;
    const char *text; /* name~TEXT: points into the caller's string */
} selector;

static const char grammar[] =
    "expected one of: auto, cpu, gpu, accelerator, an index from `twinbrain devices` "
    "(e.g. 0), P:D (platform:device, e.g. 0:1), or name~TEXT (case-insensitive "
    "substring of the platform or device name)";

/* Digits only, [begin, end), no sign, no overflow beyond a sane bound. */
static bool parse_number(const char *begin, const char *end, long *out)
{
    if (begin == end)
        return false;
    long v = 0;
    for (const char *p = begin; p < end; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000L)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

static bool parse_selector(const char *s, selector *sel)
{
    static const struct { const char *word; sel_kind kind; tb_device_type type; } words[] = {
        {"auto", SEL_AUTO, TB_DEVICE_OTHER},
        {"cpu", SEL_TYPE, TB_DEVICE_CPU},
        {"gpu", SEL_TYPE, TB_DEVICE_GPU},
        {"accelerator", SEL_TYPE, TB_DEVICE_ACCELERATOR},
    };
    memset(sel, 0, sizeof *sel);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i].word) == 0) {
            sel->kind = words[i].kind;
            sel->type = words[i].type;
            return true;
        }
    if (strncasecmp(s, "name~", 5) == 0) {
        sel->kind = SEL_NAME;
        sel->text = s + 5;
        return sel->text[0] != '\0';
    }
    const char *end = s + strlen(s);
    const char *colon = strchr(s, ':');
    if (!colon) {
        sel->kind = SEL_INDEX;
        return parse_number(s, end, &sel->index);
    }
    sel->kind = SEL_PD;
    return parse_number(s, colon, &sel->platform) && parse_number(colon + 1, end, &sel->device);
}

static bool sel_matches(const selector *sel, const tb_device_info *d)
{
    switch (sel->kind) {
    case SEL_AUTO: return true;
    case SEL_TYPE: return d->type == sel->type;
    case SEL_INDEX: return d->index == sel->index;
    case SEL_PD: return d->platform_index == sel->platform && d->device_index == sel->device;
    case SEL_NAME:
        return contains_ci(d->name, sel->text) || contains_ci(d->platform_name, sel->text);
    }
    return false;
}

static void append_device_list(strbuf *sb, const tb_device_info *list, size_t n)
{
    sb_appendf(sb, "; available devices:");
    for (size_t i = 0; i < n; i++) {
        const tb_device_info *d = &list[i];
        sb_appendf(sb, "\n  %d  %d:%d  %s  %s (%s)", d->index, d->platform_index,
                   d->device_index, tb_device_type_name(d->type), d->name, d->platform_name);
    }
}

/* Why the matching devices were passed over, counted while picking. */
typedef struct pick_tally {
    size_t matched, unavailable, no_compiler, no_fp64;
    size_t last; /* the last matching device, for one-device messages */
} pick_tally;

/* The best usable match: highest score, ties to the lowest index. Explicit
 * selectors (INDEX, P:D, name~) may pick a device without an online
 * compiler, which can still run prebuilt binaries; `auto` and the type words
 * only consider devices with a positive score. */
static size_t pick(const tb_device_info *list, size_t n, const selector *sel, bool need_fp64,
                   pick_tally *t)
{
    bool ranked = sel->kind == SEL_AUTO || sel->kind == SEL_TYPE;
    size_t best = SIZE_MAX;
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        const tb_device_info *d = &list[i];
        if (!sel_matches(sel, d))
            continue;
        t->matched++;
        t->last = i;
        if (!d->available) {
            t->unavailable++;
            continue;
        }
        if (ranked && !(d->score > 0.0)) {
            t->no_compiler++;
            continue;
        }
        if (need_fp64 && !d->fp64) {
            t->no_fp64++;
            continue;
        }
        if (best == SIZE_MAX || d->score > list[best].score ||
            (d->score == list[best].score && d->index < list[best].index))
            best = i;
    }
    return best;
}

static tb_status no_match(const tb_device_info *list, size_t n, const char *text,
                          const pick_tally *t, tb_error *err)
{
    strbuf sb = {0};
    const tb_device_info *one = &list[t->last];
    if (t->matched == 0)
        sb_appendf(&sb, "no OpenCL device matches selector \"%s\"", text);
    else if (t->matched == 1 && t->no_fp64 == 1)
        sb_appendf(&sb, "device %d (%s) has no fp64 support; use precision = \"single\" "
                   "or choose another device", one->index, one->name);
    else if (t->matched == 1 && t->unavailable == 1)
        sb_appendf(&sb, "device %d (%s) is not available (the driver reports it busy or "
                   "offline); choose another device", one->index, one->name);
    else if (t->matched == 1 && t->no_compiler == 1)
        sb_appendf(&sb, "device %d (%s) has no online OpenCL C compiler, so \"%s\" does not "
                   "consider it; select it by index to use prebuilt kernels",
                   one->index, one->name, text);
    else {
        sb_appendf(&sb, "no usable OpenCL device matches selector \"%s\" (%zu matched:", text,
                   t->matched);
        if (t->no_fp64)
            sb_appendf(&sb, " %zu without fp64 support, which precision = \"double\" needs;",
                       t->no_fp64);
        if (t->unavailable)
            sb_appendf(&sb, " %zu not available;", t->unavailable);
        if (t->no_compiler)
            sb_appendf(&sb, " %zu without an online compiler;", t->no_compiler);
        if (sb.text && sb.len > 0 && sb.text[sb.len - 1] == ';')
            sb.text[--sb.len] = '\0';
        sb_appendf(&sb, ")%s", t->no_fp64 ? "; use precision = \"single\" or choose another "
                                            "device" : "");
    }
    append_device_list(&sb, list, n);
    tb_status st = tb_error_set(err, TB_ERR_DEVICE, "%s", sb.text ? sb.text : "no device");
    free(sb.text);
    return st;
}

static const char *resolve_selector(const char *selector, bool *from_env)
{
    *from_env = false;
    if (selector && selector[0])
        return selector;
    const char *env = getenv("TWINBRAIN_DEVICE");
    if (env && env[0]) {
        *from_env = true;
        return env;
    }
    return "auto";
}

static tb_status select_trimmed(const tb_device_info *list, size_t n, const char *text,
                                bool need_fp64, size_t *chosen, tb_error *err)
{
    selector sel;
    if (!parse_selector(text, &sel))
        return tb_error_set(err, TB_ERR_DEVICE, "unknown device selector \"%s\"; %s", text,
                            grammar);
    if (n == 0)
        return tb_error_set(err, TB_ERR_DEVICE,
                            "no OpenCL devices found: no OpenCL platform is installed, or none "
                            "has a device. Install an OpenCL driver (ICD), such as "
                            "pocl-opencl-icd for the CPU or your GPU vendor's OpenCL runtime; "
                            "`clinfo -l` shows what the ICD loader sees");
    pick_tally tally;
    size_t best = pick(list, n, &sel, need_fp64, &tally);
    if (best == SIZE_MAX)
        return no_match(list, n, text, &tally, err);
    *chosen = best;
    return TB_OK;
}

tb_status tb_device_select(const tb_device_info *list, size_t n, const char *selector,
                           bool need_fp64, size_t *chosen, tb_error *err)
{
    bool from_env;
    const char *raw = resolve_selector(selector, &from_env);
    /* Trim so that `--device " 1"` or a padded environment value works. */
    char text[512];
    copy_trimmed(text, sizeof text, raw);
    tb_status st = select_trimmed(list, n, text, need_fp64, chosen, err);
    if (st != TB_OK && from_env)
        tb_error_prefix(err, "TWINBRAIN_DEVICE=\"%s\": ", raw);
    return st;
}

/* ------------------------------------------------------------ open device */

tb_status tb_device_open(const tb_device_info *info, tb_device **out, tb_error *err)
{
    *out = NULL;
    if (!info->available)
        return tb_error_set(err, TB_ERR_DEVICE, "device %d (%s) is not available", info->index,
                            info->name);
    tb_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory opening device %d", info->index);
    dev->info = *info;
    dev->held = calloc(1, sizeof *dev->held);
    if (dev->held)
        atomic_store(&dev->held->refs, 1);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info->platform,
                                     0};
    cl_int rc = CL_SUCCESS;
    dev->context = clCreateContext(props, 1, &info->id, NULL, NULL, &rc);
    if (!dev->context || rc != CL_SUCCESS) {
        tb_device_close(dev);
        return tb_error_set(err, TB_ERR_DEVICE,
                            "cannot create an OpenCL context on device %d (%s, %s): %s (%d)",
                            info->index, info->name, info->platform_name, tb_cl_error_name(rc),
                            (int)rc);
    }
    /* In order, so that chunk N+1's kernels see chunk N's results without
     * explicit events; profiling on, for `twinbrain bench` timings. */
    dev->queue = clCreateCommandQueue(dev->context, info->id, CL_QUEUE_PROFILING_ENABLE, &rc);
    if (!dev->queue || rc != CL_SUCCESS) {
        tb_device_close(dev);
        return tb_error_set(err, TB_ERR_DEVICE,
                            "cannot create a command queue on device %d (%s, %s): %s (%d)",
                            info->index, info->name, info->platform_name, tb_cl_error_name(rc),
                            (int)rc);
    }
    *out = dev;
    return TB_OK;
}

void tb_device_close(tb_device *dev)
{
    if (!dev)
        return;
    if (dev->queue) {
        clFinish(dev->queue);
        clReleaseCommandQueue(dev->queue);
    }
    if (dev->context)
        clReleaseContext(dev->context);
    if (dev->held)
        ledger_drop(dev->held);
    free(dev->kernels_dir);
    free(dev->export_dir);
    free(dev->build_hint);
    free(dev);
}

const tb_device_info *tb_device_get_info(const tb_device *dev)
{
    return &dev->info;
}

cl_context tb_device_context(const tb_device *dev)
{
    return dev->context;
}

cl_command_queue tb_device_queue(const tb_device *dev)
{
    return dev->queue;
}

/* ------------------------------------------------------------ buffers */

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

cl_mem tb_device_alloc(tb_device *dev, size_t bytes, const void *host, const char *what,
                       tb_error *err)
{
    const tb_device_info *d = &dev->info;
    const char *label = what && what[0] ? what : "a buffer";
    if (bytes == 0) {
        tb_error_set(err, TB_ERR_OTHER, "cannot allocate an empty device buffer for %s", label);
        return NULL;
    }
    /* Refuse upfront: some drivers accept an oversized request and fail
     * only at first use, far from the place that could explain it. */
    if (d->max_alloc_bytes > 0 && (uint64_t)bytes > d->max_alloc_bytes) {
        tb_error_set(err, TB_ERR_DEVICE,
                     "cannot allocate %.2f MiB (%zu bytes) for %s on device %d (%s): larger "
                     "than the device's maximum single allocation of %.2f MiB (%llu bytes; "
                     "global memory %.2f MiB)",
                     mib(bytes), bytes, label, d->index, d->name, mib(d->max_alloc_bytes),
                     (unsigned long long)d->max_alloc_bytes, mib(d->global_mem_bytes));
        return NULL;
    }
    uint64_t held = dev->held ? atomic_load(&dev->held->bytes) : 0;
    if (d->global_mem_bytes > 0 && held + (uint64_t)bytes > d->global_mem_bytes) {
        tb_error_set(err, TB_ERR_DEVICE,
                     "cannot allocate %.2f MiB for %s on device %d (%s): the run already holds %.2f MiB of "
                     "buffers there and the device has %.2f MiB of global memory",
                     mib(bytes), label, d->index, d->name, mib(held), mib(d->global_mem_bytes));
        return NULL;
    }
    cl_mem_flags flags = CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0);
    cl_int rc = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(dev->context, flags, bytes, (void *)host, &rc);
    if (!mem || rc != CL_SUCCESS) {
        if (mem)
            clReleaseMemObject(mem);
        tb_error_set(err, TB_ERR_DEVICE,
                     "cannot allocate %.2f MiB for %s on device %d (%s): %s (%d); the device "
                     "has %.2f MiB of global memory and allows %.2f MiB in one allocation",
                     mib(bytes), label, d->index, d->name, tb_cl_error_name(rc), (int)rc,
                     mib(d->global_mem_bytes), mib(d->max_alloc_bytes));
        return NULL;
    }
    ledger_entry *e = dev->held ? malloc(sizeof *e) : NULL;
    if (e) {
        *e = (ledger_entry){dev->held, bytes};
        atomic_fetch_add(&dev->held->refs, 1);
        atomic_fetch_add(&dev->held->bytes, bytes);
        if (clSetMemObjectDestructorCallback(mem, buffer_gone, e) != CL_SUCCESS) {
            atomic_fetch_sub(&dev->held->bytes, bytes);
            ledger_drop(dev->held);
            free(e);
        }
    }
    return mem;
}

/* Huge pages (2 MiB on x86-64) where the kernel gives them on request
 * (Linux's transparent huge pages in "madvise" mode, the common default):
 * the full-scale microcircuit's 2.4 GB of synapses in 4 KiB pages missed
 * the TLB at nearly every bucket; in 2 MiB pages they fit it. The buffer
 * is mapped to find its host address (a CPU device's map is its memory),
 * the whole 2 MiB pages inside it are advised, and it is unmapped; no
 * content exists yet, so the map invalidates rather than copies. The
 * price is at the first write: the kernel clears a whole huge page per
 * fault, which in a virtual machine that hands freed memory back to its
 * host costs far more than on bare metal (docs/performance.md);
 * TWINBRAIN_HUGE_PAGES=0 turns the advice off. */
void tb_device_advise_scattered(tb_device *dev, cl_mem mem, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    const char *env = getenv("TWINBRAIN_HUGE_PAGES");
    if (!dev || !mem || dev->info.type != TB_DEVICE_CPU || bytes < 4 * huge || (env && strcmp(env, "0") == 0))
        return;
    cl_int rc = CL_SUCCESS;
    void *p = clEnqueueMapBuffer(dev->queue, mem, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, bytes, 0, NULL, NULL,
                                 &rc);
    if (!p || rc != CL_SUCCESS)
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    if (clEnqueueUnmapMemObject(dev->queue, mem, p, 0, NULL, NULL) == CL_SUCCESS)
        clFinish(dev->queue);
#else
    (void)dev, (void)mem, (void)bytes;
#endif
}

/* ------------------------------------------------------------ programs, profile */

static bool copy_option(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

tb_status tb_device_set_program_options(tb_device *dev, const tb_program_options *opt, tb_error *err)
{
    dev->no_compile = opt->no_compile;
    if (!copy_option(&dev->kernels_dir, opt->kernels_dir) || !copy_option(&dev->export_dir, opt->export_dir) ||
        !copy_option(&dev->build_hint, opt->build_hint))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    return TB_OK;
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

void tb_device_get_program_options(const tb_device *dev, tb_program_options *opt)
{
    const char *env_dir = getenv("TWINBRAIN_KERNELS_DIR");
    opt->kernels_dir = dev->kernels_dir ? dev->kernels_dir : env_dir && env_dir[0] ? env_dir : NULL;
    opt->no_compile = dev->no_compile || env_flag("TWINBRAIN_NO_COMPILE");
    opt->export_dir = dev->export_dir;
    opt->build_hint = dev->build_hint;
}

void tb_device_set_profile(tb_device *dev, tb_profile *p)
{
    dev->profile = p;
}

tb_profile *tb_device_profile(const tb_device *dev)
{
    return dev ? dev->profile : NULL;
}
