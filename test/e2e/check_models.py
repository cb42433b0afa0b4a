#!/usr/bin/env python3
"""End-to-end numeric check of small real models against onnxruntime.

Generates the test models with test/models/make_models.py (onnxruntime writes
the reference outputs), compiles each with `weftc --emit=lib`, and runs
`weft-run --compare` on the reference data set at every requested thread
count. Prints one line per model and thread count and exits non-zero if any
step fails, so lit or CI can run it directly.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_MODELS = os.path.join(HERE, os.pardir, "models", "make_models.py")

DEFAULT_MODELS = "mlp,cnn"
# Tighter than weft-run's defaults: these models are small and well
# conditioned, so anything beyond float32 reassociation noise is a bug.
RTOL = "1e-4"
ATOL = "1e-5"
COMPILE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120


def run(cmd, timeout, stack_kb=0):
    """Runs cmd, returning (ok, combined output). Never raises on failure, so
    one broken model does not hide the results of the others."""
    def limit_stack():
        if stack_kb:
            import resource
            resource.setrlimit(resource.RLIMIT_STACK, (stack_kb * 1024, stack_kb * 1024))
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout,
                              preexec_fn=limit_stack)
    except subprocess.TimeoutExpired as e:
        out = e.output or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return False, out + f"\n(timed out after {timeout} s)"
    except OSError as e:
        return False, f"cannot run {cmd[0]}: {e}"
    out = proc.stdout
    if proc.returncode < 0:
        out += f"\n(killed by signal {-proc.returncode})"
    elif proc.returncode != 0:
        out += f"\n(exit code {proc.returncode})"
    return proc.returncode == 0, out


def indent(text):
    return "".join("    " + line + "\n" for line in text.splitlines() if line.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compile the e2e test models with weftc and compare "
                    "weft-run's outputs with onnxruntime's.")
    parser.add_argument("--weftc", required=True, help="path to weftc")
    parser.add_argument("--weft-run", required=True, help="path to weft-run")
    parser.add_argument("--workdir", required=True,
                        help="directory for models, data sets and compiled "
                             "libraries (created if missing; kept for debugging)")
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="comma-separated models to check (default: %(default)s)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (default: %(default)s)")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args",
                        help="extra weftc argument (repeatable), e.g. "
                             "--weftc-arg=--sanitize=address")
    parser.add_argument("--stack-kb", type=int, default=0,
                        help="run weft-run with this stack limit (KiB), so a "
                             "kernel that keeps temporaries on the calling "
                             "thread's stack crashes (default: unlimited)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for make_models.py (default: this one)")
    args = parser.parse_args(argv)

    models = [m for m in args.models.split(",") if m]
    try:
        threads = [int(t) for t in args.threads.split(",") if t]
    except ValueError:
        parser.error("--threads takes integers, e.g. 1,2")

    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    ok, out = run([args.python, MAKE_MODELS, workdir, "--models", ",".join(models)],
                  timeout=COMPILE_TIMEOUT_S)
    if not ok:
        print("FAIL make_models.py\n" + indent(out))
        return 1

    failures = 0
    for model in models:
        lib = os.path.join(workdir, f"{model}.so")
        # A stale library from an earlier run must not pass for this one.
        if os.path.exists(lib):
            os.remove(lib)
        ok, out = run([args.weftc, os.path.join(workdir, f"{model}.onnx"),
                       "--emit=lib", "-o", lib] + args.weftc_args, timeout=COMPILE_TIMEOUT_S)
        if ok and not os.path.exists(lib):
            ok, out = False, out + f"\nweftc exited 0 but did not write {lib}"
        if not ok:
            print(f"FAIL {model}: weftc\n" + indent(out), end="")
            failures += len(threads)
            continue
        data_dir = os.path.join(workdir, f"{model}_data", "test_data_set_0")
        for t in threads:
            out_dir = os.path.join(workdir, f"{model}_out_t{t}")
            os.makedirs(out_dir, exist_ok=True)
            ok, out = run([args.weft_run, lib, "--input-dir", data_dir,
                           "--output-dir", out_dir, "--compare",
                           "--rtol", RTOL, "--atol", ATOL, "--threads", str(t)],
                          timeout=RUN_TIMEOUT_S, stack_kb=args.stack_kb)
            print(f"{'PASS' if ok else 'FAIL'} {model} threads={t}")
            if not ok:
                print(indent(out), end="")
                failures += 1

    total = len(models) * len(threads)
    print(f"check_models: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
