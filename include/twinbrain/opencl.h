/* One place that includes the OpenCL headers with the API level twinbrain
 * targets, so every file sees the same declarations. */
#ifndef TWINBRAIN_OPENCL_H
#define TWINBRAIN_OPENCL_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif
/* Name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *tb_cl_error_name(cl_int code);

#include "twinbrain/error.h"
/* TB_ERR_DEVICE with "WHAT failed: CL_NAME (code)": the one message every
 * failed OpenCL call gives. */
tb_status tb_cl_fail(tb_error *err, cl_int rc, const char *what);
#endif
