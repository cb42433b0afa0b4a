#!/usr/bin/env python3
"""Checks Weft's 8-bit float conversions bit for bit against onnxruntime.

For each of ONNX's four 8-bit float types (E4M3FN, E4M3FNUZ, E5M2,
E5M2FNUZ) it writes models that
  * widen every one of the 256 bit patterns to f32 and to f16 (Cast);
  * narrow f32 values to the type, saturating and not (Cast with
    saturate 1 and 0): every value of the type, the midpoints between
    neighbours (ties round to even) and the values just either side of
    them, values past the largest finite one, infinities, NaN, signed
    zeros, numbers far below the smallest subnormal and seeded random
    numbers over the whole exponent range (3,049 to 3,081 a type, so the vector
    loop and its tail both run);
  * narrow f16 values the same way (a sweep of every f16 finite exponent);
  * QuantizeLinear (f32 to the type, a scale of 0.37) and DequantizeLinear
    (every pattern times 2.5, minus a zero point of 0);
  * transposes around a reshape of every pattern, then widened;
runs them through onnxruntime and through weftc + weft-run for every
--target given, and compares the outputs' bytes (NaNs by class only: any
NaN pattern of the type matches any other). Prints one PASS/FAIL line per
model and target; exits non-zero on any failure.
"""

import argparse
import ctypes
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import check_models  # its run(): a command's status and output, never raising

TYPES = {
    "e4m3fn": TensorProto.FLOAT8E4M3FN,
    "e4m3fnuz": TensorProto.FLOAT8E4M3FNUZ,
    "e5m2": TensorProto.FLOAT8E5M2,
    "e5m2fnuz": TensorProto.FLOAT8E5M2FNUZ,
}


def decode(bits, name):
    """The f32 values of `bits` (uint8) of type `name`, for the sweep only
    (onnxruntime gives the references)."""
    m = 3 if name.startswith("e4m3") else 2
    bias = {"e4m3fn": 7, "e4m3fnuz": 8, "e5m2": 15, "e5m2fnuz": 16}[name]
    out = []
    for b in bits:
        b = int(b)
        s = -1.0 if b & 0x80 else 1.0
        e = (b & 0x7F) >> m
        f = b & ((1 << m) - 1)
        if name.endswith("fnuz") and b == 0x80:
            out.append(np.nan)
        elif name == "e4m3fn" and (b & 0x7F) == 0x7F:
            out.append(np.nan)
        elif name == "e5m2" and e == 31:
            out.append(s * np.inf if f == 0 else np.nan)
        elif e == 0:
            out.append(s * f * 2.0 ** (1 - bias - m))
        else:
            out.append(s * (1 + f / 2.0 ** m) * 2.0 ** (e - bias))
    return np.array(out, np.float64)


def f32_sweep(name, rng):
    vals = decode(np.arange(256, dtype=np.uint8), name)
    finite = np.unique(vals[np.isfinite(vals)])
    mids = (finite[:-1] + finite[1:]) / 2
    mids32 = mids.astype(np.float32)
    near = np.concatenate([np.nextafter(mids32, np.float32(np.inf)),
                           np.nextafter(mids32, np.float32(-np.inf))])
    big = float(finite.max())
    extra = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big * 1.01, -big * 1.01, big * 1.1,
                      big * 1000, -big * 1000, 3e38, -3e38, 1e-30, -1e-30, 1e-40, -1e-40],
                     np.float64)
    rand = np.ldexp(rng.uniform(-2, 2, 2048), rng.integers(-30, 20, 2048))
    return np.concatenate([finite, mids, near, extra, rand]).astype(np.float32)


def f16_sweep(rng):
    mant = rng.uniform(1, 2, 1000)
    exps = rng.integers(-24, 16, 1000)
    v = np.ldexp(mant * rng.choice([-1, 1], 1000), exps)
    extra = np.array([0, -0.0, np.inf, -np.inf, np.nan, 65504, -65504, 6e-8], np.float64)
    return np.concatenate([v, extra]).astype(np.float16)


def f8_tensor(name, bits, tname):
    t = TensorProto()
    t.name = tname
    t.data_type = TYPES[name]
    t.dims.extend([len(bits)])
    t.raw_data = np.asarray(bits, np.uint8).tobytes()
    return t


