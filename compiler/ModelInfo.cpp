//===- ModelInfo.cpp - model metadata in the object and the header -------===//
#include "compiler/ModelInfo.h"
#include "codegen/cpu/Passes.h"
#include "dialects/weft/IR/WeftNames.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Support/raw_ostream.h"
#include "weft/runtime.h"

using namespace mlir;
using namespace weft;

static int dtypeCode(Type t) {
  if (t.isF32()) return 1;
  if (t.isF64()) return 11;
  if (t.isF16()) return 10;
  if (t.isBF16()) return 16;
  if (isa<Float8E4M3FNType>(t)) return 17;
  if (isa<Float8E4M3FNUZType>(t)) return 18;
  if (isa<Float8E5M2Type>(t)) return 19;
  if (isa<Float8E5M2FNUZType>(t)) return 20;
  if (t.isInteger(1)) return 9;
  if (t.isUnsignedInteger(8)) return 2;
  if (t.isUnsignedInteger(16)) return 4;
  if (t.isUnsignedInteger(32)) return 12;
  if (t.isUnsignedInteger(64)) return 13;
  if (t.isSignlessInteger(8) || t.isSignedInteger(8)) return 3;
  if (t.isSignlessInteger(16) || t.isSignedInteger(16)) return 5;
  if (t.isSignlessInteger(32) || t.isSignedInteger(32)) return 6;
  if (t.isSignlessInteger(64) || t.isSignedInteger(64)) return 7;
  return 0;
}

static const char *dtypeName(int code) {
  switch (code) {
  case 1: return "f32"; case 11: return "f64"; case 10: return "f16";
  case 16: return "bf16"; case 9: return "bool"; case 3: return "i8";
  case 5: return "i16"; case 6: return "i32"; case 7: return "i64";
  case 2: return "u8"; case 4: return "u16"; case 12: return "u32"; case 13: return "u64";
  case 17: return "f8e4m3fn"; case 18: return "f8e4m3fnuz"; case 19: return "f8e5m2";
  case 20: return "f8e5m2fnuz";
  }
  return "invalid";
}

