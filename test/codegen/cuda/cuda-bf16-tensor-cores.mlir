// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes),canonicalize,cse)' | FileCheck %s --check-prefix=GPU
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{workgroup-memory=false},weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes{on-host=true}),canonicalize,cse)' | FileCheck %s --check-prefix=HOST
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{bf16-mma=false}))' | FileCheck %s --check-prefix=NOMMA

// A bf16 matmul with f32 sums (as the lowering to linalg widens bf16
// MatMuls) takes the blocks of f16 ones: 64 x 64 blocks, its bf16 operands
// copied into shared buffers as they are (8 per thread), each warp's
// 16 x 32 of the f32 accumulator one contraction marked "bf16".
// TILE-LABEL: func.func private @bf16_matmul
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x72xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x40xbf16>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x72xbf16>
// TILE: scf.for %{{.*}} = %c0 to %c256 step %c32
// TILE: linalg.copy ins(%{{.*}} : tensor<1x8xbf16>) outs(%{{.*}} : tensor<1x8xbf16>)
// TILE: linalg.copy ins(%{{.*}} : tensor<1x8xbf16>) outs(%{{.*}} : tensor<1x8xbf16>)
// TILE: scf.forall (%{{.*}}) in (8)
// TILE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x32xbf16>, tensor<32x32xbf16>) outs(%{{.*}} : tensor<16x32xf32>) attrs = {weft.mma = "bf16"}
// TILE: } {mapping = [#gpu.warp<linear_dim_0>]}
// TILE: arith.truncf {{.*}} to bf16

// On a GPU (the gpu dialect's WMMA has no bf16 fragments) each lane loads
// its f32 sums in pairs (rows lane/4 and lane/4 + 8, columns 2 (lane % 4)
// of each 16 x 8 tile) once, after the barrier that follows their
// initialization, and carries them through the loop of reduction steps in
// registers (16 loop results); per 16 reduction steps one ldmatrix.x4 of A
// (lane l names row l % 16 at column 8 (l / 16)) and one transposed
// ldmatrix.x4 of B for each 16 of its columns (its rows run along the
// reduction), four m16n8k16 mma.sync products; after the loop the lane
// stores its pairs, before the barrier of the epilogue that reads them.
// The step's buffers are doubled (step i uses copy i % 2; one barrier per
// step) and the loop is pipelined over its global reads: the next step's
// bf16 operands are read (into registers, loop results) after the step's
// barrier, before its products, and written to shared memory at the top
// of the next step.
// GPU-DAG: #[[G:.*]] = affine_map<()[s0] -> (s0 floordiv 4)>
// GPU-DAG: #[[G8:.*]] = affine_map<()[s0] -> (s0 floordiv 4 + 8)>
// GPU-DAG: #[[T2:.*]] = affine_map<()[s0] -> (s0 * 2 - (s0 floordiv 4) * 8)>
// GPU-DAG: #[[ROW:.*]] = affine_map<()[s0] -> (s0 mod 16)>
// GPU-DAG: #[[COL:.*]] = affine_map<()[s0] -> ((s0 floordiv 16) * 8)>
// GPU-DAG: #[[COL16:.*]] = affine_map<()[s0] -> ((s0 floordiv 16) * 8 + 16)>
// GPU-DAG: #[[ROW16:.*]] = affine_map<()[s0] -> (s0 mod 16 + 16)>
// GPU-LABEL: func.func private @bf16_matmul
// GPU: %[[ACCW:.*]] = memref.alloca() {{.*}} : memref<64x72xf32, #gpu.address_space<workgroup>>
// GPU: %[[ACC:.*]] = memref.subview %[[ACCW]][0, 0] [64, 64] [1, 1]
// GPU: vector.transfer_write %{{.*}} : vector<4x4xf32>
// GPU: %[[AW:.*]] = memref.alloca() {{.*}} : memref<2x64x40xbf16, #gpu.address_space<workgroup>>
// GPU: %[[BW:.*]] = memref.alloca() {{.*}} : memref<2x32x72xbf16, #gpu.address_space<workgroup>>
// GPU: %[[C:.*]] = memref.subview %[[ACC]][%{{.*}}, %{{.*}}] [16, 32] [1, 1]
// GPU-NEXT: gpu.barrier
// GPU-NEXT: %[[L:.*]] = gpu.lane_id upper_bound 32
// GPU: %[[GR:.*]] = affine.apply #[[G]]()[%[[L]]]
// GPU: %[[TC:.*]] = affine.apply #[[T2]]()[%[[L]]]
// GPU: vector.load %[[C]][%[[GR]], %[[TC]]] : {{.*}}, vector<2xf32>
// GPU: %[[GR8:.*]] = affine.apply #[[G8]]()[%[[L]]]
// GPU: vector.load %[[C]][%[[GR8]], %[[TC]]] : {{.*}}, vector<2xf32>
// GPU-COUNT-6: vector.load %[[C]]
// The lanes' fragment rows and columns, the same at every step:
// GPU: %[[R:.*]] = affine.apply #[[ROW]]()[%[[L]]]
// GPU: %[[K:.*]] = affine.apply #[[COL]]()[%[[L]]]
// GPU: %[[N16:.*]] = affine.apply #[[COL16]]()[%[[L]]]
// GPU: %[[R16:.*]] = affine.apply #[[ROW16]]()[%[[L]]]
// GPU: vector.transfer_read %arg0
// GPU: vector.transfer_read %arg1
// GPU: %[[SUMS:.*]]:18 = scf.for %[[STEP:.*]] = {{.*}} iter_args(
// GPU-NOT: %[[C]]
// GPU: %[[CP:.*]] = affine.apply #{{.*}}(%[[STEP]])
// GPU: %[[AC:.*]] = memref.subview %[[AW]][%[[CP]], 0, 0] [1, 64, 40] [1, 1, 1]
// GPU: %[[AS:.*]] = memref.subview %[[AC]][0, 0] [64, 32] [1, 1]
// GPU: vector.transfer_write
// GPU: %[[BC:.*]] = memref.subview %[[BW]][%[[CP]], 0, 0] [1, 32, 72] [1, 1, 1]
// GPU: %[[BS:.*]] = memref.subview %[[BC]][0, 0] [32, 64] [1, 1]
// GPU: vector.transfer_write
// GPU-NEXT: gpu.barrier
// GPU: vector.transfer_read %arg0
// GPU: vector.transfer_read %arg1
// GPU: %[[A:.*]] = memref.subview %[[AS]][%{{.*}}, 0] [16, 32] [1, 1]
// GPU: %[[FA:.*]] = nvgpu.ldmatrix %[[A]][%[[R]], %[[K]]] {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xbf16>
// GPU: vector.extract %[[FA]][0] : vector<2xbf16> from vector<4x2xbf16>
// GPU: vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// GPU: %[[B:.*]] = memref.subview %[[BS]][0, %{{.*}}] [32, 32] [1, 1]
// GPU: nvgpu.ldmatrix %[[B]][%[[R]], %[[K]]] {numTiles = 4 : i32, transpose = true}
// GPU: nvgpu.ldmatrix %[[B]][%[[R]], %[[N16]]] {numTiles = 4 : i32, transpose = true}
// GPU: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// GPU-COUNT-3: nvvm.mma.sync
// GPU: nvgpu.ldmatrix %[[A]][%[[R]], %[[N16]]] {numTiles = 4 : i32, transpose = false}
// GPU: nvgpu.ldmatrix %[[B]][%[[R16]], %[[K]]] {numTiles = 4 : i32, transpose = true}
// GPU: nvgpu.ldmatrix %[[B]][%[[R16]], %[[N16]]] {numTiles = 4 : i32, transpose = true}
// GPU-COUNT-4: nvvm.mma.sync
// GPU-NOT: gpu.barrier
// GPU: scf.yield
// The last step after the loop (the loop is pipelined over its global
// reads: 8 steps, the last in copy 1), its first products on the loop's
// sums.
// GPU: memref.subview %[[AW]][1, 0, 0] [1, 64, 40] [1, 1, 1]
// GPU: vector.transfer_write %[[SUMS]]#16
// GPU: memref.subview %[[BW]][1, 0, 0] [1, 32, 72] [1, 1, 1]
// GPU: vector.transfer_write %[[SUMS]]#17
// GPU: gpu.barrier
// GPU: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[%[[SUMS]]#0, %[[SUMS]]#1, %[[SUMS]]#2, %[[SUMS]]#3]
// GPU-COUNT-7: nvvm.mma.sync
// GPU-NOT: gpu.barrier
// GPU: %[[P:.*]] = vector.from_elements
// GPU: vector.store %[[P]], %[[C]][%[[GR]], %[[TC]]]
// GPU-COUNT-7: vector.store %{{.*}}, %[[C]]
// GPU-NOT: linalg.generic {{.*}}weft.mma
// GPU: gpu.barrier
// GPU: arith.truncf

