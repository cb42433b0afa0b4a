// RUN: weft-opt %s -split-input-file --weft-cuda-outline-kernels='model-name=net chips=sm_80,sm_90' -verify-diagnostics | FileCheck %s

// Every distributed dispatch becomes a kernel of one GPU module with a
// target per chip. A thread's global index stands for the workgroup id and
// runs the body when it is below the count: 1200 threads are 5 blocks of
// 256. The constant the body reads moves into the GPU module (the host copy
// is dead), and the host keeps declarations with the kernel index and the
// launch shape.
// CHECK-LABEL: module attributes {gpu.container_module, weft.kernel_names = ["net_dispatch_0", "net_dispatch_1"]}
// CHECK-NOT: memref.global
// CHECK: func.func private @net_dispatch_0(memref<300x4xf32>, memref<300x4xf32>, index)
// CHECK-SAME: weft.kernel_index = 0 : i64, weft.launch = array<i64: 5, 256>
// CHECK: func.func private @net_dispatch_1(memref<4xf32>, memref<f32>, index)
// CHECK-SAME: weft.kernel_index = 1 : i64, weft.launch = array<i64: 1, 1>
// CHECK: gpu.module @net_kernels [#nvvm.target<O = 3, chip = "sm_80">, #nvvm.target<O = 3, chip = "sm_90">]
// CHECK: memref.global "private" constant @__constant_4xf32
// Every buffer starts 16-byte aligned (arena and weight offsets, checked
// caller buffers), which the kernel tells LLVM.
// CHECK: gpu.func @net_dispatch_0(%[[A:.*]]: memref<300x4xf32> {llvm.align = 16 : i64}, %[[B:.*]]: memref<300x4xf32> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 5, 1, 1>
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[BDIM:.*]] = gpu.block_dim x
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BASE:.*]] = arith.muli %[[BID]], %[[BDIM]] : index
// CHECK: %[[ID:.*]] = arith.addi %[[BASE]], %[[TID]] : index
// CHECK: %[[N:.*]] = arith.constant 1200 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[N]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: memref.get_global @__constant_4xf32
// CHECK: affine.delinearize_index %[[ID]] into (300, 4)
// CHECK: memref.load %[[A]]
// Float adds and multiplies may contract into FMAs.
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.return
// A dispatch that runs as one thread is launched as one block of one.
// CHECK: gpu.func @net_dispatch_1({{.*}}) kernel attributes {known_block_size = array<i32: 1, 1, 1>, known_grid_size = array<i32: 1, 1, 1>}
module {
  memref.global "private" constant @__constant_4xf32 : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]> {alignment = 64 : i64}
  func.func private @net_dispatch_0(%arg0: memref<300x4xf32>, %arg1: memref<300x4xf32>, %arg2: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1200 : i64} {
    %b = memref.get_global @__constant_4xf32 : memref<4xf32>
    %ij:2 = affine.delinearize_index %arg2 into (300, 4) : index, index
    %x = memref.load %arg0[%ij#0, %ij#1] : memref<300x4xf32>
    %c = memref.load %b[%ij#1] : memref<4xf32>
    %y = arith.addf %x, %c : f32
    memref.store %y, %arg1[%ij#0, %ij#1] : memref<300x4xf32>
    return
  }
  func.func private @net_dispatch_1(%arg0: memref<4xf32>, %arg1: memref<f32>, %arg2: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
    %c0 = arith.constant 0 : index
    %x = memref.load %arg0[%c0] : memref<4xf32>
    memref.store %x, %arg1[] : memref<f32>
    return
  }
}

// -----

// A dispatch that was not distributed has no id to map threads to.
// expected-error @+1 {{dispatch function has no workgroup id argument}}
func.func private @undistributed(%arg0: memref<4xf32>) attributes {weft.dispatch_fn} {
  return
}

// -----

// Kernel arguments are plain device pointers: a strided buffer has no
// place in that convention.
// expected-error @+1 {{a kernel argument must be a static identity-layout buffer}}
func.func private @strided(%arg0: memref<4xf32, strided<[2]>>, %arg1: index) attributes {weft.dispatch_fn} {
  return
}

// -----

// A dispatch whose rows are shared by the 32 lanes of a warp launches a
// warp per id (3 rows: 96 threads in one block); a thread's id is its
// global index over 32 (every lane of a warp has the same row).
// CHECK-LABEL: module attributes {gpu.container_module, weft.kernel_names = ["net_dispatch_0"]}
// CHECK: func.func private @net_dispatch_0(memref<3x64xf32>, index)
// CHECK-SAME: weft.kernel_index = 0 : i64, weft.lanes = 32 : i64, weft.launch = array<i64: 1, 96>
// CHECK: gpu.func @net_dispatch_0(%[[A:.*]]: memref<3x64xf32> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 96, 1, 1>, known_grid_size = array<i32: 1, 1, 1>
// CHECK: %[[ID:.*]] = arith.addi
// CHECK: %[[N:.*]] = arith.constant 96 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[N]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[ROW:.*]] = arith.divui %[[ID]], %[[C32]] : index
// CHECK: %[[LANE:.*]] = gpu.lane_id
// CHECK: memref.store %{{.*}}, %[[A]][%[[ROW]], %[[LANE]]]
module {
  func.func private @net_dispatch_0(%arg0: memref<3x64xf32>, %arg1: index) attributes {weft.dispatch_fn, weft.lanes = 32 : i64, weft.workgroup_count = 3 : i64} {
    %zero = arith.constant 0.0 : f32
    %lane = gpu.lane_id upper_bound 32
    memref.store %zero, %arg0[%arg1, %lane] : memref<3x64xf32>
    return
  }
}

// -----

// expected-error @+1 {{a dispatch's ids take one thread, one warp of 32 lanes or one block of 256 threads, not 16}}
func.func private @half_warp(%arg0: memref<4xf32>, %arg1: index) attributes {weft.dispatch_fn, weft.lanes = 16 : i64, weft.workgroup_count = 4 : i64} {
  return
}

// -----

// A dispatch whose ids are blocks (a matmul staged through shared memory)
// launches one block of 256 threads per id: the id is the block's index,
// no thread is out of range (so no guard around the barriers), and each
// shared buffer, even one allocated in the loop, is one workgroup
// attribution of the kernel, 32-byte aligned, in NVVM's shared address
// space (3).
// CHECK-LABEL: func.func private @net_dispatch_0(memref<2x256xf32>, index)
// CHECK-SAME: weft.launch = array<i64: 2, 256>
// CHECK: gpu.func @net_dispatch_0(%[[A:.*]]: memref<2x256xf32> {llvm.align = 16 : i64})
// CHECK-SAME: workgroup(%[[ACC:.*]] : memref<256xf32, 3> {llvm.align = 32 : i64}, %[[STEP:.*]] : memref<256xf32, 3> {llvm.align = 32 : i64})
// CHECK-SAME: kernel
// CHECK: %[[BLOCK:.*]] = gpu.block_id x
// CHECK: arith.addi
// CHECK-NOT: scf.if
// CHECK: %[[T:.*]] = gpu.thread_id x
// CHECK: memref.store %{{.*}}, %[[ACC]][%[[T]]] : memref<256xf32, 3>
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[STEP]][%[[T]]] : memref<256xf32, 3>
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[A]][%[[BLOCK]], %[[T]]] : memref<2x256xf32>
// CHECK-NOT: memref.alloca
module {
  func.func private @net_dispatch_0(%arg0: memref<2x256xf32>, %arg1: index) attributes {weft.dispatch_fn, weft.lanes = 256 : i64, weft.workgroup_count = 2 : i64} {
    %zero = arith.constant 0.0 : f32
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %t = gpu.thread_id x
    %acc = memref.alloca() : memref<256xf32, #gpu.address_space<workgroup>>
    memref.store %zero, %acc[%t] : memref<256xf32, #gpu.address_space<workgroup>>
    scf.for %k = %c0 to %c4 step %c1 {
      %step = memref.alloca() : memref<256xf32, #gpu.address_space<workgroup>>
      memref.store %zero, %step[%t] : memref<256xf32, #gpu.address_space<workgroup>>
      gpu.barrier
    }
    %v = memref.load %acc[%t] : memref<256xf32, #gpu.address_space<workgroup>>
    memref.store %v, %arg0[%arg1, %t] : memref<2x256xf32>
    return
  }
}

