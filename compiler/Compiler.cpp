//===- Compiler.cpp - the weftc flow -------------------------------------===//
//
// import -> graph passes -> weft-lower-to-linalg -> CPU codegen -> LLVM IR ->
// object code through an in-process TargetMachine. Each --emit stops at its
// stage. Shared libraries are linked by the system compiler driver.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"

#include "codegen/cpu/Passes.h"
#include "compiler/ModelInfo.h"
#include "dialects/weft/IR/WeftNames.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Instrumentation/AddressSanitizer.h"
#include "llvm/Transforms/Instrumentation/ThreadSanitizer.h"

#include <climits>

using namespace mlir;
using namespace weft;

namespace {

LogicalResult fail(MLIRContext &ctx, const llvm::Twine &msg) {
  emitError(UnknownLoc::get(&ctx), msg);
  return failure();
}

LogicalResult writeText(MLIRContext &ctx, StringRef path, StringRef text) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail(ctx, "cannot open '" + path + "': " + ec.message());
  out.os() << text;
  out.keep();
  return success();
}

LogicalResult printModule(MLIRContext &ctx, ModuleOp module, StringRef path) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, OpPrintingFlags().elideLargeElementsAttrs(16));
  if (path == "-") {
    llvm::outs() << text;
    return success();
  }
  return writeText(ctx, path, text);
}

LogicalResult runStage(ModuleOp module, const CompileOptions &o, StringRef stage,
                       llvm::function_ref<void(PassManager &)> build) {
  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  // --mlir-timing reports each stage's passes.
  applyDefaultTimingPassManagerCLOptions(pm);
  if (!o.dumpIrDir.empty()) {
    module.getContext()->disableMultithreading();
    // A pass on one function prints that function: printing the whole
    // module after every pass on every dispatch grows as dispatches x
    // passes x module (tens of GB for BERT-base).
    pm.enableIRPrintingToFileTree(
        [](Pass *, Operation *) { return false; },
        [](Pass *, Operation *) { return true; },
        /*printModuleScope=*/false, /*printAfterOnlyOnChange=*/false,
        /*printAfterOnlyOnFailure=*/false, (o.dumpIrDir + "/" + stage).str(),
        OpPrintingFlags().elideLargeElementsAttrs(16));
  }
  build(pm);
  return pm.run(module);
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(MLIRContext &ctx,
                                                         const CompileOptions &o,
                                                         llvm::Triple &triple) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  triple = llvm::Triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    (void)fail(ctx, "no LLVM target for " + triple.str() + ": " + error);
    return nullptr;
  }
  std::string cpu = o.cpu == "native" ? llvm::sys::getHostCPUName().str() : o.cpu;
  if (o.cpu != "native") {
    // LLVM only warns about an unknown CPU and then targets a generic one.
    // (Asked of a generic subtarget, so LLVM prints no warning of its own.)
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
    if (!sti || !sti->isCPUStringValid(cpu)) {
      (void)fail(ctx, "unknown --cpu '" + escapeForCComment(cpu) + "' for " + triple.str() +
                          " (use 'native' or an LLVM CPU name such as x86-64-v3, "
                          "skylake-avx512, znver3)");
      return nullptr;
    }
  }
  std::string features;
  if (o.cpu == "native") {
    llvm::SmallVector<std::string> list;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.second ? "+" : "-") + f.first().str());
    features = llvm::join(list, ",");
  }
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
}

/// `name` of the host's level-1 data cache (sysfs's cpu0/cache/indexN),
/// empty when it cannot be read.
std::string hostL1Data(const char *name) {
  for (int index = 0; index < 8; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    // Read as a stream: sysfs reports every file as 4096 bytes long,
    // which a sized read of the whole file does not get.
    auto read = [&](const std::string &file) -> std::string {
      auto buf = llvm::MemoryBuffer::getFileAsStream(dir + file);
      return buf ? (*buf)->getBuffer().trim().str() : std::string();
    };
    if (read("level") == "1" && read("type") == "Data")
      return read(name);
  }
  return std::string();
}

/// The host's level-1 data cache associativity; 0 when it cannot be read.
int64_t hostL1DataWays() {
  int64_t ways = 0;
  if (llvm::StringRef(hostL1Data("ways_of_associativity")).getAsInteger(10, ways) || ways <= 0)
    return 0;
  return ways;
}

