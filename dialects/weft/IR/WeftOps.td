//===- WeftOps.td - weft graph and structural ops ----------*- tablegen -*-===//
//
// Op definitions. Folders and canonicalizations live in WeftFolds.cpp,
// verifiers and shape inference in WeftOps.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_OPS_TD
#define WEFT_OPS_TD

include "dialects/weft/IR/WeftDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/LoopLikeInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Weft_Tensor : RankedTensorOf<[AnyType]>;
def Weft_FloatTensor : RankedTensorOf<[AnyFloat]>;

class Weft_InferredOp<string mnemonic, list<Trait> traits = []>
    : Weft_Op<mnemonic, !listconcat(traits,
        [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Weft_ConstantOp : Weft_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor (an ONNX initializer or Constant node)";
  let description = [{
    Holds weights and other compile-time tensors. Import builds the attribute
    from the raw initializer bytes, never through text. Weights end up in the
    object file's read-only data.

    ```mlir
    %w = weft.constant dense<1.0> : tensor<4x4xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise unary ops
//===----------------------------------------------------------------------===//

class Weft_UnaryOp<string mnemonic, string onnxName, list<Trait> traits = []>
    : Weft_Op<mnemonic, !listconcat(traits,
        [Pure, SameOperandsAndResultType, Elementwise])> {
  let summary = "Elementwise " # onnxName;
  let description = "Applies ONNX `" # onnxName # "` to every element; "
      # "the result has the operand's type.";
  let arguments = (ins Weft_Tensor:$input);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

def Weft_ReluOp : Weft_UnaryOp<"relu", "Relu">;
def Weft_SigmoidOp : Weft_UnaryOp<"sigmoid", "Sigmoid">;
def Weft_TanhOp : Weft_UnaryOp<"tanh", "Tanh">;
def Weft_ExpOp : Weft_UnaryOp<"exp", "Exp">;
def Weft_LogOp : Weft_UnaryOp<"log", "Log">;
def Weft_SqrtOp : Weft_UnaryOp<"sqrt", "Sqrt">;
def Weft_NegOp : Weft_UnaryOp<"neg", "Neg"> { let hasFolder = 1; }
def Weft_AbsOp : Weft_UnaryOp<"abs", "Abs">;
def Weft_ReciprocalOp : Weft_UnaryOp<"reciprocal", "Reciprocal">;
def Weft_FloorOp : Weft_UnaryOp<"floor", "Floor">;
def Weft_CeilOp : Weft_UnaryOp<"ceil", "Ceil">;
def Weft_RoundOp : Weft_UnaryOp<"round", "Round">;
def Weft_SinOp : Weft_UnaryOp<"sin", "Sin">;
def Weft_CosOp : Weft_UnaryOp<"cos", "Cos">;
def Weft_TanOp : Weft_UnaryOp<"tan", "Tan">;
def Weft_AtanOp : Weft_UnaryOp<"atan", "Atan">;
def Weft_AsinOp : Weft_UnaryOp<"asin", "Asin">;
def Weft_AcosOp : Weft_UnaryOp<"acos", "Acos">;
def Weft_AsinhOp : Weft_UnaryOp<"asinh", "Asinh">;
def Weft_AcoshOp : Weft_UnaryOp<"acosh", "Acosh">;
def Weft_AtanhOp : Weft_UnaryOp<"atanh", "Atanh">;
def Weft_SinhOp : Weft_UnaryOp<"sinh", "Sinh">;
def Weft_CoshOp : Weft_UnaryOp<"cosh", "Cosh">;
def Weft_ErfOp : Weft_UnaryOp<"erf", "Erf">;
def Weft_SignOp : Weft_UnaryOp<"sign", "Sign">;
def Weft_SoftplusOp : Weft_UnaryOp<"softplus", "Softplus">;
def Weft_SoftsignOp : Weft_UnaryOp<"softsign", "Softsign">;
def Weft_NotOp : Weft_UnaryOp<"not", "Not">;
def Weft_IdentityOp : Weft_UnaryOp<"identity", "Identity"> {
  let hasFolder = 1;
}

// Unary ops with float parameters. One op with a kind enum keeps the family
// small while every parameter stays explicit in the IR.
def Weft_ActKind : I32EnumAttr<"ActivationKind", "parameterised activation", [
    I32EnumAttrCase<"leaky_relu", 0>, I32EnumAttrCase<"elu", 1>,
    I32EnumAttrCase<"selu", 2>, I32EnumAttrCase<"hard_sigmoid", 3>,
    I32EnumAttrCase<"celu", 4>, I32EnumAttrCase<"thresholded_relu", 5>,
    I32EnumAttrCase<"hard_swish", 6>, I32EnumAttrCase<"shrink", 7>]> {
  let cppNamespace = "::weft";
}

def Weft_ActivationOp : Weft_Op<"activation",
    [Pure, SameOperandsAndResultType, Elementwise]> {
  let summary = "Parameterised elementwise activation";
  let description = [{
    LeakyRelu, Elu, Selu, HardSigmoid, Celu, ThresholdedRelu, HardSwish and
    Shrink. `alpha` and `beta` hold the op's two parameters (Selu: alpha,
    gamma; HardSigmoid: alpha, beta; Shrink: bias, lambd); unused ones are 0.
  }];
  let arguments = (ins Weft_Tensor:$input, Weft_ActKind:$kind,
                   F32Attr:$alpha, F32Attr:$beta);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$kind $input attr-dict `:` type($output)";
}

def Weft_ClipOp : Weft_Op<"clip", [Pure, SameOperandsAndResultType,
    Elementwise]> {
  let summary = "Elementwise clamp to [min, max]";
  let description = [{
    ONNX `Clip` with constant bounds folded into attributes. The bounds are
    typed like the elements (a float attribute for float tensors, an integer
    attribute for integer ones), so every int64/uint64 value is exact:

    ```mlir
    %0 = weft.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<8xf32>
    %1 = weft.clip %i {min = 3 : i64, max = 9223372036854775807 : i64} : tensor<4xi64>
    ```
  }];
  let arguments = (ins Weft_Tensor:$input, TypedAttrInterface:$min,
                   TypedAttrInterface:$max);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Weft_CastOp : Weft_Op<"cast", [Pure, Elementwise]> {
  let summary = "Elementwise element-type conversion (ONNX Cast)";
  let description = [{
    Floats round to nearest even. A conversion to an 8-bit float saturates
    (ONNX Cast's `saturate = 1`): out-of-range values and infinities become
    the largest finite value of their sign. With `no_saturate` (allowed
    only then) they become NaN, or infinity for f8E5M2.
  }];
  let arguments = (ins Weft_Tensor:$input, UnitAttr:$no_saturate);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops with ONNX (numpy) broadcasting
//===----------------------------------------------------------------------===//

class Weft_BinaryOp<string mnemonic, string onnxName, list<Trait> traits = []>
    : Weft_InferredOp<mnemonic, traits> {
  let summary = "Elementwise " # onnxName # " with multidirectional broadcasting";
  let description = "ONNX `" # onnxName # "`: operands broadcast numpy-style "
      # "to the result shape.";
  let arguments = (ins Weft_Tensor:$lhs, Weft_Tensor:$rhs);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Weft_AddOp : Weft_BinaryOp<"add", "Add", [Commutative]>;
def Weft_SubOp : Weft_BinaryOp<"sub", "Sub">;
def Weft_MulOp : Weft_BinaryOp<"mul", "Mul", [Commutative]>;
def Weft_DivOp : Weft_BinaryOp<"div", "Div">;
def Weft_PowOp : Weft_BinaryOp<"pow", "Pow">;
def Weft_MaxOp : Weft_BinaryOp<"max", "Max", [Commutative]>;
def Weft_MinOp : Weft_BinaryOp<"min", "Min", [Commutative]>;
def Weft_PReluOp : Weft_BinaryOp<"prelu", "PRelu">;
def Weft_AndOp : Weft_BinaryOp<"and", "And", [Commutative]>;
def Weft_OrOp : Weft_BinaryOp<"or", "Or", [Commutative]>;
def Weft_XorOp : Weft_BinaryOp<"xor", "Xor", [Commutative]>;
def Weft_ModOp : Weft_BinaryOp<"mod", "Mod"> {
  let description = [{
    ONNX `Mod` with fmod=0 on integers: the remainder takes the divisor's
    sign (Python's `%`). A zero divisor gives 0 instead of trapping.
  }];
}
def Weft_FModOp : Weft_BinaryOp<"fmod", "Mod"> {
  let description = [{
    ONNX `Mod` with fmod=1: the remainder takes the dividend's sign (C's
    `fmod`, or `%` on integers). An integer zero divisor gives 0.
  }];
}
def Weft_ShlOp : Weft_BinaryOp<"shl", "BitShift"> {
  let description = [{
    ONNX `BitShift` with direction LEFT on unsigned integers; a shift by the
    bit width or more gives 0.
  }];
}
def Weft_ShrOp : Weft_BinaryOp<"shr", "BitShift"> {
  let description = [{
    ONNX `BitShift` with direction RIGHT (logical) on unsigned integers; a
    shift by the bit width or more gives 0.
  }];
}

def Weft_CmpKind : I32EnumAttr<"CompareKind", "comparison predicate", [
    I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"lt", 1>, I32EnumAttrCase<"le", 2>,
    I32EnumAttrCase<"gt", 3>, I32EnumAttrCase<"ge", 4>]> {
  let cppNamespace = "::weft";
}

def Weft_CompareOp : Weft_InferredOp<"compare"> {
  let summary = "Elementwise comparison with broadcasting, i1 result";
  let description = "ONNX `Equal`, `Less`, `LessOrEqual`, `Greater`, `GreaterOrEqual`.";
  let arguments = (ins Weft_CmpKind:$kind, Weft_Tensor:$lhs, Weft_Tensor:$rhs);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$kind $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Weft_WhereOp : Weft_InferredOp<"where"> {
  let summary = "Elementwise select with three-way broadcasting (ONNX Where)";
  let arguments = (ins Weft_Tensor:$condition, Weft_Tensor:$lhs, Weft_Tensor:$rhs);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$condition `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Weft_MatMulOp : Weft_InferredOp<"matmul"> {
  let summary = "Batched matrix product with broadcast batch dimensions";
  let description = [{
    ONNX `MatMul` on operands of rank >= 2 (import reshapes 1-D operands).
    Leading batch dimensions broadcast numpy-style.
  }];
  let arguments = (ins Weft_Tensor:$lhs, Weft_Tensor:$rhs);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Weft_GemmOp : Weft_InferredOp<"gemm"> {
  let summary = "alpha * op(A) * op(B) + beta * C (ONNX Gemm)";
  let description = [{
    `A` and `B` are 2-D; `C` is optional and broadcasts to the result. Every
    ONNX default (alpha = beta = 1, no transposes) is explicit.
  }];
  let arguments = (ins Weft_Tensor:$a, Weft_Tensor:$b, Optional<Weft_Tensor>:$c,
                   F32Attr:$alpha, F32Attr:$beta, BoolAttr:$trans_a,
                   BoolAttr:$trans_b);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Neural-network ops
//===----------------------------------------------------------------------===//

def Weft_ConvOp : Weft_InferredOp<"conv"> {
  let summary = "2-D convolution (ONNX Conv): NCHW/FCHW, or NHWC/HWCF";
  let description = [{
    `pads` is [top, left, bottom, right]. `weft-decompose` moves non-zero pads
    into a `weft.pad`, so codegen sees convolutions without padding.

    By default the input is NCHW, the filter FCHW (F x C/group x KH x KW) and
    the output NCHW, as in ONNX. With `channels_last` (set by
    `weft-convert-layout`) the input and output are NHWC and the filter is
    HWCF (KH x KW x C/group x F), the layouts whose innermost dimension is
    the one kernels vectorize. A channels-last filter may also be blocked,
    rank 5: [F/B, KH, KW, C, B] holds filter element (f, kh, kw, c) at
    [f / B, kh, kw, c, f % B], so the B output channels a kernel's register
    tile computes are contiguous for every (kh, kw, c) (group 1 only); the
    output is then blocked the same way, [N, OH, OW, F/B, B], which is NHWC
    in memory (a `weft.reshape` gives the 4-D view).

    The integer form takes a ui8 input and an i8 filter (group 1, no bias,
    zero padding: a quantized input is padded by its zero point beforehand
    with a `weft.pad`) and gives the exact sums of their products as i32.
    Its channels-last filter may be blocked as rank 6, [F/B, KH, KW, C/4,
    B, 4], holding (f, kh, kw, c) at [f / B, kh, kw, c / 4, f % B, c % 4]:
    for every (kh, kw) and group of four input channels, the four filter
    values of each output channel are adjacent, the operand layout of the
    CPU's 8-bit dot-product instructions (AVX-512 VNNI).
  }];
  let arguments = (ins Weft_Tensor:$input, Weft_Tensor:$filter,
                   Optional<Weft_Tensor>:$bias, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$dilations, DenseI64ArrayAttr:$pads,
                   I64Attr:$group, UnitAttr:$channels_last);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_PoolKind : I32EnumAttr<"PoolKind", "pooling reduction", [
    I32EnumAttrCase<"max", 0>, I32EnumAttrCase<"avg", 1>]> {
  let cppNamespace = "::weft";
}

def Weft_PoolOp : Weft_InferredOp<"pool"> {
  let summary = "2-D max or average pooling (ONNX MaxPool/AveragePool)";
  let description = [{
    `pads` is [top, left, bottom, right]. `ceil_mode` rounds the output size
    up; windows that hang over the padded input only see real elements.
    `count_include_pad` applies to average pooling. The input and output are
    NCHW, or NHWC with `channels_last`.
  }];
  let arguments = (ins Weft_PoolKind:$kind, Weft_Tensor:$input,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$dilations, DenseI64ArrayAttr:$pads,
                   BoolAttr:$ceil_mode, BoolAttr:$count_include_pad,
                   UnitAttr:$channels_last);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_BatchNormOp : Weft_InferredOp<"batch_norm"> {
  let summary = "Inference batch normalization over axis 1";
  let description = "Decomposed by `weft-decompose` into a multiply and an add.";
  let arguments = (ins Weft_FloatTensor:$input, Weft_FloatTensor:$scale,
                   Weft_FloatTensor:$bias, Weft_FloatTensor:$mean,
                   Weft_FloatTensor:$variance, F32Attr:$epsilon);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:` functional-type(operands, results)";
}

def Weft_SoftmaxOp : Weft_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax (or log-softmax) along one axis (ONNX opset >= 13 semantics)";
  let arguments = (ins Weft_FloatTensor:$input, I64Attr:$axis, BoolAttr:$log);
  let results = (outs Weft_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Weft_LayerNormOp : Weft_Op<"layer_norm", [Pure]> {
  let summary = "Layer normalization over the axes from `axis` on (ONNX LayerNormalization)";
  let description = [{
    `(x - mean) / sqrt(variance + epsilon) * scale + bias`, the mean and the
    (biased) variance taken over the dimensions `axis` .. rank-1 of each
    slice; `scale` and the optional `bias` broadcast over those dimensions
    (their shapes are a suffix of the normalized shape, with 1 for a
    broadcast dimension). Computed in the input's element type: the
    importer builds it for f32 inputs with `stash_type` 1 whose Mean and
    InvStdDev outputs are not used, and decomposes the other cases. One op,
    so one dispatch: its reductions and the normalization run on the same
    rows.

    ```mlir
    %y = weft.layer_norm %x, %gamma, %beta {axis = 1 : i64, epsilon = 1.0e-05 : f32}
        : (tensor<128x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<128x256xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$input, Weft_FloatTensor:$scale,
                   Optional<Weft_FloatTensor>:$bias, I64Attr:$axis, F32Attr:$epsilon);
  let results = (outs Weft_FloatTensor:$output);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_ReduceKind : I32EnumAttr<"ReduceKind", "reduction", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
    I32EnumAttrCase<"max", 2>, I32EnumAttrCase<"min", 3>,
    I32EnumAttrCase<"prod", 4>, I32EnumAttrCase<"l1", 5>,
    I32EnumAttrCase<"l2", 6>, I32EnumAttrCase<"log_sum", 7>,
    I32EnumAttrCase<"log_sum_exp", 8>, I32EnumAttrCase<"sum_square", 9>]> {
  let cppNamespace = "::weft";
}

def Weft_ReduceOp : Weft_InferredOp<"reduce"> {
  let summary = "Reduction over a set of axes (ONNX Reduce*, GlobalAveragePool)";
  let description = [{
    `axes` are non-negative and sorted; an empty list means all axes.
    `keepdims` keeps reduced axes as size 1.
  }];
  let arguments = (ins Weft_ReduceKind:$kind, Weft_Tensor:$input,
                   DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

class Weft_ArgOp<string mnemonic, string onnxName, string extreme>
    : Weft_InferredOp<mnemonic> {
  let summary = "Index of the " # extreme # " along an axis (ONNX " # onnxName # ")";
  let description = "The i64 index of the " # extreme # " element along `axis`, "
      # "which the result drops (the importer reshapes for keepdims). Ties "
      # "give the first index, or the last with `select_last_index`. The "
      # "axis must not be empty.";
  let arguments = (ins Weft_Tensor:$input, I64Attr:$axis, BoolAttr:$select_last_index);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_ArgMaxOp : Weft_ArgOp<"arg_max", "ArgMax", "largest">;
def Weft_ArgMinOp : Weft_ArgOp<"arg_min", "ArgMin", "smallest">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Weft_ReshapeOp : Weft_Op<"reshape", [Pure]> {
  let summary = "Reinterpret a tensor with a new static shape";
  let description = [{
    The result type carries the target shape; element count must match. A
    reshape moves no data: memory planning treats it as an alias.
  }];
  let arguments = (ins Weft_Tensor:$input);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Weft_TransposeOp : Weft_InferredOp<"transpose"> {
  let summary = "Permute dimensions (ONNX Transpose)";
  let arguments = (ins Weft_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Weft_ConcatOp : Weft_InferredOp<"concat"> {
  let summary = "Join tensors along an axis (ONNX Concat)";
  let arguments = (ins Variadic<Weft_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_PadOp : Weft_InferredOp<"pad"> {
  let summary = "Constant padding (ONNX Pad, mode=constant)";
  let description = [{
    `low`/`high` give the padding before/after each dimension; `value` is
    typed like the elements, so integer pad values are exact.
  }];
  let arguments = (ins Weft_Tensor:$input, DenseI64ArrayAttr:$low,
                   DenseI64ArrayAttr:$high, TypedAttrInterface:$value);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_SliceOp : Weft_InferredOp<"slice"> {
  let summary = "Strided slice with static starts/sizes/steps (ONNX Slice)";
  let arguments = (ins Weft_Tensor:$input, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Indexing by run-time tensors
//===----------------------------------------------------------------------===//

def Weft_GatherOp : Weft_InferredOp<"gather"> {
  let summary = "Slices along an axis chosen by run-time indices (ONNX Gather)";
  let description = [{
    `result[i0.., j.., k..] = data[i0.., indices[j..], k..]`: the result's
    shape is `data.shape[:axis] + indices.shape + data.shape[axis+1:]`.
    Indices are i32 or i64; negative ones count from the end of the axis.
    An index outside `[-n, n)` reads the nearest element of the axis (ONNX
    leaves it undefined); no index reads outside `data`.
  }];
  let arguments = (ins Weft_Tensor:$data, Weft_Tensor:$indices, I64Attr:$axis);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_GatherElementsOp : Weft_InferredOp<"gather_elements"> {
  let summary = "Elementwise gather along an axis (ONNX GatherElements)";
  let description = [{
    `result[i..] = data[i.. with i[axis] replaced by indices[i..]]`; the
    result has the indices' shape, which may be smaller than the data's in
    any dimension but must not exceed it off the axis. Index normalization
    and clamping are those of `weft.gather`.
  }];
  let arguments = (ins Weft_Tensor:$data, Weft_Tensor:$indices, I64Attr:$axis);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_GatherNDOp : Weft_InferredOp<"gather_nd"> {
  let summary = "Gather of slices addressed by index tuples (ONNX GatherND)";
  let description = [{
    `indices` has shape `[b.., m.., k]`, where the first `batch_dims`
    dimensions match `data`'s; each k-tuple addresses data dimensions
    `batch_dims .. batch_dims+k`. The result's shape is
    `indices.shape[:-1] + data.shape[batch_dims+k:]`. Index normalization
    and clamping are those of `weft.gather`.
  }];
  let arguments = (ins Weft_Tensor:$data, Weft_Tensor:$indices, I64Attr:$batch_dims);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_ScatterReduction : I32EnumAttr<"ScatterReduction", "how a scattered update combines", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"add", 1>, I32EnumAttrCase<"mul", 2>,
    I32EnumAttrCase<"max", 3>, I32EnumAttrCase<"min", 4>]> {
  let cppNamespace = "::weft";
}

def Weft_ScatterNDOp : Weft_InferredOp<"scatter_nd"> {
  let summary = "Writes slices addressed by index tuples (ONNX ScatterND, ScatterElements)";
  let description = [{
    The result is `data` with, for every index tuple `indices[u.., :]` (the
    last dimension, of length k, addresses data dimensions `0..k`), the
    slice `updates[u.., ...]` of shape `data.shape[k:]` written at that
    position, or combined with what is there by `reduction`. Tuples are
    applied in row-major order, so with `none` the last of duplicate tuples
    wins (as in onnxruntime). Index normalization and clamping are those of
    `weft.gather`: no write lands outside the result.
  }];
  let arguments = (ins Weft_Tensor:$data, Weft_Tensor:$indices, Weft_Tensor:$updates,
                   Weft_ScatterReduction:$reduction);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$reduction $data `[` $indices `]` `,` $updates attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_ScatterElementsOp : Weft_InferredOp<"scatter_elements"> {
  let summary = "Writes elements along an axis (ONNX ScatterElements, Scatter)";
  let description = [{
    The result is `data` with `updates[i..]` written at `i..` with `i[axis]`
    replaced by `indices[i..]` (combined by `reduction`); `indices` and
    `updates` have one shape, no larger than the data's off the axis.
    Elements are applied in row-major order, and normalization and clamping
    of indices are those of `weft.scatter_nd`.
  }];
  let arguments = (ins Weft_Tensor:$data, Weft_Tensor:$indices, Weft_Tensor:$updates,
                   I64Attr:$axis, Weft_ScatterReduction:$reduction);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$reduction $data `[` $indices `]` `,` $updates attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_TopKOp : Weft_InferredOp<"top_k"> {
  let summary = "Indices of the k largest or smallest elements along an axis (ONNX TopK)";
  let description = [{
    The i64 result has the input's shape with dimension `axis` replaced by
    `k`; along it, the indices of the `k` largest (or, without `largest`,
    smallest) elements in order, equal values by increasing index. The
    importer gathers the values with `weft.gather_elements`. NaN ranks above
    every number, as in onnxruntime: first when largest, last otherwise.
  }];
  let arguments = (ins Weft_Tensor:$input, I64Attr:$axis, I64Attr:$k, BoolAttr:$largest);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data-dependent sizes: results padded to a bound, their count in-band
//===----------------------------------------------------------------------===//

def Weft_NonZeroOp : Weft_InferredOp<"non_zero"> {
  let summary = "Coordinates of the nonzero elements and their count (ONNX NonZero)";
  let description = [{
    For an input of rank r (a scalar counts as one element of rank 1) with
    n elements, the i64 result is `[r + 1, max(n, 1)]`. Rows `0..r` hold,
    in column j, the coordinates of the j-th nonzero element in row-major
    order, for j below the count; the columns past it hold the coordinates
    of some element of the input (never out of range). Row r holds the
    count at column 0 and zeros after it. A NaN is nonzero. The importer
    slices the coordinates and the count apart: the count is the run-time
    size of the coordinates' second dimension. An input itself sized at run
    time along `dims[k]` (to `extents[k]`, i64 scalars) is read only within
    those sizes: its padding is never counted.
  }];
  let arguments = (ins Weft_Tensor:$input, Variadic<Weft_Tensor>:$extents,
                   DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$dims);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input (`[` $extents^ `]`)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_NonMaxSuppressionOp : Weft_InferredOp<"non_max_suppression"> {
  let summary = "Greedy non-maximum suppression per batch and class (ONNX NonMaxSuppression)";
  let description = [{
    `boxes` is f32 `[B, N, 4]` (corners `y1, x1, y2, x2` in either order,
    or with `center_point_box` the center, width and height), `scores` f32
    `[B, C, N]`; `num_boxes` (i64: the boxes past it are padding, as when
    the boxes were selected at run time), `max_per_class` (i64),
    `iou_threshold` and `score_threshold` (f32) are scalars read at run
    time, and `bound_per_class` is the most boxes a class can select (the
    run-time maximum is clamped to it). For each batch and class in turn, the boxes
    whose score is above `score_threshold` are taken by decreasing score
    (equal scores by increasing index), and one is selected unless its
    intersection over union with a box already selected for the class is
    above `iou_threshold` (boxes of no area never suppress), until
    `max_per_class` are selected. The i64 result is
    `[B * C * bound_per_class + 1, 3]`: rows `[batch, class, box]` of the
    selected boxes in that order, zero rows after them, and in the last
    row the count of selected boxes, then zeros.
  }];
  let arguments = (ins Weft_Tensor:$boxes, Weft_Tensor:$scores, Weft_Tensor:$num_boxes,
                   Weft_Tensor:$max_per_class,
                   Weft_Tensor:$iou_threshold, Weft_Tensor:$score_threshold,
                   I64Attr:$bound_per_class, BoolAttr:$center_point_box);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$boxes `,` $scores `,` $num_boxes `,` $max_per_class `,` $iou_threshold `,` $score_threshold attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_UniqueOp : Weft_InferredOp<"unique"> {
  let summary = "The distinct slices along an axis, where they occur, and how often (ONNX Unique)";
  let description = [{
    For an input with n slices along `axis` (a slice: the elements sharing
    one index on it), the i64 result is `[4, max(n, 1)]`. Row 0 holds,
    for each distinct slice in output order (ascending, compared
    lexicographically, when `sorted`; else in order of first occurrence),
    the index of its first occurrence; row 1, for each slice of the input,
    the position of its value in that order; row 2 how many times each
    distinct slice occurs; row 3 their count at column 0. Columns past the
    count hold zeros. Floats compare as numbers: NaNs are all distinct.
  }];
  let arguments = (ins Weft_Tensor:$input, I64Attr:$axis, BoolAttr:$sorted);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Weft_CompactOp : Weft_InferredOp<"compact"> {
  let summary = "Packs a tensor padded along run-time-sized dims into row-major order";
  let description = [{
    `input` holds a tensor whose dims `dims[k]` have the run-time sizes
    `extents[k]` (0-d i64, clamped to `[0, bound]`), each padded to its
    bound (the input's static size). The result, of the input's type,
    holds that tensor's elements in row-major order of its run-time shape,
    followed by zeros: what a caller that reads the run-time shape expects.
  }];
  let arguments = (ins Weft_Tensor:$input, Variadic<Weft_Tensor>:$extents,
                   DenseI64ArrayAttr:$dims);
  let results = (outs Weft_Tensor:$output);
  let assemblyFormat = "$input `[` $extents `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Structure: dispatch regions
//===----------------------------------------------------------------------===//

def Weft_DispatchOp : Weft_Op<"dispatch", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "A region that becomes one kernel";
  let description = [{
    Formed by `weft-form-dispatches`. The body is isolated from above: the
    operands are the block arguments, the yielded values are the results.
    Codegen turns each body into a function over a workgroup id; memory
    planning annotates `result_offsets` (byte offset of each result in the
    arena, -1 for a result written straight into a model output).

    ```mlir
    %r = weft.dispatch(%x, %w) : (tensor<1x8xf32>, tensor<8x4xf32>) -> tensor<1x4xf32> {
    ^bb0(%a: tensor<1x8xf32>, %b: tensor<8x4xf32>):
      %0 = weft.matmul %a, %b : (tensor<1x8xf32>, tensor<8x4xf32>) -> tensor<1x4xf32>
      weft.yield %0 : tensor<1x4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<Weft_Tensor>:$inputs);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "`(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body";
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "mlir::TypeRange":$resultTypes,
                                 "mlir::ValueRange":$inputs)>];
}

def Weft_IfOp : Weft_Op<"if", [RecursiveMemoryEffects, NoRegionArguments]> {
  let summary = "Host-level branch on a boolean computed at run time";
  let description = [{
    ONNX `If` whose condition is known only at run time. The host program
    reads the one-element bool `condition` and runs the dispatches of one
    region; values defined above stay visible in both. Each region ends in
    `weft.yield`; a result is the address of the taken region's yielded
    value (no copy), so both regions must yield the result types. Memory
    planning gives the two regions' tensors overlapping arena space, since
    only one runs.

    ```mlir
    %r = weft.if %c : tensor<i1> -> tensor<4xf32> {
      %0 = weft.neg %x : (tensor<4xf32>) -> tensor<4xf32>
      weft.yield %0 : tensor<4xf32>
    } else {
      weft.yield %x : tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins Weft_Tensor:$condition);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let regions = (region SizedRegion<1>:$thenRegion, SizedRegion<1>:$elseRegion);
  let assemblyFormat = [{
    $condition attr-dict `:` type($condition) (`->` type($results)^)?
    $thenRegion `else` $elseRegion
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Weft_LoopOp : Weft_Op<"loop", [RecursiveMemoryEffects,
    DeclareOpInterfaceMethods<LoopLikeOpInterface, ["getRegionIterArgs",
    "getYieldedValuesMutable", "getLoopResults"]>]> {
  let summary = "Host-level loop run at run time (ONNX Loop)";
  let description = [{
    ONNX `Loop` whose trip count or condition is known only at run time. The
    host program runs the body while `iteration < max_trips` and the current
    condition holds (the condition is tested before every iteration, the
    first included). The body's block arguments are the iteration number
    (one i64), the current condition (one i1) and the carried values; it
    yields the next condition, the next carried values and, for each scan
    result, one slice. Values defined above stay visible in the body.

    Every carried value lives in a state buffer that memory planning places
    in the arena for the whole loop: the host copies the initial values in
    before the first test and the yielded values in after every iteration;
    the carried results are the state buffers. A scan result stacks the
    slices of every iteration along a new first axis; its length is the
    static trip count, so scan results need a loop that runs exactly
    `max_trips` times (a constant trip count and a condition that stays
    true). Memory planning records the state buffers' offsets in
    `state_offsets`: the iteration (-1 when nothing reads it), the
    condition, the carried values, then the scan results. As a loop-like
    op, its body's code that reads no block argument is hoisted before it
    by loop-invariant code motion.

    ```mlir
    %r = weft.loop(%m, %c, %a) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<4xf32>):
      %0 = weft.add %acc, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      weft.yield %ci, %0 : tensor<i1>, tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins Weft_Tensor:$max_trips, Weft_Tensor:$condition,
                       Variadic<Weft_Tensor>:$inits);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $max_trips `,` $condition (`,` $inits^)? `)` attr-dict `:`
    functional-type(operands, results) $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of results that stack one slice per iteration.
    unsigned getNumScans() { return getNumResults() - getInits().size(); }
  }];
}

def Weft_TrapOp : Weft_Op<"trap"> {
  let summary = "Fails the run with a message (host-level)";
  let description = [{
    Stands for a region of a `weft.if` that cannot be compiled for the
    model's static shapes (onnxruntime fails the same branch when it runs).
    When the host program reaches it, the run returns WEFT_INVALID_ARGUMENT
    with `message`; its results exist only so that the region can yield and
    are never read.
  }];
  let arguments = (ins StrAttr:$message);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let assemblyFormat = "$message attr-dict (`:` type($results)^)?";
}

def Weft_YieldOp : Weft_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["DispatchOp", "IfOp", "LoopOp"]>]> {
  let summary = "Ends a dispatch, if or loop region and names its results";
  let arguments = (ins Variadic<Weft_Tensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ (void)$_state; }]>];
}

def Weft_DispatchCallOp : Weft_Op<"dispatch_call"> {
  let summary = "Runs an outlined dispatch function (host-level)";
  let description = [{
    Created by `weft-cpu-outline-dispatches` from a `weft.dispatch` whose body
    became the function `callee`. Keeps the memory plan's `result_offsets`.
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee, Variadic<Weft_Tensor>:$inputs);
  let results = (outs Variadic<Weft_Tensor>:$results);
  let assemblyFormat = "$callee `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)";
}

#endif // WEFT_OPS_TD
