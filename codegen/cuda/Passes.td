//===- Passes.td - CUDA codegen passes ---------------------*- tablegen -*-===//
#ifndef WEFT_CODEGEN_CUDA_PASSES_TD
#define WEFT_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def TileThreads : Pass<"weft-cuda-tile-threads", "mlir::func::FuncOp"> {
  let summary = "Split each dispatch into one GPU thread per output element or register tile";
  let description = [{
    The GPU strategy of every root op for now: the dispatch's root (the op
    whose result it writes out) is tiled on tensors with size 1 on each of
    its parallel loops of extent > 1, into an `scf.forall` whose iterations
    become GPU threads, and every other op of the dispatch is fused into the
    tile (a reduction is computed whole by the thread that needs it; a
    producer is recomputed per element). A large f32 contraction (B's
    columns contiguous) or NCHW convolution, alone or with an elementwise
    epilogue, gives each thread a register tile instead: up to 4 x 4
    outputs (rows x columns; output channels x output columns), the largest
    of a fixed list that divides the extents and leaves at least 16384
    threads, its iterations reordered so that each block of 256 threads
    is a 16 x 16 (or 8 x 32, 32 x 8) patch of tiles;
    `weft-cpu-tile-contractions{gpu-threads}` then reduces the tile one
    outer product per step. A matmul with 4 x 4 tiles whose rows and
    columns divide into 64 x 64 (or 32 x 128, 128 x 32) and whose
    reduction is a multiple of 32 (at least 64) goes to blocks instead
    (`weft.lanes = 256`, `weft.workgroup_count` the number of blocks): each
    id is a block's tile of the output, computed by loops of its 256
    threads (`scf.forall` mapped to `#gpu.thread<linear_dim_0>`) that
    initialize a shared accumulator (`bufferization.alloc_tensor` in
    `#gpu.address_space<workgroup>`, or plain with `workgroup-memory=false`),
    then, 32 reduction steps at a time, copy the block's rows of A and
    columns of B into shared buffers (8 neighbours per thread) and add
    their 4 x 4 tiles' products, and last compute their tiles of the
    output (the epilogue, or a copy). With `tf32` the copies round A and B
    to TF32 (10-bit mantissas, to nearest, ties away from zero) and the
    products are added by loops of the block's 8 warps (`scf.forall`
    mapped to `#gpu.warp<linear_dim_0>`), each a 16 x 32 tile of the
    accumulator as one contraction marked `weft.mma = "tf32"` (f32 A and B
    only); with `tf32x3` the copies are plain and the contractions marked
    `weft.mma = "3xtf32"`. A matmul of f16 A and B into f32 sums (an f16 MatMul, which the
    lowering to linalg widens) of the same sizes goes to such blocks with
    `f16-mma` (its copies plain, its warps' contractions marked
    `weft.mma = "f16"`), and to one output per thread otherwise. An elementwise root with at least 65536
    outputs gives each thread 4 neighbouring elements of the output's
    innermost dimension (when it is a multiple of 4). Loops along which a fused reduction is
    only broadcast (a softmax's or a normalization's row) stay whole in the
    tile: when the innermost of them is at least 64 long, the row goes to
    the 32 lanes of a warp (`weft.lanes = 32`): lane loops (`scf.forall`
    mapped to `#gpu.lane<linear_dim_0>`) compute each reduction's partials
    over the elements lane, lane + 32, ... of the row's whole multiples of
    32 from the combiner's identity (where the length n is not a multiple
    of 32, a lane loop of n % 32 iterations adds one of the remaining
    elements each), a linalg op marked `weft.lane_merge` combines them
    into the reduction's init, and last lane loops write each lane's
    share of the row (`weft-cuda-distribute-lanes` maps them);
    otherwise one thread takes the row when rows are long (>= 1024) or
    many (>= 2048), and one thread per element recomputes the reduction
    below both. A dispatch of one output per thread whose outputs each
    reduce at least 512 products (its root, or a contraction or
    convolution its elementwise root reads) along such a loop, with fewer
    than 65536 outputs, gives each output to a warp the same way: the
    lanes split the reduction, and a lane loop of one iteration (lane 0)
    computes the root's element and writes it (a reducing root reduces
    into a temporary, its init's producer cloned onto an empty tensor). `weft.workgroup_count` records the number of threads (of
    rows, under `weft.lanes`). When fusion would leave computing ops outside the
    loop, the dispatch stays whole and runs as one thread (count 1), which is
    correct but slow, and a warning at the dispatch says so when it writes
    4096 elements or more. Two rewrites come first so that common dispatches
    fuse whole: reshapes between elementwise ops and their producers are
    folded by expanding the elementwise ops (a grouped convolution computed
    on [N, G, C/G, ..] views keeps its epilogue in the same thread), and a
    Concat of dispatch inputs (an insert_slice chain into the output) becomes
    one gather over the output that reads each element from its piece.

    Before:
    ```mlir
    func.func private @d(%in: memref<4x8xf32>, %out: memref<4x8xf32>)
        attributes {weft.dispatch_fn} {
      ... %r = linalg.generic ... -> tensor<4x8xf32>
      bufferization.materialize_in_destination %r in %out ...
    }
    ```
    After:
    ```mlir
    func.func private @d(...) attributes {weft.dispatch_fn,
                                          weft.workgroup_count = 32 : i64} {
      %r = scf.forall (%i, %j) in (4, 8) shared_outs(%o = %t) -> tensor<4x8xf32> {
        ... linalg.generic on tensor<1x1xf32> ...
      }
      ...
    }
    ```
  }];
  let options = [
    Option<"workgroupMemory", "workgroup-memory", "bool", "true",
           "Put the buffers a block's threads share in GPU workgroup (shared) "
           "memory; off for --target=cuda-on-cpu, where they are ordinary "
           "temporaries">,
    Option<"tf32", "tf32", "bool", "false",
           "A block's matmul runs on tensor cores: its staged A and B "
           "rounded to TF32, its products added by warps (weftc --cuda-tf32)">,
    Option<"tf32x3", "tf32x3", "bool", "false",
           "A block's matmul runs on tensor cores to about f32's precision: "
           "its warps split each f32 operand into two TF32 parts and add "
           "three products (weftc --cuda-3xtf32)">,
    Option<"f16Mma", "f16-mma", "bool", "true",
           "A large matmul of f16 operands (f32 sums) goes to blocks whose "
           "warps add its products on tensor cores (off where a target "
           "chip predates sm_70)">,
    Option<"bf16Mma", "bf16-mma", "bool", "true",
           "The same for a matmul of bf16 operands (off where a target "
           "chip predates sm_80)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect", "::mlir::affine::AffineDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def DistributeLanes : Pass<"weft-cuda-distribute-lanes", "mlir::func::FuncOp"> {
  let summary = "Run a dispatch's lane loops on the lanes of a warp, or as loops on a CPU";
  let description = [{
    After bufferization and `weft-cpu-distribute-workgroups`, a dispatch
    that `weft-cuda-tile-threads` gave to warps (`weft.lanes = 32`: one
    row per workgroup id, shared by 32 lanes) holds lane loops
    (`scf.forall` mapped to `#gpu.lane<linear_dim_0>`) and merges of the
    lanes' partial reductions (linalg ops marked `weft.lane_merge`). For a
    GPU, each lane loop's body runs once per lane (its index is
    `gpu.lane_id`; a loop of fewer iterations than 32 runs on the first
    lanes only), and each merge reads the lane's partial, combines the
    32 partials with five `gpu.shuffle xor` steps (every lane holds the
    total) and combines that into the reduction's init. A dispatch that
    writes its buffers outside its lane loops (which all lanes would do at
    once) is left to one thread per row instead: its lane loops become
    loops and `weft.lanes` is dropped. With `on-host` (for
    `--target=cuda-on-cpu`) every lane loop becomes an `scf.for`, and the
    merges stay loops over the partials. A dispatch of blocks
    (`weft.lanes = 256`) holds loops of a block's threads (`scf.forall`
    mapped to `#gpu.thread<linear_dim_0>`): for a GPU each runs once per
    thread (`gpu.thread_id x`; a loop of fewer than 256 iterations on the
    first threads), with a `gpu.barrier` before each loop that reads
    workgroup memory and at the end of each loop body holding one; on the
    host they become loops. In such a dispatch a warp's contraction marked
    `weft.mma` runs on tensor cores: WMMA fragment loads, products and
    stores for "tf32" and "f16", and for "bf16" (which the gpu dialect's
    WMMA types do not cover) `nvgpu.ldmatrix` fragment loads and m16n8k16
    `nvvm.mma.sync` products whose f32 sums each lane loads and stores
    itself. Inside a block's loop of reduction steps, the warp's sums are
    loaded once before the loop, carried through it in registers (loop
    results) and stored once after it; so is an FMA block's thread tile of
    the accumulator (a vector read and write of it at loop-invariant
    indices). A gather that the block's threads compute per step into a
    shared buffer (a convolution's columns) becomes one load per element
    and a vector write. On a GPU such a loop of steps is
    then software-pipelined over its reads of global memory (the next
    step's are issued before the step's products, the values written to
    shared memory at the top of the next step); where shared memory holds
    two copies of the step's buffers, step i uses copy i % 2 and one
    barrier per step is left, and with `async-copies` the plain copies
    from global to shared memory are `nvgpu.device_async_copy` (cp.async)
    groups, waited for before that barrier. On the host it stays a loop
    nest.

    Before:
    ```mlir
    scf.forall (%l) in (32) {
      ... partial of lane %l into %p[%l, 0] ...
    } {mapping = [#gpu.lane<linear_dim_0>]}
    linalg.generic {weft.lane_merge, ...} ins(%p : memref<32x1xf32>)
        outs(%sum : memref<1xf32>) { arith.addf ... }
    ```
    After (GPU):
    ```mlir
    %l = gpu.lane_id
    ... partial of lane %l into %p[%l, 0] ...
    %v = memref.load %p[%l, %c0]
    %s16, %ok = gpu.shuffle xor %v, %c16, %c32 : f32
    %v16 = arith.addf %s16, %v : f32
    ... (8, 4, 2, 1) ...
    memref.store (%init + %total), %sum[%c0]
    ```
  }];
  let options = [
    Option<"onHost", "on-host", "bool", "false",
           "Lane loops become loops on the CPU (--target=cuda-on-cpu)">,
    Option<"asyncCopies", "async-copies", "bool", "false",
           "Blocks copy global memory to shared memory with cp.async "
           "(every chip sm_80 or newer)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect", "::mlir::vector::VectorDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def UnrollPrivateLoops : Pass<"weft-cuda-unroll-private-loops", "mlir::gpu::GPUModuleOp"> {
  let summary = "Unroll the short loops that index a thread's private arrays";
  let description = [{
    A thread's private arrays (`memref.alloca` in the default memory space:
    a lane's share of a normalized row, its partial sums) live in
    registers only when every access is at a constant index; otherwise
    ptxas puts them on the stack, in local memory. After
    `convert-linalg-to-loops` the loops over such arrays index them with
    their induction variable, and LLVM unrolls them only while their body
    is small: a layer normalization that recomputes a split sum, a bias
    add and a residual add in each of its three passes got 1008 bytes of
    stack on sm_90. This pass fully unrolls, innermost first, each
    `scf.for` with a constant trip count of at most `max-trips` whose
    induction variable reaches an access of a private array (a load, a
    store, a vector transfer or a view of it), while the unrolled body
    stays within `max-ops` operations.

    Before:
    ```mlir
    %a = memref.alloca() : memref<24xf32>
    scf.for %i = %c0 to %c24 step %c1 {
      %x = memref.load %src[%i] : memref<24xf32, strided<[32], offset: ?>>
      memref.store %x, %a[%i] : memref<24xf32>
    }
    ```
    After: 24 loads and stores at constant indices of `%a`.
  }];
  let options = [
    Option<"maxTrips", "max-trips", "int64_t", "32",
           "The longest loop unrolled">,
    Option<"maxOps", "max-ops", "int64_t", "4096",
           "The most operations an unrolled loop's body may hold">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def OutlineKernels : Pass<"weft-cuda-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Move every distributed dispatch function into a gpu.module as a kernel";
  let description = [{
    After bufferization and `weft-cpu-distribute-workgroups`, a dispatch
    function `@d(buffers..., %id: index)` runs iteration `%id`. This pass
    creates `gpu.module @<model>_kernels` with one `#nvvm.target` per chip,
    and gives each dispatch a `gpu.func` kernel taking the buffers, whose
    thread computes `%id = block_id.x * block_dim.x + thread_id.x` and runs
    the body when `%id < weft.workgroup_count` (under `weft.lanes = 32`,
    32 threads per id: `%id` is the global index over 32; under
    `weft.lanes = 256`, one block per id: `%id` is `block_id.x`, with no
    range check, and every workgroup-memory `memref.alloca` of the body
    becomes a workgroup attribution of the kernel, 32-byte aligned (WMMA
    fragments need it), whose
    type carries NVVM's shared address space, 3). Each buffer
    argument carries `llvm.align = 16` (every buffer starts on that grid:
    arena and weight offsets, caller buffers the runtime checks), except
    one that may be a rank's part of a `shard.all_slice` whose bytes are
    not a multiple of 16. Float multiplies, adds and subtracts in kernels
    carry `fastmath<contract>`, so LLVM fuses them into FMAs. Constant
    globals the body reads are copied into the GPU module. The dispatch function becomes a
    private declaration with `weft.kernel_index` and `weft.launch = [blocks,
    threads]`, which `weft-cpu-build-host` (target cuda) turns into a
    launch.

    Before:
    ```mlir
    func.func private @d(%a: memref<8xf32>, %id: index)
        attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64} { ... }
    ```
    After:
    ```mlir
    gpu.module @m_kernels [#nvvm.target<chip = "sm_90">] {
      gpu.func @d(%a: memref<8xf32>) kernel { ... }
    }
    func.func private @d(memref<8xf32>, index) attributes {weft.dispatch_fn,
        weft.kernel_index = 0 : i64, weft.launch = array<i64: 1, 32>}
    ```
  }];
  let options = [
    Option<"modelName", "model-name", "std::string", "\"model\"",
           "Prefix of the GPU module's name">,
    ListOption<"chips", "chips", "std::string",
               "CUDA architectures to compile for (sm_90 when empty)">,
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "256",
           "Threads of each block (a multiple of 32, at most 1024)">,
    Option<"onHost", "on-host", "bool", "false",
           "Number the kernels and give each a launch of `count` blocks of "
           "one thread, but leave the functions on the host, where the CPU "
           "thread pool runs them as workgroups (--target=cuda-on-cpu)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def EmbedImage : Pass<"weft-cuda-embed-image", "mlir::ModuleOp"> {
  let summary = "Turn the compiled gpu.binary into constant bytes of the host object";
  let description = [{
    `gpu-module-to-binary` leaves `gpu.binary @<model>_kernels` with one
    object (a fatbin: the cubin and the PTX) per target chip. Each object
    becomes a private constant `llvm.mlir.global` of bytes in section
    `.nv_fatbin` (where `cuobjdump` finds it in the object file), and the
    module records `weft.device_images` (chip, global name, bytes) and
    `weft.kernel_names` for the model description. The runtime loads the
    image with the CUDA driver; nothing calls upstream's GPU runtime
    wrappers.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // WEFT_CODEGEN_CUDA_PASSES_TD
