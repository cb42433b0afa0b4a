// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cpu-expand-bf16))' | FileCheck %s

// Conversions to and from bf16 become integer arithmetic on the bits: no
// truncf/extf with a bf16 side is left for LLVM to turn into a libcall.
// CHECK-LABEL: func.func @roundtrip
// CHECK-NOT: arith.truncf
// CHECK-NOT: arith.extf
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.shrui
// CHECK: arith.trunci
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: arith.extui
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK-NOT: arith.truncf
// CHECK-NOT: arith.extf
func.func @roundtrip(%x: f32) -> f32 {
  %h = arith.truncf %x : f32 to bf16
  %y = arith.extf %h : bf16 to f32
  return %y : f32
}

// An f16 conversion is left alone (the CPU converts it natively).
// CHECK-LABEL: func.func @half
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @half(%x: f32) -> f16 {
  %h = arith.truncf %x : f32 to f16
  return %h : f16
}

// Arithmetic and math on bf16, scalar or vector, computes in f32 with one
// rounding per op; only integer bit arithmetic and bitcasts remain.
// CHECK-LABEL: func.func @compute
// CHECK-NOT: arith.addf {{.*}} : vector<4xbf16>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: math.exp %{{.*}} : f32
// CHECK: arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.truncf
// CHECK-NOT: arith.extf
// CHECK-NOT: : bf16 to f32
func.func @compute(%v: vector<4xbf16>, %s: bf16) -> (vector<4xbf16>, bf16, i1) {
  %a = arith.addf %v, %v : vector<4xbf16>
  %e = math.exp %s : bf16
  %c = arith.cmpf ogt, %e, %s : bf16
  return %a, %e, %c : vector<4xbf16>, bf16, i1
}

// A bf16 value carried across blocks (a loop's accumulator) travels as
// i16: LLVM would keep a bf16 phi in a float register and narrow it with
// a libcall.
// CHECK-LABEL: func.func @carried
// CHECK: cf.br ^bb1(%{{.*}} : i16)
// CHECK: ^bb1(%[[BITS:.*]]: i16):
// CHECK: arith.bitcast %[[BITS]] : i16 to bf16
// CHECK: cf.cond_br %{{.*}}, ^bb1(%{{.*}} : i16), ^bb2
func.func @carried(%x: bf16, %c: i1) -> bf16 {
  cf.br ^bb1(%x : bf16)
^bb1(%acc: bf16):
  %next = arith.addf %acc, %x : bf16
  cf.cond_br %c, ^bb1(%next : bf16), ^bb2
^bb2:
  return %next : bf16
}
