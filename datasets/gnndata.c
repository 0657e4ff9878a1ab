/* gnndata: pack JSON graphs and label tables into a dataset, validate a
 * dataset, summarise it, export its graphs back to JSON.
 *
 * This is a program: it prints and exits. Everything it does is a call into
 * the library (graph/, datasets/), which returns errors instead. Exit codes:
 * 0 success, 1 bad data or I/O failure, 2 bad command line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../common/atomic_file.h"
#include "../common/output_check.h"
#include "../common/watchdog.h"
#include "../graph/featurize.h"
#include "../graph/graph_json.h"
#include "dataset.h"
#include "label_csv.h"

static const char USAGE[] =
    "usage: gnndata <command> [options]\n"
    "\n"
    "commands:\n"
    "  pack -o OUT.h5 [--labels LABELS.csv] [--devices DEVICES.csv] [--note TEXT] [--no-features]\n"
    "       GRAPH.json|GRAPHS.jsonl...\n"
    "      Read JSON graphs (docs/graph-json.md) and optional label and device tables\n"
    "      (docs/label-table.md), validate everything, and write one HDF5 dataset\n"
    "      (docs/dataset-format.md). OUT.h5 is replaced only if everything succeeds.\n"
    "      --no-features leaves out the cached feature matrix (for outside readers;\n"
    "      gnnperf recomputes it), which is most of a file's size.\n"
    "  validate DATASET.h5...\n"
    "      Load and fully check each dataset; print one line per file.\n"
    "  summary DATASET.h5\n"
    "      Counts, op kinds, devices, targets and label ranges with missing share.\n"
    "  export DATASET.h5 -o OUT.jsonl [--graph NAME]...\n"
    "      Write graphs back as JSON Lines (all graphs, or the named ones).\n"
    "\n"
    "Run 'gnndata <command> --help' for the same text. Exit status: 0 ok, 1 bad data, 2 bad usage,\n"
    "3 a crash while reading a dataset (a corrupt file, or a bug).\n"
    "Environment: GNNPERF_LOAD_TIMEOUT=SECONDS stops the run when reading one dataset takes longer\n"
    "(default 60 s plus 1 s per MB; 0: never), as a corrupt file can make libhdf5 loop forever.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "gnndata: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'gnndata --help' for usage.\n");
    return 2;
}

/* output_check's verdict as an exit status: 2 when the command line names
 * one file as input and output, 1 when the output cannot be written. */
static int check_output(const char *out, int hdf5, const char *const *inputs, int n_in)
{
    gp_error err = {{0}};
    const output_slot slot = {out, "-o", 0, hdf5};
    int orc = output_check(&slot, 1, inputs, n_in, &err);
    if (!orc) return 0;
    fprintf(stderr, "gnndata: error: %s\n", err.msg);
    return orc == OUTPUT_CONFLICT ? 2 : 1;
}

static int fail(const gp_error *err)
{
    fprintf(stderr, "gnndata: error: %s\n", err->msg);
    return 1;
}

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

/* The packing time: now, or SOURCE_DATE_EPOCH (reproducible-builds.org)
 * when set, so that packing the same inputs twice gives the same bytes. A
 * malformed value is an error rather than a silent fall back to the clock. */
static int pack_time(time_t *when, gp_error *err)
{
    *when = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (!sde || !*sde) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(sde, &end, 10);
    if (*end || errno || v < 0 || v > 253402300799LL) /* 9999-12-31 */
        return gp_errorf(err, "SOURCE_DATE_EPOCH '%.40s' is not a count of seconds since 1970", sde);
    *when = (time_t)v;
    return 0;
}

