// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{tf32=true}))' | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{tf32=true},weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes),canonicalize,cse)' | FileCheck %s --check-prefix=GPU
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{workgroup-memory=false tf32=true},weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes{on-host=true}),canonicalize,cse)' | FileCheck %s --check-prefix=HOST
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{f16-mma=false}))' | FileCheck %s --check-prefix=NOMMA
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{tf32x3=true}))' | FileCheck %s --check-prefix=SPLIT
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{workgroup-memory=false tf32x3=true},weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes{on-host=true}),canonicalize,cse)' | FileCheck %s --check-prefix=SPLITHOST

// With TF32 tensor cores a 64 x 64 block of a 512 x 512 x 256 matmul
// (bias+relu epilogue) copies its 64 x 32 of A and 32 x 64 of B rounded to
// TF32 (the low 13 bits of the magnitude rounded away: + 0x1000, then
// & ~0x1fff; NaNs kept), and its 8 warps (`#gpu.warp`) each add the
// products of a 16 x 32 tile of the accumulator, one contraction marked
// weft.mma that keeps its shape (no register tiles). A's buffer rows (along
// the reduction) are 16 bytes longer than its data, B's (across it) 32
// bytes: a TF32 fragment's column of B then reads 4 rows x 8 neighbours
// on 32 distinct banks.
// TILE-LABEL: func.func private @matmul_epilogue
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: %[[ACC:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x72xf32>
// TILE: linalg.fill {{.*}} -> tensor<4x4xf32>
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x36xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x72xf32>
// TILE: scf.for %{{.*}} = %c0 to %c256 step %c32 iter_args(%[[IT:.*]] = %{{.*}})
// TILE: scf.forall (%{{.*}}) in (256)
// TILE: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x4xf32>) outs(%{{.*}} : tensor<1x4xf32>)
// TILE: %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// TILE: %[[UP:.*]] = arith.addi %[[BITS]], %c4096_i32 : i32
// TILE: %[[CUT:.*]] = arith.andi %[[UP]], %c-8192_i32 : i32
// TILE: arith.cmpf uno
// TILE: arith.bitcast %[[CUT]] : i32 to f32
// TILE: arith.select
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// TILE: scf.forall (%{{.*}}) in (256)
// TILE: arith.bitcast
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// TILE: scf.forall (%{{.*}}) in (8) shared_outs(%{{.*}} = %[[IT]])
// TILE: linalg.matmul {weft.mma = "tf32"} ins(%{{.*}}, %{{.*}} : tensor<16x32xf32>, tensor<32x32xf32>) outs(%{{.*}} : tensor<16x32xf32>)
// TILE: } {mapping = [#gpu.warp<linear_dim_0>]}
// TILE: arith.maximumf
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}

// On a GPU each warp's contraction becomes mma.sync m16n8k8 TF32 products
// on the shared buffers, its index the thread's over 32: each lane loads
// its sums (4 of each of the warp's four 16 x 8 tiles, as pairs) once,
// after the barrier that follows their initialization, and carries them
// through the loop of steps (16 loop results); per 8 reduction steps it
// loads A's 16 x 8 by ldmatrix (A's rows run along the reduction) and its
// 8 elements of B's 8 x 32 itself, and adds 4 products; after the loop it
// stores its sums, before the barrier of the epilogue that reads them. The
// step's buffers come in two copies (step i uses copy i % 2; one barrier
// per step): B's as a leading dimension of 2, A's second copy at the start
// of the accumulator's buffer (two copies of both would not fit in 48 KiB
// next to it), which the loop does not touch; a barrier after the loop
// comes before the sums are stored there. The loop is pipelined over its
// global reads (the next step's are issued after the step's barrier,
// before its products; the last step, in copy 1, follows the loop).
// GPU-LABEL: func.func private @matmul_epilogue
// GPU: %[[T:.*]] = gpu.thread_id x
// GPU: %[[W:.*]] = arith.divui %[[T]], %c32 : index
// GPU: %[[ACCW:.*]] = memref.alloca() {{.*}} : memref<64x72xf32, #gpu.address_space<workgroup>>
// GPU: %[[ACC:.*]] = memref.subview %[[ACCW]][0, 0] [64, 64] [1, 1]
// GPU: %[[AW:.*]] = memref.alloca() {{.*}} : memref<64x36xf32, #gpu.address_space<workgroup>>
// GPU: %[[BW:.*]] = memref.alloca() {{.*}} : memref<2x32x72xf32, #gpu.address_space<workgroup>>
// GPU: %[[C:.*]] = memref.subview %[[ACC]][%{{.*}}, %{{.*}}] [16, 32] [1, 1]
// GPU-NEXT: gpu.barrier
// GPU-COUNT-8: vector.load %[[C]]{{.*}} vector<2xf32>
// GPU: %[[A1:.*]] = memref.reinterpret_cast %[[ACCW]] to offset: [0], sizes: [64, 36], strides: [36, 1]
// GPU-COUNT-2: vector.transfer_read %arg0{{.*}} : memref<512x256xf32>, vector<4xf32>
// GPU-COUNT-2: vector.transfer_read %arg1{{.*}} : memref<256x512xf32>, vector<4xf32>
// GPU-NEXT: %[[SUMS:.*]]:20 = scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// GPU: arith.select %{{.*}}, %[[A1]], %[[AW]] : memref<64x36xf32, #gpu.address_space<workgroup>>
// GPU: vector.transfer_write
// GPU: memref.subview %[[BW]][%{{.*}}, 0, 0] [1, 32, 72] [1, 1, 1]
// GPU-COUNT-2: vector.transfer_write
// GPU-NEXT: gpu.barrier
// GPU: %[[NA:.*]] = vector.transfer_read %arg0
// GPU: %[[NA2:.*]] = vector.transfer_read %arg0
// GPU: %[[NB:.*]] = vector.transfer_read %arg1
// GPU: %[[NB2:.*]] = vector.transfer_read %arg1
// GPU: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : memref<16x32xf32, strided<[36, 1], offset: ?>, #gpu.address_space<workgroup>> -> vector<4x1xf32>
// GPU-COUNT-8: memref.load %{{.*}} : memref<32x32xf32, strided<[72, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU-COUNT-4: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 8>
// GPU: nvgpu.ldmatrix
// GPU-COUNT-4: nvvm.mma.sync
// GPU: nvgpu.ldmatrix
// GPU-COUNT-4: nvvm.mma.sync
// GPU: nvgpu.ldmatrix
// GPU-COUNT-4: nvvm.mma.sync
// GPU-NOT: nvvm.mma.sync
// GPU-NOT: gpu.barrier
// GPU: scf.yield {{.*}}, %[[NA]], %[[NA2]], %[[NB]], %[[NB2]] :
// GPU-NEXT: }
// The last step (copy 1: A's in the accumulator's buffer), after the loop.
// GPU: arith.bitcast %[[SUMS]]#16
// GPU: memref.subview %[[A1]][0, 0] [64, 32] [1, 1]
// GPU: arith.bitcast %[[SUMS]]#17
// GPU: arith.bitcast %[[SUMS]]#18
// GPU: arith.bitcast %[[SUMS]]#19
// GPU: gpu.barrier
// GPU: nvvm.mma.sync {{.*}} C[%[[SUMS]]#0, %[[SUMS]]#1, %[[SUMS]]#2, %[[SUMS]]#3]
// GPU-COUNT-15: nvvm.mma.sync
// GPU-NEXT: llvm.extractvalue
// GPU: gpu.barrier
// GPU-COUNT-8: vector.store {{.*}}, %[[C]]
// GPU: gpu.barrier
// GPU: vector.transfer_read %[[ACC]]
// GPU-NOT: weft.mma
// GPU: arith.maximumf
// GPU: return

// On a CPU the warp loop is a loop of 8 and the contraction a plain one on
// the rounded buffers.
// HOST-LABEL: func.func private @matmul_epilogue
// HOST-NOT: gpu.
// HOST: scf.for %{{.*}} = %c0 to %c256 step %c32
// HOST: arith.andi
// HOST: scf.for %{{.*}} = %c0 to %c8 step %c1
// HOST: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<16x32xf32, {{.*}}>, memref<32x32xf32, {{.*}}>) outs(%{{.*}} : memref<16x32xf32, {{.*}}>)
// HOST-NOT: weft.mma
// HOST-NOT: gpu.
// HOST: return

// With 3xTF32 the same blocks copy A and B as they are (no rounding) and
// mark the warps' contraction "3xtf32"; on a CPU it becomes a generic
// that splits each operand in two TF32 parts (four roundings) and adds
// the three products.
// SPLIT-LABEL: func.func private @matmul_epilogue
// SPLIT-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// SPLIT: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x36xf32>
// SPLIT: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x72xf32>
// SPLIT-NOT: arith.andi
// SPLIT: linalg.matmul {weft.mma = "3xtf32"} ins(%{{.*}}, %{{.*}} : tensor<16x32xf32>, tensor<32x32xf32>) outs(%{{.*}} : tensor<16x32xf32>)
// SPLITHOST-LABEL: func.func private @matmul_epilogue
// SPLITHOST: scf.for %{{.*}} = %c0 to %c256 step %c32
// SPLITHOST-NOT: arith.andi
// SPLITHOST: scf.for %{{.*}} = %c0 to %c8 step %c1
// SPLITHOST: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : memref<16x32xf32, {{.*}}>, memref<32x32xf32, {{.*}}>) outs(%{{.*}} : memref<16x32xf32, {{.*}}>)
// SPLITHOST-COUNT-4: arith.andi
// SPLITHOST-COUNT-3: arith.mulf
// SPLITHOST-NOT: weft.mma
// SPLITHOST: return

// A unit dimension between the block's rows and columns: each warp's
// operands are viewed without it (rank-reducing subviews; the
// accumulator's rows padded to 72).
// GPU-LABEL: func.func private @unit_inner
// GPU: memref.subview {{.*}} [16, 1, 32] [1, 1, 1] {{.*}} to memref<16x1x32xf32
// GPU: %[[C:.*]] = memref.subview {{.*}} [16, 1, 32] [1, 1, 1] {{.*}} to memref<16x32xf32, strided<[72, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU-COUNT-8: vector.load %[[C]]
// GPU-COUNT-32: nvvm.mma.sync
// GPU-COUNT-8: vector.store {{.*}}, %[[C]]

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#ua = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#ub = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#uc = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func private @matmul_epilogue(%arg0: memref<512x256xf32>, %arg1: memref<256x512xf32>, %arg2: memref<512xf32>, %arg3: memref<512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x256xf32> to tensor<512x256xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x512xf32> to tensor<256x512xf32>
  %bias = bufferization.to_tensor %arg2 restrict : memref<512xf32> to tensor<512xf32>
  %d = bufferization.to_tensor %arg3 restrict writable : memref<512x512xf32> to tensor<512x512xf32>
  %e = tensor.empty() : tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<512x256xf32>, tensor<256x512xf32>) outs(%f : tensor<512x512xf32>) -> tensor<512x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%m, %bias : tensor<512x512xf32>, tensor<512xf32>) outs(%d : tensor<512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %v = arith.maximumf %s, %zero : f32
    linalg.yield %v : f32
  } -> tensor<512x512xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<512x512xf32>, memref<512x512xf32>) -> ()
  return
}

