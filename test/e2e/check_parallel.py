#!/usr/bin/env python3
"""Multi-device models against their single-device build and onnxruntime.

For each model of test/models/make_models.py asked for, compiles a
one-device library and a library for N CPU devices (weftc --devices=cpu:N
with a parallel plan, or, for --plan annotated, the model with the ONNX
multi-device annotations of test/models/annotate.py and no plan given),
runs the one-device build against onnxruntime's
outputs, and runs the N-device build, in one process and under
`mpirun -np N` (one device per rank), against the one-device build's
outputs within 1e-5 relative: each element within 1e-5 of its own magnitude
plus 1e-5 of the output's largest (a plan that splits a sum over devices
adds in another order, which moves elements near zero by more than their
own 1e-5). Prints one PASS/FAIL line per model and way
of running; exits non-zero if any failed.
"""

import argparse
import glob
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "models"))
sys.path.insert(0, HERE)

import annotate  # noqa: E402
import make_models  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from check_models import indent, run  # noqa: E402

COMPILE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
# Against onnxruntime: float32 reassociation grows through ResNet-18's 20
# random-weight convolutions, so it gets a looser bound than the rest.
ORT_TOLERANCE = {"resnet18": ("1e-3", "1e-4")}


def mpirun_command(devices):
    mpirun = shutil.which("mpirun")
    if not mpirun:
        return None
    # As root in containers, on machines with fewer cores than ranks.
    return [mpirun, "-np", str(devices), "--allow-run-as-root", "--oversubscribe"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--models", default="mlp_batch,encoder,resnet18")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--plan", default="data")
    parser.add_argument("--no-mpi", action="store_true", help="skip the runs under mpirun")
    parser.add_argument("--weftc-arg", action="append", default=[],
                        help="an extra weftc argument for both builds (repeatable), such as "
                             "--target=cuda-on-cpu")
    args = parser.parse_args(argv)

    os.makedirs(args.workdir, exist_ok=True)
    failed = False

    def report(ok, label, out):
        nonlocal failed
        print(("PASS " if ok else "FAIL ") + label)
        if not ok:
            failed = True
            sys.stdout.write(indent(out))
        sys.stdout.flush()

    for name in [m for m in args.models.split(",") if m]:
        model, data = make_models.write_model(args.workdir, name)
        one = os.path.join(args.workdir, f"{name}.d1.so")
        many = os.path.join(args.workdir, f"{name}.d{args.devices}.so")
        extra = args.weftc_arg
        ok, out = run([args.weftc, model, "--emit=lib", "-o", one] + extra, COMPILE_TIMEOUT_S)
        if ok and args.plan == "annotated":
            # The annotations alone give the plan and the device count.
            annotated = os.path.join(args.workdir, f"{name}.annotated.onnx")
            onnx.save(annotate.annotate(onnx.load(model), "cpus", args.devices,
                                        annotate.PLANS[name]), annotated)
            many = os.path.join(args.workdir, f"{name}.annotated.so")
            ok, out = run([args.weftc, annotated, "--emit=lib", "-o", many] + extra,
                          COMPILE_TIMEOUT_S)
        elif ok:
            ok, out = run([args.weftc, model, "--emit=lib", "-o", many,
                           f"--devices=cpu:{args.devices}", f"--parallel={args.plan}"] + extra,
                          COMPILE_TIMEOUT_S)
        if not ok:
            report(False, f"{name} compile", out)
            continue
        # The one-device build against onnxruntime; its outputs become the
        # reference of the multi-device runs.
        single = os.path.join(args.workdir, f"{name}.single")
        rtol, atol = ORT_TOLERANCE.get(name, ("1e-4", "1e-5"))
        ok, out = run([args.weft_run, one, "--input-dir", data, "--compare", "--rtol", rtol,
                       "--atol", atol, "--output-dir", single], RUN_TIMEOUT_S)
        report(ok, f"{name} devices=1 vs onnxruntime", out)
        if not ok:
            continue
        ref = os.path.join(args.workdir, f"{name}.ref")
        os.makedirs(ref, exist_ok=True)
        for f in os.listdir(data):
            if f.startswith("input_"):
                shutil.copy(os.path.join(data, f), ref)
        for f in os.listdir(single):
            shutil.copy(os.path.join(single, f), ref)
        scale = min(float(np.max(np.abs(numpy_helper.to_array(onnx.load_tensor(f)))))
                    for f in glob.glob(os.path.join(ref, "output_*.pb")))
        compare = ["--input-dir", ref, "--compare", "--rtol", "1e-5",
                   "--atol", "%.3g" % max(1e-5 * scale, 1e-7)]
        ok, out = run([args.weft_run, many, "--threads", "1"] + compare, RUN_TIMEOUT_S)
        report(ok, f"{name} devices={args.devices} plan={args.plan} in one process", out)
        if args.no_mpi:
            continue
        mpirun = mpirun_command(args.devices)
        if not mpirun:
            report(False, f"{name} devices={args.devices} plan={args.plan} mpi",
                   "mpirun is not installed (Open MPI: openmpi-bin)")
            continue
        ok, out = run(mpirun + [args.weft_run, many, "--threads", "1"] + compare, RUN_TIMEOUT_S)
        report(ok, f"{name} devices={args.devices} plan={args.plan} mpi", out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
