#!/usr/bin/env python3
"""Checks PyTorch-exported transformer models against onnxruntime.

The models are exported by PyTorch's own exporter (torch.onnx.export, opset
17, constant folding on), so they carry the exporter's idioms: Gather of
run-time token ids, Shape/Slice chains, Erf-based GELU, LayerNormalization,
Softmax attention. Each is compiled with `weftc --emit=lib` and run with
`weft-run --compare` (rtol and atol 1e-4 unless given) at every requested
thread count; --weftc-arg passes more weftc options (--target=cuda).

    transformer_emb  nn.Embedding(1000, 128) + learned positions ->
                     nn.TransformerEncoder (2 layers, 4 heads, GELU) ->
                     Linear(128, 10); ids int64 [2, 64]
    gelu_mlp         Linear(64, 256) -> GELU -> Linear(256, 64); x f32 [8, 64]
    bert_base        BERT-base-sized encoder: embeddings (30522 x 768 and
                     128 positions) + LayerNorm -> 12 layers, hidden 768,
                     12 heads, FF 3072, GELU; ids int64 [1, 128]. The encoder
                     deep-copies one layer, and the exporter stores the
                     twelve identical weight sets once. About 70 s to compile.
    scripted_decoder a TorchScript recurrent decoder: `for i in range(steps)`
                     with an early `break`, exported as a Loop whose trip
                     count comes from the int64 input `steps` (run with 0, 5
                     and 17) and whose body holds an If; Weft runs it as a
                     loop at run time. x f32 [2, 16]

PyTorch comes from a separate interpreter (Debian's python3-torch under
/usr/bin/python3, see --torch-python); this script, onnxruntime and numpy run
under the current one. Not part of CI: it needs torch. Prints one line per
model and thread count and exits non-zero if any step fails.
"""

import argparse
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

MODELS = ("transformer_emb", "gelu_mlp", "bert_base", "scripted_decoder")
# Data sets per model: the scripted decoder runs 0, 5 and 17 iterations of
# one compiled library.
STEPS = {"scripted_decoder": (0, 5, 17)}

EXPORT = textwrap.dedent('''
    import sys
    import torch

    torch.manual_seed(0)

    class Encoder(torch.nn.Module):
        def __init__(self, vocab, d, heads, layers, seq, classes, learned_positions):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, d)
            self.learned = learned_positions
            if learned_positions:
                self.pos = torch.nn.Parameter(torch.randn(1, seq, d) * 0.02)
            else:
                self.pos = torch.nn.Embedding(seq, d)
                self.norm = torch.nn.LayerNorm(d)
            layer = torch.nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                                     activation="gelu", batch_first=True)
            self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = torch.nn.Linear(d, classes) if classes else None

        def forward(self, ids):
            if self.learned:
                x = self.emb(ids) + self.pos[:, :ids.shape[1]]
            else:
                positions = torch.arange(ids.shape[1]).unsqueeze(0)
                x = self.norm(self.emb(ids) + self.pos(positions))
            x = self.enc(x)
            return self.head(x) if self.head is not None else x

    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(64, 256)
            self.b = torch.nn.Linear(256, 64)

        def forward(self, x):
            return self.b(torch.nn.functional.gelu(self.a(x)))

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wi = torch.nn.Linear(16, 32)
            self.wh = torch.nn.Linear(32, 32)
            self.out = torch.nn.Linear(32, 16)

        def forward(self, x, steps):
            h = torch.zeros(x.shape[0], 32)
            y = x
            for i in range(int(steps)):
                h = torch.tanh(self.wi(y) + self.wh(h))
                y = torch.softmax(self.out(h), dim=-1) + x * 0.5
                if bool(y.sum() > 1e9):
                    break
            return y, h

    name, path = sys.argv[1], sys.argv[2]
    if name == "scripted_decoder":
        torch.onnx.export(torch.jit.script(Decoder().eval()), (torch.randn(2, 16), torch.tensor(5)),
                          path, opset_version=17, input_names=["x", "steps"],
                          output_names=["y", "h"])
        sys.exit(0)
    if name == "transformer_emb":
        model, example = Encoder(1000, 128, 4, 2, 64, 10, True), torch.randint(0, 1000, (2, 64))
    elif name == "gelu_mlp":
        model, example = Mlp(), torch.randn(8, 64)
    else:
        model, example = Encoder(30522, 768, 12, 12, 128, 0, False), torch.randint(0, 30522, (1, 128))
    # Not under no_grad(): the encoder's fused fast path does not export.
    torch.onnx.export(model.eval(), (example,), path, opset_version=17, input_names=["x"],
                      output_names=["y"], do_constant_folding=True)
''')


