// weft-gpu-sim --profile: a warp's memory requests as the GPU serves them.
// Shared memory: the wavefronts of an instruction are the most distinct
// 4-byte words on one of the 32 banks (per 8 lanes for 16-byte accesses);
// global memory: the 32-byte sectors an instruction touches, against the
// fewest that hold its bytes.
// RUN: weft-gpu-sim %s --kernel shared_patterns --profile --profile-top 10 | FileCheck %s --check-prefix=SHARED
// RUN: weft-gpu-sim %s --kernel global_patterns --profile --profile-top 10 | FileCheck %s --check-prefix=GLOBAL

// One warp. Stores 32 words apart: all on bank 0, 32 wavefronts; 33
// apart: every bank once. 16-byte stores 32 bytes apart: 8 lanes' 16
// bytes cover half the banks twice (2 wavefronts per 8 lanes, 8 for 32
// where 4 would do); 16 bytes apart none. A load of one word by all
// lanes: 1.
// SHARED: profile: global-load requests=0 sectors=0 ideal=0
// SHARED: profile: shared-load requests=1 wavefronts=1 ideal=1 efficiency=1.000
// SHARED: profile: shared-store requests=4 wavefronts=45 ideal=10 efficiency=0.222
// SHARED: profile-op: {{.*}}weft-gpu-sim-profile.mlir":[[@LINE+15]]:{{.*}} shared-store requests=1 wavefronts/request=32.00 ideal=1.00
// SHARED: profile-op: {{.*}}weft-gpu-sim-profile.mlir":[[@LINE+21]]:{{.*}} shared-store requests=1 wavefronts/request=8.00 ideal=4.00
// SHARED-NOT: profile-op
gpu.module @kernels {
  gpu.func @shared_patterns(%out: memref<32xf32>)
      workgroup(%s : memref<1056xf32, #gpu.address_space<workgroup>>)
      kernel attributes {known_block_size = array<i32: 32, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c32 = arith.constant 32 : index
    %c33 = arith.constant 33 : index
    %one = arith.constant 1.0 : f32
    %a = arith.muli %t, %c32 : index
    memref.store %one, %s[%a] : memref<1056xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %b = arith.muli %t, %c33 : index
    memref.store %one, %s[%b] : memref<1056xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %v = vector.broadcast %one : f32 to vector<4xf32>
    %c = arith.muli %t, %c8 : index
    vector.store %v, %s[%c] : memref<1056xf32, #gpu.address_space<workgroup>>, vector<4xf32>
    gpu.barrier
    %d = arith.muli %t, %c4 : index
    vector.store %v, %s[%d] : memref<1056xf32, #gpu.address_space<workgroup>>, vector<4xf32>
    gpu.barrier
    %x = memref.load %s[%c0] : memref<1056xf32, #gpu.address_space<workgroup>>
    memref.store %x, %out[%t] : memref<32xf32>
    gpu.return
  }

  // Neighbouring words: 4 sectors for 128 bytes; 8 words apart: a sector
  // per lane (32, where 4 would hold the bytes); 16-byte loads of
  // neighbours: 16 sectors for 512 bytes; one word for all lanes: 1; 64
  // lanes of neighbouring words: two warps, 4 sectors each.
  // GLOBAL: profile: global-load requests=8 sectors=106 ideal=50 efficiency=0.472
  // GLOBAL: profile: global-store requests=2 sectors=8 ideal=8 efficiency=1.000
  // GLOBAL: profile-op: {{.*}}weft-gpu-sim-profile.mlir":[[@LINE+11]]:{{.*}} global-load requests=2 sectors/request=32.00 ideal=4.00
  // GLOBAL-NOT: profile-op
  gpu.func @global_patterns(%in: memref<512xf32>, %out: memref<64xf32>)
      kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c256 = arith.constant 256 : index
    %x = memref.load %in[%t] : memref<512xf32>
    %a = arith.muli %t, %c8 : index
    %y = memref.load %in[%a] : memref<512xf32>
    %b = arith.muli %t, %c4 : index
    %low = arith.remui %b, %c256 : index
    %v = vector.load %in[%low] : memref<512xf32>, vector<4xf32>
    %z = memref.load %in[%c0] : memref<512xf32>
    %e = vector.extract %v[0] : f32 from vector<4xf32>
    %s1 = arith.addf %x, %y : f32
    %s2 = arith.addf %s1, %z : f32
    %s3 = arith.addf %s2, %e : f32
    memref.store %s3, %out[%t] : memref<64xf32>
    gpu.return
  }
}
