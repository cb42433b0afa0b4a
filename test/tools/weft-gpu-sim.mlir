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
}
// NONE: weft-gpu-sim: no gpu.func named nothing
