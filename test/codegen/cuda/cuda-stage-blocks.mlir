// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes),canonicalize,cse)' | FileCheck %s --check-prefix=GPU
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes{async-copies=true}),canonicalize,cse)' | FileCheck %s --check-prefix=ASYNC
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{workgroup-memory=false},weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes{on-host=true}),canonicalize,cse)' | FileCheck %s --check-prefix=HOST

// A 512 x 512 x 256 matmul with a bias+relu epilogue goes to 64 blocks of
// 256 threads, each block a 64 x 64 tile of the output: the threads
// initialize a shared accumulator (4 x 4 each), then per 32 reduction
// steps copy the block's 64 x 32 of A and 32 x 64 of B into shared buffers
// and add their tiles' products, and last apply the
// epilogue to their tiles. The buffers' rows are 16 bytes longer than a
// step's data (64 x 36 and 32 x 68), which is a slice of them: column
// reads down their rows then fall on distinct shared-memory banks. Each
// thread copies 8 elements of each, 4 neighbours (16 bytes) at a time in
// two rounds, thread t's piece of round r the (256 r + t)-th: a warp's
// 32 pieces of a round lie next to each other (whole sectors of global
// memory, every bank of shared memory once).
// TILE-DAG: #[[ROW1:.*]] = affine_map<()[s0] -> (s0 floordiv 8)>
// TILE-DAG: #[[ROW2:.*]] = affine_map<()[s0] -> (s0 floordiv 8 + 32)>
// TILE-LABEL: func.func private @matmul_epilogue
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (512, 512) step (64, 64)
// TILE: %[[ACC:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x64xf32>
// TILE: %[[INIT:.*]] = scf.forall (%{{.*}}) in (256) shared_outs(%{{.*}} = %[[ACC]])
// TILE: linalg.fill {{.*}} -> tensor<4x4xf32>
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// TILE: %[[AW:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x36xf32>
// TILE: %[[AS:.*]] = tensor.extract_slice %[[AW]][0, 0] [64, 32] [1, 1] : tensor<64x36xf32> to tensor<64x32xf32>
// TILE: %[[BW:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x68xf32>
// TILE: %[[BS:.*]] = tensor.extract_slice %[[BW]][0, 0] [32, 64] [1, 1] : tensor<32x68xf32> to tensor<32x64xf32>
// TILE: %[[SUM:.*]] = scf.for %{{.*}} = %c0 to %c256 step %c32 iter_args(%[[IT:.*]] = %[[INIT]])
// TILE: %[[A1:.*]] = scf.forall (%[[T:.*]]) in (256) shared_outs(%{{.*}} = %[[AS]])
// TILE: affine.apply #[[ROW1]]()[%[[T]]]
// TILE: linalg.copy ins(%{{.*}} : tensor<1x4xf32>)
// TILE: %[[A:.*]] = scf.forall (%[[T2:.*]]) in (256) shared_outs(%{{.*}} = %[[A1]])
// TILE: affine.apply #[[ROW2]]()[%[[T2]]]
// TILE: linalg.copy ins(%{{.*}} : tensor<1x4xf32>)
// TILE: %[[B1:.*]] = scf.forall (%{{.*}}) in (256) shared_outs(%{{.*}} = %[[BS]])
// TILE: linalg.copy ins(%{{.*}} : tensor<1x4xf32>)
// TILE: %[[B:.*]] = scf.forall (%{{.*}}) in (256) shared_outs(%{{.*}} = %[[B1]])
// TILE: linalg.copy ins(%{{.*}} : tensor<1x4xf32>)
// TILE: scf.forall (%{{.*}}) in (256) shared_outs(%{{.*}} = %[[IT]])
// TILE: tensor.extract_slice %[[A]][%{{.*}}, 0] [4, 32] [1, 1]
// TILE: tensor.extract_slice %[[B]][0, %{{.*}}] [32, 4] [1, 1]
// TILE: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x32xf32>, tensor<32x4xf32>) outs(%{{.*}} : tensor<4x4xf32>)
// TILE: scf.yield
// TILE: scf.forall (%{{.*}}) in (256) shared_outs
// TILE: tensor.extract_slice %[[SUM]]
// TILE: arith.maximumf
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}

