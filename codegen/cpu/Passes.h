//===- Passes.h - CPU codegen passes -----------------------------*- C++ -*-===//
//
// The CPU backend: weft -> linalg, outlining of dispatches into functions,
// workgroup tiling, vectorization, host program construction, and the named
// pipeline that strings them together down to the LLVM dialect.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_CODEGEN_CPU_PASSES_H
#define WEFT_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace weft {
namespace cpu {
#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

/// Attribute on dispatch functions: number of workgroups to launch.
inline constexpr llvm::StringLiteral kWorkgroupCountAttr = "weft.workgroup_count";
/// Bytes of scratch (all workgroups) a dispatch function takes as its last
/// buffer argument; set by weft-cpu-plan-scratch.
inline constexpr llvm::StringLiteral kScratchSizeAttr = "weft.scratch_size";
/// Unit attribute marking outlined dispatch functions.
inline constexpr llvm::StringLiteral kDispatchFnAttr = "weft.dispatch_fn";
/// On a gather-style linalg.generic (pad, slice) whose innermost source
/// index is the innermost loop index plus a constant: each output row reads
/// one contiguous source row, so weft-cpu-tile-contractions vectorizes it
/// row by row.
inline constexpr llvm::StringLiteral kRowGatherAttr = "weft.row_gather";
/// On a contraction that a warp computes with the GPU's matrix units
/// (weft-cuda-tile-threads; the value names the arithmetic: "tf32",
/// "3xtf32", "f16" or "bf16"): weft-cpu-tile-contractions leaves it whole,
/// and weft-cuda-distribute-lanes turns it into tensor-core operations.
inline constexpr llvm::StringLiteral kMmaAttr = "weft.mma";

struct CpuPipelineOptions {
  std::string modelName = "model";
  int64_t targetWorkgroups = 32;
  int64_t vectorWidth = 16;     ///< f32 lanes per vector register
  int64_t vectorRegisters = 32; ///< vector registers the register tiles may use
  int64_t l1Bytes = 32 * 1024;  ///< data cache per core
  int64_t l1Ways = 8;           ///< its associativity
  int64_t alignment = 64;       ///< bytes; temporaries and weights
  bool prefetchWeights = true;  ///< weft-cpu-prefetch-weights
  bool vnni = false;            ///< AVX-512 VNNI (8-bit dot products)
};

/// Dispatch bodies (linalg on tensors) -> bufferized, tiled, vectorized
/// dispatch functions plus the host entry, all in the LLVM dialect.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm,
                             const CpuPipelineOptions &options);

/// Appends the bytes the runtime reads for `value`: each element
/// little-endian at its width, a bool as one byte 0 or 1.
void appendDenseBytes(mlir::DenseElementsAttr value, std::string &out);

/// The host entry and the CPU dispatch functions (memrefs, scf, vector,
/// arith) -> the LLVM dialect: the tail of buildCpuCodegenPipeline, shared
/// with the CUDA backend's host side.
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm);

/// Registers the pipeline as `weft-cpu-codegen` for weft-opt.
void registerCpuPipelines();
} // namespace cpu
} // namespace weft

#endif // WEFT_CODEGEN_CPU_PASSES_H
