// RUN: weft-opt %s -canonicalize -split-input-file | FileCheck %s

// Constant folding of elementwise arithmetic on constants of the same type.
// CHECK-LABEL: func.func @fold_binary_constants
// CHECK-DAG: %[[ADD:.*]] = weft.constant dense<[5.000000e+00, 1.000000e+01, 3.500000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[SUB:.*]] = weft.constant dense<[-3.000000e+00, -6.000000e+00, 2.500000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[MUL:.*]] = weft.constant dense<[2.000000e+00, 4.000000e+00, 6.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[DIV:.*]] = weft.constant dense<[2.500000e-01, 2.500000e-01, 6.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[SPLAT:.*]] = weft.constant dense<3.000000e+00> : tensor<2x2xf32>
// CHECK-NOT: weft.add
// CHECK-NOT: weft.sub
// CHECK-NOT: weft.mul
// CHECK-NOT: weft.div
// CHECK: return %[[ADD]], %[[SUB]], %[[MUL]], %[[DIV]], %[[SPLAT]]
func.func @fold_binary_constants() -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<2x2xf32>) {
  %a = weft.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = weft.constant dense<[4.0, 8.0, 0.5]> : tensor<3xf32>
  %s = weft.constant dense<2.0> : tensor<3xf32>
  %0 = weft.add %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = weft.sub %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %2 = weft.mul %a, %s : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %3 = weft.div %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %c = weft.constant dense<1.5> : tensor<2x2xf32>
  %d = weft.constant dense<2.0> : tensor<2x2xf32>
  %4 = weft.mul %c, %d : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0, %1, %2, %3, %4 : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<2x2xf32>
}

// -----

