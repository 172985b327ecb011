/* twinbrain twin embeddings / twin similarity: the per-unit table of a
 * twin's functional properties and like-to-like measures between pairs of
 * its units (twin_similarity.h; docs/twin.md). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "h5util.h"
#include "twin_similarity.h"
#include "util.h"

static const char emb_usage[] =
    "usage: twinbrain twin embeddings RUN.h5 -o EMB.h5 [--csv FILE] [--network NET.h5 --features TENSOR]\n"
    "                                 [--rf NAME] [--tuning NAME]\n"
    "\n"
    "Gathers per unit the readout feature vector (the constant TENSOR of NET.h5), the fitted RF\n"
    "centre and size (a receptive_field experiment of RUN.h5), the preferred orientation and\n"
    "direction, OSI and DSI (an orientation_tuning experiment) into aligned datasets under\n"
    "/twin/embeddings of EMB.h5, and into a CSV table with --csv (docs/twin.md, \"Embeddings and\n"
    "similarity\"). Exit status 2 for bad arguments, 4 for inputs that are missing or disagree.\n";

static const char sim_usage[] =
    "usage: twinbrain twin similarity RUN.h5 -o SIM.h5 [--units LIST | --pairs FILE] [--csv FILE]\n"
    "                                 [--responses DATASET] [--burn-in N] [--network NET.h5 --features TENSOR]\n"
    "                                 [--rf NAME] [--tuning NAME]\n"
    "\n"
    "For pairs of units (all pairs of --units, e.g. 0,3,5-9, all units by default; or the pairs\n"
    "'A B' listed one per line in FILE): the signal correlation of their responses to a stimulus set,\n"
    "the cosine similarity of their readout feature vectors, the overlap and distance of their fitted\n"
    "receptive fields and the difference of their preferred orientations, each where RUN.h5 (and\n"
    "NET.h5) has what it needs. Writes /twin/similarity and /twin/embeddings to SIM.h5 (docs/twin.md).\n"
    "Exit status 2 for bad arguments, 4 for inputs that are missing, disagree or hold NaN.\n";

typedef struct sim_args {
    tw_emb_sources src;
    const char *out, *csv, *units, *pairs;
} sim_args;

/* Options both commands share; 1: taken (with its value), 0: not one of
 * them, else the usage status. */
static int common_option(const char *cmd, int argc, char **argv, int *i, sim_args *a)
{
    const char *o = argv[*i];
    const char **dst = strcmp(o, "-o") == 0            ? &a->out
                       : strcmp(o, "--csv") == 0       ? &a->csv
                       : strcmp(o, "--network") == 0   ? &a->src.network
                       : strcmp(o, "--features") == 0  ? &a->src.tensor
                       : strcmp(o, "--rf") == 0        ? &a->src.rf
                       : strcmp(o, "--tuning") == 0    ? &a->src.tuning
                                                       : NULL;
    if (!dst)
        return 0;
    if (*i + 1 >= argc)
        return tb_cli_usage_error(cmd, "%s needs a value", o);
    *dst = argv[++*i];
    return 1;
}

static int check_common(const char *cmd, const sim_args *a, int n_pos)
{
    if (n_pos != 1 || !a->out)
        return tb_cli_usage_error(cmd, "needs RUN.h5 and -o OUT.h5");
    if (!a->src.network != !a->src.tensor)
        return tb_cli_usage_error(cmd, "--network and --features go together (the network file and its readout's "
                                       "feature tensor)");
    return 0;
}

static tb_status write_file(const char *out, const tw_embeddings *e, const size_t *ua, const size_t *ub, size_t P,
                            const tw_pair_measures *m, tb_error *err);

static tb_status write_csv_file(const char *path, const tw_embeddings *e, const size_t *ua, const size_t *ub,
                                size_t P, const tw_pair_measures *m, tb_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tb_error_set(err, TB_ERR_OTHER, "%s: cannot create: %s", path, strerror(errno));
    if (!m)
        tw_embeddings_write_csv(f, e);
    else {
        fputs("unit_a,unit_b", f);
        const char *names[5] = {"signal_correlation", "feature_similarity", "rf_overlap", "rf_distance",
                                "orientation_difference"};
        const double *cols[5] = {m->signal, m->feature, m->overlap, m->distance, m->orientation};
        for (int k = 0; k < 5; ++k)
            if (cols[k])
                fprintf(f, ",%s", names[k]);
        fputc('\n', f);
        for (size_t p = 0; p < P; ++p) {
            fprintf(f, "%zu,%zu", ua[p], ub[p]);
            for (int k = 0; k < 5; ++k)
                if (cols[k])
                    fprintf(f, ",%.17g", cols[k][p]);
            fputc('\n', f);
        }
    }
    return fclose(f) == 0 ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: cannot write", path);
}