FailureOr<ModelDesc> weft::describeModel(ModuleOp module) {
  ModelDesc desc;
  auto name = module->getAttrOfType<StringAttr>("weft.model_name");
  auto inTypes = module->getAttrOfType<ArrayAttr>("weft.input_types");
  auto outTypes = module->getAttrOfType<ArrayAttr>("weft.output_types");
  if (!name || !inTypes || !outTypes)
    return module.emitError("module carries no model description"), failure();
  desc.name = name.str();
  if (auto arena = module->getAttrOfType<IntegerAttr>("weft.arena_size"))
    desc.arenaSize = arena.getInt();
  auto bytes = [&](StringRef attr) -> uint64_t {
    auto a = module->getAttrOfType<IntegerAttr>(attr);
    return a ? a.getInt() : 0;
  };
  desc.arenaTensors = bytes("weft.arena_tensors");
  desc.arenaLowerBound = bytes("weft.arena_lower_bound");
  desc.arenaScratch = bytes("weft.arena_scratch");
  auto names = [&](StringRef attr, size_t i, const char *prefix) {
    if (auto arr = module->getAttrOfType<ArrayAttr>(attr))
      if (i < arr.size())
        if (auto s = dyn_cast<StringAttr>(arr[i]))
          return s.str();
    return std::string(prefix) + std::to_string(i);
  };
  auto fill = [&](ArrayAttr types, StringRef attr, const char *prefix,
                  std::vector<TensorDesc> &out) -> LogicalResult {
    for (auto [i, t] : llvm::enumerate(types)) {
      auto tt = cast<RankedTensorType>(cast<TypeAttr>(t).getValue());
      TensorDesc d{names(attr, i, prefix), dtypeCode(tt.getElementType()),
                   std::vector<int64_t>(tt.getShape().begin(), tt.getShape().end()),
                   /*value=*/std::nullopt};
      if (!d.dtype)
        return module.emitError("tensor '") << d.name << "' has element type "
                                            << tt.getElementType()
                                            << " which the runtime ABI cannot describe";
      out.push_back(d);
    }
    return success();
  };
  if (failed(fill(inTypes, "weft.input_names", "input_", desc.inputs)) ||
      failed(fill(outTypes, "weft.output_names", "output_", desc.outputs)))
    return failure();
  // The run-time sizes are results after the outputs, not outputs.
  if (auto n = module->getAttrOfType<IntegerAttr>("weft.num_extents")) {
    desc.numExtents = n.getInt();
    auto dims = module->getAttrOfType<ArrayAttr>("weft.output_extents");
    if (desc.numExtents < 0 || desc.numExtents > (int64_t)desc.outputs.size() || !dims ||
        dims.size() != desc.outputs.size() - desc.numExtents)
      return module.emitError("malformed weft.output_extents");
    desc.outputs.resize(desc.outputs.size() - desc.numExtents);
    for (auto [t, a] : llvm::zip(desc.outputs, dims)) {
      auto slots = dyn_cast<DenseI64ArrayAttr>(a);
      if (!slots || slots.size() != (int64_t)t.shape.size())
        return module.emitError("malformed weft.output_extents");
      if (llvm::any_of(slots.asArrayRef(), [](int64_t k) { return k >= 0; }))
        t.runTimeDims.assign(slots.asArrayRef().begin(), slots.asArrayRef().end());
    }
  }
  desc.weightBytes = bytes("weft.weight_bytes");
  desc.deviceWeightBytes = bytes("weft.device_weight_bytes");
  if (auto n = module->getAttrOfType<IntegerAttr>("weft.num_devices"))
    desc.numDevices = n.getInt();
  if (auto plan = module->getAttrOfType<StringAttr>("weft.parallel_plan"))
    desc.parallelPlan = plan.str();
  for (auto [attr, list] : {std::pair{"weft.input_splits", &desc.inputs},
                            std::pair{"weft.output_splits", &desc.outputs}})
    if (auto splits = module->getAttrOfType<DenseI64ArrayAttr>(attr))
      for (auto [i, s] : llvm::enumerate(splits.asArrayRef()))
        if (i < list->size())
          (*list)[i].splitAxis = s;
  if (auto m = module->getAttrOfType<IntegerAttr>("weft.micro_batches"))
    desc.microBatches = m.getInt();
  if (auto grid = module->getAttrOfType<DenseI64ArrayAttr>("weft.grid_shape"))
    desc.gridShape.assign(grid.asArrayRef().begin(), grid.asArrayRef().end());
  if (auto list = module->getAttrOfType<ArrayAttr>("weft.pipeline_transfers"))
    for (Attribute a : list) {
      auto t = cast<DenseI64ArrayAttr>(a);
      if (t.size() != 6)
        return module.emitError("malformed weft.pipeline_transfers");
      desc.transfers.push_back({t[0], t[1], t[2], t[3], t[4], t[5]});
    }
  desc.weightsSharedSize = bytes("weft.weights_shared_size");
  desc.weightPartSize = bytes("weft.weight_part_size");
  if (auto partOf = module->getAttrOfType<DenseI64ArrayAttr>("weft.weight_part_of"))
    desc.weightPartOf.assign(partOf.asArrayRef().begin(), partOf.asArrayRef().end());
  if (auto weights = module->getAttrOfType<StringAttr>("weft.weights_global")) {
    desc.cuda = true;
    desc.weightsGlobal = weights.str();
    if (auto images = module->getAttrOfType<ArrayAttr>("weft.device_images"))
      for (Attribute a : images) {
        auto entry = dyn_cast<ArrayAttr>(a);
        if (!entry || entry.size() != 3 || !isa<StringAttr>(entry[0]) ||
            !isa<StringAttr>(entry[1]) || !isa<IntegerAttr>(entry[2]))
          return module.emitError("malformed weft.device_images");
        desc.deviceImages.push_back({cast<StringAttr>(entry[0]).str(),
                                     cast<StringAttr>(entry[1]).str(),
                                     (uint64_t)cast<IntegerAttr>(entry[2]).getInt()});
      }
    if (auto kernels = module->getAttrOfType<ArrayAttr>("weft.kernel_names"))
      for (Attribute a : kernels)
        desc.kernelNames.push_back(cast<StringAttr>(a).str());
    if (auto host = module->getAttrOfType<ArrayAttr>("weft.host_kernels"))
      for (Attribute a : host)
        desc.hostKernels.push_back(cast<StringAttr>(a).str());
  }
  if (auto values = module->getAttrOfType<ArrayAttr>("weft.input_values"))
    for (auto [i, v] : llvm::enumerate(values))
      if (auto dense = dyn_cast<DenseElementsAttr>(v); dense && i < desc.inputs.size())
      {
        // The bytes a caller passes (weft_model_run compares them).
        std::string bytes;
        cpu::appendDenseBytes(dense, bytes);
        desc.inputs[i].value = std::vector<uint8_t>(bytes.begin(), bytes.end());
      }
  return desc;
}

