"""The command line that gen_nb201.py, gen_fbnet.py and gen_ofa.py share.

Each of them turns one row of a public architecture table into one gnnperf
graph; only the table reader, the network builder and the naming differ, so
the options, their checks and the write loop live here once.
"""
import argparse
import itertools
import sys
import time

import gpgraph


def main(argv, prog, description, archs_default, archs_help, classes, read_archs, build, prefix,
         meta_key, extra_args=None, single=None):
    """Parses argv and writes the graphs; returns the exit status.

    read_archs(path) yields (index, architecture); build(architecture, batch,
    classes, name=..., meta=...) returns a graph; graphs are named
    PREFIX_<index> and carry meta[meta_key] = index. extra_args(parser) adds
    options; single(args), when given and not None for these args, returns
    the graphs to write instead of the table's (gen_nb201's --arch-str).
    """
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--archs", default=archs_default,
                    help="%s (default: the shared data folder's copy)" % archs_help)
    if extra_args:
        extra_args(ap)
    ap.add_argument("--indices", help="%s values to keep, e.g. 0-99 or 0,5,10-20 (default all)" % meta_key)
    ap.add_argument("--batch", type=int, default=1, help="batch size of the input (default 1)")
    ap.add_argument("--classes", type=int, default=classes, help="classifier outputs (default %d)" % classes)
    ap.add_argument("-o", "--output", required=True, help="output .jsonl file ('-' for stdout)")
    args = ap.parse_args(argv)
    if args.batch < 1 or args.classes < 1:
        ap.error("--batch and --classes must be >= 1")
    keep = gpgraph.parse_indices(args.indices)

    t0 = time.time()
    graphs = single(args) if single else None
    if graphs is None:
        if not args.archs:
            ap.error("no --archs given and the shared data folder was not found "
                     "(set GNNPERF_SHARED or pass --archs)")
        graphs = (build(arch, args.batch, args.classes, name="%s_%d" % (prefix, idx), meta={meta_key: idx})
                  for idx, arch in read_archs(args.archs) if keep is None or idx in keep)
    # an empty selection is a mistake, and an empty file would only fail
    # later (gnndata refuses it): say so now and write nothing
    it = iter(graphs)
    first = next(it, None)
    if first is None:
        print("%s: error: no architecture matched --indices %s; nothing written" % (prog, args.indices),
              file=sys.stderr)
        return 1
    n = gpgraph.write_jsonl(itertools.chain([first], it), args.output)
    print("%s: wrote %d graphs to %s in %.1f s" % (prog, n, args.output, time.time() - t0), file=sys.stderr)
    return 0


def run(prog, main_fn):
    """Runs main_fn() as a program: exit with its status, or 1 and one line on a graph or file error."""
    try:
        sys.exit(main_fn())
    except (gpgraph.GraphError, OSError) as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        sys.exit(1)
