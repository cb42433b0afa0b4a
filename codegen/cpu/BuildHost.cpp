//===- BuildHost.cpp - weft-cpu-build-host -------------------------------===//
//
// Turns the planned entry function into the host program: every tensor is
// given an address (caller input/output, arena offset, weight global, or an
// alias for reshapes), and every dispatch becomes a call into the runtime's
// parallel dispatcher with a stack array of bindings. Nothing is allocated.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftNames.h"
#include "passes/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/SymbolTable.h"

namespace weft::cpu {
#define GEN_PASS_DEF_BUILDHOST
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

} // namespace

void weft::cpu::appendDenseBytes(DenseElementsAttr value, std::string &out) {
  Type element = value.getElementType();
  if (!value.isSplat() && element.getIntOrFloatBitWidth() % 8 == 0 &&
      llvm::endianness::native == llvm::endianness::little) {
    ArrayRef<char> raw = value.getRawData();
    out.append(raw.begin(), raw.end());
    return;
  }
  auto put = [&](const APInt &bits) {
    if (bits.getBitWidth() == 1) {
      out.push_back(bits.isZero() ? 0 : 1);
      return;
    }
    for (unsigned i = 0; i < bits.getBitWidth() / 8; ++i)
      out.push_back((char)bits.extractBitsAsZExtValue(8, i * 8));
  };
  if (isa<FloatType>(element))
    for (const APFloat &f : value.getValues<APFloat>())
      put(f.bitcastToAPInt());
  else
    for (const APInt &i : value.getValues<APInt>())
      put(i);
}

