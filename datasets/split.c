#include "split.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fnv1a.h"
#include "../common/rng.h"
#include "../common/strmap.h"
#include "label_csv.h"

static const char *const PART_NAMES[PART_COUNT] = {"train", "val", "test"};

const char *split_part_name(int p) { return p >= 0 && p < PART_COUNT ? PART_NAMES[p] : NULL; }

void split_free(split *s)
{
    for (int p = 0; p < PART_COUNT; p++) free(s->ids[p]);
    memset(s, 0, sizeof *s);
}

uint64_t split_digest(const split *s)
{
    uint64_t h = FNV1A_INIT;
    for (int p = 0; p < PART_COUNT; p++) {
        h = fnv1a(h, &s->n[p], sizeof s->n[p]); /* delimits the parts: {1},{2} is not {1,2},{} */
        h = fnv1a(h, s->ids[p], (size_t)s->n[p] * sizeof s->ids[p][0]);
    }
    return h;
}

/* Builds the id lists from a part-per-graph array (-1: unused). */
static int from_assignment(split *s, const int8_t *part, int64_t n_graphs, gp_error *err)
{
    memset(s, 0, sizeof *s);
    for (int64_t g = 0; g < n_graphs; g++)
        if (part[g] >= 0) s->n[part[g]]++;
    for (int p = 0; p < PART_COUNT; p++) {
        s->ids[p] = malloc((size_t)(s->n[p] > 0 ? s->n[p] : 1) * sizeof(int64_t));
        if (!s->ids[p]) {
            split_free(s);
            return gp_errorf(err, "out of memory");
        }
        s->n[p] = 0;
    }
    for (int64_t g = 0; g < n_graphs; g++)
        if (part[g] >= 0) s->ids[part[g]][s->n[part[g]]++] = g;
    if (s->n[PART_TRAIN] == 0) {
        split_free(s);
        return gp_errorf(err, "split: no training graphs");
    }
    return 0;
}

int split_random(split *s, int64_t n_graphs, double val_frac, double test_frac, uint64_t seed, gp_error *err)
{
    memset(s, 0, sizeof *s);
    if (!(val_frac >= 0 && test_frac >= 0 && val_frac + test_frac < 1.0))
        return gp_errorf(err, "split: fractions val %g and test %g must be >= 0 and sum below 1", val_frac,
                         test_frac);
    if (n_graphs < 1) return gp_errorf(err, "split: no graphs");
    int64_t *perm = malloc((size_t)n_graphs * sizeof(int64_t));
    int8_t *part = malloc((size_t)n_graphs);
    if (!perm || !part) {
        free(perm);
        free(part);
        return gp_errorf(err, "out of memory");
    }
    for (int64_t g = 0; g < n_graphs; g++) perm[g] = g;
    rng r;
    rng_seed(&r, seed);
    rng_shuffle(&r, perm, n_graphs);
    int64_t nv = (int64_t)(val_frac * (double)n_graphs + 0.5), nt = (int64_t)(test_frac * (double)n_graphs + 0.5);
    if (val_frac > 0 && nv == 0 && n_graphs >= 3) nv = 1;
    if (test_frac > 0 && nt == 0 && n_graphs >= 3) nt = 1;
    if (nv + nt >= n_graphs) {
        free(perm);
        free(part);
        return gp_errorf(err, "split: %lld graphs leave none for training after %lld validation and %lld test",
                         (long long)n_graphs, (long long)nv, (long long)nt);
    }
    for (int64_t k = 0; k < n_graphs; k++)
        part[perm[k]] = k < nv ? PART_VAL : k < nv + nt ? PART_TEST : PART_TRAIN;
    int rc = from_assignment(s, part, n_graphs, err);
    free(perm);
    free(part);
    return rc;
}

static int parse_ranges(int8_t *part, int64_t n_graphs, const char *spec, int which, gp_error *err)
{
    if (!spec || !*spec) return 0;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long long a = strtoll(p, &end, 10), b = a;
        if (end == p || errno) return gp_errorf(err, "split: %s range '%s': expected a number at '%s'", PART_NAMES[which], spec, p);
        p = end;
        if (*p == '-') {
            p++;
            b = strtoll(p, &end, 10);
            if (end == p || errno) return gp_errorf(err, "split: %s range '%s': expected a number after '-'", PART_NAMES[which], spec);
            p = end;
        }
        if (a < 0 || b < a || b >= n_graphs)
            return gp_errorf(err, "split: %s range %lld-%lld outside 0..%lld", PART_NAMES[which], a, b,
                             (long long)n_graphs - 1);
        for (long long g = a; g <= b; g++) {
            if (part[g] >= 0 && part[g] != which)
                return gp_errorf(err, "split: graph %lld is in both %s and %s", g, PART_NAMES[part[g]],
                                 PART_NAMES[which]);
            part[g] = (int8_t)which;
        }
        if (*p == ',') p++;
        else if (*p) return gp_errorf(err, "split: %s range '%s': unexpected '%c'", PART_NAMES[which], spec, *p);
    }
    return 0;
}

