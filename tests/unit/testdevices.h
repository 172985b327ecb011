/* The devices the device-facing unit tests run on (docs/testing.md), as
 * tests/devices.py chooses them for the scenario tests: every device with a
 * positive score (available, with a compiler), the one `auto` picks first;
 * TB_TEST_DEVICES=auto keeps that one only, TB_TEST_DEVICES="0,2" those
 * indices; TB_TEST_NO_FP64="1" treats device 1 as lacking fp64 (to see the
 * skip path where every device has it). A test runs its device group once
 * per device, under a header line naming the device. */
#ifndef TWINBRAIN_TESTDEVICES_H
#define TWINBRAIN_TESTDEVICES_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/device.h"

/* Whether `index` is among the integers of a "0,2" / "0 2" list. */
static inline bool tu_index_listed(const char *text, int index)
{
    if (!text)
        return false;
    const char *p = text;
    while (*p) {
        if (isdigit((unsigned char)*p)) {
            char *end;
            long v = strtol(p, &end, 10);
            if (v == index)
                return true;
            p = end;
        } else {
            p++;
        }
    }
    return false;
}

/* fp64 as the tests see it: the device's, unless TB_TEST_NO_FP64 lists it. */
static inline bool tu_fp64(const tb_device_info *d)
{
    return d->fp64 && !tu_index_listed(getenv("TB_TEST_NO_FP64"), d->index);
}

/* Why tu_fp64() is false, for the skip line. */
static inline const char *tu_no_fp64_reason(const tb_device_info *d)
{
    return d->fp64 ? "no fp64 (TB_TEST_NO_FP64)" : "the device has no fp64 (cl_khr_fp64)";
}

/* The positions in list[] to test on, in order, into out[] (n entries);
 * returns how many. */
static inline size_t tu_test_devices(const tb_device_info *list, size_t n, size_t *out)
{
    const char *want = getenv("TB_TEST_DEVICES");
    if (!want || !*want)
        want = "all";
    size_t best = SIZE_MAX;
    tb_error err = {0};
    if (tb_device_select(list, n, "auto", false, &best, &err) != TB_OK)
        best = SIZE_MAX;
    tb_error_clear(&err);
    bool all = strcmp(want, "all") == 0, only_auto = strcmp(want, "auto") == 0;
    size_t k = 0;
    if (best != SIZE_MAX && (all || only_auto || tu_index_listed(want, list[best].index)))
        out[k++] = best;
    if (only_auto)
        return k;
    for (size_t i = 0; i < n; i++)
        if (i != best && list[i].score > 0 && (all || tu_index_listed(want, list[i].index)))
            out[k++] = i;
    return k;
}

/* The header line a device's group starts with. */
static inline void tu_device_header(const char *test, const tb_device_info *d)
{
    printf("=== %s on device %d: %s (%s, %s, %s) ===\n", test, d->index, d->name,
           tb_device_type_name(d->type), d->platform_name,
           tu_fp64(d) ? "fp64" : tu_no_fp64_reason(d));
    fflush(stdout);
}

#endif
