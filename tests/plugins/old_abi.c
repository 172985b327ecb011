/* A plugin as ABI 1 laid it out (kind as a number, one pointer per kind,
 * an entry point without arguments), compiled here from a copy of that
 * layout: the loader must refuse it with a message that says to rebuild,
 * before reading anything past the version fields. */
#include <stddef.h>
#include <stdint.h>

typedef struct abi1_plugin {
    uint32_t abi_version;
    uint32_t struct_size;
    int kind;
    const char *name, *version, *summary, *doc;
    const void *params;
    size_t n_params;
    const void *mass, *spiking, *twin, *perturb;
    void *reserved[8];
} abi1_plugin;

static const abi1_plugin plugin = {1, sizeof(abi1_plugin), 1, "old_abi", "0", "built for ABI 1",
                                   NULL, NULL, 0, NULL, NULL, NULL, NULL, {0}};

const abi1_plugin *old_abi_LTX_tb_plugin_entry(void);
const abi1_plugin *old_abi_LTX_tb_plugin_entry(void)
{
    return &plugin;
}