void weft::emitModelInfo(llvm::Module &m, const ModelDesc &desc, bool exportGeneric) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto *i32 = llvm::Type::getInt32Ty(ctx), *i64 = llvm::Type::getInt64Ty(ctx);
  auto str = [&](const std::string &s, const std::string &label) {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    return new llvm::GlobalVariable(m, init->getType(), true,
                                    llvm::GlobalValue::PrivateLinkage, init,
                                    "__weft_str_" + label);
  };
  auto *tensorTy = llvm::StructType::get(ctx, {ptr, i32, i32, ptr, ptr, i32, ptr});
  auto tensors = [&](const std::vector<TensorDesc> &list, const char *kind) -> llvm::Constant * {
    std::vector<llvm::Constant *> elems;
    for (auto [i, t] : llvm::enumerate(list)) {
      std::string label = std::string(kind) + std::to_string(i);
      std::vector<llvm::Constant *> dims;
      for (int64_t d : t.shape)
        dims.push_back(llvm::ConstantInt::get(i64, d));
      auto *shapeTy = llvm::ArrayType::get(i64, dims.size());
      auto *shape = new llvm::GlobalVariable(m, shapeTy, true, llvm::GlobalValue::PrivateLinkage,
                                             llvm::ConstantArray::get(shapeTy, dims),
                                             "__weft_shape_" + label);
      llvm::Constant *value = llvm::ConstantPointerNull::get(ptr);
      if (t.value) {
        auto *bytes = llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint8_t>(*t.value));
        value = new llvm::GlobalVariable(m, bytes->getType(), true,
                                         llvm::GlobalValue::PrivateLinkage, bytes,
                                         "__weft_value_" + label);
      }
      llvm::Constant *runTime = llvm::ConstantPointerNull::get(ptr);
      if (!t.runTimeDims.empty()) {
        std::vector<llvm::Constant *> slots;
        for (int64_t k : t.runTimeDims)
          slots.push_back(llvm::ConstantInt::get(i32, k));
        auto *slotsTy = llvm::ArrayType::get(i32, slots.size());
        runTime = new llvm::GlobalVariable(m, slotsTy, true, llvm::GlobalValue::PrivateLinkage,
                                           llvm::ConstantArray::get(slotsTy, slots),
                                           "__weft_run_time_dims_" + label);
      }
      elems.push_back(llvm::ConstantStruct::get(
          tensorTy, {str(t.name, label), llvm::ConstantInt::get(i32, t.dtype),
                     llvm::ConstantInt::get(i32, t.shape.size()), shape, value,
                     llvm::ConstantInt::get(i32, t.splitAxis), runTime}));
    }
    auto *arrTy = llvm::ArrayType::get(tensorTy, elems.size());
    return new llvm::GlobalVariable(m, arrTy, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(arrTy, elems),
                                    std::string("__weft_") + kind + "s");
  };
  llvm::Function *entry = m.getFunction(desc.name + "_entry");
  llvm::Function *spmdEntry = m.getFunction(desc.name + "_spmd_entry");
  auto fnOrNull = [&](llvm::Function *f) -> llvm::Constant * {
    return f ? (llvm::Constant *)f : llvm::ConstantPointerNull::get(ptr);
  };
  auto *transferTy = llvm::StructType::get(ctx, {i32, i32, i32, i64, i64, i64});
  llvm::Constant *transfers = llvm::ConstantPointerNull::get(ptr);
  if (!desc.transfers.empty()) {
    std::vector<llvm::Constant *> elems;
    for (const auto &t : desc.transfers)
      elems.push_back(llvm::ConstantStruct::get(
          transferTy, {llvm::ConstantInt::get(i32, t[0]), llvm::ConstantInt::get(i32, t[1]),
                       llvm::ConstantInt::get(i32, t[2]), llvm::ConstantInt::get(i64, t[3]),
                       llvm::ConstantInt::get(i64, t[4]), llvm::ConstantInt::get(i64, t[5])}));
    auto *arrTy = llvm::ArrayType::get(transferTy, elems.size());
    transfers = new llvm::GlobalVariable(m, arrTy, true, llvm::GlobalValue::PrivateLinkage,
                                         llvm::ConstantArray::get(arrTy, elems),
                                         "__weft_transfers");
  }
  llvm::Constant *grid = llvm::ConstantPointerNull::get(ptr);
  if (!desc.gridShape.empty()) {
    std::vector<llvm::Constant *> dims;
    for (int64_t d : desc.gridShape)
      dims.push_back(llvm::ConstantInt::get(i64, d));
    auto *gridTy = llvm::ArrayType::get(i64, dims.size());
    grid = new llvm::GlobalVariable(m, gridTy, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(gridTy, dims), "__weft_grid");
  }
  // A CUDA model: its images, kernel names and packed weights.
  llvm::Function *deviceEntry = m.getFunction(desc.name + "_device_entry");
  llvm::Function *spmdDeviceEntry = m.getFunction(desc.name + "_spmd_device_entry");
  llvm::Constant *null = llvm::ConstantPointerNull::get(ptr);
  llvm::Constant *images = null, *kernelNames = null, *weights = null, *hostKernels = null;
  uint64_t weightsSize = 0;
  if (desc.cuda) {
    auto *imageTy = llvm::StructType::get(ctx, {ptr, ptr, i64});
    std::vector<llvm::Constant *> elems;
    for (auto [i, image] : llvm::enumerate(desc.deviceImages)) {
      llvm::GlobalVariable *bytes = m.getNamedGlobal(image.global);
      elems.push_back(llvm::ConstantStruct::get(
          imageTy, {str(image.chip, "chip" + std::to_string(i)),
                    bytes ? (llvm::Constant *)bytes : null,
                    llvm::ConstantInt::get(i64, bytes ? image.bytes : 0)}));
    }
    auto *imagesTy = llvm::ArrayType::get(imageTy, elems.size());
    images = new llvm::GlobalVariable(m, imagesTy, true, llvm::GlobalValue::PrivateLinkage,
                                      llvm::ConstantArray::get(imagesTy, elems),
                                      "__weft_device_images");
    std::vector<llvm::Constant *> names;
    for (auto [i, kernel] : llvm::enumerate(desc.kernelNames))
      names.push_back(str(kernel, "kernel" + std::to_string(i)));
    auto *namesTy = llvm::ArrayType::get(ptr, names.size());
    kernelNames = new llvm::GlobalVariable(m, namesTy, true, llvm::GlobalValue::PrivateLinkage,
                                           llvm::ConstantArray::get(namesTy, names),
                                           "__weft_kernel_names");
    if (!desc.hostKernels.empty()) {
      std::vector<llvm::Constant *> fns;
      for (const std::string &name : desc.hostKernels)
        fns.push_back(fnOrNull(m.getFunction(name)));
      auto *fnsTy = llvm::ArrayType::get(ptr, fns.size());
      hostKernels = new llvm::GlobalVariable(m, fnsTy, true, llvm::GlobalValue::PrivateLinkage,
                                             llvm::ConstantArray::get(fnsTy, fns),
                                             "__weft_host_kernels");
    }
    if (llvm::GlobalVariable *w = m.getNamedGlobal(desc.weightsGlobal)) {
      weights = w;
      weightsSize = m.getDataLayout().getTypeAllocSize(w->getValueType());
    }
  }
  // Each device's part of cut weights.
  llvm::Constant *partOf = null;
  int64_t numParts = 0;
  if (!desc.weightPartOf.empty()) {
    std::vector<llvm::Constant *> elems;
    for (int64_t p : desc.weightPartOf) {
      elems.push_back(llvm::ConstantInt::get(i32, p));
      numParts = std::max<int64_t>(numParts, p + 1);
    }
    auto *arrTy = llvm::ArrayType::get(i32, elems.size());
    partOf = new llvm::GlobalVariable(m, arrTy, true, llvm::GlobalValue::PrivateLinkage,
                                      llvm::ConstantArray::get(arrTy, elems),
                                      "__weft_weight_part_of");
  }
  auto *infoTy = llvm::StructType::get(ctx, {i32, ptr, i32, ptr, i32, ptr, i64, i64, ptr, i32,
                                             ptr, ptr, i64, i32, i32, ptr, i32, ptr,
                                             i32, ptr, i32, ptr, i32, ptr, ptr, i64, ptr,
                                             ptr, i64, i64, i32, ptr, i32});
  auto *info = new llvm::GlobalVariable(
      m, infoTy, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantStruct::get(
          infoTy, {llvm::ConstantInt::get(i32, WEFT_MODEL_ABI_VERSION), str(desc.name, "model"),
                   llvm::ConstantInt::get(i32, desc.inputs.size()), tensors(desc.inputs, "input"),
                   llvm::ConstantInt::get(i32, desc.outputs.size()), tensors(desc.outputs, "output"),
                   llvm::ConstantInt::get(i64, desc.arenaSize),
                   llvm::ConstantInt::get(i64, desc.arenaAlignment),
                   fnOrNull(entry), llvm::ConstantInt::get(i32, desc.numDevices),
                   str(desc.parallelPlan, "plan"), fnOrNull(spmdEntry),
                   llvm::ConstantInt::get(i64, desc.deviceWeightBytes),
                   llvm::ConstantInt::get(i32, desc.microBatches),
                   llvm::ConstantInt::get(i32, desc.transfers.size()), transfers,
                   llvm::ConstantInt::get(i32, desc.gridShape.size()), grid,
                   llvm::ConstantInt::get(i32, desc.cuda ? 1 /*WEFT_DEVICE_CUDA*/ : 0),
                   fnOrNull(deviceEntry),
                   llvm::ConstantInt::get(i32, desc.cuda ? desc.deviceImages.size() : 0), images,
                   llvm::ConstantInt::get(i32, desc.cuda ? desc.kernelNames.size() : 0),
                   kernelNames, weights, llvm::ConstantInt::get(i64, weightsSize),
                   hostKernels, fnOrNull(spmdDeviceEntry),
                   llvm::ConstantInt::get(i64, desc.weightsSharedSize),
                   llvm::ConstantInt::get(i64, desc.weightPartSize),
                   llvm::ConstantInt::get(i32, numParts), partOf,
                   llvm::ConstantInt::get(i32, desc.numExtents)}),
      "__weft_model_info");
  auto addGetter = [&](const std::string &name) {
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(ptr, false),
                                      llvm::GlobalValue::ExternalLinkage, name, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    b.CreateRet(info);
  };
  addGetter(desc.name + "_info");
  if (exportGeneric)
    addGetter("weft_model_info");
}