// On a GPU the thread loops run on the block's threads (gpu.thread_id).
// Each thread's 4 x 4 tile of the accumulator stays in registers from its
// init (zeros) through the loop of steps to the epilogue: the
// accumulator's shared buffer, which only its own thread read back, is
// gone (forwardThreadTiles), and with it the barriers around the
// epilogue. The buffers of A and B are allocated once, in workgroup
// memory, twice over (step i uses copy i % 2): one barrier per step, after
// its copies and before its products; the next step's copies go to the
// other copy, which the products of the step before read, and the
// barrier saw those done. The loop is software-pipelined over its global
// reads: the first step's reads come before the loop; each step writes
// the values read one step earlier into its copy, then after the barrier
// reads the next step's (in flight while it adds its products); the last
// step's products (copy 1: 8 steps) follow the loop.
// GPU-LABEL: func.func private @matmul_epilogue
// GPU: %[[T:.*]] = gpu.thread_id x
// GPU-NOT: memref<64x64xf32, #gpu.address_space<workgroup>>
// GPU: %[[AW:.*]] = memref.alloca() {{.*}} : memref<2x64x36xf32, #gpu.address_space<workgroup>>
// GPU: %[[BW:.*]] = memref.alloca() {{.*}} : memref<2x32x68xf32, #gpu.address_space<workgroup>>
// GPU: %[[A0:.*]] = vector.transfer_read %arg0{{.*}} : memref<512x256xf32>, vector<4xf32>
// GPU: %[[A0B:.*]] = vector.transfer_read %arg0{{.*}} : memref<512x256xf32>, vector<4xf32>
// GPU: %[[B0:.*]] = vector.transfer_read %arg1{{.*}} : memref<256x512xf32>, vector<4xf32>
// GPU: %[[B0B:.*]] = vector.transfer_read %arg1{{.*}} : memref<256x512xf32>, vector<4xf32>
// GPU: %[[NEXT:.*]]:5 = scf.for %[[K:.*]] = %c0 to %c224 step %c32 iter_args(%[[SUM:.*]] = %cst{{.*}}, %[[AV:.*]] = %[[A0]], %[[AVB:.*]] = %[[A0B]], %[[BV:.*]] = %[[B0]], %[[BVB:.*]] = %[[B0B]]) -> (vector<4x4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// GPU: %[[C:.*]] = affine.apply #{{.*}}(%[[K]])
// GPU: memref.subview %[[AW]][%[[C]], 0, 0] [1, 64, 36] [1, 1, 1]
// GPU: vector.transfer_write %[[AV]], {{.*}} : vector<4xf32>, memref<1x4xf32, strided<[36, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU: vector.transfer_write %[[AVB]], {{.*}} : vector<4xf32>, memref<1x4xf32, strided<[36, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU: memref.subview %[[BW]][%[[C]], 0, 0] [1, 32, 68] [1, 1, 1]
// GPU: vector.transfer_write %[[BV]], {{.*}} : vector<4xf32>, memref<1x4xf32, strided<[68, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU: vector.transfer_write %[[BVB]], {{.*}} : vector<4xf32>, memref<1x4xf32, strided<[68, 1], offset: ?>, #gpu.address_space<workgroup>>
// GPU-NEXT: gpu.barrier
// GPU: arith.addi %[[K]], %c32
// GPU: %[[A1:.*]] = vector.transfer_read %arg0{{.*}} : memref<512x256xf32>, vector<4xf32>
// GPU: %[[A1B:.*]] = vector.transfer_read %arg0{{.*}} : memref<512x256xf32>, vector<4xf32>
// GPU: %[[B1:.*]] = vector.transfer_read %arg1{{.*}} : memref<256x512xf32>, vector<4xf32>
// GPU: %[[B1B:.*]] = vector.transfer_read %arg1{{.*}} : memref<256x512xf32>, vector<4xf32>
// GPU-NOT: gpu.barrier
// GPU: %[[ADDED:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[SUM]]) -> (vector<4x4xf32>)
// GPU: vector.transfer_read {{.*}} vector<4x4xf32>
// GPU: vector.transfer_read {{.*}} vector<4x4xf32>
// GPU: vector.contract
// GPU-NOT: gpu.barrier
// GPU: scf.yield %[[ADDED]], %[[A1]], %[[A1B]], %[[B1]], %[[B1B]]
// GPU-NEXT: }
// GPU: memref.subview %[[AW]][1, 0, 0] [1, 64, 36] [1, 1, 1]
// GPU: vector.transfer_write %[[NEXT]]#1
// GPU: vector.transfer_write %[[NEXT]]#2
// GPU: vector.transfer_write %[[NEXT]]#3
// GPU: vector.transfer_write %[[NEXT]]#4
// GPU-NEXT: gpu.barrier
// GPU: %[[LAST:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[NEXT]]#0)
// GPU: vector.contract
// GPU-NOT: gpu.barrier
// GPU-NOT: #gpu.address_space<workgroup>
// GPU: %[[BIASED:.*]] = arith.addf %[[LAST]]
// GPU: arith.maximumf %[[BIASED]]
// GPU: vector.transfer_write {{.*}} : vector<4x4xf32>, memref<4x4xf32, strided<[512, 1], offset: ?>>
// GPU-NEXT: return

