//===- Passes.td - graph-level weft passes -----------------*- tablegen -*-===//
#ifndef WEFT_PASSES_TD
#define WEFT_PASSES_TD

include "mlir/Pass/PassBase.td"

def Decompose : Pass<"weft-decompose", "mlir::func::FuncOp"> {
  let summary = "Rewrite composite ops into simpler weft ops";
  let description = [{
    Inference batch normalization becomes one multiply and one add whose
    per-channel constants fold at compile time; convolution padding, and the
    padding of max pooling (with the lowest value of the element type), moves
    into its own `weft.pad` so kernels see unpadded windows. A Gemm with a
    constant transposed B (`transB = 1`, PyTorch's Linear) gets B
    transposed at compile time, so kernels read it row-major; with
    `pretranspose-min-rows`, only when A has at least that many rows (the
    CUDA target keeps B's rows along k for matrix-vector products, whose
    outputs each go to a warp whose lanes read neighbouring k). With
    `pool-pads-apart=false` (the CUDA targets) a pooling keeps its
    padding instead and is marked `weft.gather_padding`, so that its
    kernel reads the unpadded input at bounds-checked indices (one thread
    per output needs no padded copy). With
    `widen-half-contractions` (the CPU target) an f16 or bf16 MatMul,
    Gemm or Conv runs on f32 casts of its operands and its result is cast
    back: the same sums (f32, one rounding) on the f32 kernels; weights
    become f32 constants (twice the bytes). With `flatten-full-reductions`
    (the CPU target) a reduction over every axis of a static tensor of
    rank 2 or more reduces its 1-D view instead (reshapes move no data), a
    row reduction that the kernels vectorize (DynamicQuantizeLinear's min
    and max, a whole-tensor ReduceMean).

    Before:
    ```mlir
    %y = weft.batch_norm %x, %s, %b, %m, %v {epsilon = 1e-5 : f32} : ...
    ```
    After (constants folded by canonicalization):
    ```mlir
    %0 = weft.mul %x, %scale : (tensor<1x3x4x4xf32>, tensor<3x1x1xf32>) -> ...
    %y = weft.add %0, %shift : ...
    ```
  }];
  let options = [
    Option<"pretransposeMinRows", "pretranspose-min-rows", "int64_t", "0",
           "Transpose a Gemm's constant transposed B only when A has at least "
           "this many rows">,
    Option<"widenHalfContractions", "widen-half-contractions", "bool", "false",
           "Compute f16 and bf16 MatMuls, Gemms and Convs on f32 casts of "
           "their operands (the CPU target's f32 kernels), casting the "
           "result back; constant operands fold into f32 constants">,
    Option<"flattenFullReductions", "flatten-full-reductions", "bool", "false",
           "Reduce a static tensor of rank 2 or more over every axis as its "
           "1-D view">,
    Option<"poolPadsApart", "pool-pads-apart", "bool", "true",
           "Move a max pooling's padding into its own `weft.pad`; off (the "
           "CUDA targets), every padded pool keeps its pads and is marked "
           "`weft.gather_padding`: its kernel reads the unpadded input">
  ];
  let dependentDialects = ["::weft::WeftDialect"];
}

def SplitReduction : Pass<"weft-split-reduction", "mlir::func::FuncOp"> {
  let summary = "Split a GPU matmul's long reduction across more blocks";
  let description = [{
    For the CUDA targets: an f32 MatMul (B 2-D) whose output fills fewer
    than `max-blocks` of the GPU's 64 x 64 blocks, and whose reduction is
    long, computes S partial products side by side (S of 8, 4, 2: the
    largest that keeps S x the blocks within `target-blocks` and whole
    parts of at least 4 reduction steps of 32) and sums them after: A
    viewed as [M, S, K/S] and transposed to [S, M, K/S], B viewed as
    [S, K/S, N], a batched MatMul and a sum over the leading axis. The
    transpose and the sum are marked `weft.split_reduction`, so that
    weft-form-dispatches fuses the transpose into the matmul's dispatch
    and lets the sum head the elementwise ops that followed the matmul.

    Before:
    ```mlir
    %y = weft.matmul %x, %w : (tensor<128x3072xf32>, tensor<3072x768xf32>) -> tensor<128x768xf32>
    ```
    After:
    ```mlir
    %0 = weft.reshape %x : (tensor<128x3072xf32>) -> tensor<128x4x768xf32>
    %1 = weft.transpose %0 {perm = array<i64: 1, 0, 2>, weft.split_reduction} : ...
    %2 = weft.reshape %w : (tensor<3072x768xf32>) -> tensor<4x768x768xf32>
    %3 = weft.matmul %1, %2 : (tensor<4x128x768xf32>, tensor<4x768x768xf32>) -> tensor<4x128x768xf32>
    %y = weft.reduce <sum> %3 {axes = array<i64: 0>, keepdims = false, weft.split_reduction} : ...
    ```

    An f32 NCHW convolution (group 1, padding already moved out) is split
    the same way over its input channels, judged as the matmul of its
    filter [F, C * KH * KW] and its image's columns that the CUDA backend
    runs: one convolution of S groups whose filter [S * F, C/S, KH, KW]
    holds part s's output channel f at s * F + f (a constant filter is
    permuted at compile time), its result viewed as [N, S, F, OH, OW] and
    summed over axis 1, the bias added after. The grouped convolution and
    the sum are marked `weft.split_reduction`. A convolution that the
    blocks do not take, with fewer than 65536 outputs of at least 512
    products over at least 64 input channels and an image of 8 positions
    or more (which would run a warp per output, its lanes reading channels
    an image plane apart), splits the same way in S of 2, 4, 8, 16 (the
    smallest reaching 65536 outputs, or the largest keeping 64 products a
    part), whose parts run one output per thread.
  }];
  let options = [
    Option<"maxBlocks", "max-blocks", "int64_t", "66",
           "Split only matmuls of fewer 64 x 64 output blocks than this">,
    Option<"targetBlocks", "target-blocks", "int64_t", "132",
           "The most blocks the split matmul may have (an H100's multiprocessors)">
  ];
  let dependentDialects = ["::weft::WeftDialect"];
}