/// The host's level-1 data cache per core, from Linux's sysfs; 0 when it
/// cannot be read.
int64_t hostL1DataBytes() {
  std::string sizeText = hostL1Data("size");
  llvm::StringRef size = sizeText;
  int64_t scale = 1;
  if (size.consume_back("K"))
    scale = 1024;
  else if (size.consume_back("M"))
    scale = 1024 * 1024;
  int64_t v = 0;
  if (size.empty() || size.getAsInteger(10, v) || v <= 0)
    return 0;
  return v * scale;
}

} // namespace

weft::HostL1DataCache weft::hostL1DataCache() {
  return {hostL1DataBytes(), hostL1DataWays()};
}

void weft::describeTarget(llvm::TargetMachine &tm, bool native, cpu::CpuPipelineOptions &o) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  const llvm::Triple &triple = tm.getTargetTriple();
  if (triple.isX86()) {
    o.vnni = sti->checkFeatures("+avx512vnni,+avx512bw,+avx512vl");
    if (sti->checkFeatures("+avx512f")) {
      o.vectorWidth = 16;
      o.vectorRegisters = 32;
    } else if (sti->checkFeatures("+avx")) {
      o.vectorWidth = 8;
      o.vectorRegisters = 16;
    } else {
      o.vectorWidth = 4;
      o.vectorRegisters = 16;
    }
  } else if (triple.isAArch64()) {
    o.vectorWidth = 4;
    o.vectorRegisters = 32;
  } else {
    o.vectorWidth = 4;
    o.vectorRegisters = 16;
  }
  o.l1Bytes = 32 * 1024;
  o.l1Ways = 8;
  if (native) {
    if (int64_t l1 = hostL1DataBytes())
      o.l1Bytes = l1;
    // Between 4 and 32 ways, the range the tile choice was reasoned for.
    if (int64_t ways = hostL1DataWays())
      o.l1Ways = std::clamp<int64_t>(ways, 4, 32);
  }
}

namespace {

/// The XY of a CUDA architecture's name sm_XY[a|f]; UINT_MAX for a name
/// that is not one (the kernels' outlining refuses those, naming them).
unsigned chipVersion(llvm::StringRef chip) {
  unsigned version = 0;
  if (!chip.consume_front("sm_") || chip.take_while(llvm::isDigit).getAsInteger(10, version))
    return UINT_MAX;
  return version;
}

// LLVM narrows an f32 to bf16 by calling __truncsfbf2 on CPUs without bf16
// conversions, for bf16 values it keeps in registers across blocks (a
// reduction's accumulator) even after weft-cpu-expand-bf16 has made every
// conversion integer arithmetic. Neither the runtime nor every libgcc
// provides it, so each object carries its own: weak and hidden, so that
// several models link into one program. Round to nearest even; a NaN stays
// a quiet NaN.
void defineTruncSFBF2(llvm::Module &m) {
  llvm::LLVMContext &c = m.getContext();
  auto *type = llvm::FunctionType::get(llvm::Type::getBFloatTy(c), {llvm::Type::getFloatTy(c)},
                                       false);
  llvm::Function *f = llvm::Function::Create(type, llvm::GlobalValue::WeakAnyLinkage,
                                             "__truncsfbf2", m);
  if (f->getName() != "__truncsfbf2") { // the name was taken
    f->eraseFromParent();
    return;
  }
  f->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(c, "entry", f));
  llvm::Type *i32 = b.getInt32Ty();
  llvm::Value *bits = b.CreateBitCast(f->getArg(0), i32);
  llvm::Value *magnitude = b.CreateAnd(bits, 0x7fffffff);
  llvm::Value *isNaN = b.CreateICmpUGT(magnitude, llvm::ConstantInt::get(i32, 0x7f800000));
  llvm::Value *odd = b.CreateAnd(b.CreateLShr(bits, 16), 1);
  llvm::Value *rounded = b.CreateLShr(b.CreateAdd(bits, b.CreateAdd(odd, b.getInt32(0x7fff))), 16);
  llvm::Value *quiet = b.CreateOr(b.CreateLShr(bits, 16), 0x40);
  llvm::Value *half = b.CreateTrunc(b.CreateSelect(isNaN, quiet, rounded), b.getInt16Ty());
  b.CreateRet(b.CreateBitCast(half, llvm::Type::getBFloatTy(c)));
}

