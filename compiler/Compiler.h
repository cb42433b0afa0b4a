//===- Compiler.h - the weftc pipeline as a library --------------*- C++ -*-===//
//
// Everything weftc does, callable from C++: import, graph passes, codegen,
// and output of IR, object code, a shared library and the C header. Errors
// are MLIR diagnostics; nothing here exits the process.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_COMPILER_H
#define WEFT_COMPILER_COMPILER_H

#include "codegen/cpu/Passes.h"
#include "codegen/cuda/Passes.h"
#include "compiler/import/OnnxImporter.h"
#include "passes/CostModel.h"
#include "mlir/IR/MLIRContext.h"

#include <optional>
#include <string>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace weft {

enum class EmitKind { Weft, Linalg, LLVM, Asm, Obj, Lib, Ptx };

/// Instrumentation of the generated model code (for sanitizer builds of the
/// application: the host must link the matching sanitizer runtime).
enum class Sanitizer { None, Address, Thread };

struct CompileOptions {
  std::string inputPath;
  std::string outputPath; ///< "-" prints text output to stdout
  EmitKind emit = EmitKind::Obj;
  ImportOptions import;
  std::string modelName;   ///< C prefix (checkModelName); from outputPath if empty
  std::string cpu = "native"; ///< the host CPU (for a CUDA model: its host code)
  /// Where the kernels run: "cpu" or "cuda" (kernels compiled for every
  /// chip of cudaArchs with the toolkit at cudaToolkit, launched through
  /// the runtime's CUDA device).
  std::string target = "cpu";
  std::vector<std::string> cudaArchs = {"sm_90"};
  /// Large f32 matmuls on tensor cores in TF32 (sm_80 or newer): inputs
  /// rounded to 10-bit mantissas, f32 sums. cuda-on-cpu rounds the same way.
  bool cudaTf32 = false;
  /// Large f32 matmuls on tensor cores as 3xTF32 (sm_80 or newer): each
  /// operand split into two TF32 parts, three products per product, to
  /// about f32's precision. cuda-on-cpu computes the same split.
  bool cudaTf32x3 = false;
  /// A matmul of few 64 x 64 blocks and a long reduction computes parts of
  /// its reduction in more blocks and sums them after
  /// (weft-split-reduction).
  bool cudaSplitReduction = true;
  std::string cudaToolkit = "/usr/local/cuda";
  /// CPU: prefetch the next workgroup's filter slab into L2 while one
  /// computes (weft-cpu-prefetch-weights).
  bool prefetchWeights = true;
  /// Whether a QDQ model's convolutions of uint8 activations by int8
  /// weights run on 8-bit integer kernels (ImportOptions::
  /// integerConvolutions) or on the dequantized values. Unset: where the
  /// CPU target has AVX-512 VNNI (without it the integer kernels widen
  /// to 32-bit multiply-adds, slower than the float ones).
  std::optional<bool> integerKernels;
  std::string dumpIrDir;   ///< IR after every pass, one tree per stage
  std::string runtimeLibDir; ///< where libweft_runtime.so lives (for --emit=lib)
  int64_t targetWorkgroups = 32;
  /// Byte alignment of every arena buffer, workgroup temporary and embedded
  /// weight, and of the arena itself: a power of two from 16 to 4096.
  int64_t alignment = 64;
  Sanitizer sanitize = Sanitizer::None;
  bool memoryReport = false; ///< print the arena's make-up to stderr
  /// Print every dispatch with the ONNX nodes it holds and why each
  /// neighbouring dispatch stays apart (stderr), then the memory report.
  bool explainFusion = false;
  /// Devices the model is split across (weftc --devices=cpu:N) and how:
  /// "none" (one device), "data", "tensor", "pipeline", "auto" (the
  /// cheapest of data, tensor and pipeline by the cost model) or
  /// "annotated".
  int64_t devices = 1;
  bool devicesGiven = false; ///< --devices was on the command line
  /// Empty: "annotated" when the model carries ONNX multi-device
  /// annotations, else "auto" for several devices and "none" for one.
  std::string parallel;
  std::string objective = "latency"; ///< what auto minimizes: latency, throughput
  /// Pipeline plan: micro-batches the batch is cut into; 0 lets the cost
  /// model choose.
  int64_t microBatches = 0;
  /// The parallel plans' cost model: this machine's rates from a file that
  /// weftc --calibrate wrote (weftc --cost-model), else the defaults.
  CostModel costModel;
  bool explainParallel = false; ///< print the plan (stderr)
};

/// The host's level-1 data cache as Linux's sysfs describes it (cpu0):
/// its size in bytes and its ways, each 0 where it cannot be read.
struct HostL1DataCache {
  int64_t bytes = 0;
  int64_t ways = 0;
};
HostL1DataCache hostL1DataCache();

/// Sizes the CPU kernels for `tm`'s CPU: vector width and registers from
/// its features (AVX-512: 16 f32 lanes, 32 registers; AVX/AVX2: 8 and 16;
/// SSE: 4 and 16), the L1 data cache from the host when `native` (else
/// 32 KiB).
void describeTarget(llvm::TargetMachine &tm, bool native, cpu::CpuPipelineOptions &options);

/// Runs the whole flow. Returns failure after reporting diagnostics.
mlir::LogicalResult compileModel(mlir::MLIRContext &context,
                                 const CompileOptions &options);

/// Where --emit=obj writes the header of `objectPath` ("m.o" -> "m.h").
std::string headerPathFor(llvm::StringRef objectPath);

} // namespace weft

#endif // WEFT_COMPILER_COMPILER_H