// A splat operand folds even when it broadcasts.
// CHECK-LABEL: func.func @fold_splat_broadcast
// CHECK-NEXT: %[[C:.*]] = weft.constant dense<{{\[}}[1.100000e+01, 1.200000e+01, 1.300000e+01], [1.400000e+01, 1.500000e+01, 1.600000e+01]]> : tensor<2x3xf32>
// CHECK-NEXT: return %[[C]]
func.func @fold_splat_broadcast() -> tensor<2x3xf32> {
  %a = weft.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = weft.constant dense<10.0> : tensor<1xf32>
  %0 = weft.add %a, %b : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A non-splat broadcast operand and integer arithmetic are left alone.
// CHECK-LABEL: func.func @no_fold_broadcast_or_integer
// CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
func.func @no_fold_broadcast_or_integer() -> (tensor<2x3xf32>, tensor<2xi32>) {
  %a = weft.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = weft.constant dense<[10.0, 20.0, 30.0]> : tensor<3xf32>
  %0 = weft.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %i = weft.constant dense<[1, 2]> : tensor<2xi32>
  %1 = weft.add %i, %i : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  return %0, %1 : tensor<2x3xf32>, tensor<2xi32>
}

// -----

// x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, pow(x, 1), max(x, x) are x,
// for float and integer zeros/ones, including a broadcast splat.
// CHECK-LABEL: func.func @algebraic_identities
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<4xi32>, %[[Y:.*]]: tensor<2x4xf32>)
// CHECK-NOT: weft.
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[I]], %[[I]], %[[Y]] :
func.func @algebraic_identities(%x: tensor<4xf32>, %i: tensor<4xi32>, %y: tensor<2x4xf32>)
    -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi32>, tensor<2x4xf32>) {
  %zero = weft.constant dense<0.0> : tensor<4xf32>
  %one = weft.constant dense<1.0> : tensor<4xf32>
  %0 = weft.add %x, %zero : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = weft.add %zero, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = weft.sub %x, %zero : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = weft.mul %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = weft.mul %one, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %5 = weft.div %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %6 = weft.pow %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %7 = weft.max %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %izero = weft.constant dense<0> : tensor<4xi32>
  %ione = weft.constant dense<1> : tensor<4xi32>
  %8 = weft.add %izero, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %9 = weft.mul %i, %ione : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %bone = weft.constant dense<1.0> : tensor<1xf32>
  %10 = weft.mul %y, %bone : (tensor<2x4xf32>, tensor<1xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi32>, tensor<2x4xf32>
}

// -----

// Identities do not apply when the constant would grow the result, or on the
// wrong side of a non-commutative op.
// CHECK-LABEL: func.func @no_identity
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<4xf32>)
// CHECK-DAG: %[[Z23:.*]] = weft.constant dense<0.000000e+00> : tensor<2x3xf32>
// CHECK-DAG: %[[Z:.*]] = weft.constant dense<0.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[ONE:.*]] = weft.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[TWO:.*]] = weft.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[A:.*]] = weft.add %[[X]], %[[Z23]] : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-DAG: %[[S:.*]] = weft.sub %[[Z]], %[[Y]]
// CHECK-DAG: %[[D:.*]] = weft.div %[[ONE]], %[[Y]]
// CHECK-DAG: %[[M:.*]] = weft.mul %[[Y]], %[[TWO]]
// CHECK: return %[[A]], %[[S]], %[[D]], %[[M]]
func.func @no_identity(%x: tensor<3xf32>, %y: tensor<4xf32>) -> (tensor<2x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %z23 = weft.constant dense<0.0> : tensor<2x3xf32>
  %0 = weft.add %x, %z23 : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %zero = weft.constant dense<0.0> : tensor<4xf32>
  %1 = weft.sub %zero, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %one = weft.constant dense<1.0> : tensor<4xf32>
  %2 = weft.div %one, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %two = weft.constant dense<2.0> : tensor<4xf32>
  %3 = weft.mul %y, %two : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @neg
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-DAG: %[[C:.*]] = weft.constant dense<[-1.000000e+00, 2.000000e+00, -3.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[N:.*]] = weft.neg %[[X]] : tensor<4xf32>
// CHECK-NOT: weft.neg
// CHECK: return %[[X]], %[[C]], %[[N]]
func.func @neg(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<3xf32>, tensor<4xf32>) {
  %0 = weft.neg %x : tensor<4xf32>
  %1 = weft.neg %0 : tensor<4xf32>
  %a = weft.constant dense<[1.0, -2.0, 3.0]> : tensor<3xf32>
  %2 = weft.neg %a : tensor<3xf32>
  %3 = weft.neg %x : tensor<4xf32>
  return %1, %2, %3 : tensor<4xf32>, tensor<3xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @identity
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NOT: weft.identity
// CHECK: %[[R:.*]] = weft.relu %[[X]] : tensor<4xf32>
// CHECK-NOT: weft.identity
// CHECK: return %[[R]], %[[X]]
func.func @identity(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = weft.identity %x : tensor<4xf32>
  %1 = weft.relu %0 : tensor<4xf32>
  %2 = weft.identity %x : tensor<4xf32>
  return %1, %2 : tensor<4xf32>, tensor<4xf32>
}

// -----

// reshape(reshape(x)) reads x directly; a reshape to the same type is x;
// a reshape of a constant is a constant of the new shape.
// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-DAG: %[[C:.*]] = weft.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK-DAG: %[[R:.*]] = weft.reshape %[[X]] : (tensor<2x3x4xf32>) -> tensor<24xf32>
// CHECK-NOT: weft.reshape
// CHECK: return %[[R]], %[[C]], %[[X]]
func.func @reshape(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<2x3xf32>, tensor<2x3x4xf32>) {
  %0 = weft.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = weft.reshape %0 : (tensor<6x4xf32>) -> tensor<24xf32>
  %c = weft.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %2 = weft.reshape %c : (tensor<6xf32>) -> tensor<2x3xf32>
  %3 = weft.reshape %x : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %1, %2, %3 : tensor<24xf32>, tensor<2x3xf32>, tensor<2x3x4xf32>
}

// -----

// A chain of reshapes back to the input's shape vanishes.
// CHECK-LABEL: func.func @reshape_round_trip
// CHECK-SAME: (%[[X:.*]]: tensor<2x6xf32>)
// CHECK-NEXT: return %[[X]]
func.func @reshape_round_trip(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %0 = weft.reshape %x : (tensor<2x6xf32>) -> tensor<12xf32>
  %1 = weft.reshape %0 : (tensor<12xf32>) -> tensor<3x4xf32>
  %2 = weft.reshape %1 : (tensor<3x4xf32>) -> tensor<2x6xf32>
  return %2 : tensor<2x6xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-DAG: %[[C:.*]] = weft.constant dense<7.000000e+00> : tensor<3x2xf32>
// CHECK-DAG: %[[T:.*]] = weft.transpose %[[X]] {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK: return %[[X]], %[[C]], %[[T]]
func.func @transpose(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %0 = weft.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = weft.constant dense<7.0> : tensor<2x3xf32>
  %1 = weft.transpose %c {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = weft.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Two transposes compose into one (here the identity, which folds); one
// that moves only unit dimensions (a sequence-first [1, T, D] -> [T, 1, D]
// at batch 1) is a reshape; one that swaps two non-unit dimensions stays.
// CHECK-LABEL: func.func @transpose_chains
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x6xf32>, %[[Y:.*]]: tensor<2x1x3xf32>)
// CHECK-DAG: %[[R:.*]] = weft.reshape %[[X]] : (tensor<1x4x6xf32>) -> tensor<4x1x6xf32>
// CHECK-DAG: %[[T:.*]] = weft.transpose %[[Y]] {perm = array<i64: 2, 1, 0>} : (tensor<2x1x3xf32>) -> tensor<3x1x2xf32>
// CHECK-DAG: %[[U:.*]] = weft.transpose %[[X]] {perm = array<i64: 2, 0, 1>} : (tensor<1x4x6xf32>) -> tensor<6x1x4xf32>
// CHECK: return %[[X]], %[[R]], %[[T]], %[[U]]
func.func @transpose_chains(%x: tensor<1x4x6xf32>, %y: tensor<2x1x3xf32>) -> (tensor<1x4x6xf32>, tensor<4x1x6xf32>, tensor<3x1x2xf32>, tensor<6x1x4xf32>) {
  %0 = weft.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<1x4x6xf32>) -> tensor<1x6x4xf32>
  %1 = weft.transpose %0 {perm = array<i64: 0, 2, 1>} : (tensor<1x6x4xf32>) -> tensor<1x4x6xf32>
  %2 = weft.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<1x4x6xf32>) -> tensor<4x1x6xf32>
  %3 = weft.transpose %y {perm = array<i64: 2, 1, 0>} : (tensor<2x1x3xf32>) -> tensor<3x1x2xf32>
  %4 = weft.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<1x4x6xf32>) -> tensor<6x1x4xf32>
  return %1, %2, %3, %4 : tensor<1x4x6xf32>, tensor<4x1x6xf32>, tensor<3x1x2xf32>, tensor<6x1x4xf32>
}

// -----

// CHECK-LABEL: func.func @cast
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[C:.*]] = weft.cast %[[X]] : tensor<4xf32> to tensor<4xf16>
// CHECK-NOT: weft.cast
// CHECK: return %[[X]], %[[C]]
func.func @cast(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf16>) {
  %0 = weft.cast %x : tensor<4xf32> to tensor<4xf32>
  %1 = weft.cast %x : tensor<4xf32> to tensor<4xf16>
  return %0, %1 : tensor<4xf32>, tensor<4xf16>
}