// On a CPU the warps' contractions stay loops: bf16 products are exact in
// f32, so only the order of the sums differs from the GPU's.
// HOST-LABEL: func.func private @bf16_matmul
// HOST-NOT: gpu.lane_id
// HOST-NOT: nvgpu
// HOST-NOT: weft.mma
// HOST: return

// Without bf16 tensor cores (a chip before sm_80) no block: 4
// neighbouring outputs per thread.
// NOMMA-LABEL: func.func private @bf16_matmul
// NOMMA-NOT: weft.lanes
// NOMMA-SAME: weft.workgroup_count = 65536 : i64
// NOMMA-NOT: address_space<workgroup>
// NOMMA: return

#id = affine_map<(d0, d1) -> (d0, d1)>
#ha = affine_map<(m, n, k) -> (m, k)>
#hb = affine_map<(m, n, k) -> (k, n)>
#hc = affine_map<(m, n, k) -> (m, n)>
func.func private @bf16_matmul(%arg0: memref<512x256xbf16>, %arg1: memref<256x512xbf16>, %arg2: memref<512x512xbf16>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x256xbf16> to tensor<512x256xbf16>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x512xbf16> to tensor<256x512xbf16>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<512x512xbf16> to tensor<512x512xbf16>
  %e = tensor.empty() : tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.generic {indexing_maps = [#ha, #hb, #hc], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<512x256xbf16>, tensor<256x512xbf16>) outs(%f : tensor<512x512xf32>) {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xw = arith.extf %x : bf16 to f32
    %yw = arith.extf %y : bf16 to f32
    %p = arith.mulf %xw, %yw : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<512x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<512x512xf32>) outs(%d : tensor<512x512xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<512x512xbf16>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<512x512xbf16>, memref<512x512xbf16>) -> ()
  return
}
