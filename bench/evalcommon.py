"""What the evaluation scripts in bench/ share: where the public data is,
running the built tools, rank statistics, HELP's middle-80% rule and the
ridge and XGBoost baselines.

Imported by eval_help_nb201.py, eval_help_fbnet.py, eval_indevice_nb201.py,
eval_fbnet_blocks.py, eval_neusight.py and compare_labels.py (their folder is first on sys.path
when they run).
"""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data_dir(prog, sub, files=()):
    """../shared/data (or $GNNPERF_SHARED/data) when it holds sub/ and sub/files; else exit with why."""
    env = os.environ.get("GNNPERF_SHARED")
    d = os.path.normpath(os.path.join(env, "data") if env else os.path.join(ROOT, "..", "shared", "data"))
    need = [os.path.join(d, sub, f) for f in files] or [os.path.join(d, sub)]
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        sys.exit(f"{prog}: the public data is missing: no {', '.join(missing)} "
                 "(put it in ../shared/data or set GNNPERF_SHARED to the folder holding data/)")
    return d


def featurizer_version():
    """FEATURIZER_VERSION of the C sources. Part of every stamp that decides
    whether a trained model is reused: a checkpoint of another featurizer
    version cannot be loaded, so a changed featurizer means retraining."""
    with open(os.path.join(ROOT, "graph", "featurize.h")) as f:
        for line in f:
            if line.startswith("#define FEATURIZER_VERSION"):
                return int(line.split()[2])
    sys.exit("evalcommon: graph/featurize.h defines no FEATURIZER_VERSION")


def run(prog, cmd, **kw):
    """Runs cmd and returns its standard output; exits naming the command when it fails."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{prog}: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    return r.stdout


def rank(v):
    """Ranks from 0; ties share their mean rank."""
    v = np.asarray(v, dtype=float)
    r = np.empty(len(v))
    r[np.argsort(v, kind="mergesort")] = np.arange(len(v))
    _, inv = np.unique(v, return_inverse=True)
    return (np.bincount(inv, weights=r) / np.bincount(inv))[inv]


def spearman(a, b):
    """Spearman rho with tied ranks averaged; NaN below 3 values or when a
    value is not finite (a NaN prediction would otherwise rank as the
    largest and still give a finite rho)."""
    if len(a) < 3 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def middle80(ids, lat):
    """HELP keeps the middle 80% by latency on the device (in latency order)."""
    ids = sorted(ids, key=lambda i: lat[i])
    n = len(ids)
    return ids[int(0.1 * n): n - int(0.1 * n)]


def tool_hash(*paths):
    """sha256 over built binaries or scripts: part of the stamps that decide
    whether a trained model is reused, so that a rebuilt gnntrain (or a
    changed importer) retrains instead of reusing what older code made."""
    import hashlib
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def shot_picks(pool, refs, dev, draw, k):
    """The k pool archs a draw adapts from, plus the reference archs. The
    references are taken out of the pool before sampling (so there are k new
    archs), the pool is put in arch order and the generator is seeded with
    the device too: the pool comes in latency order, and one seed per draw
    would pick the same latency ranks on every device."""
    import random
    cand = sorted(i for i in pool if i not in set(refs))
    return random.Random(f"{dev}/{draw}/{k}").sample(cand, k) + list(refs)


def source_labels_middle80(prog, src, dst, devices, pools, target="latency_ms"):
    """HELP trains its source (meta-training) devices on the middle 80 % of
    the pool by each device's latency, as it does the test devices: writes
    dst, a copy of the packed dataset src whose whole-graph target of each
    device in devices is NaN (not measured) outside rows pools[device].
    Atomic (a temporary beside dst, then rename); skipped when dst is newer
    than src and records the same rows."""
    import hashlib
    import json
    import shutil
    import h5py
    key = hashlib.sha256(json.dumps({d: sorted(map(int, pools[d])) for d in devices}).encode()).hexdigest()
    stamp = dst + ".stamp"
    if os.path.exists(dst) and os.path.exists(stamp) and open(stamp).read().strip() == key and \
            os.path.getmtime(dst) >= os.path.getmtime(src):
        return
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    with h5py.File(tmp, "r+") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["devices/names"][()]]
        missing = [d for d in devices if d not in names]
        if missing:
            os.unlink(tmp)
            sys.exit(f"{prog}: {src} has no device {', '.join(missing)}")
        v = f[f"labels/graph/{target}"][()]
        for d in devices:
            col = names.index(d)
            keep = np.zeros(v.shape[0], dtype=bool)
            keep[np.asarray(sorted(pools[d]), dtype=np.int64)] = True
            v[~keep, col] = np.nan
        f[f"labels/graph/{target}"][...] = v
    os.replace(tmp, dst)
    with open(stamp, "w") as f:
        f.write(key + "\n")


def add_fewshot_args(ap, work_default):
    """The options both HELP few-shot protocols take (eval_help_nb201.py, eval_help_fbnet.py)."""
    ap.add_argument("--work", default=work_default)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--shots", default="5,10,20")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--method", default="heads,stack,blend@10",
                    help="what gnnadapt fits on the new device's samples: embedding, heads, stack or blend, or several "
                         "comma-separated (each scored on the same draws and source model); METHOD@K1/K2 runs that "
                         "method at those sample counts only (blend refits the heads five times: blend@10 keeps the "
                         "protocol's run time near an hour)")
    ap.add_argument("--steps", type=int, default=300, help="gnnadapt optimizer steps")
    ap.add_argument("--anchor", type=float, default=0.0,
                    help="gnnadapt --anchor: pull the adapted heads toward the source model (0 = none)")


def fewshot_methods(prog, a):
    """The --method list of add_fewshot_args, checked: (method, sample
    counts or None for all of --shots) pairs."""
    methods = []
    for item in a.method.split(","):
        name, _, ks = item.partition("@")
        if name not in ("embedding", "heads", "stack", "blend"):
            sys.exit(f"{prog}: --method: '{name}' is not embedding, heads, stack or blend")
        try:
            methods.append((name, [int(k) for k in ks.split("/")] if ks else None))
        except ValueError:
            sys.exit(f"{prog}: --method: '{item}': the sample counts after @ are integers separated by /")
    return methods


def fewshot_rho(prog, a, method, model, ds, dev, shots, tests, metrics, seed):
    """Adapts model to dev from the graphs named in shots with gnnadapt and
    returns its Spearman rho of whole-graph latency_ms on the graphs named in
    tests (written to the JSON file metrics)."""
    run(prog, [os.path.join(ROOT, "build", "gnnadapt"), model, ds, "--device", dev, "-o",
               os.path.join(a.work, "adapted.h5"), "--shot-graphs", ",".join(shots), "--test-graphs",
               ",".join(tests), "--metrics", metrics, "-q", "--threads", str(a.threads), "--seed", str(seed),
               "--method", method, "--steps", str(a.steps), "--anchor", str(a.anchor)])
    import json
    m = [r for r in json.load(open(metrics)) if r["level"] == "graph" and r["target"] == "latency_ms"]
    return m[0]["spearman"]


def fewshot_scores(prog, a, methods, shots_list, model, ds, dev, draw_picks, query, name, results):
    """Every (method, k) of the few-shot protocols on one test device: the
    mean rho over a.draws draws, appended to results under the method's
    label and printed. draw_picks(draw, k) gives the archs to adapt from,
    query the archs to score, name(i) an arch's graph name."""
    for method, ks in methods:
        for k in ks or shots_list:
            rhos = [fewshot_rho(prog, a, method, model, ds, dev, [name(i) for i in draw_picks(draw, k)],
                                [name(i) for i in query],
                                os.path.join(a.work, f"adapt_{method}_{dev}_{k}_{draw}.json"), draw)
                    for draw in range(a.draws)]
            results.setdefault(f"gnnperf, {method} ({k} samples + 10 reference)", []).append(float(np.mean(rhos)))
            print(f"{dev}: {method}, {k} samples: rho {np.mean(rhos):.3f} +- {np.std(rhos):.3f} over "
                  f"{a.draws} draws", file=sys.stderr)