def Partition : Pass<"weft-partition", "mlir::ModuleOp"> {
  let summary = "Split the entry function across devices (one program per device, SPMD)";
  let description = [{
    Rewrites the entry function into the program each of `devices` devices
    runs on its own part of the tensors. A value is either whole on every
    device or split: one axis cut into `devices` equal parts, device r
    holding part r. The plan fixes the inputs' splits; each op's rule then
    gives its results' splits from its operands', in program order, and
    every split dimension is divided by `devices` in the types. It runs
    after layout conversion, so the rules see channels-last convolutions
    and their blocked filters.

    `plan=data`: the batch (axis 0 of the first input that has one and is
    not pinned by --input-value) is cut: every input whose axis 0 is the
    batch is split on it, the others are whole. Weights stay whole (in one
    process the devices read the same copy). An op whose rule cannot keep
    a split (a reduction or a softmax over the batch, a matmul that
    contracts it, an op without a rule) is an error located at the op that
    says why; so is a batch the devices do not divide.

    `plan=annotated`: the model's ONNX multi-device annotations (read by
    the importer into `weft.device_annotations`): inputs split where a
    node's sharding spec names them, and a MatMul, Gemm or Conv whose weight
    a node shards is column- or row-parallel as the axis says; the other
    ops follow the rules of the tensor plan, which never split a weight on
    their own here. An annotation that cannot be followed is an error, as is
    a pipeline stage.

    `plan=tensor` (Megatron-style): inputs are whole. A matmul, Gemm or
    group-1 convolution with a constant weight and a whole input becomes
    column-parallel (each device computes its share of the output columns
    or channels from its part of the weight); one whose input is split on
    the contracted axis becomes row-parallel (each device multiplies its
    part by its rows of the weight, a bias goes to device 0 only, and a
    `shard.all_reduce` sums the partial results). Elementwise ops follow,
    taking their part of constant operands; attention splits by heads
    through the reshapes and transposes. An op whose rule cannot take a
    split gets its split operands back whole with a `shard.all_gather`.
    Split weights are stored as their parts stacked on a new leading axis
    and read through `shard.all_slice`, so each device reads only its part.

    The module gets `shard.grid @devices`; the function records the plan
    for the host program and the header: `weft.num_devices`,
    `weft.parallel_plan`, each input's and output's split axis
    (`weft.input_splits`, `weft.output_splits`, -1 for whole) and the whole
    tensors' types (`weft.abi_input_types`, `weft.abi_output_types`). With
    `explain`, prints each tensor's split, the decisions, the collectives
    and each device's share of the work and weights to stderr.

    Before (`devices=2 plan=data`):
    ```mlir
    func.func @m(%x: tensor<8x16xf32>) -> tensor<8x4xf32> {
      %w = weft.constant dense<...> : tensor<16x4xf32>
      %y = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
      return %y : tensor<8x4xf32>
    }
    ```
    After:
    ```mlir
    func.func @m(%x: tensor<4x16xf32>) -> tensor<4x4xf32>
        attributes {weft.input_splits = array<i64: 0>, weft.num_devices = 2 : i64, ...} {
      %w = weft.constant dense<...> : tensor<16x4xf32>
      %y = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
      return %y : tensor<4x4xf32>
    }
    ```
  }];
  let options = [
    Option<"devices", "devices", "int64_t", /*default=*/"1",
           "Number of devices">,
    Option<"plan", "plan", "std::string", /*default=*/"\"data\"",
           "How the devices share the work: data, tensor, pipeline, auto (the cheapest "
           "by the cost model) or annotated">,
    Option<"microBatches", "micro-batches", "int64_t", /*default=*/"0",
           "Pipeline: micro-batches the batch is cut into (0: chosen by the cost model)">,
    Option<"gflops", "gflops", "double", /*default=*/"85",
           "Cost model: one thread's GFLOP/s on matmuls and convolutions of 256 rows or more">,
    Option<"gflopsRows1", "gflops-rows-1", "double", /*default=*/"23",
           "Cost model: GFLOP/s of a matmul of one row">,
    Option<"gflopsRows4", "gflops-rows-4", "double", /*default=*/"79",
           "Cost model: GFLOP/s of a matmul of 4 rows">,
    Option<"gflopsRows16", "gflops-rows-16", "double", /*default=*/"86",
           "Cost model: GFLOP/s of a matmul of 16 rows">,
    Option<"gflopsRows64", "gflops-rows-64", "double", /*default=*/"87",
           "Cost model: GFLOP/s of a matmul of 64 rows">,
    Option<"streamGBps", "stream-gbps", "double", /*default=*/"45",
           "Cost model: GB/s a matmul or convolution reads and writes its operands at">,
    Option<"gbps", "gbps", "double", /*default=*/"42",
           "Cost model: GB/s of the other ops">,
    Option<"opOverheadUs", "op-us", "double", /*default=*/"0.14",
           "Cost model: microseconds each op costs beyond its bytes and arithmetic">,
    Option<"collectiveLatencyUs", "collective-us", "double", /*default=*/"1.6",
           "Cost model: an in-process collective's fixed microseconds">,
    Option<"collectiveGBps", "collective-gbps", "double", /*default=*/"4.1",
           "Cost model: an in-process collective's GB/s">,
    Option<"transferLatencyUs", "transfer-us", "double", /*default=*/"0.25",
           "Cost model: an in-process pipeline transfer's fixed microseconds">,
    Option<"transferGBps", "transfer-gbps", "double", /*default=*/"35",
           "Cost model: an in-process pipeline transfer's GB/s">,
    Option<"wakeUs", "wake-us", "double", /*default=*/"25",
           "Cost model: microseconds to wake a rank that slept waiting for a message">,
    Option<"mpiCollectiveUs", "mpi-collective-us", "double", /*default=*/"40",
           "Cost model: a collective's fixed microseconds under MPI">,
    Option<"mpiCollectiveGBps", "mpi-collective-gbps", "double", /*default=*/"4",
           "Cost model: a collective's GB/s under MPI">,
    Option<"mpiTransferUs", "mpi-transfer-us", "double", /*default=*/"40",
           "Cost model: a send/recv's fixed microseconds under MPI">,
    Option<"mpiTransferGBps", "mpi-transfer-gbps", "double", /*default=*/"4",
           "Cost model: a send/recv's GB/s under MPI">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "Where the rates come from (weftc --cost-model's file), for the explanation">,
    Option<"objective", "objective", "std::string", /*default=*/"\"latency\"",
           "What auto minimizes: latency or throughput">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print the plan to stderr">,
  ];
  let dependentDialects = ["::weft::WeftDialect", "::mlir::shard::ShardDialect"];
}

