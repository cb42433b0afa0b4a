// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-form-dispatches{explain-fusion=true}))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-form-dispatches))' | FileCheck %s --check-prefix=OFF
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-form-dispatches{explain-fusion=true transposes-in-chains=true}))' | FileCheck %s --check-prefix=PERM
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-form-dispatches{explain-fusion=true transposes-in-chains=true slices-in-chains=true matmuls-take-views=true}))' | FileCheck %s --check-prefix=VIEW

// With explain-fusion, every dispatch names the ONNX nodes it holds and,
// for each edge to another dispatch, the rule that kept the two apart
// (weftc --explain-fusion prints these and removes them).
// OFF-NOT: weft.fusion_

// CHECK-LABEL: func.func @explain
// The exp has two users (the tanh and the add).
// CHECK: weft.dispatch(%arg0) {weft.fusion_apart = ["output to explain_dispatch_1 (exp of 'e' (Exp) -> tanh of 't' (Tanh)): the value has 2 users; only a value's single user joins its dispatch"], weft.fusion_nodes = ["exp of 'e' (Exp)"]}
// CHECK-NEXT: ^bb0
// CHECK-NEXT: weft.exp
// CHECK-NEXT: weft.yield
// The add joins the tanh's chain; its result feeds the concat and the mul.
// CHECK: "output to explain_dispatch_7 (add of 's' (Add) -> concat of 'c' (Concat)): the value has 2 users; a concat takes in only producers it alone uses"
// CHECK-SAME: weft.fusion_nodes = ["tanh of 't' (Tanh)", "add of 's' (Add)"]
// Softmax is its own dispatch.
// CHECK: "output to explain_dispatch_3 (mul of 'm' (Mul) -> softmax of 'sm' (Softmax)): softmax takes no producer into its dispatch (only elementwise ops and concat do)"
// CHECK-SAME: weft.fusion_nodes = ["mul of 'm' (Mul)"]
// With transposes-in-chains (the CUDA targets) the rule names transposes.
// PERM: "output to explain_dispatch_3 (mul of 'm' (Mul) -> softmax of 'sm' (Softmax)): softmax takes no producer into its dispatch (only elementwise ops, transposes and concat do)"
// CHECK: weft.fusion_nodes = ["softmax of 'sm' (Softmax)"]
// CHECK: "output to explain_dispatch_5 (matmul of 'mm' (MatMul) -> relu of 'r' (Relu)): matmul with a result of rank other than 2 takes no epilogue
// CHECK: "input from explain_dispatch_4 (matmul of 'mm' (MatMul) -> relu of 'r' (Relu))
// CHECK-SAME: weft.fusion_nodes = ["relu of 'r' (Relu)"]
// CHECK: "output to explain_dispatch_7 (softmax of 'sx' (Softmax) -> concat of 'c' (Concat)): a concat takes in only elementwise producers, and softmax of 'sx' (Softmax) is not elementwise"
// CHECK: weft.fusion_nodes = ["concat of 'c' (Concat)"]
// A broadcasting consumer starts its own chain.
// CHECK: "output to explain_dispatch_9 (neg of 'n' (Neg) -> mul of 'bm' (Mul)): the consumer's result type tensor<3x4xf32> differs from tensor<4xf32> (a broadcast or a type change does not join a chain)"
// CHECK-SAME: weft.fusion_nodes = ["neg of 'n' (Neg)"]
// CHECK: weft.fusion_nodes = ["mul of 'bm' (Mul)"]
// The add joins its first operand's chain, so the cos stays apart.
// CHECK: "output to explain_dispatch_11 (cos of 'q' (Cos) -> add of 'pq' (Add)): the consumer joined the dispatch of its other operand's producer, sigmoid of 'p' (Sigmoid)"
// CHECK-SAME: weft.fusion_nodes = ["cos of 'q' (Cos)"]
// CHECK: weft.fusion_nodes = ["sigmoid of 'p' (Sigmoid)", "add of 'pq' (Add)"]
// A model input returned as an output is copied by a dispatch of its own.
// CHECK: weft.fusion_apart = [], weft.fusion_nodes = ["identity: a copy into output 2, which is a model input, a constant, an alias or another output's value"]
func.func @explain(%x: tensor<4xf32>, %y: tensor<3x4xf32>, %a: tensor<2x3x4xf32>, %z: tensor<4xf32>) -> (tensor<3x4xf32>, tensor<2x3x5xf32>, tensor<4xf32>, tensor<8xf32>, tensor<3x4xf32>, tensor<4xf32>) {
  %0 = weft.exp %x : tensor<4xf32> loc(#e)
  %1 = weft.tanh %0 : tensor<4xf32> loc(#t)
  %2 = weft.add %0, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc(#s)
  %3 = weft.mul %2, %y : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32> loc(#m)
  %4 = weft.softmax %3 {axis = 1 : i64, log = false} : tensor<3x4xf32> loc(#sm)
  %b = weft.constant dense<0.25> : tensor<4x5xf32>
  %5 = weft.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32> loc(#mm)
  %6 = weft.relu %5 : tensor<2x3x5xf32> loc(#r)
  %7 = weft.softmax %x {axis = 0 : i64, log = false} : tensor<4xf32> loc(#sx)
  %8 = weft.concat %7, %2 {axis = 0 : i64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32> loc(#c)
  %9 = weft.neg %z : tensor<4xf32> loc(#n)
  %10 = weft.mul %9, %y : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32> loc(#bm)
  %11 = weft.cos %z : tensor<4xf32> loc(#q)
  %12 = weft.sigmoid %z : tensor<4xf32> loc(#p)
  %13 = weft.add %12, %11 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc(#pq)
  return %4, %6, %x, %8, %10, %13 : tensor<3x4xf32>, tensor<2x3x5xf32>, tensor<4xf32>, tensor<8xf32>, tensor<3x4xf32>, tensor<4xf32>
}
#e = loc("e"("Exp"))
#t = loc("t"("Tanh"))
#s = loc("s"("Add"))
#m = loc("m"("Mul"))
#sm = loc("sm"("Softmax"))
#mm = loc("mm"("MatMul"))
#r = loc("r"("Relu"))
#sx = loc("sx"("Softmax"))
#c = loc("c"("Concat"))
#n = loc("n"("Neg"))
#bm = loc("bm"("Mul"))
#q = loc("q"("Cos"))
#p = loc("p"("Sigmoid"))
#pq = loc("pq"("Add"))

// With matmuls-take-views (the CUDA targets) a batched matmul says why a
// view stays apart: K's transpose moves the innermost dimension, and W's
// view is also returned.
// VIEW-LABEL: func.func @explain_views
// VIEW: "output to explain_views_dispatch_1 (transpose of 'kt' (Transpose) -> matmul of 'qk' (MatMul)): a matmul takes in only transposes that keep the innermost dimension, and transpose of 'kt' (Transpose) moves it"
// VIEW-SAME: weft.fusion_nodes = ["slice of 'k' (Slice)", "transpose of 'kt' (Transpose)"]
// VIEW: "output to explain_views_dispatch_3 (transpose of 'wt' (Transpose) -> matmul of 'wm' (MatMul)): the value has 2 users; a matmul takes in only views it alone uses"
// VIEW: "input from explain_views_dispatch_1 (matmul of 'qk' (MatMul) -> matmul of 'wm' (MatMul)): a matmul takes in only slices and transposes, and matmul of 'qk' (MatMul) is neither"
// VIEW-SAME: weft.fusion_nodes = ["matmul of 'wm' (MatMul)"]
func.func @explain_views(%p: tensor<8x12x8xf32>, %q: tensor<4x8x8xf32>) -> (tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) {
  %k = weft.slice %p {starts = array<i64: 0, 4, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32> loc(#loc_k)
  %kt = weft.transpose %k {perm = array<i64: 1, 2, 0>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32> loc(#loc_kt)
  %s = weft.matmul %q, %kt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32> loc(#loc_qk)
  %w = weft.slice %p {starts = array<i64: 0, 8, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32> loc(#loc_w)
  %wt = weft.transpose %w {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32> loc(#loc_wt)
  %m = weft.matmul %s, %wt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32> loc(#loc_wm)
  return %s, %m, %wt : tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>
}
#loc_k = loc("k"("Slice"))
#loc_kt = loc("kt"("Transpose"))
#loc_qk = loc("qk"("MatMul"))
#loc_w = loc("w"("Slice"))
#loc_wt = loc("wt"("Transpose"))
#loc_wm = loc("wm"("MatMul"))
