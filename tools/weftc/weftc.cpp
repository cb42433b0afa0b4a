//===- weftc.cpp - the Weft compiler driver ------------------------------===//
//
// Thin command-line front end over weft::compileModel.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/InitAll.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "Calibrate.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <set>

using namespace llvm;

// Only weftc's own options appear in --help; --help-hidden also lists the
// MLIR and LLVM ones (--mlir-timing among them), which all still work.
static cl::OptionCategory weftcCategory("weftc options");

static cl::opt<std::string> inputPath(cl::Positional, cl::cat(weftcCategory), cl::desc("<model.onnx>"),
                                      cl::Optional);
static cl::opt<std::string> outputPath("o", cl::cat(weftcCategory), cl::desc("Output file ('-' for stdout)"),
                                       cl::value_desc("path"), cl::init(""));
static cl::opt<weft::EmitKind> emit(
    "emit", cl::cat(weftcCategory), cl::desc("What to produce"), cl::init(weft::EmitKind::Obj),
    cl::values(clEnumValN(weft::EmitKind::Weft, "weft", "weft dialect after graph passes"),
               clEnumValN(weft::EmitKind::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(weft::EmitKind::LLVM, "llvm", "optimized LLVM IR"),
               clEnumValN(weft::EmitKind::Asm, "asm", "assembly"),
               clEnumValN(weft::EmitKind::Obj, "obj", "object file + C header"),
               clEnumValN(weft::EmitKind::Lib, "lib", "shared library"),
               clEnumValN(weft::EmitKind::Ptx, "ptx", "PTX of the kernels (--target=cuda)")));
static cl::list<std::string> dims("dim", cl::cat(weftcCategory), cl::desc("Pin a symbolic dimension: name=value"),
                                  cl::value_desc("name=value"));
static cl::list<std::string> inputShapes(
    "input-shape", cl::cat(weftcCategory),
    cl::desc("Pin an input's shape: NAME=D0xD1x... (repeatable; the last '=' splits, so NAME may "
             "hold ':' or '='; NAME= is a scalar)"),
    cl::value_desc("name=shape"));
static cl::list<std::string> inputValues(
    "input-value", cl::cat(weftcCategory),
    cl::desc("Compile for one value of an input, read from a serialized ONNX TensorProto: "
             "NAME=FILE.pb (repeatable; the last '=' splits). The input stays in the ABI and a run "
             "with any other value fails"),
    cl::value_desc("name=file"));
static cl::opt<std::string> modelName("name", cl::cat(weftcCategory), cl::desc("C symbol prefix of the model"),
                                      cl::init(""));
static cl::opt<std::string> cpu("cpu", cl::cat(weftcCategory), cl::desc("Target CPU ('native' = this host)"),
                                cl::init("native"));
static cl::opt<std::string> target(
    "target", cl::cat(weftcCategory),
    cl::desc("Where the kernels run: cpu, or cuda (kernels for --cuda-arch, embedded in the "
             "object; the host code is for --cpu), or cuda-on-cpu (the CUDA backend's kernels "
             "run by the CPU thread pool, one workgroup per GPU thread: a check without a GPU)"),
    cl::init("cpu"));
static cl::list<std::string> cudaArch(
    "cuda-arch", cl::cat(weftcCategory), cl::CommaSeparated,
    cl::desc("CUDA architectures to compile the kernels for (sm_90 by default; several "
             "allowed: sm_80,sm_90)"),
    cl::value_desc("sm_XY"));
static cl::opt<bool> cudaTf32(
    "cuda-tf32", cl::cat(weftcCategory),
    cl::desc("Run large f32 matmuls on tensor cores in TF32 (sm_80 or newer): inputs rounded "
             "to 10-bit mantissas, sums in f32; faster, less exact. --target=cuda-on-cpu "
             "rounds the same way"),
    cl::init(false));
static cl::opt<bool> prefetchWeights(
    "prefetch-weights", cl::cat(weftcCategory),
    cl::desc("CPU: while a workgroup of a matmul or convolution computes, prefetch the "
             "filter slab of the next workgroup into L2 (on by default; "
             "--prefetch-weights=false turns it off)"),
    cl::init(true));
static cl::opt<bool> int8Kernels(
    "int8-kernels", cl::cat(weftcCategory),
    cl::desc("CPU: run a QDQ model's convolutions (uint8 activations, int8 weights) on 8-bit "
             "integer kernels; by default where the target has AVX-512 VNNI (without it they "
             "widen to 32-bit multiply-adds); --int8-kernels=false computes them on the "
             "dequantized f32 values"),
    cl::init(true));
static cl::opt<bool> cudaSplitK(
    "cuda-split-k", cl::cat(weftcCategory),
    cl::desc("Split the reduction of an f32 matmul or convolution that fills few GPU blocks "
             "(such as BERT-base's output projections at 128 tokens, ResNet-50's stage-4 "
             "convolutions at batch 1) into parts computed side by side and summed after "
             "(on by default for the CUDA targets)"),
    cl::init(true));
static cl::opt<bool> cudaTf32x3(
    "cuda-3xtf32", cl::cat(weftcCategory),
    cl::desc("Run large f32 matmuls on tensor cores as 3xTF32 (sm_80 or newer): each operand "
             "split into two TF32 parts and three products added, to about f32's precision. "
             "--target=cuda-on-cpu computes the same split"),
    cl::init(false));
static cl::opt<std::string> cudaToolkit(
    "cuda-toolkit", cl::cat(weftcCategory),
    cl::desc("The CUDA toolkit whose ptxas and fatbinary compile the kernels"),
    cl::init("/usr/local/cuda"));
static cl::opt<std::string> dumpIrDir("dump-ir-dir", cl::cat(weftcCategory), cl::desc("Write the IR after every pass here"),
                                      cl::init(""));
static cl::opt<weft::Sanitizer> sanitize(
    "sanitize", cl::cat(weftcCategory), cl::desc("Instrument the generated code (link the host with the same sanitizer)"),
    cl::init(weft::Sanitizer::None),
    cl::values(clEnumValN(weft::Sanitizer::None, "none", "no instrumentation"),
               clEnumValN(weft::Sanitizer::Address, "address", "AddressSanitizer"),
               clEnumValN(weft::Sanitizer::Thread, "thread", "ThreadSanitizer")));
static cl::opt<bool> memoryReport(
    "memory-report",
    cl::cat(weftcCategory), cl::desc("Print the arena's size, its tensors' lower bound and its scratch to stderr"),
    cl::init(false));
static cl::opt<bool> explainFusion(
    "explain-fusion", cl::cat(weftcCategory),
    cl::desc("Print every dispatch with the ONNX nodes it holds and why each neighbour "
             "stays apart, then the memory report (stderr)"),
    cl::init(false));
static cl::opt<int64_t> alignment(
    "alignment", cl::cat(weftcCategory),
    cl::desc("Byte alignment of the arena, its buffers, workgroup temporaries and weights "
             "(a power of two from 16 to 4096)"),
    cl::init(64));
static cl::opt<std::string> devices(
    "devices", cl::cat(weftcCategory),
    cl::desc("The devices the model runs on, as KIND:COUNT (cpu:N: N CPU devices, each with "
             "its own threads and arena, in one process or one per MPI rank; cuda:K: one GPU, "
             "cuda:0,cuda:1,...: that many GPUs joined by NCCL, as --target=cuda; which GPUs "
             "run it is chosen at run time)"),
    cl::init("cpu:1"));
static cl::opt<std::string> parallel(
    "parallel", cl::cat(weftcCategory),
    cl::desc("How several devices share the model: none, data (the batch split), tensor "
             "(weights split by columns and rows, Megatron-style), pipeline (the graph cut "
             "into one stage per device, micro-batches streaming through), data*tensor (a "
             "hybrid on a D x T grid: the batch cut into D parts, each part's work split "
             "across T devices as the tensor plan splits it; the grid chosen by the cost "
             "model), auto (the cheapest of these by the cost model; the default with "
             "several devices), or annotated (the model's ONNX multi-device annotations; the "
             "default when it has them)"),
    cl::init(""));
static cl::opt<std::string> calibrate(
    "calibrate", cl::cat(weftcCategory), cl::value_desc("file"),
    cl::desc("Measure this machine's rates for the parallel plans' cost model (small models "
             "compiled and timed on one thread, the in-process collectives) and write them "
             "to FILE; no model is compiled"),
    cl::init(""));
static cl::opt<std::string> costModel(
    "cost-model", cl::cat(weftcCategory), cl::value_desc("file"),
    cl::desc("Rates for the parallel plans' cost model, as --calibrate wrote them (default: "
             "constants fitted to the development machine)"),
    cl::init(""));
static cl::opt<int64_t> microBatches(
    "micro-batches", cl::cat(weftcCategory),
    cl::desc("Pipeline plan: cut the batch into this many micro-batches (a divisor of the "
             "batch; 0, the default, lets the cost model choose)"),
    cl::init(0));
static cl::opt<std::string> objective(
    "objective", cl::cat(weftcCategory),
    cl::desc("What --parallel=auto minimizes: latency or throughput"), cl::init("latency"));
static cl::opt<bool> explainParallel(
    "explain-parallel", cl::cat(weftcCategory),
    cl::desc("Print the parallel plan: each tensor's split, each device's share of the work "
             "and weights, what moves between devices (stderr)"),
    cl::init(false));
static cl::opt<int64_t> workgroups("max-workgroups",
                                   cl::cat(weftcCategory), cl::desc("Upper bound on workgroups per dispatch"),
                                   cl::init(32));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::HideUnrelatedOptions(weftcCategory);
  // What --cpu=native sizes the kernels for, beside LLVM's version.
  cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    weft::HostL1DataCache l1 = weft::hostL1DataCache();
    os << "weftc: host L1 data cache (--cpu=native): ";
    if (l1.bytes)
      os << l1.bytes << " bytes, ";
    else
      os << "size unknown (32768 bytes assumed), ";
    if (l1.ways)
      os << l1.ways << "-way\n";
    else
      os << "ways unknown (8 assumed)\n";
  });
  cl::ParseCommandLineOptions(argc, argv, "Weft ahead-of-time ONNX compiler\n");

  if (inputPath.empty() && calibrate.empty()) {
    errs() << "weftc: error: no input model (give <model.onnx>, or --calibrate=FILE)\n";
    return 2;
  }
  weft::CompileOptions options;
  options.inputPath = inputPath;
  options.emit = emit;
  options.cpu = cpu;
  options.dumpIrDir = dumpIrDir;
  options.modelName = modelName;
  options.targetWorkgroups = workgroups;
  options.sanitize = sanitize;
  options.memoryReport = memoryReport;
  options.explainFusion = explainFusion;
  options.alignment = alignment;
  {
    auto [kind, count] = StringRef(devices).split(':');
    std::string countText;
    int64_t n = 0;
    if (kind != "cpu" && kind != "cuda") {
      errs() << "weftc: error: --devices expects cpu:N, got '" << devices << "'\n";
      return 2;
    }
    if (kind == "cuda") {
      // cuda:K names one GPU, cuda:0,cuda:1,... several: the model is
      // compiled for that many GPUs; which ones run it is chosen when it is
      // run (weft-run --device).
      SmallVector<StringRef> names;
      StringRef(devices).split(names, ',');
      std::set<int64_t> seen;
      for (StringRef name : names) {
        int64_t ordinal = 0;
        if (!name.consume_front("cuda:") || name.getAsInteger(10, ordinal) || ordinal < 0 ||
            ordinal > 1023) {
          errs() << "weftc: error: --devices expects cuda:K or a list cuda:K,cuda:L,... with K "
                    "a GPU ordinal, got '"
                 << devices << "'\n";
          return 2;
        }
        if (!seen.insert(ordinal).second) {
          errs() << "weftc: error: --devices=" << devices << " names GPU " << ordinal
                 << " twice\n";
          return 2;
        }
      }
      if (target.getNumOccurrences() && target != "cuda") {
        errs() << "weftc: error: --devices=" << devices << " with --target=" << target << "\n";
        return 2;
      }
      target = "cuda";
      countText = std::to_string(names.size());
      count = countText;
    } else if (target == "cuda" && devices.getNumOccurrences()) {
      errs() << "weftc: error: --target=cuda with --devices=" << devices
             << ": give GPUs (cuda:0 or cuda:0,cuda:1,...)\n";
      return 2;
    }
    if (count.getAsInteger(10, n) || n < 1 || n > 1024) {
      errs() << "weftc: error: --devices expects cpu:N with N from 1 to 1024, got '" << devices
             << "'\n";
      return 2;
    }
    options.devices = n;
    options.devicesGiven = devices.getNumOccurrences() > 0;
    // Unset: the model's ONNX multi-device annotations when it has them,
    // else auto with several devices (weft::compileModel decides).
    std::string plan = parallel.getValue();
    if (plan.find('*') != std::string::npos && plan != "data*tensor") {
      errs() << "weftc: error: --parallel=" << plan
             << ": of the hybrid plans this compiler builds data*tensor only\n";
      return 2;
    }
    if (!plan.empty() && plan != "none" && plan != "data" && plan != "tensor" &&
        plan != "pipeline" && plan != "data*tensor" && plan != "auto" && plan != "annotated") {
      errs() << "weftc: error: --parallel expects none, data, tensor, pipeline, data*tensor, "
                "auto or annotated, got '"
             << plan << "'\n";
      return 2;
    }
    if (microBatches < 0 || microBatches > 4096) {
      errs() << "weftc: error: --micro-batches expects 0 (chosen by the cost model) to 4096, "
                "got "
             << microBatches << "\n";
      return 2;
    }
    if (microBatches > 0 && plan != "pipeline" && plan != "auto" && !plan.empty()) {
      errs() << "weftc: error: --micro-batches applies to --parallel=pipeline (or auto), not "
             << plan << "\n";
      return 2;
    }
    options.microBatches = microBatches;
    if (plan == "none" && n > 1) {
      errs() << "weftc: error: --devices=" << devices
             << " with --parallel=none: give a plan that splits the model (data or auto)\n";
      return 2;
    }
    options.parallel = plan;
    if (objective != "latency" && objective != "throughput") {
      errs() << "weftc: error: --objective expects latency or throughput, got '" << objective
             << "'\n";
      return 2;
    }
    options.objective = objective;
    options.explainParallel = explainParallel;
  }
  if (target != "cpu" && target != "cuda" && target != "cuda-on-cpu") {
    errs() << "weftc: error: --target expects cpu, cuda or cuda-on-cpu, got '" << target
           << "'\n";
    return 2;
  }
  options.target = target;
  if (!cudaArch.empty())
    options.cudaArchs.assign(cudaArch.begin(), cudaArch.end());
  options.cudaToolkit = cudaToolkit;
  options.cudaTf32 = cudaTf32;
  options.cudaTf32x3 = cudaTf32x3;
  options.cudaSplitReduction = cudaSplitK;
  options.prefetchWeights = prefetchWeights;
  if (int8Kernels.getNumOccurrences())
    options.integerKernels = int8Kernels;
  bool textual = emit == weft::EmitKind::Weft || emit == weft::EmitKind::Linalg ||
                 emit == weft::EmitKind::LLVM || emit == weft::EmitKind::Asm ||
                 emit == weft::EmitKind::Ptx;
  if (outputPath.empty()) {
    if (textual) {
      options.outputPath = "-";
    } else {
      SmallString<256> out(sys::path::filename(inputPath));
      sys::path::replace_extension(out, emit == weft::EmitKind::Lib ? ".so" : ".o");
      options.outputPath = std::string(out);
    }
  } else {
    options.outputPath = outputPath;
  }
  for (const std::string &d : dims) {
    auto [key, value] = StringRef(d).split('=');
    int64_t v;
    if (key.empty() || value.getAsInteger(10, v) || v <= 0) {
      errs() << "weftc: error: --dim expects name=positive-integer, got '" << d << "'\n";
      return 2;
    }
    options.import.dims[key] = v;
  }
  for (const std::string &spec : inputShapes) {
    size_t eq = spec.rfind('=');
    StringRef name = eq == std::string::npos ? StringRef() : StringRef(spec).take_front(eq);
    StringRef dimsText = eq == std::string::npos ? StringRef() : StringRef(spec).drop_front(eq + 1);
    SmallVector<int64_t> shape;
    bool ok = !name.empty();
    if (ok && !dimsText.empty()) {
      SmallVector<StringRef> parts;
      dimsText.split(parts, 'x');
      for (StringRef part : parts) {
        int64_t v;
        if (part.getAsInteger(10, v) || v < 0) {
          ok = false;
          break;
        }
        shape.push_back(v);
      }
    }
    if (!ok) {
      errs() << "weftc: error: --input-shape expects NAME=D0xD1x... with sizes >= 0, got '" << spec
             << "'\n";
      return 2;
    }
    if (!options.import.inputShapes.try_emplace(name, shape).second) {
      errs() << "weftc: error: --input-shape gives input '" << name << "' twice\n";
      return 2;
    }
  }
  for (const std::string &spec : inputValues) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      errs() << "weftc: error: --input-value expects NAME=FILE, got '" << spec << "'\n";
      return 2;
    }
    StringRef name = StringRef(spec).take_front(eq);
    if (options.import.inputShapes.count(name)) {
      errs() << "weftc: error: input '" << name
             << "' has both --input-shape and --input-value (the value gives the shape)\n";
      return 2;
    }
    if (!options.import.inputValues.try_emplace(name, spec.substr(eq + 1)).second) {
      errs() << "weftc: error: --input-value gives input '" << name << "' twice\n";
      return 2;
    }
  }
  if (!costModel.empty()) {
    std::string error;
    if (mlir::failed(weft::readCostModel(costModel, options.costModel, error))) {
      errs() << "weftc: error: " << error << "\n";
      return 2;
    }
  }
  // The runtime library sits in ../lib next to bin/weftc in the build tree.
  std::string exe = sys::fs::getMainExecutable(argv[0], (void *)&main);
  SmallString<256> libDir(sys::path::parent_path(sys::path::parent_path(exe)));
  sys::path::append(libDir, "lib");
  options.runtimeLibDir = std::string(libDir);

  mlir::DialectRegistry registry;
  weft::registerAllDialects(registry);
  weft::registerAllPasses();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  if (!calibrate.empty())
    return weft::runCalibration(context, options, calibrate);
  if (mlir::failed(weft::compileModel(context, options)))
    return 1;
  return 0;
}