def ConvertLayout : Pass<"weft-convert-layout", "mlir::func::FuncOp"> {
  let summary = "Channels-last convolutions, with the layout changes cancelled";
  let description = [{
    Every floating-point convolution with a constant filter that is plain
    (group 1) or depthwise becomes `channels_last` (NHWC input and output,
    HWCF filter: output channels innermost, where the CPU kernels vectorize),
    between two `weft.transpose`s; the filter's transpose folds into the
    constant. Transposes then sink through ops that do not depend on the
    layout (elementwise ops, whose constant operands are re-laid at compile
    time, pads, keepdims reductions, concats) and turn NCHW pooling into
    channels-last pooling; two transposes that meet compose, and a
    transpose that only moves unit dimensions becomes a reshape. A chain of
    convolutions keeps one conversion at its start and one at its end.
    With `filter-block` B > 1, a group-1 filter is blocked to
    [F/b, KH, KW, C, b] with b the largest of B, B/2 and B/4 that divides
    F, so the b output channels of a kernel's register tile are contiguous
    for every reduction step; other filters stay HWCF. With blocking, an
    f32 matmul by a constant [K, N] whose N a block b (B or B/2) divides
    becomes a 1x1 channels-last convolution over one image row of M
    columns, its right operand re-laid as the blocked filter
    [N/b, 1, 1, K, b] at compile time (each register tile then streams one
    contiguous K x b panel), the result reshaped back.

    Before:
    ```mlir
    %0 = weft.conv %x, %w {...} : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x14x14xf32>
    %1 = weft.relu %0 : tensor<1x8x14x14xf32>
    %2 = weft.conv %1, %w2 {...} : (tensor<1x8x14x14xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x14x14xf32>
    ```
    After:
    ```mlir
    %t = weft.transpose %x {perm = array<i64: 0, 2, 3, 1>} : ... -> tensor<1x16x16x8xf32>
    %0 = weft.conv %t, %w_hwcf {channels_last, ...} : ... -> tensor<1x14x14x8xf32>
    %1 = weft.relu %0 : tensor<1x14x14x8xf32>
    %2 = weft.conv %1, %w2_hwcf {channels_last, ...} : ... -> tensor<1x14x14x8xf32>
    %y = weft.transpose %2 {perm = array<i64: 0, 3, 1, 2>} : ... -> tensor<1x8x14x14xf32>
    ```
  }];
  let options = [
    Option<"filterBlock", "filter-block", "int64_t", "0",
           "Output channels per filter block (0 or 1: HWCF, not blocked)">
  ];
  let dependentDialects = ["::weft::WeftDialect"];
}