// -----

// QuantizeLinear then DequantizeLinear: the float is rounded, shifted by an
// integral zero point and clipped to the integer type's range, so the
// conversion to the integers and back gives it back unchanged. Not so
// without the rounding, with a zero point of 0.5, or with clip bounds past
// the type's range.
// CHECK-LABEL: func.func @quantize_roundtrip
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[R:.*]] = weft.round %[[X]]
// CHECK: %[[A:.*]] = weft.add %[[R]]
// CHECK: %[[C:.*]] = weft.clip %[[A]]
// CHECK: %[[C2:.*]] = weft.clip %[[R]]
// CHECK: %[[C3:.*]] = weft.clip %[[X]]
// CHECK: %[[Q3:.*]] = weft.cast %[[C3]] : tensor<4xf32> to tensor<4xui8>
// CHECK: %[[D3:.*]] = weft.cast %[[Q3]] : tensor<4xui8> to tensor<4xf32>
// CHECK: %[[H:.*]] = weft.add %[[R]]
// CHECK: %[[C4:.*]] = weft.clip %[[H]]
// CHECK: %[[Q4:.*]] = weft.cast %[[C4]]
// CHECK: %[[D4:.*]] = weft.cast %[[Q4]]
// CHECK: %[[C5:.*]] = weft.clip %[[R]]
// CHECK: %[[Q5:.*]] = weft.cast %[[C5]] : tensor<4xf32> to tensor<4xi8>
// CHECK: %[[D5:.*]] = weft.cast %[[Q5]]
// CHECK: return %[[C]], %[[C2]], %[[D3]], %[[D4]], %[[D5]]
func.func @quantize_roundtrip(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %r = weft.round %x : tensor<4xf32>
  %zp = weft.constant dense<3.0> : tensor<f32>
  %a = weft.add %r, %zp : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %c = weft.clip %a {min = 0.0 : f32, max = 255.0 : f32} : tensor<4xf32>
  %q = weft.cast %c : tensor<4xf32> to tensor<4xui8>
  %d = weft.cast %q : tensor<4xui8> to tensor<4xf32>
  %c2 = weft.clip %r {min = -128.0 : f32, max = 127.0 : f32} : tensor<4xf32>
  %q2 = weft.cast %c2 : tensor<4xf32> to tensor<4xi8>
  %d2 = weft.cast %q2 : tensor<4xi8> to tensor<4xf32>
  %c3 = weft.clip %x {min = 0.0 : f32, max = 255.0 : f32} : tensor<4xf32>
  %q3 = weft.cast %c3 : tensor<4xf32> to tensor<4xui8>
  %d3 = weft.cast %q3 : tensor<4xui8> to tensor<4xf32>
  %half = weft.constant dense<0.5> : tensor<f32>
  %h = weft.add %r, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %c4 = weft.clip %h {min = 0.0 : f32, max = 255.0 : f32} : tensor<4xf32>
  %q4 = weft.cast %c4 : tensor<4xf32> to tensor<4xui8>
  %d4 = weft.cast %q4 : tensor<4xui8> to tensor<4xf32>
  %c5 = weft.clip %r {min = 0.0 : f32, max = 255.0 : f32} : tensor<4xf32>
  %q5 = weft.cast %c5 : tensor<4xf32> to tensor<4xi8>
  %d5 = weft.cast %q5 : tensor<4xi8> to tensor<4xf32>
  return %d, %d2, %d3, %d4, %d5 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Unused pure ops are erased; constants are deduplicated.
// CHECK-LABEL: func.func @dead_and_duplicate
// CHECK-NEXT: %[[C:.*]] = weft.constant dense<5.000000e-01> : tensor<4xf32>
// CHECK-NEXT: %[[R:.*]] = weft.relu
// CHECK-NEXT: return %[[R]], %[[C]], %[[C]]
func.func @dead_and_duplicate(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = weft.relu %x : tensor<4xf32>
  %1 = weft.exp %x : tensor<4xf32>
  %a = weft.constant dense<0.5> : tensor<4xf32>
  %b = weft.constant dense<0.5> : tensor<4xf32>
  return %0, %a, %b : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Slices of constants fold, strided and of bools too; a slice of a run-time
// value stays.
// CHECK-LABEL: func.func @slice
// CHECK-DAG: weft.constant dense<[5, 3]> : tensor<2xi32>
// CHECK-DAG: weft.constant dense<[true, false]> : tensor<2xi1>
// CHECK-DAG: weft.constant dense<{{\[}}[6.000000e+00, 7.000000e+00]]> : tensor<1x2xf32>
// CHECK: weft.slice %arg0
func.func @slice(%x: tensor<4xf32>) -> (tensor<2xi32>, tensor<2xi1>, tensor<1x2xf32>, tensor<2xf32>) {
  %i = weft.constant dense<[1, 2, 3, 4, 5]> : tensor<5xi32>
  %0 = weft.slice %i {starts = array<i64: 4>, sizes = array<i64: 2>, steps = array<i64: -2>} : (tensor<5xi32>) -> tensor<2xi32>
  %b = weft.constant dense<[false, true, true, false]> : tensor<4xi1>
  %1 = weft.slice %b {starts = array<i64: 1>, sizes = array<i64: 2>, steps = array<i64: 2>} : (tensor<4xi1>) -> tensor<2xi1>
  %f = weft.constant dense<[[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]> : tensor<2x3xf32>
  %2 = weft.slice %f {starts = array<i64: 1, 1>, sizes = array<i64: 1, 2>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<1x2xf32>
  %3 = weft.slice %x {starts = array<i64: 1>, sizes = array<i64: 2>, steps = array<i64: 1>} : (tensor<4xf32>) -> tensor<2xf32>
  return %0, %1, %2, %3 : tensor<2xi32>, tensor<2xi1>, tensor<1x2xf32>, tensor<2xf32>
}