def make_inputs(name, rng, steps=None):
    """The feeds of one data set, in the model's input order."""
    if name == "transformer_emb":
        return {"x": rng.integers(0, 1000, (2, 64)).astype(np.int64)}
    if name == "gelu_mlp":
        return {"x": rng.standard_normal((8, 64)).astype(np.float32)}
    if name == "scripted_decoder":
        return {"x": rng.standard_normal((2, 16)).astype(np.float32),
                "steps": np.array(steps, np.int64)}
    return {"x": rng.integers(0, 30522, (1, 128)).astype(np.int64)}


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        return p.returncode == 0, p.stdout
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s: {' '.join(cmd)}"
    except OSError as e:
        return False, str(e)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True, dest="weft_run")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--torch-python", default="/usr/bin/python3", dest="torch_python",
                        help="an interpreter that imports torch (default: /usr/bin/python3)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args",
                        help="extra weftc argument (repeatable), e.g. --weftc-arg=--target=cuda")
    parser.add_argument("--rtol", default="1e-4")
    parser.add_argument("--atol", default="1e-4")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error("unknown model(s): " + ", ".join(unknown))
    threads = [int(t) for t in args.threads.split(",") if t]
    os.makedirs(args.workdir, exist_ok=True)
    exporter = os.path.join(args.workdir, "export.py")
    with open(exporter, "w") as f:
        f.write(EXPORT)
    failures = 0
    for index, name in enumerate(models):
        path = os.path.join(args.workdir, name + ".onnx")
        ok, out = run([args.torch_python, exporter, name, path], 900)
        if not ok:
            print(f"FAIL {name}: export\n{out}")
            failures += len(threads) * len(STEPS.get(name, (None,)))
            continue
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        output_names = [o.name for o in session.get_outputs()]
        sets = []
        for k, steps in enumerate(STEPS.get(name, (None,))):
            data = os.path.join(args.workdir, name + "_data", f"test_data_set_{k}")
            os.makedirs(data, exist_ok=True)
            feeds = make_inputs(name, np.random.default_rng([index, k]), steps)
            for i, (input_name, value) in enumerate(feeds.items()):
                with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(value, input_name).SerializeToString())
            for i, y in enumerate(session.run(None, feeds)):
                with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(np.asarray(y), output_names[i]).SerializeToString())
            sets.append((data, "" if steps is None else f" steps={steps}"))
        ops = sorted({n.op_type for n in onnx.load(path, load_external_data=False).graph.node})
        lib = os.path.join(args.workdir, name + ".so")
        ok, out = run([args.weftc, path, "--emit=lib", "-o", lib] + args.weftc_args, 900)
        if not ok:
            print(f"FAIL {name}: weftc\n{out}")
            failures += len(threads) * len(STEPS.get(name, (None,)))
            continue
        for t in threads:
            for k, (data, what) in enumerate(sets):
                ok, out = run([args.weft_run, lib, "--input-dir", data, "--output-dir",
                               os.path.join(args.workdir, f"{name}_out_t{t}_{k}"), "--compare",
                               "--rtol", args.rtol, "--atol", args.atol, "--threads", str(t)], 600)
                detail = out.strip().splitlines()[-1] if out.strip() else ""
                print(f"{'PASS' if ok else 'FAIL'} {name}{what} threads={t}: {detail}")
                if not ok:
                    print(out)
                    failures += 1
        print(f"  ops: {', '.join(ops)}")
    total = sum(len(STEPS.get(m, (None,))) for m in models) * len(threads)
    print(f"check_exported_models: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