def FormDispatches : Pass<"weft-form-dispatches", "mlir::func::FuncOp"> {
  let summary = "Group compute ops into weft.dispatch regions";
  let description = [{
    Every op that does work goes into a `weft.dispatch`, the unit that codegen
    turns into one kernel. A chain of elementwise ops over one shape, in which
    each link's only user is the next, shares one region (at most 64 links,
    which keeps compile time linear), and a region yields only the values used
    outside it; every other op gets a region of its own. Pure aliases (`weft.reshape`) and
    large constants stay outside; small constants are cloned into the bodies
    that use them so kernels see their values. Values returned by the function
    that no dispatch produces (inputs, constants, aliases, repeats) get a copy
    dispatch so each model output is written by exactly one kernel. The
    transpose and the sum that weft-split-reduction puts around a matmul
    (`weft.split_reduction`) join it differently: the transpose joins the
    matmul's region, the sum heads the elementwise chain after it. With
    `explain-fusion`, each dispatch gets `weft.fusion_nodes` (its ops and
    their ONNX nodes) and `weft.fusion_apart` (for each edge to another
    dispatch, the rule that kept them apart), which `weftc --explain-fusion`
    prints.

    Before:
    ```mlir
    %0 = weft.exp %x : tensor<4xf32>
    %1 = weft.relu %0 : tensor<4xf32>
    return %1 : tensor<4xf32>
    ```
    After:
    ```mlir
    %0 = weft.dispatch(%x) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%a: tensor<4xf32>):
      %1 = weft.exp %a : tensor<4xf32>
      %2 = weft.relu %1 : tensor<4xf32>
      weft.yield %2 : tensor<4xf32>
    }
    return %0 : tensor<4xf32>
    ```
  }];
  let options = [
    Option<"cloneConstantLimit", "clone-constant-limit", "int64_t", "64",
           "Constants with at most this many elements are cloned into dispatches">,
    Option<"explainFusion", "explain-fusion", "bool", "false",
           "Record on each dispatch the ONNX nodes it holds (weft.fusion_nodes) "
           "and why each neighbouring dispatch stays apart (weft.fusion_apart)">,
    Option<"batchRowEpilogues", "batch-row-epilogues", "bool", "false",
           "A MatMul [B.., M, K] x [K, N] (its batch dims more rows of one "
           "matmul) heads its elementwise chain like a 2-D one; its lowering "
           "collapses the chain to 2-D (the CUDA targets)">,
    Option<"normsTakeProducers", "norms-take-producers", "bool", "false",
           "A layer normalization joins the group of the elementwise chain "
           "(or split reduction's sum and its chain) of at most 3 ops that "
           "computes its input, when it is that value's only user: each "
           "row's warp recomputes the chain's values it reads (the CUDA "
           "targets)">,
    Option<"elementwiseDags", "elementwise-dags", "bool", "false",
           "The elementwise groups fed only by the last value of one "
           "earlier group, by each other's last values and by constants, "
           "holding all their users but one group's, join that group: an "
           "epilogue such as GELU's, whose input has two users (weftc sets "
           "it for every target)">,
    Option<"padsIntoConvs", "pads-into-convs", "bool", "false",
           "An f32 NCHW convolution that the CUDA backend runs in blocks "
           "joins the dispatch of the padding of its image (a weft.pad of "
           "its height and width that it alone uses): the blocks gather the "
           "padded image's columns from the unpadded one (the CUDA targets)">,
    Option<"transposesInChains", "transposes-in-chains", "bool", "false",
           "A transpose links elementwise chains like an elementwise op: it "
           "joins the chain of its operand's elementwise producer, and an "
           "elementwise op joins the chain that ends at its operand's "
           "transpose; each thread reads its elements through the "
           "permutation (the CUDA targets)">,
    Option<"slicesInChains", "slices-in-chains", "bool", "false",
           "A slice heads an elementwise chain (a transpose or an "
           "elementwise op joins it; it takes no producer, whose values it "
           "reads at computed indices), and a reshape of a slice along its "
           "input's last dimension that splits that dimension moves above "
           "the slice, so that the slice meets its consumer: an attention's "
           "Q, K and V (the CUDA targets)">,
    Option<"matmulsTakeViews", "matmuls-take-views", "bool", "false",
           "A batched MatMul ([B.., M, K] x [B.., K, N]) takes into its "
           "dispatch the slices and transposes keeping the innermost "
           "dimension that alone compute its operands from its inputs (its "
           "lowering reads them in place) and heads its elementwise chain, "
           "which a transpose of its result keeping the innermost dimension "
           "may start (the lowering writes the result in that order); "
           "a scale by a one-element constant of a matmul's operand moves "
           "to its result; a transpose that moves the innermost dimension "
           "joins the slice it alone reads: an attention's Q, K and V (the "
           "CUDA targets)">
  ];
  let dependentDialects = ["::weft::WeftDialect"];
}

