// weft-gpu-sim's checks on small hand-written kernels: each wrong kernel
// fails with a located error naming what went wrong; the right ones run.
// RUN: not weft-gpu-sim %s --kernel divergent_barrier 2>&1 | FileCheck %s --check-prefix=BARRIER
// RUN: not weft-gpu-sim %s --kernel divergent_shuffle 2>&1 | FileCheck %s --check-prefix=SHUFFLE
// RUN: not weft-gpu-sim %s --kernel read_race 2>&1 | FileCheck %s --check-prefix=RAW
// RUN: not weft-gpu-sim %s --kernel write_race 2>&1 | FileCheck %s --check-prefix=WAW
// RUN: not weft-gpu-sim %s --kernel private_unwritten 2>&1 | FileCheck %s --check-prefix=PRIVATE
// RUN: weft-gpu-sim %s --kernel neighbours 2>&1 | FileCheck %s --check-prefix=OK
// RUN: weft-gpu-sim %s --kernel same_value 2>&1 | FileCheck %s --check-prefix=SAME
// RUN: not weft-gpu-sim %s --kernel nothing 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not weft-gpu-sim %s --kernel ldmatrix_misaligned 2>&1 | FileCheck %s --check-prefix=LDMATRIX
// RUN: not weft-gpu-sim %s --kernel wmma_misaligned 2>&1 | FileCheck %s --check-prefix=WMMA
// RUN: not weft-gpu-sim %s --kernel wmma_stride 2>&1 | FileCheck %s --check-prefix=STRIDE
// RUN: weft-gpu-sim %s --kernel wmma_aligned 2>&1 | FileCheck %s --check-prefix=WMMA-OK
// RUN: not weft-gpu-sim %s --kernel blocks_write_race 2>&1 | FileCheck %s --check-prefix=BLOCKWAW
// RUN: not weft-gpu-sim %s --kernel blocks_read_race 2>&1 | FileCheck %s --check-prefix=BLOCKRAW
// RUN: weft-gpu-sim %s --kernel blocks_same_value 2>&1 | FileCheck %s --check-prefix=BLOCKSAME
// RUN: weft-gpu-sim %s --kernel async_copy 2>&1 | FileCheck %s --check-prefix=ASYNC
// RUN: not weft-gpu-sim %s --kernel async_unwaited 2>&1 | FileCheck %s --check-prefix=UNWAITED
// RUN: not weft-gpu-sim %s --kernel async_misaligned 2>&1 | FileCheck %s --check-prefix=ASYNCALIGN
// A one-thread kernel's temporaries in byte scratch (memref.view), and the
// math functions libdevice provides: the values come out.
// RUN: weft-gpu-sim %s --kernel typed_view --out 1=%t.view.bin 2>&1 | FileCheck %s --check-prefix=VIEW
// RUN: %python -c "import numpy as np; print(' '.join('%%.5f' %% v for v in np.fromfile('%t.view.bin', np.float32)))" | FileCheck %s --check-prefix=VIEWVALUES
// VIEWVALUES: 1.04720 1.54308 0.78540 -2.00000
// RUN: not weft-gpu-sim %s --kernel view_out_of_bounds 2>&1 | FileCheck %s --check-prefix=VIEWBOUNDS

