"""torchprof: helpers of scripts/profile_torch.py (PyTorch profiler of gnnperf).

    envsetup  thread/malloc environment, set before torch is imported
    machine   CPU name, cache sizes, cores (no torch)
    specs     the ordered list of graphs a run covers (no torch)
    families  the models: torchvision zoo, NAS-Bench-201, FBNet, random CNNs
    tograph   torch.fx trace (symbolic, else make_fx) -> gnnperf-graph JSON
    timing    whole-model and per-node (inside full runs) timing, device peaks
    labelcost FLOPs and bytes of a node, for the utilization label only (no torch)
"""