/* Provenance says who made the file, when, and from what. */
static char *make_provenance(time_t now, int n_inputs, char **inputs, const char *labels, const char *devices,
                             const char *note)
{
    cJSON *o = cJSON_CreateObject();
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(o, "created_by", "gnndata pack");
    cJSON_AddStringToObject(o, "created_utc", when);
    cJSON *arr = cJSON_AddArrayToObject(o, "graph_files");
    for (int i = 0; i < n_inputs; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(inputs[i]));
    if (labels) cJSON_AddStringToObject(o, "label_table", labels);
    if (devices) cJSON_AddStringToObject(o, "device_table", devices);
    if (note) cJSON_AddStringToObject(o, "note", note);
    cJSON_AddNumberToObject(o, "featurizer_version", FEATURIZER_VERSION);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static int cmd_pack(int argc, char **argv)
{
    const char *out = NULL, *labels = NULL, *devices = NULL, *note = NULL;
    char **inputs = calloc((size_t)argc + 2, sizeof(char *));
    int n_inputs = 0, with_features = 1;
    if (!inputs) return 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(USAGE, stdout);
            free(inputs);
            return 0;
        }
        const char **slot = !strcmp(a, "-o") || !strcmp(a, "--output") ? &out
                            : !strcmp(a, "--labels")                   ? &labels
                            : !strcmp(a, "--devices")                  ? &devices
                            : !strcmp(a, "--note")                     ? &note
                                                                       : NULL;
        if (!strcmp(a, "--no-features")) {
            with_features = 0;
            continue;
        }
        if (slot) {
            if (i + 1 >= argc) {
                free(inputs);
                return usage_error("pack: %s needs a value", a);
            }
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            free(inputs);
            return usage_error("pack: unknown option '%s'", a);
        } else {
            inputs[n_inputs++] = argv[i];
        }
    }
    if (!out) {
        free(inputs);
        return usage_error("pack: %s", "no output given (-o OUT.h5)");
    }
    if (n_inputs == 0) {
        free(inputs);
        return usage_error("pack: %s", "no JSON graph files given");
    }
    inputs[n_inputs] = (char *)labels; /* checked with the graph files, not read as one */
    inputs[n_inputs + 1] = (char *)devices;
    int orc = check_output(out, 1, (const char *const *)inputs, n_inputs + 2);
    if (orc) {
        free(inputs);
        return orc;
    }

    gp_error err = {{0}};
    dataset d;
    dataset_init(&d);
    int rc = 1;
    time_t when;
    if (pack_time(&when, &err) != 0) goto done;
    for (int i = 0; i < n_inputs; i++)
        if (graph_json_read_file(&d.graphs, inputs[i], &err) != 0) goto done;
    if (graph_set_finish(&d.graphs, &err) != 0) goto done;
    if (devices && devices_csv_read(&d, devices, &err) != 0) goto done;
    if (labels && labels_csv_read(&d, labels, &err) != 0) goto done;
    d.provenance = make_provenance(when, n_inputs, inputs, labels, devices, note);
    if (dataset_write_h5_opts(&d, out, with_features, &err) != 0) goto done;
    printf("gnndata: wrote %s: %lld graphs, %lld nodes, %lld edges, %d devices, %d targets\n", out,
           (long long)d.graphs.n_graphs, (long long)d.graphs.n_nodes, (long long)d.graphs.n_edges, d.n_devices,
           d.n_targets);
    rc = 0;
done:
    if (rc) fail(&err);
    dataset_free(&d);
    free(inputs);
    return rc;
}