void optimize(llvm::Module &m, llvm::TargetMachine *tm, Sanitizer sanitize) {
  // The sanitizer passes only instrument functions that ask for it.
  for (llvm::Function &f : m)
    if (!f.isDeclaration()) {
      if (sanitize == Sanitizer::Address)
        f.addFnAttr(llvm::Attribute::SanitizeAddress);
      else if (sanitize == Sanitizer::Thread)
        f.addFnAttr(llvm::Attribute::SanitizeThread);
    }
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  if (sanitize != Sanitizer::None)
    pb.registerOptimizerLastEPCallback(
        [sanitize](llvm::ModulePassManager &mpm, llvm::OptimizationLevel,
                   llvm::ThinOrFullLTOPhase) {
          if (sanitize == Sanitizer::Address) {
            mpm.addPass(llvm::AddressSanitizerPass(llvm::AddressSanitizerOptions{}));
          } else {
            mpm.addPass(llvm::ModuleThreadSanitizerPass());
            mpm.addPass(llvm::createModuleToFunctionPassAdaptor(llvm::ThreadSanitizerPass()));
          }
        });
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

LogicalResult emitMachineCode(MLIRContext &ctx, llvm::Module &m, llvm::TargetMachine *tm,
                              StringRef path, bool assembly) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec,
                           assembly ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
  if (ec)
    return fail(ctx, "cannot open '" + path + "': " + ec.message());
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out.os(), nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile))
    return fail(ctx, "the target cannot emit this file type");
  pm.run(m);
  out.keep();
  return success();
}

LogicalResult linkSharedLibrary(MLIRContext &ctx, const CompileOptions &o,
                                StringRef object) {
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return fail(ctx, "--emit=lib needs a system C compiler driver ('cc') to link");
  std::vector<std::string> args = {*cc, "-shared", "-o", o.outputPath, object.str()};
  if (!o.runtimeLibDir.empty()) {
    args.push_back("-L" + o.runtimeLibDir);
    args.push_back("-Wl,-rpath," + o.runtimeLibDir);
  }
  args.push_back("-lweft_runtime");
  args.push_back("-lm");
  std::vector<llvm::StringRef> refs(args.begin(), args.end());
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*cc, refs, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return fail(ctx, "linking '" + o.outputPath + "' failed (exit " + std::to_string(rc) +
                         ") " + error);
  return success();
}

/// True when `a` and `b` name the same existing file, or the same path.
bool sameFile(StringRef a, StringRef b) {
  if (a == b)
    return true;
  bool same = false;
  return !llvm::sys::fs::equivalent(a, b, same) && same;
}

/// Refuses output paths that would destroy the model or each other before
/// any work is done.
LogicalResult checkOutputPaths(MLIRContext &ctx, const CompileOptions &o) {
  bool binary = o.emit == EmitKind::Obj || o.emit == EmitKind::Lib;
  if (o.outputPath == "-") {
    if (binary)
      return fail(ctx, "cannot write an object file or a shared library to standard "
                       "output; give -o a file name");
    return success();
  }
  if (o.outputPath.empty())
    return fail(ctx, "no output file given");
  if (sameFile(o.outputPath, o.inputPath))
    return fail(ctx, "the output file '" + o.outputPath + "' is the input model");
  if (o.emit == EmitKind::Obj) {
    std::string header = headerPathFor(o.outputPath);
    if (sameFile(header, o.outputPath))
      return fail(ctx, "the object file '" + o.outputPath +
                           "' would be overwritten by its own header; give the object "
                           "another extension (e.g. .o)");
    if (sameFile(header, o.inputPath))
      return fail(ctx, "the header '" + header + "' would overwrite the input model");
  }
  return success();
}

} // namespace

std::string weft::headerPathFor(StringRef objectPath) {
  llvm::SmallString<256> header(objectPath);
  llvm::sys::path::replace_extension(header, ".h");
  return std::string(header);
}

