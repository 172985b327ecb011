/* twinbrain plot: pictures of an output file, drawn by the Python package
 * (python3 -m twinbrain.plot, matplotlib). The engine stays C and needs
 * no Python; this command is the one that does, and says what to install
 * when it is missing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#ifndef TB_PLOT_PYTHON
#define TB_PLOT_PYTHON "python3"
#endif
#ifndef TB_PLOT_PYTHON_DIR
#define TB_PLOT_PYTHON_DIR ""
#endif

static const char needs[] =
    "twinbrain plot needs Python 3 with numpy, h5py and matplotlib, and the twinbrain Python\n"
    "package (built by ./configure && make install when Python 3 and numpy are present; Debian:\n"
    "apt-get install python3-dev python3-numpy python3-h5py python3-matplotlib)";

/* Imports first, so that a missing package is named rather than shown as a
 * traceback; then the package's command line (docs/python.md). */
static const char bootstrap[] =
    "import sys\n"
    "try:\n"
    "    import matplotlib, h5py, numpy\n"
    "    import twinbrain.plot as p\n"
    "except ImportError as e:\n"
    "    sys.stderr.write('twinbrain plot: error: %s\\n' % e + sys.argv[1] + '\\n')\n"
    "    sys.exit(1)\n"
    "sys.exit(p.main(sys.argv[2:]))\n";

/* The interpreter: $TWINBRAIN_PYTHON, else the one the package was built
 * for, else python3 from PATH. */
static const char *interpreter(void)
{
    const char *env = getenv("TWINBRAIN_PYTHON");
    if (env && *env)
        return env;
    return strcmp(TB_PLOT_PYTHON, "none") ? TB_PLOT_PYTHON : "python3";
}

/* The installed package's folder goes after any PYTHONPATH already set,
 * so an installation under any prefix is found and a build tree still wins. */
static void add_package_dir(void)
{
    if (!TB_PLOT_PYTHON_DIR[0])
        return;
    const char *old = getenv("PYTHONPATH");
    char *path = old && *old ? tb_asprintf("%s:%s", old, TB_PLOT_PYTHON_DIR) : tb_strdup(TB_PLOT_PYTHON_DIR);
    setenv("PYTHONPATH", path, 1);
    free(path);
}

int tb_cli_plot(int argc, char **argv)
{
    const char *py = interpreter();
    char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!args)
        return 1;
    size_t n = 0;
    args[n++] = (char *)py;
    args[n++] = "-c";
    args[n++] = (char *)bootstrap;
    args[n++] = (char *)needs;
    for (int i = 1; i < argc; ++i)
        args[n++] = argv[i];
    args[n] = NULL;
    add_package_dir();
    fflush(NULL);
    execvp(py, args);
    fprintf(stderr, "twinbrain plot: error: cannot run %s (%s)\n%s\n", py, strerror(errno), needs);
    free(args);
    return 1;
}
