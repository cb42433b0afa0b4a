// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{clone-constant-limit=2}))' | FileCheck %s --check-prefix=LIMIT
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{batch-row-epilogues=true}))' | FileCheck %s --check-prefix=ROWS
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{elementwise-dags=true}))' | FileCheck %s --check-prefix=DAG
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{norms-take-producers=true}))' | FileCheck %s --check-prefix=NORM
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{pads-into-convs=true}))' | FileCheck %s --check-prefix=PAD
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{transposes-in-chains=true}))' | FileCheck %s --check-prefix=PERM
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{transposes-in-chains=true slices-in-chains=true}))' | FileCheck %s --check-prefix=SLICE
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-form-dispatches{transposes-in-chains=true slices-in-chains=true matmuls-take-views=true}))' | FileCheck %s --check-prefix=VIEW

// An elementwise chain (each link used only by the next, one shape) shares
// one dispatch and yields only its last value; a small constant is cloned
// into the body that uses it and disappears from the top level.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: weft.constant
// CHECK: %[[D0:.*]] = weft.dispatch(%[[X]]) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x8xf32>):
// CHECK-NEXT: %[[C:.*]] = weft.constant dense<2.000000e+00> : tensor<4x8xf32>
// CHECK-NEXT: %[[S:.*]] = weft.add %[[A]], %[[C]]
// CHECK-NEXT: %[[R:.*]] = weft.relu %[[S]]
// CHECK-NEXT: weft.yield %[[R]] : tensor<4x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[D0]]
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %c = weft.constant dense<2.0> : tensor<4x8xf32>
  %0 = weft.add %x, %c : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = weft.relu %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// A value with a second user, a change of shape, and a non-elementwise op
// each end a chain; a later link may read a value from before the chain.
// CHECK-LABEL: func.func @chain_breaks
// CHECK: %[[E:.*]] = weft.dispatch(%{{.*}}) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK: weft.exp
// CHECK-NEXT: weft.yield
// CHECK: %[[B:.*]] = weft.dispatch(%[[E]]) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT: ^bb0(%[[EA:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[T:.*]] = weft.tanh %[[EA]]
// CHECK-NEXT: %[[N:.*]] = weft.neg %[[T]]
// CHECK-NEXT: weft.add %[[EA]], %[[N]]
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch(%[[B]], %{{.*}}) : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32> {
// CHECK: weft.mul
// CHECK-NEXT: weft.sigmoid
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.softmax
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.relu
// CHECK-NEXT: weft.yield
func.func @chain_breaks(%x: tensor<4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = weft.exp %x : tensor<4xf32>
  %1 = weft.tanh %0 : tensor<4xf32>
  %2 = weft.neg %1 : tensor<4xf32>
  %3 = weft.add %0, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = weft.mul %3, %y : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %5 = weft.sigmoid %4 : tensor<3x4xf32>
  %6 = weft.softmax %5 {axis = 1 : i64, log = false} : tensor<3x4xf32>
  %7 = weft.relu %6 : tensor<3x4xf32>
  return %7 : tensor<3x4xf32>
}

// -----

// Splats and constants of at most 64 elements are cloned in; a larger dense
// constant stays at the top level and is passed as a dispatch operand (once,
// for both of its users in the fused add/sub). The bias add is the matmul's
// epilogue; the broadcasting add changes the shape and starts a new chain.
// CHECK-LABEL: func.func @constants
// CHECK-SAME: (%[[X:.*]]: tensor<1x100xf32>)
// CHECK: %[[BIG:.*]] = weft.constant dense<{{.*}}> : tensor<17x4xf32>
// CHECK-NOT: weft.constant
// CHECK: %[[BIAS:.*]] = weft.dispatch(%[[X]]) : (tensor<1x100xf32>) -> tensor<1x4xf32> {
// CHECK: weft.constant dense<5.000000e-01> : tensor<100x4xf32>
// CHECK: weft.matmul
// CHECK: weft.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK: weft.add
// CHECK: }
// CHECK: %[[ADD:.*]] = weft.dispatch(%[[BIAS]], %[[BIG]]) : (tensor<1x4xf32>, tensor<17x4xf32>) -> tensor<17x4xf32> {
// CHECK-NEXT: ^bb0(%[[P:.*]]: tensor<1x4xf32>, %[[Q:.*]]: tensor<17x4xf32>):
// CHECK-NEXT: weft.add %[[P]], %[[Q]]
// CHECK-NEXT: weft.sub %[[Q]], %{{.*}}
// CHECK-NOT: weft.constant
// CHECK: return %[[ADD]]

// With clone-constant-limit=2 only splats are cloned.
// LIMIT-LABEL: func.func @constants
// LIMIT: %[[B4:.*]] = weft.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// LIMIT: weft.dispatch(%{{.*}}, %[[B4]]) : (tensor<1x100xf32>, tensor<4xf32>) -> tensor<1x4xf32> {
// LIMIT: weft.constant dense<5.000000e-01> : tensor<100x4xf32>
// LIMIT: weft.matmul
// LIMIT: weft.add
func.func @constants(%x: tensor<1x100xf32>) -> tensor<17x4xf32> {
  %w = weft.constant dense<0.5> : tensor<100x4xf32>
  %b = weft.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %big = weft.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]]> : tensor<17x4xf32>
  %0 = weft.matmul %x, %w : (tensor<1x100xf32>, tensor<100x4xf32>) -> tensor<1x4xf32>
  %1 = weft.add %0, %b : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %2 = weft.add %1, %big : (tensor<1x4xf32>, tensor<17x4xf32>) -> tensor<17x4xf32>
  %3 = weft.sub %big, %2 : (tensor<17x4xf32>, tensor<17x4xf32>) -> tensor<17x4xf32>
  return %3 : tensor<17x4xf32>
}

