//===- Passes.td - CPU codegen passes ----------------------*- tablegen -*-===//
#ifndef WEFT_CODEGEN_CPU_PASSES_TD
#define WEFT_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"weft-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower weft compute ops inside dispatches to linalg on tensors";
  let description = [{
    Each weft op in a `weft.dispatch` body becomes linalg (named ops for
    matmul, conv, pooling and transpose; `linalg.generic` elsewhere), tensor
    and arith/math ops. Ops outside dispatches (constants, reshapes) stay.
    A reduction whose result is f16 or bf16 then runs as an f32 generic (its
    16-bit inputs extended in the body, an f32 init) followed by one
    truncation, as onnxruntime accumulates such sums.

    Before:
    ```mlir
    %1 = weft.relu %a : tensor<4xf32>
    ```
    After:
    ```mlir
    %e = tensor.empty() : tensor<4xf32>
    %1 = linalg.generic {...} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
      ^bb0(%x: f32, %o: f32):
        %m = arith.maximumf %x, %cst : f32
        linalg.yield %m : f32
    } -> tensor<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::ub::UBDialect"];
}

def OutlineDispatches : Pass<"weft-cpu-outline-dispatches", "mlir::ModuleOp"> {
  let summary = "Move each dispatch body into its own function over buffers";
  let description = [{
    A dispatch becomes `func.func @<entry>_dispatch_<n>(%in..: memref, %out..:
    memref)` whose body reads its inputs with `bufferization.to_tensor` and
    writes each result into its output buffer. The dispatch's root op writes
    straight into the output buffer (its `tensor.empty` init is replaced), so
    bufferization needs no copy. The host function keeps a
    `weft.dispatch_call` with the memory plan's offsets.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::func::FuncDialect"];
}

def TileWorkgroups : Pass<"weft-cpu-tile-workgroups", "mlir::func::FuncOp"> {
  let summary = "Tile a dispatch's root op into independent workgroup tiles";
  let description = [{
    Splits the outer parallel loops of the root op of each dispatch function
    into an `scf.forall` whose iterations are the workgroups, fusing the
    producers inside the dispatch into each tile. Tile sizes divide the loop
    bounds and aim at `target-workgroups` tiles of at least `min-work`
    iterations each. The count is recorded as `weft.workgroup_count`.
  }];
  let options = [
    Option<"targetWorkgroups", "target-workgroups", "int64_t", "32",
           "Upper bound on workgroups per dispatch">,
    Option<"minWork", "min-work", "int64_t", "16384",
           "Minimum loop iterations (multiply-adds or elements) per workgroup">,
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "f32 lanes per vector register (register tiles stay whole)">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "32",
           "Vector registers the register tiles may fill (16 for AVX2, 32 for AVX-512)">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768",
           "Data cache per core (bytes) that reduction blocks are sized for">,
    Option<"l1Ways", "l1-ways", "int64_t", "8",
           "Associativity of that cache (how many register-tile columns 4 KiB "
           "apart may share one of its sets)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::affine::AffineDialect"];
}

def DistributeWorkgroups : Pass<"weft-cpu-distribute-workgroups", "mlir::func::FuncOp"> {
  let summary = "Turn the workgroup scf.forall into a workgroup id argument";
  let description = [{
    After bufferization, the single `scf.forall` of a dispatch function is
    replaced by its body, indexed by a new trailing `index` argument (the
    workgroup id, delinearized over the forall's iteration space). The
    runtime calls the function once per workgroup, on its thread pool.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect"];
}

def TileAndVectorize : Pass<"weft-cpu-tile-and-vectorize", "mlir::func::FuncOp"> {
  let summary = "Tile linalg ops to register-sized pieces and vectorize them";
  let description = [{
    Inside each workgroup, contractions are tiled to an MxNx1 register block
    and other ops to one vector along their innermost loop; static tiles are
    vectorized (`linalg::vectorize`), convolutions and pooling first reduced
    to 1-D windows. Loop-invariant transfers are hoisted so a matmul
    accumulator stays in registers across the reduction loop. Ops that
    cannot be vectorized remain loops.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "Elements per vector of the innermost dimension">
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::linalg::LinalgDialect"];
}

def TileContractions : Pass<"weft-cpu-tile-contractions", "mlir::func::FuncOp"> {
  let summary = "Cache and register tiling of contractions, vectorized on tensors";
  let description = [{
    Runs after workgroup tiling and before bufferization. Every f32
    contraction with one m, n and k loop whose n is contiguous in B and in
    the output (matmul, a batch of them with B shared) is tiled as its
    KernelConfig says: reduction blocks of `kBlock` steps, `mr` x `nr`
    register tiles with N outside M, and one reduction step per
    `vector.contract`. Channels-last convolutions (conv_2d_nhwc_hwcf, the
    blocked-filter generic tagged `weft.blocked_conv`, and
    depthwise_conv_2d_nhwc_hwc) whose channels fill vectors are computed
    directly: register tiles of `mr` output columns x `nr` channels, then
    the window and the input channels one step at a time, each step an
    (mr x 1) x (1 x nr) matmul of input elements and a filter row (depthwise:
    one multiply-add of mr input rows by a filter row), vectorized. The
    accumulator's `transfer_read`/`transfer_write` pair is then hoisted out
    of the reduction loops, so it stays in vector registers for a whole
    block or window; contractions later lower to `mr` broadcast-FMA outer
    products. A convolution whose result only feeds an elementwise
    epilogue (bias, activation, residual add: see `epilogueOf` in
    KernelConfig) is tiled through that epilogue instead: the register-tile
    loops run over the epilogue, the convolution and its accumulator
    initialization are fused into each tile, and the epilogue is vectorized
    on the tile, so the accumulator goes from registers to the epilogue and
    the convolution's result never reaches memory. When `mr` does not
    divide the output width, the epilogue (or the convolution) is split with
    `linalg::splitOp` at the last whole tile and the remaining columns are
    one tile of their own, so every tile keeps a static shape. An integer
    convolution (the rank-6 blocked filter, uint8 x int8 -> i32) is tiled
    the same way with steps of four input channels, each step built
    directly as vector ops: the four input bytes of each column broadcast
    to every lane, against the filter's 4 x nr bytes, into the i32
    accumulator. A pointwise
    convolution (1x1, unit strides) over several output rows is first
    rewritten, with its accumulator initialization and epilogue, over
    [N, 1, OH * OW, ...] views of its tensors, so its tiles run along the
    whole output plane. A row reduction (one reduction loop, innermost and
    contiguous: softmax's max and sum, LayerNorm's mean) is tiled into rows,
    each accumulated into a partial result of one or two vectors that stays
    in registers (`scf::tileReductionUsingScf`), its lanes combined once per
    row.

    Before (one workgroup's tile):
    ```mlir
    %r = linalg.matmul ins(%a, %b : tensor<16x1024xf32>, tensor<1024x1024xf32>)
                       outs(%c : tensor<16x1024xf32>) -> tensor<16x1024xf32>
    ```
    After (kBlock = 128, mr = 8, nr = 32):
    ```mlir
    scf.for %kb = %c0 to %c1024 step %c128 iter_args(%c1 = %c) {
      scf.for %j = %c0 to %c1024 step %c32 iter_args(%c2 = %c1) {
        scf.for %i = %c0 to %c16 step %c8 iter_args(%c3 = %c2) {
          %acc0 = vector.transfer_read %c3[%i, %j] : tensor<16x1024xf32>, vector<8x32xf32>
          %acc = scf.for %k = %c0 to %c128 step %c1 iter_args(%v = %acc0) {
            %x = vector.transfer_read %a[%i, %kk] : tensor<16x1024xf32>, vector<8x1xf32>
            %y = vector.transfer_read %b[%kk, %j] : tensor<1024x1024xf32>, vector<1x32xf32>
            %s = vector.contract ... %x, %y, %v : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
            scf.yield %s
          }
          %w = vector.transfer_write %acc, %c3[%i, %j] : vector<8x32xf32>, tensor<16x1024xf32>
          ...
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "f32 lanes per vector register">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "32",
           "Vector registers the register tiles may fill (16 for AVX2, 32 for AVX-512)">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768",
           "Data cache per core (bytes) that reduction blocks are sized for "
           "(0: no reduction blocks)">,
    Option<"l1Ways", "l1-ways", "int64_t", "8",
           "Associativity of that cache (how many register-tile columns 4 KiB "
           "apart may share one of its sets)">,
    Option<"gpuThreads", "gpu-threads", "bool", "false",
           "The ops are a GPU thread's register tiles: contractions as above "
           "(4 reduction steps per vector.contract where 4 divides k), "
           "small NCHW convolution tiles (conv_2d_nchw_fchw over 1 x F x 1 x W "
           "outputs) as one (F x cs) x (cs x W) contraction per cs input "
           "channels (4 for a 1x1 window where 4 divides them, else 1) "
           "and window element, "
           "elementwise ops of 2 to 16 elements inside "
           "the thread loop as vectors (read whole before written); "
           "convolutions in other layouts, row reductions and row gathers "
           "are left alone">,
    Option<"vnni", "vnni", "bool", "false",
           "The target has AVX-512 VNNI: an integer convolution's step (4 input "
           "channels, uint8 x int8) is one vpdpbusd per 16 output channels (8 or 4 "
           "for a block that narrow) and "
           "column; without it the same step is widened to i32 multiply-adds">
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::LLVM::LLVMDialect"];
}

def ExpandBF16 : Pass<"weft-cpu-expand-bf16", "mlir::func::FuncOp"> {
  let summary = "Compute bf16 conversions with integer arithmetic";
  let description = [{
    Rewrites `arith.extf` from and `arith.truncf` to bf16 as integer
    shifts and round-to-nearest-even arithmetic on the bit patterns
    (`arith::populateExpandBFloat16Patterns`). A CPU without native bf16
    conversions would otherwise call `__truncsfbf2`, which neither the
    object file nor the runtime provides.

    Before: `%h = arith.truncf %x : f32 to bf16`
    After: `%h` is an `arith.bitcast` of the rounded upper 16 bits of
    `arith.bitcast %x : f32 to i32` (NaN kept quiet).

    First, arith and math ops (and vector FMAs and reductions) on bf16
    compute in f32: their bf16 operands are extended and their bf16 results
    truncated (one rounding per op, as onnxruntime does), so that LLVM
    never promotes bf16 arithmetic itself.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def PrefetchWeights : Pass<"weft-cpu-prefetch-weights", "mlir::func::FuncOp"> {
  let summary = "Prefetch the next workgroup's filter slab while computing this one";
  let description = [{
    A workgroup of a blocked matmul or convolution reads one slab of a
    filter argument (index `f(wg, ivs)` of its first dimension, `wg` the
    workgroup id, `ivs` the induction variables of loops that pick one of
    the workgroup's slabs) once per register tile of rows. When the
    weights come from DRAM, the first of those passes waits on memory.
    For each loop nest that walks one slab (the consecutive `scf.for` ops
    with static bounds around a `vector.transfer_read` of an
    identity-layout argument, inside the loops that pick the slab; the
    read's other indices must not use the workgroup id), this pass inserts
    `memref.prefetch` ops (read, locality 2: into L2) of the slab at
    `min(f(wg + 1, ivs), last)`: at step t of the nest's T steps, line
    floor(t * L / T) of its L lines (up to 4 lines per step where L > T),
    computed with a multiply and a shift, so the next workgroup's slab
    arrives over the whole of this one's work instead of in one burst.
    Where the innermost loop's trip count is a multiple of 4 (at least 8)
    and a quarter of the steps still covers the lines, that loop is
    unrolled 4 times first: one prefetch, and one loop test, per four
    reduction steps.
    Slabs under `min-slab-bytes`
    are left to the hardware prefetchers.
  }];
  let options = [
    Option<"minSlabBytes", "min-slab-bytes", "int64_t", "16384",
           "Smallest slab (bytes) that gets prefetched">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect"];
}

def PlanScratch : Pass<"weft-cpu-plan-scratch", "mlir::func::FuncOp"> {
  let summary = "Move workgroup temporaries from the stack into planned memory";
  let description = [{
    Bufferization leaves each temporary a dispatch needs as a static
    `memref.alloca`. A workgroup may run on the application's own thread,
    whose stack Weft does not size, and a temporary can be as large as a
    whole output (a depthwise convolution, a keepdims reduction), so no
    kernel keeps one on the stack. Every alloca of a dispatch function gets
    an offset aligned to `alignment` in a per-workgroup block (whose size is
    a multiple of it); the function gets one
    more buffer argument, `memref<Sxi8>` with S = workgroups x block bytes,
    placed before the workgroup id, and each alloca becomes a `memref.view`
    at `workgroup_id * block + offset`. `weft.scratch_size` records S; the
    host passes a region at the end of the arena (shared by all dispatches,
    which run one after another). A dynamically sized alloca is an error.

    Before:
    ```mlir
    func.func private @d(%in: memref<8xf32>, %out: memref<8xf32>, %wg: index)
        attributes {weft.dispatch_fn, weft.workgroup_count = 2 : i64} {
      %t = memref.alloca() {alignment = 64 : i64} : memref<4xf32>
      ...
    }
    ```
    After:
    ```mlir
    func.func private @d(%in: memref<8xf32>, %out: memref<8xf32>,
                         %scratch: memref<128xi8>, %wg: index)
        attributes {weft.dispatch_fn, weft.scratch_size = 128 : i64, ...} {
      %off = arith.muli %wg, %c64 : index
      %t = memref.view %scratch[%off][] : memref<128xi8> to memref<4xf32>
      ...
    }
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of every temporary (the arena's alignment)">,
    Option<"maxWorkgroups", "max-workgroups", "int64_t", "0",
           "Plan only dispatches of at most this many workgroups (0: all); "
           "the CUDA backend keeps a GPU thread's temporaries in its local "
           "memory and plans only single-thread dispatches">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def BuildHost : Pass<"weft-cpu-build-host", "mlir::ModuleOp"> {
  let summary = "Emit the host entry that runs the dispatches through the runtime";
  let description = [{
    Replaces the planned entry function with an LLVM function
    `<name>_entry(device, arena, inputs, outputs) -> status` that computes each
    buffer's address (input, output, arena offset, or embedded weight),
    stores the bindings on the stack and calls `weft_device_dispatch` per
    dispatch, returning the first non-null status. Each dispatch function gets
    a `(bindings, workgroup_id)` wrapper matching `weft_workgroup_fn_t`.
    Weights become private constant globals.

    With `target=cuda` the dispatch functions are declarations left by
    `weft-cuda-outline-kernels`: each dispatch becomes a call to
    `weft_device_launch` with the kernel's index and launch shape, the entry
    is `<name>_device_entry(device, kernels, arena, weights, inputs,
    outputs)`, and the weights are packed into one constant blob
    (`<name>_weights`, each at an aligned offset) that the runtime copies to
    the device once; their addresses are offsets from the `weights`
    argument. The host's own reads and writes of tensor bytes (a run-time
    If's condition, a Loop's trip count, condition and states) go through
    `weft_device_read`, `weft_device_write` and `weft_device_copy`.
    A model split across devices gets `<name>_spmd_device_entry(groups,
    rank, device, kernels, arena, weights, inputs, outputs)`: its
    collectives pass device addresses to the group (NCCL on GPUs), and a
    pipeline's transfers are device addresses too. Weights that
    weft-partition stacked by parts along one grid axis are packed after
    the shared ones as one region per part (weft.weights_shared_size,
    weft.weight_part_size, weft.weight_part_of): a device holds the shared
    weights and its part, which the code addresses without the rank.
  }];
  let options = [
    Option<"modelName", "model-name", "std::string", "\"model\"",
           "Prefix of the emitted symbols">,
    Option<"target", "target", "std::string", "\"cpu\"",
           "cpu (dispatch functions run on the thread pool) or cuda "
           "(kernels launched on a CUDA device)">,
    Option<"hostKernels", "host-kernels", "bool", "false",
           "With target=cuda: the dispatch functions stay, each with its "
           "workgroup wrapper, listed in weft.host_kernels in kernel order, so "
           "that a CPU device runs the CUDA host program "
           "(--target=cuda-on-cpu)">,
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of the embedded weights">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def Bufferize : Pass<"weft-cpu-bufferize", "mlir::ModuleOp"> {
  let summary = "One-shot bufferization of the dispatch functions";
  let description = [{
    Runs upstream one-shot bufferization on every dispatch function only
    (the host function keeps its tensors until weft-cpu-build-host).
    Temporaries a workgroup needs become `memref.alloca`s, which
    weft-cpu-plan-scratch later moves into planned memory, so no kernel
    calls the allocator or grows the stack while the model runs.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
    "::mlir::bufferization::BufferizationDialect"];
}

#endif // WEFT_CODEGEN_CPU_PASSES_TD
