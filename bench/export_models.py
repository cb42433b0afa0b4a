#!/usr/bin/python3
"""Exports the real-world models bench_models.py measures, as opset-17 ONNX.

Run with Debian's /usr/bin/python3, which has python3-torch (1.13),
python3-torchvision and python3-onnx; the pyenv `python3` has no torch. No
weights are downloaded: every model is randomly initialised from a fixed seed.

Writes, for each model NAME:

    OUTDIR/NAME.onnx
    OUTDIR/NAME_data/test_data_set_0/input_0.pb   (ONNX TensorProto)

Models:
    resnet50      torchvision resnet50,     x: f32[1,3,224,224] -> f32[1,1000]
    resnet18      torchvision resnet18,     x: f32[1,3,224,224] -> f32[1,1000]
    mobilenet_v2  torchvision mobilenet_v2, x: f32[1,3,224,224] -> f32[1,1000]
    resnext50_32x4d, regnet_x_400mf, shufflenet_v2_x1_0, efficientnet_b0
                  the torchvision models of those names, the same input and
                  output (grouped convolutions of 4 to 32 channels per
                  group; 58/116/232-channel convolutions and channel
                  shuffles; depthwise convolutions with squeeze-excitation)
    vit_b_16      torchvision vit_b_16 (ViT-B/16: 16x16 patches, 197 tokens, 12
                  layers of hidden 768), x: f32[1,3,224,224] -> f32[1,1000];
                  torchvision initializes its classifier to zeros, so it is
                  drawn from N(0, 0.02) here, else every output would be 0
    transformer   nn.TransformerEncoder, 4 post-norm layers, d_model 256,
                  4 heads, feed-forward 1024, batch_first,
                  x: f32[1,128,256] -> f32[1,128,256]
    bert_base     a BERT-base-sized encoder: token (30522 x 768) and position
                  (128 x 768) embeddings + LayerNorm -> nn.TransformerEncoder,
                  12 post-norm layers, d_model 768, 12 heads, feed-forward
                  3072, GELU, batch_first; ids: int64[1,128] -> f32[1,128,768].
                  The encoder deep-copies one layer, so its twelve weight
                  sets are equal and the exporter stores them once (122 MB)

With random weights the BatchNorm running statistics (mean 0, variance 1)
do not match the activations, so the CNNs' outputs shrink or grow layer after
layer (mobilenet_v2's end up near 1e-9). Before exporting a CNN the script
therefore re-estimates them: every BatchNorm gets reset_running_stats() and
momentum=None (a cumulative average), the model runs three random batches in
train() mode under torch.no_grad(), and is then put in eval(), so the
exported outputs are O(1). The exporter folds BatchNorm into the Convs.

The TransformerEncoders are exported in eval() mode but NOT under
torch.no_grad(): with gradients off, PyTorch takes its fused "fast path"
kernel, which has no ONNX export.

No reference outputs are written here: onnxruntime is not installed for
/usr/bin/python3. bench_models.py computes output_0.pb with onnxruntime.
When a model is (re)exported, any output_N.pb left from an earlier model is
deleted so that a stale reference cannot be compared against.

Deterministic: weights, calibration batches and the test input are pure
functions of --seed and the model's fixed position in MODEL_NAMES, and torch
runs on a fixed number of threads (--torch-threads) so its reductions sum in
the same order each time. A model whose .onnx already exists is not exported
again unless --force is given (its input_0.pb is rewritten if missing).
"""

import argparse
import glob
import os
import sys

MODEL_NAMES = ("resnet50", "resnet18", "mobilenet_v2", "transformer", "bert_base",
               "resnext50_32x4d", "regnet_x_400mf", "shufflenet_v2_x1_0", "efficientnet_b0",
               "vit_b_16")
CNNS = ("resnet50", "resnet18", "mobilenet_v2", "resnext50_32x4d", "regnet_x_400mf",
        "shufflenet_v2_x1_0", "efficientnet_b0")
OPSET = 17
# weftc links libonnx 1.12, which refuses models with an IR version newer
# than 8, the version that goes with opset 17.
MAX_IR_VERSION = 8

IMAGE_SHAPE = (1, 3, 224, 224)
CALIBRATION_BATCHES = 3
CALIBRATION_BATCH_SIZE = 4

TRANSFORMER = {"d_model": 256, "nhead": 4, "dim_feedforward": 1024,
               "num_layers": 4, "seq_len": 128}
BERT = {"vocab": 30522, "d_model": 768, "nhead": 12, "dim_feedforward": 3072,
        "num_layers": 12, "seq_len": 128}


