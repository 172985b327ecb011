/* The layer registry: the layers named in the build (TB_LAYERS, through
 * the generated layers.inc), and their hooks run over a scenario. */
#include "config.h"

#include <string.h>

#include "layer.h"

#define TB_LAYER(name) extern const tb_layer tb_##name##_layer;
#include "layers.inc"
#undef TB_LAYER

#define TB_LAYER(name) &tb_##name##_layer,
static const tb_layer *const builtin[] = {
#include "layers.inc"
    NULL};
#undef TB_LAYER

size_t tb_layer_count(void)
{
    return sizeof builtin / sizeof builtin[0] - 1;
}

const tb_layer *tb_layer_at(size_t i)
{
    return i < tb_layer_count() ? builtin[i] : NULL;
}

const tb_layer *tb_layer_for_plugin_kind(const char *kind)
{
    for (size_t k = 0; kind && k < tb_layer_count(); ++k)
        if (builtin[k]->plugin_kind && strcmp(builtin[k]->plugin_kind, kind) == 0)
            return builtin[k];
    return NULL;
}

const tb_layer *tb_layer_owning(const char *section)
{
    for (size_t k = 0; section && k < tb_layer_count(); ++k)
        for (size_t i = 0; i < builtin[k]->n_sections; ++i)
            if (strcmp(builtin[k]->sections[i].name, section) == 0)
                return builtin[k];
    return NULL;
}

tb_status tb_layers_prepare(const tb_scenario *sc, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (sc->layer_data[k])
            st = builtin[k]->prepare(sc, sc->layer_data[k], err);
    return st;
}

uint64_t tb_layers_next_step(const tb_scenario *sc, uint64_t from)
{
    uint64_t next = UINT64_MAX;
    for (size_t k = 0; k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (sc->layer_data[k]) {
            uint64_t s = builtin[k]->next_step(sc->layer_data[k], from);
            next = s < next ? s : next;
        }
    return next;
}

tb_status tb_layers_apply(const tb_scenario *sc, void *impl, size_t first, size_t count, uint64_t step,
                          tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (sc->layer_data[k])
            st = builtin[k]->apply(sc->layer_data[k], sc, impl, first, count, step, err);
    return st;
}

tb_status tb_layers_declare(const tb_scenario *sc, tb_output *out, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (sc->layer_data[k] && builtin[k]->declare)
            st = builtin[k]->declare(sc->layer_data[k], sc, out, err);
    return st;
}

void tb_layers_free(tb_scenario *sc)
{
    for (size_t k = 0; k < tb_layer_count() && k < TB_MAX_LAYERS; ++k)
        if (sc->layer_data[k]) {
            builtin[k]->free_scenario(sc->layer_data[k]);
            sc->layer_data[k] = NULL;
        }
}