// -----

// A rank's part of a shard.all_slice starts rank * (its bytes) into the
// sliced tensor: 3 floats (12 bytes) is off the 16-byte grid for rank 1,
// so that argument carries no alignment; 4 floats (16 bytes) keep it.
// CHECK-LABEL: func.func @net(
// CHECK: gpu.func @net_dispatch_0(%{{.*}}: memref<3xf32>, %{{.*}}: memref<4xf32> {llvm.align = 16 : i64}, %{{.*}}: memref<3xf32> {llvm.align = 16 : i64}) kernel
module {
  shard.grid @devices(shape = 2)
  func.func @net(%a: tensor<6xf32>, %b: tensor<8xf32>) -> tensor<3xf32> {
    %sa = shard.all_slice %a on @devices grid_axes = [0] slice_axis = 0 : tensor<6xf32> -> tensor<3xf32>
    %sb = shard.all_slice %b on @devices grid_axes = [0] slice_axis = 0 : tensor<8xf32> -> tensor<4xf32>
    %0 = weft.dispatch_call @net_dispatch_0(%sa, %sb) {result_offsets = array<i64: 0>} : (tensor<3xf32>, tensor<4xf32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
  func.func private @net_dispatch_0(%arg0: memref<3xf32>, %arg1: memref<4xf32>, %arg2: memref<3xf32>, %arg3: index) attributes {weft.dispatch_fn, weft.workgroup_count = 3 : i64} {
    %x = memref.load %arg0[%arg3] : memref<3xf32>
    %y = memref.load %arg1[%arg3] : memref<4xf32>
    %z = arith.addf %x, %y : f32
    memref.store %z, %arg2[%arg3] : memref<3xf32>
    return
  }
}