int tw_cli_embeddings(int argc, char **argv)
{
    sim_args a = {0};
    const char *run = NULL;
    int n_pos = 0;
    for (int i = 1; i < argc; ++i) {
        if (tb_cli_is_help(argv[i])) {
            fputs(emb_usage, stdout);
            return 0;
        }
        int r = common_option("twin embeddings", argc, argv, &i, &a);
        if (r > 1)
            return r;
        if (r == 1)
            continue;
        if (argv[i][0] == '-' || n_pos == 1)
            return tb_cli_usage_error("twin embeddings", "unexpected argument '%s'", argv[i]);
        run = argv[i], ++n_pos;
    }
    int rc = check_common("twin embeddings", &a, n_pos);
    if (rc)
        return rc;
    a.src.run = run;
    tb_error err = {0};
    tw_embeddings e;
    tb_status st = tw_embeddings_load(&a.src, &e, &err);
    st = st ? st : write_file(a.out, &e, NULL, NULL, 0, NULL, &err);
    st = st || !a.csv ? st : write_csv_file(a.csv, &e, NULL, NULL, 0, NULL, &err);
    if (st == TB_OK)
        printf("%s: %zu units%s%s%s\n", a.out, e.units, e.features ? ", readout features" : "",
               e.centre ? ", receptive fields" : "", e.po ? ", orientation tuning" : "");
    tw_embeddings_free(&e);
    return st ? tb_cli_fail(&err) : 0;
}

/* ------------------------------------------------------------ pairs */

static bool add_pair(size_t **a, size_t **b, size_t *n, size_t *cap, size_t i, size_t j)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        size_t *na = realloc(*a, c * sizeof *na);
        if (na)
            *a = na;
        size_t *nb = na ? realloc(*b, c * sizeof *nb) : NULL;
        if (!nb)
            return false;
        *b = nb, *cap = c;
    }
    (*a)[*n] = i, (*b)[*n] = j, ++*n;
    return true;
}

/* A decimal index at p; false when there is none. */
static bool parse_index(const char *p, char **end, unsigned long *v)
{
    *end = (char *)p;
    if (!isdigit((unsigned char)*p))
        return false;
    errno = 0;
    *v = strtoul(p, end, 10);
    return errno == 0;
}

static bool push_unit(size_t **out, size_t *n, size_t *cap, size_t u)
{
    if (*n == *cap) {
        size_t *nv = realloc(*out, (*cap = *cap ? 2 * *cap : 16) * sizeof *nv);
        if (!nv)
            return false;
        *out = nv;
    }
    (*out)[(*n)++] = u;
    return true;
}