// -----

// A reshape is an alias: it stays between the dispatches.
// CHECK-LABEL: func.func @reshape_outside
// CHECK: %[[D0:.*]] = weft.dispatch(%{{.*}}) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK: weft.relu
// CHECK: }
// CHECK-NEXT: %[[R:.*]] = weft.reshape %[[D0]] : (tensor<2x3xf32>) -> tensor<6xf32>
// CHECK-NEXT: %[[D1:.*]] = weft.dispatch(%[[R]]) : (tensor<6xf32>) -> tensor<6xf32> {
// CHECK-NOT: weft.reshape
// CHECK: weft.exp
// CHECK: return %[[D1]]
func.func @reshape_outside(%x: tensor<2x3xf32>) -> tensor<6xf32> {
  %0 = weft.relu %x : tensor<2x3xf32>
  %1 = weft.reshape %0 : (tensor<2x3xf32>) -> tensor<6xf32>
  %2 = weft.exp %1 : tensor<6xf32>
  return %2 : tensor<6xf32>
}

// -----

// Every output is written by exactly one kernel: a returned input, a repeated
// result, a reshape alias and a constant each get a copy dispatch.
// CHECK-LABEL: func.func @outputs
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[RELU:.*]] = weft.dispatch(%[[X]]) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK: weft.relu
// CHECK: }
// CHECK-NEXT: %[[RS:.*]] = weft.reshape %[[RELU]] : (tensor<4xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: %[[CX:.*]] = weft.dispatch(%[[X]]) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[I:.*]] = weft.identity %[[A]] : tensor<4xf32>
// CHECK-NEXT: weft.yield %[[I]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[CDUP:.*]] = weft.dispatch(%[[RELU]]) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK: weft.identity
// CHECK: }
// CHECK-NEXT: %[[CRS:.*]] = weft.dispatch(%[[RS]]) : (tensor<2x2xf32>) -> tensor<2x2xf32> {
// CHECK: weft.identity
// CHECK: }
// CHECK-NEXT: %[[CC:.*]] = weft.dispatch() : () -> tensor<4xf32> {
// CHECK-NEXT: %[[K:.*]] = weft.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-NEXT: %[[KI:.*]] = weft.identity %[[K]]
// CHECK-NEXT: weft.yield %[[KI]]
// CHECK-NEXT: }
// CHECK-NEXT: return %[[CX]], %[[RELU]], %[[CDUP]], %[[CRS]], %[[CC]]
func.func @outputs(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>) {
  %0 = weft.relu %x : tensor<4xf32>
  %1 = weft.reshape %0 : (tensor<4xf32>) -> tensor<2x2xf32>
  %c = weft.constant dense<1.0> : tensor<4xf32>
  return %x, %0, %0, %1, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>
}

// -----

