/* Fuzz harness for the JSON graph reader (graph/graph_json.h), the way new
 * models arrive. Contract checked beyond memory safety:
 *  - all or nothing: a refused text leaves the graph_set as it was (here a
 *    set already holding one graph, so "as it was" is not just "empty");
 *  - an accepted text finishes (graph_set_finish), featurizes and costs
 *    without trouble;
 *  - round trip: every accepted graph is written back (compact and pretty),
 *    and the written text reads back to a graph that writes the same text. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "graph/cost.h"
#include "graph/graph_json.h"

/* A graph the set holds before the fuzzed text arrives. */
static const char BASE_GRAPH[] =
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"fuzz_base\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[1,3,8,8]},"
    "{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"attrs\":{\"kernel\":3,\"padding\":1},"
    "\"out_shape\":[1,4,8,8]},"
    "{\"name\":\"y\",\"op\":\"output\",\"inputs\":[\"c\"],\"out_shape\":[1,4,8,8]}]}";

static char *write_graph(const graph_set *s, int64_t g, int pretty, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        fuzz_fail("open_memstream failed");
    gp_error err;
    int rc = graph_json_write(f, s, g, pretty, &err);
    fclose(f);
    if (rc != 0)
        fuzz_fail("an accepted graph (%lld) could not be written: %s", (long long)g, err.msg);
    return text;
}

static void check_round_trip(const graph_set *s, int64_t g, int pretty)
{
    size_t len1, len2;
    char *text1 = write_graph(s, g, pretty, &len1);
    graph_set back;
    graph_set_init(&back);
    gp_error err;
    if (graph_json_parse(&back, text1, len1, "written", &err) != 0)
        fuzz_fail("the written graph %lld does not read back: %s\n%s", (long long)g, err.msg, text1);
    if (back.n_graphs != 1 || back.n_nodes != graph_nodes_in(s, g) || back.n_edges != graph_edges_in(s, g))
        fuzz_fail("graph %lld read back with other counts", (long long)g);
    char *text2 = write_graph(&back, 0, pretty, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0)
        fuzz_fail("graph %lld does not round-trip:\n%s\n%s", (long long)g, text1, text2);
    free(text1);
    free(text2);
    graph_set_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    if (graph_json_parse(&s, BASE_GRAPH, strlen(BASE_GRAPH), "base", &err) != 0)
        fuzz_fail("the base graph is refused: %s", err.msg);
    gp_error_clear(&err);
    int rc = graph_json_parse(&s, (const char *)data, size, "fuzz.json", &err);
    if (rc != 0) {
        if (s.n_graphs != 1 || s.n_nodes != 3 || s.n_edges != 2 || strcmp(s.graph_names[0], "fuzz_base") != 0)
            fuzz_fail("a refused text changed the set (%lld graphs, %lld nodes): %s", (long long)s.n_graphs,
                      (long long)s.n_nodes, err.msg);
        if (err.msg[0] == '\0')
            fuzz_fail("a refused text left no message");
        graph_set_free(&s);
        return 0;
    }
    if (graph_set_finish(&s, &err) != 0)
        fuzz_fail("an accepted text does not finish: %s", err.msg);
    fuzz_check_features(&s);
    for (int64_t i = 0; i < s.n_nodes; i++) {
        node_cost c;
        graph_node_cost(&s, i, &c);
        if (!(c.flops >= 0) || !(c.bytes_in >= 0) || !(c.bytes_out >= 0) || !(c.bytes_param >= 0))
            fuzz_fail("node %lld has a negative or NaN cost", (long long)i);
    }
    for (int64_t g = 1; g < s.n_graphs; g++) {
        check_round_trip(&s, g, 0);
        check_round_trip(&s, g, 1);
    }
    graph_set_free(&s);
    return 0;
}
