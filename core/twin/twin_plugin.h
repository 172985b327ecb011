/* Twin plugins inside the twin kit: checking a loaded plugin of the
 * "twin" kind, mapping a node of a custom domain to the plugin that runs
 * it, and the one op-table entry every such node shares (its shape comes
 * from the plugin's `infer`). */
#ifndef TWINBRAIN_TWIN_PLUGIN_H
#define TWINBRAIN_TWIN_PLUGIN_H

#include "twin_ops.h"
#include "twinbrain/twin.h"

tb_status tw_check_plugin(const tb_plugin *p, const char *file, tb_error *err);
/* `twinbrain plugins NAME` lines and --json members of a twin plugin. */
void tw_plugin_text(const tb_plugin *p, tb_buf *b);
void tw_plugin_json(const tb_plugin *p, tb_buf *b);
/* The built-in op set, for `twinbrain plugins`. */
void tw_builtin_text(tb_buf *b);

/* Map node n of `domain` to the twin plugin that runs its op, loading the
 * plugins into g when first needed; TB_ERR_INPUT naming the file, node,
 * op, domain and opset when none does. */
tb_status tw_plugin_resolve(tw_graph *g, tw_node *n, const char *domain, const char *file, tb_error *err);
/* The op-table entry of a node: its plugin's (TW_K_PLUGIN) or the built-in op (NULL: unknown). */
const tw_op *tw_node_op(const tw_node *n);
/* The kernel's meta longs and reals of a plugin node (TB_TWIN_MAX_META each at most). */
void tw_plugin_tables(tw_graph *g, const tw_node *n, int64_t *meta, size_t *n_meta, double *reals, size_t *n_reals);

#endif