// Existing dispatches are left as they are.
// CHECK-LABEL: func.func @already_formed
// CHECK-COUNT-1: weft.dispatch
// CHECK-NOT: weft.dispatch
func.func @already_formed(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = weft.dispatch(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %r = weft.relu %a : tensor<4xf32>
    weft.yield %r : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

// A Concat takes in the elementwise chains that only feed it; a branch with
// another user stays a dispatch of its own.
// CHECK-LABEL: func.func @concat_producers
// CHECK: %[[SHARED:.*]] = weft.dispatch(%{{.*}}) : (tensor<2x4xf32>) -> tensor<2x4xf32> {
// CHECK: weft.exp
// CHECK-NEXT: weft.yield
// CHECK: %[[C:.*]] = weft.dispatch(%{{.*}}, %[[SHARED]]) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x12xf32> {
// CHECK: weft.relu
// CHECK-NEXT: weft.neg
// CHECK-NEXT: weft.sigmoid
// CHECK-NEXT: weft.concat
// CHECK-NEXT: weft.yield
// CHECK: return %[[C]], %[[SHARED]]
func.func @concat_producers(%x: tensor<2x4xf32>) -> (tensor<2x12xf32>, tensor<2x4xf32>) {
  %a = weft.relu %x : tensor<2x4xf32>
  %b = weft.neg %a : tensor<2x4xf32>
  %e = weft.exp %x : tensor<2x4xf32>
  %s = weft.sigmoid %x : tensor<2x4xf32>
  %c = weft.concat %b, %e, %s {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x12xf32>
  return %c, %e : tensor<2x12xf32>, tensor<2x4xf32>
}

// -----

// A convolution heads the elementwise chain that only it feeds (bias add,
// residual add, relu): one dispatch yields the last link. The residual's
// other operand comes in from outside.
// CHECK-LABEL: func.func @conv_epilogue
// CHECK: weft.dispatch(%{{.*}}, %{{.*}}) : (tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
// CHECK: weft.conv
// CHECK-NEXT: weft.add
// CHECK-NEXT: weft.relu
// CHECK-NEXT: weft.yield
// CHECK-NOT: weft.dispatch
// CHECK: return
func.func @conv_epilogue(%x: tensor<1x8x6x6xf32>, %skip: tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
  %w = weft.constant dense<0.5> : tensor<8x8x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x6x6xf32>
  %1 = weft.add %skip, %0 : (tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %2 = weft.relu %1 : tensor<1x8x6x6xf32>
  return %2 : tensor<1x8x6x6xf32>
}

// -----

// A convolution whose result has a second user, and a matmul whose result
// is not 2-D, keep their dispatches of their own. With batch-row-epilogues
// (the CUDA targets) a matmul [2, 3, 4] x [4, 5], whose batch dims are
// more rows of one product, heads its Relu (lowered on the collapsed 2-D
// rows).
// ROWS-LABEL: func.func @no_epilogue
// ROWS: weft.dispatch
// ROWS: weft.matmul
// ROWS-NEXT: weft.relu
// ROWS-NEXT: weft.yield
// CHECK-LABEL: func.func @no_epilogue
// CHECK: weft.dispatch
// CHECK-NEXT: ^bb0
// CHECK: weft.conv
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.relu
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.matmul
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.relu
// CHECK-NEXT: weft.yield
func.func @no_epilogue(%x: tensor<1x8x6x6xf32>, %a: tensor<2x3x4xf32>) -> (tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>, tensor<2x3x5xf32>) {
  %w = weft.constant dense<0.5> : tensor<8x8x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x6x6xf32>
  %1 = weft.relu %0 : tensor<1x8x6x6xf32>
  %b = weft.constant dense<0.25> : tensor<4x5xf32>
  %2 = weft.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %3 = weft.relu %2 : tensor<2x3x5xf32>
  return %0, %1, %3 : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>, tensor<2x3x5xf32>
}

// -----

// A weft.loop's body is formed like any block. A carried value yielded from
// another carried value's block argument (the two trade places) is copied
// by a kernel of its own first, so the host's copies into the state
// buffers never read a state already overwritten.
// CHECK-LABEL: func.func @loop_swap
// CHECK: weft.loop
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<i64>, %[[C:.*]]: tensor<i1>, %[[X:.*]]: tensor<4xf32>, %[[Y:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[S:.*]] = weft.dispatch(%[[X]], %[[Y]])
// CHECK: weft.add
// CHECK: %[[COPY:.*]] = weft.dispatch(%[[Y]])
// CHECK-NEXT: ^bb0
// CHECK-NEXT: weft.identity
// CHECK: weft.yield %[[C]], %[[COPY]], %[[S]]
// CHECK: weft.dispatch
// CHECK-NEXT: ^bb0
// CHECK-NEXT: weft.neg
func.func @loop_swap(%m: tensor<i64>, %a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = weft.constant dense<true> : tensor<i1>
  %r:2 = weft.loop(%m, %c, %a, %b) : (tensor<i64>, tensor<i1>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %x: tensor<4xf32>, %y: tensor<4xf32>):
    %s = weft.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    weft.yield %ci, %y, %s : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }
  %o = weft.neg %r#0 : tensor<4xf32>
  return %o : tensor<4xf32>
}

// -----

// GELU after a matmul's bias add: the sum has two users (the division and
// the product with x), so the chain stops there and GELU is a dispatch of
// its own. With elementwise-dags (weftc's setting) the GELU group, fed
// only by the bias add and constants, joins the matmul's dispatch as a
// graph-shaped epilogue. A transpose (which takes no epilogue) keeps its
// consumers apart either way.
// CHECK-LABEL: func.func @gelu
// CHECK: weft.matmul
// CHECK: weft.add
// CHECK-NEXT: weft.yield
// CHECK: weft.dispatch
// CHECK: weft.div
// DAG-LABEL: func.func @gelu
// DAG: weft.dispatch
// DAG-SAME: weft.elementwise_dag
// DAG: weft.matmul
// DAG: weft.add
// DAG: weft.div
// DAG: weft.erf
// DAG: weft.mul
// DAG: weft.mul
// DAG-NEXT: weft.yield
// DAG: weft.dispatch
// DAG: weft.transpose
// DAG-NEXT: weft.yield
// DAG: weft.dispatch
// DAG: weft.mul
// DAG-NEXT: weft.add
// DAG-NEXT: weft.yield
func.func @gelu(%x: tensor<8x16xf32>, %t: tensor<4x8xf32>) -> (tensor<8x32xf32>, tensor<8x4xf32>) {
  %w = weft.constant dense<0.5> : tensor<16x32xf32>
  %c = weft.constant dense<0.25> : tensor<32xf32>
  %s = weft.constant dense<1.41421354> : tensor<f32>
  %one = weft.constant dense<1.0> : tensor<f32>
  %half = weft.constant dense<0.5> : tensor<f32>
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %h = weft.add %0, %c : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %d = weft.div %h, %s : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %e = weft.erf %d : tensor<8x32xf32>
  %f = weft.add %e, %one : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %g = weft.mul %h, %f : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = weft.mul %g, %half : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %tt = weft.transpose %t {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %m = weft.mul %tt, %tt : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  %z = weft.add %m, %tt : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y, %z : tensor<8x32xf32>, tensor<8x4xf32>
}

// -----

// GELU as Hugging Face's BERT writes it, (x * 0.5) * (1 + erf(x / sqrt 2)):
// two groups read the bias add, the product with 0.5 and the erf chain,
// and the first ends with the product of both. With elementwise-dags both
// join the matmul's dispatch, in their order in the block. A graph with two
// ends (each group's value used outside it) stays apart.
// DAG-LABEL: func.func @gelu_two_groups
// DAG: weft.dispatch(%arg0) {weft.elementwise_dag}
// DAG: weft.matmul
// DAG: weft.add
// DAG: weft.mul
// DAG: weft.div
// DAG: weft.erf
// DAG: weft.add
// DAG: %[[Y:.*]] = weft.mul
// DAG-NEXT: weft.yield %[[Y]]
// DAG: weft.dispatch(%arg0) : (tensor<8x16xf32>) -> tensor<8x32xf32> {
// DAG: weft.matmul
// DAG: %[[K:.*]] = weft.add
// DAG-NEXT: weft.yield %[[K]]
// DAG: weft.dispatch
// DAG: weft.mul
// DAG-NEXT: weft.yield
// DAG: weft.dispatch
// DAG-NEXT: ^bb0
// DAG-NEXT: weft.erf
// DAG-NEXT: weft.yield
func.func @gelu_two_groups(%x: tensor<8x16xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  %w = weft.constant dense<0.5> : tensor<16x32xf32>
  %c = weft.constant dense<0.25> : tensor<32xf32>
  %s = weft.constant dense<1.41421354> : tensor<f32>
  %one = weft.constant dense<1.0> : tensor<f32>
  %half = weft.constant dense<0.5> : tensor<f32>
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %h = weft.add %0, %c : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %a = weft.mul %h, %half : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %d = weft.div %h, %s : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %e = weft.erf %d : tensor<8x32xf32>
  %f = weft.add %e, %one : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %y = weft.mul %a, %f : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xf32>
  %1 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %k = weft.add %1, %c : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %p = weft.mul %k, %half : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %q = weft.erf %k : tensor<8x32xf32>
  return %y, %p, %q : tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// A group whose value no op reads (weftc removes such ops first) does not
// join a graph: it would end the joined ops without being their result.
// DAG-LABEL: func.func @gelu_dead_branch
// DAG: %[[H:.*]] = weft.dispatch(%arg0) : (tensor<8x16xf32>) -> tensor<8x32xf32> {
// DAG: weft.matmul
// DAG: %[[S:.*]] = weft.add
// DAG-NEXT: weft.yield %[[S]]
// DAG: %[[Y:.*]] = weft.dispatch(%[[H]])
// DAG: weft.erf
// DAG: weft.mul
// DAG-NEXT: weft.yield
// DAG: weft.dispatch(%[[H]])
// DAG: weft.mul
// DAG-NEXT: weft.yield
// DAG: return %[[Y]]
func.func @gelu_dead_branch(%x: tensor<8x16xf32>) -> tensor<8x32xf32> {
  %w = weft.constant dense<0.5> : tensor<16x32xf32>
  %c = weft.constant dense<0.25> : tensor<32xf32>
  %half = weft.constant dense<0.5> : tensor<f32>
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %h = weft.add %0, %c : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %e = weft.erf %h : tensor<8x32xf32>
  %y = weft.mul %e, %h : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xf32>
  %dead = weft.mul %h, %half : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// With pads-into-convs (the CUDA targets) a convolution that runs in the
// GPU's blocks (f32, 256 x 784 outputs per image, 1152 products) takes in
// the padding of its image, and its epilogue follows; by default the
// padding is a dispatch of its own. A convolution of too few outputs for
// blocks (64 x 784) leaves its padding apart.
// CHECK-LABEL: func.func @conv_padding
// CHECK: weft.dispatch
// CHECK-NEXT: ^bb0
// CHECK-NEXT: weft.pad
// CHECK-NEXT: weft.yield
// PAD-LABEL: func.func @conv_padding
// PAD: weft.dispatch
// PAD-NEXT: ^bb0
// PAD-NEXT: weft.pad
// PAD-NEXT: weft.conv
// PAD-NEXT: weft.relu
// PAD-NEXT: weft.yield
// PAD: weft.slice
// PAD: weft.dispatch
// PAD-NEXT: ^bb0
// PAD-NEXT: weft.pad
// PAD-NEXT: weft.yield
// PAD: weft.dispatch
// PAD-NEXT: ^bb0
// PAD-NEXT: weft.conv
// PAD-NEXT: weft.yield
func.func @conv_padding(%x: tensor<2x128x28x28xf32>, %w: tensor<256x128x3x3xf32>,
                        %v: tensor<64x128x3x3xf32>) -> (tensor<2x256x28x28xf32>, tensor<1x64x28x28xf32>) {
  %cst = arith.constant 0.0 : f32
  %p = weft.pad %x {high = array<i64: 0, 0, 1, 1>, low = array<i64: 0, 0, 1, 1>, value = 0.0 : f32} : (tensor<2x128x28x28xf32>) -> tensor<2x128x30x30xf32>
  %0 = weft.conv %p, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<2x128x30x30xf32>, tensor<256x128x3x3xf32>) -> tensor<2x256x28x28xf32>
  %1 = weft.relu %0 : tensor<2x256x28x28xf32>
  %s = weft.slice %x {starts = array<i64: 0, 0, 0, 0>, sizes = array<i64: 1, 128, 28, 28>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x128x28x28xf32>) -> tensor<1x128x28x28xf32>
  %q = weft.pad %s {high = array<i64: 0, 0, 1, 1>, low = array<i64: 0, 0, 1, 1>, value = 0.0 : f32} : (tensor<1x128x28x28xf32>) -> tensor<1x128x30x30xf32>
  %2 = weft.conv %q, %v {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x128x30x30xf32>, tensor<64x128x3x3xf32>) -> tensor<1x64x28x28xf32>
  return %1, %2 : tensor<2x256x28x28xf32>, tensor<1x64x28x28xf32>
}

// -----

// With transposes-in-chains (the CUDA targets) a transpose links
// elementwise chains: an attention's Q transposed and scaled is one
// dispatch, as is a transpose with the residual add after it, and an
// elementwise op's result transposed joins its chain. A transpose does not
// join a matmul's epilogue (the matmul computes it on its own tiles), nor
// a transpose marked as a split matmul's, which joins its matmul, nor one
// that moves the innermost dimension (the exp's transpose: its own kernel
// reads along its input's rows). By default each transpose is a dispatch
// of its own.
// CHECK-LABEL: func.func @transposes
// CHECK-COUNT-11: weft.dispatch(
// CHECK-NOT: weft.dispatch(
// PERM-LABEL: func.func @transposes
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.transpose
// PERM: weft.div
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.relu
// PERM-NEXT: weft.transpose
// PERM-NEXT: weft.add
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.exp
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.transpose {{.*}} : (tensor<12x128xf32>) -> tensor<128x12xf32>
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.matmul
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.transpose
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.transpose {{.*}}weft.split_reduction
// PERM-NEXT: weft.matmul
// PERM-NEXT: weft.yield
// PERM: weft.dispatch
// PERM-NEXT: ^bb0
// PERM-NEXT: weft.slice
// PERM-NOT: weft.dispatch
func.func @transposes(%q: tensor<128x12x64xf32>, %x: tensor<12x128x4xf32>, %r: tensor<128x12x4xf32>,
                      %a: tensor<16x32xf32>, %b: tensor<32x16xf32>, %k: tensor<16x4x8xf32>,
                      %w: tensor<4x8x32xf32>, %x2: tensor<12x128xf32>) -> (tensor<12x128x64xf32>, tensor<128x12x4xf32>, tensor<16x16xf32>, tensor<4x16x8xf32>, tensor<128x12xf32>) {
  %c = weft.constant dense<8.0> : tensor<f32>
  %0 = weft.transpose %q {perm = array<i64: 1, 0, 2>} : (tensor<128x12x64xf32>) -> tensor<12x128x64xf32>
  %1 = weft.div %0, %c : (tensor<12x128x64xf32>, tensor<f32>) -> tensor<12x128x64xf32>
  %2 = weft.relu %x : tensor<12x128x4xf32>
  %3 = weft.transpose %2 {perm = array<i64: 1, 0, 2>} : (tensor<12x128x4xf32>) -> tensor<128x12x4xf32>
  %4 = weft.add %3, %r : (tensor<128x12x4xf32>, tensor<128x12x4xf32>) -> tensor<128x12x4xf32>
  %10 = weft.exp %x2 : tensor<12x128xf32>
  %11 = weft.transpose %10 {perm = array<i64: 1, 0>} : (tensor<12x128xf32>) -> tensor<128x12xf32>
  %5 = weft.matmul %a, %b : (tensor<16x32xf32>, tensor<32x16xf32>) -> tensor<16x16xf32>
  %6 = weft.transpose %5 {perm = array<i64: 1, 0>} : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %7 = weft.transpose %k {perm = array<i64: 1, 0, 2>, weft.split_reduction} : (tensor<16x4x8xf32>) -> tensor<4x16x8xf32>
  %8 = weft.matmul %7, %w : (tensor<4x16x8xf32>, tensor<4x8x32xf32>) -> tensor<4x16x32xf32>
  %9 = weft.slice %8 {starts = array<i64: 0, 0, 0>, sizes = array<i64: 4, 16, 8>, steps = array<i64: 1, 1, 1>} : (tensor<4x16x32xf32>) -> tensor<4x16x8xf32>
  return %1, %4, %6, %9, %11 : tensor<12x128x64xf32>, tensor<128x12x4xf32>, tensor<16x16xf32>, tensor<4x16x8xf32>, tensor<128x12xf32>
}

// -----

// An attention's Q and K: slices of the projection's last dimension, each
// viewed as [S, H, E / H] and transposed (Q also scaled). With
// slices-in-chains (the CUDA targets) the view moves above the slices (the
// projection viewed as [8, 12, 8], Q and K its heads 0-3 and 4-7), and
// each slice heads the chain of its transpose: two dispatches after the
// matmul's instead of four. A slice takes no producer: the relu before the
// third slice stays apart. Without the option the reshapes stay between.
// SLICE-LABEL: func.func @attention_slices
// SLICE: weft.matmul
// SLICE: %[[V:.*]] = weft.reshape %{{.*}} : (tensor<8x1x96xf32>) -> tensor<8x12x8xf32>
// SLICE: weft.dispatch(%[[V]])
// SLICE-NEXT: ^bb0
// SLICE-NEXT: weft.slice %{{.*}} {sizes = array<i64: 8, 4, 8>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>}
// SLICE-NEXT: weft.transpose
// SLICE: weft.div
// SLICE-NEXT: weft.yield
// SLICE: weft.dispatch
// SLICE-NEXT: ^bb0
// SLICE-NEXT: weft.slice %{{.*}} {sizes = array<i64: 8, 4, 8>, starts = array<i64: 0, 4, 0>, steps = array<i64: 1, 1, 1>}
// SLICE-NEXT: weft.transpose
// SLICE-NEXT: weft.yield
// SLICE: weft.dispatch
// SLICE-NEXT: ^bb0
// SLICE-NEXT: weft.relu
// SLICE-NEXT: weft.yield
// SLICE: weft.dispatch
// SLICE-NEXT: ^bb0
// SLICE-NEXT: weft.slice
// SLICE-NEXT: weft.yield
// PERM-LABEL: func.func @attention_slices
// CHECK-LABEL: func.func @attention_slices
// CHECK-COUNT-2: weft.reshape %{{.*}} : (tensor<8x1x32xf32>) -> tensor<8x4x8xf32>
func.func @attention_slices(%x: tensor<8x1x16xf32>, %w: tensor<16x96xf32>, %y: tensor<8x1x96xf32>)
    -> (tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<8x1x32xf32>) {
  %c = weft.constant dense<2.0> : tensor<f32>
  %p = weft.matmul %x, %w : (tensor<8x1x16xf32>, tensor<16x96xf32>) -> tensor<8x1x96xf32>
  %q = weft.slice %p {starts = array<i64: 0, 0, 0>, sizes = array<i64: 8, 1, 32>, steps = array<i64: 1, 1, 1>} : (tensor<8x1x96xf32>) -> tensor<8x1x32xf32>
  %k = weft.slice %p {starts = array<i64: 0, 0, 32>, sizes = array<i64: 8, 1, 32>, steps = array<i64: 1, 1, 1>} : (tensor<8x1x96xf32>) -> tensor<8x1x32xf32>
  %q3 = weft.reshape %q : (tensor<8x1x32xf32>) -> tensor<8x4x8xf32>
  %k3 = weft.reshape %k : (tensor<8x1x32xf32>) -> tensor<8x4x8xf32>
  %qt = weft.transpose %q3 {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %qs = weft.div %qt, %c : (tensor<4x8x8xf32>, tensor<f32>) -> tensor<4x8x8xf32>
  %kt = weft.transpose %k3 {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %r = weft.relu %y : tensor<8x1x96xf32>
  %v = weft.slice %r {starts = array<i64: 0, 0, 64>, sizes = array<i64: 8, 1, 32>, steps = array<i64: 1, 1, 1>} : (tensor<8x1x96xf32>) -> tensor<8x1x32xf32>
  return %qs, %kt, %v : tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<8x1x32xf32>
}

// -----

// With norms-take-producers a layer normalization joins the chain that
// computes its input (a residual add) when it is that value's only user;
// one whose input has another user stays apart.
// NORM-LABEL: func.func @residual_norm
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NEXT: weft.add
// NORM-NEXT: weft.relu
// NORM: weft.layer_norm
// NORM-NEXT: weft.yield
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NEXT: weft.add
// NORM-NEXT: weft.yield
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NOT: weft.add
// NORM: weft.layer_norm
// NORM-NEXT: weft.yield
func.func @residual_norm(%x: tensor<4x8xf32>, %r: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %g = weft.constant dense<1.0> : tensor<8xf32>
  %0 = weft.add %x, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = weft.relu %0 : tensor<4x8xf32>
  %2 = weft.layer_norm %1, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %3 = weft.add %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = weft.layer_norm %3, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %2, %3, %4 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A chain of 3 ops (BERT's bias add, residual add and one more) joins its
// normalization; one of 4 stays apart.
// NORM-LABEL: func.func @residual_norm_chains
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NEXT: weft.add
// NORM-NEXT: weft.add
// NORM-NEXT: weft.relu
// NORM: weft.layer_norm
// NORM-NEXT: weft.yield
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NEXT: weft.add
// NORM-NEXT: weft.add
// NORM-NEXT: weft.relu
// NORM-NEXT: weft.neg
// NORM-NEXT: weft.yield
// NORM: weft.dispatch
// NORM-NEXT: ^bb0
// NORM-NOT: weft.add
// NORM: weft.layer_norm
// NORM-NEXT: weft.yield
func.func @residual_norm_chains(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %r: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %g = weft.constant dense<1.0> : tensor<8xf32>
  %0 = weft.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = weft.add %0, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = weft.relu %1 : tensor<4x8xf32>
  %3 = weft.layer_norm %2, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %4 = weft.add %r, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %5 = weft.add %4, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %6 = weft.relu %5 : tensor<4x8xf32>
  %7 = weft.neg %6 : tensor<4x8xf32>
  %8 = weft.layer_norm %7, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %3, %8 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// With matmuls-take-views an attention's batched matmuls take in the
// slices and transposes that cut Q and V out of a joint projection (their
// transposes keep the innermost dimension), Q's scale by 1/2 moves to the
// scores as their epilogue, and K's transpose, which moves the innermost
// dimension, joins K's slice in a dispatch of its own, and the context's
// transpose (keeping the innermost dimension) joins its matmul: six
// dispatches instead of ten. A view that another op also reads (the
// returned W) stays apart.
// VIEW-LABEL: func.func @attention_views
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.slice %{{.*}} {sizes = array<i64: 8, 4, 8>, starts = array<i64: 0, 4, 0>
// VIEW-NEXT: weft.transpose %{{.*}} {perm = array<i64: 1, 2, 0>}
// VIEW-NEXT: weft.yield
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.slice %{{.*}} {sizes = array<i64: 8, 4, 8>, starts = array<i64: 0, 0, 0>
// VIEW-NEXT: weft.transpose %{{.*}} {perm = array<i64: 1, 0, 2>}
// VIEW-NEXT: weft.matmul
// VIEW-NEXT: weft.constant dense<2.000000e+00>
// VIEW-NEXT: weft.div
// VIEW-NEXT: weft.yield
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.softmax
// VIEW-NEXT: weft.yield
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.slice %{{.*}} {sizes = array<i64: 8, 4, 8>, starts = array<i64: 0, 8, 0>
// VIEW-NEXT: weft.transpose %{{.*}} {perm = array<i64: 1, 0, 2>}
// VIEW-NEXT: weft.matmul
// VIEW-NEXT: weft.transpose %{{.*}} {perm = array<i64: 1, 0, 2>}
// VIEW-NEXT: weft.yield
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.slice
// VIEW-NEXT: weft.transpose
// VIEW-NEXT: weft.yield
// VIEW: weft.dispatch
// VIEW-NEXT: ^bb0
// VIEW-NEXT: weft.matmul
// VIEW-NEXT: weft.yield
// SLICE-LABEL: func.func @attention_views
// SLICE-COUNT-10: weft.dispatch
// SLICE-NOT: weft.dispatch
func.func @attention_views(%p: tensor<8x12x8xf32>) -> (tensor<8x4x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) {
  %c = weft.constant dense<2.0> : tensor<f32>
  %q = weft.slice %p {starts = array<i64: 0, 0, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32>
  %qt = weft.transpose %q {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %qs = weft.div %qt, %c : (tensor<4x8x8xf32>, tensor<f32>) -> tensor<4x8x8xf32>
  %k = weft.slice %p {starts = array<i64: 0, 4, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32>
  %kt = weft.transpose %k {perm = array<i64: 1, 2, 0>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %s = weft.matmul %qs, %kt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %a = weft.softmax %s {axis = 2 : i64, log = false} : tensor<4x8x8xf32>
  %v = weft.slice %p {starts = array<i64: 0, 8, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32>
  %vt = weft.transpose %v {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %o = weft.matmul %a, %vt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %ot = weft.transpose %o {perm = array<i64: 1, 0, 2>} : (tensor<4x8x8xf32>) -> tensor<8x4x8xf32>
  %w = weft.slice %p {starts = array<i64: 0, 0, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32>
  %wt = weft.transpose %w {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
  %m = weft.matmul %a, %wt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  return %ot, %m, %wt : tensor<8x4x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>
}
