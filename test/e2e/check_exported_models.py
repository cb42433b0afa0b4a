#!/usr/bin/env python3
"""Checks PyTorch-exported transformer models against onnxruntime.

The models are exported by PyTorch's own exporter (torch.onnx.export, opset
17, constant folding on), so they carry the exporter's idioms: Gather of
run-time token ids, Shape/Slice chains, Erf-based GELU, LayerNormalization,
Softmax attention. Each is compiled with `weftc --emit=lib` and run with
`weft-run --compare` (rtol and atol 1e-4) at every requested thread count.

    transformer_emb  nn.Embedding(1000, 128) + learned positions ->
                     nn.TransformerEncoder (2 layers, 4 heads, GELU) ->
                     Linear(128, 10); ids int64 [2, 64]
    gelu_mlp         Linear(64, 256) -> GELU -> Linear(256, 64); x f32 [8, 64]
    bert_base        BERT-base-sized encoder: embeddings (30522 x 768 and
                     128 positions) + LayerNorm -> 12 layers, hidden 768,
                     12 heads, FF 3072, GELU; ids int64 [1, 128]. The encoder
                     deep-copies one layer, and the exporter stores the
                     twelve identical weight sets once. About 70 s to compile.

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

MODELS = ("transformer_emb", "gelu_mlp", "bert_base")

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

    name, path = sys.argv[1], sys.argv[2]
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


def make_input(name, rng):
    if name == "transformer_emb":
        return rng.integers(0, 1000, (2, 64)).astype(np.int64)
    if name == "gelu_mlp":
        return rng.standard_normal((8, 64)).astype(np.float32)
    return rng.integers(0, 30522, (1, 128)).astype(np.int64)


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
            failures += len(threads)
            continue
        data = os.path.join(args.workdir, name + "_data", "test_data_set_0")
        os.makedirs(data, exist_ok=True)
        x = make_input(name, np.random.default_rng(index))
        with open(os.path.join(data, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        y = session.run(None, {"x": x})[0]
        with open(os.path.join(data, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(y), "y").SerializeToString())
        ops = sorted({n.op_type for n in onnx.load(path, load_external_data=False).graph.node})
        lib = os.path.join(args.workdir, name + ".so")
        ok, out = run([args.weftc, path, "--emit=lib", "-o", lib], 900)
        if not ok:
            print(f"FAIL {name}: weftc\n{out}")
            failures += len(threads)
            continue
        for t in threads:
            ok, out = run([args.weft_run, lib, "--input-dir", data, "--output-dir",
                           os.path.join(args.workdir, f"{name}_out_t{t}"), "--compare",
                           "--rtol", "1e-4", "--atol", "1e-4", "--threads", str(t)], 600)
            detail = out.strip().splitlines()[-1] if out.strip() else ""
            print(f"{'PASS' if ok else 'FAIL'} {name} threads={t}: {detail}")
            if not ok:
                print(out)
                failures += 1
        print(f"  ops: {', '.join(ops)}")
    total = len(models) * len(threads)
    print(f"check_exported_models: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