def PadInPlace : Pass<"weft-pad-in-place", "mlir::func::FuncOp"> {
  let summary = "Let a dispatch write its result inside the padded buffer that reads it";
  let description = [{
    For a dispatch that is one constant `weft.pad` (a convolution's or max
    pooling's padding) whose input, through single-use reshapes, is a
    result of another dispatch that nothing else reads and that is not a
    function result: that producer writes the value straight into the
    interior of the padded buffer instead of a buffer of its own, and the
    pad dispatch writes only the border. The producer must consist of
    elementwise ops and channels-last convolutions only (their lowerings
    write through any strided view; a matmul's epilogue, computed on 2-D
    rows, could not), and the reshapes must keep the interior a
    strided view (splitting dimensions, or merging contiguous ones).

    The producer gets `weft.result_layouts`, one entry per result: a unit
    attribute, or the `#strided` layout (elements, offset 0) of the result
    inside the padded buffer; the pad dispatch and its pad get
    `weft.pad_in_place`. weft-plan-memory places the result inside the
    padded buffer, whose live range then starts at the producer.

    After:
    ```mlir
    %0 = weft.dispatch(%x) {weft.result_layouts = [strided<[3248, 58, 1]>]}
        : (tensor<1x56x56xf32>) -> tensor<1x56x56xf32> { ... }
    %1 = weft.dispatch(%0) {weft.pad_in_place} : (tensor<1x56x56xf32>) -> tensor<1x58x58xf32> {
    ^bb0(%a: tensor<1x56x56xf32>):
      %2 = weft.pad %a {high = array<i64: 0, 1, 1>, low = array<i64: 0, 1, 1>,
                        value = 0.0 : f32, weft.pad_in_place} : ...
      weft.yield %2 : tensor<1x58x58xf32>
    }
    ```
  }];
}

def PlanMemory : Pass<"weft-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Assign every intermediate tensor a static offset in one arena";
  let description = [{
    Walks the dispatches in program order, computes each intermediate's live
    range (extended through reshape aliases), and packs the buffers greedily,
    each into the lowest offset (first fit) or the tightest gap (best fit)
    that no live buffer overlaps; it tries largest-first, longest-lived-first
    and largest size x lifetime first, with both placements (graphs of more
    than 4096 buffers: largest-first first fit only), and keeps the
    smallest arena.
    Results returned by the function are written straight into the caller's
    output buffers and get offset -1.

    `weft.arena_lower_bound` records the most bytes that are live at once
    (the sum over the buffers live at one op), which no plan can go below;
    `weftc --memory-report` prints both.

    After:
    ```mlir
    %0 = weft.dispatch(%x) {result_offsets = [0]} : ...
    func.func @main(...) attributes {weft.arena_size = 4096 : i64,
                                     weft.arena_lower_bound = 4096 : i64}
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of every buffer in the arena">
  ];
}

#endif // WEFT_PASSES_TD
