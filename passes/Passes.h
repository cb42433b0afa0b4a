//===- Passes.h - graph-level weft passes ------------------------*- C++ -*-===//
//
// Graph passes run on the entry function before codegen: decomposition,
// dispatch formation and static memory planning.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_PASSES_H
#define WEFT_PASSES_PASSES_H

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Pass/Pass.h"

namespace weft {
#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// On the weft.transpose and weft.reduce that weft-split-reduction adds
/// around a matmul: the transpose joins the matmul's dispatch, the reduce
/// heads the elementwise chain after it (weft-form-dispatches).
inline constexpr llvm::StringLiteral kSplitReductionAttr = "weft.split_reduction";
/// On a padded weft.pool that weft-decompose left padded
/// (`pool-pads-apart` off, the CUDA targets): its lowering reads the
/// unpadded input at bounds-checked indices, each window element outside
/// it the padding's value, rather than padding a copy of the input first.
inline constexpr llvm::StringLiteral kGatherPaddingAttr = "weft.gather_padding";
/// On a weft.dispatch whose elementwise ops form a graph rather than a
/// chain (weft-form-dispatches' elementwise-dags): its lowering fuses a
/// value with several elementwise users into each of them.
inline constexpr llvm::StringLiteral kElementwiseDagAttr = "weft.elementwise_dag";
/// On a weft.dispatch that is one constant weft.pad, and on that pad
/// (weft-pad-in-place): the dispatch that computes its input wrote it into
/// the interior of this dispatch's result, so only the border is left to
/// write.
inline constexpr llvm::StringLiteral kPadInPlaceAttr = "weft.pad_in_place";
/// On a weft.dispatch: one entry per result, a unit attribute for a
/// contiguous result or a #strided layout (in elements, offset 0) for one
/// written in place inside a larger buffer (weft-pad-in-place).
inline constexpr llvm::StringLiteral kResultLayoutsAttr = "weft.result_layouts";
/// For a dispatch marked kPadInPlaceAttr: the producer's result that was
/// written inside its result, and in `interiorBytes` where that interior
/// starts in it; null for any other dispatch.
mlir::OpResult padInPlaceSource(DispatchOp padDispatch, int64_t &interiorBytes);
/// Name of the function attribute holding the arena size in bytes.
inline constexpr llvm::StringLiteral kArenaSizeAttr = "weft.arena_size";
/// The most bytes of intermediate tensors live at once (each rounded up to
/// the plan's alignment): no plan of these live ranges needs less.
inline constexpr llvm::StringLiteral kArenaLowerBoundAttr = "weft.arena_lower_bound";
/// Name of the dispatch attribute holding each result's arena offset.
inline constexpr llvm::StringLiteral kResultOffsetsAttr = "result_offsets";
/// On a weft.loop: byte offsets in the arena of its state buffers (the
/// iteration, -1 when nothing reads it; the condition; each carried value;
/// each scan result).
inline constexpr llvm::StringLiteral kStateOffsetsAttr = "state_offsets";
} // namespace weft

#endif // WEFT_PASSES_PASSES_H
