#!/usr/bin/python3
"""Regenerates the small HDF5 files that tests/test_dataset_h5.c reads.

    /usr/bin/python3 tests/data/h5/make_hostile.py            # rewrite the files here
    /usr/bin/python3 tests/data/h5/make_hostile.py --check F  # read a file written by gnnperf

valid.h5 is a small dataset written from scratch following
docs/dataset-format.md (independently of the C writer); valid_h5py_defaults.h5
holds the same data the way h5py stores it when nobody asks for specific
types (int64 everywhere, float64 labels, fixed-length byte strings, no link
creation order), which the reader must accept too. Every other file is
valid.h5 with one thing broken; the C tests assert the error message for
each. The files are committed: the tests never run Python.
"""
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STR = h5py.string_dtype("utf-8")
NAN = float("nan")
RANK = 6  # GRAPH_MAX_RANK

# Kept in step with graph/ops.c (codes are positions in these lists).
KINDS = ["input", "output", "conv2d", "dwconv2d", "linear", "matmul", "bmm", "maxpool2d", "avgpool2d",
         "global_avgpool", "batchnorm", "layernorm", "activation", "add", "mul", "elementwise", "concat",
         "softmax", "embedding", "view", "other"]
FNS = ["none", "relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
       "elu", "softplus", "mish", "sub", "div", "pow", "sqrt", "rsqrt", "exp", "log", "neg", "abs", "maximum",
       "minimum", "clamp", "where", "zero", "other"]
DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64", "bool"]


def shape_row(dims):
    return list(dims) + [0] * (RANK - len(dims))


def spec():
    """The valid dataset as {hdf5 path: (array, attrs)} plus root attributes.

    g0: x -> conv -> relu -> out (conv 3->4 channels, 3x3, padding 1)
    g1: a -> b, a -> c, b -> c (add)
    g2: one node, no edges
    """
    nodes = [  # graph, name, kind, fn, out shape, input shapes, kernel, padding
        (0, "x", "input", "none", [1, 3, 8, 8], [], [1, 1], [0, 0]),
        (0, "conv", "conv2d", "none", [1, 4, 8, 8], [[1, 3, 8, 8]], [3, 3], [1, 1]),
        (0, "relu", "activation", "relu", [1, 4, 8, 8], [[1, 4, 8, 8]], [1, 1], [0, 0]),
        (0, "out", "output", "none", [1, 4, 8, 8], [[1, 4, 8, 8]], [1, 1], [0, 0]),
        (1, "a", "input", "none", [2, 16], [], [1, 1], [0, 0]),
        (1, "b", "linear", "none", [2, 16], [[2, 16]], [1, 1], [0, 0]),
        (1, "c", "add", "none", [2, 16], [[2, 16], [2, 16]], [1, 1], [0, 0]),
        (2, "s", "other", "none", [], [], [1, 1], [0, 0]),
    ]
    edges = [[(0, 1), (1, 2), (2, 3)], [(0, 1), (0, 2), (1, 2)], []]
    n = len(nodes)
    in_off = np.cumsum([0] + [len(nd[5]) for nd in nodes]).astype(np.int64)
    in_shapes = [s for nd in nodes for s in nd[5]]

    def vocab(codes, names):
        return (np.array(codes, dtype=np.int32), {"vocabulary": np.array(names, dtype=STR)})

    d = {
        "/graphs/names": (np.array(["g0", "g1", "g2"], dtype=STR), {}),
        "/graphs/node_offsets": (np.array([0, 4, 7, 8], dtype=np.int64), {}),
        "/graphs/edge_offsets": (np.array([0, 3, 6, 6], dtype=np.int64), {}),
        "/nodes/names": (np.array([nd[1] for nd in nodes], dtype=STR), {}),
        "/nodes/kind": vocab([KINDS.index(nd[2]) for nd in nodes], KINDS),
        "/nodes/fn": vocab([FNS.index(nd[3]) for nd in nodes], FNS),
        "/nodes/dtype": vocab([0] * n, DTYPES),
        "/nodes/kernel": (np.array([nd[6] for nd in nodes], dtype=np.int32), {}),
        "/nodes/stride": (np.ones((n, 2), dtype=np.int32), {}),
        "/nodes/padding": (np.array([nd[7] for nd in nodes], dtype=np.int32), {}),
        "/nodes/dilation": (np.ones((n, 2), dtype=np.int32), {}),
        "/nodes/groups": (np.ones(n, dtype=np.int32), {}),
        "/nodes/out_rank": (np.array([len(nd[4]) for nd in nodes], dtype=np.int32), {}),
        "/nodes/out_shape": (np.array([shape_row(nd[4]) for nd in nodes], dtype=np.int64), {}),
        "/nodes/in_shape_offsets": (in_off, {}),
        "/nodes/in_ranks": (np.array([len(s) for s in in_shapes], dtype=np.int32), {}),
        "/nodes/in_shapes": (np.array([shape_row(s) for s in in_shapes], dtype=np.int64), {}),
        "/edges/src": (np.array([e[0] for g in edges for e in g], dtype=np.int32), {}),
        "/edges/dst": (np.array([e[1] for g in edges for e in g], dtype=np.int32), {}),
        "/devices/names": (np.array(["cpu", "gpu"], dtype=STR), {}),
        "/devices/descriptor_names": (np.array(["peak_gflops", "mem_bw_gbs"], dtype=STR), {}),
        "/devices/descriptors": (np.array([[100.0, 20.0], [NAN, 900.0]], dtype=np.float64), {}),
        "/labels/node/latency_ms": (np.array([[0.01, NAN], [0.5, 0.05], [0.1, 0.01], [0.0, 0.0],
                                              [0.01, 0.01], [0.2, NAN], [0.1, 0.02], [NAN, NAN]],
                                             dtype=np.float32), {"unit": "ms"}),
        "/labels/graph/latency_ms": (np.array([[0.7, 0.08], [0.3, NAN], [0.02, 0.01]], dtype=np.float32),
                                     {"unit": "ms"}),
    }
    root = {"format": "gnnperf-dataset", "format_version": 1, "featurizer_version": 1,
            "provenance": '{"tool": "make_hostile.py", "purpose": "test fixture"}'}
    return d, root


