// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{vnni=true}))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{vnni=false}))' | FileCheck %s --check-prefix=WIDE

// An integer convolution (uint8 input, int8 filter [F/B, KH, KW, C/4, B,
// 4], i32 output): register tiles of columns x one 32-channel block, steps
// of four input channels. With VNNI, each column's four input bytes are
// broadcast as one i32 and each half of the block is one vpdpbusd against
// 64 contiguous filter bytes; the accumulator stays in registers across
// the window and channel loops.
// CHECK-LABEL: func.func private @int8_blocked
// CHECK: %[[INIT:.*]] = vector.transfer_read %{{.*}} : tensor<1x1x8x1x32xi32>, vector<8x32xi32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (vector<8x32xi32>)
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<8x32xi32>)
// CHECK: %[[W:.*]] = vector.transfer_read {{.*}} : tensor<128xi8>, vector<128xi8>
// CHECK: %[[W0:.*]] = vector.extract_strided_slice %[[W]] {offsets = [0], sizes = [64], strides = [1]}
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<1x4x17x8xi8>, vector<4xi8>
// CHECK: %[[WORD:.*]] = vector.bitcast %[[X]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[S:.*]] = vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK: %[[A:.*]] = vector.bitcast %[[S]] : vector<16xi32> to vector<64xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %[[A]], %[[W0]]) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-COUNT-15: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK-NOT: llvm.call_intrinsic
// CHECK: vector.transfer_write {{.*}} : vector<8x32xi32>, tensor<1x1x8x1x32xi32>
// CHECK-NOT: linalg.generic
// CHECK: return
// Without VNNI: the same sums widened, four multiply-adds of 32 lanes per
// column and step.
// WIDE-LABEL: func.func private @int8_blocked
// WIDE-NOT: llvm.call_intrinsic
// WIDE: vector.shuffle
// WIDE: arith.extsi {{.*}} : vector<32xi8> to vector<32xi32>
// WIDE: arith.muli {{.*}} : vector<32xi32>
// WIDE: arith.addi {{.*}} : vector<32xi32>
// WIDE-NOT: linalg.generic
// WIDE: return
#x = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh + kh, ow * 2 + kw, cg * 4 + c4)>
#w = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (fb, kh, kw, cg, fi, c4)>
#o = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh, ow, fb, fi)>
func.func private @int8_blocked(%arg0: memref<1x4x17x8xi8>, %arg1: memref<2x3x3x2x32x4xi8>, %arg2: memref<1x2x8x2x32xi32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0 : i32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x4x17x8xi8> to tensor<1x4x17x8xi8>
  %w = bufferization.to_tensor %arg1 restrict : memref<2x3x3x2x32x4xi8> to tensor<2x3x3x2x32x4xi8>
  %o5 = bufferization.to_tensor %arg2 restrict writable : memref<1x2x8x2x32xi32> to tensor<1x2x8x2x32xi32>
  %f = linalg.fill ins(%zero : i32) outs(%o5 : tensor<1x2x8x2x32xi32>) -> tensor<1x2x8x2x32xi32>
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x4x17x8xi8>, tensor<2x3x3x2x32x4xi8>) outs(%f : tensor<1x2x8x2x32xi32>) attrs = {weft.blocked_conv = array<i64: 1, 2>} {
  ^bb0(%a: i8, %b: i8, %acc: i32):
    %xa = arith.extui %a : i8 to i32
    %wb = arith.extsi %b : i8 to i32
    %p = arith.muli %xa, %wb : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x2x8x2x32xi32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x2x8x2x32xi32>, memref<1x2x8x2x32xi32>) -> ()
  return
}

// -----

// A block of 8 output channels (24 channels: three blocks): one 256-bit
// vpdpbusd of 8 lanes per column and step against 32 filter bytes; a
// block of 4 (12 channels) takes the 128-bit form. The vectorizer's
// default 16 lanes of f32 do not apply.
// CHECK-LABEL: func.func private @int8_block8
// CHECK: vector.transfer_read %{{.*}} : tensor<32xi8>, vector<32xi8>
// CHECK: %[[S:.*]] = vector.broadcast %{{.*}} : i32 to vector<8xi32>
// CHECK: %[[A:.*]] = vector.bitcast %[[S]] : vector<8xi32> to vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%{{.*}}, %[[A]], %{{.*}}) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
// CHECK-NOT: vpdpbusd.512
// CHECK: return
// WIDE-LABEL: func.func private @int8_block8
// WIDE-NOT: llvm.call_intrinsic
// WIDE: arith.extsi {{.*}} : vector<8xi8> to vector<8xi32>
// WIDE: return
#x = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh + kh, ow + kw, cg * 4 + c4)>
#w = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (fb, kh, kw, cg, fi, c4)>
#o = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh, ow, fb, fi)>
func.func private @int8_block8(%arg0: memref<1x6x6x8xi8>, %arg1: memref<3x1x1x2x8x4xi8>, %arg2: memref<1x6x6x3x8xi32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0 : i32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x6x6x8xi8> to tensor<1x6x6x8xi8>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x1x1x2x8x4xi8> to tensor<3x1x1x2x8x4xi8>
  %o5 = bufferization.to_tensor %arg2 restrict writable : memref<1x6x6x3x8xi32> to tensor<1x6x6x3x8xi32>
  %f = linalg.fill ins(%zero : i32) outs(%o5 : tensor<1x6x6x3x8xi32>) -> tensor<1x6x6x3x8xi32>
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x6x6x8xi8>, tensor<3x1x1x2x8x4xi8>) outs(%f : tensor<1x6x6x3x8xi32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%a: i8, %b: i8, %acc: i32):
    %xa = arith.extui %a : i8 to i32
    %wb = arith.extsi %b : i8 to i32
    %p = arith.muli %xa, %wb : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x6x6x3x8xi32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x6x6x3x8xi32>, memref<1x6x6x3x8xi32>) -> ()
  return
}

