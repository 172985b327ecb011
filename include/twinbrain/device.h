/* The device layer: every OpenCL platform and device, their capabilities,
 * selection by the selector grammar of DESIGN.md, and an opened device
 * (context + in-order queue with profiling enabled). */
#ifndef TWINBRAIN_DEVICE_H
#define TWINBRAIN_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/error.h"
#include "twinbrain/opencl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_device_type {
    TB_DEVICE_CPU = 1,
    TB_DEVICE_GPU = 2,
    TB_DEVICE_ACCELERATOR = 4,
    TB_DEVICE_OTHER = 8
} tb_device_type;

typedef struct tb_device_info {
    int index;          /* position in the list `twinbrain devices` prints */
    int platform_index; /* P of the P:D selector */
    int device_index;   /* D of the P:D selector, within its platform */
    cl_platform_id platform;
    cl_device_id id;
    tb_device_type type;
    char platform_name[256];
    char platform_vendor[256];
    char platform_version[256];
    char name[256];
    char vendor[256];
    char driver_version[256];
    char device_version[256];   /* "OpenCL 3.0 PoCL ..." */
    char opencl_c_version[256]; /* "OpenCL C 1.2 ..." */
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    unsigned max_work_item_dims;
    size_t max_work_item_sizes[3];
    bool fp64;              /* cl_khr_fp64 or a non-zero CL_DEVICE_DOUBLE_FP_CONFIG */
    bool available;
    bool compiler_available; /* false on FPGA boards without an online compiler */
    double score;           /* the `auto` score, see tb_device_score() */
} tb_device_info;

/* "CPU", "GPU", "ACCELERATOR" or "OTHER": the TYPE column of device
 * listings, so that the command line and error messages agree. */
const char *tb_device_type_name(tb_device_type type);

/* Enumerate every device of every platform (all types). An empty list is not
 * an error (n = 0); a broken ICD loader is TB_ERR_DEVICE. */
tb_status tb_device_list(tb_device_info **list, size_t *n, tb_error *err);
void tb_device_list_free(tb_device_info *list);

/* The `auto` score. Documented in docs/architecture.md: GPUs first, then
 * accelerators, then CPUs; within a type, compute units x clock; devices
 * without a compiler or unavailable score 0. */
double tb_device_score(const tb_device_info *d);

/* Resolve a selector (auto, cpu, gpu, accelerator, INDEX, P:D, name~TEXT).
 * NULL or "" means $TWINBRAIN_DEVICE or "auto". need_fp64 drops devices
 * without fp64 from `auto`/type matches and refuses an explicit one with a
 * clear message. No match is TB_ERR_DEVICE with the list of devices. */
tb_status tb_device_select(const tb_device_info *list, size_t n, const char *selector,
                           bool need_fp64, size_t *chosen, tb_error *err);

/* Several devices for one run (core/multidevice.c): `all` (every device
 * `auto` could pick, in list order), or selectors separated by commas
 * ("0,1", "cpu,gpu"), each resolved by tb_device_select(); a device chosen
 * twice is an error. One selector gives one device. *chosen (malloc'd)
 * holds indices into `list`. */
tb_status tb_device_select_many(const tb_device_info *list, size_t n, const char *selector, bool need_fp64,
                                size_t **chosen, size_t *n_chosen, tb_error *err);

typedef struct tb_device tb_device;

tb_status tb_device_open(const tb_device_info *info, tb_device **out, tb_error *err);
void tb_device_close(tb_device *dev);
const tb_device_info *tb_device_get_info(const tb_device *dev);
cl_context tb_device_context(const tb_device *dev);
cl_command_queue tb_device_queue(const tb_device *dev);

/* Convenience: allocate a buffer (and optionally upload `host`); errors name
 * what the buffer was for and the bytes asked, as out-of-memory reports must. */
cl_mem tb_device_alloc(tb_device *dev, size_t bytes, const void *host, const char *what, tb_error *err);

/* A hint, for a large buffer read at scattered places (a spiking network's
 * synapses): on a CPU device, whose buffers are host memory, asks the
 * operating system for huge pages for it, so that its reads do not each
 * miss the address-translation cache. Call it right after tb_device_alloc,
 * before anything writes the buffer (pages already touched stay small).
 * Changes no result; does nothing elsewhere or where it cannot. */
void tb_device_advise_scattered(tb_device *dev, cl_mem mem, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