static std::string shapeString(const TensorDesc &t) {
  std::string s = "[";
  for (size_t i = 0; i < t.shape.size(); ++i)
    s += (i ? "," : "") + std::string(!t.runTimeDims.empty() && t.runTimeDims[i] >= 0 ? "<=" : "") +
         std::to_string(t.shape[i]);
  return s + "]";
}

std::string weft::renderHeader(const ModelDesc &d) {
  // The name prefixes every symbol and macro; compileModel checked it, and
  // tensor names only ever appear escaped inside the comment.
  assert(!checkModelName(d.name) && "unchecked model name");
  std::string out;
  llvm::raw_string_ostream os(out);
  std::string guard = "WEFT_MODEL_" + llvm::StringRef(d.name).upper() + "_H";
  const std::string &n = d.name;
  bool group = d.numDevices > 1;
  auto splitText = [&](const TensorDesc &t) -> std::string {
    if (!group)
      return "";
    if (t.splitAxis < 0)
      return d.microBatches > 1 ? ", whole in every micro-batch" : ", whole on every device";
    if (d.microBatches > 1)
      return ", cut on axis " + std::to_string(t.splitAxis) + " into " +
             std::to_string(d.microBatches) + " micro-batches";
    if (d.gridShape.size() > 1)
      return ", split on axis " + std::to_string(t.splitAxis) + " into " +
             std::to_string(d.gridShape[0]) + " parts (device r holds part r / " +
             std::to_string(d.numDevices / d.gridShape[0]) + ")";
    return ", split on axis " + std::to_string(t.splitAxis) + " into " +
           std::to_string(d.numDevices) + " parts (device r holds part r)";
  };
  std::string gridText;
  for (int64_t e : d.gridShape)
    gridText += (gridText.empty() ? "" : " x ") + std::to_string(e);
  os << "/* Generated by weftc: the compiled model '" << n << "'.\n"
     << " *\n"
     << " * Link the object with libweft_runtime. Create the model once on a\n"
     << (group ? " * device group, run it any number of times (run does not allocate), destroy it.\n"
               : " * device, run it any number of times (run does not allocate), destroy it.\n")
     << " * Tensors are dense row-major; shapes and dtypes are fixed"
     << (d.numExtents > 0 ? " (but see <=N below)" : "") << ":\n";
  for (auto [i, t] : llvm::enumerate(d.inputs))
    os << " *   input  " << i << " '" << escapeForCComment(t.name) << "': " << dtypeName(t.dtype) << " "
       << shapeString(t)
       << (t.value ? " (compiled for one value: pass exactly the --input-value tensor)" : "")
       << splitText(t) << "\n";
  for (auto [i, t] : llvm::enumerate(d.outputs))
    os << " *   output " << i << " '" << escapeForCComment(t.name) << "': " << dtypeName(t.dtype) << " "
       << shapeString(t) << splitText(t)
       << "\n";
  if (d.numExtents > 0)
    os << " * A dim written <=N is sized by each run, up to N: pass a buffer of the\n"
       << " * largest shape; after a run, weft_model_output_shape gives the run's shape,\n"
       << " * whose elements fill the start of the buffer, dense and row-major.\n";
  bool gpus = d.cuda && d.hostKernels.empty();
  if (group && gpus)
    os << " * Devices: " << d.numDevices << " GPUs (plan: " << d.parallelPlan
       << "), each running its part with an arena of its own; create the group\n"
       << " * with weft_cuda_device_group_create (num_devices " << d.numDevices
       << "; NCCL between the GPUs).\n";
  else if (group)
    os << " * Devices: " << d.numDevices << " (plan: " << d.parallelPlan
       << "), each running its part with an arena of its own; create the group\n"
       << " * with weft_cpu_device_group_create (num_devices " << d.numDevices << ") in one process"
       << (d.cuda ? ".\n"
                  : std::string(", or\n * weft_mpi_device_group_create under mpirun -np ") +
                        std::to_string(d.numDevices) + " (weft/runtime_mpi.h).\n");
  if (group && d.gridShape.size() > 1)
    os << " * Grid: the devices form a " << gridText
       << " grid (device r at the row-major coordinates of r); the\n"
       << " * collectives of each grid axis run among the devices that differ only along it.\n";
  if (group && d.microBatches > 0)
    os << " * Pipeline: device k runs stage k of " << d.numDevices << " on each of "
       << d.microBatches << " micro-batches in turn; " << d.transfers.size()
       << " values move between\n * the stages after each micro-batch.\n";
  if (d.cuda && !d.hostKernels.empty()) {
    os << " * CUDA kernels run on the CPU (weftc --target=cuda-on-cpu): "
       << d.kernelNames.size()
       << " kernels, one thread-pool\n"
       << " * workgroup per GPU thread, driven by the CUDA host code. Create the model on\n"
       << (group ? " * the CPU device group.\n" : " * a CPU device (weft_cpu_device_create).\n");
  } else if (d.cuda) {
    std::string chips;
    for (const auto &image : d.deviceImages)
      chips += (chips.empty() ? "" : ", ") + image.chip;
    os << " * CUDA: " << d.kernelNames.size() << " kernels, compiled for " << chips
       << " and embedded in the object. Create the\n"
       << (group ? " * group" : " * device") << " with "
       << (group ? "weft_cuda_device_group_create" : "weft_cuda_device_create")
       << " (it reports \"no CUDA device\" where there is\n"
       << " * none); create copies the weights to the GPU"
       << (group ? "s" : "") << " once, and a run copies host\n"
       << (group ? " * tensors in and out (each GPU its part).\n"
                 : " * tensors in and out (views marked WEFT_MEMORY_DEVICE stay on the GPU).\n");
  }
  os << " * Arena (intermediate tensors, allocated once by create): " << d.arenaSize
     << " bytes "
     << (group ? "on each device"
               : d.cuda && d.hostKernels.empty() ? "of GPU memory" : "on the CPU device")
     << ":\n"
     << " *   " << d.arenaTensors << " bytes of tensors (the most live at once: "
     << d.arenaLowerBound << "), " << d.arenaScratch << " bytes of workgroup scratch.\n"
     << " * Weights: " << d.weightBytes << " bytes in the object"
     << (gpus ? (group && d.weightPartOf.empty()
                     ? " (all of them copied to each GPU by create)"
                 : group ? "; each GPU holds " +
                               std::to_string(d.weightsSharedSize + d.weightPartSize) +
                               " of them (the " + std::to_string(d.weightsSharedSize) +
                               " bytes all GPUs read and its part of the rest), copied by "
                               "create"
                         : " (copied to the GPU by create)")
              : "")
     << (group && !gpus ? "; each device reads " + std::to_string(d.deviceWeightBytes) +
                              (d.cuda ? " of them (a copy of its own, as a GPU would)"
                                      : " of them (one copy per process)")
                        : "")
     << ".\n */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <weft/runtime.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#define " << llvm::StringRef(n).upper() << "_NUM_INPUTS " << d.inputs.size() << "\n"
     << "#define " << llvm::StringRef(n).upper() << "_NUM_OUTPUTS " << d.outputs.size() << "\n"
     << "#define " << llvm::StringRef(n).upper() << "_NUM_DEVICES " << d.numDevices << "\n"
     << "#define " << llvm::StringRef(n).upper() << "_ARENA_SIZE " << d.arenaSize << "ull\n"
     << "#define " << llvm::StringRef(n).upper() << "_ARENA_LOWER_BOUND " << d.arenaLowerBound
     << "ull\n"
     << "#define " << llvm::StringRef(n).upper() << "_WEIGHT_BYTES " << d.weightBytes
     << "ull\n"
     << "#define " << llvm::StringRef(n).upper() << "_DEVICE_WEIGHT_BYTES "
     << d.deviceWeightBytes << "ull\n"
     << "#define " << llvm::StringRef(n).upper() << "_MICRO_BATCHES "
     << std::max<int64_t>(d.microBatches, 1) << "\n\n"
     << "/* Static description: names, dtypes, shapes, arena size, entry. */\n"
     << "const weft_model_info_t *" << n << "_info(void);\n\n";
  std::string model = group ? "weft_group_model_t" : "weft_model_t";
  std::string api = group ? "weft_group_model" : "weft_model";
  if (group)
    os << "/* Allocates each device's arena with `allocator` (NULL: default); the\n"
       << " * group must have " << llvm::StringRef(n).upper() << "_NUM_DEVICES devices. */\n"
       << "static inline weft_status_t " << n << "_create(weft_device_group_t *group,\n";
  else
    os << "/* Allocates the arena with `allocator` (NULL: default). */\n"
       << "static inline weft_status_t " << n << "_create(weft_device_t *device,\n";
  os << "    const weft_allocator_t *allocator, " << model << " **out_model) {\n"
     << "  return " << api << "_create(" << n << "_info(), " << (group ? "group" : "device")
     << ", allocator, out_model);\n}\n\n"
     << (group ? "/* Checks every tensor's count, dtype and shape (whole tensors), then runs\n"
                 " * every device. Under MPI every rank calls it; ranks other than 0 pass\n"
                 " * NULL and 0. */\n"
               : "/* Checks every tensor's count, dtype and shape, then runs. */\n")
     << "static inline weft_status_t " << n << "_run(" << model << " *model,\n"
     << "    const weft_tensor_view_t *inputs, size_t num_inputs,\n"
     << "    const weft_tensor_view_t *outputs, size_t num_outputs) {\n"
     << "  return " << api << "_run(model, inputs, num_inputs, outputs, num_outputs);\n}\n\n"
     << "static inline void " << n << "_destroy(" << model << " *model) {\n"
     << "  " << api << "_destroy(model);\n}\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return out;
}
