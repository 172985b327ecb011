/* Einsum (ONNX) with one to three operands: the contractions exporters
 * write for readouts ('bchw,uc->buhw', 'ncu,cu->nu'), batched products
 * ('...ij,...jk->...ik'), transposes and sums ('ijk->ki'). The equation
 * is parsed generally: explicit ('->') or implicit output (the letters
 * seen once, alphabetically, after the ellipsis); an ellipsis broadcasts
 * from the right. Not supported: an index repeated within one operand
 * (diagonals, traces). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "twin_ops_ext.h"
#include "twin_plan.h"

#define ES_LETTERS 52 /* a-z, A-Z; the ellipsis dimensions follow */
#define ES_IDS (ES_LETTERS + TW_MAX_RANK)
#define ES_OPS 3

typedef struct einsum {
    int n_ops, n_out, n_sum;
    int out[TW_MAX_RANK], sum[ES_IDS];
    int64_t size[ES_IDS];
    int64_t str[ES_OPS][ES_IDS]; /* each operand's stride per index (0: absent or broadcast) */
} einsum;

static int letter_id(char c)
{
    return islower((unsigned char)c) ? c - 'a' : isupper((unsigned char)c) ? 26 + c - 'A' : -1;
}

/* One term into index ids; an ellipsis becomes ids ES_LETTERS + the
 * right-aligned dimensions it stands for (ell of them, of max_ell). */
static int parse_term(const char *s, size_t len, int rank, int max_ell, int *ids, int *ell, char *why, size_t cap)
{
    int letters = 0, k = 0;
    const char *dots = NULL;
    for (size_t j = 0; j < len; ++j) {
        if (s[j] == '.') {
            if (dots || j + 2 >= len + 0 || strncmp(s + j, "...", 3) != 0) {
                snprintf(why, cap, "a malformed ellipsis");
                return -1;
            }
            dots = s + j;
            j += 2;
        } else if (letter_id(s[j]) >= 0) {
            letters++;
        } else {
            snprintf(why, cap, "the character '%c'", s[j]);
            return -1;
        }
    }
    *ell = dots ? (rank >= 0 ? rank - letters : max_ell) : 0;
    if (*ell < 0 || (rank >= 0 && !dots && letters != rank)) {
        snprintf(why, cap, "a term of %d indices for an operand of rank %d", letters, rank);
        return -1;
    }
    for (size_t j = 0; j < len; ++j) {
        if (s[j] == '.') {
            for (int e = 0; e < *ell; ++e)
                ids[k++] = ES_LETTERS + (max_ell - *ell) + e;
            j += 2;
        } else {
            ids[k++] = letter_id(s[j]);
        }
    }
    return k;
}