namespace {

/// Bytes of a tensor in memory (a bool takes one byte).
int64_t tensorBytes(Type type) {
  auto t = cast<ShapedType>(type);
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

struct BuildHostPass : weft::cpu::impl::BuildHostBase<BuildHostPass> {
  using BuildHostBase::BuildHostBase;

  Type ptrTy() { return LLVM::LLVMPointerType::get(&getContext()); }

  /// `(bindings, workgroup_id)` entry for a dispatch: rebuilds the memref
  /// descriptors from raw base pointers and calls the dispatch function.
  func::FuncOp buildWrapper(OpBuilder &b, func::FuncOp fn) {
    Location loc = fn.getLoc();
    Type i64 = b.getI64Type(), ptr = ptrTy();
    auto type = b.getFunctionType({ptr, b.getIndexType()}, {});
    auto wrapper = func::FuncOp::create(b, loc, (fn.getName() + "_wg").str(), type);
    wrapper.setPrivate();
    Block *entry = wrapper.addEntryBlock();
    OpBuilder ib = OpBuilder::atBlockBegin(entry);
    SmallVector<Value> args;
    auto argTypes = fn.getArgumentTypes();
    for (auto [i, t] : llvm::enumerate(argTypes.drop_back())) {
      auto mt = cast<MemRefType>(t);
      Value slot = LLVM::GEPOp::create(ib, loc, ptr, ptr, entry->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
      Value base = LLVM::LoadOp::create(ib, loc, ptr, slot);
      int64_t rank = mt.getRank();
      SmallVector<Type> fields = {ptr, ptr, i64};
      if (rank > 0) {
        fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
        fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
      }
      auto descTy = LLVM::LLVMStructType::getLiteral(&getContext(), fields);
      Value desc = LLVM::UndefOp::create(ib, loc, descTy);
      desc = LLVM::InsertValueOp::create(ib, loc, desc, base, ArrayRef<int64_t>{0});
      desc = LLVM::InsertValueOp::create(ib, loc, desc, base, ArrayRef<int64_t>{1});
      auto c = [&](int64_t v) {
        return LLVM::ConstantOp::create(ib, loc, i64, ib.getI64IntegerAttr(v));
      };
      desc = LLVM::InsertValueOp::create(ib, loc, desc, c(0), ArrayRef<int64_t>{2});
      // Row-major, or the static strides of a result written inside a
      // larger buffer (weft-pad-in-place).
      SmallVector<int64_t> strides;
      int64_t offset = 0;
      if (mt.getLayout().isIdentity()) {
        strides = computeSuffixProduct(mt.getShape());
      } else if (failed(mt.getStridesAndOffset(strides, offset)) || offset != 0 ||
                 ShapedType::isDynamicShape(strides)) {
        fn.emitError("dispatch buffer ") << i << " has no static strided layout";
        wrapper.erase();
        return {};
      }
      for (int64_t d = rank - 1; d >= 0; --d) {
        desc = LLVM::InsertValueOp::create(ib, loc, desc, c(mt.getShape()[d]),
                                           ArrayRef<int64_t>{3, d});
        desc = LLVM::InsertValueOp::create(ib, loc, desc, c(strides[d]), ArrayRef<int64_t>{4, d});
      }
      args.push_back(UnrealizedConversionCastOp::create(ib, loc, TypeRange{mt}, desc).getResult(0));
    }
    args.push_back(entry->getArgument(1));
    func::CallOp::create(ib, loc, fn, args);
    func::ReturnOp::create(ib, loc);
    return wrapper;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp entryFn;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr(kDispatchFnAttr) && !fn.isExternal())
        entryFn = fn;
    if (!entryFn) {
      module.emitError("no entry function to build a host program from");
      return signalPassFailure();
    }
    if (auto why = checkModelName(modelName)) {
      module.emitError("invalid model name '") << escapeForCComment(modelName) << "': " << *why;
      return signalPassFailure();
    }
    if (target != "cpu" && target != "cuda") {
      module.emitError("unknown target '") << escapeForCComment(target) << "' (cpu or cuda)";
      return signalPassFailure();
    }
    // On a CUDA device the dispatches are kernels of a loaded image and the
    // weights one blob copied to the device at create.
    bool cuda = target == "cuda";
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type ptr = ptrTy(), i64 = b.getI64Type(), i32 = b.getI32Type();
    Location loc = entryFn.getLoc();

    // Runtime entry point.
    b.setInsertionPointToStart(module.getBody());
    auto dispatchFnTy = LLVM::LLVMFunctionType::get(ptr, {ptr, ptr, ptr, i64});
    auto launchFnTy = LLVM::LLVMFunctionType::get(
        ptr, {ptr, ptr, i32, ptr, i32, i32, i32, i32, i32, i32, i32, i32});
    StringRef runtimeName = cuda ? "weft_device_launch" : "weft_device_dispatch";
    auto runtimeDispatch = module.lookupSymbol<LLVM::LLVMFuncOp>(runtimeName);
    if (!runtimeDispatch)
      runtimeDispatch =
          LLVM::LLVMFuncOp::create(b, loc, runtimeName, cuda ? launchFnTy : dispatchFnTy);

    // Wrappers for every dispatch function (a kernel needs none).
    llvm::StringMap<func::FuncOp> wrappers;
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (fn->hasAttr(kDispatchFnAttr) && (!cuda || hostKernels)) {
        b.setInsertionPointAfter(fn);
        func::FuncOp wrapper = buildWrapper(b, fn);
        if (!wrapper)
          return signalPassFailure();
        wrappers[fn.getName()] = wrapper;
      }

    // The host function: (device, arena, inputs, outputs), or for a model
    // split across devices (groups, rank, device, arena, inputs, outputs).
    b.setInsertionPoint(entryFn);
    auto devicesAttr = entryFn->getAttrOfType<IntegerAttr>("weft.num_devices");
    bool spmd = devicesAttr && devicesAttr.getInt() > 1;
    // CUDA: (device, kernels, arena, weights, inputs, outputs); split
    // across devices, (groups, rank) come first.
    SmallVector<Type> hostArgs = {ptr, ptr, ptr, ptr};
    if (cuda)
      hostArgs = {ptr, ptr, ptr, ptr, ptr, ptr};
    if (spmd)
      hostArgs.insert(hostArgs.begin(), {ptr, b.getI32Type()});
    auto hostTy = b.getFunctionType(hostArgs, {ptr});
    std::string hostName =
        modelName + (spmd ? "_spmd" : "") + (cuda ? "_device_entry" : "_entry");
    auto host = func::FuncOp::create(b, loc, hostName, hostTy);
    Block *entry = host.addEntryBlock();
    Block *exit = new Block();
    exit->addArgument(ptr, loc);
    host.getBody().push_back(exit);
    {
      OpBuilder eb = OpBuilder::atBlockBegin(exit);
      func::ReturnOp::create(eb, loc, exit->getArgument(0));
    }
    OpBuilder hb = OpBuilder::atBlockBegin(entry);
    unsigned first = spmd ? 2 : 0;
    Value device = entry->getArgument(first), arena = entry->getArgument(first + 1),
          inputs = entry->getArgument(first + 2), outputs = entry->getArgument(first + 3);
    Value kernels, weights;
    if (cuda) {
      device = entry->getArgument(first);
      kernels = entry->getArgument(first + 1);
      arena = entry->getArgument(first + 2);
      weights = entry->getArgument(first + 3);
      inputs = entry->getArgument(first + 4);
      outputs = entry->getArgument(first + 5);
    }
    // The packed weights of a CUDA model, each at an aligned offset.
    std::string weightBlob;
    auto loadSlot = [&](Value array, int64_t i) -> Value {
      Value slot =
          LLVM::GEPOp::create(hb, loc, ptr, ptr, array, ArrayRef<LLVM::GEPArg>{(int32_t)i});
      return LLVM::LoadOp::create(hb, loc, ptr, slot);
    };

    // Workgroup scratch lives after the planned tensors; dispatches run one
    // at a time, so one region (the largest need) serves them all.
    int64_t planned = 0;
    if (auto a = entryFn->getAttrOfType<IntegerAttr>(kArenaSizeAttr))
      planned = a.getInt();
    int64_t scratchOffset = (planned + 63) / 64 * 64, scratchSize = 0;
    for (auto fn : module.getOps<func::FuncOp>())
      if (auto s = fn->getAttrOfType<IntegerAttr>(kScratchSizeAttr))
        scratchSize = std::max<int64_t>(scratchSize, s.getInt());
    Value scratch;
    if (scratchSize > 0) {
      Value offset = LLVM::ConstantOp::create(hb, loc, i64, hb.getI64IntegerAttr(scratchOffset));
      scratch =
          LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), arena, ArrayRef<LLVM::GEPArg>{offset});
    }

    Block &body = entryFn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    DenseMap<Value, Value> address;
    for (BlockArgument arg : body.getArguments())
      address[arg] = loadSlot(inputs, arg.getArgNumber());
    int64_t globalIndex = 0, trapIndex = 0, weightBytes = 0, deviceWeightBytes = 0;
    // A pipeline (weft-partition's pipeline plan): device `rank` runs stage
    // `rank`, the ops from its receives to its sends; the runtime moves the
    // sent values between the devices' arenas (weft.pipeline_transfers).
    auto microAttr = entryFn->getAttrOfType<IntegerAttr>("weft.micro_batches");
    bool pipeline = spmd && microAttr;
    int64_t numStages = spmd ? devicesAttr.getInt() : 1, currentStage = 0;
    SmallVector<Block *> stageBlocks;
    DenseMap<Value, int64_t> stageOfValue;
    SmallVector<llvm::DenseSet<Operation *>> stageWeights(numStages);
    SmallVector<Attribute> transfers;
    auto getStatusCreate = [&] {
      auto statusCreate = module.lookupSymbol<LLVM::LLVMFuncOp>("weft_status_create");
      if (!statusCreate) {
        OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
        statusCreate = LLVM::LLVMFuncOp::create(
            mb, loc, "weft_status_create",
            LLVM::LLVMFunctionType::get(ptr, {b.getI32Type(), ptr}, /*isVarArg=*/true));
      }
      return statusCreate;
    };
    auto arenaAt = [&](int64_t off) -> Value {
      // An i64 value, not a GEPArg constant: those hold only 29 bits
      // (offsets below 256 MiB).
      Value offset = LLVM::ConstantOp::create(hb, loc, i64, hb.getI64IntegerAttr(off));
      return LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), arena, ArrayRef<LLVM::GEPArg>{offset});
    };
    auto i64Const = [&](int64_t v) -> Value {
      return LLVM::ConstantOp::create(hb, loc, i64, hb.getI64IntegerAttr(v));
    };
    // Ends the current block with a branch to the exit when `status` is
    // not NULL, and continues in a new block.
    auto checkStatus = [&](Value status) {
      Value null = LLVM::ZeroOp::create(hb, loc, ptr);
      Value failed = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::ne, status, null);
      Block *next = new Block();
      host.getBody().getBlocks().insert(Region::iterator(exit), next);
      cf::CondBranchOp::create(hb, loc, failed, exit, ValueRange{status}, next, ValueRange{});
      hb.setInsertionPointToStart(next);
    };
    auto runtimeFn = [&](StringRef name, Type result, ArrayRef<Type> args) {
      auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
      if (!fn) {
        OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
        fn = LLVM::LLVMFuncOp::create(mb, loc, name, LLVM::LLVMFunctionType::get(result, args));
      }
      return fn;
    };
    // The host program's own reads and writes of tensor bytes (a
    // condition, a trip count, a loop's states). On a CUDA device those
    // bytes are device memory: the runtime copies them (weft_device_read
    // waits for the launches before it; weft_device_write and _copy go in
    // the stream's order), through a host slot made once in the entry block
    // so that a loop does not grow the stack.
    auto copyBytes = [&](Value dst, Value src, int64_t bytes) {
      if (!cuda) {
        LLVM::MemcpyOp::create(hb, loc, dst, src, i64Const(bytes), /*isVolatile=*/false);
        return;
      }
      auto fn = runtimeFn("weft_device_copy", ptr, {ptr, ptr, ptr, i64});
      checkStatus(LLVM::CallOp::create(hb, loc, fn, ValueRange{device, dst, src, i64Const(bytes)})
                      .getResult());
    };
    DenseMap<Type, Value> hostSlots;
    auto hostSlot = [&](Type type) {
      Value &slot = hostSlots[type];
      if (!slot) {
        OpBuilder eb = OpBuilder::atBlockBegin(entry);
        Value one = LLVM::ConstantOp::create(eb, loc, i64, eb.getI64IntegerAttr(1));
        slot = LLVM::AllocaOp::create(eb, loc, ptr, type, one, 8);
      }
      return slot;
    };
    auto loadValue = [&](Type type, Value addr) -> Value {
      if (!cuda)
        return LLVM::LoadOp::create(hb, loc, type, addr);
      Value slot = hostSlot(type);
      auto fn = runtimeFn("weft_device_read", ptr, {ptr, ptr, ptr, i64});
      int64_t bytes = type.getIntOrFloatBitWidth() / 8;
      checkStatus(LLVM::CallOp::create(hb, loc, fn, ValueRange{device, slot, addr, i64Const(bytes)})
                      .getResult());
      return LLVM::LoadOp::create(hb, loc, type, slot);
    };
    auto storeValue = [&](Value value, Value addr) {
      if (!cuda) {
        LLVM::StoreOp::create(hb, loc, value, addr);
        return;
      }
      Value slot = hostSlot(value.getType());
      LLVM::StoreOp::create(hb, loc, value, slot);
      auto fn = runtimeFn("weft_device_write", ptr, {ptr, ptr, ptr, i64});
      int64_t bytes = value.getType().getIntOrFloatBitWidth() / 8;
      checkStatus(LLVM::CallOp::create(hb, loc, fn, ValueRange{device, addr, slot, i64Const(bytes)})
                      .getResult());
    };
    // Collectives between the devices of a model split by weft-partition:
    // a device's part of a tensor whose parts are contiguous is an address
    // in it; all-reduce and all-gather call the runtime on the group.
    // The grid of devices ("devices"): one axis, or a hybrid plan's two.
    SmallVector<int64_t> gridShape;
    for (auto grid : module.getOps<shard::GridOp>())
      if (grid.getSymName() == "devices")
        gridShape.assign(grid.getShape().begin(), grid.getShape().end());
    // A CUDA model split across devices keeps on each device only its part
    // of the weights weft-partition stacked by parts ([parts, ...], each
    // read by the devices at one coordinate of one grid axis): the blob is
    // the shared weights, then one region per part holding every stacked
    // weight's part at the same offset; a device gets the shared weights
    // and its part, which the code addresses at a fixed offset (partBase).
    llvm::DenseSet<Operation *> parted;
    int64_t partAxis = -1, numParts = 0;
    if (cuda && spmd) {
      bool uniform = true;
      for (Operation &op : body) {
        auto cst = dyn_cast<ConstantOp>(op);
        if (!cst || cst->use_empty() || !llvm::all_of(cst->getUsers(), [](Operation *u) {
              return isa<shard::AllSliceOp>(u);
            }))
          continue;
        for (Operation *u : cst->getUsers()) {
          auto slice = cast<shard::AllSliceOp>(u);
          ArrayRef<int16_t> axes = slice.getGridAxes();
          int64_t axis = axes.size() == 1 ? axes[0] : -2;
          int64_t extent = axis < 0                        ? 0
                           : gridShape.size() > 1          ? gridShape[axis]
                                                           : numStages;
          if (axis < 0 || slice.getSliceAxis() != 0 || (partAxis != -1 && axis != partAxis) ||
              cst.getType().getRank() < 1 || cst.getType().getDimSize(0) != extent)
            uniform = false;
          partAxis = axis;
          numParts = extent;
        }
        parted.insert(cst);
      }
      if (!uniform || numParts < 2)
        parted.clear();
    }
    SmallVector<std::string> partBlobs(parted.empty() ? 0 : numParts);
    // weights + the shared region's size, patched once it is known.
    LLVM::ConstantOp partBaseOffset;
    Value partBase;
    if (!parted.empty()) {
      OpBuilder eb = OpBuilder::atBlockBegin(entry);
      partBaseOffset = LLVM::ConstantOp::create(eb, loc, i64, eb.getI64IntegerAttr(0));
      partBase = LLVM::GEPOp::create(eb, loc, ptr, b.getI8Type(), weights,
                                     ArrayRef<LLVM::GEPArg>{partBaseOffset.getResult()});
    }
    // A collective along grid axes runs on the entry's groups[1 + axis]
    // (groups[0], the whole group, when it spans every axis); `coordinate`
    // is this device's position along that axis.
    auto groupFor = [&](Operation *op, ArrayRef<int16_t> axes, Value rank, Value &group,
                        Value &coordinate) -> LogicalResult {
      int64_t index = 0, extent = 1, stride = 1;
      if (gridShape.size() > 1 && axes.size() == 1 && axes[0] >= 0 &&
          axes[0] < (int16_t)gridShape.size()) {
        index = 1 + axes[0];
        extent = gridShape[axes[0]];
        for (size_t k = axes[0] + 1; k < gridShape.size(); ++k)
          stride *= gridShape[k];
      } else if (gridShape.size() > 1 && axes.size() != gridShape.size()) {
        return op->emitError("a collective over grid axes that this compiler does not build");
      }
      group = loadSlot(entry->getArgument(0), index);
      coordinate = LLVM::SExtOp::create(hb, loc, i64, rank);
      if (extent > 1) {
        if (stride > 1)
          coordinate = LLVM::SDivOp::create(hb, loc, coordinate, i64Const(stride));
        coordinate = LLVM::SRemOp::create(hb, loc, coordinate, i64Const(extent));
      }
      return success();
    };
    auto gridAxesOf = [](Operation *op) -> ArrayRef<int16_t> {
      if (auto s = dyn_cast<shard::AllSliceOp>(op))
        return s.getGridAxes();
      if (auto r = dyn_cast<shard::AllReduceOp>(op))
        return r.getGridAxes();
      return cast<shard::AllGatherOp>(op).getGridAxes();
    };
    auto emitCollective = [&](Operation *op) -> LogicalResult {
      if (!spmd)
        return op->emitError("a collective in a model compiled for one device");
      Value group, rank64, rank = entry->getArgument(1);
      if (failed(groupFor(op, gridAxesOf(op), rank, group, rank64)))
        return failure();
      Value input = address.lookup(op->getOperand(0));
      if (!input)
        return op->emitError("the collective's operand has no address");
      int64_t resultBytes = tensorBytes(op->getResult(0).getType());
      if (auto slice = dyn_cast<shard::AllSliceOp>(op)) {
        auto in = cast<RankedTensorType>(slice.getInput().getType());
        if (llvm::any_of(in.getShape().take_front(slice.getSliceAxis().getSExtValue()),
                         [](int64_t d) { return d != 1; }))
          return op->emitError("only a slice whose parts are contiguous is built");
        // A stacked weight's device holds its own part alone.
        if (Operation *def = slice.getInput().getDefiningOp(); def && parted.contains(def)) {
          address[slice.getResult()] = input;
          return success();
        }
        Value offset = LLVM::MulOp::create(hb, loc, rank64, i64Const(resultBytes));
        address[slice.getResult()] = LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), input,
                                                         ArrayRef<LLVM::GEPArg>{offset});
        return success();
      }
      auto offsets = op->getAttrOfType<DenseI64ArrayAttr>(kResultOffsetsAttr);
      if (!offsets || offsets.size() != 1 || offsets[0] < 0)
        return op->emitError("the collective has no memory plan (run weft-plan-memory)");
      Value result = arenaAt(offsets[0]);
      address[op->getResult(0)] = result;
      Type i32 = b.getI32Type();
      Value status;
      if (auto reduce = dyn_cast<shard::AllReduceOp>(op)) {
        auto type = cast<RankedTensorType>(reduce.getInput().getType());
        Type e = type.getElementType();
        int dtype = e.isF32() ? 1 : e.isF64() ? 11 : e.isInteger(8) ? 3 : e.isInteger(16) ? 5
                  : e.isInteger(32) ? 6 : e.isInteger(64) ? 7 : 0;
        if (!dtype || reduce.getReduction() != shard::ReductionKind::Sum)
          return op->emitError("only sums of f32, f64 and integers are built");
        // NCCL reduces no 16-bit integers (cuda-on-cpu refuses them too,
        // as the check of what the GPUs would run).
        if (cuda && e.isInteger(16))
          return op->emitError("a sum of 16-bit integers across CUDA devices is not built "
                               "(NCCL reduces 8-, 32- and 64-bit integers)");
        auto fn = runtimeFn("weft_group_all_reduce", ptr, {ptr, i32, i32, i32, ptr, ptr, i64});
        Value dtypeV = LLVM::ConstantOp::create(hb, loc, i32, hb.getI32IntegerAttr(dtype));
        Value sum = LLVM::ConstantOp::create(hb, loc, i32, hb.getI32IntegerAttr(0));
        status = LLVM::CallOp::create(hb, loc, fn,
                                      ValueRange{group, rank, dtypeV, sum, input, result,
                                                 i64Const(type.getNumElements())})
                     .getResult();
      } else {
        auto gather = cast<shard::AllGatherOp>(op);
        auto out = cast<RankedTensorType>(gather.getResult().getType());
        if (llvm::any_of(out.getShape().take_front(gather.getGatherAxis().getSExtValue()),
                         [](int64_t d) { return d != 1; }))
          return op->emitError("only a gather whose parts are contiguous is built");
        auto fn = runtimeFn("weft_group_all_gather", ptr, {ptr, i32, ptr, ptr, i64});
        status = LLVM::CallOp::create(
                     hb, loc, fn,
                     ValueRange{group, rank, input, result,
                                i64Const(tensorBytes(gather.getInput().getType()))})
                     .getResult();
      }
      checkStatus(status);
      return success();
    };
    // A weight: a private constant global of the object, or on a CUDA
    // device its place in the packed blob.
    auto emitConstant = [&](ConstantOp cst) -> LogicalResult {
      auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
      if (!dense)
        return cst.emitError("only dense weights can be embedded");
      auto type = cst.getType();
      if (cuda && parted.contains(cst)) {
        std::string bytes;
        appendDenseBytes(dense, bytes);
        size_t part = bytes.size() / (size_t)numParts;
        int64_t at = (int64_t)llvm::alignTo(partBlobs[0].size(), (uint64_t)alignment);
        for (int64_t k = 0; k < numParts; ++k) {
          partBlobs[k].resize(at, '\0');
          partBlobs[k].append(bytes, (size_t)k * part, part);
        }
        weightBytes += tensorBytes(type);
        address[cst] = LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), partBase,
                                           ArrayRef<LLVM::GEPArg>{i64Const(at)});
        return success();
      }
      if (cuda) {
        int64_t at = (int64_t)llvm::alignTo(weightBlob.size(), (uint64_t)alignment);
        weightBlob.resize(at, '\0');
        appendDenseBytes(dense, weightBlob);
        weightBytes += tensorBytes(type);
        deviceWeightBytes += tensorBytes(type);
        address[cst] = LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), weights,
                                           ArrayRef<LLVM::GEPArg>{i64Const(at)});
        return success();
      }
      auto flat = RankedTensorType::get({type.getNumElements()}, type.getElementType());
      OpBuilder gb(ctx);
      gb.setInsertionPoint(host);
      std::string name = "__weft_weight_" + std::to_string(globalIndex++);
      weightBytes += tensorBytes(type);
      // Weights stacked by parts (weft-partition): a device reads one.
      bool parted = !cst->use_empty() && llvm::all_of(cst->getUsers(), [](Operation *u) {
        return isa<shard::AllSliceOp>(u);
      });
      deviceWeightBytes += parted ? tensorBytes(type) / type.getDimSize(0) : tensorBytes(type);
      auto global = LLVM::GlobalOp::create(
          gb, cst.getLoc(), LLVM::LLVMArrayType::get(type.getElementType(), type.getNumElements()),
          /*isConstant=*/true, LLVM::Linkage::Private, name, dense.reshape(flat),
          /*alignment=*/alignment);
      address[cst] = LLVM::AddressOfOp::create(hb, loc, global);
      return success();
    };
    // Where a value lives for the runtime: (input index, -1) or (-1, arena
    // offset), through reshapes (they share its bytes).
    auto placeOf = [&](Value v, int64_t &input, int64_t &offset) -> bool {
      while (auto reshape = v.getDefiningOp<ReshapeOp>())
        v = reshape.getInput();
      input = -1;
      offset = -1;
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        if (arg.getOwner() != &body)
          return false;
        input = arg.getArgNumber();
        return true;
      }
      Operation *def = v.getDefiningOp();
      auto offs = def ? def->getAttrOfType<DenseI64ArrayAttr>(kResultOffsetsAttr) : nullptr;
      unsigned i = cast<OpResult>(v).getResultNumber();
      if (!offs || (int64_t)i >= offs.size() || offs[i] < 0)
        return false;
      offset = offs[i];
      return true;
    };
    // A pipeline stage's receive: the runtime writes it into this device's
    // arena before the stage runs. The first receive of a stage starts its
    // code.
    auto emitReceive = [&](shard::RecvOp recv) -> LogicalResult {
      auto stageAttr = recv->getAttrOfType<IntegerAttr>("weft.stage");
      auto send = recv.getInput().getDefiningOp<shard::SendOp>();
      if (!pipeline || !stageAttr || !send || !send->getAttrOfType<IntegerAttr>("weft.stage"))
        return recv.emitError("a receive that is not a pipeline plan's (run weft-partition)");
      int64_t to = stageAttr.getInt(), from = send->getAttrOfType<IntegerAttr>("weft.stage").getInt();
      if (to < currentStage || to >= numStages || from < 0 || from >= to)
        return recv.emitError("pipeline stages out of order: a receive of stage ")
               << to << " from stage " << from << " after stage " << currentStage << "'s code";
      if (to != currentStage) {
        cf::BranchOp::create(hb, loc, exit, ValueRange{LLVM::ZeroOp::create(hb, loc, ptr)});
        hb.setInsertionPointToStart(stageBlocks[to]);
        currentStage = to;
      }
      int64_t fromInput, fromOffset, input, toOffset;
      if (!placeOf(send.getInput(), fromInput, fromOffset))
        return send.emitError("a value sent between pipeline stages has no place in the arena");
      if (!placeOf(recv.getResult(), input, toOffset) || input >= 0)
        return recv.emitError("a received value has no memory plan (run weft-plan-memory)");
      int64_t bytes = tensorBytes(recv.getType());
      transfers.push_back(
          b.getDenseI64ArrayAttr({from, to, fromInput, fromOffset, toOffset, bytes}));
      address[recv.getResult()] = arenaAt(toOffset);
      stageOfValue[recv.getResult()] = to;
      return success();
    };
    // In a pipeline, a dispatch reads only its own stage's values (and
    // weights; the inputs in stage 0).
    auto checkStage = [&](DispatchCallOp call) -> LogicalResult {
      for (Value v : call.getInputs()) {
        Value root = v;
        while (auto reshape = root.getDefiningOp<ReshapeOp>())
          root = reshape.getInput();
        if (auto cst = root.getDefiningOp<ConstantOp>()) {
          stageWeights[currentStage].insert(cst);
          continue;
        }
        int64_t s = isa<BlockArgument>(root) ? 0 : stageOfValue.lookup_or(root, -1);
        if (s != currentStage)
          return call.emitError("pipeline stage ")
                 << currentStage << " reads a value of stage " << s
                 << " that was not sent to it (a weft-partition bug)";
      }
      return success();
    };
    std::function<LogicalResult(Block &)> emitBlock;
    // A weft.loop: the initial values are copied into the state buffers,
    // then a header block tests `iteration < max_trips` and the condition's
    // byte; the body's code is followed by the copies of the yielded values
    // (the condition read first, stored last, so that a condition computed
    // from a carried value is read before the states change) and a branch
    // back. After the loop, the results are the state buffers.
    std::function<LogicalResult(LoopOp)> emitLoop = [&](LoopOp loop) -> LogicalResult {
      auto offs = loop->getAttrOfType<DenseI64ArrayAttr>(kStateOffsetsAttr);
      Block &lb = loop.getBody().front();
      unsigned numCarried = loop.getInits().size(), numScans = loop.getNumScans();
      if (!offs || offs.size() != (int64_t)(2 + numCarried + numScans))
        return loop.emitError("loop has no memory plan (run weft-plan-memory)");
      Value maxAddr = address.lookup(loop.getMaxTrips()),
            condAddr = address.lookup(loop.getCondition());
      if (!maxAddr || !condAddr)
        return loop.emitError("the trip count or the condition has no address");
      // An iteration number nothing reads has no slot (offset -1).
      Value iterSlot = offs[0] >= 0 ? arenaAt(offs[0]) : Value(), condSlot = arenaAt(offs[1]);
      SmallVector<Value> states;
      for (unsigned i = 0; i < numCarried + numScans; ++i)
        states.push_back(arenaAt(offs[2 + i]));
      for (auto [i, init] : llvm::enumerate(loop.getInits())) {
        Value from = address.lookup(init);
        if (!from)
          return loop.emitError("an initial value has no address");
        copyBytes(states[i], from, tensorBytes(init.getType()));
      }
      Value limit = loadValue(i64, maxAddr);
      int64_t scanLength = -1;
      if (numScans > 0) {
        // Scan results hold one slice per iteration of the static length.
        scanLength = cast<ShapedType>(loop.getResult(numCarried).getType()).getDimSize(0);
        Value n = i64Const(scanLength);
        Value less = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::slt, limit, n);
        limit = LLVM::SelectOp::create(hb, loc, less, limit, n);
      }
      Value cond0 = loadValue(b.getI8Type(), condAddr);
      storeValue(cond0, condSlot);
      auto *header = new Block(), *bodyBlock = new Block(), *after = new Block();
      header->addArgument(i64, loc);
      after->addArgument(i64, loc);
      for (Block *blk : {header, bodyBlock, after})
        host.getBody().getBlocks().insert(Region::iterator(exit), blk);
      cf::BranchOp::create(hb, loc, header, ValueRange{i64Const(0)});

      hb.setInsertionPointToStart(header);
      Value iter = header->getArgument(0);
      Value byte = loadValue(b.getI8Type(), condSlot);
      Value zero = LLVM::ConstantOp::create(hb, loc, b.getI8Type(), hb.getI8IntegerAttr(0));
      Value holds = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::ne, byte, zero);
      Value below = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::slt, iter, limit);
      Value go = LLVM::AndOp::create(hb, loc, holds, below);
      cf::CondBranchOp::create(hb, loc, go, bodyBlock, ValueRange{}, after, ValueRange{iter});

      hb.setInsertionPointToStart(bodyBlock);
      if (iterSlot) {
        storeValue(iter, iterSlot);
        address[lb.getArgument(0)] = iterSlot;
      }
      address[lb.getArgument(1)] = condSlot;
      for (unsigned i = 0; i < numCarried; ++i)
        address[lb.getArgument(2 + i)] = states[i];
      if (failed(emitBlock(lb)))
        return failure();
      auto yield = cast<YieldOp>(lb.getTerminator());
      SmallVector<Value> yielded;
      for (Value v : yield.getValues())
        yielded.push_back(address.lookup(v));
      if (llvm::any_of(yielded, [](Value v) { return !v; }))
        return loop.emitError("a yielded value has no address");
      Value nextCond = loadValue(b.getI8Type(), yielded[0]);
      for (unsigned i = 0; i < numCarried; ++i) {
        Value root = yield.getValues()[1 + i];
        while (auto reshape = root.getDefiningOp<ReshapeOp>())
          root = reshape.getInput();
        if (root == lb.getArgument(2 + i))
          continue; // passed through: already in its state buffer
        copyBytes(states[i], yielded[1 + i], tensorBytes(loop.getInits()[i].getType()));
      }
      for (unsigned k = 0; k < numScans; ++k) {
        int64_t slice = tensorBytes(yield.getValues()[1 + numCarried + k].getType());
        Value offset = LLVM::MulOp::create(hb, loc, iter, i64Const(slice));
        Value dst = LLVM::GEPOp::create(hb, loc, ptr, b.getI8Type(), states[numCarried + k],
                                        ArrayRef<LLVM::GEPArg>{offset});
        copyBytes(dst, yielded[1 + numCarried + k], slice);
      }
      storeValue(nextCond, condSlot);
      Value next = LLVM::AddOp::create(hb, loc, iter, i64Const(1));
      cf::BranchOp::create(hb, loc, header, ValueRange{next});

      hb.setInsertionPointToStart(after);
      if (numScans > 0) {
        // A loop that stopped before its scan results were full fails the
        // run rather than return slices it never computed.
        Value count = after->getArgument(0);
        Value shortRun = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::ne, count,
                                              i64Const(scanLength));
        auto *fail = new Block(), *done = new Block();
        for (Block *blk : {fail, done})
          host.getBody().getBlocks().insert(Region::iterator(exit), blk);
        cf::CondBranchOp::create(hb, loc, shortRun, fail, ValueRange{}, done, ValueRange{});
        hb.setInsertionPointToStart(fail);
        std::string suffix = std::to_string(trapIndex++);
        std::string node = "loop";
        if (auto name = dyn_cast<NameLoc>(loop.getLoc()))
          node = name.getName().str();
        node.push_back('\0');
        std::string text = "Loop node '%s' stopped after %lld iterations, but its scan outputs "
                           "were compiled for %lld (its trip count)";
        text.push_back('\0');
        Value format = LLVM::createGlobalString(loc, hb, "__weft_trap_format_" + suffix, text,
                                                LLVM::Linkage::Private);
        Value name = LLVM::createGlobalString(loc, hb, "__weft_trap_message_" + suffix, node,
                                              LLVM::Linkage::Private);
        Value code = LLVM::ConstantOp::create(hb, loc, b.getI32Type(),
                                              hb.getI32IntegerAttr(1 /*WEFT_INVALID_ARGUMENT*/));
        Value status = LLVM::CallOp::create(hb, loc, getStatusCreate(),
                                            ValueRange{code, format, name, count,
                                                       i64Const(scanLength)})
                           .getResult();
        cf::BranchOp::create(hb, loc, exit, ValueRange{status});
        hb.setInsertionPointToStart(done);
      }
      for (auto [r, state] : llvm::zip(loop.getResults(), states))
        address[r] = state;
      return success();
    };
    // Emits the host code of `block` at hb, which ends wherever the last
    // dispatch's status check left it. A weft.if becomes a conditional
    // branch on its condition's byte; each region's code ends in a branch
    // to a merge block whose arguments are the results' addresses.
    emitBlock = [&](Block &block) -> LogicalResult {
      for (Operation &op : block) {
        if (auto cst = dyn_cast<ConstantOp>(op)) {
          // A pipeline's weights are placed before its stages.
          if (!address.count(cst) && failed(emitConstant(cst)))
            return failure();
          continue;
        }
        if (auto reshape = dyn_cast<ReshapeOp>(op)) {
          address[reshape] = address.lookup(reshape.getInput());
          continue;
        }
        if (auto ifOp = dyn_cast<IfOp>(op)) {
          Value condition = address.lookup(ifOp.getCondition());
          if (!condition)
            return ifOp.emitError("the condition has no address");
          Value byte = loadValue(b.getI8Type(), condition);
          Value zero = LLVM::ConstantOp::create(hb, loc, b.getI8Type(), hb.getI8IntegerAttr(0));
          Value taken = LLVM::ICmpOp::create(hb, loc, LLVM::ICmpPredicate::ne, byte, zero);
          auto *thenBlock = new Block(), *elseBlock = new Block(), *merge = new Block();
          for (Value r : ifOp.getResults())
            merge->addArgument(ptr, r.getLoc());
          for (Block *blk : {thenBlock, elseBlock, merge})
            host.getBody().getBlocks().insert(Region::iterator(exit), blk);
          cf::CondBranchOp::create(hb, loc, taken, thenBlock, ValueRange{}, elseBlock,
                                   ValueRange{});
          for (auto [region, start] : {std::pair{&ifOp.getThenRegion(), thenBlock},
                                       std::pair{&ifOp.getElseRegion(), elseBlock}}) {
            hb.setInsertionPointToStart(start);
            if (failed(emitBlock(region->front())))
              return failure();
            SmallVector<Value> yielded;
            for (Value v : cast<YieldOp>(region->front().getTerminator()).getValues())
              yielded.push_back(address.lookup(v));
            if (llvm::any_of(yielded, [](Value v) { return !v; }))
              return ifOp.emitError("a yielded value has no address");
            cf::BranchOp::create(hb, loc, merge, yielded);
          }
          hb.setInsertionPointToStart(merge);
          for (auto [r, arg] : llvm::zip(ifOp.getResults(), merge->getArguments()))
            address[r] = arg;
          continue;
        }
        if (auto loop = dyn_cast<LoopOp>(op)) {
          if (failed(emitLoop(loop)))
            return failure();
          continue;
        }
        if (auto trap = dyn_cast<TrapOp>(op)) {
          // The message goes through "%s": it is data, never a format.
          auto statusCreate = getStatusCreate();
          std::string suffix = std::to_string(trapIndex++);
          Value format = LLVM::createGlobalString(loc, hb, "__weft_trap_format_" + suffix,
                                                  StringRef("%s", 3), LLVM::Linkage::Private);
          std::string text = trap.getMessage().str();
          text.push_back('\0');
          Value message = LLVM::createGlobalString(loc, hb, "__weft_trap_message_" + suffix, text,
                                                   LLVM::Linkage::Private);
          Value code = LLVM::ConstantOp::create(hb, loc, b.getI32Type(),
                                                hb.getI32IntegerAttr(1 /*WEFT_INVALID_ARGUMENT*/));
          Value status =
              LLVM::CallOp::create(hb, loc, statusCreate, ValueRange{code, format, message})
                  .getResult();
          cf::BranchOp::create(hb, loc, exit, ValueRange{status});
          // What follows in the region is never reached.
          Block *dead = new Block();
          host.getBody().getBlocks().insert(Region::iterator(exit), dead);
          hb.setInsertionPointToStart(dead);
          Value null = LLVM::ZeroOp::create(hb, loc, ptr);
          for (Value r : trap.getResults())
            address[r] = null;
          continue;
        }
        if (isa<shard::AllSliceOp, shard::AllReduceOp, shard::AllGatherOp>(op)) {
          if (failed(emitCollective(&op)))
            return failure();
          continue;
        }
        if (isa<shard::SendOp>(op)) {
          if (!pipeline)
            return op.emitError("a send between pipeline stages outside a pipeline plan");
          continue; // the runtime sends it after the stage's run
        }
        if (auto recv = dyn_cast<shard::RecvOp>(op)) {
          if (failed(emitReceive(recv)))
            return failure();
          continue;
        }
        auto call = dyn_cast<DispatchCallOp>(op);
        if (!call) {
          if (&op == ret.getOperation() || isa<YieldOp>(op))
            continue;
          return op.emitError("unexpected op in the planned entry function");
        }
        auto offsets = call->getAttrOfType<DenseI64ArrayAttr>(kResultOffsetsAttr);
        if (!offsets) {
          return call.emitError("dispatch has no memory plan (run weft-plan-memory)");
        }
        for (auto [r, off] : llvm::zip(call.getResults(), offsets.asArrayRef())) {
          if (off >= 0) {
            address[r] = arenaAt(off);
            continue;
          }
          for (OpOperand &use : ret->getOpOperands())
            if (use.get() == r)
              address[r] = loadSlot(outputs, use.getOperandNumber());
        }
        if (pipeline && failed(checkStage(call)))
          return failure();
        for (Value r : call.getResults())
          stageOfValue[r] = currentStage;
        SmallVector<Value> bindings;
        for (Value v : call.getInputs())
          bindings.push_back(address.lookup(v));
        for (Value v : call.getResults())
          bindings.push_back(address.lookup(v));
        auto calleeFn = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (calleeFn && calleeFn->hasAttr(kScratchSizeAttr))
          bindings.push_back(scratch);
        if (llvm::any_of(bindings, [](Value v) { return !v; })) {
          return call.emitError("a dispatch operand has no address");
        }
        Value one = LLVM::ConstantOp::create(hb, loc, i64, hb.getI64IntegerAttr(1));
        auto arrTy = LLVM::LLVMArrayType::get(ptr, bindings.size());
        Value array = LLVM::AllocaOp::create(hb, loc, ptr, arrTy, one, 8);
        for (auto [i, v] : llvm::enumerate(bindings)) {
          Value slot =
              LLVM::GEPOp::create(hb, loc, ptr, ptr, array, ArrayRef<LLVM::GEPArg>{(int32_t)i});
          LLVM::StoreOp::create(hb, loc, v, slot);
        }
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (cuda) {
          auto index = callee ? callee->getAttrOfType<IntegerAttr>("weft.kernel_index") : nullptr;
          auto launch = callee ? callee->getAttrOfType<DenseI64ArrayAttr>("weft.launch") : nullptr;
          if (!index || !launch || launch.size() != 2)
            return call.emitError("dispatch has no kernel (run weft-cuda-outline-kernels)");
          auto c32 = [&](int64_t v) -> Value {
            return LLVM::ConstantOp::create(hb, loc, i32, hb.getI32IntegerAttr((int32_t)v));
          };
          checkStatus(LLVM::CallOp::create(
                          hb, loc, runtimeDispatch,
                          ValueRange{device, kernels, c32(index.getInt()), array,
                                     c32(bindings.size()), c32(launch[0]), c32(1), c32(1),
                                     c32(launch[1]), c32(1), c32(1), c32(0)})
                          .getResult());
          continue;
        }
        auto count = callee->getAttrOfType<IntegerAttr>(kWorkgroupCountAttr);
        func::FuncOp wrapper = wrappers.lookup(call.getCallee());
        Value fnRef = func::ConstantOp::create(hb, loc, wrapper.getFunctionType(),
                                               SymbolRefAttr::get(wrapper.getSymNameAttr()));
        Value fnPtr =
            UnrealizedConversionCastOp::create(hb, loc, TypeRange{ptr}, fnRef).getResult(0);
        Value wgCount = LLVM::ConstantOp::create(hb, loc, i64,
                                                 hb.getI64IntegerAttr(count ? count.getInt() : 1));
        checkStatus(LLVM::CallOp::create(hb, loc, runtimeDispatch,
                                         ValueRange{device, fnPtr, array, wgCount})
                        .getResult());
      }
      return success();
    };
    if (pipeline) {
      // The weights' addresses first (every stage may read them), then a
      // switch on the rank to its stage's code.
      for (Operation &op : body)
        if (auto cst = dyn_cast<ConstantOp>(op))
          if (failed(emitConstant(cst)))
            return signalPassFailure();
      SmallVector<int32_t> cases;
      for (int64_t k = 0; k < numStages; ++k) {
        auto *blk = new Block();
        host.getBody().getBlocks().insert(Region::iterator(exit), blk);
        stageBlocks.push_back(blk);
        cases.push_back((int32_t)k);
      }
      Value null = LLVM::ZeroOp::create(hb, loc, ptr);
      SmallVector<ValueRange> caseOperands(numStages, ValueRange{});
      cf::SwitchOp::create(hb, loc, entry->getArgument(1), exit, ValueRange{null}, cases,
                           BlockRange(stageBlocks), caseOperands);
      hb.setInsertionPointToStart(stageBlocks[0]);
    }
    if (failed(emitBlock(body)))
      return signalPassFailure();
    Value null = LLVM::ZeroOp::create(hb, loc, ptr);
    cf::BranchOp::create(hb, loc, exit, ValueRange{null});
    for (Block *blk : stageBlocks)
      if (blk->empty() || !blk->back().hasTrait<OpTrait::IsTerminator>()) {
        hb.setInsertionPointToEnd(blk);
        cf::BranchOp::create(hb, loc, exit, ValueRange{LLVM::ZeroOp::create(hb, loc, ptr)});
      }
    if (pipeline) {
      for (auto &set : stageWeights) {
        int64_t bytes = 0;
        for (Operation *c : set)
          bytes += tensorBytes(c->getResult(0).getType());
        deviceWeightBytes = std::max(deviceWeightBytes, bytes);
      }
      module->setAttr("weft.pipeline_transfers", b.getArrayAttr(transfers));
      module->setAttr("weft.micro_batches", microAttr);
    }

    // Keep what later stages need to describe the model.
    for (StringRef attr : {"weft.input_names", "weft.output_names", "weft.input_values",
                           "weft.num_devices", "weft.parallel_plan", "weft.input_splits",
                           "weft.output_splits", "weft.output_extents", "weft.num_extents"})
      if (Attribute a = entryFn->getAttr(attr))
        module->setAttr(attr, a);
    // The ABI types keep the signedness that weft-lower-to-linalg dropped.
    auto abiTypes = [&](StringRef attr, TypeRange fallback) -> Attribute {
      if (Attribute a = entryFn->getAttr(attr))
        return a;
      return b.getTypeArrayAttr(fallback);
    };
    module->setAttr("weft.input_types",
                    abiTypes("weft.abi_input_types", entryFn.getArgumentTypes()));
    module->setAttr("weft.output_types",
                    abiTypes("weft.abi_output_types", entryFn.getResultTypes()));
    module->setAttr(kArenaSizeAttr,
                    b.getI64IntegerAttr(scratchSize > 0 ? scratchOffset + scratchSize : planned));
    // What the arena holds, for the header and the memory report.
    module->setAttr("weft.arena_tensors", b.getI64IntegerAttr(planned));
    module->setAttr("weft.arena_scratch", b.getI64IntegerAttr(scratchSize));
    if (auto bound = entryFn->getAttrOfType<IntegerAttr>(kArenaLowerBoundAttr))
      module->setAttr(kArenaLowerBoundAttr, bound);
    module->setAttr("weft.model_name", b.getStringAttr(modelName));
    module->setAttr("weft.weight_bytes", b.getI64IntegerAttr(weightBytes));
    module->setAttr("weft.device_weight_bytes", b.getI64IntegerAttr(deviceWeightBytes));
    if (cuda && !parted.empty()) {
      // [shared][part 0]...[part P-1], each region aligned; device r gets
      // the shared region and part weft.weight_part_of[r].
      int64_t shared = (int64_t)llvm::alignTo(weightBlob.size(), (uint64_t)alignment);
      int64_t part = (int64_t)llvm::alignTo(partBlobs[0].size(), (uint64_t)alignment);
      weightBlob.resize(shared, '\0');
      for (std::string &blob : partBlobs) {
        blob.resize(part, '\0');
        weightBlob += blob;
      }
      partBaseOffset.setValueAttr(b.getI64IntegerAttr(shared));
      int64_t stride = 1;
      for (size_t k = partAxis + 1; k < gridShape.size(); ++k)
        stride *= gridShape[k];
      SmallVector<int64_t> partOf;
      for (int64_t r = 0; r < numStages; ++r)
        partOf.push_back(gridShape.size() > 1 ? r / stride % numParts : r);
      module->setAttr("weft.weights_shared_size", b.getI64IntegerAttr(shared));
      module->setAttr("weft.weight_part_size", b.getI64IntegerAttr(part));
      module->setAttr("weft.weight_part_of", b.getDenseI64ArrayAttr(partOf));
      module->setAttr("weft.device_weight_bytes", b.getI64IntegerAttr(shared + part));
    }
    if (cuda) {
      // One blob the runtime copies to the device; at least one byte.
      if (weightBlob.empty())
        weightBlob.push_back('\0');
      OpBuilder gb = OpBuilder::atBlockEnd(module.getBody());
      auto type = LLVM::LLVMArrayType::get(b.getI8Type(), weightBlob.size());
      LLVM::GlobalOp::create(gb, loc, type, /*isConstant=*/true, LLVM::Linkage::Private,
                             "__weft_weights", gb.getStringAttr(weightBlob), alignment);
      module->setAttr("weft.weights_global", b.getStringAttr("__weft_weights"));
      if (hostKernels) {
        // The wrappers in kernel order, for the model description.
        SmallVector<Attribute> names;
        if (auto kernels = module->getAttrOfType<ArrayAttr>("weft.kernel_names"))
          for (Attribute a : kernels)
            if (func::FuncOp wrapper = wrappers.lookup(cast<StringAttr>(a).getValue()))
              names.push_back(b.getStringAttr(wrapper.getName()));
        module->setAttr("weft.host_kernels", b.getArrayAttr(names));
      } else {
        for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
          if (fn->hasAttr(kDispatchFnAttr))
            fn.erase();
      }
    }
    entryFn.erase();
    if (gridShape.size() > 1)
      module->setAttr("weft.grid_shape", b.getDenseI64ArrayAttr(gridShape));
    for (auto grid : llvm::make_early_inc_range(module.getOps<shard::GridOp>()))
      grid.erase();
  }
};

} // namespace