// -----

// CHECK-LABEL: func.func private @int8_block4
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.128"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<4xi32>, vector<16xi8>, vector<16xi8>) -> vector<4xi32>
// CHECK-NOT: vpdpbusd.512
// CHECK: return
#x = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh + kh, ow + kw, cg * 4 + c4)>
#w = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (fb, kh, kw, cg, fi, c4)>
#o = affine_map<(n, oh, ow, fb, fi, kh, kw, cg, c4) -> (n, oh, ow, fb, fi)>
func.func private @int8_block4(%arg0: memref<1x6x6x4xi8>, %arg1: memref<3x1x1x1x4x4xi8>, %arg2: memref<1x6x6x3x4xi32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0 : i32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x6x6x4xi8> to tensor<1x6x6x4xi8>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x1x1x1x4x4xi8> to tensor<3x1x1x1x4x4xi8>
  %o5 = bufferization.to_tensor %arg2 restrict writable : memref<1x6x6x3x4xi32> to tensor<1x6x6x3x4xi32>
  %f = linalg.fill ins(%zero : i32) outs(%o5 : tensor<1x6x6x3x4xi32>) -> tensor<1x6x6x3x4xi32>
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x6x6x4xi8>, tensor<3x1x1x1x4x4xi8>) outs(%f : tensor<1x6x6x3x4xi32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%a: i8, %b: i8, %acc: i32):
    %xa = arith.extui %a : i8 to i32
    %wb = arith.extsi %b : i8 to i32
    %p = arith.muli %xa, %wb : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x6x6x3x4xi32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x6x6x3x4xi32>, memref<1x6x6x3x4xi32>) -> ()
  return
}

// -----

// An integer depthwise convolution (uint8 x int8 -> i32, 24 channels):
// register tiles of 8 columns x 16 channels and one of the 8 channels past
// them, each step widening 8 input rows and the filter row to i32 and
// adding their products to the accumulator, which stays in registers.
// CHECK-LABEL: func.func private @int8_depthwise
// CHECK: scf.for {{.*}} -> (vector<8x16xi32>)
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<1x6x10x24xi8>, vector<8x16xi8>
// CHECK: %[[W:.*]] = vector.transfer_read {{.*}} : tensor<3x3x24xi8>, vector<8x16xi8>
// CHECK: %[[XW:.*]] = arith.extui %[[X]] : vector<8x16xi8> to vector<8x16xi32>
// CHECK: %[[WW:.*]] = arith.extsi %[[W]] : vector<8x16xi8> to vector<8x16xi32>
// CHECK: %[[P:.*]] = arith.muli %[[XW]], %[[WW]] : vector<8x16xi32>
// CHECK: arith.addi %{{.*}}, %[[P]] : vector<8x16xi32>
// CHECK: scf.for {{.*}} -> (vector<8x8xi32>)
// CHECK: arith.muli {{.*}} : vector<8x8xi32>
// CHECK-NOT: linalg.generic
// CHECK: return
// WIDE-LABEL: func.func private @int8_depthwise
// WIDE: arith.muli {{.*}} : vector<8x16xi32>
#x = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * 2 + kh, ow + kw, c)>
#w = affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw, c)>
#o = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>
func.func private @int8_depthwise(%arg0: memref<1x6x10x24xi8>, %arg1: memref<3x3x24xi8>, %arg2: memref<1x2x8x24xi32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0 : i32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x6x10x24xi8> to tensor<1x6x10x24xi8>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x3x24xi8> to tensor<3x3x24xi8>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x2x8x24xi32> to tensor<1x2x8x24xi32>
  %f = linalg.fill ins(%zero : i32) outs(%o : tensor<1x2x8x24xi32>) -> tensor<1x2x8x24xi32>
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<1x6x10x24xi8>, tensor<3x3x24xi8>) outs(%f : tensor<1x2x8x24xi32>) attrs = {dilations = dense<1> : tensor<2xi64>, strides = dense<[2, 1]> : tensor<2xi64>, weft.integer_depthwise} {
  ^bb0(%a: i8, %b: i8, %acc: i32):
    %xa = arith.extui %a : i8 to i32
    %wb = arith.extsi %b : i8 to i32
    %p = arith.muli %xa, %wb : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x2x8x24xi32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x2x8x24xi32>, memref<1x2x8x24xi32>) -> ()
  return
}