static int cmd_validate(int argc, char **argv)
{
    int n = 0, bad = 0;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (argv[i][0] == '-') return usage_error("validate: unknown option '%s'", argv[i]);
        gp_error err = {{0}};
        dataset d;
        dataset_init(&d);
        n++;
        if (WATCHED(argv[i], dataset_read_h5(&d, argv[i], &err)) != 0) {
            fail(&err);
            bad++;
            continue;
        }
        printf("%s: ok (%lld graphs, %lld nodes, %lld edges, %d devices, %d targets)\n", argv[i],
               (long long)d.graphs.n_graphs, (long long)d.graphs.n_nodes, (long long)d.graphs.n_edges, d.n_devices,
               d.n_targets);
        dataset_free(&d);
    }
    if (n == 0) return usage_error("validate: %s", "no dataset given");
    return bad ? 1 : 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmd_summary(int argc, char **argv)
{
    if (argc >= 1 && is_help(argv[0])) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (argc != 1) return usage_error("summary: %s", "expects exactly one dataset");
    gp_error err = {{0}};
    dataset d;
    dataset_init(&d);
    if (WATCHED(argv[0], dataset_read_h5(&d, argv[0], &err)) != 0) return fail(&err);
    const graph_set *s = &d.graphs;

    printf("dataset      %s\n", argv[0]);
    printf("graphs       %lld\n", (long long)s->n_graphs);
    printf("nodes        %lld\n", (long long)s->n_nodes);
    printf("edges        %lld\n", (long long)s->n_edges);
    if (s->n_graphs > 0) {
        int64_t *sizes = malloc((size_t)s->n_graphs * sizeof(int64_t));
        if (sizes) {
            for (int64_t g = 0; g < s->n_graphs; g++) sizes[g] = graph_nodes_in(s, g);
            qsort(sizes, (size_t)s->n_graphs, sizeof *sizes, cmp_i64);
            printf("nodes/graph  min %lld, median %lld, max %lld\n", (long long)sizes[0],
                   (long long)sizes[s->n_graphs / 2], (long long)sizes[s->n_graphs - 1]);
            free(sizes);
        }
    }
    if (d.provenance) printf("provenance   %s\n", d.provenance);

    int64_t counts[OP_KIND_COUNT] = {0};
    for (int64_t i = 0; i < s->n_nodes; i++) counts[s->nodes[i].kind]++;
    printf("\nop kinds:\n");
    for (int k = 0; k < OP_KIND_COUNT; k++)
        if (counts[k])
            printf("  %-16s %10lld  %5.1f%%\n", op_kind_name(k), (long long)counts[k],
                   100.0 * (double)counts[k] / (double)s->n_nodes);

    printf("\ndevices: %d\n", d.n_devices);
    for (int32_t k = 0; k < d.n_devices; k++) {
        printf("  %s", d.device_names[k]);
        for (int32_t j = 0; j < d.n_descriptors; j++) {
            double v = d.descriptors[(size_t)k * d.n_descriptors + j];
            if (!isnan(v)) printf("  %s=%g", d.descriptor_names[j], v);
        }
        printf("\n");
    }

    printf("\ntargets: %d\n", d.n_targets);
    for (int32_t t = 0; t < d.n_targets; t++) {
        const label_target *lt = &d.targets[t];
        int64_t rows = dataset_target_rows(&d, lt);
        printf("  %s (per %s%s%s)\n", lt->name, lt->level == LABEL_NODE ? "node" : "graph", lt->unit[0] ? ", " : "",
               lt->unit);
        printf("    %-24s %9s %9s %12s %12s %12s\n", "device", "measured", "missing", "min", "median", "max");
        float *col = malloc((size_t)(rows > 0 ? rows : 1) * sizeof(float));
        for (int32_t k = 0; col && k < d.n_devices; k++) {
            int64_t m = 0;
            for (int64_t r = 0; r < rows; r++) {
                float v = lt->values[r * d.n_devices + k];
                if (!isnan(v)) col[m++] = v;
            }
            double miss = rows ? 100.0 * (double)(rows - m) / (double)rows : 0.0;
            if (m == 0) {
                printf("    %-24s %9lld %8.1f%% %12s %12s %12s\n", d.device_names[k], 0LL, miss, "-", "-", "-");
                continue;
            }
            qsort(col, (size_t)m, sizeof *col, cmp_float);
            printf("    %-24s %9lld %8.1f%% %12.5g %12.5g %12.5g\n", d.device_names[k], (long long)m, miss,
                   (double)col[0], (double)col[m / 2], (double)col[m - 1]);
        }
        free(col);
    }
    dataset_free(&d);
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    const char **names = calloc((size_t)argc + 1, sizeof(char *));
    int n_names = 0;
    if (!names) return 1;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(USAGE, stdout);
            free(names);
            return 0;
        }
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--graph")) {
            if (i + 1 >= argc) {
                free(names);
                return usage_error("export: %s needs a value", argv[i]);
            }
            if (!strcmp(argv[i], "-o")) out = argv[++i];
            else names[n_names++] = argv[++i];
        } else if (argv[i][0] == '-') {
            free(names);
            return usage_error("export: unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else {
            free(names);
            return usage_error("export: unexpected argument '%s'", argv[i]);
        }
    }
    if (!in || !out) {
        free(names);
        return usage_error("export: %s", "needs DATASET.h5 and -o OUT.jsonl");
    }
    int orc = check_output(out, 0, &in, 1);
    if (orc) {
        free(names);
        return orc;
    }
    gp_error err = {{0}};
    dataset d;
    dataset_init(&d);
    atomic_file af;
    FILE *f = NULL;
    int rc = 1;
    if (WATCHED(in, dataset_read_h5(&d, in, &err)) != 0) goto done;
    for (int k = 0; k < n_names; k++)
        if (graph_set_find(&d.graphs, names[k]) < 0) {
            gp_errorf(&err, "%s: no graph named '%s'", in, names[k]);
            goto done;
        }
    if (atomic_file_begin(&af, out, &err) != 0) goto done;
    f = fopen(af.tmp_path, "w");
    if (!f) {
        gp_errorf(&err, "%s: cannot write", out);
        atomic_file_abort(&af);
        goto done;
    }
    int64_t written = 0;
    int write_failed = 0;
    for (int64_t g = 0; g < d.graphs.n_graphs && !write_failed; g++) {
        int keep = n_names == 0;
        for (int k = 0; k < n_names && !keep; k++) keep = strcmp(names[k], d.graphs.graph_names[g]) == 0;
        if (!keep) continue;
        write_failed = graph_json_write(f, &d.graphs, g, 0, &err) != 0;
        written++;
    }
    if (write_failed) {
        fclose(f);
        atomic_file_abort(&af);
        goto done;
    }
    if (fclose(f) != 0) {
        gp_errorf(&err, "%s: write failed (disk full?)", out);
        atomic_file_abort(&af);
        goto done;
    }
    if (atomic_file_commit(&af, &err) != 0) goto done;
    printf("gnndata: wrote %lld graphs to %s\n", (long long)written, out);
    rc = 0;
done:
    if (rc) fail(&err);
    dataset_free(&d);
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    watchdog_program("gnndata");
    if (argc < 2 || is_help(argv[1])) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "pack")) return cmd_pack(argc - 2, argv + 2);
    if (!strcmp(cmd, "validate")) return cmd_validate(argc - 2, argv + 2);
    if (!strcmp(cmd, "summary")) return cmd_summary(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