def import_torch():
    """Imports torch, torchvision and onnx, or exits with a message that
    says which interpreter has them."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        sys.exit(f"export_models.py: {e}. Run it with Debian's /usr/bin/python3 "
                 "(apt-get install python3-torch python3-torchvision python3-onnx); "
                 f"this is {sys.executable}.")


def input_shape(name):
    if name == "transformer":
        return (1, TRANSFORMER["seq_len"], TRANSFORMER["d_model"])
    if name == "bert_base":
        return (1, BERT["seq_len"])
    return IMAGE_SHAPE


def build_cnn(name, torch):
    """A torchvision CNN with random weights and BatchNorm statistics
    re-estimated on random batches, in eval() mode."""
    import torchvision
    model = getattr(torchvision.models, name)(weights=None)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over all calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            model(torch.randn(CALIBRATION_BATCH_SIZE, *IMAGE_SHAPE[1:]))
    model.eval()
    return model


def build_transformer(torch):
    """nn.TransformerEncoder with random weights, in eval() mode."""
    t = TRANSFORMER
    layer = torch.nn.TransformerEncoderLayer(
        d_model=t["d_model"], nhead=t["nhead"], dim_feedforward=t["dim_feedforward"],
        dropout=0.1, batch_first=True)
    # The nested-tensor path only matters for padded batches; turning it off
    # also silences the warning it prints for batch_first=False layers.
    model = torch.nn.TransformerEncoder(layer, num_layers=t["num_layers"],
                                        enable_nested_tensor=False)
    model.eval()
    return model


def build_bert(torch):
    """Token and position embeddings, LayerNorm and a GELU
    nn.TransformerEncoder of BERT-base's sizes, random weights, eval()."""
    b = BERT

    class Bert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = torch.nn.Embedding(b["vocab"], b["d_model"])
            self.positions = torch.nn.Embedding(b["seq_len"], b["d_model"])
            self.norm = torch.nn.LayerNorm(b["d_model"])
            layer = torch.nn.TransformerEncoderLayer(
                d_model=b["d_model"], nhead=b["nhead"], dim_feedforward=b["dim_feedforward"],
                dropout=0.1, activation="gelu", batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, num_layers=b["num_layers"],
                                                       enable_nested_tensor=False)

        def forward(self, ids):
            where = torch.arange(ids.shape[1]).unsqueeze(0)
            return self.encoder(self.norm(self.tokens(ids) + self.positions(where)))

    model = Bert()
    model.eval()
    return model


def test_input(name, seed):
    """The input the model is checked and benchmarked with: standard normal,
    like the normalised images and embeddings the models are built for;
    token ids drawn uniformly from the vocabulary for bert_base."""
    import numpy as np
    rng = np.random.default_rng([seed, MODEL_NAMES.index(name), 1])
    if name == "bert_base":
        return rng.integers(0, BERT["vocab"], input_shape(name)).astype(np.int64)
    return rng.standard_normal(input_shape(name)).astype(np.float32)


def write_input(name, outdir, seed):
    from onnx import numpy_helper
    data_dir = os.path.join(outdir, f"{name}_data", "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "input_0.pb")
    tensor = numpy_helper.from_array(test_input(name, seed), "input")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(tensor.SerializeToString())
    os.replace(tmp, path)
    return data_dir


def export(name, outdir, seed):
    """Builds NAME and writes OUTDIR/NAME.onnx (via a temporary file, so an
    interrupted export never leaves a truncated model that a later run would
    skip)."""
    import onnx
    import torch
    torch.manual_seed(seed * len(MODEL_NAMES) + MODEL_NAMES.index(name))
    if name == "transformer":
        model = build_transformer(torch)
    elif name == "bert_base":
        model = build_bert(torch)
    elif name == "vit_b_16":
        import torchvision
        model = torchvision.models.vit_b_16(weights=None)
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
        model.eval()
    else:
        model = build_cnn(name, torch)
    example = torch.from_numpy(test_input(name, seed))
    path = os.path.join(outdir, f"{name}.onnx")
    tmp = path + ".tmp"
    torch.onnx.export(model, (example,), tmp, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["output"])
    proto = onnx.load(tmp)
    if proto.ir_version > MAX_IR_VERSION:
        proto.ir_version = MAX_IR_VERSION
        onnx.save(proto, tmp)
    onnx.checker.check_model(proto)
    os.replace(tmp, path)
    for stale in glob.glob(os.path.join(outdir, f"{name}_data", "test_data_set_0",
                                        "output_*.pb")):
        os.remove(stale)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export torchvision CNNs and a TransformerEncoder with random "
                    "weights to OUTDIR as opset-17 ONNX, with one input data set each.")
    parser.add_argument("outdir", help="directory for NAME.onnx and "
                        "NAME_data/test_data_set_0/input_0.pb (created if missing)")
    parser.add_argument("--models", default=",".join(MODEL_NAMES),
                        help="comma-separated subset of: %s (default: all)"
                        % ", ".join(MODEL_NAMES))
    parser.add_argument("--seed", type=int, default=0,
                        help="base seed for weights and inputs (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="export again even where NAME.onnx exists")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="threads torch computes with; fixed so that exports "
                        "are reproducible (default: %(default)s)")
    args = parser.parse_args(argv)

    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown:
        parser.error("unknown model(s): %s" % ", ".join(unknown))
    if args.torch_threads < 1:
        parser.error("--torch-threads must be at least 1")
    import_torch()
    import torch
    torch.set_num_threads(args.torch_threads)

    os.makedirs(args.outdir, exist_ok=True)
    for name in names:
        path = os.path.join(args.outdir, f"{name}.onnx")
        if os.path.exists(path) and not args.force:
            state = "exists, kept"
        else:
            export(name, args.outdir, args.seed)
            state = "exported"
        data_dir = os.path.join(args.outdir, f"{name}_data", "test_data_set_0")
        if args.force or state == "exported" or not os.path.exists(
                os.path.join(data_dir, "input_0.pb")):
            write_input(name, args.outdir, args.seed)
        print(f"{name}: {path} ({state}), input in {data_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
