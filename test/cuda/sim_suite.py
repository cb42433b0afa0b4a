#!/usr/bin/env python3
"""Runs every CUDA kernel of every case of an ONNX node suite in weft-gpu-sim.

Each case's model.onnx is compiled with `weftc --target=cuda` (keeping the
IR) and each of its kernels runs on random data in weft-gpu-sim, the first
and the last block of its grid, as sim_all_kernels.py runs a model's: what
this checks is that no kernel races in shared memory, reads shared memory
no thread wrote, accesses outside a buffer or a typed view of scratch, or
deadlocks at a barrier or a warp-wide operation, for every operator and
shape the suite holds. The values are checked elsewhere (the conformance
suites under --target=cuda-on-cpu). Cases that do not compile for CUDA
(a shape fed at run time, an expected failure) are counted and left to
those suites. Prints one line per failing kernel and a summary; exits
non-zero on a failure.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_all_kernels import compile_model, run_kernels  # noqa: E402

DEFAULT_SUITE = "/usr/share/libonnx-testdata/data/node"


def run_case(args, case):
    """(case, compiled, kernels run, failure lines)."""
    work = os.path.join(args.workdir, case)
    try:
        module = compile_model(args.weftc, os.path.join(args.suite, case, "model.onnx"), work)
    except RuntimeError:
        shutil.rmtree(work, ignore_errors=True)
        return case, False, 0, []
    runs, failures, _ = run_kernels(args.sim, module, work)
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    return case, True, runs, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=DEFAULT_SUITE)
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("-j", type=int, default=2, dest="jobs")
    parser.add_argument("--filter", help="only cases matching this regex")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.suite):
        print(f"sim_suite: no suite at {args.suite}")
        return 2
    cases = sorted(c for c in os.listdir(args.suite)
                   if os.path.isfile(os.path.join(args.suite, c, "model.onnx")) and
                   (not args.filter or re.search(args.filter, c)))
    compiled = kernels = failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, built, runs, failures in pool.map(lambda c: run_case(args, c), cases):
            compiled += built
            kernels += runs
            failed += bool(failures)
            for line in failures:
                print(f"{case}: {line}", flush=True)
    print(f"sim_suite: {len(cases)} cases, {compiled} compiled for CUDA, {kernels} kernels run; "
          f"{failed} cases with a race, an out-of-bounds access or a deadlock")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