int split_ranges(split *s, int64_t n_graphs, const char *train, const char *val, const char *test, gp_error *err)
{
    memset(s, 0, sizeof *s);
    int8_t *part = malloc((size_t)(n_graphs > 0 ? n_graphs : 1));
    if (!part) return gp_errorf(err, "out of memory");
    memset(part, -1, (size_t)(n_graphs > 0 ? n_graphs : 1));
    int rc = parse_ranges(part, n_graphs, train, PART_TRAIN, err);
    if (rc == 0) rc = parse_ranges(part, n_graphs, val, PART_VAL, err);
    if (rc == 0) rc = parse_ranges(part, n_graphs, test, PART_TEST, err);
    if (rc == 0) rc = from_assignment(s, part, n_graphs, err);
    free(part);
    return rc;
}

/* One value per named graph from a CSV "graph,<column>": the first
 * non-empty line must be that header; each other non-empty line names a
 * dataset graph and is handed to row(). Errors name path:line. Returns
 * -1 on error, else 0 (1 when the file held no header at all). */
typedef int (*graph_row_fn)(void *ctx, int64_t g, const char *name, const char *value, const char *path,
                            int64_t line, gp_error *err);

static int read_graph_csv(const dataset *d, const char *path, const char *column, graph_row_fn row, void *ctx,
                          gp_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    int64_t G = d->graphs.n_graphs;
    strmap names;
    if (strmap_init(&names, (size_t)G) != 0) {
        fclose(f);
        return gp_errorf(err, "out of memory");
    }
    for (int64_t g = 0; g < G; g++) strmap_put(&names, d->graphs.graph_names[g], g, NULL);
    char line[2 * GRAPH_MAX_NAME + 64];
    int64_t ln = 0;
    int rc = 0, header = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        if (len && line[len - 1] != '\n' && !feof(f)) {
            rc = gp_errorf(err, "%s:%lld: line too long", path, (long long)ln);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        char *fields[3];
        int nf = csv_split_line(line, fields, 3);
        if (!header) {
            header = 1;
            if (nf != 2 || strcmp(fields[0], "graph") || strcmp(fields[1], column))
                rc = gp_errorf(err, "%s:%lld: header must be 'graph,%s'", path, (long long)ln, column);
            continue;
        }
        if (nf != 2) {
            rc = gp_errorf(err, "%s:%lld: expected 2 fields 'graph,%s'", path, (long long)ln, column);
            break;
        }
        int64_t g = strmap_get(&names, fields[0]);
        if (g < 0) rc = gp_errorf(err, "%s:%lld: no graph named '%s' in the dataset", path, (long long)ln, fields[0]);
        else rc = row(ctx, g, fields[0], fields[1], path, ln, err);
    }
    fclose(f);
    strmap_free(&names);
    return rc ? -1 : !header;
}

static int part_row(void *ctx, int64_t g, const char *name, const char *value, const char *path, int64_t ln,
                    gp_error *err)
{
    int8_t *part = ctx;
    int p = -1;
    for (int k = 0; k < PART_COUNT; k++)
        if (!strcmp(value, PART_NAMES[k])) p = k;
    if (p < 0) return gp_errorf(err, "%s:%lld: part '%s' is not train, val or test", path, (long long)ln, value);
    if (part[g] >= 0 && part[g] != p)
        return gp_errorf(err, "%s:%lld: graph '%s' already in %s", path, (long long)ln, name, PART_NAMES[part[g]]);
    part[g] = (int8_t)p;
    return 0;
}

int split_from_file(split *s, const dataset *d, const char *path, gp_error *err)
{
    memset(s, 0, sizeof *s);
    int64_t G = d->graphs.n_graphs;
    int8_t *part = malloc((size_t)(G > 0 ? G : 1));
    if (!part) return gp_errorf(err, "out of memory");
    memset(part, -1, (size_t)(G > 0 ? G : 1));
    int rc = read_graph_csv(d, path, "part", part_row, part, err) < 0 ? -1 : 0;
    if (rc == 0) rc = from_assignment(s, part, G, err);
    if (rc != 0 && !strstr(err ? err->msg : "", path)) gp_error_prefix(err, "%s", path);
    free(part);
    return rc;
}

typedef struct repeats_ctx {
    int32_t *repeats;
    int8_t *seen;
} repeats_ctx;

static int repeats_row(void *ctx, int64_t g, const char *name, const char *value, const char *path, int64_t ln,
                       gp_error *err)
{
    repeats_ctx *c = ctx;
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 1 || n > SPLIT_MAX_REPEATS)
        return gp_errorf(err, "%s:%lld: repeats '%s' of graph '%s' is not an integer 1..%d", path, (long long)ln,
                         value, name, SPLIT_MAX_REPEATS);
    if (c->seen[g]) return gp_errorf(err, "%s:%lld: graph '%s' is listed twice", path, (long long)ln, name);
    c->seen[g] = 1;
    c->repeats[g] = (int32_t)n;
    return 0;
}

int split_repeats_from_file(int32_t *repeats, const dataset *d, const char *path, gp_error *err)
{
    int64_t G = d->graphs.n_graphs;
    for (int64_t g = 0; g < G; g++) repeats[g] = 1;
    repeats_ctx c = {repeats, calloc((size_t)(G > 0 ? G : 1), 1)};
    if (!c.seen) return gp_errorf(err, "out of memory");
    int rc = read_graph_csv(d, path, "repeats", repeats_row, &c, err);
    free(c.seen);
    if (rc > 0) return gp_errorf(err, "%s: empty file (expected a header 'graph,repeats')", path);
    return rc;
}