/// --explain-fusion: each dispatch of the entry function, in program order,
/// with the ONNX nodes it holds, where its results live in the arena, and
/// why each neighbouring dispatch stays apart (recorded by
/// weft-form-dispatches, removed here so later stages never see them).
static void printFusion(ModuleOp module) {
  llvm::raw_ostream &os = llvm::errs();
  for (auto func : module.getOps<func::FuncOp>()) {
    int64_t index = 0, count = 0;
    func.walk([&](DispatchOp) { ++count; });
    os << "fusion: " << count << " dispatches in @" << func.getName() << "\n";
    func.walk([&](DispatchOp d) {
      os << func.getName() << "_dispatch_" << index++ << ":";
      if (auto nodes = d->getAttrOfType<ArrayAttr>("weft.fusion_nodes"))
        for (auto [i, n] : llvm::enumerate(nodes.getAsRange<StringAttr>()))
          os << (i ? ", " : " ") << n.getValue();
      os << "\n";
      auto offsets = d->getAttrOfType<DenseI64ArrayAttr>(kResultOffsetsAttr);
      auto layouts = d->getAttrOfType<ArrayAttr>(kResultLayoutsAttr);
      for (auto [i, r] : llvm::enumerate(d.getResults())) {
        os << "  result " << i << ": " << r.getType();
        if (offsets && (int64_t)i < offsets.size() && offsets[i] >= 0)
          os << " at arena offset " << offsets[i];
        else
          os << " in a model output";
        if (layouts && i < layouts.size() && isa<StridedLayoutAttr>(layouts[i]))
          os << ", written inside the padded buffer that reads it";
        os << "\n";
      }
      if (d->hasAttr(kPadInPlaceAttr))
        os << "  in place: writes only the border; its input was written inside it\n";
      if (auto apart = d->getAttrOfType<ArrayAttr>("weft.fusion_apart"))
        for (auto why : apart.getAsRange<StringAttr>())
          os << "  apart: " << why.getValue() << "\n";
      d->removeAttr("weft.fusion_nodes");
      d->removeAttr("weft.fusion_apart");
    });
  }
}

static LogicalResult compileImported(MLIRContext &ctx, const CompileOptions &o, ModuleOp module,
                                     const std::string &name);

/// --emit=ptx: the PTX of every target chip, each after a comment naming it.
static LogicalResult printKernelAssembly(MLIRContext &ctx, ModuleOp module, StringRef path) {
  std::string text;
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      std::string chip = "?";
      if (auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()))
        chip = target.getChip().str();
      text += "// weftc: kernels of '" + binary.getName().str() + "' for " + chip + "\n";
      text += object.getObject().getValue().str();
    }
  if (text.empty())
    text = "// weftc: the model has no kernels\n";
  if (path == "-") {
    llvm::outs() << text;
    return success();
  }
  return writeText(ctx, path, text);
}

/// Whether the CPU that code is compiled for has AVX-512 VNNI, the 8-bit
/// dot products the integer convolution kernels use.
static bool targetHasVnni(const CompileOptions &o) {
  if (o.cpu == "native") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    return features.lookup("avx512vnni") && features.lookup("avx512bw") &&
           features.lookup("avx512vl");
  }
  llvm::InitializeNativeTarget();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (!sti || !sti->isCPUStringValid(o.cpu))
    return false; // the target machine reports the unknown CPU
  sti.reset(target->createMCSubtargetInfo(triple, o.cpu, ""));
  return sti && sti->checkFeatures("+avx512vnni,+avx512bw,+avx512vl");
}

