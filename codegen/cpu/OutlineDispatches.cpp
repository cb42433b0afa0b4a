//===- OutlineDispatches.cpp - weft-cpu-outline-dispatches ---------------===//
//
// Gives every dispatch body a function of its own, in destination-passing
// style over buffers, so the rest of codegen works on one kernel at a time
// and the host only needs the function's name and buffers.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace weft::cpu {
#define GEN_PASS_DEF_OUTLINEDISPATCHES
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

MemRefType bufferType(Type t, Attribute layout = {}) {
  auto tt = cast<RankedTensorType>(t);
  if (auto strided = dyn_cast_or_null<StridedLayoutAttr>(layout))
    return MemRefType::get(tt.getShape(), tt.getElementType(), strided);
  return MemRefType::get(tt.getShape(), tt.getElementType());
}

/// Follows destination operands from `v` to the tensor.empty that seeds
/// them, so the computation can write straight into the output buffer.
/// Reshapes on the way (a batched matmul computed as one 2-D matmul and
/// expanded; a grouped convolution computed on [N, G, C/G, ..] views) are
/// allowed: `reshapes` then holds them, nearest `v` first, and the seed must
/// be replaced by the output buffer reshaped back through all of them.
/// `use` is the seed's use on that chain (null when that is not a
/// destination operand): other ops may share the same tensor.empty (CSE
/// merges them), and they must not be given the output buffer too.
tensor::EmptyOp findSeed(Value v, SmallVectorImpl<Operation *> &reshapes, OpOperand *&use) {
  reshapes.clear();
  use = nullptr;
  while (v) {
    if (auto empty = v.getDefiningOp<tensor::EmptyOp>())
      return empty;
    if (Operation *def = v.getDefiningOp();
        def && isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def)) {
      reshapes.push_back(def);
      use = nullptr;
      v = def->getOperand(0);
      continue;
    }
    auto dps = v.getDefiningOp<DestinationStyleOpInterface>();
    if (!dps)
      return nullptr;
    use = dps.getTiedOpOperand(cast<OpResult>(v));
    v = use->get();
  }
  return nullptr;
}

/// The destination operand at the root of `v`'s destination chain when
/// that root is the tensor of one of `entry`'s first `numInputs` arguments
/// (a dispatch input); null otherwise.
OpOperand *inputRootedInit(Value v, Block *entry, unsigned numInputs) {
  OpOperand *use = nullptr;
  while (auto dps = v.getDefiningOp<DestinationStyleOpInterface>()) {
    use = dps.getTiedOpOperand(cast<OpResult>(v));
    v = use->get();
  }
  auto root = v.getDefiningOp<bufferization::ToTensorOp>();
  if (!use || !root)
    return nullptr;
  auto arg = dyn_cast<BlockArgument>(root.getBuffer());
  if (!arg || arg.getOwner() != entry || arg.getArgNumber() >= numInputs)
    return nullptr;
  return use;
}