def write(path, d, root, track_order=True):
    with h5py.File(path, "w") as f:
        for k, v in root.items():
            f.attrs[k] = v
        for g in ("/graphs", "/nodes", "/edges", "/devices", "/labels"):
            f.create_group(g)
        f.create_group("/labels/node", track_order=track_order)
        f.create_group("/labels/graph", track_order=track_order)
        for p, (arr, attrs) in d.items():
            ds = f.create_dataset(p, data=arr, track_times=False)
            for k, v in attrs.items():
                ds.attrs[k] = v


def h5py_defaults(d):
    """The same data as h5py stores plain numpy arrays: int64, float64, fixed-length bytes."""
    out = {}
    for p, (arr, attrs) in d.items():
        if arr.dtype == object:
            arr = np.array([s.encode() for s in arr], dtype="S")
        elif arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        attrs = {k: (np.array([s.encode() for s in v], dtype="S") if isinstance(v, np.ndarray) else v)
                 for k, v in attrs.items()}
        out[p] = (arr, attrs)
    return out


def setv(d, path, fn):
    arr, attrs = d[path]
    arr = arr.copy()
    fn(arr)
    d[path] = (arr, attrs)


def variant(name, mutate=None, root_mutate=None, post=None):
    d, root = spec()
    if mutate:
        mutate(d)
    if root_mutate:
        root_mutate(root)
    path = os.path.join(HERE, name)
    write(path, d, root)
    if post:
        with h5py.File(path, "r+") as f:
            post(f)


