//===- OutlineKernels.cpp - weft-cuda-outline-kernels --------------------===//
//
// Every distributed dispatch function becomes a gpu.func kernel of one GPU
// module: a thread's global index is the workgroup id the function took.
// The function stays behind as a declaration that says how to launch it.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace weft::cuda {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// Whether `chip` names a CUDA architecture: sm_ followed by digits and an
/// optional a/f suffix (sm_90, sm_90a, sm_100f).
bool isChip(StringRef chip) {
  if (!chip.consume_front("sm_") || chip.empty())
    return false;
  if (chip.back() == 'a' || chip.back() == 'f')
    chip = chip.drop_back();
  return !chip.empty() && chip.size() <= 4 && llvm::all_of(chip, llvm::isDigit);
}

/// The (dispatch, argument) pairs whose buffer may start off the
/// kBufferAlignment grid: every buffer is an arena or weight offset (a
/// multiple of the model's alignment, at least 16) or a caller's buffer
/// (checked by the runtime), except a rank's part of a shard.all_slice,
/// which starts `rank * part bytes` into its input.
DenseSet<std::pair<StringRef, unsigned>> unalignedArguments(ModuleOp module) {
  DenseSet<std::pair<StringRef, unsigned>> unaligned;
  module.walk([&](DispatchCallOp call) {
    for (auto [index, input] : llvm::enumerate(call.getInputs())) {
      Value v = input;
      while (auto reshape = v.getDefiningOp<ReshapeOp>())
        v = reshape.getInput();
      auto slice = v.getDefiningOp<shard::AllSliceOp>();
      if (!slice)
        continue;
      auto type = cast<ShapedType>(slice.getResult().getType());
      int64_t bits = type.getElementTypeBitWidth();
      if (!type.hasStaticShape() || (type.getNumElements() * bits / 8) % kBufferAlignment != 0)
        unaligned.insert({call.getCallee(), (unsigned)index});
    }
  });
  return unaligned;
}