struct OutlineDispatchesPass : weft::cpu::impl::OutlineDispatchesBase<OutlineDispatchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      int64_t n = 0;
      SmallVector<DispatchOp> dispatches;
      func.walk([&](DispatchOp d) { dispatches.push_back(d); });
      for (DispatchOp d : dispatches)
        outline(symbols, func, d, n++);
    }
  }

  void outline(SymbolTable &symbols, func::FuncOp parent, DispatchOp dispatch,
               int64_t index) {
    Location loc = dispatch.getLoc();
    OpBuilder b(&getContext());
    SmallVector<Type> argTypes;
    for (Value in : dispatch.getInputs())
      argTypes.push_back(bufferType(in.getType()));
    // A result written inside a larger buffer (weft-pad-in-place) is a
    // strided view of it.
    auto layouts = dispatch->getAttrOfType<ArrayAttr>(kResultLayoutsAttr);
    for (auto [i, r] : llvm::enumerate(dispatch.getResultTypes()))
      argTypes.push_back(bufferType(r, layouts && i < layouts.size() ? layouts[i] : Attribute()));
    b.setInsertionPoint(parent);
    std::string name = (parent.getName() + "_dispatch_" + Twine(index)).str();
    auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
    fn.setPrivate();
    fn->setAttr(kDispatchFnAttr, b.getUnitAttr());
    symbols.insert(fn);

    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping mapping;
    Block &body = dispatch.getBody().front();
    for (auto [i, arg] : llvm::enumerate(body.getArguments()))
      mapping.map(arg, bufferization::ToTensorOp::create(
                           b, loc, arg.getType(), entry->getArgument(i),
                           /*restrict=*/true, /*writable=*/false));
    for (Operation &op : body.without_terminator())
      b.clone(op, mapping);
    auto yield = cast<YieldOp>(body.getTerminator());
    unsigned numIn = dispatch.getInputs().size();
    for (auto [i, v] : llvm::enumerate(yield.getValues())) {
      Value result = mapping.lookupOrDefault(v);
      Value out = entry->getArgument(numIn + i);
      SmallVector<Operation *> reshapes;
      OpOperand *use = nullptr;
      if (tensor::EmptyOp seed = findSeed(result, reshapes, use)) {
        // The output buffer, viewed through the inverse of every reshape
        // between the seed and the result.
        OpBuilder sb(seed);
        Value dest = bufferization::ToTensorOp::create(sb, seed.getLoc(), result.getType(), out,
                                                       /*restrict=*/true, /*writable=*/true);
        for (Operation *reshape : reshapes) {
          Type srcType = reshape->getOperand(0).getType();
          if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(reshape))
            dest = tensor::ExpandShapeOp::create(sb, seed.getLoc(), srcType, dest,
                                                 collapse.getReassociationIndices());
          else
            dest = tensor::CollapseShapeOp::create(
                sb, seed.getLoc(), srcType, dest,
                cast<tensor::ExpandShapeOp>(reshape).getReassociationIndices());
        }
        if (use) {
          use->set(dest);
          // Windows of the seed that the chain fills (a pad's border,
          // weft-pad-in-place) are windows of the output buffer too.
          if (seed->hasAttr(kPadInPlaceAttr))
            for (OpOperand &other : llvm::make_early_inc_range(seed->getUses()))
              if (isa<tensor::ExtractSliceOp>(other.getOwner()))
                other.set(dest);
        } else
          seed.replaceAllUsesWith(dest);
        if (seed->use_empty())
          seed.erase();
      }
      else if (OpOperand *init = inputRootedInit(result, entry, numIn)) {
        // The computation starts from an input's values (Gemm's C of the
        // output's shape accumulated in place). The input is read-only, and
        // a private copy would be made by every workgroup and copied out
        // whole, each overwriting the others' tiles. Copy the input into
        // the output buffer instead, as a destination op that workgroup
        // tiling fuses: each workgroup copies its own tile.
        Operation *user = init->getOwner();
        OpBuilder cb(user);
        Value dest = bufferization::ToTensorOp::create(
            cb, user->getLoc(), init->get().getType(), out, /*restrict=*/true,
            /*writable=*/true);
        Value copied = linalg::CopyOp::create(cb, user->getLoc(), init->get(), dest)
                           .getResult(0);
        init->set(copied);
      }
      auto mat = bufferization::MaterializeInDestinationOp::create(b, loc, result, out);
      mat.setRestrict(true);
      mat.setWritable(true);
    }
    func::ReturnOp::create(b, loc);

    b.setInsertionPoint(dispatch);
    auto call = DispatchCallOp::create(b, loc, dispatch.getResultTypes(),
                                       FlatSymbolRefAttr::get(fn.getSymNameAttr()),
                                       dispatch.getInputs());
    if (Attribute offsets = dispatch->getAttr(kResultOffsetsAttr))
      call->setAttr(kResultOffsetsAttr, offsets);
    dispatch.replaceAllUsesWith(call.getResults());
    dispatch.erase();
  }
};

} // namespace