def main():
    d, root = spec()
    write(os.path.join(HERE, "valid.h5"), d, root)
    write(os.path.join(HERE, "valid_h5py_defaults.h5"), h5py_defaults(d), root, track_order=False)

    with open(os.path.join(HERE, "not_hdf5.h5"), "w") as f:
        f.write("graph,node,latency_ms\nresnet18,conv1,0.5\n")
    with open(os.path.join(HERE, "valid.h5"), "rb") as f:
        data = f.read()
    with open(os.path.join(HERE, "truncated.h5"), "wb") as f:
        f.write(data[: len(data) // 2])

    variant("wrong_format.h5", root_mutate=lambda r: r.update(format="foo"))
    variant("future_version.h5", root_mutate=lambda r: r.update(format_version=2))
    variant("no_format.h5", root_mutate=lambda r: r.pop("format"))
    variant("missing_edges_src.h5", lambda d: d.pop("/edges/src"))
    variant("float_codes.h5", lambda d: d.update({"/nodes/kind": (d["/nodes/kind"][0].astype(np.float32),
                                                                  d["/nodes/kind"][1])}))
    variant("wrong_rank.h5", lambda d: d.update({"/edges/src": (np.stack([d["/edges/src"][0]] * 2, axis=1), {})}))
    variant("wrong_length.h5", lambda d: d.update({"/nodes/groups": (np.ones(7, dtype=np.int32), {})}))
    variant("offsets_not_monotone.h5", lambda d: setv(d, "/graphs/node_offsets", lambda a: a.__setitem__(2, 3)))
    variant("offsets_bad_end.h5", lambda d: setv(d, "/graphs/node_offsets", lambda a: a.__setitem__(3, 9)))
    # Edge 3 is g1's first edge (a -> b); g1 has 3 nodes.
    variant("edge_out_of_range.h5", lambda d: setv(d, "/edges/dst", lambda a: a.__setitem__(3, 7)))
    # g0's second edge conv -> relu reversed: relu -> conv closes a cycle conv -> relu -> conv.
    variant("edge_cycle.h5", lambda d: (setv(d, "/edges/src", lambda a: a.__setitem__(1, 2)),
                                        setv(d, "/edges/dst", lambda a: a.__setitem__(1, 1))))

    def unknown_kind(d):
        codes, attrs = d["/nodes/kind"]
        voc = list(KINDS) + ["frobnicate"]
        codes = codes.copy()
        codes[2] = len(KINDS)  # node 'relu' now uses the unknown name
        d["/nodes/kind"] = (codes, {"vocabulary": np.array(voc, dtype=STR)})
    variant("unknown_kind_name.h5", unknown_kind)
    variant("kind_code_out_of_range.h5", lambda d: setv(d, "/nodes/kind", lambda a: a.__setitem__(2, 99)))
    variant("negative_label.h5", lambda d: setv(d, "/labels/graph/latency_ms", lambda a: a.__setitem__((2, 0), -1)))
    variant("inf_label.h5", lambda d: setv(d, "/labels/node/latency_ms", lambda a: a.__setitem__((5, 1), np.inf)))
    variant("duplicate_devices.h5", lambda d: setv(d, "/devices/names", lambda a: a.__setitem__(1, "cpu")))
    variant("duplicate_graph_names.h5", lambda d: setv(d, "/graphs/names", lambda a: a.__setitem__(2, "g1")))
    # g1 loses its nodes to g0; the node count stays 8.
    variant("empty_graph.h5", lambda d: setv(d, "/graphs/node_offsets", lambda a: a.__setitem__(1, 7)))

    def huge(f):
        del f["/graphs/names"]
        f.create_dataset("/graphs/names", shape=(2 ** 40,), dtype=STR, chunks=(1024,))
    variant("huge_dims.h5", post=huge)

    def huge_numeric(f):
        del f["/devices/descriptors"]
        del f["/devices/names"]
        f.create_dataset("/devices/names", shape=(2 ** 20,), dtype=STR, chunks=(1024,))
        f.create_dataset("/devices/descriptors", shape=(2 ** 20, 2), dtype=np.float64, chunks=(1024, 2))
    variant("huge_devices.h5", post=huge_numeric)
    variant("negative_dims.h5", lambda d: setv(d, "/nodes/out_shape", lambda a: a.__setitem__((1, 2), -5)))
    variant("string_for_numbers.h5",
            lambda d: d.update({"/edges/dst": (np.array([str(v) for v in d["/edges/dst"][0]], dtype=STR), {})}))
    variant("int_overflow.h5", lambda d: d.update({"/edges/src": (d["/edges/src"][0].astype(np.int64) +
                                                                  np.array([2 ** 40, 0, 0, 0, 0, 0]), {})}))

    def external(f):
        del f["/edges/src"]
        f["/edges/src"] = h5py.ExternalLink("valid.h5", "/edges/src")
    variant("external_link.h5", post=external)

    def lzf(f):
        data = f["/nodes/groups"][...]
        del f["/nodes/groups"]
        f.create_dataset("/nodes/groups", data=data, compression="lzf", chunks=(4,))
    variant("unknown_filter.h5", post=lzf)

    def stale_features(f):
        ds = f.create_dataset("/nodes/features", data=np.zeros((9, 3), dtype=np.float32))
        ds.attrs["featurizer_version"] = 999
    variant("features_rows.h5", post=stale_features)


def read_graph(f, g):
    """The documented way to read graph g and its labels with h5py (see docs/dataset-format.md)."""
    n0, n1 = f["graphs/node_offsets"][g:g + 2]
    e0, e1 = f["graphs/edge_offsets"][g:g + 2]
    kinds = [v for v in f["nodes/kind"].attrs["vocabulary"]]
    names = [s.decode() if isinstance(s, bytes) else s for s in f["nodes/names"][n0:n1]]
    kind = [kinds[c] for c in f["nodes/kind"][n0:n1]]
    edges = list(zip(f["edges/src"][e0:e1], f["edges/dst"][e0:e1]))
    devices = [s.decode() if isinstance(s, bytes) else s for s in f["devices/names"][...]]
    labels = {t: f["labels/graph"][t][g] for t in f["labels/graph"]}
    return names, kind, edges, devices, labels


def check(path):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "gnnperf-dataset", f.attrs["format"]
        assert int(f.attrs["format_version"]) == 1
        G = len(f["graphs/names"])
        N = len(f["nodes/names"])
        assert f["graphs/node_offsets"][-1] == N
        if "features" in f["nodes"]:   # optional: gnndata pack --no-features leaves it out
            assert f["nodes/features"].shape[0] == N
            assert len(f["nodes/features"].attrs["column_names"]) == f["nodes/features"].shape[1]
        for g in range(G):
            names, kind, edges, devices, labels = read_graph(f, g)
            assert all(s < d for s, d in edges)
        print(f"{path}: {G} graphs, {N} nodes, devices {devices}; last graph: {len(names)} nodes, "
              f"kinds {sorted(set(kind))[:5]}, labels {sorted(labels)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
