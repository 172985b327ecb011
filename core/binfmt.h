/* Program binaries checked before a driver sees them (internal;
 * core/binfmt.c).
 *
 * clCreateProgramWithBinary() trusts the sizes a binary declares: PoCL
 * reads past the buffer (a crash) or fails an assertion (an abort) on a
 * binary cut short, which no caller can recover from. So the containers
 * twinbrain can meet are walked first: PoCL's "poclbin" (its formats 7
 * and 9; PoCL 3 writes 9), ELF (Intel, AMD, Intel FPGA .aocx) and
 * Xilinx's .xclbin. A binary of another kind or format version goes to
 * the driver as it is. */
#ifndef TWINBRAIN_BINFMT_H
#define TWINBRAIN_BINFMT_H

#include <stdbool.h>
#include <stddef.h>

/* True when every size the binary declares fits in its `len` bytes;
 * otherwise false with the reason in `why` ("declares 213906 bytes, holds
 * 100000"). */
bool tb_binary_sizes_ok(const unsigned char *bin, size_t len, char *why, size_t cap);

#endif
