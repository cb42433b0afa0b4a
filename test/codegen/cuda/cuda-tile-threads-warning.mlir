// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' -verify-diagnostics -o /dev/null

// Two results that do not fuse into one thread loop: one GPU thread writes
// all 8192 elements, which weftc says at the dispatch.
// expected-warning @below {{this dispatch runs as one GPU thread (its ops do not fuse into one thread loop), writing 8192 elements}}
func.func private @two_outputs(%arg0: memref<64x64xf32>, %arg1: memref<64x64xf32>, %arg2: memref<64x64xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<64x64xf32> to tensor<64x64xf32>
  %e = tensor.empty() : tensor<64x64xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<64x64xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%n : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = math.absf %in : f32
    linalg.yield %m : f32
  } -> tensor<64x64xf32>
  bufferization.materialize_in_destination %a in restrict writable %arg1 : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
  bufferization.materialize_in_destination %n in restrict writable %arg2 : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
  return
}
