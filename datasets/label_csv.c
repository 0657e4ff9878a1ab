#include "label_csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"

#define MAX_FIELDS 256

int csv_split_line(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n >= max) return -1;
        if (*p == '"') {
            /* Quoted field: "" is a literal quote; compact in place. */
            char *w = ++p;
            fields[n++] = w;
            for (;;) {
                if (*p == '\0') return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            if (*p != ',' && *p != '\0') return -1;
            int more = *p == ',';
            *w = '\0';
            if (!more) return n;
            p++;
        } else {
            fields[n++] = p;
            char *c = strchr(p, ',');
            if (!c) return n;
            *c = '\0';
            p = c + 1;
        }
    }
}

/* A whole file in memory, split into lines with terminators removed. */
typedef struct csv_file {
    char *text;
    char **lines;
    int64_t n_lines;
} csv_file;

static void csv_file_free(csv_file *f)
{
    free(f->text);
    free(f->lines);
    memset(f, 0, sizeof *f);
}

static int csv_file_read(csv_file *f, const char *path, gp_error *err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return gp_errorf(err, "%s: cannot seek (not a regular file?)", path);
    }
    long long size = ftell(fp);
    rewind(fp);
    if (size < 0 || size > LABEL_CSV_MAX_BYTES) {
        fclose(fp);
        return gp_errorf(err, "%s: size %lld is not between 0 and %lld bytes", path, size, LABEL_CSV_MAX_BYTES);
    }
    f->text = malloc((size_t)size + 1);
    if (!f->text) {
        fclose(fp);
        return gp_errorf(err, "%s: out of memory reading %lld bytes", path, size);
    }
    size_t got = fread(f->text, 1, (size_t)size, fp);
    fclose(fp);
    if ((long long)got != size) {
        csv_file_free(f);
        return gp_errorf(err, "%s: read %zu of %lld bytes", path, got, size);
    }
    f->text[size] = '\0';
    if (memchr(f->text, '\0', (size_t)size)) {
        csv_file_free(f);
        return gp_errorf(err, "%s: contains a NUL byte: not a text CSV file", path);
    }
    int64_t cap = 1;
    for (long long i = 0; i < size; i++) cap += f->text[i] == '\n';
    f->lines = malloc((size_t)cap * sizeof(char *));
    if (!f->lines) {
        csv_file_free(f);
        return gp_errorf(err, "%s: out of memory", path);
    }
    char *p = f->text;
    /* A UTF-8 byte-order mark is a spreadsheet habit, not part of the header. */
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) p += 3;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r') p[len - 1] = '\0';
        f->lines[f->n_lines++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Parses a full-field number; rejects trailing junk, NaN and infinities
 * (missing measurements are absent rows, not "nan"). */
static int parse_value(const char *s, double *v)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (*end || end == s) return -1;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void free_names(char **names, int64_t n)
{
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int devices_csv_read(dataset *d, const char *path, gp_error *err)
{
    if (d->n_devices) return gp_errorf(err, "%s: the dataset already has a device table", path);
    csv_file f;
    if (csv_file_read(&f, path, err) != 0) return -1;
    char *fields[MAX_FIELDS];
    int rc = -1;
    char **dev = NULL, **desc = NULL;
    double *vals = NULL;
    int32_t n_dev = 0, n_desc = 0;
    strmap seen = {0};
    if (f.n_lines == 0 || is_blank(f.lines[0])) {
        gp_errorf(err, "%s: empty file; expected a header 'device,<descriptor>,...'", path);
        goto done;
    }
    int nf = csv_split_line(f.lines[0], fields, MAX_FIELDS);
    if (nf < 1 || strcmp(fields[0], "device") != 0) {
        gp_errorf(err, "%s:1: header must start with 'device'", path);
        goto done;
    }
    n_desc = nf - 1;
    desc = calloc((size_t)(n_desc ? n_desc : 1), sizeof(char *));
    dev = calloc((size_t)f.n_lines, sizeof(char *));
    vals = malloc((size_t)f.n_lines * (size_t)(n_desc ? n_desc : 1) * sizeof(double));
    if (!desc || !dev || !vals || strmap_init(&seen, (size_t)f.n_lines) != 0) {
        gp_errorf(err, "%s: out of memory", path);
        goto done;
    }
    for (int j = 0; j < n_desc; j++) {
        if (!fields[j + 1][0]) {
            gp_errorf(err, "%s:1: column %d has an empty name", path, j + 2);
            goto done;
        }
        if (dataset_check_name(fields[j + 1], "descriptor", err) != 0) {
            gp_error_prefix(err, "%s:1", path);
            goto done;
        }
        for (int k = 0; k < j; k++)
            if (strcmp(desc[k], fields[j + 1]) == 0) {
                gp_errorf(err, "%s:1: column '%s' appears twice", path, fields[j + 1]);
                goto done;
            }
        if (!(desc[j] = dup_str(fields[j + 1]))) {
            gp_errorf(err, "%s: out of memory", path);
            goto done;
        }
    }
    for (int64_t l = 1; l < f.n_lines; l++) {
        if (is_blank(f.lines[l])) continue;
        int m = csv_split_line(f.lines[l], fields, MAX_FIELDS);
        if (m != nf) {
            gp_errorf(err, "%s:%lld: %d fields, the header has %d", path, (long long)l + 1, m, nf);
            goto done;
        }
        if (!fields[0][0]) {
            gp_errorf(err, "%s:%lld: column 'device': empty name", path, (long long)l + 1);
            goto done;
        }
        if (dataset_check_name(fields[0], "device", err) != 0) {
            gp_error_prefix(err, "%s:%lld", path, (long long)l + 1);
            goto done;
        }
        int64_t prev;
        int r = strmap_put(&seen, fields[0], n_dev, &prev);
        if (r != 0) {
            if (r < 0) gp_errorf(err, "%s: out of memory", path);
            else gp_errorf(err, "%s:%lld: device '%s' listed twice", path, (long long)l + 1, fields[0]);
            goto done;
        }
        for (int j = 0; j < n_desc; j++) {
            double v = NAN;
            const char *cell = fields[j + 1];
            if (!is_blank(cell) && (parse_value(cell, &v) != 0 || !isfinite(v))) {
                gp_errorf(err, "%s:%lld: column '%s': '%s' is not a finite number (leave it empty if unknown)", path,
                          (long long)l + 1, desc[j], cell);
                goto done;
            }
            vals[(size_t)n_dev * n_desc + j] = v;
        }
        if (!(dev[n_dev] = dup_str(fields[0]))) {
            gp_errorf(err, "%s: out of memory", path);
            goto done;
        }
        n_dev++;
    }
    if (n_dev == 0) {
        gp_errorf(err, "%s: no devices listed below the header", path);
        goto done;
    }
    d->n_devices = n_dev;
    d->device_names = dev;
    d->n_descriptors = n_desc;
    d->descriptor_names = desc;
    d->descriptors = vals;
    dev = desc = NULL;
    vals = NULL;
    rc = 0;
done:
    if (rc != 0) {
        free_names(dev, n_dev);
        free_names(desc, n_desc);
        free(vals);
    }
    strmap_free(&seen);
    csv_file_free(&f);
    return rc;
}

/* One parsed label row, kept until every device and target is known. */
typedef struct label_row {
    int64_t row;     /* node or graph index */
    int32_t target;  /* index into the (name, level) list */
    int32_t device;
    float value;
    int64_t line;
} label_row;

int labels_csv_read(dataset *d, const char *path, gp_error *err)
{
    if (d->n_targets) return gp_errorf(err, "%s: the dataset already has targets", path);
    const graph_set *s = &d->graphs;
    csv_file f;
    if (csv_file_read(&f, path, err) != 0) return -1;

    int rc = -1;
    char *fields[MAX_FIELDS];
    strmap graphs = {0}, nodes = {0}, devices = {0}, targets = {0}, cells = {0};
    label_row *rows = NULL;
    int64_t n_rows = 0;
    char **dev_names = NULL, **tgt_names = NULL, **tgt_units = NULL;
    int32_t *tgt_level = NULL;
    int32_t n_dev = d->n_devices, n_tgt = 0;
    int devices_fixed = d->n_devices > 0;
    label_target *out = NULL;
    char key[3 * GRAPH_MAX_NAME + 64];

    if (f.n_lines == 0 || is_blank(f.lines[0])) {
        gp_errorf(err, "%s: empty file; expected a header 'graph,node,device,target,value[,unit]'", path);
        goto done;
    }
    int nf = csv_split_line(f.lines[0], fields, MAX_FIELDS);
    int col_graph = -1, col_node = -1, col_dev = -1, col_tgt = -1, col_val = -1, col_unit = -1;
    for (int j = 0; j < nf; j++) {
        int *c = strcmp(fields[j], "graph") == 0    ? &col_graph
                 : strcmp(fields[j], "node") == 0   ? &col_node
                 : strcmp(fields[j], "device") == 0 ? &col_dev
                 : strcmp(fields[j], "target") == 0 ? &col_tgt
                 : strcmp(fields[j], "value") == 0  ? &col_val
                 : strcmp(fields[j], "unit") == 0   ? &col_unit
                                                    : NULL;
        if (!c) {
            gp_errorf(err, "%s:1: unknown column '%s' (expected graph, node, device, target, value, unit)", path,
                      fields[j]);
            goto done;
        }
        if (*c >= 0) {
            gp_errorf(err, "%s:1: column '%s' appears twice", path, fields[j]);
            goto done;
        }
        *c = j;
    }
    if (col_graph < 0 || col_node < 0 || col_dev < 0 || col_tgt < 0 || col_val < 0) {
        gp_errorf(err, "%s:1: header must name the columns graph, node, device, target and value", path);
        goto done;
    }

    size_t cap = (size_t)f.n_lines + 16;
    rows = malloc(cap * sizeof *rows);
    dev_names = calloc(cap + (size_t)n_dev, sizeof(char *));
    tgt_names = calloc(cap, sizeof(char *));
    tgt_units = calloc(cap, sizeof(char *));
    tgt_level = calloc(cap, sizeof(int32_t));
    if (!rows || !dev_names || !tgt_names || !tgt_units || !tgt_level || strmap_init(&graphs, (size_t)s->n_graphs) ||
        strmap_init(&nodes, (size_t)s->n_nodes) || strmap_init(&devices, 64) || strmap_init(&targets, 16) ||
        strmap_init(&cells, (size_t)f.n_lines)) {
        gp_errorf(err, "%s: out of memory", path);
        goto done;
    }
    for (int64_t g = 0; g < s->n_graphs; g++) {
        if (strmap_put(&graphs, s->graph_names[g], g, NULL) < 0) goto oom;
        for (int64_t i = s->node_off[g]; i < s->node_off[g + 1]; i++) {
            /* '\x1f' (unit separator) cannot appear in a CSV cell we accept. */
            snprintf(key, sizeof key, "%lld\x1f%s", (long long)g, s->node_names[i]);
            if (strmap_put(&nodes, key, i, NULL) < 0) goto oom;
        }
    }
    for (int32_t k = 0; k < n_dev; k++) {
        if (!(dev_names[k] = dup_str(d->device_names[k]))) goto oom;
        if (strmap_put(&devices, dev_names[k], k, NULL) < 0) goto oom;
    }

    for (int64_t l = 1; l < f.n_lines; l++) {
        if (is_blank(f.lines[l])) continue;
        long long ln = (long long)l + 1;
        int m = csv_split_line(f.lines[l], fields, MAX_FIELDS);
        if (m != nf) {
            gp_errorf(err, "%s:%lld: %d fields, the header has %d%s", path, ln, m, nf,
                      m < 0 ? " (unterminated quote?)" : "");
            goto done;
        }
        for (int j = 0; j < nf; j++) {
            if (strchr(fields[j], '\x1f') || strlen(fields[j]) >= GRAPH_MAX_NAME) {
                gp_errorf(err, "%s:%lld: column %d: control character or longer than %d bytes", path, ln, j + 1,
                          GRAPH_MAX_NAME - 1);
                goto done;
            }
        }
        const char *gname = fields[col_graph], *nname = fields[col_node], *dname = fields[col_dev];
        const char *tname = fields[col_tgt], *vstr = fields[col_val];
        const char *unit = col_unit >= 0 ? fields[col_unit] : "";
        int64_t g = strmap_get(&graphs, gname);
        if (g < 0) {
            gp_errorf(err, "%s:%lld: column 'graph': no graph named '%s' among the packed graphs", path, ln, gname);
            goto done;
        }
        int level = nname[0] ? LABEL_NODE : LABEL_GRAPH;
        int64_t row = g;
        if (level == LABEL_NODE) {
            snprintf(key, sizeof key, "%lld\x1f%s", (long long)g, nname);
            row = strmap_get(&nodes, key);
            if (row < 0) {
                gp_errorf(err, "%s:%lld: column 'node': graph '%s' has no node named '%s'", path, ln, gname, nname);
                goto done;
            }
        }
        if (!dname[0]) {
            gp_errorf(err, "%s:%lld: column 'device': empty", path, ln);
            goto done;
        }
        int64_t dev = strmap_get(&devices, dname);
        if (dev < 0) {
            if (devices_fixed) {
                gp_errorf(err, "%s:%lld: column 'device': '%s' is not in the device table", path, ln, dname);
                goto done;
            }
            if (dataset_check_name(dname, "device", err) != 0) {
                gp_error_prefix(err, "%s:%lld", path, ln);
                goto done;
            }
            dev = n_dev;
            if (!(dev_names[n_dev] = dup_str(dname)) || strmap_put(&devices, dname, dev, NULL) < 0) goto oom;
            n_dev++;
        }
        if (!tname[0]) {
            gp_errorf(err, "%s:%lld: column 'target': empty", path, ln);
            goto done;
        }
        if (dataset_check_name(tname, "target", err) != 0) {
            gp_error_prefix(err, "%s:%lld", path, ln);
            goto done;
        }
        snprintf(key, sizeof key, "%d\x1f%s", level, tname);
        int64_t t = strmap_get(&targets, key);
        if (t < 0) {
            t = n_tgt;
            if (!(tgt_names[n_tgt] = dup_str(tname)) || !(tgt_units[n_tgt] = dup_str(unit)) ||
                strmap_put(&targets, key, t, NULL) < 0)
                goto oom;
            tgt_level[n_tgt++] = level;
        } else if (strcmp(tgt_units[t], unit) != 0) {
            gp_errorf(err, "%s:%lld: column 'unit': '%s' differs from '%s' given earlier for target '%s'", path, ln,
                      unit, tgt_units[t], tname);
            goto done;
        }
        double v;
        if (parse_value(vstr, &v) != 0) {
            gp_errorf(err, "%s:%lld: column 'value': '%s' is not a number", path, ln, vstr);
            goto done;
        }
        if (isnan(v) || isinf(v) || v < 0 || v > 3.0e38) {
            gp_errorf(err,
                      "%s:%lld: column 'value': %s is %s (labels are finite and >= 0; leave a measurement out "
                      "rather than writing NaN)",
                      path, ln, vstr, isnan(v) ? "NaN" : v < 0 ? "negative" : "infinite or too large");
            goto done;
        }
        snprintf(key, sizeof key, "%lld\x1f%lld\x1f%lld\x1f%d", (long long)row, (long long)t, (long long)dev, level);
        int64_t first;
        int r = strmap_put(&cells, key, l + 1, &first);
        if (r < 0) goto oom;
        if (r > 0) {
            gp_errorf(err, "%s:%lld: graph '%s'%s%s, device '%s', target '%s' already given on line %lld", path, ln,
                      gname, nname[0] ? " node " : "", nname, dname, tname, (long long)first);
            goto done;
        }
        rows[n_rows++] = (label_row){row, (int32_t)t, (int32_t)dev, (float)v, l + 1};
    }
    if (n_rows == 0) {
        gp_errorf(err, "%s: no label rows below the header", path);
        goto done;
    }

    out = calloc((size_t)n_tgt, sizeof *out);
    if (!out) goto oom;
    for (int32_t t = 0; t < n_tgt; t++) {
        int64_t nr = tgt_level[t] == LABEL_NODE ? s->n_nodes : s->n_graphs;
        out[t].name = tgt_names[t];
        out[t].unit = tgt_units[t];
        tgt_names[t] = tgt_units[t] = NULL;
        out[t].level = tgt_level[t];
        int64_t cells_n = nr * n_dev;
        out[t].values = malloc((size_t)(cells_n > 0 ? cells_n : 1) * sizeof(float));
        if (!out[t].values) goto oom;
        for (int64_t k = 0; k < nr * n_dev; k++) out[t].values[k] = NAN;
    }
    for (int64_t k = 0; k < n_rows; k++)
        out[rows[k].target].values[rows[k].row * n_dev + rows[k].device] = rows[k].value;

    if (!devices_fixed) {
        d->device_names = dev_names;
        d->n_devices = n_dev;
        dev_names = NULL;
        /* Devices discovered from labels have no descriptors. */
        d->descriptors = NULL;
        d->n_descriptors = 0;
    }
    d->targets = out;
    d->n_targets = n_tgt;
    out = NULL;
    rc = 0;
    goto done;
oom:
    gp_errorf(err, "%s: out of memory", path);
done:
    if (out) {
        for (int32_t t = 0; t < n_tgt; t++) {
            free(out[t].name);
            free(out[t].unit);
            free(out[t].values);
        }
        free(out);
    }
    free_names(dev_names, n_dev);
    free_names(tgt_names, n_tgt);
    free_names(tgt_units, n_tgt);
    free(tgt_level);
    free(rows);
    strmap_free(&graphs);
    strmap_free(&nodes);
    strmap_free(&devices);
    strmap_free(&targets);
    strmap_free(&cells);
    csv_file_free(&f);
    return rc;
}