func.func private @unit_inner(%arg0: memref<256x1x64xf32>, %arg1: memref<64x1024xf32>, %arg2: memref<256x1x1024xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<256x1x64xf32> to tensor<256x1x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<64x1024xf32> to tensor<64x1024xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<256x1x1024xf32> to tensor<256x1x1024xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<256x1x1024xf32>) -> tensor<256x1x1024xf32>
  %m = linalg.generic {indexing_maps = [#ua, #ub, #uc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<256x1x64xf32>, tensor<64x1024xf32>) outs(%f : tensor<256x1x1024xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<256x1x1024xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<256x1x1024xf32>, memref<256x1x1024xf32>) -> ()
  return
}

// An f16 matmul with f32 sums (as the lowering to linalg widens f16
// MatMuls) goes to the same blocks: its f16 operands copied as they are,
// each warp's contraction marked "f16", the f32 accumulator truncated to
// f16 by the epilogue. On a GPU, m16n16k16 fragments, two reduction steps
// of 16 per 32.
// TILE-LABEL: func.func private @half_matmul
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x72xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x40xf16>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x72xf16>
// TILE: linalg.copy ins(%{{.*}} : tensor<1x8xf16>)
// TILE: linalg.copy ins(%{{.*}} : tensor<1x8xf16>)
// TILE: scf.forall (%{{.*}}) in (8)
// TILE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x32xf16>, tensor<32x32xf16>) outs(%{{.*}} : tensor<16x32xf32>) attrs = {weft.mma = "f16"}
// TILE: } {mapping = [#gpu.warp<linear_dim_0>]}
// TILE: arith.truncf
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// GPU-LABEL: func.func private @half_matmul
// GPU: gpu.subgroup_mma_load_matrix {{.*}} -> !gpu.mma_matrix<16x16xf32, "COp">
// GPU: gpu.subgroup_mma_load_matrix {{.*}} -> !gpu.mma_matrix<16x16xf32, "COp">
// GPU: gpu.subgroup_mma_load_matrix %{{.*}}[%c0, %c0] {leadDimension = 40 : index} {{.*}} -> !gpu.mma_matrix<16x16xf16, "AOp">
// GPU-COUNT-2: gpu.subgroup_mma_load_matrix {{.*}} {leadDimension = 72 : index} {{.*}} -> !gpu.mma_matrix<16x16xf16, "BOp">
// GPU-COUNT-2: gpu.subgroup_mma_compute {{.*}} : !gpu.mma_matrix<16x16xf16, "AOp">, !gpu.mma_matrix<16x16xf16, "BOp"> -> !gpu.mma_matrix<16x16xf32, "COp">
// GPU: gpu.subgroup_mma_load_matrix %{{.*}}[%c0, %c16] {leadDimension = 40 : index} {{.*}} -> !gpu.mma_matrix<16x16xf16, "AOp">
// GPU-COUNT-2: gpu.subgroup_mma_compute
// GPU-COUNT-2: gpu.subgroup_mma_store_matrix
// GPU-NOT: gpu.subgroup_mma_compute
// GPU: return
// Without f16 tensor cores (a chip before sm_70) no block: 4 neighbouring
// outputs per thread.
// NOMMA-LABEL: func.func private @half_matmul
// NOMMA-NOT: weft.lanes
// NOMMA-SAME: weft.workgroup_count = 65536 : i64
// NOMMA-NOT: workgroup
// NOMMA: return

#ha = affine_map<(m, n, k) -> (m, k)>
#hb = affine_map<(m, n, k) -> (k, n)>
#hc = affine_map<(m, n, k) -> (m, n)>
func.func private @half_matmul(%arg0: memref<512x256xf16>, %arg1: memref<256x512xf16>, %arg2: memref<512x512xf16>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x256xf16> to tensor<512x256xf16>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x512xf16> to tensor<256x512xf16>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<512x512xf16> to tensor<512x512xf16>
  %e = tensor.empty() : tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.generic {indexing_maps = [#ha, #hb, #hc], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<512x256xf16>, tensor<256x512xf16>) outs(%f : tensor<512x512xf32>) {
  ^bb0(%x: f16, %y: f16, %o: f32):
    %xw = arith.extf %x : f16 to f32
    %yw = arith.extf %y : f16 to f32
    %p = arith.mulf %xw, %yw : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<512x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<512x512xf32>) outs(%d : tensor<512x512xf16>) {
  ^bb0(%x: f32, %o: f16):
    %t = arith.truncf %x : f32 to f16
    linalg.yield %t : f16
  } -> tensor<512x512xf16>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<512x512xf16>, memref<512x512xf16>) -> ()
  return
}
