#!/usr/bin/python3
"""Import HELP's Once-for-All MobileNetV3 latency table as a gnnperf dataset.

    import_ofa.py [--data DIR] [--indices 0-999] --out-dir DIR [--pack] [--gnndata PATH]

Reads ../shared/data/help_ofa/ (see its README.md): ofa_archs.jsonl (5,000
subnets: ks, e, d, r) and ofa_latency_wide.csv (5,000 rows x 12 GPU
settings, ms).  Writes into --out-dir:

    graphs.jsonl   one graph per subnet, ofa_<arch_id>, built by
                   gen_ofa.build_ofa (input [1, 3, r, r], 1000 classes)
    labels.csv     graph-level latency_ms (ms) on the 12 settings
    devices.csv    the 12 settings (2080ti, titan_rtx, titan_xp, v100 at
                   batch 1/32/64, named as the CSV columns); descriptor "batch"

and, with --pack, ofa.h5 through gnndata pack.  Graph shapes are batch 1;
the batch of a setting is its descriptor.

Checks (a failure exits 1): 5,000 distinct arch_ids 0..4999 in both files
and the same set; ks/e have 20 entries in {3,5,7}/{3,4,6}, d 5 entries in
{2,3,4}, r an integer; 12 setting columns, every one a known GPU setting
with a batch; values finite and >= 0 (empty cells skipped and counted).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
import gen_ofa  # noqa: E402
from import_nb201 import (DeviceTable, ImportFailure, add_common_args, batch_of_setting, log, pack,  # noqa: E402
                          read_wide, resolve_data_dir, run_main, write_graphs_with_latency)

PROG = "import_ofa"
N_ARCHS = 5000
N_SETTINGS = 12


def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, "ofa")
    ap.add_argument("--indices", help="arch_id values to import, e.g. 0-999 (default all)")
    args = ap.parse_args(argv)
    keep = gpgraph.parse_indices(args.indices)
    data = resolve_data_dir(args.data, "help_ofa")
    src = os.path.join(data, "help_ofa")
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()

    apath = os.path.join(src, "ofa_archs.jsonl")
    archs = {}
    for aid, arch in gen_ofa.read_archs(apath):       # checks ks, e, d, r
        if aid in archs:
            raise ImportFailure("%s: duplicate arch_id %d" % (apath, aid))
        archs[aid] = arch
    if set(archs) != set(range(N_ARCHS)):
        raise ImportFailure("%s: arch_ids are not exactly 0..%d (%d found)"
                            % (apath, N_ARCHS - 1, len(archs)))
    lpath = os.path.join(src, "ofa_latency_wide.csv")
    settings, lat, missing = read_wide(lpath, "arch_id", N_ARCHS, N_SETTINGS)
    batch = {d: batch_of_setting(d) for d in settings}
    nob = [d for d, b in batch.items() if b is None]
    if nob:
        raise ImportFailure("%s: settings without a batch size: %s (README: GPUs at batch 1/32/64)"
                            % (lpath, nob))
    log(PROG, "read %d archs and %d x %d latencies (%d empty cells skipped) in %.1f s"
        % (len(archs), len(lat), len(settings), sum(missing.values()), time.time() - t0))
    sel = [a for a in range(N_ARCHS) if keep is None or a in keep]
    if not sel:
        raise ImportFailure("--indices %s selects no architecture" % args.indices)
    def build(a):
        name = "ofa_%d" % a
        return name, gen_ofa.build_ofa(archs[a], name=name, meta={"arch_id": a, "dataset": "help_ofa"}).to_json()

    write_graphs_with_latency(PROG, args.out_dir, sel, build, lat, settings, t0,
                              DeviceTable(os.path.join(args.out_dir, "devices.csv"), settings, ["batch"],
                                          {d: {"batch": b} for d, b in batch.items()}))
    if args.pack:
        pack(PROG, args, "HELP Once-for-All MobileNetV3 latency (help_ofa), imported by "
                         "scripts/import_ofa.py")
    return 0


def main(argv=None):
    return run_main(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