/* "0,3,5-9" (or "all") into a list of units below U. */
static int parse_units(const char *spec, size_t U, size_t **out, size_t *n)
{
    *out = NULL, *n = 0;
    size_t cap = 0;
    if (!spec || strcmp(spec, "all") == 0) {
        for (size_t u = 0; u < U; ++u)
            if (!push_unit(out, n, &cap, u))
                return TB_ERR_OTHER;
        return 0;
    }
    for (const char *p = spec; *p;) {
        char *end;
        unsigned long lo = 0, hi = 0;
        bool ok = parse_index(p, &end, &lo);
        hi = lo;
        if (ok && *end == '-')
            ok = parse_index(end + 1, &end, &hi) && hi >= lo;
        ok = ok && (*end == ',' || !*end) && hi < U;
        if (!ok) {
            free(*out);
            *out = NULL;
            return tb_cli_usage_error("twin similarity",
                                      "--units takes unit indices and ranges below %zu such as 0,3,5-9, not '%s'", U,
                                      spec);
        }
        for (unsigned long u = lo; u <= hi; ++u)
            if (!push_unit(out, n, &cap, u))
                return TB_ERR_OTHER;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* Lines "A B" or "A,B"; '#' starts a comment. */
static tb_status read_pairs(const char *path, size_t U, size_t **a, size_t **b, size_t *n, tb_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tb_error_set(err, TB_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    char line[512];
    size_t cap = 0, ln = 0;
    tb_status st = TB_OK;
    while (st == TB_OK && fgets(line, sizeof line, f)) {
        ++ln;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        for (char *c = line; *c; ++c)
            if (*c == ',')
                *c = ' ';
        long long i, j;
        char rest[2];
        int got = sscanf(line, "%lld %lld %1s", &i, &j, rest);
        if (got == EOF || (got <= 0 && strspn(line, " \t\r\n") == strlen(line)))
            continue;
        if (got != 2)
            st = tb_error_set(err, TB_ERR_INPUT, "%s:%zu: a pair is two unit indices, 'A B'", path, ln);
        else if (i < 0 || j < 0 || (size_t)i >= U || (size_t)j >= U)
            st = tb_error_set(err, TB_ERR_INPUT, "%s:%zu: unit %lld is not one of the %zu units (0 to %zu)", path, ln,
                              i < 0 || (size_t)i >= U ? i : j, U, U - 1);
        else if (!add_pair(a, b, n, &cap, (size_t)i, (size_t)j))
            st = tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    fclose(f);
    if (st == TB_OK && *n == 0)
        st = tb_error_set(err, TB_ERR_INPUT, "%s: no pairs", path);
    return st;
}

static bool all_pairs(const size_t *units, size_t n, size_t **a, size_t **b, size_t *P)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j)
            if (!add_pair(a, b, P, &cap, units[i], units[j]))
                return false;
    return true;
}

static void print_summary(const tw_embeddings *e, size_t P, const tw_pair_measures *m)
{
    printf("%zu pairs of %zu units:", P, e->units);
    const char *names[5] = {"signal correlation", "feature similarity", "RF overlap", "RF distance",
                            "orientation difference"};
    const double *cols[5] = {m->signal, m->feature, m->overlap, m->distance, m->orientation};
    for (int k = 0; k < 5; ++k) {
        if (!cols[k])
            continue;
        double s = 0;
        size_t c = 0;
        for (size_t p = 0; p < P; ++p)
            if (!isnan(cols[k][p]))
                s += cols[k][p], ++c;
        printf("%s mean %s %.4g", k ? "," : "", names[k], c ? s / (double)c : NAN);
    }
    putchar('\n');
}

static int similarity(sim_args *a)
{
    tb_error err = {0};
    tw_embeddings e;
    a->src.want_responses = true;
    tb_status st = tw_embeddings_load(&a->src, &e, &err);
    if (st)
        return tb_cli_fail(&err);
    size_t *ua = NULL, *ub = NULL, P = 0, *units = NULL, nu = 0;
    int rc = 0;
    if (a->pairs)
        st = read_pairs(a->pairs, e.units, &ua, &ub, &P, &err);
    else if ((rc = parse_units(a->units, e.units, &units, &nu)) == 0 && !all_pairs(units, nu, &ua, &ub, &P))
        st = tb_error_set(&err, TB_ERR_OTHER, "out of memory for the pairs");
    if (rc == 0 && st == TB_OK && P == 0)
        rc = tb_cli_usage_error("twin similarity", "--units names %zu unit(s): no pair", nu);
    tw_pair_measures m = {0};
    if (rc == 0 && st == TB_OK && !tw_similarity_pairs(&e, ua, ub, P, &m))
        st = tb_error_set(&err, TB_ERR_OTHER, "out of memory for %zu pairs", P);
    if (rc == 0 && st == TB_OK)
        st = write_file(a->out, &e, ua, ub, P, &m, &err);
    if (rc == 0 && st == TB_OK && a->csv)
        st = write_csv_file(a->csv, &e, ua, ub, P, &m, &err);
    if (rc == 0 && st == TB_OK)
        print_summary(&e, P, &m);
    tw_pair_measures_free(&m);
    free(ua), free(ub), free(units);
    tw_embeddings_free(&e);
    return rc ? rc : st ? tb_cli_fail(&err) : 0;
}

int tw_cli_similarity(int argc, char **argv)
{
    sim_args a = {0};
    const char *run = NULL;
    int n_pos = 0;
    for (int i = 1; i < argc; ++i) {
        char *end = NULL;
        if (tb_cli_is_help(argv[i])) {
            fputs(sim_usage, stdout);
            return 0;
        }
        int r = common_option("twin similarity", argc, argv, &i, &a);
        if (r > 1)
            return r;
        if (r == 1)
            continue;
        if (strcmp(argv[i], "--units") == 0 && i + 1 < argc)
            a.units = argv[++i];
        else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            a.pairs = argv[++i];
        else if (strcmp(argv[i], "--responses") == 0 && i + 1 < argc)
            a.src.responses = argv[++i];
        else if (strcmp(argv[i], "--burn-in") == 0 && i + 1 < argc) {
            a.src.burn_in = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || a.src.burn_in < 0)
                return tb_cli_usage_error("twin similarity", "--burn-in takes a number of frames >= 0, not '%s'",
                                          argv[i]);
        } else if (argv[i][0] == '-' || n_pos == 1)
            return tb_cli_usage_error("twin similarity", "unexpected argument '%s' (or it is missing its value)",
                                      argv[i]);
        else
            run = argv[i], ++n_pos;
    }
    int rc = check_common("twin similarity", &a, n_pos);
    if (rc)
        return rc;
    if (a.units && a.pairs)
        return tb_cli_usage_error("twin similarity", "--units or --pairs, not both");
    a.src.run = run;
    return similarity(&a);
}

/* ------------------------------------------------------------ output */

static bool put_pairs(hid_t f, const size_t *ua, const size_t *ub, size_t P, const tw_pair_measures *m,
                      const tw_embeddings *e)
{
    hid_t g = H5Gcreate2(f, "/twin/similarity", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = g >= 0;
    hsize_t n = P;
    long long *idx = malloc((P + 1) * sizeof *idx);
    ok = ok && idx;
    const char *names[7] = {"unit_a", "unit_b", "signal_correlation", "feature_similarity", "rf_overlap",
                            "rf_distance", "orientation_difference"};
    const double *cols[5] = {m->signal, m->feature, m->overlap, m->distance, m->orientation};
    for (int k = 0; ok && k < 7; ++k) {
        if (k >= 2 && !cols[k - 2])
            continue;
        for (size_t p = 0; k < 2 && p < P; ++p)
            idx[p] = (long long)(k ? ub[p] : ua[p]);
        hid_t s = H5Screate_simple(1, &n, NULL);
        hid_t ds = H5Dcreate2(g, names[k], k < 2 ? H5T_STD_I64LE : H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT);
        ok = ds >= 0 && H5Dwrite(ds, k < 2 ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                 k < 2 ? (const void *)idx : (const void *)cols[k - 2]) >= 0;
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(s);
    }
    free(idx);
    if (ok && e->resp)
        ok = tb_h5_attr_text(g, "responses_source", e->responses_from) &&
             tb_h5_attr_i64(g, "samples", (long long)e->n_samples);
    if (g >= 0)
        H5Gclose(g);
    return ok;
}

/* OUT.partial, renamed to OUT once whole: a failed run leaves no OUT. */
static tb_status write_file(const char *out, const tw_embeddings *e, const size_t *ua, const size_t *ub, size_t P,
                            const tw_pair_measures *m, tb_error *err)
{
    char *tmp = tb_asprintf("%s.partial", out);
    tb_h5_quiet q = tb_h5_quiet_begin();
    hid_t f = tmp ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : -1;
    bool ok = f >= 0 && tw_embeddings_write_h5(f, e);
    if (ok && m)
        ok = put_pairs(f, ua, ub, P, m, e);
    if (f >= 0 && H5Fclose(f) < 0)
        ok = false;
    H5Eclear2(H5E_DEFAULT);
    tb_h5_quiet_end(q);
    tb_status st = ok && rename(tmp, out) == 0 ? TB_OK : tb_error_set(err, TB_ERR_OTHER, "%s: cannot write", out);
    if (st && tmp)
        remove(tmp);
    free(tmp);
    return st;
}