def single(op, ins, outs, attrs, inits=(), opset=21):
    g = helper.make_graph([helper.make_node(op, [i[0] for i in ins] + [n.name for n in inits],
                                            [o[0] for o in outs], **attrs)],
                          "g", [helper.make_tensor_value_info(*i) for i in ins],
                          [helper.make_tensor_value_info(*o) for o in outs], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def cases(rng):
    """(case name, model, input TensorProto)."""
    for name, t in TYPES.items():
        bits = np.arange(256, dtype=np.uint8)
        x8 = f8_tensor(name, bits, "x")
        for to, tag in [(TensorProto.FLOAT, "f32"), (TensorProto.FLOAT16, "f16")]:
            yield (f"widen_{name}_to_{tag}",
                   single("Cast", [("x", t, [256])], [("y", to, [256])], {"to": to}), x8)
        x32 = f32_sweep(name, rng)
        for sat in (1, 0):
            yield (f"narrow_f32_to_{name}_saturate{sat}",
                   single("Cast", [("x", TensorProto.FLOAT, [len(x32)])], [("y", t, [len(x32)])],
                          {"to": t, "saturate": sat}), numpy_helper.from_array(x32, "x"))
        x16 = f16_sweep(rng)
        yield (f"narrow_f16_to_{name}",
               single("Cast", [("x", TensorProto.FLOAT16, [len(x16)])], [("y", t, [len(x16)])],
                      {"to": t}), numpy_helper.from_array(x16, "x"))
        scale = numpy_helper.from_array(np.array(0.37, np.float32), "s")
        zp = f8_tensor(name, [0], "z")
        zp.ClearField("dims")
        yield (f"quantize_f32_to_{name}",
               single("QuantizeLinear", [("x", TensorProto.FLOAT, [len(x32)])],
                      [("y", t, [len(x32)])], {}, [scale, zp]),
               numpy_helper.from_array(x32, "x"))
        # Data movement on the type: transposes around a reshape, then
        # widened to compare.
        shape = numpy_helper.from_array(np.array([8, 32], np.int64), "shape")
        g = helper.make_graph(
            [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
             helper.make_node("Reshape", ["t", "shape"], ["r"]),
             helper.make_node("Transpose", ["r"], ["r2"], perm=[1, 0]),
             helper.make_node("Cast", ["r2"], ["y"], to=TensorProto.FLOAT)], "g",
            [helper.make_tensor_value_info("x", t, [4, 8, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [32, 8])], [shape])
        x3 = f8_tensor(name, bits, "x")
        x3.ClearField("dims")
        x3.dims.extend([4, 8, 8])
        yield (f"move_{name}", helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)],
                                                 ir_version=10), x3)
        scale2 = numpy_helper.from_array(np.array(2.5, np.float32), "s")
        yield (f"dequantize_{name}_to_f32",
               single("DequantizeLinear", [("x", t, [256])], [("y", TensorProto.FLOAT, [256])],
                      {}, [scale2, zp]), x8)


def nan_mask(raw, dtype):
    """True where the element of `raw` (bytes of `dtype`) is a NaN."""
    if dtype in (TensorProto.FLOAT, TensorProto.FLOAT16):
        arr = np.frombuffer(raw, np.float32 if dtype == TensorProto.FLOAT else np.float16)
        return np.isnan(arr), arr.view(np.uint32 if dtype == TensorProto.FLOAT else np.uint16)
    b = np.frombuffer(raw, np.uint8)
    if dtype in (TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2FNUZ):
        return b == 0x80, b
    if dtype == TensorProto.FLOAT8E4M3FN:
        return (b & 0x7F) == 0x7F, b
    return ((b & 0x7C) == 0x7C) & ((b & 0x03) != 0), b


def raw_of(t):
    if t.raw_data:
        return t.raw_data
    return numpy_helper.to_array(t).tobytes()


