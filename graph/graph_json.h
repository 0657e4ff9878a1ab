/* graph_json: the "gnnperf-graph" JSON format, version 1, the way new models
 * arrive (docs/graph-json.md is the full specification).
 *
 * A file holds one graph as one JSON document (which may span many lines),
 * or many graphs as JSON Lines: one complete document per line, blank lines
 * allowed. The reader tells them apart by what follows the first complete
 * JSON value: only whitespace means one document, anything else JSON Lines.
 *
 * The reader is strict, because its input is hand-written or produced by
 * exporters we do not control: unknown keys, duplicate keys, wrong JSON
 * types, non-integral numbers, NUL bytes (raw or \u0000), invalid UTF-8 and
 * nesting deeper than GRAPH_JSON_MAX_DEPTH are errors. Every message starts
 * with the source ("model.json: ", or "graphs.jsonl:line 4: " for JSON
 * Lines) and then the JSON path of the offending field, e.g.
 *   "model.json: nodes[17].attrs.stride: expected an integer or 2 integers, found a string"
 *   "model.json: syntax error at line 12, column 5"
 *
 * Nodes may appear in any order in a file; the reader adds them to the
 * graph_set in a stable topological order (graph_topo_order), so local node
 * indices follow that order, not the file's. Edges are added grouped by
 * consumer, in "inputs" order, so each node's producers in the CSR follow
 * its argument order.
 *
 * All or nothing: on any error the graph_set is left exactly as it was.
 *
 * Do not read from several threads at once: cJSON stores the position of
 * its last parse error in a global on every parse. */
#ifndef GP_GRAPH_JSON_H
#define GP_GRAPH_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/gp_error.h"
#include "graph.h"

#define GRAPH_JSON_FORMAT "gnnperf-graph"
#define GRAPH_JSON_VERSION 1
/* Files larger than this are refused before reading: cJSON keeps a tree of
 * the whole document, several times the text, and no real model comes near. */
#define GRAPH_JSON_MAX_FILE_BYTES ((int64_t)1 << 30)
/* Deepest array/object nesting accepted. Graphs need 5 levels; the rest is
 * room for "meta". Kept below cJSON's own limit (1000) so that deep input
 * gets this clear message rather than a bare syntax error. */
#define GRAPH_JSON_MAX_DEPTH 128

/* Parses text (len bytes, need not be NUL-terminated; one document or JSON
 * Lines) and appends its graphs to s, all or nothing. source names the text
 * in messages (a file name; NULL reads as "<text>").
 *
 * s must have no open graph. Graph names must be new to s. The graphs are
 * checked with graph_set_validate before they are appended, so a later
 * graph_set_finish fails only for reasons outside this text. This function
 * does not call graph_set_finish; when s had been finished before, its CSR
 * arrays are released (they no longer describe s) and the caller must
 * finish it again. Returns 0, or -1 with err set and s unchanged. */
int graph_json_parse(graph_set *s, const char *text, size_t len, const char *source, gp_error *err);

/* Reads the file at path (at most GRAPH_JSON_MAX_FILE_BYTES; directories and
 * larger files are refused with a message) and calls graph_json_parse with
 * path as the source. Returns 0, or -1 with err set and s unchanged. */
int graph_json_read_file(graph_set *s, const char *path, gp_error *err);

/* Writes graph g of s (g < s->n_graphs; s need not have its CSR) as one
 * gnnperf-graph document followed by a newline: compact on one line (for
 * JSON Lines) when pretty is 0, else indented with one node per line.
 * Nodes are written in s's order with their producers, in edge order, as
 * "inputs"; "in_shapes" only where the node's recorded input shapes are not
 * exactly its producers' out_shapes; attributes only where they differ from
 * graph_node_defaults(); "dtype" only when not float32. Reading the output
 * back gives an identical graph (round trip).
 *
 * Refuses, before writing anything, a graph that the format cannot
 * express: a name that is empty, too long, not UTF-8 or holds control
 * characters; a vocabulary code out of range; an edge out of range or
 * against topological order; fewer recorded input shapes than producers, or
 * one that differs from its producer's out_shape. A write error (checked
 * with ferror) can leave part of a document in f. Returns 0 or -1. */
int graph_json_write(FILE *f, const graph_set *s, int64_t g, int pretty, gp_error *err);

/* Writes every graph of s to path through atomic_file, so a failure leaves
 * no partial file and keeps an existing one: a single graph as one
 * document (pretty or compact), several as JSON Lines (always compact).
 * Fails when s has no graph. Returns 0 or -1. */
int graph_json_write_file(const graph_set *s, const char *path, int pretty, gp_error *err);

#endif