struct OutlineKernelsPass : weft::cuda::impl::OutlineKernelsBase<OutlineKernelsPass> {
  using OutlineKernelsBase::OutlineKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (threadsPerBlock < 32 || threadsPerBlock > 1024 || threadsPerBlock % 32 != 0) {
      module.emitError("threads per block must be a multiple of 32 from 32 to 1024, not ")
          << (int64_t)threadsPerBlock;
      return signalPassFailure();
    }
    SmallVector<std::string> targets(chips.begin(), chips.end());
    if (targets.empty())
      targets.push_back("sm_90");
    SmallVector<Attribute> targetAttrs;
    for (const std::string &chip : targets) {
      if (!isChip(chip)) {
        module.emitError("unknown CUDA architecture '")
            << chip << "' (expected sm_XY, such as sm_80 or sm_90)";
        return signalPassFailure();
      }
      targetAttrs.push_back(NVVM::NVVMTargetAttr::get(ctx, /*optLevel=*/3, "nvptx64-nvidia-cuda",
                                                      chip, ""));
    }
    SmallVector<func::FuncOp> dispatches;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr(cpu::kDispatchFnAttr) && !fn.isExternal())
        dispatches.push_back(fn);
    if (dispatches.empty())
      return;

    OpBuilder b(ctx);
    if (onHost) {
      SmallVector<Attribute> names;
      for (auto [index, fn] : llvm::enumerate(dispatches)) {
        int64_t count = 1;
        if (auto c = fn->getAttrOfType<IntegerAttr>(cpu::kWorkgroupCountAttr))
          count = std::max<int64_t>(c.getInt(), 1);
        fn->setAttr(kKernelIndexAttr, b.getI64IntegerAttr(index));
        fn->setAttr(kLaunchAttr, b.getDenseI64ArrayAttr({count, 1}));
        names.push_back(b.getStringAttr(fn.getName()));
      }
      module->setAttr(kKernelNamesAttr, b.getArrayAttr(names));
      return;
    }
    b.setInsertionPointToEnd(module.getBody());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
    auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), modelName + "_kernels",
                                              b.getArrayAttr(targetAttrs));
    SymbolTable gpuSymbols(gpuModule);
    DenseSet<std::pair<StringRef, unsigned>> unaligned = unalignedArguments(module);
    SymbolTable hostSymbols(module);
    SmallVector<Attribute> names;

    for (auto [index, fn] : llvm::enumerate(dispatches)) {
      Location loc = fn.getLoc();
      Block &body = fn.getBody().front();
      if (!llvm::hasSingleElement(fn.getBody())) {
        fn.emitError("a dispatch function with several blocks cannot become a kernel");
        return signalPassFailure();
      }
      int64_t count = 1;
      if (auto c = fn->getAttrOfType<IntegerAttr>(cpu::kWorkgroupCountAttr))
        count = std::max<int64_t>(c.getInt(), 1);
      // A dispatch whose ids are rows shared by a warp launches a warp per
      // id; whole warps pass the range check together.
      int64_t lanes = 1;
      if (auto l = fn->getAttrOfType<IntegerAttr>(kLanesAttr)) {
        lanes = l.getInt();
        if (lanes != kWarpLanes && lanes != threadsPerBlock) {
          fn.emitError("a dispatch's ids take one thread, one warp of ")
              << kWarpLanes << " lanes or one block of " << (int64_t)threadsPerBlock
              << " threads, not " << lanes;
          return signalPassFailure();
        }
        if (count > std::numeric_limits<int64_t>::max() / lanes) {
          fn.emitError("dispatch needs more threads than a grid holds");
          return signalPassFailure();
        }
        count *= lanes;
      }
      BlockArgument id = body.getArguments().back();
      if (!isa<IndexType>(id.getType())) {
        fn.emitError("dispatch function has no workgroup id argument "
                     "(run weft-cpu-distribute-workgroups first)");
        return signalPassFailure();
      }
      SmallVector<Type> argTypes(fn.getArgumentTypes().drop_back());
      for (Type &t : argTypes) {
        auto mt = dyn_cast<MemRefType>(t);
        if (!mt || !mt.hasStaticShape() || !mt.getLayout().isIdentity()) {
          fn.emitError("a kernel argument must be a static identity-layout buffer, not ") << t;
          return signalPassFailure();
        }
        // An empty buffer of rank > 1 has no row-major strides the bare
        // pointer convention accepts: it is passed as memref<0xT> and
        // expanded in the kernel.
        if (mt.getRank() > 1 && mt.getNumElements() == 0)
          t = MemRefType::get({0}, mt.getElementType());
      }
      int64_t threads = count >= threadsPerBlock ? threadsPerBlock
                                                 : std::max<int64_t>(1, (count + 31) / 32 * 32);
      if (count == 1)
        threads = 1;
      int64_t blocks = (count + threads - 1) / threads;
      if (blocks > std::numeric_limits<int32_t>::max()) {
        fn.emitError("dispatch needs ") << blocks << " blocks, more than a grid holds";
        return signalPassFailure();
      }

      OpBuilder gb = OpBuilder::atBlockEnd(gpuModule.getBody());
      auto kernel = gpu::GPUFuncOp::create(gb, loc, fn.getName(),
                                           FunctionType::get(ctx, argTypes, {}));
      kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), gb.getUnitAttr());
      kernel.setKnownBlockSizeAttr(gb.getDenseI32ArrayAttr({(int32_t)threads, 1, 1}));
      // The host launches exactly this grid (weft-gpu-sim reads it too).
      kernel.setKnownGridSizeAttr(gb.getDenseI32ArrayAttr({(int32_t)blocks, 1, 1}));
      // LLVM may then load and store 16 bytes at a time where the offsets
      // from these starts allow.
      for (unsigned i = 0; i < argTypes.size(); ++i)
        if (!unaligned.contains({fn.getName(), i}))
          kernel.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                            gb.getI64IntegerAttr(kBufferAlignment));
      Block &kb = kernel.getBody().front();
      OpBuilder kbld = OpBuilder::atBlockBegin(&kb);
      Value blockId = gpu::BlockIdOp::create(kbld, loc, gpu::Dimension::x);
      Value blockDim = gpu::BlockDimOp::create(kbld, loc, gpu::Dimension::x);
      Value threadId = gpu::ThreadIdOp::create(kbld, loc, gpu::Dimension::x);
      Value global = arith::AddIOp::create(
          kbld, loc, arith::MulIOp::create(kbld, loc, blockId, blockDim), threadId);
      // Ids that are blocks fill the grid exactly: no thread is out of
      // range, and barriers stay in code every thread of the block runs.
      std::optional<OpBuilder> ib;
      if (lanes == threads && count % threads == 0) {
        ib.emplace(kbld);
      } else {
        Value inRange = arith::CmpIOp::create(kbld, loc, arith::CmpIPredicate::ult, global,
                                              arith::ConstantIndexOp::create(kbld, loc, count));
        auto guard = scf::IfOp::create(kbld, loc, inRange, /*withElseRegion=*/false);
        ib.emplace(guard.getThenBodyBuilder());
      }
      gpu::ReturnOp::create(kbld, loc);
      if (lanes == threads)
        ib->setInsertionPoint(kb.getTerminator());

      IRMapping map;
      OpBuilder eb = OpBuilder::atBlockBegin(&kb);
      for (auto [from, to] : llvm::zip(body.getArguments().drop_back(), kb.getArguments())) {
        Value arg = to;
        if (from.getType() != to.getType()) {
          auto mt = cast<MemRefType>(from.getType());
          SmallVector<ReassociationIndices> all(1);
          for (int64_t d = 0; d < mt.getRank(); ++d)
            all[0].push_back(d);
          arg = memref::ExpandShapeOp::create(eb, loc, mt, to, all);
        }
        map.map(from, arg);
      }
      if (lanes == threads)
        global = blockId;
      else if (lanes > 1)
        global = arith::DivUIOp::create(*ib, loc, global,
                                        arith::ConstantIndexOp::create(*ib, loc, lanes));
      map.map(id, global);
      // Buffers a block's threads share become the kernel's workgroup
      // (shared memory) attributions, aligned for vector accesses and WMMA
      // fragments.
      // One buffer each, wherever the dispatch allocates it (a buffer
      // allocated in a loop is the same buffer at every step).
      SmallVector<memref::AllocaOp> shared;
      fn.walk([&](memref::AllocaOp alloca) {
        if (isWorkgroupMemory(alloca.getType()))
          shared.push_back(alloca);
      });
      for (memref::AllocaOp alloca : shared) {
        MemRefType type = alloca.getType();
        if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
          alloca.emitError("a shared buffer must have a static shape");
          return signalPassFailure();
        }
        BlockArgument attribution = kernel.addWorkgroupAttribution(type, alloca.getLoc());
        kernel.setWorkgroupAttributionAttr(kernel.getNumWorkgroupAttributions() - 1,
                                           LLVM::LLVMDialect::getAlignAttrName(),
                                           b.getI64IntegerAttr(kSharedAlignment));
        alloca.replaceAllUsesWith(attribution);
        alloca.erase();
      }
      for (Operation &op : body.without_terminator())
        ib->clone(op, map);
      // From here on shared buffers carry NVVM's number for that address
      // space: the vector lowering that runs before the GPU-to-NVVM
      // conversion converts memref types without the gpu dialect's names.
      AttrTypeReplacer spaces;
      spaces.addReplacement([&](gpu::AddressSpaceAttr space) -> std::optional<Attribute> {
        if (space.getValue() != gpu::AddressSpace::Workgroup)
          return std::nullopt;
        return b.getI64IntegerAttr((int64_t)NVVM::NVVMMemorySpace::Shared);
      });
      spaces.recursivelyReplaceElementsIn(kernel, /*replaceAttrs=*/true, /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);

      // A multiply feeding an add may become one FMA (one rounding, as the
      // register tiles' vector FMAs already are).
      kernel.walk([&](arith::ArithFastMathInterface op) {
        if (!isa<arith::MulFOp, arith::AddFOp, arith::SubFOp>(op.getOperation()))
          return;
        arith::FastMathFlags flags = op.getFastMathFlagsAttr().getValue();
        op->setAttr(op.getFastMathAttrName(),
                    arith::FastMathFlagsAttr::get(ctx, flags | arith::FastMathFlags::contract));
      });

      // Constants the body reads live in the GPU module too.
      kernel.walk([&](memref::GetGlobalOp get) {
        if (gpuSymbols.lookup(get.getName()))
          return;
        auto global = hostSymbols.lookup<memref::GlobalOp>(get.getName());
        if (global)
          gpuSymbols.insert(global.clone(), gpuModule.getBody()->begin());
      });

      // The host keeps a declaration with what the launch needs.
      fn.getBody().getBlocks().clear();
      fn.setPrivate();
      fn->setAttr(kKernelIndexAttr, b.getI64IntegerAttr(index));
      fn->setAttr(kLaunchAttr, b.getDenseI64ArrayAttr({blocks, threads}));
      names.push_back(b.getStringAttr(fn.getName()));
    }
    module->setAttr(kKernelNamesAttr, b.getArrayAttr(names));
    // Host copies of constants only the kernels read are dead now.
    for (auto global : llvm::make_early_inc_range(module.getOps<memref::GlobalOp>()))
      if (SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
  }
};

} // namespace
