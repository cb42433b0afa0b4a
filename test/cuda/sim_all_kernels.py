#!/usr/bin/env python3
"""Runs every CUDA kernel of a model in weft-gpu-sim on random data.

Compiles MODEL.onnx with `weftc --target=cuda` (plus --weftc-arg
arguments), keeping the IR of every pass, takes the GPU module just before
the NVVM lowering and runs each kernel's first and last block (or
--blocks) in weft-gpu-sim with its float arguments filled with random
values in [-1, 1] and its integer arguments with zeros (valid indices).
The outputs are not compared with anything: what this checks is what the
simulator checks on any data, that no kernel races in shared memory,
reads shared memory no thread wrote, accesses outside a buffer, or
deadlocks at a barrier or a warp-wide operation. Prints one line per
kernel that fails and a summary; exits non-zero on a failure.

With --profile, weft-gpu-sim also counts each kernel's memory requests as
a warp issues them (global sectors and shared-memory wavefronts against
their ideal, tools/weft-gpu-sim/Profile.h) and a table of the kernels
follows, the most wasteful first, with their costliest operations.
"""

import argparse
import glob
import os
import re
import subprocess
import sys

import numpy as np

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64, "i64": np.int64,
          "i32": np.int32, "i16": np.int16, "i8": np.int8, "i1": np.int8, "ui8": np.uint8}


def gpu_module(dump):
    """The GPU module's file just before convert-nvgpu-to-nvvm."""
    stages = sorted(glob.glob(os.path.join(dump, "**", "gpu_module_*", "*.mlir"), recursive=True),
                    key=lambda p: [int(x) for x in
                                   re.match(r"(\d+)_(\d+)_", os.path.basename(p)).groups()])
    for i, p in enumerate(stages):
        if "convert-nvgpu-to-nvvm" in p:
            return stages[i - 1]
    raise SystemExit(f"sim_all_kernels: no GPU module stage under {dump}")


def parse_profile(out):
    """weft-gpu-sim --profile's totals per kind and its costliest operations."""
    totals, ops = {}, []
    for line in out.splitlines():
        m = re.match(r"profile: (\S+) requests=(\d+) \w+=(\d+) ideal=(\d+)", line)
        if m:
            totals[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
        elif line.startswith("profile-op: "):
            ops.append(line[len("profile-op: "):])
    return totals, ops


def print_profiles(profiles, top):
    """The kernels by the memory units they spend beyond the ideal."""
    kinds = ["global-load", "global-store", "shared-load", "shared-store"]
    sums = {k: [0, 0] for k in kinds}
    rows = []
    for name, grid, (totals, ops) in profiles:
        excess = 0
        effs = []
        for k in kinds:
            req, units, ideal = totals.get(k, (0, 0, 0))
            sums[k][0] += units
            sums[k][1] += ideal
            excess += units - ideal
            effs.append(f"{ideal / units:5.2f}" if units else "    -")
        rows.append((excess, name, grid, effs, ops))
    rows.sort(key=lambda r: -r[0])
    print("efficiency = ideal / actual (global: 32-byte sectors, shared: wavefronts), "
          "over the blocks run")
    print(f"{'kernel':44} {'grid':>6} {'g-load':>6} {'g-store':>7} {'s-load':>6} {'s-store':>7}")
    for excess, name, grid, effs, ops in rows[:top]:
        if excess == 0:
            break
        print(f"{name:44} {grid:6} {effs[0]:>6} {effs[1]:>7} {effs[2]:>6} {effs[3]:>7}")
        for op in ops:
            print(f"    {op}")
    print("all kernels: " + ", ".join(
        f"{k} {s[1] / s[0]:.3f}" if s[0] else f"{k} -" for k, s in sums.items()))


def compile_model(weftc, model, workdir, weftc_args=()):
    """Compiles `model` for CUDA keeping the IR; returns the GPU module's
    path just before the NVVM lowering, or raises RuntimeError with
    weftc's message."""
    os.makedirs(workdir, exist_ok=True)
    dump = os.path.join(workdir, "ir")
    subprocess.run(["rm", "-rf", dump])
    proc = subprocess.run([weftc, model, "--target=cuda", "--emit=ptx", *weftc_args,
                           "--dump-ir-dir", dump, "-o", os.path.join(workdir, "model.ptx")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return gpu_module(dump)


def run_kernels(sim, module, workdir, blocks="first,last", profile=False, seed=3):
    """Runs every kernel of GPU module `module` in weft-gpu-sim on random
    data. Returns (kernels run, failure lines, profiles)."""
    text = open(module).read()
    rng = np.random.default_rng(seed)
    failures, profiles, runs = [], [], 0
    for m in re.finditer(r"gpu\.func @(\w+)\((.*?)\) (?:workgroup\(.*?\) )?kernel attributes "
                         r"\{(.*?)\}", text):
        name, signature, attrs = m.groups()
        grid = int(re.search(r"known_grid_size = array<i32: (\d+)", attrs).group(1))
        cmd = [sim, module, "--kernel", name]
        bad = False
        for i, (shape, elem) in enumerate(re.findall(r"memref<((?:\d+x)*)(\w+)", signature)):
            dims = [int(d) for d in shape.split("x") if d]
            count = int(np.prod(dims)) if dims else 1
            if elem not in DTYPES and elem != "bf16":
                failures.append(f"FAIL {name}: argument {i} of element type {elem}")
                bad = True
                break
            if elem == "bf16":
                data = (rng.uniform(-1, 1, count).astype(np.float32).view(np.uint32) >> 16)
                data = data.astype(np.uint16)
            elif elem.startswith("f"):
                data = rng.uniform(-1, 1, count).astype(DTYPES[elem])
            else:
                data = np.zeros(count, DTYPES[elem])
            path = os.path.join(workdir, f"{name}_arg{i}.bin")
            data.tofile(path)
            cmd += ["--arg", f"{i}={path}"]
        runs += 1
        if bad:
            continue
        if blocks == "all":
            chosen = range(grid)
        elif blocks == "first,last":
            chosen = sorted({0, grid - 1})
        else:
            chosen = sorted({int(b) for b in np.linspace(0, grid - 1, int(blocks))})
        cmd += ["--blocks", ",".join(map(str, chosen))]
        if profile:
            cmd += ["--profile", "--profile-top", "3"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"FAIL {name}: {proc.stderr.strip()}")
        elif profile:
            profiles.append((name, grid, parse_profile(proc.stdout)))
    return runs, failures, profiles


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args")
    parser.add_argument("--profile", action="store_true",
                        help="print each kernel's memory efficiency")
    parser.add_argument("--top", type=int, default=20, help="kernels listed by --profile")
    parser.add_argument("--blocks", default="first,last",
                        help="first,last (default), all, or a count of evenly spread blocks")
    args = parser.parse_args(argv)
    try:
        module = compile_model(args.weftc, args.model, args.workdir, args.weftc_args)
    except RuntimeError as e:
        print(e)
        return 1
    runs, failures, profiles = run_kernels(args.sim, module, args.workdir, args.blocks,
                                           args.profile)
    for line in failures:
        print(line)
    if args.profile:
        print_profiles(profiles, args.top)
    print(f"sim_all_kernels: {runs - len(failures)} of {runs} kernels ran without a race, an "
          f"out-of-bounds access or a deadlock")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
