/* The core's services to plugins (include/twinbrain/plugin.h): thin,
 * checked wrappers over the device, program and profile layers, so that a
 * plugin that owns device work gets the cache, the profile and the error
 * messages every kit gets. */
#include "config.h"

#include <stdlib.h>

#include "profile.h"
#include "twinbrain/device.h"
#include "twinbrain/opencl.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"

static void *buffer_create(tb_device *dev, size_t bytes, const void *host, const char *what, tb_error *err)
{
    return tb_device_alloc(dev, bytes, host, what ? what : "a plugin's buffer", err);
}

static void buffer_release(void *buffer)
{
    if (buffer)
        clReleaseMemObject((cl_mem)buffer);
}

static tb_status buffer_write(tb_device *dev, void *buffer, size_t offset, size_t bytes, const void *host,
                              tb_error *err)
{
    cl_int rc = clEnqueueWriteBuffer(tb_device_queue(dev), (cl_mem)buffer, CL_TRUE, offset, bytes, host, 0, NULL,
                                     NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "writing a plugin's buffer");
}

static tb_status buffer_read(tb_device *dev, void *buffer, size_t offset, size_t bytes, void *host, tb_error *err)
{
    cl_int rc = clEnqueueReadBuffer(tb_device_queue(dev), (cl_mem)buffer, CL_TRUE, offset, bytes, host, 0, NULL,
                                    NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "reading a plugin's buffer");
}

static tb_status program_build(tb_device *dev, int precision, const char *source, const char *label,
                               tb_program **out, tb_error *err)
{
    *out = NULL;
    tb_program_part part = {NULL, source, label ? label : "plugin"};
    char *text = tb_program_assemble(precision ? TB_DOUBLE : TB_SINGLE, &part, 1, err);
    if (!text)
        return err ? err->status : TB_ERR_OTHER;
    tb_status st = tb_program_build(dev, text, NULL, label ? label : "plugin", out, err);
    free(text);
    return st;
}

static void *kernel_create(tb_program *prog, const char *name, tb_error *err)
{
    return tb_program_kernel(prog, name, err);
}

static tb_status kernel_arg(void *kernel, unsigned index, size_t size, const void *value, tb_error *err)
{
    cl_int rc = clSetKernelArg((cl_kernel)kernel, index, size, value);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "setting a plugin kernel's argument");
}

static void kernel_release(void *kernel)
{
    if (kernel)
        clReleaseKernel((cl_kernel)kernel);
}

static tb_status enqueue(tb_device *dev, void *kernel, unsigned dims, const size_t *global, const size_t *local,
                         const char *what, tb_error *err)
{
    if (dims < 1 || dims > 3)
        return tb_error_set(err, TB_ERR_OTHER, "%s: a kernel runs over 1 to 3 dimensions, not %u",
                            what ? what : "plugin kernel", dims);
    tb_profile *prof = tb_device_profile(dev);
    cl_event ev = NULL;
    cl_int rc = clEnqueueNDRangeKernel(tb_device_queue(dev), (cl_kernel)kernel, dims, NULL, global, local, 0, NULL,
                                       tb_profile_event_slot(prof, &ev));
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, what ? what : "enqueueing a plugin's kernel");
    tb_profile_command(prof, what ? what : "plugin kernel", ev);
    if (ev)
        clReleaseEvent(ev);
    return TB_OK;
}

static tb_status finish(tb_device *dev, tb_error *err)
{
    cl_int rc = clFinish(tb_device_queue(dev));
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "waiting for a plugin's commands");
}

static const tb_core_services services = {
    .head = {TB_SERVICES_VERSION, (uint32_t)sizeof(tb_core_services)},
    .buffer_create = buffer_create,
    .buffer_release = buffer_release,
    .buffer_write = buffer_write,
    .buffer_read = buffer_read,
    .program_build = program_build,
    .program_free = tb_program_free,
    .kernel_create = kernel_create,
    .kernel_arg = kernel_arg,
    .kernel_release = kernel_release,
    .enqueue = enqueue,
    .finish = finish,
};

const tb_core_services *tb_core_services_get(void)
{
    return &services;
}