def compare(got, want, skip=None):
    """None when `got` matches `want` (TensorProtos) bit for bit, NaNs by
    class, except where `skip` is true; otherwise a description of the first
    difference."""
    if got.data_type != want.data_type or list(got.dims) != list(want.dims):
        return f"type/shape {got.data_type}{list(got.dims)} vs {want.data_type}{list(want.dims)}"
    gn, gb = nan_mask(raw_of(got), got.data_type)
    wn, wb = nan_mask(raw_of(want), want.data_type)
    differ = (gn != wn) | (~wn & (gb != wb))
    if skip is not None:
        differ &= ~skip
    bad = np.nonzero(differ)[0]
    if len(bad):
        i = bad[0]
        return f"{len(bad)} of {len(gb)} elements differ; first at {i}: got {gb[i]:#x}, want {wb[i]:#x}"
    return None


def ort_bytes(value, dtype):
    """The bytes of an onnxruntime OrtValue on the CPU (its numpy() knows no
    8-bit floats)."""
    size = {TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2}.get(dtype, 1)
    return ctypes.string_at(value.data_ptr(), size * int(np.prod(value.shape())))


def skipped(name, x):
    """Elements where onnxruntime departs from ONNX's Cast specification
    without saturation, which Weft follows; they are not compared. To E4M3FN
    it gives 448 (0x7e) for 480 <= |x| < 496, although 448 is the largest
    finite value and beyond it must come NaN (as it gives for
    464 < |x| < 480 and from 496 on). To E5M2 it gives NaN (0x7f, the bits
    of 57344 or'ed with those of infinity) for 61440 < |x| < 65536, which
    round past the largest finite value and must become infinity (as it
    gives from 65536 on)."""
    a = np.abs(numpy_helper.to_array(x).astype(np.float64))
    if name == "narrow_f32_to_e4m3fn_saturate0":
        return (a >= 480) & (a < 496)
    if name == "narrow_f32_to_e5m2_saturate0":
        return (a > 61440) & (a < 65536)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weftc", required=True)
    p.add_argument("--weft-run", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--target", action="append", default=None,
                   help="weftc --target (repeatable; default cpu)")
    args = p.parse_args()
    targets = args.target or ["cpu"]
    rng = np.random.default_rng(8)
    failed = 0
    for name, model, x in cases(rng):
        d = os.path.join(args.workdir, name)
        data = os.path.join(d, "data")
        os.makedirs(data, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        with open(os.path.join(data, "input_0.pb"), "wb") as f:
            f.write(x.SerializeToString())
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        if x.data_type in TYPES.values():
            # numpy has no 8-bit floats: the raw bytes go in as an OrtValue
            # of the ONNX type.
            arr = np.frombuffer(x.raw_data, np.uint8).copy().reshape(list(x.dims))
            value = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(arr, x.data_type)
        else:
            value = ort.OrtValue.ortvalue_from_numpy(numpy_helper.to_array(x))
        res = sess.run_with_ort_values(None, {"x": value})[0]
        want = TensorProto()
        want.name = "y"
        want.data_type = model.graph.output[0].type.tensor_type.elem_type
        want.dims.extend(res.shape())
        want.raw_data = ort_bytes(res, want.data_type)
        for target in targets:
            lib = os.path.join(d, f"model_{target}.so")
            out = os.path.join(d, f"out_{target}")
            ok, log = check_models.run([args.weftc, path, "--emit=lib", "-o", lib,
                                        f"--target={target}"], 300)
            if ok:
                ok, log = check_models.run([args.weft_run, lib, "--input-dir", data,
                                            "--output-dir", out], 120)
            detail = ""
            if ok:
                got = onnx.load_tensor(os.path.join(out, "output_0.pb"))
                skip = skipped(name, x)
                detail = compare(got, want, skip)
                if detail is None and skip is not None:
                    # There Weft gives the specification's value: NaN
                    # (E4M3FN) or infinity (E5M2), with the input's sign.
                    gb = np.frombuffer(raw_of(got), np.uint8)[skip]
                    spec = 0x7F if "e4m3fn" in name else 0x7C
                    if np.any((gb & 0x7F) != spec):
                        detail = f"not {spec:#x} where onnxruntime departs: {gb}"
                ok = detail is None
                if ok and skip is not None:
                    detail = f"{int(skip.sum())} elements not compared (onnxruntime departs from the specification)"
            else:
                detail = log.strip().splitlines()[-1] if log.strip() else "failed"
            print(f"{'PASS' if ok else 'FAIL'} {name} target={target}{': ' + detail if detail else ''}")
            failed += not ok
    print(f"float8: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
