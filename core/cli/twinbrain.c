/* The `twinbrain` command: dispatch to subcommands. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "cli.h"
#include "twinbrain/opencl.h"
#include "twinbrain/plugin.h"

static const char usage[] =
    "usage: twinbrain COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.toml [-o OUT.h5] [--device SEL] [--precision single|double]\n"
    "                    [--set KEY=VALUE]... [--checkpoint-every MS] [--profile] [--kernels DIR]\n"
    "                    [--no-compile] [--quiet]          run a scenario\n"
    "  resume OUT.h5 [--device SEL]                        finish an interrupted run from its checkpoint\n"
    "  check SCENARIO.toml [--print] [--set KEY=VALUE]...   validate; --print writes the resolved scenario\n"
    "  devices [--json]                                    every OpenCL platform and device\n"
    "  plugins [--json] [NAME]                             plugins; NAME shows its parameters and docs\n"
    "  connectome generate|info|import ...                 connectome files\n"
    "  spikes stats OUT.h5 [--warmup MS] [--json]          spike statistics per population\n"
#ifdef TB_HAVE_TWIN
    "  twin import|eval ...                                visual-cortex twins: ONNX import, evaluation\n"
#endif
    "  bench FAMILY [--json]                               standard workloads (mass, spiking), device limits\n"
    "  compare SCENARIO.toml --devices SEL,SEL[,...] [--precisions single,double] [--json]\n"
    "                                                      the same run on several devices: time, differences\n"
    "  kernels build SCENARIO.toml --device SEL -o DIR     prebuilt program binaries (FPGA flow)\n"
    "  plot OUT.h5 [-o FILE.png|.svg|.pdf] [--what KIND,...]  pictures of a run (needs Python, matplotlib)\n"
    "  version                                             version and build facts\n"
    "\n"
    "'twinbrain COMMAND --help' describes one command. Exit status: 0 success, 2 usage or\n"
    "scenario error, 3 device or kernel-build error, 4 input-file error, 5 the simulation\n"
    "diverged, 6 nothing to resume, 130 interrupted, 1 anything else.\n"
    "Environment: TWINBRAIN_DEVICE (default device selector), TWINBRAIN_PLUGIN_PATH (plugin\n"
    "folders searched first), TWINBRAIN_CACHE_DIR (compiled kernels), TWINBRAIN_KERNEL_PATH\n"
    "(kernel library sources), TWINBRAIN_KERNELS_DIR (prebuilt binaries), TWINBRAIN_NO_COMPILE=1;\n"
    "all of them in docs/environment.md.\n";

bool tb_cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int tb_cli_fail(const tb_error *err)
{
    const char *msg = tb_error_message(err);
    /* Scenario messages already start with FILE:LINE:COL, which editors
     * and IDEs jump to; leave them as they are. */
    if (err->status == TB_ERR_SCENARIO && strchr(msg, ':') && strncmp(msg, "twinbrain", 9) != 0)
        fprintf(stderr, "%s\n", msg);
    else
        fprintf(stderr, "twinbrain: error: %s\n", msg);
    return err->status ? (int)err->status : 1;
}

int tb_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "twinbrain %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'twinbrain %s --help'\n", cmd);
    return TB_ERR_SCENARIO;
}

static int version(int argc, char **argv)
{
    if (argc > 1 && tb_cli_is_help(argv[1])) {
        printf("usage: twinbrain version\nPrints the version, plugin ABI and library versions.\n");
        return 0;
    }
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("twinbrain %s\n", PACKAGE_VERSION);
    printf("plugin ABI %u\n", TB_PLUGIN_ABI_VERSION);
    printf("HDF5 %u.%u.%u\n", maj, min, rel);
    printf("OpenCL API target %d.%d\n", CL_TARGET_OPENCL_VERSION / 100, (CL_TARGET_OPENCL_VERSION / 10) % 10);
    printf("plugins: %s\nkernels: %s\n", TB_PLUGINDIR, TB_PKGDATADIR "/kernels");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return TB_ERR_SCENARIO;
    }
    const char *cmd = argv[1];
    if (tb_cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0)
        return version(1, argv + 1);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", tb_cli_run},         {"check", tb_cli_check},           {"devices", tb_cli_devices},
        {"plugins", tb_cli_plugins}, {"connectome", tb_cli_connectome}, {"version", version},
        {"bench", tb_cli_bench},     {"kernels", tb_cli_kernels},       {"compare", tb_cli_compare},
        {"spikes", tb_cli_spikes},   {"resume", tb_cli_resume},         {"plot", tb_cli_plot},
#ifdef TB_HAVE_TWIN
        {"twin", tb_cli_twin},
#endif
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; ++i)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "twinbrain: unknown command '%s'\n\n%s", cmd, usage);
    return TB_ERR_SCENARIO;
}