static tb_status einsum_of(tw_graph *g, const tw_node *n, einsum *e, tb_error *err)
{
    memset(e, 0, sizeof *e);
    const char *eq = tw_attr_string(n, "equation", NULL);
    char buf[256], why[96] = "";
    size_t m = 0;
    for (const char *p = eq ? eq : ""; *p && m + 1 < sizeof buf; ++p)
        if (!isspace((unsigned char)*p))
            buf[m++] = *p;
    buf[m] = 0;
    if (!eq || !m)
        return tw_node_error(g, n, err, "needs an equation");
    e->n_ops = (int)n->n_in;
    if (e->n_ops < 1 || e->n_ops > ES_OPS)
        return tw_node_error(g, n, err, "%d operands (1 to %d are supported)", e->n_ops, ES_OPS);
    char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : m;
    int ids[ES_OPS][TW_MAX_RANK + ES_LETTERS], cnt[ES_OPS], max_ell = 0, seen[ES_IDS] = {0};
    const char *t = buf;
    for (int k = 0; k < e->n_ops; ++k) {
        const char *end = memchr(t, ',', lhs_len - (size_t)(t - buf));
        if (k + 1 < e->n_ops && !end)
            return tw_node_error(g, n, err, "equation '%s' has fewer terms than the %d operands", buf, e->n_ops);
        if (k + 1 == e->n_ops && end)
            return tw_node_error(g, n, err, "equation '%s' has more terms than the %d operands", buf, e->n_ops);
        size_t len = end ? (size_t)(end - t) : lhs_len - (size_t)(t - buf);
        tw_tensor *x = tw_known_in(g, n, (size_t)k);
        if (!x)
            return tw_node_error(g, n, err, "operand %d has no known shape", k);
        int ell;
        /* first pass for the ellipsis width */
        cnt[k] = parse_term(t, len, x->rank, x->rank, ids[k], &ell, why, sizeof why);
        if (cnt[k] < 0)
            return tw_node_error(g, n, err, "equation '%s': %s", buf, why);
        max_ell = ell > max_ell ? ell : max_ell;
        t += len + 1;
    }
    t = buf;
    for (int k = 0; k < e->n_ops; ++k) {
        const char *end = memchr(t, ',', lhs_len - (size_t)(t - buf));
        size_t len = end ? (size_t)(end - t) : lhs_len - (size_t)(t - buf);
        tw_tensor *x = tw_in(g, n, (size_t)k);
        int ell, own[ES_IDS] = {0};
        int64_t xs[TW_MAX_RANK];
        tw_strides(x, xs);
        parse_term(t, len, x->rank, max_ell, ids[k], &ell, why, sizeof why);
        for (int d = 0; d < cnt[k]; ++d) {
            int id = ids[k][d];
            if (own[id]++)
                return tw_node_error(g, n, err, "equation '%s': index '%c' repeats within operand %d (a diagonal or "
                                     "trace) and is not supported", buf, id < 26 ? 'a' + id : 'A' + id - 26, k);
            int64_t sz = x->dims[d];
            if (seen[id] && e->size[id] != sz && e->size[id] != 1 && sz != 1)
                return tw_node_error(g, n, err, "equation '%s': sizes %lld and %lld for one index", buf,
                                     (long long)e->size[id], (long long)sz);
            if (!seen[id] || e->size[id] == 1)
                e->size[id] = sz;
            seen[id] = 1;
            e->str[k][id] = sz == 1 ? 0 : xs[d];
        }
        t += len + 1;
    }
    int used[ES_IDS] = {0};
    if (arrow) {
        int ell, out_ids[TW_MAX_RANK + ES_LETTERS];
        int k = parse_term(arrow + 2, strlen(arrow + 2), -1, max_ell, out_ids, &ell, why, sizeof why);
        if (k < 0)
            return tw_node_error(g, n, err, "equation '%s': %s", buf, why);
        if (k > TW_MAX_RANK)
            return tw_node_error(g, n, err, "an output of rank above %d", TW_MAX_RANK);
        for (int d = 0; d < k; ++d) {
            if (!seen[out_ids[d]] || used[out_ids[d]]++)
                return tw_node_error(g, n, err, "equation '%s': an output index is not in the inputs or repeats", buf);
            e->out[e->n_out++] = out_ids[d];
        }
    } else {
        int times[ES_IDS] = {0};
        for (int k = 0; k < e->n_ops; ++k)
            for (int d = 0; d < cnt[k]; ++d)
                times[ids[k][d]]++;
        for (int id = ES_LETTERS; id < ES_LETTERS + max_ell; ++id)
            e->out[e->n_out++] = id, used[id] = 1;
        for (int c = 0; c < 52; ++c) { /* alphabetical: 'A'..'Z' sort before 'a'..'z' in ASCII */
            int id = c < 26 ? 26 + c : c - 26;
            if (times[id] == 1 && e->n_out < TW_MAX_RANK)
                e->out[e->n_out++] = id, used[id] = 1;
        }
    }
    for (int id = 0; id < ES_IDS; ++id)
        if (seen[id] && !used[id])
            e->sum[e->n_sum++] = id;
    return TB_OK;
}

tb_status tw_infer_einsum(tw_graph *g, tw_node *n, tb_error *err)
{
    einsum e;
    tb_status st = einsum_of(g, n, &e, err);
    if (st)
        return st;
    int64_t d[TW_MAX_RANK];
    for (int k = 0; k < e.n_out; ++k)
        d[k] = e.size[e.out[k]];
    tw_set_out(g, n, 0, tw_in(g, n, 0)->dtype, e.n_out, d);
    return TB_OK;
}

tb_status tw_plan_einsum(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)tw_plan_graph(x);
    einsum e;
    tb_status st = einsum_of(g, nd, &e, err);
    if (st)
        return st;
    int64_t meta[3 + 2 * ES_IDS + ES_OPS * 2 * ES_IDS];
    size_t k = 0;
    meta[k++] = e.n_ops, meta[k++] = e.n_out;
    for (int d = 0; d < e.n_out; ++d)
        meta[k++] = e.size[e.out[d]];
    meta[k++] = e.n_sum;
    for (int d = 0; d < e.n_sum; ++d)
        meta[k++] = e.size[e.sum[d]];
    for (int o = 0; o < ES_OPS; ++o) {
        for (int d = 0; d < e.n_out; ++d)
            meta[k++] = o < e.n_ops ? e.str[o][e.out[d]] : 0;
        for (int d = 0; d < e.n_sum; ++d)
            meta[k++] = o < e.n_ops ? e.str[o][e.sum[d]] : 0;
    }
    cl_mem m = tw_plan_meta(x, meta, k, err);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    if (!m || !n)
        return m ? TB_OK : err->status;
    tw_args a;
    st = tw_plan_start(x, "tw_einsum", nd, n, &a, err);
    if (st)
        return st;
    for (int o = 0; o < ES_OPS; ++o)
        tw_arg_opt_tensor(&a, o < e.n_ops ? nd->in[o] : -1, nd->in[0]);
    tw_arg_tensor(&a, nd->out[0]);
    tw_arg_mem(&a, m);
    tw_arg_long(&a, (int64_t)n);
    return tw_plan_finish(&a, nd, err);
}