# Baselines: fit on rows `fit`, choose the hyperparameter on rows `val`, refit on
# rows `train` (fit and val) and predict rows `test` (index arrays into X and y).
# Return (predictions, {chosen hyperparameters}). sklearn and xgboost are
# imported here, so callers can check for them first and skip with a note.

def fit_ridge(X, y, fit, val, train, test, seed):
    from sklearn.linear_model import Ridge
    grid = [float(a) for a in np.logspace(-6, 3, 19)]
    errs = []
    for a in grid:
        m = Ridge(alpha=a).fit(X[fit], y[fit])
        errs.append(float(np.mean((m.predict(X[val]) - y[val]) ** 2)))
    alpha = grid[int(np.argmin(errs))]
    m = Ridge(alpha=alpha).fit(X[train], y[train])
    return m.predict(X[test]), {"alpha": alpha}


def fit_xgboost(X, y, fit, val, train, test, seed, threads):
    import xgboost as xgb
    params = {"objective": "reg:squarederror", "eta": 0.05, "max_depth": 6, "subsample": 0.8,
              "colsample_bytree": 0.8, "min_child_weight": 1, "seed": seed, "nthread": threads}
    dfit, dval = xgb.DMatrix(X[fit], label=y[fit]), xgb.DMatrix(X[val], label=y[val])
    b = xgb.train(params, dfit, num_boost_round=3000, evals=[(dval, "val")], early_stopping_rounds=100,
                  verbose_eval=False)
    rounds = int(b.best_iteration) + 1
    b = xgb.train(params, xgb.DMatrix(X[train], label=y[train]), num_boost_round=rounds)
    return b.predict(xgb.DMatrix(X[test])), {"rounds": rounds}