LogicalResult weft::compileModel(MLIRContext &ctx, const CompileOptions &o) {
  if (failed(checkOutputPaths(ctx, o)))
    return failure();
  std::string name = o.modelName;
  if (name.empty())
    name = modelNameFromPath(o.outputPath == "-" ? o.inputPath : o.outputPath);
  else if (auto why = checkModelName(name))
    return fail(ctx, "invalid model name '" + escapeForCComment(name) + "': " + *why);
  // Every emitted symbol starts with the model name, so several models link
  // into one program.
  if (o.integerKernels.value_or(false) && (o.target != "cpu" || o.devices != 1))
    return fail(ctx, "--int8-kernels needs --target=cpu and one device (the integer kernels "
                     "are the CPU's, and the partitioner splits float convolutions only)");
  ImportOptions importOptions = o.import;
  importOptions.entryName = name;
  // Integer convolutions on one CPU device (the partitioner splits float
  // convolutions only).
  importOptions.integerConvolutions =
      o.target == "cpu" && o.devices == 1 && o.integerKernels.value_or(targetHasVnni(o));
  auto imported = importOnnxFile(ctx, o.inputPath, importOptions);
  if (failed(imported))
    return failure();
  ModuleOp module = imported->get();
  // Resolve the parallel plan: the model's annotations (which also give the
  // device count) or the command line's.
  CompileOptions resolved = o;
  {
    auto annotations = module->getAttrOfType<DictionaryAttr>("weft.device_annotations");
    std::string &plan = resolved.parallel;
    if (plan.empty())
      plan = annotations ? "annotated" : (o.devices > 1 ? "auto" : "none");
    if (plan == "annotated") {
      if (!annotations)
        return fail(ctx, "--parallel=annotated: the model carries no ONNX multi-device "
                         "annotations");
      auto configs = annotations.getAs<ArrayAttr>("configurations");
      auto first = cast<DictionaryAttr>(configs[0]);
      int64_t n = first.getAs<IntegerAttr>("num_devices").getInt();
      if (o.devicesGiven && o.devices != n)
        return fail(ctx, "the model's multi-device configuration '" +
                             first.getAs<StringAttr>("name").str() + "' is for " +
                             std::to_string(n) + " devices, but --devices asks for " +
                             std::to_string(o.devices) +
                             " (give --parallel=data|tensor|auto to plan for another count)");
      resolved.devices = n;
    }
    if (plan == "none" && resolved.devices > 1)
      return fail(ctx, "--devices=cpu:" + std::to_string(resolved.devices) +
                           " with --parallel=none: give a plan that splits the model (data, "
                           "tensor or auto)");
  }
  if (resolved.devices > 1 && importOptions.integerConvolutions) {
    // The model's annotations split it: import it again with float
    // convolutions.
    importOptions.integerConvolutions = false;
    imported = importOnnxFile(ctx, o.inputPath, importOptions);
    if (failed(imported))
      return failure();
    module = imported->get();
  }
  return compileImported(ctx, resolved, module, name);
}

