// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions))' | FileCheck %s --check-prefix=WAYS8
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{l1-ways=12}))' | FileCheck %s --check-prefix=WAYS12

// A MatMul by a constant as a blocked 1x1 convolution (512 rows of 1024,
// 4 KiB apart, so every row of a register tile falls in the same L1 set).
// With an 8-way L1 a tile may hold 7 such rows: 6-row tiles (85 of them)
// and a peeled 2-row one. With a 12-way L1 (weftc --cpu=native reads the
// host's from sysfs) 11 may: 8-row tiles, 64 of them, none peeled.
// WAYS8: tensor.extract_slice {{.*}} : tensor<1x1x512x1024xf32> to tensor<1x1x510x1024xf32>
// WAYS8: vector<6x32xf32>
// WAYS8: vector<2x32xf32>
// WAYS12-NOT: vector<6x32xf32>
// WAYS12: tensor.extract_slice {{.*}} : tensor<1x1x512x1024xf32> to tensor<1x1x8x1024xf32>
// WAYS12: vector<8x32xf32>
// WAYS12-NOT: vector<2x32xf32>
#map = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1 + d5, d2 + d6, d7)>
#map1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d3, d5, d6, d7, d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
func.func private @rows_4k_apart(%arg0: memref<1x1x512x1024xf32>, %arg1: memref<32x1x1x1024x32xf32>, %arg2: memref<1x1x512x32x32xf32>) attributes {weft.dispatch_fn} {
  %0 = bufferization.to_tensor %arg0 restrict : memref<1x1x512x1024xf32> to tensor<1x1x512x1024xf32>
  %1 = bufferization.to_tensor %arg1 restrict : memref<32x1x1x1024x32xf32> to tensor<32x1x1x1024x32xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %2 = bufferization.to_tensor %arg2 restrict writable : memref<1x1x512x32x32xf32> to tensor<1x1x512x32x32xf32>
  %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<1x1x512x32x32xf32>) -> tensor<1x1x512x32x32xf32>
  %4 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%0, %1 : tensor<1x1x512x1024xf32>, tensor<32x1x1x1024x32xf32>) outs(%3 : tensor<1x1x512x32x32xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %5 = arith.mulf %in, %in_0 : f32
    %6 = arith.addf %out, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<1x1x512x32x32xf32>
  bufferization.materialize_in_destination %4 in restrict writable %arg2 : (tensor<1x1x512x32x32xf32>, memref<1x1x512x32x32xf32>) -> ()
  return
}