// Where every chip has cp.async (async-copies), the copies go from global
// to shared memory without the threads' registers, 16 bytes each (both
// addresses 16-byte aligned: rows of 256 and 512 floats, of 36 and 68
// floats in the buffers), one group per step: issued after the step's
// barrier, into the other copy, and waited for before the next barrier.
// ASYNC-LABEL: func.func private @matmul_epilogue
// ASYNC: %[[AW:.*]] = memref.alloca() {{.*}} : memref<2x64x36xf32, #gpu.address_space<workgroup>>
// ASYNC: %[[BW:.*]] = memref.alloca() {{.*}} : memref<2x32x68xf32, #gpu.address_space<workgroup>>
// ASYNC: %[[C0:.*]] = nvgpu.device_async_copy %arg0[{{.*}}], %{{.*}}[%c0, %c0], 4 {bypassL1} : memref<512x256xf32> to memref<1x4xf32, strided<[36, 1], offset: ?>, #gpu.address_space<workgroup>>
// ASYNC: %[[C1:.*]] = nvgpu.device_async_copy %arg0
// ASYNC: %[[C2:.*]] = nvgpu.device_async_copy %arg1[{{.*}}], %{{.*}}[%c0, %c0], 4 {bypassL1} : memref<256x512xf32> to memref<1x4xf32, strided<[68, 1], offset: ?>, #gpu.address_space<workgroup>>
// ASYNC: %[[C3:.*]] = nvgpu.device_async_copy %arg1
// ASYNC: %[[G0:.*]] = nvgpu.device_async_create_group %[[C0]], %[[C1]], %[[C2]], %[[C3]]
// ASYNC: %[[NEXT:.*]]:2 = scf.for %[[K:.*]] = %c0 to %c224 step %c32 iter_args(%[[SUM:.*]] = %cst{{.*}}, %[[G:.*]] = %[[G0]]) -> (vector<4x4xf32>, !nvgpu.device.async.token)
// ASYNC-NEXT: nvgpu.device_async_wait %[[G]] {numGroups = 0 : i32}
// ASYNC-NEXT: gpu.barrier
// ASYNC: %[[K1:.*]] = arith.addi %[[K]], %c32
// ASYNC: %[[C:.*]] = affine.apply #{{.*}}(%[[K1]])
// ASYNC: memref.subview %[[AW]][%[[C]], 0, 0] [1, 64, 36] [1, 1, 1]
// ASYNC-COUNT-4: nvgpu.device_async_copy
// ASYNC: %[[G1:.*]] = nvgpu.device_async_create_group
// ASYNC-NOT: gpu.barrier
// ASYNC: %[[ADDED:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[SUM]]) -> (vector<4x4xf32>)
// ASYNC: vector.contract
// ASYNC-NOT: gpu.barrier
// ASYNC: scf.yield %[[ADDED]], %[[G1]]
// ASYNC-NEXT: }
// ASYNC-NEXT: nvgpu.device_async_wait %[[NEXT]]#1 {numGroups = 0 : i32}
// ASYNC-NEXT: gpu.barrier
// ASYNC: scf.for {{.*}} iter_args(%{{.*}} = %[[NEXT]]#0)
// ASYNC: vector.contract
// ASYNC-NOT: gpu.barrier
// ASYNC: return

// On a CPU (--target=cuda-on-cpu) the thread loops are loops over the 256
// threads, one after the other, and the buffers ordinary temporaries.
// HOST-LABEL: func.func private @matmul_epilogue
// HOST-NOT: gpu.
// HOST: memref.alloca() {{.*}} : memref<64x64xf32>
// HOST: scf.for %{{.*}} = %c0 to %c256 step %c1
// HOST: memref.alloca() {{.*}} : memref<64x36xf32>
// HOST: memref.alloca() {{.*}} : memref<32x68xf32>
// HOST: scf.for %{{.*}} = %c0 to %c256 step %c32
// HOST-COUNT-3: scf.for %{{.*}} = %c0 to %c256 step %c1
// HOST-NOT: gpu.
// HOST: return

