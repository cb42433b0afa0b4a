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