/// The flow after import, with the parallel plan resolved.
static LogicalResult compileImported(MLIRContext &ctx, const CompileOptions &o, ModuleOp module,
                                     const std::string &name) {
  // Outputs sized at run time come back through the one-device CPU entry.
  bool runTimeSizes = false;
  module.walk([&](func::FuncOp f) { runTimeSizes |= f->hasAttr("weft.num_extents"); });
  if (runTimeSizes && (o.target != "cpu" || o.devices > 1))
    return fail(ctx, "the model has outputs whose sizes the run decides (NonZero, Compress, "
                     "NonMaxSuppression, Unique); they are supported on one CPU device only, not " +
                         (o.target != "cpu" ? "with --target=" + o.target
                                            : "on " + std::to_string(o.devices) + " devices"));
  if (!o.dumpIrDir.empty()) {
    llvm::sys::fs::create_directories(o.dumpIrDir);
    if (failed(printModule(ctx, module, o.dumpIrDir + "/0-import.mlir")))
      return failure();
  }

  // The target decides the kernels' vector width and register tiles, so it
  // is known before the graph passes (filter blocks are sized for it).
  llvm::Triple triple;
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(ctx, o, triple);
  if (!tm)
    return failure();
  cpu::CpuPipelineOptions cpuOptions;
  describeTarget(*tm, o.cpu == "native", cpuOptions);
  cpuOptions.modelName = name;
  cpuOptions.targetWorkgroups = o.targetWorkgroups;
  cpuOptions.prefetchWeights = o.prefetchWeights;
  if (o.alignment < 16 || o.alignment > 4096 || !llvm::isPowerOf2_64(o.alignment))
    return fail(ctx, "invalid --alignment " + std::to_string(o.alignment) +
                         ": it must be a power of two from 16 to 4096");
  cpuOptions.alignment = o.alignment;

  bool cuda = o.target == "cuda";
  // The CUDA backend's kernels run on the CPU thread pool (a check).
  bool cudaOnCpu = o.target == "cuda-on-cpu";
  if (o.target != "cpu" && !cuda && !cudaOnCpu)
    return fail(ctx, "unknown target '" + escapeForCComment(o.target) +
                         "' (cpu, cuda or cuda-on-cpu)");
  if (!cuda && o.emit == EmitKind::Ptx)
    return fail(ctx, "--emit=ptx needs --target=cuda");
  if (o.cudaTf32 && o.cudaTf32x3)
    return fail(ctx, "--cuda-tf32 and --cuda-3xtf32 exclude each other");
  for (auto [on, flag] : {std::pair(o.cudaTf32, "--cuda-tf32"),
                          std::pair(o.cudaTf32x3, "--cuda-3xtf32")}) {
    if (!on)
      continue;
    if (!cuda && !cudaOnCpu)
      return fail(ctx, std::string(flag) + " needs --target=cuda or --target=cuda-on-cpu");
    if (cuda)
      for (const std::string &chip : o.cudaArchs)
        if (chipVersion(chip) < 80)
          return fail(ctx, std::string(flag) + " needs sm_80 or newer, but --cuda-arch has " +
                               escapeForCComment(chip));
  }
  if (o.explainParallel && o.devices == 1 && o.parallel != "annotated")
    llvm::errs() << "parallel: one device, nothing to split\n";
  if (failed(runStage(module, o, "1-graph", [&](PassManager &pm) {
        pm.addPass(createCanonicalizerPass());
        // A run-time loop's body keeps only what depends on its iteration.
        pm.addPass(createLoopInvariantCodeMotionPass());
        // A GPU's matrix-vector products (A of fewer than 16 rows) read a
        // Linear layer's weights as given, [N, K]: each output's warp
        // reads neighbouring k.
        DecomposeOptions decompose;
        if (cuda || cudaOnCpu)
          decompose.pretransposeMinRows = 16;
        // The CPU's contraction kernels are f32 ones; a GPU's f16 matmuls
        // run on tensor cores instead.
        decompose.widenHalfContractions = !cuda && !cudaOnCpu;
        // A GPU thread computes one pooled output, reading the unpadded
        // input: no padded copy of it in the arena and no kernel to make it.
        decompose.poolPadsApart = !cuda && !cudaOnCpu;
        // The CPU's row reductions are vectorized; a whole-tensor one is
        // reduced as the row it is in memory (on one device: the
        // partitioner's rules split reductions over the axes they keep).
        decompose.flattenFullReductions = !cuda && !cudaOnCpu && o.devices == 1;
        pm.addNestedPass<func::FuncOp>(createDecompose(decompose));
        // A GPU's matmul of few blocks and a long reduction: parts of the
        // reduction side by side, summed after.
        if ((cuda || cudaOnCpu) && o.cudaSplitReduction)
          pm.addNestedPass<func::FuncOp>(createSplitReduction());
        pm.addPass(createCanonicalizerPass());
        // Filters blocked by the CPU kernels' register tile width (two
        // vectors). A GPU thread computes one element of the plain layout.
        if (!cuda && !cudaOnCpu) {
          ConvertLayoutOptions layout;
          layout.filterBlock = 2 * cpuOptions.vectorWidth;
          pm.addNestedPass<func::FuncOp>(createConvertLayout(layout));
        }
        pm.addPass(createCanonicalizerPass());
        pm.addPass(createCSEPass());
        if (o.devices > 1 || o.parallel == "annotated") {
          // Each device's program: the rest of the flow sees its parts.
          PartitionOptions partition;
          partition.devices = o.devices;
          partition.plan = o.parallel;
          partition.objective = o.objective;
          partition.microBatches = o.microBatches;
          o.costModel.toOptions(partition);
          partition.explain = o.explainParallel;
          pm.addPass(createPartition(partition));
          pm.addPass(createCanonicalizerPass());
        }
        FormDispatchesOptions dispatches;
        dispatches.explainFusion = o.explainFusion;
        dispatches.batchRowEpilogues = cuda || cudaOnCpu;
        dispatches.normsTakeProducers = cuda || cudaOnCpu;
        dispatches.elementwiseDags = true;
        dispatches.padsIntoConvs = cuda || cudaOnCpu;
        dispatches.transposesInChains = cuda || cudaOnCpu;
        dispatches.slicesInChains = cuda || cudaOnCpu;
        dispatches.matmulsTakeViews = cuda || cudaOnCpu;
        pm.addNestedPass<func::FuncOp>(createFormDispatches(dispatches));
        // The CPU kernels write a padded convolution's input inside its
        // padding (a GPU convolution reads the unpadded image instead).
        if (!cuda && !cudaOnCpu)
          pm.addNestedPass<func::FuncOp>(createPadInPlace());
        PlanMemoryOptions memory;
        memory.alignment = o.alignment;
        pm.addNestedPass<func::FuncOp>(createPlanMemory(memory));
      })))
    return failure();
  if (o.explainFusion)
    printFusion(module);
  if (o.emit == EmitKind::Weft)
    return printModule(ctx, module, o.outputPath);

  if (failed(runStage(module, o, "2-linalg", [](PassManager &pm) {
        pm.addPass(cpu::createLowerToLinalg());
        pm.addPass(createCanonicalizerPass());
        pm.addPass(createCSEPass());
      })))
    return failure();
  if (o.emit == EmitKind::Linalg)
    return printModule(ctx, module, o.outputPath);

  cuda::CudaPipelineOptions cudaOptions;
  cudaOptions.modelName = name;
  cudaOptions.chips = o.cudaArchs;
  cudaOptions.toolkitPath = o.cudaToolkit;
  cudaOptions.alignment = o.alignment;
  cudaOptions.tf32 = o.cudaTf32;
  cudaOptions.tf32x3 = o.cudaTf32x3;
  // f16 tensor cores (WMMA) from sm_70 on, bf16 ones (mma.sync) and
  // cp.async from sm_80 on: none where a chip predates them.
  if (cuda)
    for (const std::string &chip : o.cudaArchs) {
      if (chipVersion(chip) < 70)
        cudaOptions.f16Mma = false;
      if (chipVersion(chip) < 80) {
        cudaOptions.bf16Mma = false;
        cudaOptions.asyncCopies = false;
      }
    }
  if (o.emit == EmitKind::Ptx)
    cudaOptions.format = "isa";
  if (cuda) {
    for (const char *tool : {"ptxas", "fatbinary"}) {
      llvm::SmallString<256> path(o.cudaToolkit);
      llvm::sys::path::append(path, "bin", tool);
      if (!llvm::sys::fs::can_execute(path))
        return fail(ctx, "--target=cuda needs the CUDA toolkit's " + std::string(tool) +
                             ", not found at " + std::string(path) +
                             " (give --cuda-toolkit=DIR)");
    }
  }
  if (failed(runStage(module, o, "3-codegen", [&](PassManager &pm) {
        if (cuda)
          cuda::buildCudaCodegenPipeline(pm, cudaOptions);
        else if (cudaOnCpu)
          cuda::buildThreadStrategyOnCpuPipeline(pm, cudaOptions);
        else
          cpu::buildCpuCodegenPipeline(pm, cpuOptions);
      })))
    return failure();
  if (o.emit == EmitKind::Ptx)
    return printKernelAssembly(ctx, module, o.outputPath);

  FailureOr<ModelDesc> desc = describeModel(module);
  if (failed(desc))
    return failure();
  desc->arenaAlignment = o.alignment;
  if (o.memoryReport || o.explainFusion) {
    double ratio = desc->arenaLowerBound
                       ? (double)desc->arenaTensors / (double)desc->arenaLowerBound
                       : 1.0;
    llvm::errs() << llvm::formatv(
        "memory: arena {0} bytes = {1} bytes of tensors (lower bound {2}, {3:F3}x) + "
        "{4} bytes of workgroup scratch\n",
        desc->arenaSize, desc->arenaTensors, desc->arenaLowerBound, ratio,
        desc->arenaSize - desc->arenaTensors);
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext, name);
  if (!llvmModule)
    return fail(ctx, "translation to LLVM IR failed");
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  emitModelInfo(*llvmModule, *desc, o.emit == EmitKind::Lib);
  defineTruncSFBF2(*llvmModule);
  optimize(*llvmModule, tm.get(), o.sanitize);
  if (!o.dumpIrDir.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    if (failed(writeText(ctx, o.dumpIrDir + "/4-llvm.ll", text)))
      return failure();
  }

  switch (o.emit) {
  case EmitKind::LLVM: {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    if (o.outputPath == "-") {
      llvm::outs() << text;
      return success();
    }
    return writeText(ctx, o.outputPath, text);
  }
  case EmitKind::Asm:
    return emitMachineCode(ctx, *llvmModule, tm.get(), o.outputPath, true);
  case EmitKind::Obj: {
    if (failed(emitMachineCode(ctx, *llvmModule, tm.get(), o.outputPath, false)))
      return failure();
    return writeText(ctx, headerPathFor(o.outputPath), renderHeader(*desc));
  }
  case EmitKind::Lib: {
    llvm::SmallString<256> tmp;
    if (auto ec = llvm::sys::fs::createTemporaryFile("weft-" + name, "o", tmp))
      return fail(ctx, "cannot create a temporary object file: " + ec.message());
    llvm::FileRemover remover(tmp);
    if (failed(emitMachineCode(ctx, *llvmModule, tm.get(), tmp, false)))
      return failure();
    return linkSharedLibrary(ctx, o, tmp);
  }
  default:
    return success();
  }
}
