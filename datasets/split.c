#include "split.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int split_from_file(split *s, const dataset *d, const char *path, gp_error *err)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "r");
    if (!f) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    int64_t G = d->graphs.n_graphs;
    int8_t *part = malloc((size_t)(G > 0 ? G : 1));
    strmap names;
    if (!part || strmap_init(&names, (size_t)G) != 0) {
        fclose(f);
        free(part);
        return gp_errorf(err, "out of memory");
    }
    memset(part, -1, (size_t)(G > 0 ? G : 1));
    for (int64_t g = 0; g < G; g++) strmap_put(&names, d->graphs.graph_names[g], g, NULL);
    char line[2 * GRAPH_MAX_NAME + 64];
    int64_t ln = 0;
    int rc = 0;
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
        if (ln == 1) {
            if (nf != 2 || strcmp(fields[0], "graph") || strcmp(fields[1], "part"))
                rc = gp_errorf(err, "%s:1: header must be 'graph,part'", path);
            continue;
        }
        if (nf != 2) {
            rc = gp_errorf(err, "%s:%lld: expected 2 fields 'graph,part'", path, (long long)ln);
            break;
        }
        int64_t g = strmap_get(&names, fields[0]);
        int p = -1;
        for (int k = 0; k < PART_COUNT; k++)
            if (!strcmp(fields[1], PART_NAMES[k])) p = k;
        if (g < 0) rc = gp_errorf(err, "%s:%lld: no graph named '%s' in the dataset", path, (long long)ln, fields[0]);
        else if (p < 0) rc = gp_errorf(err, "%s:%lld: part '%s' is not train, val or test", path, (long long)ln, fields[1]);
        else if (part[g] >= 0 && part[g] != p)
            rc = gp_errorf(err, "%s:%lld: graph '%s' already in %s", path, (long long)ln, fields[0], PART_NAMES[part[g]]);
        else part[g] = (int8_t)p;
    }
    fclose(f);
    if (rc == 0) rc = from_assignment(s, part, G, err);
    if (rc != 0 && !strstr(err ? err->msg : "", path)) gp_error_prefix(err, "%s", path);
    strmap_free(&names);
    free(part);
    return rc;
}

int split_repeats_from_file(int32_t *repeats, const dataset *d, const char *path, gp_error *err)
{
    int64_t G = d->graphs.n_graphs;
    for (int64_t g = 0; g < G; g++) repeats[g] = 1;
    FILE *f = fopen(path, "r");
    if (!f) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    int8_t *seen = calloc((size_t)(G > 0 ? G : 1), 1);
    strmap names;
    if (!seen || strmap_init(&names, (size_t)G) != 0) {
        fclose(f);
        free(seen);
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
            if (nf != 2 || strcmp(fields[0], "graph") || strcmp(fields[1], "repeats"))
                rc = gp_errorf(err, "%s:%lld: header must be 'graph,repeats'", path, (long long)ln);
            continue;
        }
        if (nf != 2) {
            rc = gp_errorf(err, "%s:%lld: expected 2 fields 'graph,repeats'", path, (long long)ln);
            break;
        }
        int64_t g = strmap_get(&names, fields[0]);
        char *end;
        errno = 0;
        long n = strtol(fields[1], &end, 10);
        if (g < 0) rc = gp_errorf(err, "%s:%lld: no graph named '%s' in the dataset", path, (long long)ln, fields[0]);
        else if (errno || end == fields[1] || *end || n < 1 || n > SPLIT_MAX_REPEATS)
            rc = gp_errorf(err, "%s:%lld: repeats '%s' of graph '%s' is not an integer 1..%d", path, (long long)ln,
                           fields[1], fields[0], SPLIT_MAX_REPEATS);
        else if (seen[g]) rc = gp_errorf(err, "%s:%lld: graph '%s' is listed twice", path, (long long)ln, fields[0]);
        else {
            seen[g] = 1;
            repeats[g] = (int32_t)n;
        }
    }
    if (rc == 0 && !header) rc = gp_errorf(err, "%s: empty file (expected a header 'graph,repeats')", path);
    fclose(f);
    strmap_free(&names);
    free(seen);
    return rc;
}