// The matmul as the root, batch of one: the accumulator starts from the
// fill and is copied out to the output tile by each thread at the end.
// TILE-LABEL: func.func private @unit_batch
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x64x64xf32>
// TILE: linalg.fill {{.*}} -> tensor<1x4x4xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x64x36xf32>
// TILE: scf.for %{{.*}} = %c0 to %c64 step %c32
// TILE-COUNT-2: linalg.copy ins(%{{.*}} : tensor<1x1x4xf32>)
// TILE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<32x4xf32>) outs(%{{.*}} : tensor<1x4x4xf32>)
// TILE: linalg.copy ins(%{{.*}} : tensor<1x4x4xf32>)
// GPU-LABEL: func.func private @unit_batch
// GPU: vector.contract {{.*}} : vector<1x4x4xf32>, vector<4x4xf32> into vector<1x4x4xf32>
// GPU: gpu.barrier
// GPU: vector.transfer_write {{.*}} memref<1x4x4xf32, strided<[262144, 512, 1], offset: ?>>

// One block of 32 steps (K = 32) leaves nothing to stage: 4 x 4 tiles per
// thread, as without shared memory.
// TILE-LABEL: func.func private @one_step
// TILE-SAME: weft.workgroup_count = 16384 : i64
// TILE-NOT: weft.lanes
// TILE-NOT: alloc_tensor
// TILE: return

// [4, 32, 128] x [128, 2048] (a batch of A against one B): the batch loop
// is tiled by 1 and the 32 rows x 2048 columns of each product go to
// 32 x 128 blocks (64 blocks); a step's A is 32 x 32 (4 neighbours per
// thread), its B 32 x 128 (16 per thread, 4 at a time in 4 rounds).
// TILE-LABEL: func.func private @batched_a
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0) to (4, 32, 2048) step (1, 32, 128)
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x32x128xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x32x36xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x132xf32>
// TILE: scf.for %{{.*}} = %c0 to %c128 step %c32
// TILE: linalg.copy ins(%{{.*}} : tensor<1x1x4xf32>)
// TILE-COUNT-4: linalg.copy ins(%{{.*}} : tensor<1x4xf32>)
// TILE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<32x4xf32>) outs(%{{.*}} : tensor<1x4x4xf32>)

// [256, 1, 64] x [64, 1024] (BERT-base's Q/K/V layout: the unit loop is
// the inner of A's two row loops): the rows are the 256, in 64 x 64
// blocks.
// TILE-LABEL: func.func private @unit_inner
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 64 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (256, 1024) step (64, 64)
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x1x64xf32>

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

func.func private @unit_batch(%arg0: memref<1x512x64xf32>, %arg1: memref<64x512xf32>, %arg2: memref<1x512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<1x512x64xf32> to tensor<1x512x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<64x512xf32> to tensor<64x512xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<1x512x512xf32> to tensor<1x512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<1x512x512xf32>) -> tensor<1x512x512xf32>
  %m = linalg.generic {indexing_maps = [#ua, #ub, #uc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x512x64xf32>, tensor<64x512xf32>) outs(%f : tensor<1x512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x512x512xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<1x512x512xf32>, memref<1x512x512xf32>) -> ()
  return
}

func.func private @one_step(%arg0: memref<512x32xf32>, %arg1: memref<32x512xf32>, %arg2: memref<512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x32xf32> to tensor<512x32xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<32x512xf32> to tensor<32x512xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<512x512xf32> to tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<512x32xf32>, tensor<32x512xf32>) outs(%f : tensor<512x512xf32>) -> tensor<512x512xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<512x512xf32>, memref<512x512xf32>) -> ()
  return
}

func.func private @batched_a(%arg0: memref<4x32x128xf32>, %arg1: memref<128x2048xf32>, %arg2: memref<4x32x2048xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<4x32x128xf32> to tensor<4x32x128xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<128x2048xf32> to tensor<128x2048xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<4x32x2048xf32> to tensor<4x32x2048xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<4x32x2048xf32>) -> tensor<4x32x2048xf32>
  %m = linalg.generic {indexing_maps = [#ua, #ub, #uc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<4x32x128xf32>, tensor<128x2048xf32>) outs(%f : tensor<4x32x2048xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x32x2048xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<4x32x2048xf32>, memref<4x32x2048xf32>) -> ()
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
