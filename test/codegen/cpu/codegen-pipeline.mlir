// RUN: weft-opt %s -weft-cpu-codegen | FileCheck %s --implicit-check-not=func.func --implicit-check-not=unrealized_conversion_cast --implicit-check-not=memref. --implicit-check-not=linalg. --implicit-check-not=scf. --implicit-check-not=vector. --implicit-check-not=weft.dispatch_call --implicit-check-not="cf."

// The whole CPU backend, from dispatch bodies in linalg (the output of
// weft-lower-to-linalg) to the LLVM dialect: a matmul large enough for 8
// workgroups, a bias add reading a weight, and a tiny relu.

// CHECK-LABEL: module attributes
// CHECK-SAME: weft.arena_size = 8192 : i64
// CHECK-SAME: weft.input_types = [tensor<64x64xf32>, tensor<4xf32>]
// CHECK-SAME: weft.model_name = "model"
// CHECK-SAME: weft.output_types = [tensor<64x32xf32>, tensor<4xf32>]
// CHECK: llvm.func @weft_device_dispatch(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> !llvm.ptr
// The splat weight cloned into the matmul body is a read-only global.
// CHECK: llvm.mlir.global private constant @[[SPLAT:.*]](dense<2.500000e-01> : tensor<64x32xf32>)

// The matmul kernel runs on vectors: outer products as fused multiply-adds.
// CHECK: llvm.func @main_dispatch_0(
// CHECK-SAME: weft.workgroup_count = 8 : i64
// CHECK: llvm.mlir.addressof @[[SPLAT]]
// CHECK: llvm.intr.fmuladd({{.*}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// CHECK: llvm.return
// CHECK: llvm.func @main_dispatch_0_wg(%{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK: llvm.call @main_dispatch_0(
// CHECK: llvm.func @main_dispatch_1(
// CHECK-SAME: weft.workgroup_count = 1 : i64
// CHECK: llvm.fadd %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: llvm.func @main_dispatch_1_wg(
// CHECK: llvm.func @main_dispatch_2(
// CHECK: llvm.intr.maximum(%{{.*}}, %{{.*}}) : (vector<4xf32>, vector<4xf32>) -> vector<4xf32>
// CHECK: llvm.func @main_dispatch_2_wg(

// The bias vector is embedded as a weight.
// CHECK: llvm.mlir.global private constant @[[BIAS:__weft_weight_0]](dense<[0.000000e+00, 1.000000e+00, {{.*}}, 3.100000e+01]> : tensor<32xf32>)

// The host entry: three runtime dispatches with their workgroup counts,
// the matmul result at arena offset 0, early exit on a non-null status.
// CHECK: llvm.func @model_entry(%[[DEV:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr, %[[INS:.*]]: !llvm.ptr, %[[OUTS:.*]]: !llvm.ptr) -> !llvm.ptr {
// CHECK-DAG: %[[WG2:.*]] = llvm.mlir.addressof @main_dispatch_2_wg : !llvm.ptr
// CHECK-DAG: %[[WG1:.*]] = llvm.mlir.addressof @main_dispatch_1_wg : !llvm.ptr
// CHECK-DAG: %[[WG0:.*]] = llvm.mlir.addressof @main_dispatch_0_wg : !llvm.ptr
// CHECK-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[EIGHT:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK-DAG: %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK-DAG: %[[W:.*]] = llvm.mlir.addressof @[[BIAS]] : !llvm.ptr
// CHECK: %[[S0:.*]] = llvm.call @weft_device_dispatch(%[[DEV]], %[[WG0]], %{{.*}}, %[[EIGHT]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[F0:.*]] = llvm.icmp "ne" %[[S0]], %[[NULL]] : !llvm.ptr
// CHECK: llvm.cond_br %[[F0]], ^[[EXIT:.*]](%[[S0]] : !llvm.ptr), ^{{.*}}
// CHECK: llvm.store %[[ARENA]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[W]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.call @weft_device_dispatch(%[[DEV]], %[[WG1]], %{{.*}}, %[[ONE]])
// CHECK: llvm.call @weft_device_dispatch(%[[DEV]], %[[WG2]], %{{.*}}, %[[ONE]])
// CHECK: ^[[EXIT]](%[[STATUS:.*]]: !llvm.ptr):
// CHECK-NEXT: llvm.return %[[STATUS]] : !llvm.ptr

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#vec = affine_map<(d0) -> (d0)>
module {
  func.func @main(%x: tensor<64x64xf32>, %y: tensor<4xf32>) -> (tensor<64x32xf32>, tensor<4xf32>) attributes {weft.arena_size = 8192 : i64} {
    %bias = weft.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0]> : tensor<32xf32>
    %0 = weft.dispatch(%x) {result_offsets = array<i64: 0>} : (tensor<64x64xf32>) -> tensor<64x32xf32> {
    ^bb0(%a: tensor<64x64xf32>):
      %w = arith.constant dense<2.500000e-01> : tensor<64x32xf32>
      %zero = arith.constant 0.000000e+00 : f32
      %e = tensor.empty() : tensor<64x32xf32>
      %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
      %m = linalg.matmul ins(%a, %w : tensor<64x64xf32>, tensor<64x32xf32>) outs(%f : tensor<64x32xf32>) -> tensor<64x32xf32>
      weft.yield %m : tensor<64x32xf32>
    }
    %1 = weft.dispatch(%0, %bias) {result_offsets = array<i64: -1>} : (tensor<64x32xf32>, tensor<32xf32>) -> tensor<64x32xf32> {
    ^bb0(%a: tensor<64x32xf32>, %b: tensor<32xf32>):
      %e = tensor.empty() : tensor<64x32xf32>
      %g = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<64x32xf32>, tensor<32xf32>) outs(%e : tensor<64x32xf32>) {
      ^bb0(%in: f32, %in_0: f32, %out: f32):
        %s = arith.addf %in, %in_0 : f32
        linalg.yield %s : f32
      } -> tensor<64x32xf32>
      weft.yield %g : tensor<64x32xf32>
    }
    %2 = weft.dispatch(%y) {result_offsets = array<i64: -1>} : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%a: tensor<4xf32>):
      %zero = arith.constant 0.000000e+00 : f32
      %e = tensor.empty() : tensor<4xf32>
      %g = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
      ^bb0(%in: f32, %out: f32):
        %r = arith.maximumf %in, %zero : f32
        linalg.yield %r : f32
      } -> tensor<4xf32>
      weft.yield %g : tensor<4xf32>
    }
    return %1, %2 : tensor<64x32xf32>, tensor<4xf32>
  }
}
