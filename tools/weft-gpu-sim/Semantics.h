//===- Semantics.h - weft-gpu-sim: what each operation computes -*- C++ -*-===//
//
// The arithmetic of the operations weft-gpu-sim runs, free of threads and
// memory (Semantics.cpp), and the value a thread holds.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_TOOLS_WEFT_GPU_SIM_SEMANTICS_H
#define WEFT_TOOLS_WEFT_GPU_SIM_SEMANTICS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Operation.h"

#include <vector>

namespace weft::gpusim {

/// A value of one thread: scalar (one element), vector (its elements in
/// row-major order), an mma.sync result struct (its fields), a WMMA
/// fragment (the whole matrix, row-major), or a memref view of a buffer.
struct Val {
  llvm::SmallVector<double, 4> e;
  int buffer = -1;
  int64_t offset = 0;
  llvm::SmallVector<int64_t, 4> sizes, strides;
};

/// Says `why` and exits with status 1 (the kernel is wrong, or the
/// simulator cannot run it).
[[noreturn]] void die(const llvm::Twine &why);
/// As die, located at `op` (if any).
[[noreturn]] void fail(mlir::Operation *op, const llvm::Twine &why);

/// Elements held as doubles: integers exactly (signless, kept
/// sign-extended to their width), floats rounded to their type.
unsigned bitWidth(mlir::Type t);
double wrap(int64_t x, unsigned width);
uint64_t unsignedOf(double x, unsigned width);
double roundTo(mlir::Type t, double x);
uint64_t floatBits(mlir::Type t, double x);
double floatFromBits(mlir::Type t, uint64_t bits);
/// The raw bits of element `x` of type `t`, and back.
uint64_t bitsOf(mlir::Type t, double x);
double fromBits(mlir::Type t, uint64_t bits);
mlir::Type elementOf(mlir::Type t);
int64_t elementsOf(mlir::Type t);
llvm::SmallVector<int64_t> rowMajorStrides(llvm::ArrayRef<int64_t> shape);
llvm::SmallVector<int64_t> delinearize(int64_t i, llvm::ArrayRef<int64_t> shape);

/// An integer binary op `op` of width `w`; a float op `op` (1 to 3
/// operands) of type `t`; comparisons; a vector combining kind.
double intOp(mlir::Operation *op, double a, double b, unsigned w);
double floatOp(mlir::Operation *op, llvm::ArrayRef<double> a, mlir::Type t);
bool compareInt(mlir::arith::CmpIPredicate p, double a, double b, unsigned w);
bool compareFloat(mlir::arith::CmpFPredicate p, double a, double b);
double combine(mlir::Operation *op, mlir::vector::CombiningKind kind, double a, double b,
               mlir::Type t);

/// The value of constant `attr` of type `type`.
Val constant(mlir::Operation *op, mlir::Attribute attr, mlir::Type type);
/// `in` (type `from`) bitcast to `to`, through the bits of all elements.
Val bitcast(const Val &in, mlir::Type from, mlir::Type to);
/// The memref position of vector position `pos` of a transfer at `base`
/// with `map`, and whether a position is inside view `m`.
llvm::SmallVector<int64_t> transferAt(mlir::AffineMap map, llvm::ArrayRef<int64_t> base,
                                      llvm::ArrayRef<int64_t> pos);
bool inBounds(const Val &m, llvm::ArrayRef<int64_t> at);

/// The product `c` (a vector.contract of kind add) of `lhs` and `rhs`
/// added to `acc`, each step one fused multiply-add at the element type.
Val contract(mlir::vector::ContractionOp c, const Val &lhs, const Val &rhs, const Val &acc);

/// Elements of `element` type from raw little-endian bytes (false when
/// `raw` does not hold exactly `out.size()` of them), and back.
bool decodeElements(mlir::Type element, llvm::ArrayRef<char> raw,
                    llvm::MutableArrayRef<double> out);
std::string encodeElements(mlir::Type element, llvm::ArrayRef<double> elements);

/// What lane `lane` of an `ldmatrix.x4` receives (m8n8 pieces of 16-bit
/// elements), `pieces[j][r]` being row r of piece j as lane 8j + r named
/// it (16 bytes: 8 16-bit or 4 32-bit elements): register j is word
/// (lane / 4, lane % 4) of piece j, or of its transpose with `.trans`.
Val ldmatrixLane(mlir::nvgpu::LdMatrixOp ld,
                 llvm::ArrayRef<std::vector<std::vector<double>>> pieces, int64_t lane);

/// mma.sync m16n8k16 (f16, bf16) or m16n8k8 (tf32), row.col, f32 sums, of
/// the 32 lanes' A and B registers (32-bit words: pairs of 16-bit elements
/// or TF32, whose low 13 bits the tensor cores drop) and C values, as the
/// PTX ISA lays out their fragments: each lane's 4 sums.
llvm::SmallVector<llvm::SmallVector<double, 4>>
mmaSyncProduct(mlir::NVVM::MmaOp mma, llvm::ArrayRef<llvm::SmallVector<uint32_t, 4>> aWords,
               llvm::ArrayRef<llvm::SmallVector<uint32_t, 4>> bWords,
               llvm::ArrayRef<llvm::SmallVector<double, 4>> cValues);

} // namespace weft::gpusim

#endif // WEFT_TOOLS_WEFT_GPU_SIM_SEMANTICS_H