// BARRIER: weft-gpu-sim.mlir":[[@LINE+8]]:5): 'gpu.barrier': deadlock: thread 0 waits at a barrier that not all threads reach
gpu.module @kernels {
  gpu.func @divergent_barrier(%out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c32 = arith.constant 32 : index
    %low = arith.cmpi ult, %t, %c32 : index
    cf.cond_br %low, ^wait, ^done
  ^wait:
    gpu.barrier
    cf.br ^done
  ^done:
    gpu.return
  }

  // SHUFFLE: 'gpu.shuffle': deadlock: thread 16 waits at a warp-wide operation that its warp's other lanes do not reach
  gpu.func @divergent_shuffle(%out: memref<32xf32>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c16 = arith.constant 16 : index
    %high = arith.cmpi uge, %t, %c16 : index
    cf.cond_br %high, ^shuffle, ^done
  ^shuffle:
    %x = arith.constant 1.0 : f32
    %o = arith.constant 1 : i32
    %w = arith.constant 32 : i32
    %y, %valid = gpu.shuffle xor %x, %o, %w : f32
    memref.store %y, %out[%t] : memref<32xf32>
    cf.br ^done
  ^done:
    gpu.return
  }

  // Each thread writes s[t] and reads s[t - 1] (thread 0 its own) with no
  // barrier between: thread 1 reads what thread 0 wrote.
  // RAW: 'memref.load': data race: thread 1 reads element 0 of shared buffer 0, which thread 0 wrote since the last barrier
  gpu.func @read_race(%out: memref<64xf32>) workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %f = arith.index_cast %t : index to i32
    %x = arith.sitofp %f : i32 to f32
    memref.store %x, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    %prev = arith.subi %t, %c1 : index
    %first = arith.cmpi eq, %t, %c0 : index
    %at = arith.select %first, %t, %prev : index
    %y = memref.load %s[%at] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %y, %out[%t] : memref<64xf32>
    gpu.return
  }

  // Two threads write different values to one element.
  // WAW: 'memref.store': data race: thread 1 and thread 0 write different values to element 0 of shared buffer 0 with no barrier between
  gpu.func @write_race(%out: memref<64xf32>) workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %f = arith.index_cast %t : index to i32
    %x = arith.sitofp %f : i32 to f32
    memref.store %x, %s[%c0] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.return
  }

  // PRIVATE: 'memref.load': thread 0 reads private memory it never wrote
  gpu.func @private_unwritten(%out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %p = memref.alloca() : memref<4xf32>
    %x = memref.load %p[%c0] : memref<4xf32>
    memref.store %x, %out[%t] : memref<64xf32>
    gpu.return
  }

  // Each thread reads its neighbour's element after a barrier: no race.
  // OK: weft-gpu-sim: neighbours: 2 of 2 blocks of 64 threads ran, 2 barriers, no race, no out-of-bounds access
  gpu.func @neighbours(%out: memref<128xf32>) workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 2, 1, 1>} {
    %t = gpu.thread_id x
    %b = gpu.block_id x
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %f = arith.index_cast %t : index to i32
    %x = arith.sitofp %f : i32 to f32
    memref.store %x, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %n = arith.addi %t, %c1 : index
    %at = arith.remui %n, %c64 : index
    %y = memref.load %s[%at] : memref<64xf32, #gpu.address_space<workgroup>>
    %base = arith.muli %b, %c64 : index
    %o = arith.addi %base, %t : index
    memref.store %y, %out[%o] : memref<128xf32>
    gpu.return
  }

  // Every thread writes the same value to one element: counted, not an
  // error.
  // SAME: no race, no out-of-bounds access (63 writes of equal values by several threads)
  gpu.func @same_value(%out: memref<64xf32>) workgroup(%s : memref<1xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %s[%c0] : memref<1xf32, #gpu.address_space<workgroup>>
    gpu.return
  }

  // An ldmatrix row 8 bytes into a row of 32 bytes: a GPU stops the
  // kernel (misaligned address).
  // LDMATRIX: 'nvgpu.ldmatrix': thread 0: an ldmatrix row needs a 16-byte aligned address; element 4 of shared buffer 0 is 8 bytes past the buffer's start, which is 32-byte aligned
  gpu.func @ldmatrix_misaligned(%out: memref<32xf16>) workgroup(%s : memref<8x16xf16, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %one = arith.constant 1.0 : f16
    %row = arith.remui %t, %c8 : index
    %quarter = arith.divui %t, %c8 : index
    %col = arith.muli %quarter, %c4 : index
    %v = vector.broadcast %one : f16 to vector<4xf16>
    vector.store %v, %s[%row, %col] : memref<8x16xf16, #gpu.address_space<workgroup>>, vector<4xf16>
    gpu.barrier
    %r = arith.remui %t, %c8 : index
    %m = nvgpu.ldmatrix %s[%r, %c4] {numTiles = 1 : i32, transpose = false} : memref<8x16xf16, #gpu.address_space<workgroup>> -> vector<1x2xf16>
    %e = vector.extract %m[0, 0] : f16 from vector<1x2xf16>
    memref.store %e, %out[%t] : memref<32xf16>
    gpu.return
  }

  // A WMMA fragment 16 bytes into its buffer (wmma.load needs 32).
  // WMMA: 'gpu.subgroup_mma_load_matrix': thread 0: a WMMA fragment needs a 32-byte aligned address; element 8 of shared buffer 0 is 16 bytes past the buffer's start, which is 32-byte aligned
  gpu.func @wmma_misaligned(%out: memref<16x16xf16>) workgroup(%s : memref<16x32xf16, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %one = arith.constant 1.0 : f16
    %v = vector.broadcast %one : f16 to vector<32xf16>
    %rows = arith.constant 16 : index
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %own = arith.cmpi ult, %t, %rows : index
    cf.cond_br %own, ^fill, ^filled
  ^fill:
    vector.store %v, %s[%t, %c0] : memref<16x32xf16, #gpu.address_space<workgroup>>, vector<32xf16>
    cf.br ^filled
  ^filled:
    gpu.barrier
    %c8 = arith.constant 8 : index
    %a = gpu.subgroup_mma_load_matrix %s[%c0, %c8] {leadDimension = 32 : index} : memref<16x32xf16, #gpu.address_space<workgroup>> -> !gpu.mma_matrix<16x16xf16, "COp">
    gpu.subgroup_mma_store_matrix %a, %out[%c0, %c0] {leadDimension = 16 : index} : !gpu.mma_matrix<16x16xf16, "COp">, memref<16x16xf16>
    gpu.return
  }

  // A WMMA fragment whose rows are 36 bytes apart (wmma.load needs a
  // multiple of 16).
  // STRIDE: 'gpu.subgroup_mma_load_matrix': thread 0: a WMMA fragment's rows are 36 bytes apart, not a multiple of 16
  gpu.func @wmma_stride(%out: memref<16x16xf16>) workgroup(%s : memref<16x18xf16, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %one = arith.constant 1.0 : f16
    %v = vector.broadcast %one : f16 to vector<18xf16>
    %rows = arith.constant 16 : index
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %own = arith.cmpi ult, %t, %rows : index
    cf.cond_br %own, ^fill, ^filled
  ^fill:
    vector.store %v, %s[%t, %c0] : memref<16x18xf16, #gpu.address_space<workgroup>>, vector<18xf16>
    cf.br ^filled
  ^filled:
    gpu.barrier
    %a = gpu.subgroup_mma_load_matrix %s[%c0, %c0] {leadDimension = 18 : index} : memref<16x18xf16, #gpu.address_space<workgroup>> -> !gpu.mma_matrix<16x16xf16, "COp">
    gpu.subgroup_mma_store_matrix %a, %out[%c0, %c0] {leadDimension = 16 : index} : !gpu.mma_matrix<16x16xf16, "COp">, memref<16x16xf16>
    gpu.return
  }

  // A fragment 32-byte aligned with rows 32 bytes apart: no error.
  // WMMA-OK: weft-gpu-sim: wmma_aligned: 1 of 1 blocks of 32 threads ran
  gpu.func @wmma_aligned(%out: memref<16x16xf16>) workgroup(%s : memref<16x16xf16, #gpu.address_space<workgroup>>, %d : memref<16x16xf16, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %one = arith.constant 1.0 : f16
    %v = vector.broadcast %one : f16 to vector<16xf16>
    %rows = arith.constant 16 : index
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %own = arith.cmpi ult, %t, %rows : index
    cf.cond_br %own, ^fill, ^filled
  ^fill:
    vector.store %v, %s[%t, %c0] : memref<16x16xf16, #gpu.address_space<workgroup>>, vector<16xf16>
    cf.br ^filled
  ^filled:
    gpu.barrier
    %a = gpu.subgroup_mma_load_matrix %s[%c0, %c0] {leadDimension = 16 : index} : memref<16x16xf16, #gpu.address_space<workgroup>> -> !gpu.mma_matrix<16x16xf16, "COp">
    gpu.subgroup_mma_store_matrix %a, %d[%c0, %c0] {leadDimension = 16 : index} : !gpu.mma_matrix<16x16xf16, "COp">, memref<16x16xf16, #gpu.address_space<workgroup>>
    gpu.return
  }

  // Two blocks write their block id to the same element: which value
  // stays depends on the order a GPU runs them in.
  // BLOCKWAW: 'memref.store': data race between blocks: blocks 0 and 1 write different values to element 0 of argument 0 (a GPU runs a kernel's blocks in no set order)
  gpu.func @blocks_write_race(%out: memref<4xf32>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 2, 1, 1>} {
    %b = gpu.block_id x
    %c0 = arith.constant 0 : index
    %i = arith.index_cast %b : index to i32
    %x = arith.sitofp %i : i32 to f32
    memref.store %x, %out[%c0] : memref<4xf32>
    gpu.return
  }

  // Block 1 reads what block 0 wrote in the same kernel (an epilogue that
  // adds into an output that overlapping blocks both update would do so).
  // BLOCKRAW: 'memref.load': data race between blocks: block 1 reads element 0 of argument 0, which block 0 wrote (a GPU runs a kernel's blocks in no set order)
  gpu.func @blocks_read_race(%out: memref<4xf32>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 2, 1, 1>} {
    %b = gpu.block_id x
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    %first = arith.cmpi eq, %b, %c0 : index
    cf.cond_br %first, ^write, ^read
  ^write:
    memref.store %one, %out[%c0] : memref<4xf32>
    gpu.return
  ^read:
    %x = memref.load %out[%c0] : memref<4xf32>
    %c1 = arith.constant 1 : index
    memref.store %x, %out[%c1] : memref<4xf32>
    gpu.return
  }

  // Overlapping blocks that write the same values: no error.
  // BLOCKSAME: weft-gpu-sim: blocks_same_value: 2 of 2 blocks of 32 threads ran
  gpu.func @blocks_same_value(%out: memref<4xf32>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 2, 1, 1>} {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %out[%c0] : memref<4xf32>
    gpu.return
  }

  // Each thread copies 4 floats of global memory to shared memory with
  // cp.async, waits for its group, and after a barrier reads its
  // neighbour's: no race (the destination is written when the wait
  // completes the group).
  // ASYNC: weft-gpu-sim: async_copy: 1 of 1 blocks of 32 threads ran, 1 barriers, no race, no out-of-bounds access
  gpu.func @async_copy(%in: memref<128xf32>, %out: memref<128xf32>) workgroup(%s : memref<128xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c4 = arith.constant 4 : index
    %c128 = arith.constant 128 : index
    %at = arith.muli %t, %c4 : index
    %copy = nvgpu.device_async_copy %in[%at], %s[%at], 4 {bypassL1} : memref<128xf32> to memref<128xf32, #gpu.address_space<workgroup>>
    %group = nvgpu.device_async_create_group %copy
    nvgpu.device_async_wait %group {numGroups = 0 : i32}
    gpu.barrier
    %n = arith.addi %at, %c4 : index
    %next = arith.remui %n, %c128 : index
    %y = memref.load %s[%next] : memref<128xf32, #gpu.address_space<workgroup>>
    memref.store %y, %out[%at] : memref<128xf32>
    gpu.return
  }

  // The same without the wait: the barrier does not complete a thread's
  // asynchronous copies, so the read may come first.
  // UNWAITED: 'memref.load': thread 0 reads element 4 of shared buffer 0, which an asynchronous copy of thread 1 may not have written yet (no wait for its group)
  gpu.func @async_unwaited(%in: memref<128xf32>, %out: memref<128xf32>) workgroup(%s : memref<128xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c4 = arith.constant 4 : index
    %c128 = arith.constant 128 : index
    %at = arith.muli %t, %c4 : index
    %copy = nvgpu.device_async_copy %in[%at], %s[%at], 4 {bypassL1} : memref<128xf32> to memref<128xf32, #gpu.address_space<workgroup>>
    %group = nvgpu.device_async_create_group %copy
    gpu.barrier
    %n = arith.addi %at, %c4 : index
    %next = arith.remui %n, %c128 : index
    %y = memref.load %s[%next] : memref<128xf32, #gpu.address_space<workgroup>>
    memref.store %y, %out[%at] : memref<128xf32>
    gpu.return
  }

  // A 16-byte cp.async from element 1 of its source (4 bytes in): a GPU
  // stops the kernel.
  // ASYNCALIGN: 'nvgpu.device_async_copy': thread 0: cp.async needs a 16-byte aligned address; element 1 of argument 0 is 4 bytes past the buffer's start, which is 16-byte aligned
  gpu.func @async_misaligned(%in: memref<132xf32>, %out: memref<128xf32>) workgroup(%s : memref<128xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %at = arith.muli %t, %c4 : index
    %from = arith.addi %at, %c1 : index
    %copy = nvgpu.device_async_copy %in[%from], %s[%at], 4 : memref<132xf32> to memref<128xf32, #gpu.address_space<workgroup>>
    %group = nvgpu.device_async_create_group %copy
    nvgpu.device_async_wait %group {numGroups = 0 : i32}
    gpu.return
  }

  // VIEW: weft-gpu-sim: typed_view: 1 of 1 blocks of 1 threads ran
  gpu.func @typed_view(%scratch: memref<64xi8>, %out: memref<4xf32>) kernel attributes {known_block_size = array<i32: 1, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c16 = arith.constant 16 : index
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %two = arith.constant 2.0 : f32
    %minus = arith.constant -1.0 : f32
    %v = memref.view %scratch[%c16][] : memref<64xi8> to memref<4xf32>
    %a = math.acos %half : f32
    %b = math.cosh %one : f32
    %c = math.atan %one : f32
    %d = math.copysign %two, %minus : f32
    memref.store %a, %v[%c0] : memref<4xf32>
    memref.store %b, %v[%c1] : memref<4xf32>
    memref.store %c, %v[%c2] : memref<4xf32>
    memref.store %d, %v[%c3] : memref<4xf32>
    %w = memref.view %scratch[%c16][] : memref<64xi8> to memref<2x2xf32>
    %x0 = memref.load %w[%c0, %c0] : memref<2x2xf32>
    %x1 = memref.load %w[%c0, %c1] : memref<2x2xf32>
    %x2 = memref.load %w[%c1, %c0] : memref<2x2xf32>
    %x3 = memref.load %w[%c1, %c1] : memref<2x2xf32>
    memref.store %x0, %out[%c0] : memref<4xf32>
    memref.store %x1, %out[%c1] : memref<4xf32>
    memref.store %x2, %out[%c2] : memref<4xf32>
    memref.store %x3, %out[%c3] : memref<4xf32>
    gpu.return
  }

  // VIEWBOUNDS: 'memref.view': a view of 32 bytes at byte 48 of a buffer of 64
  gpu.func @view_out_of_bounds(%scratch: memref<64xi8>) kernel attributes {known_block_size = array<i32: 1, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %c48 = arith.constant 48 : index
    %v = memref.view %scratch[%c48][] : memref<64xi8> to memref<8xf32>
    gpu.return
  }
}
// NONE: weft-gpu-sim: no gpu.func named nothing
